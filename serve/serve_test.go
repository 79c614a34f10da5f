package serve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

func TestServe(t *testing.T) {
	dir := t.TempDir()
	filetest.Write(t, dir, map[string]string{
		"index.json":                   `{"x":1}`,
		"index.html":                   `<html></html>`,
		"packs/p/1.0.0/p-1.0.0.tar.gz": "0123456789",
		".packgen-build-1/secret":      "no",
	})
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()

	get := func(path string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	r := get("/index.json", nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "public, max-age=60, must-revalidate" {
		t.Fatalf("index.json: %d %v", r.StatusCode, r.Header)
	}
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if r := get("/index.json", map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.StatusCode)
	}
	r = get("/packs/p/1.0.0/p-1.0.0.tar.gz", map[string]string{"Range": "bytes=2-4"})
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusPartialContent || string(body) != "234" {
		t.Fatalf("range: %d %q", r.StatusCode, body)
	}
	if r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("archive headers: %v", r.Header)
	}
	if r := get("/", nil); r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("root: %d", r.StatusCode)
	}
	for _, p := range []string{"/.packgen-build-1/secret", "/missing", "/../../etc/passwd"} {
		if r := get(p, nil); r.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/index.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}
