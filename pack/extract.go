package pack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/pack/meta"
)

// Errors of Extract, usable with errors.Is.
var (
	ErrUnsafePath       = errors.New("unsafe path in archive")
	ErrUnsupportedEntry = errors.New("unsupported archive entry")
	ErrTooLarge         = errors.New("archive too large")
	ErrCorrupt          = errors.New("corrupt archive")
	ErrDestExists       = errors.New("destination exists")
	// ErrEmpty: the archive holds no pack (no pack.json at its root);
	// it also matches ErrCorrupt.
	ErrEmpty = errors.New("archive holds no pack")
	// ErrWrite: the archive is fine but its files could not be written
	// (a full disk, say): an operational failure, never ErrCorrupt. The
	// operating system's error is wrapped too (errors.Is(err,
	// syscall.ENOSPC)).
	ErrWrite = errors.New("cannot write extracted files")
)

// createFile opens a new file for an extracted entry: a seam for tests
// (a full disk); os.OpenFile otherwise.
var createFile = func(name string, mode os.FileMode) (*os.File, error) {
	return os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
}

// ExtractOptions bound what an archive may unpack to.
type ExtractOptions struct {
	// The limits of reading the archive (ArchiveLimits; zero: the default).
	MaxFileSize  int64 // default DefaultLimits.MaxFileSize
	MaxTotalSize int64 // default DefaultLimits.MaxPackSize
	MaxEntries   int   // default DefaultLimits.MaxFiles
	// Root, when set, is the only top-level directory the archive may have.
	Root string
	// Overwrite replaces an existing dest (atomically swapped); otherwise
	// an existing dest is an error.
	Overwrite bool
	// Stage, when set, is the empty directory to unpack into, made by
	// MkdirStage(dest) ahead of time (while the archive downloads, say).
	// Like the one Extract makes otherwise, it is renamed to dest or, on
	// failure, removed; one that is not an empty directory beside dest is
	// refused and left alone.
	Stage string
}

// MkdirStage makes a new empty directory beside dest for Extract to unpack
// into (ExtractOptions.Stage), and dest's parent if needed.
func MkdirStage(dest string) (string, error) {
	parent := filepath.Dir(filepath.Clean(dest))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(parent, ".packgen-extract-*")
}

// ExtractResult says what was extracted.
type ExtractResult struct {
	Root  string // the archive's top-level directory (the pack name)
	Files int    // regular files written
	Bytes int64  // bytes written
}

// Extract unpacks a pack archive (tar.gz rooted at "<name>/") into dest,
// so that dest/pack.json exists. It unpacks into a new directory beside
// dest and renames it into place only when everything succeeded: on any
// error dest is untouched and nothing is left behind.
//
// It refuses absolute paths, "..", backslashes, NUL and drive letters;
// entries outside the single root; symlinks that are absolute or climb out
// of the root; writing through a symlink; all hard links (packgen's own
// archives never contain them); devices, FIFOs and sockets; duplicate
// entries; and more data than the limits allow, counted as it streams so a
// lying header or a gzip bomb cannot fill the disk. Symlinks are made last
// and checked together first (no link to a link, none through a link). An
// archive without pack.json at its root is ErrEmpty (and ErrCorrupt); a
// failure to write (a full disk) is ErrWrite, never ErrCorrupt. Modes are
// 0755 for directories and executables and 0644 otherwise.
func Extract(r io.Reader, dest string, opts ExtractOptions) (*ExtractResult, error) {
	dest = filepath.Clean(dest)
	if opts.Stage != "" {
		if err := checkStage(opts.Stage, dest); err != nil {
			return nil, err // not removed: it may not be a stage at all
		}
	}
	tmp := opts.Stage
	ok := false
	defer func() {
		if !ok && tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	if _, err := os.Lstat(dest); err == nil && !opts.Overwrite {
		return nil, fmt.Errorf("%w: %s (remove it or choose another destination)", ErrDestExists, dest)
	}
	if tmp == "" {
		var err error
		if tmp, err = MkdirStage(dest); err != nil {
			return nil, err
		}
	}
	res, err := extractInto(r, tmp, opts)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := atomicfile.ReplaceDir(tmp, dest, opts.Overwrite); errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s", ErrDestExists, dest)
	} else if err != nil {
		return nil, err
	}
	ok = true
	return res, nil
}

// checkStage refuses a stage that is not an empty directory beside dest
// (the final rename must stay within one directory).
func checkStage(stage, dest string) error {
	if filepath.Dir(filepath.Clean(stage)) != filepath.Dir(dest) {
		return fmt.Errorf("staging directory %s is not beside %s", stage, dest)
	}
	f, err := os.Open(stage)
	if err != nil {
		return err
	}
	defer f.Close()
	if names, err := f.Readdirnames(1); len(names) > 0 || err != io.EOF {
		return fmt.Errorf("staging directory %s is not empty (%v)", stage, err)
	}
	return nil
}

func extractInto(r io.Reader, dir string, opts ExtractOptions) (*ExtractResult, error) {
	// Zero limits take their defaults there.
	ar, err := NewArchiveReader(r, opts.Root, ArchiveLimits{MaxEntries: opts.MaxEntries, MaxFileSize: opts.MaxFileSize, MaxTotalSize: opts.MaxTotalSize})
	if err != nil {
		return nil, err
	}
	defer ar.Close()
	res := &ExtractResult{}
	// Symlinks are made last, once the whole archive is read and its
	// links checked together (checkLinks): until then nothing on disk is
	// a link, so nothing can be written through one, and a chain of links
	// that each look inside (issue 14 item 2) is refused in any order.
	var listed []File
	err = ar.Each(func(e *ArchiveEntry) error {
		target := filepath.Join(dir, filepath.FromSlash(e.Path))
		switch {
		case e.IsDir():
			if err := mkdirs(target, e.Name); err != nil {
				return err
			}
			listed = append(listed, File{Path: e.Path, Mode: fs.ModeDir})
		case e.IsSymlink():
			listed = append(listed, File{Path: e.Path, Mode: fs.ModeSymlink, Link: e.Link})
		default:
			if err := writeEntry(ar, e, target); err != nil {
				return err
			}
			res.Files++
			listed = append(listed, File{Path: e.Path})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Root, res.Bytes = ar.Root, ar.Bytes
	if err := makeLinks(dir, res.Root, listed); err != nil {
		return nil, err
	}
	if !hasManifest(listed) {
		// An empty archive (or one holding only its root) would
		// extract to an empty dest that looks like success.
		return nil, fmt.Errorf("%w: %w: no %s at its root (%d entries)", ErrCorrupt, ErrEmpty, ManifestFile, ar.Entries)
	}
	return res, nil
}

// writeEntry writes the regular file e, read from ar, at target.
func writeEntry(ar *ArchiveReader, e *ArchiveEntry, target string) error {
	if err := mkdirs(filepath.Dir(target), e.Name); err != nil {
		return err
	}
	f, err := createFile(target, e.Mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %q is listed twice", ErrUnsafePath, e.Name)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	// A failed write is the disk's fault, a failed read the archive's
	// (the reader says which: ErrCorrupt or ErrTooLarge).
	fw := &writeErr{w: f}
	_, err = io.Copy(fw, ar)
	cerr := f.Close()
	switch {
	case fw.err != nil:
		return fmt.Errorf("%w: %w", ErrWrite, fw.err)
	case err != nil:
		return err
	case cerr != nil:
		return fmt.Errorf("%w: %w", ErrWrite, cerr)
	}
	return nil
}

// makeLinks checks the archive's links together and then creates them.
func makeLinks(dir, root string, listed []File) error {
	if err := unsafeLinks(listed); err != nil {
		return err
	}
	for _, f := range listed {
		if !f.IsSymlink() {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := mkdirs(filepath.Dir(target), path.Join(root, f.Path)); err != nil {
			return err
		}
		if err := os.Symlink(f.Link, target); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%w: %q is listed twice", ErrUnsafePath, path.Join(root, f.Path))
			}
			return fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	return nil
}

// entryPath checks an archive name and returns it relative to the root.
func entryPath(name string, root *string) (string, error) {
	if name == "" || strings.ContainsAny(name, "\\\x00") || path.IsAbs(name) || (len(name) > 1 && name[1] == ':') {
		return "", fmt.Errorf("%w: %q", ErrUnsafePath, name)
	}
	for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q climbs out with ..", ErrUnsafePath, name)
		}
	}
	clean := path.Clean(name)
	top, rest, _ := strings.Cut(clean, "/")
	if *root == "" {
		if !meta.ValidName(top) {
			return "", fmt.Errorf("%w: top-level directory %q is not a pack name", ErrUnsafePath, top)
		}
		*root = top
	}
	if top != *root {
		return "", fmt.Errorf("%w: %q is outside the archive's root %q/", ErrUnsafePath, name, *root)
	}
	return rest, nil
}

func hasManifest(listed []File) bool {
	for _, f := range listed {
		if f.Path == ManifestFile && f.Mode.IsRegular() {
			return true
		}
	}
	return false
}

// writeErr remembers the error of the writer it wraps.
type writeErr struct {
	w   io.Writer
	err error
}

func (w *writeErr) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// mkdirs makes dir for the entry name: a file already in the way is the
// archive's fault (a path below a file), anything else the disk's.
func mkdirs(dir, name string) error {
	err := os.MkdirAll(dir, 0o755)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: %q lies below a file of the archive", ErrUnsafePath, name)
	}
	return fmt.Errorf("%w: %w", ErrWrite, err)
}
