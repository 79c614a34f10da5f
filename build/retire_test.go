package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/retire"
)

// TestBuildAppliesRetirementFile: packs/retired.yaml, read at the built
// commit, sets the shard's retired field and nothing else: the archives
// stay byte-identical, the log gains no entry, an entry removed
// un-retires, the file wins over pack.json's system_state, and an entry
// naming no release fails the build at its line, leaving the site as it was.
func TestBuildAppliesRetirementFile(t *testing.T) {
	tmp, r := newRepo(t)
	testutil.WriteRetiredPack(t, r, "calico", "1.0.0", "")
	testutil.WriteRetiredPack(t, r, "calico", "1.1.0", "")
	testutil.WriteRetiredPack(t, r, "calico", "1.2.0", "deprecated")
	commit(t, r, "calico")
	out := filepath.Join(tmp, "site")
	key := testutil.NewKey(t)
	signed := func(o *Options) { o.PacksDir = "packs"; o.Signer = key.Signer }
	built(t, r.Dir, out, signed)
	archives := func() map[string]string {
		all := siteHashes(t, out)
		for p := range all {
			if !strings.HasSuffix(p, ".tar.gz") {
				delete(all, p)
			}
		}
		return all
	}
	before := archives()
	states := func() string {
		data, err := os.ReadFile(filepath.Join(out, "packs", "calico", "index.json"))
		must(t, err)
		sh, err := index.ParseShard(data, "calico")
		must(t, err)
		var s []string
		for _, rel := range sh.Releases {
			st := rel.Version + "=" + rel.State()
			if rel.Retired != nil {
				st += "(" + rel.Retired.Reason + ")"
			}
			s = append(s, st)
		}
		// The bucket's summary carries the latest's state, as this
		// build saw the shard: what list shows.
		fetch := index.DirFetcher(out)
		data, err = fetch(context.Background(), index.RootFile, index.MaxRootSize)
		must(t, err)
		root, err := index.ParseRoot(data)
		must(t, err)
		sum, err := index.Lookup(context.Background(), fetch, root, "calico")
		must(t, err)
		return strings.Join(s, " ") + " latest=" + sum.Latest + "/" + sum.LatestState
	}
	if got, want := states(), "1.0.0= 1.1.0= 1.2.0=deprecated latest=1.2.0/deprecated"; got != want {
		t.Fatalf("before: %s, want %s", got, want)
	}
	for _, step := range []struct{ file, want string }{
		// The latest is the highest release not deleted: 1.0.0, active.
		{"calico:\n  1.1.0: {state: deleted, reason: CVE-1}\n  1.2.0: {state: deleted, reason: broken upgrade}\n",
			"1.0.0= 1.1.0=deleted(CVE-1) 1.2.0=deleted(broken upgrade) latest=1.0.0/"},
		// Every release deleted: the highest, deleted.
		{"calico:\n  1.0.0: {state: deleted, reason: CVE-0}\n  1.1.0: {state: deleted, reason: CVE-1}\n  1.2.0: {state: deleted, reason: broken upgrade}\n",
			"1.0.0=deleted(CVE-0) 1.1.0=deleted(CVE-1) 1.2.0=deleted(broken upgrade) latest=1.2.0/deleted"},
		// Un-deleting, un-deprecating: the file is the repository's current word.
		{"calico:\n  1.1.0: {state: deprecated, reason: \"CVE-1, use 1.2\"}\n",
			"1.0.0= 1.1.0=deprecated(CVE-1, use 1.2) 1.2.0=deprecated latest=1.2.0/deprecated"},
		{"", "1.0.0= 1.1.0= 1.2.0=deprecated latest=1.2.0/deprecated"},
	} {
		if step.file == "" {
			must(t, r.Remove("packs/retired.yaml"))
		} else {
			must(t, r.Write("packs/retired.yaml", []byte(step.file)))
		}
		commit(t, r, "retire")
		res := built(t, r.Dir, out, signed)
		if got := states(); got != step.want {
			t.Errorf("%q: %s, want %s", step.file, got, step.want)
		}
		if res.Archived != 0 || res.Logged != 0 {
			t.Errorf("%q: archived %d, logged %d: a retirement is no new release", step.file, res.Archived, res.Logged)
		}
		if after := archives(); len(after) != 3 || fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%q: archives changed: %v, were %v", step.file, after, before)
		}
	}

	site := siteHashes(t, out)
	must(t, r.Write("packs/retired.yaml", []byte("# CVE-9\ncalico:\n  1.3.0: {state: deleted, reason: CVE-9}\n")))
	commit(t, r, "retire a release that does not exist")
	_, err := run(t, r.Dir, out, signed)
	if !errors.Is(err, retire.ErrFile) || !strings.Contains(err.Error(), "packs/retired.yaml:3:3: error: calico@1.3.0 is not a release of this registry") {
		t.Errorf("unknown release: %v", err)
	}
	if after := siteHashes(t, out); fmt.Sprint(after) != fmt.Sprint(site) {
		t.Error("a failed build changed the site")
	}
}

// TestBuildImmutableStateOnly: editing a published release's system_state
// in its pack.json is refused as any change is, pointing to the
// retirement file rather than to a version bump.
func TestBuildImmutableStateOnly(t *testing.T) {
	tmp, r := newRepo(t)
	testutil.WriteRetiredPack(t, r, "calico", "1.0.0", "")
	must(t, r.Write("packs/calico-1.0.0/pack.json", testutil.PackJSON("calico", "1.0.0", "cni", `, "annotations": {"source": "community"}`)))
	commit(t, r, "calico")
	out := filepath.Join(tmp, "site")
	inPacks := func(o *Options) { o.PacksDir = "packs" }
	built(t, r.Dir, out, inPacks)
	testutil.WriteRetiredPack(t, r, "calico", "1.0.0", "deprecated")
	commit(t, r, "deprecate in pack.json")
	_, err := run(t, r.Dir, out, inPacks)
	var ie *ImmutableError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "published versions are immutable; only annotations.system_state changed: to deprecate or delete a published release, leave its pack.json as published and add it to packs/retired.yaml (calico: {1.0.0: {state: deprecated") || strings.Contains(err.Error(), "bump") {
		t.Errorf("got %v", err)
	}
}
