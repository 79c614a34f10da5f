package client

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
)

// TestArchiveSignedAndFork: the signature digest is of the exact .sig
// bytes that verified; a swapped signature is refused; forks reuse the
// verified index and download in parallel.
func TestArchiveSignedAndFork(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	srv := newServer(t, site)
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, srv.URL, f.pub)
	rel, err := c.Resolve(ctx, "calico", "1.2.0", false)
	if err != nil {
		t.Fatal(err)
	}
	path, sig, err := c.ArchiveSigned(ctx, "calico", rel)
	if err != nil {
		t.Fatal(err)
	}
	if want := index.Digest(mustRead(t, filepath.Join(site, filepath.FromSlash(rel.Signature)))); sig != want {
		t.Errorf("signature digest %s, want %s", sig, want)
	}
	if _, err := os.Stat(path); err != nil || c.Registry().Name != "test" || !c.Verifies() {
		t.Errorf("path %s: %v", path, err)
	}

	// Serve another release's (valid) signature for this archive.
	other, _ := c.Resolve(ctx, "calico", "1.0.0", false)
	otherSig := mustRead(t, filepath.Join(site, filepath.FromSlash(other.Signature)))
	srv.mu.Lock()
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/"+rel.Signature) {
			w.Write(otherSig)
			return true
		}
		return false
	}
	srv.mu.Unlock()
	if _, _, err := e.client(t, srv.URL, f.pub).ArchiveSigned(ctx, "calico", rel); !errors.Is(err, ErrBadSignature) {
		t.Errorf("swapped signature: %v", err)
	}
	srv.mu.Lock()
	srv.hook = nil
	srv.mu.Unlock()

	base := newEnv(t).client(t, srv.URL, f.pub)
	before := srv.count("/index.json")
	if _, err := base.Root(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for _, v := range []string{"1.0.0", "1.2.5", "1.10.0"} {
		go func() {
			fc, err := base.Fork(ctx)
			if err == nil {
				var r *index.Release
				if r, err = fc.Resolve(ctx, "calico", v, false); err == nil {
					_, _, err = fc.ArchiveSigned(ctx, "calico", r)
				}
			}
			done <- err
		}()
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if n := srv.count("/index.json") - before; n != 1 {
		t.Errorf("index.json fetched %d times by a client and its forks, want 1", n)
	}
}

// TestResolvePinConstraint: the constraint the catalogue's "pinned to
// this version" snippets write (index.PinConstraint) resolves, through
// the real client against a registry, to exactly that version, also for
// a version that is not strict semver: "1.30" as a constraint (and
// "=1.30") matches 1.30.5 (stranger4 S4).
func TestResolvePinConstraint(t *testing.T) {
	f := emptyFixture(t)
	for _, v := range []string{"1.30", "1.30.5", "v2.0.0", "2.0.1", "22.04.4", "22.4.5"} {
		packFiles(f.repo, "packs/tmpl-"+v, "tmpl", v)
	}
	f.commitAndBuild(t, "first")
	srv := newServer(t, f.latest(t))
	c := newEnv(t).client(t, srv.URL, f.pub)
	for _, tc := range []struct{ c, want string }{
		{"1.30", "1.30.5"}, {"=1.30", "1.30.5"}, // why the snippets pin in full
		{index.PinConstraint("1.30"), "1.30"},
		{index.PinConstraint("1.30.5"), "1.30.5"},
		{index.PinConstraint("v2.0.0"), "v2.0.0"},
		{index.PinConstraint("22.04.4"), "22.04.4"},
	} {
		rel, err := c.Resolve(context.Background(), "tmpl", tc.c, false)
		if err != nil || rel.Version != tc.want {
			t.Errorf("tmpl@%s: %v, %v; want %s", tc.c, rel, err, tc.want)
		}
	}
}
