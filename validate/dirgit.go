package validate

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/source"
)

// dirRetiredEntries checks that each entry of the retirement file of a
// tree of packs on disk names a release the build would publish, as the
// build checks it (retiredUnknown): one of the directory's own (ids) or,
// when dir is inside a git work tree, of HEAD's first-parent history
// under it (an in-place bump keeps the old version published). A copy
// outside git is not checked: the releases it may name are those of a
// history it does not have (and the build needs one).
//
// Plain validate does not warn, as a build without a previous build
// does, of a version the history holds with two contents: no change to
// the directory can fix history, so the warning would fail --strict for
// ever; `validate --changed-since` refuses such an edit on the pull
// request and `build --previous` against the live registry.
func dirRetiredEntries(ctx context.Context, dir string, ids map[string]bool, l *retire.List) (meta.Problems, error) {
	if l == nil {
		return nil, nil
	}
	repo, packsDir, ok := repoOf(dir)
	if !ok {
		return nil, nil
	}
	return retiredUnknown(ctx, l, newPublished(repo, "HEAD", packsDir), func(id string) bool { return ids[id] })
}

// repoOf opens the git repository whose work tree holds dir, and names
// dir in it (slash-separated, "" for its root); ok is false when dir is
// in none, or outside its work tree.
func repoOf(dir string) (repo *source.Repo, packsDir string, ok bool) {
	repo, err := source.Open(dir)
	if err != nil {
		return nil, "", false
	}
	wt, _ := repo.Dirs()
	abs, err := filepath.Abs(dir)
	if wt == "" || err != nil {
		return nil, "", false
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	if r, err := filepath.EvalSymlinks(wt); err == nil {
		wt = r
	}
	rel, err := filepath.Rel(wt, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, "", false
	}
	if rel = filepath.ToSlash(rel); rel == "." {
		rel = ""
	}
	return repo, rel, true
}
