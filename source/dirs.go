package source

import (
	"os"
	"path/filepath"

	"github.com/go-git/go-billy/v5"
)

// Dirs returns where the repository lives on disk, absolute: its work
// tree's root ("" for a bare repository) and its git directories (a
// linked work tree's own and its repository's common one), for a
// caller that must never write over them (the build's out dir).
func (r *Repo) Dirs() (workTree string, gitDirs []string) {
	if w, err := r.git.Worktree(); err == nil {
		workTree, _ = filepath.Abs(w.Filesystem.Root())
		if fi, err := os.Lstat(filepath.Join(workTree, ".git")); err == nil && fi.IsDir() {
			gitDirs = append(gitDirs, filepath.Join(workTree, ".git"))
		}
	}
	if st, ok := r.git.Storer.(interface{ Filesystem() billy.Filesystem }); ok {
		if d, err := filepath.Abs(st.Filesystem().Root()); err == nil {
			gitDirs = append(gitDirs, d)
			if c := commonDir(d); c != d {
				gitDirs = append(gitDirs, filepath.Clean(c))
			}
		}
	}
	return workTree, gitDirs
}
