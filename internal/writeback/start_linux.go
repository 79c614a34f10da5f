package writeback

import (
	"os"

	"golang.org/x/sys/unix"
)

// Start asks the kernel to start writing f's bytes [off, off+n) to disk
// now, without waiting (sync_file_range's WRITE). Only a hint: its
// error is ignored (the fsync at the end reports any).
func Start(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
