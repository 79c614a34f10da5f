package build

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/safefile"
)

// The writes of an update in place. The out dir is often shared (a web
// root, a mounted bucket), and a link planted there before the build is
// refused when it plans (linkAtTop); one planted while it runs must be
// refused as well, not followed. So once the build decides to update in
// place, every file it writes, renames or removes there goes through an
// os.Root of the out dir (nothing resolves out of it), after a check
// (safefile.LinkOnPath) that turns a link on the way, or at the file
// itself, into ErrOutLink naming it. A fresh stage is the build's own
// new directory: its writes take plain paths.

// openOut makes every later write under out go through an os.Root of it.
func (d *dirMaker) openOut(out string) error {
	root, err := os.OpenRoot(out)
	if err != nil {
		return err
	}
	d.out, d.root, d.real = filepath.Clean(out), root, map[string]bool{}
	return nil
}

func (d *dirMaker) close() {
	if d != nil && d.root != nil {
		d.root.Close()
	}
}

// inOut returns p's name inside the out dir when the build updates it in
// place (ok false for a fresh stage).
func (d *dirMaker) inOut(p string) (rel string, ok bool) {
	if d == nil || d.root == nil {
		return "", false
	}
	rel, err := filepath.Rel(d.out, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// check refuses a link on the way to each of rels or at it.
func (d *dirMaker) check(rels ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rel := range rels {
		if err := d.noLinks(rel); err != nil {
			return err
		}
	}
	return nil
}

// holds reports whether file is a regular file holding data already, so
// that an unchanged file is left alone; in place, read through the out
// dir's root, and false for a link (which replace then refuses).
func (d *dirMaker) holds(file string, data []byte) bool {
	var f *os.File
	var err error
	if rel, ok := d.inOut(file); !ok {
		f, err = safefile.Open(file)
	} else if err = d.check(rel); err == nil {
		f, err = safefile.OpenIn(d.root, rel)
	}
	if err != nil {
		return false
	}
	defer f.Close()
	old, err := safefile.ReadAllInto(io.LimitReader(f, int64(len(data))+1), make([]byte, 0, len(data)+1))
	return err == nil && bytes.Equal(old, data)
}

// replace writes data to file atomically, so that readers of the live
// site see the old content or the new (atomicfile.WriteFile); in place,
// through the out dir's root.
func (d *dirMaker) replace(file string, data []byte) error {
	rel, ok := d.inOut(file)
	if !ok {
		return atomicfile.WriteFile(file, data, 0o644)
	}
	if err := d.check(rel); err != nil {
		return err
	}
	return atomicfile.WriteFileIn(d.root, rel, data, 0o644)
}

// rename renames from to to; in place, through the out dir's root.
func (d *dirMaker) rename(from, to string) error {
	rf, ok := d.inOut(from)
	rt, ok2 := d.inOut(to)
	if !ok || !ok2 {
		return os.Rename(from, to)
	}
	if err := d.check(rf, rt); err != nil {
		return err
	}
	return d.root.Rename(rf, rt)
}

// create makes file, new (O_EXCL: never through a link at its name); in
// place, through the out dir's root, in place of what a killed update
// may have left there (no index references it).
func (d *dirMaker) create(file string) (*os.File, error) {
	const flag = os.O_CREATE | os.O_EXCL | os.O_WRONLY
	rel, ok := d.inOut(file)
	if !ok {
		return os.OpenFile(file, flag, 0o644)
	}
	if err := d.check(rel); err != nil {
		return nil, err
	}
	if err := d.root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return d.root.OpenFile(rel, flag, 0o644)
}

// remove removes file (a link itself, never what it points at); in
// place, through the out dir's root.
func (d *dirMaker) remove(file string) error {
	if rel, ok := d.inOut(file); ok {
		return d.root.Remove(rel)
	}
	return os.Remove(file)
}
