package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFile checks that WriteFile makes missing parents, replaces a
// file whole with the mode asked for, and leaves no temp file behind,
// whether it succeeds or fails.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a", "b", "f.txt")
	for _, data := range []string{"first", "second, longer"} {
		if err := WriteFile(p, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v", fi.Mode())
		}
	}
	// A parent that is a file: an error, and nothing left behind.
	if err := WriteFile(filepath.Join(p, "x"), []byte("x"), 0o644); err == nil {
		t.Fatal("wrote under a regular file")
	}
	// A target that is a directory: the rename fails, the temp file goes.
	if err := WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644); err == nil {
		t.Fatal("replaced a directory")
	}
	for _, d := range []string{dir, filepath.Join(dir, "a"), filepath.Join(dir, "a", "b")} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if e.Name() != "a" && e.Name() != "b" && e.Name() != "f.txt" {
				t.Errorf("left behind: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

// TestWriteWith checks that content streamed by the callback replaces the
// file, and that a callback's error leaves the old file and no temp file,
// on a path (WriteWith) and inside an os.Root (WriteWithIn).
func TestWriteWith(t *testing.T) {
	write := func(s string, err error) func(io.Writer) error {
		return func(w io.Writer) error {
			if _, werr := io.WriteString(w, s); werr != nil {
				return werr
			}
			return err
		}
	}
	for name, with := range map[string]func(dir, name string, write func(io.Writer) error) error{
		"path": func(dir, name string, write func(io.Writer) error) error {
			return WriteWith(filepath.Join(dir, name), 0o600, write)
		},
		"root": func(dir, name string, write func(io.Writer) error) error {
			root, err := os.OpenRoot(dir)
			if err != nil {
				return err
			}
			defer root.Close()
			return WriteWithIn(root, name, 0o600, write)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := with(dir, "f.txt", write("whole", nil)); err != nil {
				t.Fatal(err)
			}
			failed := errors.New("failed half way")
			if err := with(dir, "f.txt", write("half", failed)); !errors.Is(err, failed) {
				t.Fatalf("err = %v, want the callback's", err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "f.txt")); err != nil || string(got) != "whole" {
				t.Fatalf("read %q, %v; want the first content", got, err)
			}
			if fi, _ := os.Stat(filepath.Join(dir, "f.txt")); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
}

func TestIsTempName(t *testing.T) {
	for name, want := range map[string]bool{
		TempPrefix + "123":            true,
		TempPrefix + "3w5e11264sgsf":  true, // MaxUint64 in base 36
		TempPrefix:                    false,
		TempPrefix + "draft.md":       false,
		TempPrefix + "objects-pack":   false,
		TempPrefix + "ABC":            false,
		TempPrefix + "3w5e11264sgsg0": false, // 14 characters
		"tmp-123":                     false,
		"x" + TempPrefix + "1":        false,
	} {
		if got := IsTempName(name); got != want {
			t.Errorf("IsTempName(%q) = %v, want %v", name, got, want)
		}
	}
	// The names this package gives are temp names.
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for range 20 {
		f, name, err := CreateTempIn(root, ".", TempPrefix)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if !IsTempName(filepath.Base(name)) {
			t.Errorf("CreateTempIn made %q, not a temp name", name)
		}
	}
	f, name, err := osDir{}.createTemp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Close(); !IsTempName(filepath.Base(name)) {
		t.Errorf("createTemp made %q, not a temp name", name)
	}
}
