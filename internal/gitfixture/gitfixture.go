// Package gitfixture makes real git repositories with go-git for tests,
// benchmarks and the demo: files are written to a work tree and committed
// with fixed author and committer times, so the same steps always give
// the same commit hashes.
package gitfixture

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a repository with a work tree being built up commit by commit.
type Repo struct {
	Dir  string
	repo *git.Repository
	wt   *git.Worktree
	// Now is the time of the next commit; each commit advances it by a minute.
	Now time.Time
}

// Epoch is the default time of the first commit.
var Epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// Init creates an empty repository in dir on branch main.
func Init(dir string) (*Repo, error) {
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return nil, fmt.Errorf("git init %s: %w", dir, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, err
	}
	return &Repo{Dir: dir, repo: r, wt: wt, Now: Epoch}, nil
}

// Git returns the underlying go-git repository.
func (r *Repo) Git() *git.Repository { return r.repo }

// Write writes a file of the work tree, creating parent dirs.
func (r *Repo) Write(rel string, data []byte) error {
	p := filepath.Join(r.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// Remove deletes a file or directory of the work tree.
func (r *Repo) Remove(rel string) error {
	return os.RemoveAll(filepath.Join(r.Dir, filepath.FromSlash(rel)))
}

// CopyDir copies a directory from disk into the work tree at rel,
// keeping executable bits and symlinks.
func (r *Repo) CopyDir(src, rel string) error {
	dst := filepath.Join(r.Dir, filepath.FromSlash(rel))
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		relp, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, relp)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
	})
}

// Commit stages everything in the work tree (additions, changes and
// deletions) and commits it at r.Now, returning the commit hash.
func (r *Repo) Commit(msg string) (string, error) {
	if err := r.wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("git add: %w", err)
	}
	sig := &object.Signature{Name: "packgen test", Email: "test@packgen.invalid", When: r.Now}
	h, err := r.wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		return "", fmt.Errorf("git commit: %w", err)
	}
	r.Now = r.Now.Add(time.Minute)
	return h.String(), nil
}

// Tag creates a lightweight tag at HEAD.
func (r *Repo) Tag(name string) error {
	head, err := r.repo.Head()
	if err != nil {
		return err
	}
	_, err = r.repo.CreateTag(name, head.Hash(), nil)
	return err
}
