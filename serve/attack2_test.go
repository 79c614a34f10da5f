package serve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// A variant of TestSymlinkOutOfSite: a chain of directory links, the
// first staying inside the site and the second climbing out from where
// the first led (hop -> packs/p, packs/p/out -> ../../../etc), and a
// link to the site's own parent reached through an inside link.
func TestSymlinkChainOutOfSite(t *testing.T) {
	site, outside := siteAndOutside(t)
	if err := os.WriteFile(filepath.Join(outside, "passwd"), []byte("root:x:0:0:SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"hop":          "packs/p",
		"packs/p/out":  "../../../etc",
		"packs/p/root": "../..",
	} {
		if err := os.Symlink(target, filepath.Join(site, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(Handler(site))
	defer srv.Close()
	for _, p := range []string{"/hop/out/passwd", "/packs/p/out/passwd", "/hop/root/../etc/passwd", "/hop/root/etc/passwd", "/hop/root/site/../etc/passwd"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", p, resp.StatusCode, b)
		}
	}
}
