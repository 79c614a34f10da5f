package factfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestAppend(t *testing.T) {
	long := strings.Repeat("f", 200)
	for _, tc := range []struct {
		name    string
		before  string // the file's content before ("" : no file)
		lines   []string
		max     int64
		perm    os.FileMode
		want    string
		dirPerm os.FileMode
	}{
		{name: "new file and directory", lines: []string{"a", "b"}, max: 1 << 20, perm: 0o600, want: "a\nb\n", dirPerm: 0o700},
		{name: "appends", before: "a\n", lines: []string{"b"}, max: 1 << 20, perm: 0o644, want: "a\nb\n", dirPerm: 0o755},
		{name: "past the bound: starts over", before: "old\nold\n", lines: []string{"new"}, max: 4, perm: 0o644, want: "new\n", dirPerm: 0o755},
		{name: "at the bound: appends", before: "old\n", lines: []string{"new"}, max: 4, perm: 0o644, want: "old\nnew\n", dirPerm: 0o755},
		{name: "nothing to add: no file", lines: nil, max: 1 << 20, perm: 0o644, want: "", dirPerm: 0},
		{name: "many lines, several writes", lines: []string{long, long, long, long, long, long, long, long, long, long, long, long, long, long, long, long, long, long}, max: 1 << 20, perm: 0o644, want: strings.Repeat(long+"\n", 18), dirPerm: 0o755},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache", "sub")
			file := filepath.Join(dir, "facts.txt")
			if tc.before != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			Append(file, tc.lines, tc.max, tc.perm)
			got, err := os.ReadFile(file)
			if tc.want == "" {
				if !os.IsNotExist(err) {
					t.Fatalf("file written: %q, %v", got, err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("file = %q, %v; want %q", got, err, tc.want)
			}
			if tc.before == "" {
				fi, err := os.Stat(file)
				if err != nil || fi.Mode().Perm() != tc.perm&^umask() {
					t.Errorf("file mode %v, want %v", fi.Mode().Perm(), tc.perm&^umask())
				}
				di, err := os.Stat(dir)
				if err != nil || di.Mode().Perm() != tc.dirPerm&^umask() {
					t.Errorf("directory mode %v, want %v", di.Mode().Perm(), tc.dirPerm&^umask())
				}
			}
		})
	}
	// An unwritable place is no error: a cache.
	Append(filepath.Join("/proc", "no-such", "facts.txt"), []string{"x"}, 1<<20, 0o644)
}

// TestAppendConcurrent: lines appended by many writers at once arrive
// whole.
func TestAppendConcurrent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "facts.txt")
	var wg sync.WaitGroup
	const writers, each = 8, 200
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lines []string
			for i := 0; i < each; i++ {
				lines = append(lines, fmt.Sprintf("writer-%d-line-%04d-%s", w, i, strings.Repeat("x", 64)))
			}
			Append(file, lines, 1<<30, 0o644)
		}()
	}
	wg.Wait()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for l := range strings.Lines(string(data)) {
		l = strings.TrimSuffix(l, "\n")
		if !strings.HasPrefix(l, "writer-") || len(l) != len("writer-0-line-0000-")+64 {
			t.Fatalf("interleaved line %q", l)
		}
		seen[l] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d lines, want %d", len(seen), writers*each)
	}
}

// umask is the process's file mode creation mask.
func umask() os.FileMode {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("umask-%d", os.Getpid()))
	defer os.Remove(dir)
	if err := os.Mkdir(dir, 0o777); err != nil {
		return 0o022
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return 0o022
	}
	return 0o777 &^ fi.Mode().Perm()
}

// TestReadAt: a value is read only where its whole line is still the
// one indexed: key, space, value and newline.
func TestReadAt(t *testing.T) {
	k1, k2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	file := k1 + " v1\n" + k2 + " v2\n"
	at1, at2 := At{Off: 65, N: 2}, At{Off: 65 + 68, N: 2}
	for _, tc := range []struct {
		name, file, key string
		at              At
		want            string // "": a miss
	}{
		{"first", file, k1, at1, "v1"},
		{"second", file, k2, at2, "v2"},
		{"another fact at the offset (file restarted in place)", k2 + " v2\n" + k1 + " v1\n", k1, at1, ""},
		{"line longer than indexed", k1 + " v12\n", k1, at1, ""},
		{"line cut", k1 + " v1", k1, at1, ""},
		{"offset before any key", file, k1, At{Off: 3, N: 2}, ""},
		{"key not hex-sized", file, "a", at1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := ReadAt(strings.NewReader(tc.file), tc.key, tc.at)
			if got := string(b); ok != (tc.want != "") || got != tc.want {
				t.Errorf("ReadAt = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

// TestIndex: only the caller's file (its header) within the byte bound
// is indexed, at most maxEntries facts, each line a lowercase hex key,
// a space and a value; every fact indexed reads back (ReadAt).
func TestIndex(t *testing.T) {
	k := func(c string) string { return strings.Repeat(c, 64) }
	head := "me v1\n"
	for _, tc := range []struct {
		name       string
		file       string
		maxEntries int
		want       map[string]string // nil: start over
	}{
		{"header only", head, 10, map[string]string{}},
		{"another's header", "you v1\n" + k("a") + " x\n", 10, nil},
		{"no header", k("a") + " x\n", 10, nil},
		{"past the byte bound", head + k("a") + " " + strings.Repeat("x", 1000) + "\n", 10, nil},
		{"facts", head + k("a") + " x\n" + k("b") + " yy\n", 10, map[string]string{k("a"): "x", k("b"): "yy"}},
		{"not facts: skipped", head + "short\n" + k("A") + " x\n" + k("g") + " x\n" + k("c") + "\n" + k("d") + " \n" + k("e") + "x{}\n" + k("b") + " y\n", 10, map[string]string{k("b"): "y"}},
		{"a last line cut", head + k("a") + " x\n" + k("b") + " y", 10, map[string]string{k("a"): "x"}},
		{"entry bound: the first ones", head + k("a") + " x\n" + k("b") + " y\n" + k("c") + " z\n", 2, map[string]string{k("a"): "x", k("b"): "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "facts")
			if err := os.WriteFile(file, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			at, ok := Index(f, "me v1", 1000, tc.maxEntries)
			if ok != (tc.want != nil) {
				t.Fatalf("Index ok = %v, want %v", ok, tc.want != nil)
			}
			got := map[string]string{}
			for key, a := range at {
				v, ok := ReadAt(f, key, a)
				if !ok {
					t.Errorf("%s: indexed, does not read back", key[:4])
				}
				got[key] = string(v)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("indexed %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLine: Line makes a line Index reads back, with the value where
// ValueAt says, and refuses (ErrNotFact, naming the key) a key or value
// that would make any other line.
func TestLine(t *testing.T) {
	k := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name, key, value string
		wantErr          string // "": a line
	}{
		{"a fact", k, `{"x":1}`, ""},
		{"a one-byte value", k, "v", ""},
		{"a newline in the value", k, "{\n}", "the value of key " + k + " holds a newline"},
		{"a newline ending the value", k, "v\n", "holds a newline"},
		{"an empty value", k, "", "key " + k + " has an empty value"},
		{"a newline in the key", k[:32] + "\n" + k[33:], "v", `key "` + k[:32] + `\n` + k[33:] + `" is not 64 lowercase hex digits`},
		{"a short key", k[:63], "v", "is not 64 lowercase hex digits"},
		{"an uppercase key", strings.Repeat("A", 64), "v", "is not 64 lowercase hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line, err := Line(tc.key, []byte(tc.value))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrNotFact) || !strings.Contains(err.Error(), tc.wantErr) || line != nil {
					t.Fatalf("Line = %q, %v; want ErrNotFact saying %q", line, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "facts")
			const head = "me v1\n"
			if err := os.WriteFile(file, append([]byte(head), line...), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			at, ok := Index(f, "me v1", 1000, 10)
			if want := ValueAt(line, int64(len(head))); !ok || len(at) != 1 || at[tc.key] != want {
				t.Fatalf("Index = %v, %v; want %s at %v", at, ok, tc.key[:4], want)
			}
			if v, ok := ReadAt(f, tc.key, at[tc.key]); !ok || string(v) != tc.value {
				t.Errorf("ReadAt = %q, %v; want %q", v, ok, tc.value)
			}
		})
	}
}
