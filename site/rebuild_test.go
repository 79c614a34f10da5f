//go:build unix

package site

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	gensynth "github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
)

// inodes maps each catalogue file of a site to its inode: a page an
// in-place rebuild reused is the previous build's file, left where it
// was (a staged build copies the checked bytes instead).
func inodes(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for rel := range catalogueFiles(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		out[rel] = fi.Sys().(*syscall.Stat_t).Ino
	}
	return out
}

// TestRebuildRendersOnlyChanged builds a real git repository of 12 packs
// with charts through build.Run and the catalogue, bumps one pack, and
// rebuilds: only that pack's page, feed and logo are written again (and
// its images found again), the others are the previous build's files;
// the index, catalog.json and the registry's feed are written every time.
func TestRebuildRendersOnlyChanged(t *testing.T) {
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	spec := gensynth.Full(12, 2, 4<<10, 6, true)
	testutil.SynthRepo(t, repo, spec)
	out, cache := filepath.Join(tmp, "site"), filepath.Join(tmp, "cache")
	var st Stats
	run := func() {
		t.Helper()
		st = Stats{}
		_, err := build.Run(context.Background(), build.Options{
			Repo: repo, PacksDir: "packs", Out: out, History: true, Registry: "rebuild",
			Site: func(dir string, s *build.Snapshot) error {
				return WriteOptions(dir, s.Root, s.Shards, Options{Previous: out, Cache: cache, Stats: &st})
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run()
	if st.Rendered != 12 || st.Reused != 0 || st.ImagesFound != 12 {
		t.Fatalf("cold build: %+v", st)
	}
	before := inodes(t, out)

	changed := gensynth.Name(7)
	if _, err := gensynth.Bump(repo, spec, 7, 2); err != nil {
		t.Fatal(err)
	}
	run()
	if st.Rendered != 1 || st.Reused != 11 || st.ImagesFound != 1 || st.ImagesCached != 0 {
		t.Errorf("rebuild after bumping %s: %+v, want 1 page rendered and its images found, 11 reused", changed, st)
	}
	after := inodes(t, out)
	var rewritten []string
	for rel, ino := range after {
		if before[rel] != ino {
			rewritten = append(rewritten, rel)
		}
	}
	want := map[string]bool{IndexFile: true, CatalogJSON: true, CatalogJS: true, FeedFile: true,
		PagePath(changed): true, "packs/" + changed + "/" + FeedFile: true}
	for _, rel := range rewritten {
		if !want[rel] && !strings.HasPrefix(rel, "assets/") && rel != "packs/"+changed+"/"+logoFile {
			t.Errorf("%s was written again, though its pack did not change", rel)
		}
	}
	for rel := range want {
		if before[rel] == after[rel] {
			t.Errorf("%s was not written again", rel)
		}
	}
	page, err := os.ReadFile(filepath.Join(out, PagePath(changed)))
	if err != nil || !strings.Contains(string(page), `<span class="ver">`+gensynth.Version(2)+`</span>`) {
		t.Errorf("the bumped pack's page does not show %s (%v)", gensynth.Version(2), err)
	}

	// Nothing changed: every page reused, no chart rendered.
	run()
	if st.Rendered != 0 || st.Reused != 12 || st.ImagesFound != 0 {
		t.Errorf("rebuild without changes: %+v", st)
	}

	// The previous site gone (a CI runner with a published previous):
	// every page is rendered, but the images come from the cache. Signed
	// now, the build signs a manifest of its catalogue; a fresh CI
	// runner (an empty cache) building on that site reuses every page it
	// lists, the manifest verified, and renders again the one edited
	// there since.
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	k, now := testutil.NewKey(t), time.Now()
	signed := func(out, previous, cache string) {
		t.Helper()
		_, err := build.Run(context.Background(), build.Options{
			Repo: repo, PacksDir: "packs", Out: out, Previous: previous, History: true, Registry: "rebuild", Signer: k.Signer, Trust: k.Verifier, GeneratedAt: now,
			Site: func(dir string, s *build.Snapshot) error {
				st = Stats{}
				return WriteOptions(dir, s.Root, s.Shards, Options{Previous: previous, Cache: cache, Manifest: s.PreviousCatalogue, Written: &s.Catalogue, Stats: &st})
			},
		})
		testutil.Must(t, err)
	}
	signed(out, "", cache)
	if st.Rendered != 12 || st.ImagesFound != 0 || st.ImagesCached != 12 {
		t.Errorf("rebuild without the previous site: %+v", st)
	}
	edited := filepath.Join(out, PagePath(changed))
	testutil.Must(t, os.WriteFile(edited, append(testutil.ReadFile(t, edited), "<!-- edited -->"...), 0o644))
	fresh := filepath.Join(tmp, "fresh")
	signed(fresh, out, t.TempDir())
	if st.Rendered != 1 || st.Reused != 11 {
		t.Errorf("fresh runner on a signed site: %+v, want 11 pages reused, the edited one rendered", st)
	}
	if strings.Contains(string(testutil.ReadFile(t, filepath.Join(fresh, PagePath(changed)))), "edited") {
		t.Error("the page edited after the build was carried into the next")
	}
}
