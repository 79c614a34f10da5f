// Package tartest reads .tar.gz archives in tests: the release archives
// and chart archives whose entries the tests of several packages check.
// It imports only the standard library, so that pack's test binary,
// whose fuzz targets instrument every package it links, stays light
// (internal/testutil brings sigstore and go-git).
package tartest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
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
