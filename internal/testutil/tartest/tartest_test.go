package tartest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func tgz(t *testing.T, files ...string) []byte {
	var es []Entry
	for _, f := range files {
		es = append(es, File(f, f))
	}
	return TarGz(t, es...)
}

// TestEach: every entry in order with its own content.
func TestEach(t *testing.T) {
	var got []string
	Each(t, tgz(t, "p/a", "p/b/c", "p/d"), func(h *tar.Header, body []byte) {
		if string(body) != h.Name {
			t.Errorf("%s: body %q", h.Name, body)
		}
		got = append(got, h.Name)
	})
	if strings.Join(got, " ") != "p/a p/b/c p/d" {
		t.Errorf("entries %v", got)
	}
}

// TestEachFailsOnDamage: a damaged archive fails the test that reads it.
func TestEachFailsOnDamage(t *testing.T) {
	good := tgz(t, "p/a", "p/b")
	for name, data := range map[string][]byte{
		"not gzip":  []byte("plain text"),
		"truncated": good[:len(good)/2],
	} {
		ft := &fakeT{TB: t}
		func() {
			defer func() { recover() }() // fakeT's Fatalf stops here
			Each(ft, data, func(*tar.Header, []byte) {})
		}()
		if !ft.failed {
			t.Errorf("%s: read without failing", name)
		}
	}
}

// TestWrite: what the writers write reads back as written: names as
// given (./-rooted, non-ASCII, climbing out), types, modes, links, times
// and formats; Files in name order under its prefix.
func TestWrite(t *testing.T) {
	old := time.Unix(1, 0)
	timed := File("./p/ü.txt", []byte("é"))
	timed.Header.ModTime, timed.Header.Format = old, tar.FormatPAX
	setuid := File("p/run.sh", "#!/bin/sh\n")
	setuid.Header.Mode = 0o4755
	for _, tc := range []struct {
		name    string
		entries []Entry
		want    string // name type mode link body, a line an entry
	}{
		{"nothing", nil, ""},
		{"kinds", []Entry{Dir("./"), Dir("p/"), File("p/a", "x"), Symlink("p/l", "../../etc/passwd"), timed, setuid},
			"./ 5 755  \np/ 5 755  \np/a 0 644  x\np/l 2 0 ../../etc/passwd \n./p/ü.txt 0 644  é\np/run.sh 0 4755  #!/bin/sh\n\n"},
		{"files sorted", Files("c/", map[string]string{"b": "2", "a/z": "1", "../x": "3"}),
			"c/../x 0 644  3\nc/a/z 0 644  1\nc/b 0 644  2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := Tar(t, tc.entries...)
			if !bytes.Equal(TarGz(t, tc.entries...), Gzip(t, raw)) {
				t.Error("TarGz is not Gzip(Tar)")
			}
			var got strings.Builder
			Each(t, Gzip(t, raw), func(h *tar.Header, body []byte) {
				fmt.Fprintf(&got, "%s %c %o %s %s\n", h.Name, h.Typeflag, h.Mode, h.Linkname, body)
				if h.Name == timed.Header.Name && !h.ModTime.Equal(old) {
					t.Errorf("%s: time %v", h.Name, h.ModTime)
				}
			})
			if got.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got.String(), tc.want)
			}
		})
	}
}

// TestWriteRefuses: a body longer than its header says fails the test
// (a lying header is the test's own to write, with a Size it chooses).
func TestWriteRefuses(t *testing.T) {
	lying := File("p/a", "0123456789")
	lying.Header.Size = 4
	if err := Write(io.Discard, lying); err == nil || !strings.Contains(err.Error(), "p/a") {
		t.Errorf("Write: %v, want an error naming p/a", err)
	}
	ft := &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		Tar(ft, lying)
	}()
	if !ft.failed {
		t.Error("Tar wrote a body longer than its header")
	}
}

// TestGzip: one gzip member at the default level, as gzip.NewWriter
// writes it from one write or many.
func TestGzip(t *testing.T) {
	data := bytes.Repeat([]byte("pack: {a: 1}\n"), 10000)
	var want bytes.Buffer
	zw := gzip.NewWriter(&want)
	for b := data; len(b) > 0; b = b[min(len(b), 777):] {
		zw.Write(b[:min(len(b), 777)])
	}
	zw.Close()
	if !bytes.Equal(Gzip(t, data), want.Bytes()) {
		t.Error("Gzip differs from gzip.NewWriter's stream")
	}
}

// fakeT records a fatal failure instead of ending the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}
