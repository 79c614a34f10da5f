// Package tartest reads and writes .tar.gz archives in tests: the
// release archives and chart archives whose entries the tests of several
// packages check, and the archives (charts, packs, hostile ones) they
// feed to the code under test. The fixture generators (internal/synth,
// examples/gen) write their chart archives with Write too. It imports
// only the standard library, so that pack's test binary,
// whose fuzz targets instrument every package it links, stays light
// (internal/testutil brings sigstore and go-git).
package tartest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"testing"
)

// Each calls fn with every entry of the .tar.gz archive, in order, and
// the entry's content read whole. An archive that does not read to its
// end (bad gzip, a broken header, a short body) fails the test.
func Each(t testing.TB, archive []byte, fn func(h *tar.Header, body []byte)) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("archive: %v", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("archive: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("archive: %s: %v", h.Name, err)
		}
		fn(h, body)
	}
}

// Entry is one entry of an archive a test writes: its header, written
// as given (Size included, so a test can make it lie), and the body that
// follows it.
type Entry struct {
	Header *tar.Header
	Body   []byte
}

// File is a regular file of mode 0644.
func File[B ~string | ~[]byte](name string, body B) Entry {
	return Entry{&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}, []byte(body)}
}

// Dir is a directory of mode 0755; name ends in "/" as tar(1) writes it.
func Dir(name string) Entry {
	return Entry{Header: &tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir}}
}

// Symlink is a symbolic link to target.
func Symlink(name, target string) Entry {
	return Entry{Header: &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}}
}

// Files are files as regular files (File) named prefix+name, in name
// order: a map's archive is the same every run.
func Files[B ~string | ~[]byte](prefix string, files map[string]B) []Entry {
	var out []Entry
	for _, n := range slices.Sorted(maps.Keys(files)) {
		out = append(out, File(prefix+n, files[n]))
	}
	return out
}

// Write writes entries to w as a tar stream, end-of-archive blocks
// included.
func Write(w io.Writer, entries ...Entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := tw.WriteHeader(e.Header); err != nil {
			return fmt.Errorf("%s: %w", e.Header.Name, err)
		}
		if _, err := tw.Write(e.Body); err != nil {
			return fmt.Errorf("%s: %w", e.Header.Name, err)
		}
	}
	return tw.Close()
}

// Tar is entries as a tar archive; an entry the writer refuses (a body
// longer than its header's Size, say) fails the test.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, entries...); err != nil {
		t.Fatalf("tar: %v", err)
	}
	return buf.Bytes()
}

// TarGz is entries as a .tar.gz: Tar compressed by Gzip.
func TarGz(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	return Gzip(t, Tar(t, entries...))
}

// Gzip compresses data as one gzip member at the default level, as
// gzip.NewWriter does (the same bytes however the data is split into
// writes).
func Gzip(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return buf.Bytes()
}
