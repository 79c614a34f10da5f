package validate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/source"
)

// dirGit is what plain validate checks of a tree of packs on disk that
// needs the releases the build would publish from it: the directory's
// own (ids), and, when dir is inside a git work tree, those of HEAD's
// first-parent history under it, walked as the build walks it (history
// on, the default); outside a work tree nothing is checked. retired's entries must each name one of them (the
// build refuses the file otherwise: retire.List.Unknown, its check), and
// a version the history holds with two contents gets the build's
// warning (source.Repo.EditedProblem). retired is not checked when it
// has syntax errors (badRetired): those are reported already.
func dirGit(ctx context.Context, dir string, ids map[string]bool, retired *retire.List, badRetired bool) (meta.Problems, error) {
	has := func(id string) bool { return ids[id] }
	if badRetired {
		retired = nil
	}
	var ps meta.Problems
	repo, packsDir, ok := repoOf(dir)
	if !ok {
		// A copy outside git: the releases the file may name are
		// those of a history it does not have (the build needs one).
		return nil, nil
	}
	{
		res, err := repo.Releases(ctx, source.Options{PacksDir: packsDir, History: true})
		switch {
		case errors.Is(err, source.ErrShallow), errors.Is(err, source.ErrDuplicate):
			// The build refuses both; validate reports a duplicate at
			// the tree already, and cannot read a shallow history.
			if retired != nil && len(retired.Unknown(has)) > 0 {
				ps = append(ps, meta.Problem{File: retired.File, Severity: meta.SevWarning, Msg: fmt.Sprintf("not every entry is a release of this directory, and the releases of the git history could not be read (%v): whether each names a published release is left to the build", err)})
			}
			return ps, nil
		case err != nil:
			return nil, fmt.Errorf("read the git history of %s: %w", dir, err)
		}
		inHistory := map[string]bool{}
		for _, rel := range res.Releases {
			if rel.Name == "" {
				continue
			}
			inHistory[meta.ReleaseID(rel.Name, rel.Version)] = true
			if p := repo.EditedProblem(rel, packsDir); p != nil {
				p.File = shownIn(dir, packsDir, p.File)
				ps = append(ps, *p)
			}
		}
		has = func(id string) bool { return ids[id] || inHistory[id] }
	}
	return append(ps, retired.Unknown(has)...), nil
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

// shownIn is file, a path from the repository's root under packsDir, as
// the user named it: under dir.
func shownIn(dir, packsDir, file string) string {
	rel := strings.TrimPrefix(file, packsDir)
	return filepath.ToSlash(filepath.Join(dir, strings.TrimPrefix(rel, "/")))
}
