package build

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
)

// TestPreviousURLRefusesBadArchives reuses a build published over HTTP
// that serves something other than what its index pins: the build fails
// with the digest error and the out dir is not created. One behind basic
// auth is read with netrc credentials.
func TestPreviousURLRefusesBadArchives(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "")
	commit(t, r, "one")
	published := filepath.Join(tmp, "published")
	res := built(t, r.Dir, published)
	archive := res.Shards[0].Releases[0].Archive.Path

	tampered := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.TrimPrefix(req.URL.Path, "/") == archive {
			data, _ := os.ReadFile(filepath.Join(published, filepath.FromSlash(archive)))
			data[len(data)/2] ^= 1
			w.Write(data)
			return
		}
		http.FileServer(http.Dir(published)).ServeHTTP(w, req)
	})
	srv := httptest.NewServer(tampered)
	defer srv.Close()
	out := filepath.Join(tmp, "out")
	_, err := run(t, r.Dir, out, func(o *Options) { o.Previous = srv.URL })
	if !errors.Is(err, index.ErrDigestMismatch) {
		t.Fatalf("tampered previous archive: %v, want ErrDigestMismatch", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("a failed build created %s", out)
	}

	// A previous build behind basic auth is read with the user's netrc
	// credentials, as the client reads registries.
	locked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		http.FileServer(http.Dir(published)).ServeHTTP(w, req)
	}))
	defer locked.Close()
	netrc := filepath.Join(tmp, "netrc")
	must(t, os.WriteFile(netrc, []byte("machine 127.0.0.1 login ci password s3cret\n"), 0o600))
	t.Setenv("NETRC", netrc)
	res2 := built(t, r.Dir, out, func(o *Options) { o.Previous = locked.URL })
	if res2.Reused != 1 || res2.Archived != 0 {
		t.Errorf("previous behind auth: reused %d archived %d, want 1 and 0", res2.Reused, res2.Archived)
	}
}
