package serve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// siteAndOutside makes a site directory (with packs/p) and a directory
// outside it beside it ("etc"), in a new temp dir.
func siteAndOutside(t *testing.T) (site, outside string) {
	t.Helper()
	tmp := t.TempDir()
	site, outside = filepath.Join(tmp, "site"), filepath.Join(tmp, "etc")
	for _, d := range []string{filepath.Join(site, "packs", "p"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return site, outside
}

// TestSymlinkOutOfSite: a directory symlink in the site pointing outside
// it (etc-link -> /etc) served /etc-link/passwd. Nothing that resolves
// out of the site root is served, through a directory link or a file
// link; links that stay inside still work.
func TestSymlinkOutOfSite(t *testing.T) {
	site, outside := siteAndOutside(t)
	for p, data := range map[string]string{
		filepath.Join(site, "index.json"):           `{}`,
		filepath.Join(site, "packs", "p", "a.json"): `inside`,
		filepath.Join(outside, "passwd"):            "root:x:0:0:SECRET",
	} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"etc-link":   outside,                          // absolute, out
		"rel-link":   "../etc",                         // relative, out
		"packs/up":   "../../etc",                      // deeper, out
		"passwd":     filepath.Join(outside, "passwd"), // a file link, out
		"packs-link": "packs",                          // stays inside
	} {
		if err := os.Symlink(target, filepath.Join(site, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(Handler(site))
	defer srv.Close()
	get := func(p string) (int, string) {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/etc-link/passwd", "/rel-link/passwd", "/packs/up/passwd", "/passwd", "/etc-link/", "/packs/up/../up/passwd"} {
		if code, body := get(p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", p, code, body)
		} else {
			t.Logf("GET %s: %d %q", p, code, body)
		}
	}
	if code, body := get("/packs-link/p/a.json"); code != http.StatusOK || body != "inside" {
		t.Errorf("a link inside the site: %d %q", code, body)
	}
}
