//go:build unix

package filetest

import (
	"syscall"
	"testing"
)

// FIFO makes a named pipe at p (mode 0644), the special file tests plant
// where a file is read or written; an error fails the test.
func FIFO(t testing.TB, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
}
