//go:build unix

package safefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

// fileAndFIFO makes a new directory holding a regular file name, with
// data, and a FIFO: what a safe open must tell apart.
func fileAndFIFO(t *testing.T, name, data string) (dir, file, fifo string) {
	t.Helper()
	dir = t.TempDir()
	file, fifo = filepath.Join(dir, name), filepath.Join(dir, "fifo")
	filetest.WriteFile(t, file, data)
	filetest.FIFO(t, fifo)
	return dir, file, fifo
}

func TestReadFile(t *testing.T) {
	dir, small, fifo := fileAndFIFO(t, "small", "hello")
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
		err := filetest.Within(t, 5*time.Second, fmt.Sprintf("ReadFile(%s) hangs", tc.path), func() error {
			_, err := ReadFile(tc.path, tc.max)
			return err
		})
		if !errors.Is(err, tc.want) {
			t.Errorf("ReadFile(%s, %d) = %v, want %v", tc.path, tc.max, err, tc.want)
		}
	}
}

// TestOpenAppend: a regular file is appended to (made if missing); a
// FIFO or directory at the path is refused at once.
func TestOpenAppend(t *testing.T) {
	dir, old, fifo := fileAndFIFO(t, "old", "a\n")
	for _, tc := range []struct {
		path string
		want error
		text string // the file after "b\n" is appended
	}{
		{old, nil, "a\nb\n"},
		{filepath.Join(dir, "new"), nil, "b\n"},
		{fifo, ErrNotRegular, ""},
		{dir, nil, ""}, // a directory does not open for writing
	} {
		err := filetest.Within(t, 5*time.Second, fmt.Sprintf("OpenAppend(%s) hangs", tc.path), func() error {
			f, err := OpenAppend(tc.path, 0o600)
			if err == nil {
				_, err = f.WriteString("b\n")
				f.Close()
			}
			return err
		})
		if tc.path == dir {
			if err == nil {
				t.Errorf("OpenAppend(%s) opened a directory", tc.path)
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("OpenAppend(%s) = %v, want %v", tc.path, err, tc.want)
		}
		if tc.want == nil {
			if b, _ := os.ReadFile(tc.path); string(b) != tc.text {
				t.Errorf("%s holds %q, want %q", tc.path, b, tc.text)
			}
		}
	}
}
