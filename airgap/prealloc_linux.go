package airgap

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate gives f its final size with its blocks reserved
// (fallocate), so a disk too small for the bundle fails here, before a
// byte is fetched, rather than midway; a file system that cannot
// reserve (EOPNOTSUPP) gets a sparse file, and a full disk then shows
// in the writes.
func preallocate(f *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return f.Truncate(size)
	}
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	return nil
}
