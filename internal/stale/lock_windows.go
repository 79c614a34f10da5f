//go:build windows

package stale

import (
	"os"

	"golang.org/x/sys/windows"
)

// Lock takes an exclusive lock on f's first byte, waiting for it.
func Lock(f *os.File) error {
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, new(windows.Overlapped))
}

// Unlock drops the lock Lock or TryLock took.
func Unlock(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}

// TryLock takes an exclusive lock on f if nobody holds one, without
// waiting. Directories cannot be locked here: a directory is held by a
// lock file beside it (Hold).
func TryLock(f *os.File) bool {
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped)) == nil
}
