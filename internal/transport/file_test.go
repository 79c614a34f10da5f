package transport

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
)

// TestFileTransportMissing: a location without a scheme is a directory;
// when that directory does not exist (a URL typed without https://, a
// typo), the error says so and what a URL looks like, still
// index.ErrNotFound (not a registry: exit 1). A file missing from a
// directory that exists is only not found.
func TestFileTransportMissing(t *testing.T) {
	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "index.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		loc, path string
		want      []string
		not       string
	}{
		{"127.0.0.1:8089", "index.json", []string{"no such directory 127.0.0.1:8089", "a registry on the web is a URL: https://127.0.0.1:8089"}, ""},
		{"packs.acme.example/registry", "index.json", []string{"no such directory packs.acme.example/registry", "https://packs.acme.example/registry"}, ""},
		{filepath.Join(site, "sub"), "index.json", []string{"no such directory " + filepath.Join(site, "sub")}, ""},
		{site, "packs/x/shards/y.json", []string{filepath.Join(site, "packs/x/shards/y.json") + ": not found"}, "no such directory"},
	} {
		tr, err := New(c.loc, "", time.Second, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tr.Get(context.Background(), c.path, "")
		if !errors.Is(err, index.ErrNotFound) {
			t.Errorf("%s: %v, want index.ErrNotFound", c.loc, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.loc, err, w)
			}
		}
		if c.not != "" && strings.Contains(err.Error(), c.not) {
			t.Errorf("%s: %q says %q", c.loc, err, c.not)
		}
	}
}
