package build

import (
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
)

// An archive's bytes depend on its release's tree alone (issue 13 item 3):
// a commit that touches nothing of a pack, and a build at HEAD rather than
// with history, leave its archive's sha256 unchanged.
func TestArchiveBytesIndependentOfCommit(t *testing.T) {
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	must(t, err)
	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
	commit(t, r, "one")
	res1, err := run(t, r.Dir, filepath.Join(tmp, "one"), func(o *Options) { o.History = false })
	must(t, err)

	must(t, r.Write("README.md", []byte("# packs\n")))
	commit(t, r, "README only")
	res2, err := run(t, r.Dir, filepath.Join(tmp, "two"), func(o *Options) { o.History = false })
	must(t, err)
	res3, err := run(t, r.Dir, filepath.Join(tmp, "three"))
	must(t, err)

	digest := func(res *Result) string {
		t.Helper()
		for _, s := range res.Shards {
			if s.Name == "calico" && len(s.Releases) == 1 {
				return s.Releases[0].Archive.SHA256
			}
		}
		t.Fatalf("no calico release in %+v", res.Shards)
		return ""
	}
	d1, d2, d3 := digest(res1), digest(res2), digest(res3)
	if d1 != d2 || d1 != d3 {
		t.Errorf("calico@3.26.0 archive sha256 differs between builds: %s (commit one), %s (README commit), %s (history)", d1, d2, d3)
	}
}
