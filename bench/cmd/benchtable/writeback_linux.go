package main

import (
	"os"
	"syscall"
)

// startWriteback starts the write-back of f's bytes [off, off+n)
// without waiting (sync_file_range's WRITE), as airgap export does.
func startWriteback(f *os.File, off, n int64) {
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, 0x2) // SYNC_FILE_RANGE_WRITE
}
