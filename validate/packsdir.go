package validate

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/source"
)

// checkPacksDir refuses a packs directory that is a directory in neither
// HEAD nor the base (nor, when the work tree is read, on disk): a
// mistyped --packs-dir found no changed pack and passed the check, so CI
// stayed green whatever the pull request did. A file where the directory
// should be is refused too, as the build refuses it. It returns the
// directory cleaned ("./packs/" is packs; "" the repository's root).
func checkPacksDir(repo *source.Repo, o ChangedOptions) (string, error) {
	dir := strings.Trim(path.Clean(filepath.ToSlash(o.PacksDir)), "/")
	if o.PacksDir == "" || dir == "." || dir == "" {
		return "", nil
	}
	found := false
	for _, ref := range []string{"HEAD", o.Since} {
		isDir, exists, err := treeDir(repo.Git(), ref, dir)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return dir, nil // Changes reports it with its hint
		}
		if err != nil {
			return "", err
		}
		if exists && !isDir {
			return "", inputErr("--packs-dir %s: a file at %s, not a directory: give the directory that holds the packs", o.PacksDir, ref)
		}
		found = found || exists
	}
	if !o.Committed {
		if wt, err := repo.Git().Worktree(); err == nil {
			fi, err := os.Lstat(filepath.Join(wt.Filesystem.Root(), filepath.FromSlash(dir)))
			if err == nil && !fi.IsDir() {
				what := "a file"
				if fi.Mode()&os.ModeSymlink != 0 {
					what = "a symbolic link" // git tracks the link, not where it points
				}
				return "", inputErr("--packs-dir %s: %s in the work tree, not a directory: give the directory that holds the packs", o.PacksDir, what)
			}
			found = found || err == nil
		} else if !errors.Is(err, git.ErrIsBareRepository) {
			return "", err
		}
	}
	if !found {
		return "", inputErr("--packs-dir %s: no such directory in the repository at HEAD or %s; it is a path inside the repository, relative to its root", o.PacksDir, o.Since)
	}
	return dir, nil
}

// treeDir says whether dir is in ref's tree and is a directory.
func treeDir(g *git.Repository, ref, dir string) (isDir, exists bool, err error) {
	tree, err := treeAt(g, ref)
	if err != nil {
		return false, false, err
	}
	e, err := tree.FindEntry(dir)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return e.Mode == filemode.Dir, true, nil
}
