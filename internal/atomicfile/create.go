package atomicfile

import (
	"io"
	"os"
)

// CreateNew writes a file that must not exist yet, for a stage nobody
// reads while it is filled: path is opened with O_EXCL (never an
// existing file, nor one a planted link points at), write streams its
// content, and any failure, of the write or of the close, removes the
// file, so nothing half-written stays. Unlike WriteWith it has no temp
// file and no rename: a reader could see the file grow.
func CreateNew(path string, mode os.FileMode, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
