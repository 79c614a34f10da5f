package source

import (
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
)

// ErrNoRef: a ref the user gave names no commit of the repository.
var ErrNoRef = errors.New("no such commit")

// ResolveFlag reads the commit ref names, for a flag the user gave (flag
// without its dashes, named in the error); dir is the repository as the
// user named it. go-git's words ("reference not found", or a bare "EOF"
// for HEAD~9 past the first commit) become what happened and how to list
// what there is; every such error matches ErrNoRef.
func (r *Repo) ResolveFlag(flag, ref, dir string) (plumbing.Hash, error) {
	h, err := r.git.ResolveRevision(plumbing.Revision(ref))
	if err == nil {
		return *h, nil
	}
	if dir == "" {
		dir = "."
	}
	switch {
	case ref == "HEAD" && r.unborn():
		return plumbing.ZeroHash, fmt.Errorf("%w: the repository %s has no commits yet: packgen reads committed packs (git add, then git commit)", ErrNoRef, dir)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return plumbing.ZeroHash, fmt.Errorf("%w: --%s %s: the history ends before that (the first commit has no parent): `git log --first-parent --oneline` lists the commits it may name", ErrNoRef, flag, ref)
	case errors.Is(err, plumbing.ErrObjectNotFound) && r.Shallow():
		// HEAD^1 of a shallow merge-ref checkout: the parent is not
		// fetched, as a base branch that is not fetched (below).
		return plumbing.ZeroHash, fmt.Errorf("%w: --%s %s: the repository %s is a shallow clone that does not hold that commit (its history is cut off before it): fetch the history (`git fetch --unshallow`); in CI, actions/checkout needs fetch-depth: 0", ErrNoRef, flag, ref, dir)
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		return plumbing.ZeroHash, fmt.Errorf("%w: --%s %s: no such branch, tag or commit in the repository %s (`git branch -a` and `git tag` list them; a remote's branch is origin/NAME, fetched first; in CI, actions/checkout needs fetch-depth: 0)", ErrNoRef, flag, ref, dir)
	}
	return plumbing.ZeroHash, fmt.Errorf("--%s %s: %w", flag, ref, err)
}

// unborn says HEAD names a branch with no commit yet.
func (r *Repo) unborn() bool {
	_, err := r.git.Head()
	return errors.Is(err, plumbing.ErrReferenceNotFound)
}

// Shallow says the repository is a shallow clone: a commit it lacks may
// be its edge, not a corrupt repository.
func (r *Repo) Shallow() bool {
	s, err := r.git.Storer.Shallow()
	return err == nil && len(s) > 0
}
