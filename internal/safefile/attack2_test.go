//go:build unix

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

// Variants beside safefile_test.go's: a symlink to a FIFO (the name
// looks like a key file), and /proc files, which report size 0 and are
// read by content (the limit must hold on what is read, not on Stat).
func TestAttackIndirectSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	filetest.FIFO(t, fifo)
	key := filepath.Join(dir, "registry.pub")
	if err := os.Symlink(fifo, key); err != nil {
		t.Fatal(err)
	}
	err := filetest.Within(t, 5*time.Second, "reading a symlink to a FIFO hangs", func() error {
		_, err := ReadFile(key, 1<<20)
		return err
	})
	if !errors.Is(err, ErrNotRegular) {
		t.Errorf("symlink to a FIFO: %v, want ErrNotRegular", err)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		if _, err := ReadFile("/proc/self/status", 16); !errors.Is(err, ErrTooLarge) {
			t.Errorf("/proc/self/status with a 16-byte limit: %v, want ErrTooLarge", err)
		}
	}
}
