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

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("hello"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		max  int64
		want error
	}{
		{small, 5, nil},
		{small, 4, ErrTooLarge},
		{"/dev/zero", 1 << 20, ErrNotRegular},
		{fifo, 1 << 20, ErrNotRegular},
		{dir, 1 << 20, ErrNotRegular},
		{filepath.Join(dir, "missing"), 1, os.ErrNotExist},
	} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(tc.path, tc.max); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, tc.want) {
				t.Errorf("ReadFile(%s, %d) = %v, want %v", tc.path, tc.max, err, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFile(%s) hangs", tc.path)
		}
	}
}
