package validate

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/source"
)

// dirHistory is what a tree of packs on disk owes to its git history,
// when dir is inside a git work tree: the retirement file's entries
// (dirRetiredEntries) and the warning the build gives of a version the
// history holds with two contents (dirEdited). A copy outside git is not
// checked, nor one in a repository with no commit yet: the releases it
// may name are those of a history it does not have (and the build needs
// one). ids maps each release of the directory
// (meta.ReleaseID) to the directory that holds it on disk.
func dirHistory(ctx context.Context, dir string, ids map[string]string, l *retire.List) (meta.Problems, error) {
	repo, packsDir, ok := repoOf(dir)
	if !ok {
		return nil, nil
	}
	if _, err := repo.ResolveFlag("", "HEAD", dir); err != nil {
		return nil, nil // no commit yet: no history, as outside git
	}
	return dirChecks(ctx, newPublished(repo, "HEAD", packsDir), ids, l)
}

// dirChecks is dirHistory's checks with hist, HEAD's history under the
// packs directory: dirEdited's walk of it, which reads every release,
// also serves the retirement file's entries, so history is walked once.
func dirChecks(ctx context.Context, hist *published, ids map[string]string, l *retire.List) (meta.Problems, error) {
	ps, err := dirEdited(ctx, hist, ids)
	if err != nil {
		return nil, err
	}
	rs, err := dirRetiredEntries(ctx, hist, ids, l)
	return append(ps, rs...), err
}

// dirRetiredEntries checks that each entry of the retirement file names
// a release the build would publish, as the build checks it
// (retiredUnknown): one of the directory's own (ids) or of HEAD's
// first-parent history under it (an in-place bump keeps the old version
// published).
func dirRetiredEntries(ctx context.Context, hist *published, ids map[string]string, l *retire.List) (meta.Problems, error) {
	if l == nil {
		return nil, nil
	}
	return retiredUnknown(ctx, l, hist, func(id string) bool { _, ok := ids[id]; return ok })
}

// dirEdited is the build's warning (source.Repo.EditedProblem, the one
// a build gives without --previous) for each of the directory's own
// releases whose version HEAD's first-parent history holds with other
// content, on the pack.json on disk: bumping its version there clears
// it, so --strict is not failed for ever by history. Older versions the
// build also publishes are not judged here (nothing in the directory
// can change them; `validate --changed-since` refuses such an edit on
// the pull request, `build --previous` against the live registry).
// It reads the history as the build does (source.Releases), a few
// percent of plain validate's own time: on internal/realrepo's Small
// repository (40 packs, 60 commits) 10-30 ms against 0.5-1.1 s, on Full
// (220 packs, 330 commits, as the real one) 0.2-1.9 s against 10-14 s
// (a shared 2-core machine). A shallow clone has no history to read,
// and a version two directories define at HEAD is the cross-pack
// check's to report: neither stops validate. hist is HEAD's whole
// history (validate DIR has no --since): the releases read here answer
// the retirement file's entries too (published.knowAll), and a shallow
// clone marks it shallow, so history is walked once (on Full, a second
// walk, source.ReleasesOf, cost 0.07-0.4 s).
func dirEdited(ctx context.Context, hist *published, ids map[string]string) (meta.Problems, error) {
	repo, packsDir := hist.repo, hist.packsDir
	res, err := repo.Releases(ctx, source.Options{Ref: hist.base, PacksDir: packsDir, History: true})
	if errors.Is(err, source.ErrShallow) {
		hist.shallow = true
		return nil, nil
	}
	if errors.Is(err, source.ErrDuplicate) {
		return nil, nil // hist walks on its own, for the ids it is asked
	}
	if err != nil {
		return nil, fmt.Errorf("read the history of %s: %w", packsDir, err)
	}
	hist.knowAll(res.Releases)
	var ps meta.Problems
	for _, rel := range res.Releases {
		disk, ok := ids[meta.ReleaseID(rel.Name, rel.Version)]
		if !ok {
			continue
		}
		if p := repo.EditedProblem(rel, packsDir); p != nil {
			p.File = path.Join(disk, pack.ManifestFile) // where to bump it
			ps = append(ps, *p)
		}
	}
	return ps, nil
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
