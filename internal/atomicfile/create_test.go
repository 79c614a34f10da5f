package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateNew: the content written lands with the mode asked for; an
// existing file or a planted link is refused and left alone; a failed
// write leaves no file.
func TestCreateNew(t *testing.T) {
	errWrite := errors.New("disk full")
	copyIn := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.Copy(w, strings.NewReader(s)); return err }
	}
	for _, c := range []struct {
		name    string
		setup   func(t *testing.T, p string) // makes what is at p before
		write   func(io.Writer) error
		wantErr error
		want    string // p's content after
		absent  bool   // no file at p after
		link    bool   // p is still the planted link, pointing at nothing
	}{
		{name: "new", write: copyIn("hello"), want: "hello"},
		{name: "empty", write: copyIn(""), want: ""},
		{name: "exists", setup: func(t *testing.T, p string) { mustWrite(t, p, "old") }, write: copyIn("new"), wantErr: fs.ErrExist, want: "old"},
		{name: "planted link", setup: func(t *testing.T, p string) {
			target := filepath.Join(filepath.Dir(p), "target")
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}, write: copyIn("new"), wantErr: fs.ErrExist, link: true},
		{name: "write fails", write: func(w io.Writer) error {
			if _, err := w.Write([]byte("half")); err != nil {
				return err
			}
			return errWrite
		}, wantErr: errWrite, absent: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if c.setup != nil {
				c.setup(t, p)
			}
			err := CreateNew(p, 0o640, c.write)
			if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if c.link {
				// The link stays, and nothing was written where it points.
				if _, err := os.Lstat(p); err != nil {
					t.Fatalf("link removed: %v", err)
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(p), "target")); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("wrote through the link: %v", err)
				}
				return
			}
			got, rerr := os.ReadFile(p)
			if c.absent {
				if !errors.Is(rerr, fs.ErrNotExist) {
					t.Fatalf("file left behind: %q, %v", got, rerr)
				}
				return
			}
			if rerr != nil || string(got) != c.want {
				t.Fatalf("content %q, %v; want %q", got, rerr, c.want)
			}
			if fi, _ := os.Stat(p); c.wantErr == nil && fi.Mode().Perm() != 0o640 {
				t.Fatalf("mode %v, want 0640", fi.Mode().Perm())
			}
		})
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
