package client

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// airgapped makes site (a copy of a whole built registry) what airgap
// import leaves: the signed root and the files on the way to the kept
// releases (NAME@VERSION), nothing else of the index, and, unless
// marker is false, the marker naming them.
func airgapped(t *testing.T, site string, keep []string, marker bool) {
	t.Helper()
	ctx := context.Background()
	fetch := index.DirFetcher(site)
	data := mustRead(t, filepath.Join(site, index.RootFile))
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	b := index.AirgapBundle{List: "sha256:" + strings.Repeat("ab", 32)}
	for _, id := range keep {
		name, version, _ := strings.Cut(id, "@")
		b.Releases = append(b.Releases, index.AirgapRelease{Name: name, Version: version})
		sum, err := index.Lookup(ctx, func(ctx context.Context, p string, max int64) ([]byte, error) {
			want[p] = true
			return fetch(ctx, p, max)
		}, root, name)
		if err != nil || sum == nil {
			t.Fatalf("%s: %v", name, err)
		}
		want[sum.Shard.Path] = true
		want[filepath.ToSlash(filepath.Dir(index.ArchivePath(name, version)))] = true
	}
	for _, glob := range []string{"index/*.json", "packs/*/shards/*.json", "packs/*/*"} {
		m, _ := filepath.Glob(filepath.Join(site, glob))
		for _, f := range m {
			rel, _ := filepath.Rel(site, f)
			rel = filepath.ToSlash(rel)
			if k := index.KindOf(rel + "/x.tar.gz"); glob == "packs/*/*" && (k != index.KindArchive || strings.HasSuffix(rel, "/shards")) {
				continue
			}
			if !want[rel] {
				os.RemoveAll(f)
			}
		}
	}
	if marker {
		data, _ := index.NewAirgap(b).Encode()
		os.WriteFile(filepath.Join(site, index.AirgapFile), data, 0o644)
	}
}

// TestAirgapped: a registry as airgap import leaves it (the source's
// signed index, the files of some releases, the marker), read by the
// client and by verify --site. One built registry for both: a build is
// most of the time.
func TestAirgapped(t *testing.T) {
	f := emptyFixture(t)
	for _, v := range []string{"1.0.0", "1.2.0", "1.2.5", "1.10.0", "2.0.0-rc.1"} {
		packFiles(f.repo, "packs/calico-"+v, "calico", v)
	}
	for _, v := range []string{"0.12", "0.13.2", "0.13.9", "0.14.0"} { // a 2-part version among them
		packFiles(f.repo, "packs/metallb-"+v, "metallb", v)
	}
	packFiles(f.repo, "packs/falco", "falco", "4.2.5")
	packFiles(f.repo, "packs/falco-v4.3", "falco", "v4.3")
	f.commitAndBuild(t, "packs")
	t.Run("client", func(t *testing.T) { testAirgappedClient(t, f) })
	t.Run("verify", func(t *testing.T) { testVerifyAirgapped(t, f) })
}

// testAirgappedClient: the air-gapped registry reads as what it holds,
// and what it lacks is "not in this air-gapped registry", for each way
// a client reads it.
func testAirgappedClient(t *testing.T, f *fixture) {
	site := f.latest(t)
	airgapped(t, site, []string{"calico@1.2.0", "calico@1.10.0", "metallb@0.13.9"}, true)
	ctx := context.Background()
	e := newEnv(t)

	// Fetching before anything else has read the marker: an absent
	// archive is found absent, and said so.
	var warn bytes.Buffer
	c := e.client(t, site, f.pub, func(o *Options) { o.Warn = &warn })
	rel, err := c.Resolve(ctx, "calico", "1.0.0", false)
	if err == nil {
		_, err = c.Archive(ctx, "calico", rel)
	}
	if !errors.Is(err, ErrNotInBundle) || !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "calico@1.0.0 is not in this air-gapped registry: its signed index lists it") || !strings.Contains(err.Error(), "packgen airgap export") {
		t.Fatalf("fetch of an absent release: %v", err)
	}

	// list and search: the packs present, each by its newest present version.
	c = e.client(t, site, f.pub, func(o *Options) { o.Warn = &warn })
	warn.Reset()
	packs, err := c.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range packs {
		got = append(got, p.Name+"@"+p.Latest)
	}
	if strings.Join(got, " ") != "calico@1.10.0 metallb@0.13.9" || packs[0].Versions != 2 || !strings.Contains(warn.String(), "1 pack(s) and 8 release(s) its signed index lists are not here") {
		t.Errorf("catalogue %v (%d versions of calico)\n%s", got, packs[0].Versions, warn.String())
	}
	for _, tc := range []struct {
		pack, constraint string
		want             string // a version, or the error's words
		warn             string
	}{
		{"calico", "^1.2", "1.10.0", ""},
		{"calico", "~1.2.0", "1.2.0", "calico@1.2.5 matches \"~1.2.0\" but is not in air-gapped registry test"},
		{"calico", "", "1.10.0", ""},
		{"calico", "1.0.0", "calico@1.0.0 is not in this air-gapped registry: its signed index lists it", ""},
		{"calico", "2.0.0-rc.1", "calico@2.0.0-rc.1 is not in this air-gapped registry", ""},
		{"metallb", "*", "0.13.9", "metallb@0.14.0 matches \"*\" but is not in air-gapped registry test"},
		{"metallb", "0.12", "metallb@0.12 is not in this air-gapped registry", ""},
		{"falco", "v4.3", "pack falco is not in this air-gapped registry", ""},
		{"nosuch", "*", "not in", ""},
	} {
		warn.Reset()
		rel, err := c.Resolve(ctx, tc.pack, tc.constraint, false)
		switch {
		case err != nil && !strings.Contains(tc.want, "."):
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrNotFound) {
				t.Errorf("%s@%s: %v, want %q", tc.pack, tc.constraint, err, tc.want)
			}
		case err != nil && strings.Contains(tc.want, " "):
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrNotInBundle) {
				t.Errorf("%s@%s: %v, want %q", tc.pack, tc.constraint, err, tc.want)
			}
		case err != nil || rel.Version != tc.want:
			t.Errorf("%s@%s: %v %v, want %s", tc.pack, tc.constraint, rel, err, tc.want)
		}
		if !strings.Contains(warn.String(), tc.warn) {
			t.Errorf("%s@%s: warned %q, want %q", tc.pack, tc.constraint, warn.String(), tc.warn)
		}
	}
	if rel, err := c.Resolve(ctx, "calico", "~1.2.0", false); err != nil {
		t.Fatal(err)
	} else if _, err := c.Archive(ctx, "calico", rel); err != nil {
		t.Errorf("fetch of a present release: %v", err)
	}
	if shard, err := c.Shard(ctx, "calico"); err != nil || len(shard.Releases) != 2 {
		t.Errorf("info calico: %v %+v", err, shard)
	}

	// A marker that does not read excuses nothing: the registry reads as
	// a whole one, its missing files an error as before, with a warning.
	os.WriteFile(filepath.Join(site, index.AirgapFile), []byte(`{"schemaVersion":1,"bundles":[{"list":"md5:x","releases":[]}]}`), 0o644)
	warn.Reset()
	c = e.client(t, site, f.pub, func(o *Options) { o.Warn = &warn })
	if _, err := c.Catalog(ctx); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotInBundle) || !strings.Contains(warn.String(), "not a sha256 digest: read as a whole registry") {
		t.Errorf("a broken marker: %v\n%s", err, warn.String())
	}
}

// testVerifyAirgapped: verify --site of an air-gapped registry checks
// every file present and lists the absent ones; they fail it unless
// accepted, and the marker cannot hide a deleted archive from a default
// verify, nor excuse one it claims.
func testVerifyAirgapped(t *testing.T, f *fixture) {
	v, _ := sign.LoadPublicKey(f.pub)
	ctx := context.Background()
	verify := func(site string, accept bool) *SiteReport {
		t.Helper()
		rep, err := VerifySite(ctx, site, v)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Subset != nil {
			rep.Subset.Accepted = accept
		}
		return rep
	}
	paths := func(ps []SiteProblem) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Path)
		}
		return strings.Join(out, " ")
	}

	subset := f.latest(t)
	airgapped(t, subset, []string{"calico@1.2.0", "metallb@0.13.9"}, true)
	rep := verify(subset, false)
	all := rep.AllProblems()
	if len(rep.Problems) != 0 || rep.Subset == nil || len(rep.Subset.Absent) == 0 || paths(all) != index.AirgapFile || !strings.Contains(all[0].Err, "Pass --subset") {
		t.Fatalf("subset, not accepted: %+v %+v", rep.Subset, all)
	}
	for _, want := range []string{"index/", "packs/calico/1.0.0/calico-1.0.0.tar.gz"} {
		if !strings.Contains(strings.Join(rep.Subset.Absent, " "), want) {
			t.Errorf("absent %v: no %s", rep.Subset.Absent, want)
		}
	}
	if rep.Subset.Releases != 9 { // 11, less the 2 there
		t.Errorf("%d releases absent, want 9", rep.Subset.Releases)
	}
	if rep := verify(subset, true); len(rep.AllProblems()) != 0 {
		t.Errorf("subset, accepted: %+v", rep.AllProblems())
	}
	// A present file altered is a problem, subset or not.
	testutil.Flip(t, filepath.Join(subset, "packs/calico/1.2.0/calico-1.2.0.tar.gz"))
	if rep := verify(subset, true); paths(rep.AllProblems()) != "packs/calico/1.2.0/calico-1.2.0.tar.gz" {
		t.Errorf("altered archive in a subset: %+v", rep.AllProblems())
	}

	// An attacker deletes an archive of a whole registry and writes a
	// marker leaving it out: a default verify still fails, naming it.
	whole := f.latest(t)
	os.Remove(filepath.Join(whole, "packs/calico/1.0.0/calico-1.0.0.tar.gz"))
	keep := []string{"calico@1.2.0", "calico@1.2.5", "calico@1.10.0", "calico@2.0.0-rc.1", "metallb@0.12", "metallb@0.13.2", "metallb@0.13.9", "metallb@0.14.0", "falco@4.2.5", "falco@v4.3"}
	b := index.AirgapBundle{List: "sha256:" + strings.Repeat("cd", 32)}
	for _, id := range keep {
		n, ver, _ := strings.Cut(id, "@")
		b.Releases = append(b.Releases, index.AirgapRelease{Name: n, Version: ver})
	}
	data, _ := index.NewAirgap(b).Encode()
	os.WriteFile(filepath.Join(whole, index.AirgapFile), data, 0o644)
	rep = verify(whole, false)
	if all := rep.AllProblems(); len(all) != 1 || !strings.Contains(all[0].Err, "packs/calico/1.0.0/calico-1.0.0.tar.gz") {
		t.Errorf("deleted archive behind a forged marker: %+v", all)
	}
	// The same marker claiming the deleted release: a problem even when
	// the subset is accepted.
	b.Releases = append(b.Releases, index.AirgapRelease{Name: "calico", Version: "1.0.0"})
	data, _ = index.NewAirgap(b).Encode()
	os.WriteFile(filepath.Join(whole, index.AirgapFile), data, 0o644)
	if all := verify(whole, true).AllProblems(); paths(all) != "packs/calico/1.0.0/calico-1.0.0.tar.gz" || !strings.Contains(all[0].Err, "airgap.json says a bundle carried it") {
		t.Errorf("a claimed release deleted: %+v", all)
	}
	// A marker that does not parse is a problem.
	os.WriteFile(filepath.Join(whole, index.AirgapFile), []byte(`{"schemaVersion":1}{}`), 0o644)
	if all := verify(whole, true).AllProblems(); !strings.Contains(paths(all), index.AirgapFile) {
		t.Errorf("a broken marker: %+v", all)
	}
}
