package pack

import (
	"archive/tar"
	"bufio"
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

	gzip "github.com/klauspost/compress/gzip"
)

// ArchiveLimits bound what reading a release archive may take, counted as
// it streams, so a lying header or a gzip bomb cannot exhaust the disk or
// memory. Zero fields take DefaultLimits' values.
type ArchiveLimits struct {
	MaxEntries   int   // DefaultLimits.MaxFiles
	MaxFileSize  int64 // DefaultLimits.MaxFileSize
	MaxTotalSize int64 // DefaultLimits.MaxPackSize
}

func (l ArchiveLimits) orDefault() ArchiveLimits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxFiles
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultLimits.MaxFileSize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultLimits.MaxPackSize
	}
	return l
}

// ArchiveEntry is one entry of a release archive below its root.
type ArchiveEntry struct {
	File        // Path relative to the root; Mode fs.ModeDir, fs.ModeSymlink or 0644/0755; Link; Size as the header says
	Name string // as the archive spells it, for messages
	// HeaderMode is the mode the header records (Mode is normalised to
	// what Extract writes); a check of an archive's exact bytes wants it.
	HeaderMode int64
}

// ArchiveReader streams the entries of a release archive (tar.gz rooted
// at "<name>/"), the one reader of release archives: Extract and
// OpenArchive read through it. It refuses absolute paths, "..",
// backslashes, NUL and drive letters; entries outside the single root;
// symlinks that are absolute or climb out of the root; hard links,
// devices, FIFOs and sockets; an entry listed twice; and more entries or
// data than its limits allow. Problems are ErrUnsafePath,
// ErrUnsupportedEntry, ErrTooLarge or ErrCorrupt.
type ArchiveReader struct {
	// Root is the archive's top-level directory (the pack name), known
	// once the first entry is read when it was not given.
	Root    string
	Entries int   // entries read so far
	Bytes   int64 // content bytes read so far
	lim     ArchiveLimits
	in      *inflater
	tr      *tar.Reader
	seen    map[string]bool // path -> is a directory
	cur     *ArchiveEntry   // the regular file being read
	body    io.Reader
	n       int64 // read of cur
	limit   int64 // of cur: its limit, or what is left of the total
}

// NewArchiveReader reads a release archive from r; root, when not "", is
// the only top-level directory it may have.
func NewArchiveReader(r io.Reader, root string, lim ArchiveLimits) (*ArchiveReader, error) {
	in := inflaters.Get().(*inflater)
	in.buf.Reset(r)
	if err := in.gz.Reset(in.buf); err != nil {
		in.release()
		return nil, fmt.Errorf("%w: not gzip-compressed: %v", ErrCorrupt, err)
	}
	return &ArchiveReader{Root: root, lim: lim.orDefault(), in: in, tr: tar.NewReader(&in.gz), seen: map[string]bool{}}, nil
}

// inflater is a gzip reader and its input buffer, reused: their state
// (window, Huffman tables, buffer) is large enough that allocating it
// per archive showed in the catalogue's profiles, which reads hundreds.
type inflater struct {
	gz  gzip.Reader
	buf *bufio.Reader
}

var inflaters = sync.Pool{New: func() any { return &inflater{buf: bufio.NewReaderSize(nil, 32<<10)} }}

func (in *inflater) release() {
	in.buf.Reset(nil)
	inflaters.Put(in)
}

// Limits are the limits the reader applies (defaults filled in).
func (a *ArchiveReader) Limits() ArchiveLimits { return a.lim }

// Next returns the next entry below the root (the root directory itself
// is skipped), or io.EOF after the last. A directory listed again is
// skipped too.
func (a *ArchiveReader) Next() (*ArchiveEntry, error) {
	if a.in == nil {
		return nil, errors.New("pack: archive read after Close")
	}
	if a.cur != nil && a.n < a.cur.Size {
		// What the caller did not read is still decompressed (to be
		// skipped): it counts against the total.
		a.Bytes += a.cur.Size - a.n
		if a.Bytes > a.lim.MaxTotalSize {
			return nil, fmt.Errorf("%w: more than %d bytes in all", ErrTooLarge, a.lim.MaxTotalSize)
		}
	}
	a.cur = nil
	for {
		h, err := a.tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		a.Entries++
		if a.Entries > a.lim.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, a.lim.MaxEntries)
		}
		rel, err := entryPath(h.Name, &a.Root)
		if err != nil {
			return nil, err
		}
		if rel == "" {
			if h.Typeflag != tar.TypeDir {
				return nil, fmt.Errorf("%w: %q: the root must be a directory", ErrUnsafePath, h.Name)
			}
			continue
		}
		e, err := a.entry(h, rel)
		if e == nil && err == nil {
			continue // a directory listed again
		}
		return e, err
	}
}

// Each calls fn with every entry below the root, in archive order (fn
// may read a regular file's content from a), until the end, the first
// error of the archive or the first of fn.
func (a *ArchiveReader) Each(fn func(e *ArchiveEntry) error) error {
	for {
		e, err := a.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// entry checks the header of the entry at rel.
func (a *ArchiveReader) entry(h *tar.Header, rel string) (*ArchiveEntry, error) {
	e := &ArchiveEntry{File: File{Path: rel, Size: h.Size}, Name: h.Name, HeaderMode: h.Mode}
	switch h.Typeflag {
	case tar.TypeDir:
		e.Mode, e.Size = fs.ModeDir, 0
	case tar.TypeReg, tar.TypeRegA:
		if h.Size > a.lim.MaxFileSize {
			return nil, fmt.Errorf("%w: %q is %d bytes, over the %d limit", ErrTooLarge, h.Name, h.Size, a.lim.MaxFileSize)
		}
		e.Mode = 0o644
		if h.Mode&0o111 != 0 {
			e.Mode = 0o755
		}
	case tar.TypeSymlink:
		if msg := linkEscapes(rel, h.Linkname); msg != "" {
			return nil, fmt.Errorf("%w: symlink %q to %q %s", ErrUnsafePath, h.Name, h.Linkname, msg)
		}
		if strings.ContainsAny(h.Linkname, "\\\x00") {
			return nil, fmt.Errorf("%w: symlink %q has a bad target", ErrUnsafePath, h.Name)
		}
		e.Mode, e.Link, e.Size = fs.ModeSymlink, h.Linkname, 0
	case tar.TypeLink:
		return nil, fmt.Errorf("%w: %q is a hard link; pack archives never contain them", ErrUnsupportedEntry, h.Name)
	default:
		return nil, fmt.Errorf("%w: %q is a special file (tar type %q); packs hold only files, directories and symlinks", ErrUnsupportedEntry, h.Name, h.Typeflag)
	}
	if dir, ok := a.seen[rel]; ok {
		if dir && e.IsDir() {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %q is listed twice", ErrUnsafePath, h.Name)
	}
	a.seen[rel] = e.IsDir()
	if e.Mode.IsRegular() {
		a.cur = e
		a.n = 0
		a.limit = min(a.lim.MaxFileSize, a.lim.MaxTotalSize-a.Bytes)
		a.body = io.LimitReader(a.tr, a.limit+1)
	}
	return e, nil
}

// Read reads the content of the regular file Next returned last, within
// the limits: past them it is ErrTooLarge; a damaged archive, ErrCorrupt.
func (a *ArchiveReader) Read(b []byte) (int, error) {
	if a.cur == nil {
		return 0, io.EOF
	}
	n, err := a.body.Read(b)
	a.n += int64(n)
	a.Bytes += int64(n)
	switch {
	case a.n > a.limit && a.limit == a.lim.MaxTotalSize-(a.Bytes-a.n):
		return n, fmt.Errorf("%w: more than %d bytes in all", ErrTooLarge, a.lim.MaxTotalSize)
	case a.n > a.limit:
		return n, fmt.Errorf("%w: %q is over the %d-byte limit", ErrTooLarge, a.cur.Name, a.lim.MaxFileSize)
	case err != nil && err != io.EOF:
		return n, fmt.Errorf("%w: %q: %v", ErrCorrupt, a.cur.Name, err)
	}
	return n, err
}

// Close releases the decompressor; the reader is not usable after.
func (a *ArchiveReader) Close() error {
	if a.in == nil {
		return nil
	}
	err := a.in.gz.Close()
	a.in.release()
	a.in, a.cur, a.tr = nil, nil, nil
	return err
}

// Archive is a release archive opened whole as a file system, like
// archive/zip's Reader: names are relative to the archive's root (the
// pack's directory), "." is the root. Symlinks are listed (Lstat-like
// entries in ReadDir) but not followed by Open.
type Archive struct {
	Root  string // the pack name
	files map[string]*archFile
}

// OpenArchive reads a release archive into memory within lim (see
// ArchiveReader for what it refuses).
func OpenArchive(r io.Reader, lim ArchiveLimits) (*Archive, error) {
	ar, err := NewArchiveReader(r, "", lim)
	if err != nil {
		return nil, err
	}
	defer ar.Close()
	a := &Archive{files: map[string]*archFile{".": {f: File{Path: ".", Mode: fs.ModeDir}}}}
	err = ar.Each(func(e *ArchiveEntry) error {
		f := &archFile{f: e.File}
		if e.Mode.IsRegular() {
			if f.data, err = io.ReadAll(ar); err != nil {
				return err
			}
			f.f.Size = int64(len(f.data))
		}
		if err := a.add(f); err != nil {
			return fmt.Errorf("%w: %q %v", ErrUnsafePath, e.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.Root = ar.Root
	return a, nil
}

// add puts f in the tree, with the directories above it.
func (a *Archive) add(f *archFile) error {
	if old := a.files[f.f.Path]; old != nil {
		if old.f.IsDir() && f.f.IsDir() {
			return nil // made for an entry below it, listed now
		}
		return errors.New("is listed twice")
	}
	a.files[f.f.Path] = f
	for p := f.f.Path; p != "."; p = path.Dir(p) {
		parent := path.Dir(p)
		d, existed := a.files[parent]
		if !existed {
			d = &archFile{f: File{Path: parent, Mode: fs.ModeDir}}
			a.files[parent] = d
		} else if !d.f.IsDir() {
			return errors.New("lies below a file of the archive")
		}
		d.children = append(d.children, p)
		if existed {
			return nil // its parents are linked already
		}
	}
	return nil
}

// Open opens a file or directory of the archive.
func (a *Archive) Open(name string) (fs.File, error) {
	f, err := a.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &openFile{f: f, r: bytes.NewReader(f.data), a: a}, nil
}

// SetFile replaces the content of the regular file name, or adds it
// (its directory must exist): a reader of the archive then sees data
// there, as images sees a pack's values.yaml merged with a profile's
// overrides.
func (a *Archive) SetFile(name string, data []byte) error {
	if !fs.ValidPath(name) || name == "." {
		return &fs.PathError{Op: "set", Path: name, Err: fs.ErrInvalid}
	}
	if f := a.files[name]; f != nil {
		if !f.Mode().IsRegular() {
			return &fs.PathError{Op: "set", Path: name, Err: errors.New("not a regular file")}
		}
		f.data, f.f.Size = data, int64(len(data))
		return nil
	}
	if d := a.files[path.Dir(name)]; d == nil || !d.IsDir() {
		return &fs.PathError{Op: "set", Path: name, Err: fs.ErrNotExist}
	}
	return a.add(&archFile{f: File{Path: name, Mode: 0o644, Size: int64(len(data))}, data: data})
}

// ReadFile returns a file's content.
func (a *Archive) ReadFile(name string) ([]byte, error) {
	f, err := a.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if !f.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("not a regular file")}
	}
	return bytes.Clone(f.data), nil
}

// Stat describes a file without following a symlink.
func (a *Archive) Stat(name string) (fs.FileInfo, error) {
	f, err := a.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadDir lists a directory, sorted by name.
func (a *Archive) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := a.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !f.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return a.entries(f), nil
}

func (a *Archive) lookup(op, name string) (*archFile, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	f := a.files[name]
	if f == nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

func (a *Archive) entries(d *archFile) []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(d.children))
	for _, c := range d.children {
		out = append(out, fs.FileInfoToDirEntry(a.files[c]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// archFile is a file of an Archive; it is its own fs.FileInfo.
type archFile struct {
	f        File
	data     []byte
	children []string // of a directory: paths
}

func (f *archFile) Name() string       { return path.Base(f.f.Path) }
func (f *archFile) Size() int64        { return f.f.Size }
func (f *archFile) Mode() fs.FileMode  { return f.f.Mode }
func (f *archFile) ModTime() time.Time { return time.Time{} }
func (f *archFile) IsDir() bool        { return f.f.IsDir() }
func (f *archFile) Sys() any           { return nil }

// openFile is an open file of an Archive.
type openFile struct {
	f    *archFile
	r    *bytes.Reader
	a    *Archive
	read int // directory entries returned by ReadDir
}

func (o *openFile) Stat() (fs.FileInfo, error) { return o.f, nil }
func (o *openFile) Close() error               { return nil }

func (o *openFile) Read(b []byte) (int, error) {
	if !o.f.Mode().IsRegular() {
		return 0, &fs.PathError{Op: "read", Path: o.f.f.Path, Err: errors.New("not a regular file")}
	}
	return o.r.Read(b)
}

// ReadDir makes a directory an fs.ReadDirFile.
func (o *openFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !o.f.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: o.f.f.Path, Err: errors.New("not a directory")}
	}
	all := o.a.entries(o.f)[o.read:]
	if n > 0 && len(all) == 0 {
		return nil, io.EOF
	}
	if n > 0 && len(all) > n {
		all = all[:n]
	}
	o.read += len(all)
	return all, nil
}
