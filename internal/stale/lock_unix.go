//go:build unix

package stale

import (
	"os"
	"syscall"
)

// Lock takes an exclusive advisory lock on f (flock), waiting for it.
func Lock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

// Unlock drops the lock Lock or TryLock took.
func Unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// TryLock takes an exclusive lock on f if nobody holds one (another
// process, or another descriptor of this one), without waiting.
func TryLock(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
