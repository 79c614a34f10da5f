package pack

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/pack/meta"
)

// TestBadPackCorpus validates every testdata/bad/<case>/pack and compares
// the problems with <case>/want.txt, one per line:
//
//	file[:line[:col]]: severity: message fragment
//
// The errors must be exactly those listed (same count, file, line and
// column; the message must contain the fragment); listed warnings must be
// among the warnings. Entries git cannot hold (a FIFO, a 2 GB sparse
// file, a symlink to /etc/passwd, odd file names) are made by the test
// from <case>/make.txt:
//
//	symlink PATH TARGET | fifo PATH | sparse PATH SIZE | file PATH CONTENT
//
// PATH and CONTENT are Go string literal bodies (\x01 and \\ work).
func TestBadPackCorpus(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "bad", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 40 {
		t.Fatalf("only %d bad-pack cases", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want := readWant(t, filepath.Join(dir, "want.txt"))
			root := filepath.Join(t.TempDir(), "pack")
			copyDir(t, filepath.Join(dir, "pack"), root)
			applyMake(t, filepath.Join(dir, "make.txt"), root)
			start := time.Now()
			_, ps := Load(os.DirFS(root), ".", Options{})
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("validation took %v: something was read or expanded that should not be", d)
			}
			ps.Sort()
			if msg := matchWant(ps, want); msg != "" {
				var got []string
				for _, p := range ps {
					got = append(got, "  "+p.String())
				}
				t.Errorf("%s\ngot:\n%s", msg, strings.Join(got, "\n"))
			}
			// Keep (the build's and validate's) reads the charts first
			// to keep their tar, and finds the same problems.
			if _, kps := Load(os.DirFS(root), ".", Options{Keep: true}); !reflect.DeepEqual(kps, ps) {
				t.Errorf("with Keep:\n%v\nwithout:\n%v", kps, ps)
			}
		})
	}
}

type wantProblem struct {
	file      string
	line, col int // -1: not given
	sev       meta.Severity
	frag      string
}

func readWant(t *testing.T, file string) []wantProblem {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []wantProblem
	for n, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var w wantProblem
		var pos string
		var ok bool
		for _, sev := range []meta.Severity{meta.SevError, meta.SevWarning} {
			if pos, w.frag, ok = strings.Cut(l, ": "+string(sev)+": "); ok {
				w.sev = sev
				break
			}
		}
		if !ok {
			t.Fatalf("%s:%d: want file[:line[:col]]: severity: message, got %q", file, n+1, l)
		}
		parts := strings.Split(pos, ":")
		w.file, w.line, w.col = parts[0], -1, -1
		if len(parts) > 1 {
			w.line, _ = strconv.Atoi(parts[1])
		}
		if len(parts) > 2 {
			w.col, _ = strconv.Atoi(parts[2])
		}
		out = append(out, w)
	}
	return out
}

func (w wantProblem) matches(p meta.Problem) bool {
	line, col := w.line, w.col
	if line < 0 {
		line = 0
	}
	if col < 0 && w.line >= 0 {
		col = p.Col // file:line given: any column
	} else if col < 0 {
		col = 0
	}
	return p.File == w.file && p.Severity == w.sev && p.Line == line && p.Col == col && strings.Contains(p.Msg, w.frag)
}

// matchWant returns "" when ps satisfies want, else what is wrong.
func matchWant(ps meta.Problems, want []wantProblem) string {
	used := make([]bool, len(ps))
	nerr := 0
	for _, w := range want {
		if w.sev == meta.SevError {
			nerr++
		}
		found := false
		for i, p := range ps {
			if !used[i] && w.matches(p) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return fmt.Sprintf("missing %s:%d:%d: %s: ...%s...", w.file, w.line, w.col, w.sev, w.frag)
		}
	}
	if got := len(ps.Errors()); got != nerr {
		return fmt.Sprintf("want exactly %d error(s), got %d", nerr, got)
	}
	return ""
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

func applyMake(t *testing.T, file, root string) {
	t.Helper()
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unq := func(s string) string {
		u, err := strconv.Unquote(`"` + s + `"`)
		if err != nil {
			t.Fatalf("%s: %q: %v", file, s, err)
		}
		return filepath.Join(root, u)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		var err error
		switch {
		case fields[0] == "symlink" && len(fields) == 3:
			os.MkdirAll(filepath.Dir(unq(fields[1])), 0o755)
			err = os.Symlink(fields[2], unq(fields[1]))
		case fields[0] == "fifo" && len(fields) == 2:
			if err = syscall.Mkfifo(unq(fields[1]), 0o644); err != nil {
				t.Skip("mkfifo:", err)
			}
		case fields[0] == "sparse" && len(fields) == 3:
			size, _ := strconv.ParseInt(fields[2], 10, 64)
			err = os.Truncate(unq(fields[1]), 0)
			if os.IsNotExist(err) {
				err = os.WriteFile(unq(fields[1]), nil, 0o644)
			}
			if err == nil {
				err = os.Truncate(unq(fields[1]), size)
			}
		case fields[0] == "file" && len(fields) == 3:
			err = os.WriteFile(unq(fields[1]), []byte(fields[2]), 0o644)
		default:
			t.Fatalf("%s: bad line %q", file, sc.Text())
		}
		if err != nil {
			t.Fatalf("%s: %q: %v", file, sc.Text(), err)
		}
	}
}
