package build

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestAttackOutDirLinks: someone who can write the out dir plants a link
// (a directory moved out and linked back, so every old file still reads)
// where an update in place would write the next build. The build refuses
// (ErrOutLink, naming the link) and writes nothing behind it; the old
// site stays as it was. A staged build (another --previous) never writes
// into the old tree, so its links do not matter.
func TestAttackOutDirLinks(t *testing.T) {
	for _, at := range []string{"packs", "packs/calico", "packs/calico/shards", "index", "packs/calico/1.1.0", "assets"} {
		t.Run(at, func(t *testing.T) {
			tmp, r := newRepo(t)
			writePack(t, r, "packs/calico", "calico", "1.0.0", "cni", "")
			commit(t, r, "one")
			out := filepath.Join(tmp, "site")
			built(t, r.Dir, out)
			outside := filepath.Join(t.TempDir(), "moved")
			planted := filepath.Join(out, filepath.FromSlash(at))
			if _, err := os.Stat(planted); err == nil {
				must(t, os.Rename(planted, outside))
			} else {
				must(t, os.Mkdir(outside, 0o755)) // a directory the build will make
			}
			must(t, os.Symlink(outside, planted))
			before, site := dirTree(t, outside), dirTree(t, out)

			writePack(t, r, "packs/calico", "calico", "1.1.0", "cni", "")
			commit(t, r, "two")
			_, err := run(t, r.Dir, out)
			if !errors.Is(err, ErrOutLink) || !strings.Contains(err.Error(), planted) {
				t.Fatalf("err = %v, want ErrOutLink naming %s", err, planted)
			}
			if d := treeDiff(dirTree(t, outside), before); d != nil {
				t.Errorf("the build wrote behind the link: %v", d)
			}
			if d := treeDiff(dirTree(t, out), site); d != nil {
				t.Errorf("the out dir changed: %v", d)
			}
			// Into another out dir from this one (staged): built.
			res := built(t, r.Dir, filepath.Join(tmp, "staged"), func(o *Options) { o.Previous = out })
			if v := versionsOf(t, res, "calico"); len(v) != 2 {
				t.Errorf("staged from the linked site: versions %v", v)
			}
		})
	}
}

func dirTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if e.Type().IsRegular() {
			data, _ := os.ReadFile(p)
			out[rel] = string(data)
		} else {
			out[rel] = e.Type().String()
		}
		return nil
	}))
	return out
}

// treeDiff lists the paths whose entries differ (nil when none).
func treeDiff(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k+" (gone)")
		}
	}
	sort.Strings(d)
	return d
}
