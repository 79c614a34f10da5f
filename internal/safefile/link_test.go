//go:build unix

package safefile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLinkOnPath: the first link on the way to a name inside a root is
// found, whatever it points at (outside, inside, nowhere), at a
// directory or (with self) at the name itself; a path that stops
// existing stops the walk; known remembers only real directories.
func TestLinkOnPath(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "a", "b", "f"), []byte("x"), 0o644)
	for at, to := range map[string]string{
		"a/out":    outside,                          // a directory outside
		"a/in":     filepath.Join(dir, "c"),          // a directory inside
		"a/b/file": filepath.Join(outside, "victim"), // a file outside
		"dangling": filepath.Join(outside, "none"),   // nothing
		"c/rel":    "../a",                           // relative, inside
	} {
		if err := os.Symlink(to, filepath.Join(dir, filepath.FromSlash(at))); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, tc := range []struct {
		name string
		self bool
		want string
	}{
		{"a/b/f", true, ""},
		{"a/b/new/deeper/f", true, ""},
		{"missing/x/y", true, ""},
		{"a/out/x", true, "a/out"},
		{"a/out/x/y/z", false, "a/out"},
		{"a/out", true, "a/out"},
		{"a/out", false, ""}, // only its directory a is checked
		{"a/in/f", true, "a/in"},
		{"a/b/file", true, "a/b/file"},
		{"a/b/file", false, ""},
		{"dangling", true, "dangling"},
		{"dangling/below", false, "dangling"},
		{"c/rel/b/f", true, "c/rel"},
		{"a/b/./../out/x", true, "a/out"}, // cleaned first
		{".", true, ""},
	} {
		known := map[string]bool{}
		got, err := LinkOnPath(root, filepath.FromSlash(tc.name), tc.self, known)
		if err != nil || got != filepath.FromSlash(tc.want) {
			t.Errorf("LinkOnPath(%s, self %v) = %q, %v; want %q", tc.name, tc.self, got, err, tc.want)
		}
		for d := range known {
			if fi, err := os.Lstat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
				t.Errorf("%s: remembered %s as a real directory: %v %v", tc.name, d, fi, err)
			}
		}
	}
	// What known remembers is not looked at again: a link swapped in for
	// a remembered directory goes unseen (the caller's choice to pass
	// known), and one in a directory not remembered is found.
	known := map[string]bool{}
	if got, _ := LinkOnPath(root, filepath.FromSlash("a/b/f"), true, known); got != "" || !known["a"] || !known[filepath.FromSlash("a/b")] || len(known) != 2 {
		t.Fatalf("after a/b/f: %q, known %v", got, known)
	}
	os.Rename(filepath.Join(dir, "a", "b"), filepath.Join(dir, "a", "b.old"))
	os.Symlink(outside, filepath.Join(dir, "a", "b"))
	if got, _ := LinkOnPath(root, filepath.FromSlash("a/b/f"), true, known); got != "" {
		t.Errorf("remembered directory looked at again: %q", got)
	}
	if got, _ := LinkOnPath(root, filepath.FromSlash("a/b/f"), true, nil); got != filepath.FromSlash("a/b") {
		t.Errorf("without known: %q, want a/b", got)
	}
}
