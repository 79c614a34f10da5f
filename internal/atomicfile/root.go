package atomicfile

import (
	"errors"
	"fmt"
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
// Parents are not made.
func WriteFileIn(root *os.Root, name string, data []byte, mode os.FileMode) (err error) {
	f, tmp, err := CreateTempIn(root, filepath.Dir(name), ".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return root.Rename(tmp, name)
}
