package site

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/factfile"
	"github.com/packgen/packgen/internal/testutil"
)

// TestBuildHook: the hook reuses the pages of the previous catalogue
// when it is local (--previous as a directory or file:// URL, else the
// out dir), and of nothing when --previous is a published registry. A
// page reused is the previous one (a marker written into it, and
// recorded in the machine's cache as if this packgen wrote it, shows);
// one written afresh is not. A page planted there (attackS F1: its CSP
// removed, an inline script added, its reuse key kept) is never reused:
// this machine did not write those bytes.
func TestBuildHook(t *testing.T) {
	packs := manyPacks(6, 2)
	cache := t.TempDir()
	prev, _ := writeSite(t, packs, Options{Cache: cache})
	const marker = "<!-- the previous build's page -->"
	page := filepath.Join(prev, "packs", "pack-00001", "index.html")
	data := append(testutil.ReadFile(t, page), marker...)
	testutil.Must(t, os.WriteFile(page, data, 0o644))
	facts := loadFileFacts(cache)
	facts.add(PagePath("pack-00001"), data)
	facts.save()
	planted := filepath.Join(prev, "packs", "pack-00002", "index.html")
	// What a signing build's manifest of prev lists (the build verifies
	// its signature and binding: build.TestUpdateInPlace): the
	// pages as the build wrote them, so the marker page as it is, and
	// pack-00002's page before it was planted.
	var listed []index.FileRef
	for rel, data := range catalogueFiles(t, prev) {
		listed = append(listed, index.FileRef{Path: rel, SHA256: index.Digest([]byte(data)), Size: int64(len(data))})
	}
	manifest := index.NewCatalogue([]byte("{}\n"), listed)
	evil := strings.Replace(string(testutil.ReadFile(t, planted)), "<body>", `<body><script>document.title="PWNED"</script>`, 1)
	evil = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`).ReplaceAllString(evil, "")
	if !strings.Contains(evil, "PWNED") || strings.Contains(evil, "Content-Security-Policy") {
		t.Fatal("could not plant the page")
	}
	testutil.Must(t, os.WriteFile(planted, []byte(evil), 0o644))
	elsewhere := t.TempDir()
	for _, tc := range []struct {
		name          string
		previous, out string
		reused        bool
	}{
		{name: "--previous directory", previous: prev, out: elsewhere, reused: true},
		{name: "--previous file:// URL", previous: "file://" + filepath.ToSlash(prev), out: elsewhere, reused: true},
		{name: "the out dir", previous: "", out: prev, reused: true},
		{name: "--previous https: nothing local", previous: "https://packs.example.invalid", out: prev},
		{name: "--previous oci: nothing local", previous: "oci://registry.example.invalid/packs", out: prev},
		{name: "--previous unparsable", previous: "ht!tp://x y", out: prev},
		{name: "no previous catalogue", previous: "", out: elsewhere},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root, shards := synth(t, dir, packs)
			testutil.Must(t, CachedBuildHook(tc.previous, tc.out, cache)(dir, &build.Snapshot{Root: root, Shards: shards}))
			got := string(testutil.ReadFile(t, filepath.Join(dir, "packs", "pack-00001", "index.html")))
			if strings.Contains(got, marker) != tc.reused {
				t.Errorf("page reused: %v, want %v", !tc.reused, tc.reused)
			}
			if !strings.Contains(got, "pack-00001") {
				t.Error("the page is not pack-00001's")
			}
			got = string(testutil.ReadFile(t, filepath.Join(dir, "packs", "pack-00002", "index.html")))
			if strings.Contains(got, "PWNED") || !strings.Contains(got, "Content-Security-Policy") {
				t.Error("the planted page was carried into the new site")
			}
		})
	}
	// Without a cache nothing vouches for the previous pages: none reused.
	dir := t.TempDir()
	root, shards := synth(t, dir, packs)
	testutil.Must(t, BuildHook(prev, elsewhere)(dir, &build.Snapshot{Root: root, Shards: shards}))
	if strings.Contains(string(testutil.ReadFile(t, filepath.Join(dir, "packs", "pack-00001", "index.html"))), marker) {
		t.Error("a page was reused with no cache recording what this machine wrote")
	}

	// A fresh CI runner (an empty cache, or none) with the previous
	// build's verified manifest reuses the pages it lists with those
	// bytes, and renders again the one planted since. The hook reports
	// every file it wrote for this build's manifest.
	for _, cache := range []string{"", t.TempDir()} {
		dir := t.TempDir()
		root, shards := synth(t, dir, packs)
		snap := &build.Snapshot{Root: root, Shards: shards, PreviousCatalogue: manifest}
		var st Stats
		hook := func(dir string, s *build.Snapshot) error {
			return WriteOptions(dir, s.Root, s.Shards, Options{Previous: prev, Cache: cache, Manifest: s.PreviousCatalogue, Written: &s.Catalogue, Stats: &st})
		}
		testutil.Must(t, hook(dir, snap))
		if !strings.Contains(string(testutil.ReadFile(t, filepath.Join(dir, "packs", "pack-00001", "index.html"))), marker) {
			t.Errorf("cache %q: the page the verified manifest lists was not reused", cache)
		}
		if got := string(testutil.ReadFile(t, filepath.Join(dir, "packs", "pack-00002", "index.html"))); strings.Contains(got, "PWNED") {
			t.Errorf("cache %q: the page planted after the manifest was carried into the new site", cache)
		}
		if st.Reused != len(packs)-1 || st.Rendered != 1 {
			t.Errorf("cache %q: reused %d, rendered %d; want %d and 1", cache, st.Reused, st.Rendered, len(packs)-1)
		}
		files := catalogueFiles(t, dir)
		if len(snap.Catalogue) != len(files) {
			t.Errorf("cache %q: the hook reported %d files, the catalogue has %d", cache, len(snap.Catalogue), len(files))
		}
		for i, f := range snap.Catalogue {
			if data, ok := files[f.Path]; !ok || f.Verify([]byte(data)) != nil || (i > 0 && snap.Catalogue[i-1].Path >= f.Path) {
				t.Errorf("cache %q: reported %+v, not the file written (or out of order)", cache, f)
			}
		}
	}
}

// TestCatalogueGC: the catalogue's GC percentage is set while it is
// written and restored after (the user's GOGC or GOMEMLIMIT winning is
// gcpercent.TestSet's).
func TestCatalogueGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetGCPercent(77)
	defer debug.SetGCPercent(before)
	restore := catalogueGC()
	if got := debug.SetGCPercent(catalogueGOGC); got != catalogueGOGC {
		t.Errorf("GC percent while the catalogue is written: %d, want %d", got, catalogueGOGC)
	}
	restore()
	if got := debug.SetGCPercent(77); got != 77 {
		t.Errorf("GC percent after: %d, want 77 restored", got)
	}
}

// TestCheckWritten: the build's short cut trusts an out dir only when
// every catalogue file there is bytes this machine wrote (attackS F1b:
// an edited assets/app.js survived "nothing to do" and was published).
func TestCheckWritten(t *testing.T) {
	cache := t.TempDir()
	dir, _ := writeSite(t, manyPacks(2, 1), Options{Cache: cache})
	testutil.Must(t, CheckWritten(cache, dir))
	for _, rel := range []string{"assets/app.js", "index.html", "packs/pack-00001/index.html", "packs/pack-00000/feed.xml"} {
		t.Run(rel, func(t *testing.T) {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			genuine := testutil.ReadFile(t, p)
			testutil.Must(t, os.WriteFile(p, append(bytes.Clone(genuine), "\n//x"...), 0o644))
			defer os.WriteFile(p, genuine, 0o644)
			err := CheckWritten(cache, dir)
			if !errors.Is(err, ErrNotWritten) || !strings.Contains(err.Error(), p) {
				t.Errorf("edited %s: %v, want ErrNotWritten naming it", rel, err)
			}
		})
	}
	// Stats described at once (as they will be once the racy window has
	// passed): a check remembers them, the next stats what it can; a
	// file rewritten in place since, at the same size, is read again
	// and refused.
	old := factfile.RacyWindow
	factfile.RacyWindow = 0
	t.Cleanup(func() { factfile.RacyWindow = old })
	testutil.Must(t, CheckWritten(cache, dir))
	if facts := testutil.ReadFile(t, filepath.Join(cache, fileFactsName)); !bytes.Contains(facts, []byte("\nstat packs/pack-00001/index.html ")) {
		t.Fatalf("no stat remembered for a page:\n%s", facts)
	}
	testutil.Must(t, CheckWritten(cache, dir))
	// attackX F7: a directory moved away whole (its files keep their
	// stats) and a link to it planted in its place: refused as the
	// build's writes refuse it, naming the link; moved back, it passes.
	elsewhere := t.TempDir()
	for _, rel := range []string{"packs/pack-00000", "assets", "packs"} {
		p, moved := filepath.Join(dir, filepath.FromSlash(rel)), filepath.Join(elsewhere, "moved")
		testutil.Must(t, os.Rename(p, moved))
		testutil.Must(t, os.Symlink(moved, p))
		if err := CheckWritten(cache, dir); !errors.Is(err, ErrNotWritten) || !errors.Is(err, build.ErrOutLink) || !strings.Contains(err.Error(), p+" is a symbolic link") {
			t.Errorf("a link at %s: %v, want ErrNotWritten and build.ErrOutLink naming it", rel, err)
		}
		testutil.Must(t, os.Remove(p))
		testutil.Must(t, os.Rename(moved, p))
		testutil.Must(t, CheckWritten(cache, dir))
	}
	time.Sleep(20 * time.Millisecond) // a later clock tick than the checks'
	p := filepath.Join(dir, "packs", "pack-00001", "index.html")
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	testutil.Must(t, err)
	_, err = f.WriteAt([]byte("<script>x</script>"), 200)
	testutil.Must(t, err)
	testutil.Must(t, f.Close())
	if err := CheckWritten(cache, dir); !errors.Is(err, ErrNotWritten) || !strings.Contains(err.Error(), p) {
		t.Errorf("a page rewritten in place after its stat was remembered: %v, want ErrNotWritten naming it", err)
	}
	testutil.Must(t, os.Remove(filepath.Join(dir, "assets", "style.css")))
	if err := CheckWritten(cache, dir); !errors.Is(err, ErrNotWritten) {
		t.Errorf("missing asset: %v", err)
	}
	if err := CheckWritten("", dir); !errors.Is(err, ErrNotWritten) {
		t.Errorf("no cache: %v", err)
	}
}
