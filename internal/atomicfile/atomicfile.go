// Package atomicfile writes files so readers see the old content or the
// new, never a partial file: write a temp file beside it, then rename.
// CreateNew is the stage's form: a new file, removed if its write fails.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix begins the name of every temporary file written beside its
// target: a writer killed before its rename leaves one (publish's
// directory target removes those of killed publishes).
const TempPrefix = ".tmp-"

// IsTempName reports whether name (a base name) is one a temporary file
// of this package is given: TempPrefix and a random number, in decimal
// (os.CreateTemp) or base 36 (CreateTempIn), so lower-case letters and
// digits only, at most 13 of them. Another tool's .tmp-draft.md is not.
func IsTempName(name string) bool {
	r, ok := strings.CutPrefix(name, TempPrefix)
	return ok && len(r) > 0 && len(r) <= 13 && strings.Trim(r, "0123456789abcdefghijklmnopqrstuvwxyz") == ""
}

// WriteFile atomically replaces path with data, creating parent dirs.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	return WriteWith(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWith is WriteFile for content too large to hold whole: write
// streams it into the temp file, and an error from it leaves path as it
// was.
func WriteWith(path string, mode os.FileMode, write func(io.Writer) error) error {
	return replace(osDir{}, path, mode, write)
}

// dirOps are the calls a replacement makes: on paths (osDir) or inside
// an os.Root (rootDir).
type dirOps interface {
	createTemp(dir string) (*os.File, string, error)
	mkdirAll(dir string) error
	remove(name string) error
	rename(from, to string) error
}

type osDir struct{}

func (osDir) createTemp(dir string) (*os.File, string, error) {
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return nil, "", err
	}
	return f, f.Name(), nil
}
func (osDir) mkdirAll(dir string) error    { return os.MkdirAll(dir, 0o755) }
func (osDir) remove(name string) error     { return os.Remove(name) }
func (osDir) rename(from, to string) error { return os.Rename(from, to) }

// replace writes name's new content into a temp file beside it, then
// renames it over name. Builds write tens of thousands of small files
// through it, so the parent is made only when the temp file cannot be
// created, and the temp file is removed only when it was not renamed.
func replace(d dirOps, name string, mode os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(name)
	f, tmp, err := d.createTemp(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err = d.mkdirAll(dir); err == nil {
			f, tmp, err = d.createTemp(dir)
		}
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			d.remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return d.rename(tmp, name)
}
