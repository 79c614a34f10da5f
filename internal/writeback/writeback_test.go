package writeback

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWriter writes two blobs at their places, one past Chunk, and
// checks the file holds each where it was put.
func TestWriter(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	small := bytes.Repeat([]byte("a"), 100)
	big := bytes.Repeat([]byte("b"), Chunk+123)
	for _, c := range []struct {
		off int64
		b   []byte
	}{{10, small}, {200, big}} {
		w := At(f, c.off)
		for rest := c.b; len(rest) > 0; {
			n := min(len(rest), 1<<20)
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		w.Flush()
		if w.start != w.off || w.off != c.off+int64(len(c.b)) {
			t.Fatalf("after Flush: start %d, off %d, want both %d", w.start, w.off, c.off+int64(len(c.b)))
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[10:110], small) || !bytes.Equal(got[200:], big) || !bytes.Equal(got[:10], make([]byte, 10)) {
		t.Fatal("the blobs are not at their places")
	}
}
