package source

import (
	"testing"
)

// TestKnownTrees checks that a walk told the name and version of pack
// trees by hash gives the same releases without reading those trees, and
// still reads trees it was not told about.
func TestKnownTrees(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/calico", "calico", "1.0.0")
	writePack(t, r, "packs/prom", "prom", "2.0.0")
	commit(t, r, "one")
	writePack(t, r, "packs/calico", "calico", "1.1.0")
	commit(t, r, "two")

	plain := releases(t, r.Dir, Options{History: true})
	if got := ids(plain); got != "calico@1.0.0=packs/calico calico@1.1.0=packs/calico prom@2.0.0=packs/prom" {
		t.Fatalf("releases = %s", got)
	}
	known := map[string]KnownPack{}
	for _, rel := range plain.Releases {
		known[rel.TreeHash] = KnownPack{Name: rel.Name, Version: rel.Version}
	}
	again := releases(t, r.Dir, Options{History: true, Known: known})
	if ids(again) != ids(plain) {
		t.Fatalf("with known trees: %s, want %s", ids(again), ids(plain))
	}
	for i := range plain.Releases {
		if a, b := again.Releases[i], plain.Releases[i]; a.Commit != b.Commit || a.TreeHash != b.TreeHash {
			t.Fatalf("%s: commit/tree %s/%s, want %s/%s", a.Name, a.Commit, a.TreeHash, b.Commit, b.TreeHash)
		}
	}

	// A known tree is taken on trust (it is not read): prove it by naming
	// prom's tree differently; the other trees are still read.
	known = map[string]KnownPack{plain.Releases[2].TreeHash: {Name: "prom-renamed", Version: "2.0.0"}}
	if got := ids(releases(t, r.Dir, Options{History: true, Known: known})); got != "calico@1.0.0=packs/calico calico@1.1.0=packs/calico prom-renamed@2.0.0=packs/prom" {
		t.Fatalf("releases = %s", got)
	}
}
