package build

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
)

// TestBuildSubmodule: a git submodule inside a pack directory (a gitlink
// entry: its files live in another repository) is refused with the
// entry's path and what it is, where the message said "special file
// (?---------)"; --skip-invalid leaves the release out and builds the rest.
func TestBuildSubmodule(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git binary not installed")
	}
	tmp, r := newRepo(t)
	writePack(t, r, "packs/web-1.0.0", "web", "1.0.0", "addon", "")
	writePack(t, r, "packs/vendored-1.0.0", "vendored", "1.0.0", "addon", "")
	first := commit(t, r, "packs")
	testutil.Git(t, r.Dir, "update-index", "--add", "--cacheinfo", "160000,"+first+",packs/vendored-1.0.0/upstream")
	testutil.Git(t, r.Dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "vendor upstream as a submodule")

	_, err := run(t, r.Dir, filepath.Join(tmp, "site"))
	var inv *InvalidError
	if !errors.As(err, &inv) || len(inv.Problems) != 1 {
		t.Fatalf("build: %v", err)
	}
	if p := inv.Problems[0]; p.File != "packs/vendored-1.0.0/upstream" || !strings.Contains(p.Msg, "git submodule") || strings.Contains(p.Msg, "?-") {
		t.Errorf("problem: %s", p)
	}
	res, err := run(t, r.Dir, filepath.Join(tmp, "skipped"), func(o *Options) { o.SkipInvalid = true })
	if err != nil || res.Skipped != 1 || len(res.Shards) != 1 || res.Shards[0].Name != "web" {
		t.Fatalf("--skip-invalid: %+v %v", res, err)
	}
}
