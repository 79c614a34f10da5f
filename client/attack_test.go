package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSignedNamePinned: a registry whose config pins its signed name
// refuses an index signed (with its key) for another registry, on the
// very first fetch, and records no rollback state for it.
func TestSignedNamePinned(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.latest(t))
	e := newEnv(t)
	for _, tc := range []struct {
		pin  string
		want error
	}{{"acme", ErrWrongRegistry}, {"test", nil}, {"", nil}} {
		c, err := New(Registry{Name: "alias", URL: srv.URL, Keys: []string{string(f.pub)}, SignedName: tc.pin},
			Options{CacheDir: e.cache, StateDir: filepath.Join(t.TempDir(), "state"), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Root(context.Background())
		if !errors.Is(err, tc.want) {
			t.Fatalf("pinned %q: got %v, want %v", tc.pin, err, tc.want)
		}
		if _, serr := os.Stat(filepath.Join(c.opts.StateDir, "serials.json")); (serr == nil) != (tc.want == nil) {
			t.Fatalf("pinned %q: rollback state written: %v (fetch error %v)", tc.pin, serr, err)
		}
	}
}
