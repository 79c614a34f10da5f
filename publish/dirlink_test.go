package publish

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
)

// TestAttackDirLinks: someone who can write the destination directory (a
// shared web root, a mounted bucket) plants a symbolic link where the
// next publish writes: a pack's or a version's directory, index/, log/,
// signatures/, or a file the site replaces. Publish refuses before
// writing anything, naming the link; nothing lands where it points, and
// the destination is as it was. The directory the user named may itself
// be a link (followed, like cp -r into it), and a link elsewhere in the
// directory is left alone, even by --prune.
func TestAttackDirLinks(t *testing.T) {
	f, site1 := calicoSite(t)
	f.pack("calico", "1.1.0", "a: 2\n")
	f.pack("cilium", "1.0.0", "b: 1\n")
	site2 := f.build(t)
	ctx := context.Background()

	for _, tc := range []struct {
		name, at string
		to       func(outside, dst string) string // the link's target
	}{
		{"new pack dir", "packs/cilium", dirOutside},
		{"existing pack dir", "packs/calico", dirOutside},
		{"version dir", "packs/calico/1.1.0", dirOutside},
		{"shards dir", "packs/calico/shards", dirOutside},
		{"index dir", "index", dirOutside},
		{"log dir", "log", dirOutside},
		{"log tile dir", "log/tile/8/0/000.p", dirOutside},
		{"signatures dir", "signatures", dirOutside},
		{"root signature file", "index.json.sig", fileOutside},
		{"root file", "index.json", fileOutside},
		{"catalogue page", "packs/calico/index.html", fileOutside},
		{"dangling", "packs/cilium", func(outside, _ string) string { return filepath.Join(outside, "nothing-yet") }},
		{"link inside the destination", "packs/cilium", func(_, dst string) string { return filepath.Join(dst, "index") }},
		{"relative link", "packs/cilium", func(outside, dst string) string { r, _ := filepath.Rel(filepath.Join(dst, "packs"), outside); return r }},
		// No link: a file where the site has a directory, a level above
		// one publish writes in (refused as it is found, naming it, not
		// the deeper directory's "not a directory").
		{"a file where a pack dir is", "packs/calico", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, outside := filepath.Join(t.TempDir(), "www"), t.TempDir()
			if _, err := Publish(ctx, site1, DirTarget{Dir: dst}, Options{}); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(outside, "victim"), []byte("secret"), 0o600)
			planted := filepath.Join(dst, filepath.FromSlash(tc.at))
			if err := os.RemoveAll(planted); err != nil {
				t.Fatal(err)
			}
			want, say := ErrLink, "Remove it"
			if tc.to == nil {
				want, say = ErrOverwrite, "is a file where the site has a directory"
				testutil.Must(t, os.WriteFile(planted, []byte("x"), 0o644))
			} else if err := os.Symlink(tc.to(outside, dst), planted); err != nil {
				t.Fatal(err)
			}
			before, out := tree(t, dst), tree(t, outside)
			_, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{Prune: true})
			if !errors.Is(err, want) || !strings.Contains(err.Error(), planted+" ") || !strings.Contains(err.Error(), say) {
				t.Fatalf("err = %v, want %v naming %s, saying %q", err, want, planted, say)
			}
			if got := tree(t, dst); !maps.Equal(got, before) {
				t.Errorf("destination changed:\n%v\nwas\n%v", got, before)
			}
			if got := tree(t, outside); !maps.Equal(got, out) {
				t.Errorf("written through the link: %v", got)
			}
		})
	}

	t.Run("destination itself a link", func(t *testing.T) {
		real := filepath.Join(t.TempDir(), "real")
		os.Mkdir(real, 0o755)
		dst := filepath.Join(t.TempDir(), "www")
		if err := os.Symlink(real, dst); err != nil {
			t.Fatal(err)
		}
		if _, err := Publish(ctx, site1, DirTarget{Dir: dst}, Options{}); err != nil {
			t.Fatal(err)
		}
		res, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{Prune: true})
		if err != nil {
			t.Fatal(err)
		}
		// Listed through the link: the live index was read and only what
		// changed went up.
		if res.RemoteSerial == 0 || res.Unchanged == 0 {
			t.Errorf("the destination behind the link was not listed: %+v", res)
		}
		verifyRemoteDir(t, f, real, 3)
	})

	t.Run("unrelated link left alone", func(t *testing.T) {
		dst, outside := filepath.Join(t.TempDir(), "www"), t.TempDir()
		if _, err := Publish(ctx, site1, DirTarget{Dir: dst}, Options{}); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(outside, "keep.json"), []byte("{}"), 0o644)
		for _, at := range []string{"docs", "index/old", "packs/calico/shards/old.json"} {
			if err := os.Symlink(outside, filepath.Join(dst, filepath.FromSlash(at))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{Prune: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(outside, "keep.json")); err != nil {
			t.Errorf("pruned through a link: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(dst, "docs")); err != nil {
			t.Errorf("link removed: %v", err)
		}
		verifyRemoteDir(t, f, dst, 3)
	})
}

func dirOutside(outside, _ string) string  { return outside }
func fileOutside(outside, _ string) string { return filepath.Join(outside, "victim") }

// TestDirTargetLinks: each method of DirTarget refuses a link on the way
// to its key, called directly (not only through publish's check).
func TestDirTargetLinks(t *testing.T) {
	ctx := context.Background()
	dst, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(outside, "f"), []byte("secret"), 0o600)
	os.Mkdir(filepath.Join(dst, "packs"), 0o755)
	os.Symlink(outside, filepath.Join(dst, "packs", "a"))
	os.Symlink(filepath.Join(outside, "f"), filepath.Join(dst, "index.json"))
	d := DirTarget{Dir: dst}
	body := strings.NewReader("x")
	info := PutInfo{Size: 1, MD5: "9dd4e461268c8034f5c8564e155c67a6", SHA256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Put under a dir link", func() error { return d.Put(ctx, "packs/a/1.0.0/a.tar.gz", body, info) }},
		{"Put over a file link", func() error { return d.Put(ctx, "index.json", body, info) }},
		{"Stat through a link", func() error { _, err := d.Stat(ctx, "packs/a/f"); return err }},
		{"Get through a file link", func() error { _, err := d.Get(ctx, "index.json"); return err }},
		{"Get through a dir link", func() error { _, err := d.Get(ctx, "packs/a/f"); return err }},
		{"Delete through a dir link", func() error { return d.Delete(ctx, "packs/a/f") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body.Seek(0, 0)
			if err := tc.call(); !errors.Is(err, ErrLink) {
				t.Errorf("err = %v, want ErrLink", err)
			}
			if got, _ := os.ReadFile(filepath.Join(outside, "f")); string(got) != "secret" {
				t.Errorf("outside file now %q", got)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("outside holds %v", entries)
			}
		})
	}
	// Deleting a link removes the link, never its target.
	if err := d.Delete(ctx, "index.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); err != nil {
		t.Error(err)
	}
}

// tree describes every entry under dir without following links: a
// file's content, a link's target, "dir".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			to, _ := os.Readlink(p)
			out[rel] = "-> " + to
		case e.IsDir():
			out[rel] = "dir"
		default:
			data, _ := os.ReadFile(p)
			out[rel] = string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
