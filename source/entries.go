package source

import (
	"errors"
	"fmt"
	"github.com/packgen/packgen/index"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// BlobIDs returns the git object ID of every file and symlink in the
// release's pack directory, by slash-separated path relative to it. Only
// tree objects are read, no blob: it is what the rebuild check compares
// an archive's content with (hashing each archived file as git does).
func (rel *Release) BlobIDs() (map[string]string, error) {
	h, err := rel.repo.acquire()
	if err != nil {
		return nil, err
	}
	defer rel.repo.release(h)
	tree, err := object.GetTree(h.git.Storer, plumbing.NewHash(rel.TreeHash))
	if err != nil {
		return nil, fmt.Errorf("read tree %s of %s: %w", rel.TreeHash, rel.Dir, err)
	}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	ids := map[string]string{}
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return ids, nil
		}
		if err != nil {
			return nil, fmt.Errorf("walk tree %s of %s: %w", rel.TreeHash, rel.Dir, err)
		}
		if e.Mode.IsFile() {
			ids[name] = e.Hash.String()
		}
	}
}

// ErrNoSuchRelease marks a release a published index records but the
// repository does not hold at the recorded commit and directory.
var ErrNoSuchRelease = errors.New("release not in the repository")

// ReleaseAt returns the release whose pack directory is dir at commit,
// as a published index records it, for reading its content from git.
// The directory's tree must be tree when tree is not empty.
//
// It may be called from several goroutines: each call reads through a
// handle of its own (go-git's object storage shares file offsets).
func (r *Repo) ReleaseAt(name, version, commit, dir, tree string) (*Release, error) {
	h, err := r.acquire()
	if err != nil {
		return nil, err
	}
	defer r.release(h)
	c, err := h.git.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			hint := "another repository, or a clone that lacks the commit: git fetch"
			if r.Shallow() {
				hint = "this clone is shallow: git fetch --unshallow"
			}
			return nil, fmt.Errorf("%w: %s@%s: the repository does not contain its commit %s (%s)", ErrNoSuchRelease, name, version, short(commit), hint)
		}
		return nil, fmt.Errorf("%w: %s@%s: commit %s: %v", ErrNoSuchRelease, name, version, commit, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of commit %s: %w", commit, err)
	}
	th := t.Hash
	if dir != "." && dir != "" {
		e, err := t.FindEntry(dir)
		if err != nil || e.Mode.IsFile() {
			return nil, fmt.Errorf("%w: %s@%s: no directory %s at commit %s", ErrNoSuchRelease, name, version, dir, short(commit))
		}
		th = e.Hash
	}
	if tree != "" && th.String() != tree {
		return nil, fmt.Errorf("%w: %s@%s: %s at commit %s is tree %s, the index records tree %s", ErrNoSuchRelease, name, version, dir, short(commit), short(th.String()), short(tree))
	}
	return &Release{Name: name, Version: version, Dir: dir, Commit: commit, Time: c.Committer.When.UTC(), TreeHash: th.String(), repo: r}, nil
}

func short(h string) string { return index.ShortHash(h) }

// FileAt reads the file at slash path p of commit (a hash or ref) from
// git, at most max bytes: found is false when the commit has no such
// file. It is how repository files beside the packs (the retirement
// file, package retire) are read at the very commit a build is of.
func (r *Repo) FileAt(commit, p string, max int64) (data []byte, found bool, err error) {
	h, err := r.acquire()
	if err != nil {
		return nil, false, err
	}
	defer r.release(h)
	ch, err := h.git.ResolveRevision(plumbing.Revision(commit))
	if err != nil {
		return nil, false, fmt.Errorf("resolve %s: %w", commit, err)
	}
	c, err := h.git.CommitObject(*ch)
	if err != nil {
		return nil, false, fmt.Errorf("read commit %s: %w", short(ch.String()), err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, false, fmt.Errorf("read tree of commit %s: %w", short(ch.String()), err)
	}
	e, err := t.FindEntry(p)
	if err != nil || !e.Mode.IsFile() {
		return nil, false, nil
	}
	data, tooLarge, err := readBlob(h.git.Storer, e.Hash, p, max)
	if err != nil {
		return nil, false, err
	}
	if tooLarge {
		return nil, false, fmt.Errorf("%s at commit %s is larger than %d bytes", p, short(ch.String()), max)
	}
	return data, true, nil
}
