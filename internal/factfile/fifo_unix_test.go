//go:build unix

package factfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestAppendFIFO: a FIFO planted at a fact file's path is passed over at
// once (a cache), never opened for writing and waited on for a reader.
func TestAppendFIFO(t *testing.T) {
	file := filepath.Join(t.TempDir(), "facts.txt")
	if err := syscall.Mkfifo(file, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	go func() {
		Append(file, []string{"a"}, 1<<20, 0o600)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		// Unblock the writer before failing, so the test ends.
		if r, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			defer r.Close()
		}
		t.Fatal("Append waited on a FIFO")
	}
	if fi, err := os.Lstat(file); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v, %v", fi, err)
	}
}
