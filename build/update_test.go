package build

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// TestUpdateInPlace checks that a rebuild into its own out dir (updated
// in place) leaves exactly the site a staged build from the same previous
// build writes, byte for byte: nothing stale, nothing missing; that a
// no-change rebuild writes nothing; and that a signed in-place update
// verifies and is refused when the key changes (a staged build re-signs).
func TestUpdateInPlace(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	spec := synth.Full(6, 2, 4<<10, 3, true)
	testutil.SynthRepo(t, repo, spec)
	out := filepath.Join(dir, "site")
	if _, err := run(t, repo, out); err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(dir, "before")
	must(t, os.CopyFS(snapshot, os.DirFS(out)))

	// No change: in place, and not one file rewritten.
	stat := func() time.Time {
		fi, err := os.Stat(filepath.Join(out, "index.json"))
		must(t, err)
		return fi.ModTime()
	}
	before := stat()
	time.Sleep(10 * time.Millisecond)
	res := built(t, repo, out)
	if res.Reused != 12 || res.Archived != 0 || stat() != before {
		t.Fatalf("no-change rebuild: reused %d archived %d, index.json rewritten %v", res.Reused, res.Archived, stat() != before)
	}

	// One pack changed: in place here, staged from a copy of the previous
	// build there; both sites must be identical.
	if _, err := synth.Bump(repo, spec, 2, 2); err != nil {
		t.Fatal(err)
	}
	res = built(t, repo, out)
	if res.Archived != 1 || res.Reused != 12 {
		t.Fatalf("after one change: archived %d reused %d", res.Archived, res.Reused)
	}
	staged := filepath.Join(dir, "staged")
	built(t, repo, staged, func(o *Options) { o.Previous = snapshot })
	got, want := siteHashes(t, out), siteHashes(t, staged)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("in-place update differs from a staged build:\n%v\n%v", keys(got), keys(want))
	}

	// With a catalogue hook: in place too, the hook writing into Out.
	var hookDir string
	hook := func(o *Options) {
		o.Site = func(dir string, s *Snapshot) error {
			hookDir = dir
			return os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html>"), 0o644)
		}
	}
	built(t, repo, out, hook)
	if hookDir != out {
		t.Fatalf("site hook wrote into %s, want the out dir %s", hookDir, out)
	}
	// A build without the catalogue then is staged, and drops it.
	built(t, repo, out)
	if _, err := os.Stat(filepath.Join(out, "index.html")); err == nil {
		t.Fatal("a build without catalogue kept the old one")
	}

	// Signed: the update verifies; another key forces a staged build that
	// re-signs everything.
	signed := filepath.Join(dir, "signed")
	k1, v1 := testKey(t)
	built(t, repo, signed, func(o *Options) { o.Signer = k1 })
	if _, err := synth.Bump(repo, spec, 3, 2); err != nil {
		t.Fatal(err)
	}
	o := Options{Repo: repo, Out: signed, History: true, Registry: "test", Signer: k1}
	prev, err := loadPrevious(context.Background(), signed, nil)
	must(t, err)
	// The options as a build completes them (the key's public half).
	inPlace := func(o Options) bool {
		b, err := newBuilder(o)
		must(t, err)
		return canUpdateInPlace(b.o, prev)
	}
	if !inPlace(o) {
		t.Fatal("same key: expected an update in place")
	}
	built(t, repo, signed, func(o *Options) { o.Signer = k1 })
	rep, err := client.VerifySite(context.Background(), signed, v1)
	if err != nil || len(rep.Problems) != 0 || rep.Releases != 14 {
		t.Fatalf("signed in-place update: %v %+v", err, rep)
	}

	// With a catalogue, signed: the build lists what the hook reports in
	// its signed manifest, bound to its index.json, and hands the next
	// build that manifest, verified; in place, a rebuild of the same
	// commit leaves the manifest and its signature as they were.
	var prevCat *index.Catalogue
	catalogue := func(o *Options) {
		o.Signer = k1
		o.Site = func(dir string, s *Snapshot) error {
			prevCat = s.PreviousCatalogue
			page := []byte("<!doctype html>" + fmt.Sprint(s.Root.Serial))
			s.Catalogue = []index.FileRef{{Path: "index.html", SHA256: index.Digest(page), Size: int64(len(page))}}
			return os.WriteFile(filepath.Join(dir, "index.html"), page, 0o644)
		}
	}
	built(t, repo, signed, catalogue)
	if prevCat != nil {
		t.Error("a previous build without a manifest handed one to the catalogue")
	}
	rep, err = client.VerifySite(context.Background(), signed, v1)
	if err != nil || len(rep.Problems) != 0 || len(rep.Warnings) != 0 {
		t.Fatalf("signed catalogue: %v %+v", err, rep)
	}
	manifest := func() string {
		return string(testutil.ReadFile(t, filepath.Join(signed, index.CatalogueFile))) + string(testutil.ReadFile(t, filepath.Join(signed, index.CatalogueFile+".sig")))
	}
	first := manifest()
	built(t, repo, signed, catalogue)
	if prevCat == nil || prevCat.Files[0].Path != "index.html" || prevCat.Index.SHA256 != index.Digest(testutil.ReadFile(t, filepath.Join(signed, "index.json"))) {
		t.Errorf("the next build was not handed the previous manifest, verified: %+v", prevCat)
	}
	if manifest() != first {
		t.Error("a rebuild of the same commit in place rewrote the catalogue manifest or its signature")
	}
	// An edited manifest vouches for nothing: the next build gets none.
	testutil.Must(t, os.WriteFile(filepath.Join(signed, index.CatalogueFile), []byte(strings.Replace(first[:strings.Index(first, "\n")+1], "index.html", "index.htm", 1)), 0o644))
	built(t, repo, signed, catalogue)
	if prevCat != nil {
		t.Error("a manifest edited after the build was handed to the catalogue")
	}
	k2, _ := testKey(t)
	if o.Signer = k2; inPlace(o) {
		t.Fatal("another key must not update in place")
	}
	if o.Signer = nil; inPlace(o) {
		t.Fatal("an unsigned build must not update a signed registry in place")
	}
}

func testKey(t *testing.T) (*sign.Signer, *sign.Verifier) {
	t.Helper()
	k := testutil.NewKey(t)
	return k.Signer, k.Verifier
}

func keys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// The signers packgen builds with.
var _ Signer = (*sign.Signer)(nil)
var _ Signer = (*sign.Lazy)(nil)

// TestSweepUnreferenced checks both ways an in-place update clears
// release files the new index does not name: after a build that did not
// finish (no record in Out) it walks packs/ and removes whatever a
// killed build left; after one that finished it removes only the
// releases the new index dropped from the previous one, without a walk,
// so a file it never named stays (the walk is O(the registry)). A path
// that would leave packs/ is never removed.
func TestSweepUnreferenced(t *testing.T) {
	rel := func(name, v string) index.Release {
		p := "packs/" + name + "/" + v + "/" + name + "-" + v + ".tar.gz"
		return index.Release{Version: v, Archive: index.FileRef{Path: p}, Signature: p + index.SignatureExt, Bundle: p + index.BundleExt}
	}
	kept, dropped, debris := rel("a", "1.0.0"), rel("a", "0.9.0"), rel("b", "2.0.0")
	files := index.Release.Files
	prev := &previous{shards: map[string]*index.Shard{
		"a": {Releases: []index.Release{kept, dropped}},
		// An index's paths are checked when parsed; this one is not, to
		// show the removal stays inside packs/ whatever it is given.
		"evil": {Releases: []index.Release{{Archive: index.FileRef{Path: "packs/../../outside.tar.gz"}}}},
	}}
	next := []*index.Shard{{Releases: []index.Release{kept}}}
	for _, tc := range []struct {
		name         string
		prevFinished bool
		gone, stay   []string
	}{
		{"after a killed build: walk", false, append(files(dropped), files(debris)...), files(kept)},
		{"after a finished build: what the index dropped", true, files(dropped), append(files(kept), files(debris)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			out := filepath.Join(top, "site")
			for _, f := range append(append(files(kept), files(dropped)...), files(debris)...) {
				must(t, os.MkdirAll(filepath.Dir(filepath.Join(out, f)), 0o755))
				must(t, os.WriteFile(filepath.Join(out, f), []byte(f), 0o644))
			}
			outside := filepath.Join(top, "outside.tar.gz")
			must(t, os.WriteFile(outside, nil, 0o644))
			d := &dirMaker{made: map[string]bool{}}
			must(t, d.openOut(out)) // as an update in place holds it
			defer d.close()
			sweepUnreferenced(d, out, prev, next, tc.prevFinished)
			for _, f := range tc.gone {
				if _, err := os.Lstat(filepath.Join(out, f)); err == nil {
					t.Errorf("%s left", f)
				}
			}
			for _, f := range tc.stay {
				if _, err := os.Lstat(filepath.Join(out, f)); err != nil {
					t.Errorf("%s removed: %v", f, err)
				}
			}
			if _, err := os.Lstat(outside); err != nil {
				t.Errorf("a file outside packs/ was removed: %v", err)
			}
		})
	}
}

// TestKilledBuildDebrisAfterSameIndex: what a killed in-place build left
// (a new release's files, a latest-shard copy naming it) goes at the
// next build even when that build's index is the same as before (the
// commit before the killed one built again): the record it writes tells
// later builds nothing is left, so they no longer look. --force, with
// the record still there (files planted after a finished build), sweeps
// and compares the same way, so the record it writes is true.
func TestKilledBuildDebrisAfterSameIndex(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			tmp, r := newRepo(t)
			writePack(t, r, "packs/calico", "calico", "1.0.0", "cni", "")
			writePack(t, r, "packs/prom", "prom", "1.0.0", "addon", "")
			commit(t, r, "one")
			out := filepath.Join(tmp, "site")
			key, _ := testKey(t)
			recorded := func(o *Options) { o.Stamp = "t"; o.Signer = key; o.Force = force }
			built(t, r.Dir, out, recorded)
			latest := filepath.Join(out, "packs/calico/index.json")
			want, err := os.ReadFile(latest)
			must(t, err)

			// What a build of a commit adding calico 2.0.0 leaves when
			// killed (its record dropped), or what is planted after a
			// finished build (the record there).
			if !force {
				must(t, os.Remove(filepath.Join(out, StampFile)))
			}
			orphan := filepath.Join(out, "packs/calico/2.0.0/calico-2.0.0.tar.gz")
			must(t, os.MkdirAll(filepath.Dir(orphan), 0o755))
			for _, p := range []string{orphan, orphan + ".sig", orphan + ".sigstore.json"} {
				must(t, os.WriteFile(p, []byte("killed"), 0o644))
			}
			must(t, os.WriteFile(latest, []byte(`{"from":"the killed build"}`), 0o644))

			built(t, r.Dir, out, recorded) // the same commit: the same index
			if _, err := os.Stat(filepath.Join(out, StampFile)); err != nil {
				t.Fatalf("no record after the rebuild: %v", err)
			}
			for _, p := range []string{orphan, orphan + ".sig", orphan + ".sigstore.json"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s left by the killed build is still there", p)
				}
			}
			if got, _ := os.ReadFile(latest); !bytes.Equal(got, want) {
				t.Errorf("latest shard copy holds %q, want the index's %q", got, want)
			}
		})
	}
}
