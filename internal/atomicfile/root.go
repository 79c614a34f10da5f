package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// CreateTempIn makes a new file named prefix+random in dir inside root,
// as os.CreateTemp does outside one (it has no os.Root form): opened
// with O_EXCL, so never an existing file or a link.
func CreateTempIn(root *os.Root, dir, prefix string) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("create a temporary file in %s: too many names taken", dir)
}

// WriteFileIn is WriteFile for name inside root: the temp file and the
// rename stay inside it, whatever links are planted on the way. The
// rename replaces name itself, a link included, never what it points at.
// Parents are made (inside root) when the temp file cannot be created.
func WriteFileIn(root *os.Root, name string, data []byte, mode os.FileMode) error {
	return WriteWithIn(root, name, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWithIn is WriteWith for name inside root: write streams into the
// temp file (w is that *os.File, which write may Sync), and an error
// from it leaves name as it was and no temp file.
func WriteWithIn(root *os.Root, name string, mode os.FileMode, write func(io.Writer) error) error {
	return replace(rootDir{root}, name, mode, write)
}

// rootDir is dirOps inside an os.Root.
type rootDir struct{ root *os.Root }

func (r rootDir) createTemp(dir string) (*os.File, string, error) {
	return CreateTempIn(r.root, dir, TempPrefix)
}
func (r rootDir) mkdirAll(dir string) error    { return r.root.MkdirAll(dir, 0o755) }
func (r rootDir) remove(name string) error     { return r.root.Remove(name) }
func (r rootDir) rename(from, to string) error { return r.root.Rename(from, to) }
