// Package safefile reads local files that come from outside the program
// (keys, configs, cache entries, lock files, profiles) without being led
// into a hang or an endless read: only regular files are read, never a
// FIFO (whose open blocks until a writer comes, so the process hangs
// before any context can cancel it), a device (/dev/zero never ends) or
// a socket, and never more than a given size. It also finds, before a
// write into a directory others may write too, a symbolic link planted
// on the way (LinkOnPath).
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Errors, usable with errors.Is.
var (
	// ErrNotRegular: the path is a FIFO, device, socket or directory.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than its reader allows.
	ErrTooLarge = errors.New("file too large")
)

// Open opens path for reading if it is a regular file. The open itself
// cannot block: it is non-blocking where the system allows (a FIFO
// swapped in after the check opens at once, and is then refused).
func Open(path string) (*os.File, error) {
	f, _, err := open(path)
	return f, err
}

// open is Open, also returning the opened file's Stat.
func open(path string) (*os.File, os.FileInfo, error) {
	if info, err := os.Stat(path); err != nil {
		return nil, nil, err
	} else if !info.Mode().IsRegular() {
		return nil, nil, notRegular(path, info.Mode())
	}
	return openRegular(path, os.O_RDONLY, 0)
}

// openRegular opens path with flag (non-blocking where the system allows)
// and keeps it only if what was opened is a regular file.
func openRegular(path string, flag int, perm os.FileMode) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, flag|openFlags, perm)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(path, info.Mode())
	}
	return f, info, nil
}

// ReadFile reads a regular file of at most max bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	data, _, err := ReadFileInfo(path, max)
	return data, err
}

// ReadFileInfo is ReadFile that also returns what the opened file was
// before it was read (its Stat): a caller remembering "this file, as it
// is now, holds what I checked" must describe the bytes it read, not
// whatever the path names after.
func ReadFileInfo(path string, max int64) ([]byte, os.FileInfo, error) {
	f, info, err := open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if info.Size() > max {
		return nil, nil, tooLarge(path, max)
	}
	// The buffer is sized from Stat, one byte over for the read that
	// meets EOF; the limit still holds on what is read (/proc files
	// report size 0 and grow the buffer).
	data, err := ReadAllInto(io.LimitReader(f, max+1), make([]byte, 0, info.Size()+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > max {
		return nil, nil, tooLarge(path, max)
	}
	return data, info, nil
}

// ReadAllInto is io.ReadAll into b, a buffer the caller sized (one byte
// over the expected size, so the read that meets EOF needs no bigger one).
func ReadAllInto(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func notRegular(path string, m os.FileMode) error {
	what := "a special file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&os.ModeNamedPipe != 0:
		what = "a FIFO"
	case m&os.ModeDevice != 0:
		what = "a device"
	case m&os.ModeSocket != 0:
		what = "a socket"
	}
	return &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (it is %s): give a regular file", ErrNotRegular, what)}
}

func tooLarge(path string, max int64) error {
	return &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
}

// OpenLock opens (creating it if needed) a lock file for reading and
// writing, refusing anything but a regular file.
func OpenLock(path string) (*os.File, error) {
	f, _, err := openRegular(path, os.O_CREATE|os.O_RDWR, 0o644)
	return f, err
}

// OpenAppend opens (creating it with perm if needed) a file to read
// and append to, refusing anything but a regular file: a FIFO planted at
// the path opens at once and is refused, never waiting for a reader.
func OpenAppend(path string, perm os.FileMode) (*os.File, error) {
	f, _, err := openRegular(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, perm)
	return f, err
}

// OpenAny opens path for reading whatever it is, without blocking (a
// FIFO opens at once), for callers that only need a descriptor: to lock
// a directory, say.
func OpenAny(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|openFlags, 0)
}

// OpenIn is Open for name inside root (an os.Root: no path escapes it,
// through a link or "..").
func OpenIn(root *os.Root, name string) (*os.File, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(name, info.Mode())
	}
	return f, nil
}
