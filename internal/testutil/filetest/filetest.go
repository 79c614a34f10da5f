// Package filetest writes the files a test starts from: a chart or pack
// directory, a site's leftovers, a FIFO planted where a file is read
// (and Within, to fail a call that blocks on it). It imports only the
// standard library, like tartest, so that pack's fuzzed test binary and
// the tests of packages testutil imports (safefile) may use it.
package filetest

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// WriteFile writes data to p (mode 0644), making its directory first; an
// error fails the test.
func WriteFile[B ~string | ~[]byte](t testing.TB, p string, data B) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Write writes files, named by slash-separated paths relative to dir,
// with WriteFile, in name order.
func Write[B ~string | ~[]byte](t testing.TB, dir string, files map[string]B) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		WriteFile(t, filepath.Join(dir, filepath.FromSlash(name)), files[name])
	}
}
