package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// treeFS is a read-only fs.FS over a git tree. Files stream straight from
// git objects; nothing is checked out. It implements ReadDirFS, StatFS and
// ReadLinkFS so pack validation sees symlinks, executables and submodules
// exactly as git records them.
type treeFS struct {
	s      storer.EncodedObjectStorer
	root   *object.Tree
	mtime  time.Time
	prefix string // of paths in integrity errors: the tree's dir in the repository
	// stream, when set, streams large blobs stored whole (see readerHandle).
	stream storer.DeltaObjectStorer

	// small keeps the content of small blobs once read: a build validates
	// a release and then archives it, and without this every file was
	// inflated from git twice. Bounded by smallBlob and smallTotal, so
	// large charts still stream and never sit in memory whole.
	mu         sync.Mutex
	small      map[plumbing.Hash][]byte
	smallBytes int
	// err is the first integrity error (ErrCorruptObject) any read met,
	// kept because a reader's caller may drop it (a Close error, a
	// read error that validation turns into a pack problem).
	err error
}

const (
	smallBlob  = 256 << 10
	smallTotal = 8 << 20
	maxLink    = 4096 // bytes of a symlink's target (PATH_MAX)
)

// TreeFS returns an fs.FS over tree. mtime is reported for every entry
// (git keeps no per-file times); use the commit time.
//
// Every blob read through it is checked against its object ID as it
// streams: a read whose bytes are not the object's fails at EOF with an
// error wrapping ErrCorruptObject, and a file closed before EOF is read
// to the end and checked by Close. IntegrityError reports the first such
// error of the whole FS, whoever dropped it.
func TreeFS(s storer.EncodedObjectStorer, tree *object.Tree, mtime time.Time) fs.FS {
	return &treeFS{s: s, root: tree, mtime: mtime}
}

// IntegrityError returns the first error wrapping ErrCorruptObject that a
// read through fsys met, nil when every blob read so far was what its
// object ID says (or fsys is not a tree FS of this package). A build
// checks it after validating and after archiving a release: validation
// may turn a failed read into a pack problem, and a corrupt object must
// fail the build instead.
func IntegrityError(fsys fs.FS) error {
	if t, ok := fsys.(*treeFS); ok {
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.err
	}
	return nil
}

func (t *treeFS) fail(err error) {
	if !errors.Is(err, ErrCorruptObject) {
		return
	}
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
}

func (t *treeFS) file(name string) string { return path.Join(t.prefix, name) }

type treeEntry struct {
	name string // base name
	path string // in the tree, for errors
	mode filemode.FileMode
	hash plumbing.Hash
}

func (t *treeFS) lookup(op, name string) (treeEntry, error) {
	if !fs.ValidPath(name) {
		return treeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return treeEntry{name: ".", path: ".", mode: filemode.Dir, hash: t.root.Hash}, nil
	}
	e, err := t.root.FindEntry(name)
	if errors.Is(err, ErrCorruptObject) {
		// A damaged tree on the way is not a missing file.
		t.fail(err)
		return treeEntry{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if err != nil {
		return treeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return treeEntry{name: path.Base(name), path: name, mode: e.Mode, hash: e.Hash}, nil
}

func (t *treeFS) info(e treeEntry) (*fileInfo, error) {
	fi := &fileInfo{name: e.name, mode: fsMode(e.mode), mtime: t.mtime}
	if e.mode.IsFile() {
		// Reading only the object header for a size keeps Stat and
		// ReadDir+Info from inflating every blob before it is opened.
		if sz, ok := t.s.(objectSizer); ok {
			size, err := sz.EncodedObjectSize(e.hash)
			if err != nil {
				return nil, t.unreadable(e, err)
			}
			fi.size = size
			return fi, nil
		}
		obj, err := t.s.EncodedObject(plumbing.BlobObject, e.hash)
		if err != nil {
			return nil, t.unreadable(e, err)
		}
		fi.size = obj.Size()
	}
	return fi, nil
}

// unreadable records and returns the error of a blob git cannot find or
// read: the repository is broken, which no pack problem may hide.
func (t *treeFS) unreadable(e treeEntry, err error) error {
	err = corrupt(e.hash, t.file(e.path), "cannot be read: %v", err)
	t.fail(err)
	return err
}

type objectSizer interface {
	EncodedObjectSize(plumbing.Hash) (int64, error)
}

func fsMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir:
		return fs.ModeDir | 0o755
	case filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Submodule:
		// A submodule's content is not in this repository; report it as
		// irregular so validation refuses it instead of archiving nothing.
		return fs.ModeIrregular
	default:
		return 0o644
	}
}

func (t *treeFS) Open(name string) (fs.File, error) {
	e, err := t.lookup("open", name)
	if err != nil {
		return nil, err
	}
	// Follow symlinks that stay inside the tree, as fs.FS requires.
	for hops := 0; e.mode == filemode.Symlink; hops++ {
		target, err := t.ReadLink(name)
		if err != nil {
			return nil, err
		}
		next := path.Join(path.Dir(name), target)
		if hops > 40 || path.IsAbs(target) || !fs.ValidPath(next) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("symlink leaves the tree or loops")}
		}
		name = next
		base := e.name
		if e, err = t.lookup("open", name); err != nil {
			return nil, err
		}
		e.name = base
	}
	fi, err := t.info(e)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	switch {
	case e.mode == filemode.Dir:
		return &dirFile{fs: t, name: name, info: fi}, nil
	case e.mode == filemode.Regular || e.mode == filemode.Executable || e.mode == filemode.Deprecated:
		if data, ok, err := t.smallContent(e.hash, fi.size, name); err != nil {
			t.fail(err)
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		} else if ok {
			return &blobFile{rc: io.NopCloser(bytes.NewReader(data)), info: fi}, nil
		}
		if rc, ok := t.streamWhole(e.hash, fi.size); ok {
			return &blobFile{rc: newCheckedReader(rc, e.hash, fi.size, t.file(name), t.fail), info: fi}, nil
		}
		blob, err := object.GetBlob(t.s, e.hash)
		if err == nil && blob.Size != fi.size {
			err = corrupt(e.hash, t.file(name), "its header records %d bytes, its listing %d", blob.Size, fi.size)
		}
		var rc io.ReadCloser
		if err == nil {
			rc, err = blob.Reader()
		}
		if err != nil {
			if !errors.Is(err, ErrCorruptObject) {
				err = corrupt(e.hash, t.file(name), "cannot be read: %v", err)
			}
			t.fail(err)
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &blobFile{rc: newCheckedReader(rc, e.hash, blob.Size, t.file(name), t.fail), info: fi}, nil
	default:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("not a regular file or directory")}
	}
}

// streamWhole opens a large blob that is stored whole as a stream from
// disk; ok is false for a delta (resolved in memory by the caller) or when
// the stream storage cannot tell.
func (t *treeFS) streamWhole(h plumbing.Hash, size int64) (io.ReadCloser, bool) {
	if t.stream == nil {
		return nil, false
	}
	obj, err := t.stream.DeltaObject(plumbing.BlobObject, h)
	if err != nil || obj.Size() != size {
		return nil, false
	}
	if _, delta := obj.(plumbing.DeltaObject); delta {
		return nil, false
	}
	rc, err := obj.Reader()
	if err != nil {
		return nil, false
	}
	return rc, true
}

// smallContent returns the content of a blob of the given size when it
// is small enough to keep (reading and checking it the first time); ok is
// false for a blob to stream.
func (t *treeFS) smallContent(h plumbing.Hash, size int64, name string) (data []byte, ok bool, err error) {
	if size > smallBlob {
		return nil, false, nil
	}
	t.mu.Lock()
	data, ok = t.small[h]
	full := t.smallBytes+int(size) > smallTotal
	t.mu.Unlock()
	if ok || full {
		return data, ok, nil
	}
	data, tooLarge, err := readBlob(t.s, h, t.file(name), size)
	if err != nil {
		return nil, false, err
	}
	if tooLarge {
		return nil, false, corrupt(h, t.file(name), "its header records more than the %d bytes of its listing", size)
	}
	t.mu.Lock()
	if t.small == nil {
		t.small = map[plumbing.Hash][]byte{}
	}
	if _, dup := t.small[h]; !dup {
		t.small[h] = data
		t.smallBytes += len(data)
	}
	t.mu.Unlock()
	return data, true, nil
}

// Stat follows symlinks, like os.Stat; Lstat does not.
func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	f, err := t.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

func (t *treeFS) Lstat(name string) (fs.FileInfo, error) {
	e, err := t.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	fi, err := t.info(e)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return fi, nil
}

func (t *treeFS) ReadLink(name string) (string, error) {
	e, err := t.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if e.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	b, tooLarge, err := readBlob(t.s, e.hash, t.file(name), maxLink)
	if err != nil {
		t.fail(err)
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	if tooLarge {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fmt.Errorf("symlink target is longer than %d bytes", maxLink)}
	}
	return string(b), nil
}

func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	var tree *object.Tree
	if name == "." {
		tree = t.root
	} else {
		e, err := t.lookup("readdir", name)
		if err != nil {
			return nil, err
		}
		if e.mode != filemode.Dir {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
		}
		if tree, err = object.GetTree(t.s, e.hash); err != nil {
			t.fail(err)
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
	}
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for _, e := range tree.Entries {
		out = append(out, &dirEntry{fs: t, e: treeEntry{name: e.Name, path: path.Join(name, e.Name), mode: e.Mode, hash: e.Hash}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (f *fileInfo) Name() string       { return f.name }
func (f *fileInfo) Size() int64        { return f.size }
func (f *fileInfo) Mode() fs.FileMode  { return f.mode }
func (f *fileInfo) ModTime() time.Time { return f.mtime }
func (f *fileInfo) IsDir() bool        { return f.mode.IsDir() }
func (f *fileInfo) Sys() any           { return nil }

type dirEntry struct {
	fs *treeFS
	e  treeEntry
}

func (d *dirEntry) Name() string               { return d.e.name }
func (d *dirEntry) IsDir() bool                { return d.e.mode == filemode.Dir }
func (d *dirEntry) Type() fs.FileMode          { return fsMode(d.e.mode).Type() }
func (d *dirEntry) Info() (fs.FileInfo, error) { return d.fs.info(d.e) }

type blobFile struct {
	rc   io.ReadCloser
	info *fileInfo
}

func (b *blobFile) Stat() (fs.FileInfo, error) { return b.info, nil }
func (b *blobFile) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b *blobFile) Close() error               { return b.rc.Close() }

type dirFile struct {
	fs      *treeFS
	name    string
	info    *fileInfo
	entries []fs.DirEntry
	read    bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		es, err := d.fs.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries, d.read = es, true
	}
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	if n > len(d.entries) {
		n = len(d.entries)
	}
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}

var _ fs.ReadLinkFS = (*treeFS)(nil)
var _ fs.ReadDirFS = (*treeFS)(nil)
var _ fs.StatFS = (*treeFS)(nil)

func isJunkDir(name string) bool {
	return name == ".git" || name == "node_modules" || strings.HasPrefix(name, "._")
}
