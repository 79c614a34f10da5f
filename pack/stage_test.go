package pack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExtractStage: a stage made ahead of time with MkdirStage is used and
// renamed into place; on failure it is removed; one that is not an empty
// directory beside dest is refused and left alone.
func TestExtractStage(t *testing.T) {
	a, _ := archiveOf(t, baseFS())
	parent := t.TempDir()
	dest := filepath.Join(parent, "demo")
	entries := func() int {
		e, _ := os.ReadDir(parent)
		return len(e)
	}

	stage, err := MkdirStage(dest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Extract(bytes.NewReader(a), dest, ExtractOptions{Stage: stage}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "pack.json")); err != nil || entries() != 1 {
		t.Fatalf("dest: %v, %d entries beside it", err, entries())
	}

	stage, _ = MkdirStage(dest)
	if _, err := Extract(bytes.NewReader([]byte("not gzip")), dest, ExtractOptions{Stage: stage, Overwrite: true}); err == nil {
		t.Fatal("corrupt archive accepted")
	}
	if _, err := os.Lstat(stage); !os.IsNotExist(err) || entries() != 1 {
		t.Errorf("failed extraction left its stage: %v, %d entries", err, entries())
	}

	for name, bad := range map[string]func() string{
		"not empty": func() string {
			s, _ := MkdirStage(dest)
			os.WriteFile(filepath.Join(s, "keep"), []byte("x"), 0o644)
			return s
		},
		"elsewhere": func() string { return t.TempDir() },
	} {
		s := bad()
		if _, err := Extract(bytes.NewReader(a), dest, ExtractOptions{Stage: s, Overwrite: true}); err == nil {
			t.Errorf("%s: stage accepted", name)
		}
		if _, err := os.Stat(s); err != nil {
			t.Errorf("%s: refused stage removed: %v", name, err)
		}
	}
}
