package tartest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func tgz(t *testing.T, files ...string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f, Mode: 0o644, Size: int64(len(f)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
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
