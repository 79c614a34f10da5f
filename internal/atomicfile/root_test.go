package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFileIn checks that a write inside an os.Root never lands
// outside it: a directory link out of the root fails (dangling or not:
// making the parents does not follow it either), a file link is
// replaced (the link, not what it points at), missing parents are made
// inside the root, and no temp file is left.
func TestWriteFileIn(t *testing.T) {
	for _, tc := range []struct {
		name, at, to string // a link planted at at, to outside/to
		write        string
		noDir        bool // d is not made first
		wantErr      bool
	}{
		{name: "plain", write: "d/f"},
		{name: "dir link out", at: "d", to: ".", write: "d/f", wantErr: true},
		{name: "dangling dir link out", at: "d", to: "none", write: "d/f", wantErr: true},
		{name: "dir link out below a missing parent", at: "d", to: ".", write: "d/new/f", wantErr: true},
		{name: "file link out", at: "d/f", to: "victim", write: "d/f"},
		{name: "parents made", write: "d/e/f", noDir: true},
		{name: "parent a file", at: "", write: "d/f/g", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			os.WriteFile(filepath.Join(outside, "victim"), []byte("secret"), 0o600)
			if tc.at != "d" && !tc.noDir {
				os.Mkdir(filepath.Join(dir, "d"), 0o755)
			}
			if tc.name == "parent a file" {
				os.WriteFile(filepath.Join(dir, "d", "f"), []byte("file"), 0o644)
			}
			if tc.at != "" {
				if err := os.Symlink(filepath.Join(outside, tc.to), filepath.Join(dir, tc.at)); err != nil {
					t.Fatal(err)
				}
			}
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			err = WriteFileIn(root, filepath.FromSlash(tc.write), []byte("new"), 0o644)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got, _ := os.ReadFile(filepath.Join(outside, "victim")); string(got) != "secret" {
				t.Errorf("outside file now %q", got)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("outside holds %v", entries)
			}
			if !tc.wantErr {
				p := filepath.Join(dir, filepath.FromSlash(tc.write))
				if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
					t.Errorf("%s: %v %v", p, fi, err)
				}
			}
			filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(e.Name(), ".tmp-") {
					t.Errorf("left behind: %s", p)
				}
				return nil
			})
		})
	}
}
