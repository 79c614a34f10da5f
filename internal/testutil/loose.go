package testutil

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RevParse is the object ID git names rev by in the repository at dir
// (a commit, or "HEAD:path" for a blob or tree).
func RevParse(t testing.TB, dir, rev string) string {
	t.Helper()
	return strings.TrimSpace(string(Git(t, dir, "rev-parse", rev)))
}

// CorruptLoose rewrites the loose object rev names with content of its
// own type under the same name, as disk or transfer damage would leave
// it: valid zlib, a valid header, the wrong bytes. It returns the
// object's ID.
func CorruptLoose(t testing.TB, dir, rev string, content []byte) string {
	t.Helper()
	id := RevParse(t, dir, rev)
	typ := strings.TrimSpace(string(Git(t, dir, "cat-file", "-t", id)))
	file := filepath.Join(dir, ".git", "objects", id[:2], id[2:])
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("%s %s of %s is not loose: %v", typ, id, rev, err)
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	fmt.Fprintf(zw, "%s %d\x00", typ, len(content))
	zw.Write(content)
	Must(t, zw.Close())
	Must(t, os.Remove(file))
	Must(t, os.WriteFile(file, buf.Bytes(), 0o444))
	return id
}
