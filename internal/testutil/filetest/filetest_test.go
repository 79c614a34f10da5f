package filetest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	Write(t, dir, map[string]string{"a": "1", "b/c/d.yaml": "x: 2\n"})
	WriteFile(t, filepath.Join(dir, "e", "f"), []byte{0, 1})
	for p, want := range map[string]string{"a": "1", "b/c/d.yaml": "x: 2\n", "e/f": "\x00\x01"} {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))); string(got) != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
}
