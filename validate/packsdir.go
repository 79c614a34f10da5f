package validate

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/source"
)

// checkPacksDir refuses a packs directory that is a directory in neither
// HEAD nor the base (nor, when the work tree is read, on disk), or that
// holds no pack in any of them: a mistyped --packs-dir, or one naming the
// wrong directory, found no changed pack and passed the check, so CI
// stayed green whatever the pull request did. A file where the directory
// should be is refused too, as the build refuses it. It returns the
// directory cleaned ("./packs/" is packs; "" the repository's root).
func checkPacksDir(repo *source.Repo, o ChangedOptions) (string, error) {
	dir := strings.Trim(path.Clean(filepath.ToSlash(o.PacksDir)), "/")
	if dir == "." {
		dir = ""
	}
	name := o.PacksDir
	if dir == "" {
		name = "the repository's root"
	}
	found, packs := dir == "", false
	for _, ref := range []string{"HEAD", o.Since} {
		isDir, exists, hasPack, err := treeDir(repo.Git(), ref, dir)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return dir, nil // Changes reports it with its hint
		}
		if err != nil {
			return "", err
		}
		if exists && !isDir {
			return "", inputErr("--packs-dir %s: a file at %s, not a directory: give the directory that holds the packs", o.PacksDir, ref)
		}
		found, packs = found || exists, packs || hasPack
	}
	if !o.Committed {
		wt, err := repo.Git().Worktree()
		switch {
		case err == nil:
			abs := filepath.Join(wt.Filesystem.Root(), filepath.FromSlash(dir))
			fi, err := os.Lstat(abs)
			if err == nil && !fi.IsDir() {
				what := "a file"
				if fi.Mode()&os.ModeSymlink != 0 {
					what = "a symbolic link" // git tracks the link, not where it points
				}
				return "", inputErr("--packs-dir %s: %s in the work tree, not a directory: give the directory that holds the packs", o.PacksDir, what)
			}
			found = found || err == nil
			packs = packs || err == nil && diskHasPack(abs)
		case !errors.Is(err, git.ErrIsBareRepository):
			return "", err
		}
	}
	if !found {
		return "", inputErr("--packs-dir %s: no such directory in the repository at HEAD or %s; it is a path inside the repository, relative to its root", o.PacksDir, o.Since)
	}
	if !packs {
		return "", inputErr("no pack found under %s at HEAD or %s: --packs-dir names the directory holding the pack directories, each with a pack.json", name, o.Since)
	}
	return dir, nil
}

// diskHasPack says whether a pack.json is anywhere under dir on disk
// (.git and other dot-directories aside); it stops at the first.
func diskHasPack(dir string) bool {
	found := errors.New("found")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil // unreadable: not a pack as far as this check goes
		case d.IsDir() && p != dir && strings.HasPrefix(d.Name(), "."):
			return filepath.SkipDir
		case !d.IsDir() && d.Name() == pack.ManifestFile:
			return found
		}
		return nil
	})
	return err == found
}

// treeDir says whether dir ("" the root) is in ref's tree, is a
// directory, and holds a pack.json anywhere below it.
func treeDir(g *git.Repository, ref, dir string) (isDir, exists, hasPack bool, err error) {
	tree, err := treeAt(g, ref)
	if err != nil {
		return false, false, false, err
	}
	if dir != "" {
		e, err := tree.FindEntry(dir)
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return false, false, false, nil
		}
		if err != nil {
			return false, false, false, err
		}
		if e.Mode != filemode.Dir {
			return false, true, false, nil
		}
		if tree, err = tree.Tree(dir); err != nil {
			return false, false, false, err
		}
	}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return true, true, false, nil
		}
		if err != nil {
			return false, false, false, err
		}
		if path.Base(name) == pack.ManifestFile && e.Mode.IsFile() {
			return true, true, true, nil
		}
	}
}
