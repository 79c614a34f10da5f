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

// startWriteback asks the kernel to start writing f's bytes [off,
// off+n) to disk now, without waiting (sync_file_range's WRITE): each
// blob's write-back then overlaps the downloads still running, and the
// one fsync at the end waits for little. Only a hint: its error is
// ignored (the fsync reports any).
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
