//go:build unix

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Variants beside safefile_test.go's: a symlink to a FIFO (the name
// looks like a key file), and /proc files, which report size 0 and are
// read by content (the limit must hold on what is read, not on Stat).
func TestAttackIndirectSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no mkfifo:", err)
	}
	key := filepath.Join(dir, "registry.pub")
	if err := os.Symlink(fifo, key); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(key, 1<<20); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("symlink to a FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a symlink to a FIFO hangs")
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		if _, err := ReadFile("/proc/self/status", 16); !errors.Is(err, ErrTooLarge) {
			t.Errorf("/proc/self/status with a 16-byte limit: %v, want ErrTooLarge", err)
		}
	}
}
