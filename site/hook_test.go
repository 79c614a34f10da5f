package site

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/packgen/packgen/build"
)

// TestBuildHook: the hook reuses the pages of the previous catalogue
// when it is local (--previous as a directory or file:// URL, else the
// out dir), and of nothing when --previous is a published registry. A
// page reused is the previous one (a marker written into it shows); one
// written afresh is not.
func TestBuildHook(t *testing.T) {
	packs := manyPacks(6, 2)
	prev, _ := writeSite(t, packs, Options{})
	const marker = "<!-- the previous build's page -->"
	page := filepath.Join(prev, "packs", "pack-00001", "index.html")
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, append(data, marker...), 0o644); err != nil {
		t.Fatal(err)
	}
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
			if err := BuildHook(tc.previous, tc.out)(dir, &build.Snapshot{Root: root, Shards: shards}); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "packs", "pack-00001", "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(got), marker) != tc.reused {
				t.Errorf("page reused: %v, want %v", !tc.reused, tc.reused)
			}
			if !strings.Contains(string(got), "pack-00001") {
				t.Error("the page is not pack-00001's")
			}
		})
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
