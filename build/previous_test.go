package build

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/translog"
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

// TestPreviousTamperedExitsAsChecked: every file of a signed previous
// build that is not what its index.json pins (another digest, grown by a
// byte, missing: a shard, an archive, a signature, a bundle, the log's
// checkpoint) is the one verdict ErrTampered (exit 1), read from a
// directory, over HTTP (a 404) or updated in place, naming the file and
// pointing at `packgen verify --site`, never "remove it". A server's
// 5xx is not a verdict: it stays an operational failure.
func TestPreviousTamperedExitsAsChecked(t *testing.T) {
	f := newAttackFixture(t)
	prev, err := loadPrevious(context.Background(), f.published, f.trust)
	must(t, err)
	rel := prev.shards["calico"].Releases[0]
	shard := prev.shardRefs["calico"].Path
	// Not a replay of the published commit: a new release to build.
	writePack(t, f.repo, "packs/calico-3.28.0", "calico", "3.28.0", "cni", "")
	commit(t, f.repo, "3.28")
	grow := func(p string) func(string) {
		return func(site string) {
			file := filepath.Join(site, filepath.FromSlash(p))
			data, err := os.ReadFile(file)
			must(t, err)
			must(t, os.WriteFile(file, append(data, ' '), 0o644))
		}
	}
	remove := func(p string) func(string) {
		return func(site string) { must(t, os.Remove(filepath.Join(site, filepath.FromSlash(p)))) }
	}
	for _, tc := range []struct {
		name   string
		via    string // "dir", "http" or "in place"
		tamper func(site string)
		fail   map[string]int // HTTP statuses
		file   string         // named in the error
		want   error          // nil: operational, not ErrTampered
	}{
		{name: "shard grown", via: "dir", tamper: grow(shard), file: shard, want: ErrTampered},
		{name: "shard grown, in place", via: "in place", tamper: grow(shard), file: shard, want: ErrTampered},
		{name: "shard grown, http", via: "http", tamper: grow(shard), file: shard, want: ErrTampered},
		{name: "shard missing", via: "dir", tamper: remove(shard), file: shard, want: ErrTampered},
		{name: "archive missing", via: "dir", tamper: remove(rel.Archive.Path), file: rel.Archive.Path, want: ErrTampered},
		{name: "archive missing, in place", via: "in place", tamper: remove(rel.Archive.Path), file: rel.Archive.Path, want: ErrTampered},
		{name: "signature missing", via: "dir", tamper: remove(rel.Signature), file: rel.Signature, want: ErrTampered},
		{name: "signature missing, http", via: "http", tamper: remove(rel.Signature), file: rel.Signature, want: ErrTampered},
		{name: "bundle missing", via: "dir", tamper: remove(rel.Bundle), file: rel.Bundle, want: ErrTampered},
		{name: "checkpoint missing", via: "dir", tamper: remove(translog.CheckpointPath), file: translog.CheckpointPath, want: ErrTampered},
		{name: "signature 503, http", via: "http", fail: map[string]int{rel.Signature: http.StatusServiceUnavailable}, file: rel.Signature},
		// The root's signature named by its digest: the key did not
		// change, so no --previous-key hint.
		{name: "index signature missing", via: "dir", tamper: remove(index.RootSignaturePath(prev.rootDigest)), file: index.RootSignaturePath(prev.rootDigest), want: ErrUntrustedPrevious},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := filepath.Join(t.TempDir(), "prev")
			testutil.CopyDir(t, f.published, site)
			if tc.tamper != nil {
				tc.tamper(site)
			}
			out := filepath.Join(t.TempDir(), "out")
			switch tc.via {
			case "in place":
				out = site
				_, err = run(t, f.repo.Dir, out, f.signed)
			case "http":
				_, err = run(t, f.repo.Dir, out, f.signed, func(o *Options) { o.Previous = serveSite(t, site, tc.fail) })
			default:
				_, err = run(t, f.repo.Dir, out, f.signed, func(o *Options) { o.Previous = site })
			}
			if err == nil {
				t.Fatal("build succeeded")
			}
			switch {
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("build = %v, want %v", err, tc.want)
			case tc.want == nil && (errors.Is(err, ErrTampered) || errors.Is(err, ErrUntrustedPrevious)):
				t.Fatalf("build = %v, want an operational failure", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.file) {
				t.Errorf("error does not name %s: %v", tc.file, err)
			}
			if tc.want != nil && (!strings.Contains(msg, "packgen verify --site") || strings.Contains(msg, "remove it") || strings.Contains(msg, "--previous-key")) {
				t.Errorf("error does not point at verify --site, or says remove it or --previous-key: %v", err)
			}
			if tc.via != "in place" {
				if _, serr := os.Stat(out); !os.IsNotExist(serr) {
					t.Errorf("a refused build wrote %s", out)
				}
			}
		})
	}
}
