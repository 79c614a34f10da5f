package source

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/packgen/packgen/internal/safefile"
)

// ErrCorruptObject is wrapped by the error of a read whose bytes are not
// those of the git object it read: its content does not hash to its ID,
// its length is not the one its header records, or it cannot be read at
// all. Such an error is the repository's, not the pack's: a build must
// fail on it, never publish or skip the release.
var ErrCorruptObject = errors.New("corrupt git object")

func corrupt(id plumbing.Hash, file, format string, args ...any) error {
	return fmt.Errorf("%w %s (%s): %s; run `git fsck` and fetch a fresh clone", ErrCorruptObject, id, file, fmt.Sprintf(format, args...))
}

// checkedReader streams a blob and checks, at EOF, that what it read is
// that blob: SHA-1 of "blob <size>\x00" + content equals the object ID
// and the length equals the header's size. One hashing pass, nothing
// buffered. The first error is sticky.
type checkedReader struct {
	rc        io.ReadCloser
	id        plumbing.Hash
	file      string
	size, n   int64
	h         hash.Hash
	err       error
	atEOF     bool
	onFailure func(error) // told of an integrity error once
}

func newCheckedReader(rc io.ReadCloser, id plumbing.Hash, size int64, file string, onFailure func(error)) *checkedReader {
	h := sha1.New()
	h.Write([]byte("blob " + strconv.FormatInt(size, 10) + "\x00"))
	return &checkedReader{rc: rc, id: id, file: file, size: size, h: h, onFailure: onFailure}
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.rc.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	switch {
	case c.n > c.size:
		err = corrupt(c.id, c.file, "more than the %d bytes its header records", c.size)
	case err == io.EOF:
		err = c.check()
	case err != nil:
		err = corrupt(c.id, c.file, "cannot be read: %v", err)
	default:
		return n, nil
	}
	c.fail(err)
	return n, err
}

func (c *checkedReader) check() error {
	c.atEOF = true
	if c.n != c.size {
		return corrupt(c.id, c.file, "%d bytes where its header records %d", c.n, c.size)
	}
	var sum plumbing.Hash
	c.h.Sum(sum[:0])
	if sum != c.id {
		return corrupt(c.id, c.file, "its content hashes to %s", sum)
	}
	return io.EOF
}

func (c *checkedReader) fail(err error) {
	if c.err == nil {
		c.err = err
		if err != io.EOF && c.onFailure != nil {
			c.onFailure(err)
		}
	}
}

// Close checks what a reader that stopped before EOF was given: the rest
// is read and hashed (a chart's tar ends before its gzip stream does).
// Bytes handed out must not go unchecked, and a caller ignoring Close's
// error still fails through the tree FS's Err.
func (c *checkedReader) Close() error {
	if c.err == nil && c.n > 0 && !c.atEOF {
		if _, err := io.Copy(io.Discard, c); err != nil {
			c.fail(err)
		}
	}
	cerr := c.rc.Close()
	if c.err != nil && c.err != io.EOF {
		return c.err
	}
	return cerr
}

// readBlob reads a whole blob of at most max bytes, checked. A larger
// blob is not read: tooLarge is true.
func readBlob(s storer.EncodedObjectStorer, id plumbing.Hash, file string, max int64) (data []byte, tooLarge bool, err error) {
	blob, err := object.GetBlob(s, id)
	if err != nil {
		return nil, false, corrupt(id, file, "cannot be read: %v", err)
	}
	if blob.Size > max {
		return nil, true, nil
	}
	rc, err := blob.Reader()
	if err != nil {
		return nil, false, corrupt(id, file, "cannot be read: %v", err)
	}
	cr := newCheckedReader(rc, id, blob.Size, file, nil)
	// One byte spare, so the read that meets EOF needs no bigger buffer.
	data, err = safefile.ReadAllInto(cr, make([]byte, 0, blob.Size+1))
	cr.Close()
	if err != nil {
		return nil, false, err
	}
	return data, false, nil
}

// checkedStorage is an object storage whose trees and commits are
// checked against their IDs as they are read (once per ID and storage).
// A blob's check proves its bytes are those of the ID its tree entry
// names; without this, a damaged tree would name other blobs under its
// genuine ID, and the wrong files would be archived and recorded under
// the right tree. go-git hashes nothing it reads from a pack: a small
// object's ID is computed from its content (so damage there surfaces as
// a missing object), but an object over 16 KiB (a tree of a few hundred
// entries) is handed out under the pack index's ID, unchecked
// (TestAttackCorruptLargePackedTree).
type checkedStorage struct {
	*filesystem.Storage
	ok sync.Map // plumbing.Hash → struct{}: checked
}

func (s *checkedStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	obj, err := s.Storage.EncodedObject(t, h)
	if err != nil {
		return obj, err
	}
	typ := obj.Type()
	if typ != plumbing.TreeObject && typ != plumbing.CommitObject {
		return obj, nil
	}
	if _, done := s.ok.Load(h); done {
		return obj, nil
	}
	// Read once, hashed, and handed out from memory: go-git's object
	// from a packfile inflates its content again on every Reader, so
	// checking it and then decoding it would inflate it twice.
	rc, err := obj.Reader()
	if err != nil {
		return nil, corrupt(h, typ.String(), "cannot be read: %v", err)
	}
	size := obj.Size()
	content, err := safefile.ReadAllInto(io.LimitReader(rc, size+1), make([]byte, 0, size+1))
	rc.Close()
	switch {
	case err != nil:
		return nil, corrupt(h, typ.String(), "cannot be read: %v", err)
	case int64(len(content)) != size:
		return nil, corrupt(h, typ.String(), "%d bytes where its header records %d", len(content), size)
	}
	hasher := plumbing.NewHasher(typ, size)
	hasher.Write(content)
	if sum := hasher.Sum(); sum != h {
		return nil, corrupt(h, typ.String(), "its content hashes to %s", sum)
	}
	s.ok.Store(h, struct{}{})
	return &checkedObject{typ: typ, id: h, content: content}, nil
}

// checkedObject is a tree or commit whose content was hashed to its ID
// (checkedStorage): its Hash is that ID, not computed again as
// plumbing.MemoryObject's would be.
type checkedObject struct {
	typ     plumbing.ObjectType
	id      plumbing.Hash
	content []byte
}

func (o *checkedObject) Hash() plumbing.Hash             { return o.id }
func (o *checkedObject) Type() plumbing.ObjectType       { return o.typ }
func (o *checkedObject) SetType(plumbing.ObjectType)     {}
func (o *checkedObject) Size() int64                     { return int64(len(o.content)) }
func (o *checkedObject) SetSize(int64)                   {}
func (o *checkedObject) Writer() (io.WriteCloser, error) { return nil, errReadOnly }
func (o *checkedObject) Reader() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(o.content)), nil
}

var errReadOnly = errors.New("checked git object is read-only")
