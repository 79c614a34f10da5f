//go:build unix

package filetest

import (
	"os"
	"syscall"
	"testing"
)

// FIFO makes a named pipe at p (mode 0644), the special file tests plant
// where a file is read or written; an error fails the test. When the
// test ends, p is opened for reading and writing at once, without
// blocking, and closed: that lets go an open of the FIFO still blocked
// (a call Within gave up on), so a failed test leaves no goroutine hung
// in the test binary.
func FIFO(t testing.TB, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}
