package source

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
)

// TestResolveFlag: a ref the repository does not hold is ErrNoRef (a
// usage error) saying why and what to do, in a full clone and in a
// shallow one (a merge-ref checkout with fetch-depth 1, whose HEAD^1 is
// not fetched), never a bare "object not found".
func TestResolveFlag(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/a", "a", "1.0.0")
	commit(t, r, "one")
	writePack(t, r, "packs/a", "a", "1.1.0")
	commit(t, r, "two")
	clone := filepath.Join(t.TempDir(), "clone")
	testutil.Git(t, "", "clone", "-q", "--depth", "1", "file://"+r.Dir, clone)
	for _, tc := range []struct {
		repo, ref string
		msg       string // "": resolves
	}{
		{r.Dir, "HEAD^1", ""},
		{r.Dir, "HEAD~5", "the history ends before that"},
		{r.Dir, "origin/main", "no such branch, tag or commit"},
		{clone, "HEAD", ""},
		{clone, "HEAD^1", "is a shallow clone that does not hold that commit"},
		{clone, "HEAD~3", "fetch-depth: 0"},
		{clone, "origin/nope", "no such branch, tag or commit"},
	} {
		_, err := openRepo(t, tc.repo).ResolveFlag("changed-since", tc.ref, tc.repo)
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%s in %s: %v", tc.ref, tc.repo, err)
		case tc.msg != "" && (!errors.Is(err, ErrNoRef) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "--changed-since "+tc.ref)):
			t.Errorf("%s in %s: %v, want ErrNoRef saying %q", tc.ref, tc.repo, err, tc.msg)
		}
	}
}
