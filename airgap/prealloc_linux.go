package airgap

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate reserves f's blocks [off, off+n) (fallocate), growing f
// to off+n if it is shorter, so a disk too small fails here, before the
// bytes are fetched, rather than midway; a file system that cannot
// reserve (EOPNOTSUPP) gets a sparse file, and a full disk then shows
// in the writes.
func preallocate(f *os.File, off, n int64) error {
	if n == 0 {
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), 0, off, n)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return grow(f, off+n)
	}
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	return nil
}
