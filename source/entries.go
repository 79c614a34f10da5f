package source

import (
	"errors"
	"fmt"
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
	tree, err := object.GetTree(h.Storer, plumbing.NewHash(rel.TreeHash))
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
