//go:build unix

package site

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestCatalogueRefusesLinksPlantedMidBuild: someone who can write the
// out dir plants a symbolic link after the build planned its update in
// place (its linkAtTop check) and before the catalogue runs. The
// catalogue refuses it (build.ErrOutLink, naming the link) and writes
// nothing where it points, outside the out dir or inside it. A staged
// build's catalogue refuses one in its stage alike.
func TestCatalogueRefusesLinksPlantedMidBuild(t *testing.T) {
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	testutil.Must(t, err)
	testutil.WritePack(t, r, "packs/calico", "calico", "1.0.0", "cni", "")
	testutil.Commit(t, r, "one")
	built := filepath.Join(tmp, "built")
	_, err = build.Run(context.Background(), build.Options{Repo: r.Dir, Out: built, History: true, Registry: "test", Site: CachedBuildHook("", built, "")})
	testutil.Must(t, err)
	testutil.WritePack(t, r, "packs/calico", "calico", "1.1.0", "cni", "")
	testutil.Commit(t, r, "two")

	// plant replaces rel in dir with a link to target (relative to the
	// link's dir when it is not absolute), and returns the link's path.
	// A directory's files are copied to an outside target first, so the
	// build still finds what it reads there (the pack's archive).
	plant := func(t *testing.T, dir, rel, target string, copyDir bool) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if copyDir {
			testutil.Must(t, os.CopyFS(target, os.DirFS(p)))
		}
		testutil.Must(t, os.RemoveAll(p))
		testutil.Must(t, os.Symlink(target, p))
		return p
	}
	for _, tc := range []struct {
		name    string
		staged  bool
		rel     string // what becomes a link
		dirLink bool   // to a directory (else to a file)
		inside  string // the link's target inside the out dir ("" for outside)
	}{
		{name: "assets to a dir outside", rel: "assets", dirLink: true},
		{name: "the changed pack's dir to a dir outside", rel: "packs/calico", dirLink: true},
		{name: "assets to a dir inside", rel: "assets", dirLink: true, inside: "packs"},
		{name: "index.html to a file outside", rel: "index.html"},
		{name: "catalog.json to a file outside", rel: "catalog.json"},
		{name: "a pack page to a file outside", rel: "packs/calico/index.html"},
		{name: "dangling catalog.js", rel: "assets/catalog.js"},
		{name: "staged: assets to a dir outside", staged: true, rel: "assets", dirLink: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			out := filepath.Join(base, "site")
			if tc.staged {
				testutil.Must(t, os.MkdirAll(out, 0o755)) // no previous build: staged
			} else {
				testutil.Must(t, os.CopyFS(out, os.DirFS(built)))
			}
			outsideDir := filepath.Join(base, "outside")
			testutil.Must(t, os.Mkdir(outsideDir, 0o755))
			outsideFile := filepath.Join(outsideDir, "secret")
			testutil.Must(t, os.WriteFile(outsideFile, []byte("keep me"), 0o600))
			target := outsideFile
			switch {
			case tc.inside != "":
				target = tc.inside
			case tc.dirLink:
				target = filepath.Join(outsideDir, "dir")
			case strings.HasPrefix(tc.name, "dangling"):
				target = filepath.Join(outsideDir, "made")
			}
			var link string
			var before map[string]string
			hook := CachedBuildHook("", out, "")
			_, err := build.Run(context.Background(), build.Options{
				Repo: r.Dir, Out: out, History: true, Registry: "test",
				Site: func(dir string, s *build.Snapshot) error {
					if (dir == out) == tc.staged {
						t.Fatalf("catalogue dir %s, out %s: want staged %v", dir, out, tc.staged)
					}
					if tc.staged {
						testutil.Must(t, os.MkdirAll(filepath.Join(dir, "assets"), 0o755))
					}
					link = plant(t, dir, tc.rel, target, tc.dirLink && tc.inside == "")
					before = testutil.FileHashes(t, outsideDir)
					return hook(dir, s)
				},
			})
			if !errors.Is(err, build.ErrOutLink) || !strings.Contains(err.Error(), link+" is a symbolic link") {
				t.Errorf("build: %v, want build.ErrOutLink naming %s", err, link)
			}
			if after := testutil.FileHashes(t, outsideDir); !maps.Equal(before, after) || string(testutil.ReadFile(t, outsideFile)) != "keep me" {
				t.Errorf("written outside the out dir through %s:\n before %v\n after  %v", link, before, after)
			}
			if tc.inside != "" {
				for _, f := range []string{"app.js", "style.css", "catalog.js"} {
					if _, err := os.Lstat(filepath.Join(out, tc.inside, f)); err == nil {
						t.Errorf("%s written through %s into %s", f, link, tc.inside)
					}
				}
			}
			if got, err := os.Readlink(link); !tc.staged && (err != nil || got != target) {
				t.Errorf("the link %s is now %q (%v), want it left for the user to see", link, got, err)
			}
		})
	}
}

// TestReuseRefusesSpecialPages: the previous build's site may be a
// shared out dir. A page there that is a FIFO (whose open would block the
// build for ever) or a link (which a hard link would copy into the new
// site as a link) is not reused: the page is rendered again, as a
// regular file, the same bytes as a fresh build's.
func TestReuseRefusesSpecialPages(t *testing.T) {
	packs := manyPacks(3, 1)
	_, want := writeSite(t, packs, Options{})
	cache := t.TempDir()
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, page string)
	}{
		{name: "FIFO", plant: func(t *testing.T, page string) {
			testutil.Must(t, os.Remove(page))
			filetest.FIFO(t, page)
		}},
		{name: "link to a copy of the page", plant: func(t *testing.T, page string) {
			cp := filepath.Join(t.TempDir(), "page.html")
			testutil.Must(t, os.WriteFile(cp, testutil.ReadFile(t, page), 0o644))
			testutil.Must(t, os.Remove(page))
			testutil.Must(t, os.Symlink(cp, page))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev, _ := writeSite(t, packs, Options{Cache: cache})
			tc.plant(t, filepath.Join(prev, "packs", "pack-00001", "index.html"))
			dir := t.TempDir()
			root, shards := synth(t, dir, packs)
			var st Stats
			testutil.Must(t, filetest.Within(t, 30*time.Second, "the catalogue hangs on the previous site's page", func() error {
				return WriteOptions(dir, root, shards, Options{Previous: prev, Cache: cache, Stats: &st})
			}))
			got := catalogueFiles(t, dir)
			if st.Rendered != 1 || st.Reused != 2 {
				t.Errorf("rendered %d, reused %d: want the special page rendered again, the others reused", st.Rendered, st.Reused)
			}
			fi, err := os.Lstat(filepath.Join(dir, "packs", "pack-00001", "index.html"))
			if err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("new page: %v, %v; want a regular file", fi, err)
			}
			diffFiles(t, "rendered again vs fresh", want, got)
		})
	}
}
