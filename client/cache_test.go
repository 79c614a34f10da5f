package client

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
)

// TestCorruptCacheIsRefetched damages every kind of cache entry (archive
// by digest, bucket and shard metadata, the cached index.json and its
// ETag record) and checks the next fetch notices, downloads that file
// again, succeeds, and leaves a repaired cache.
func TestCorruptCacheIsRefetched(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	const arch = "/packs/calico/1.10.0/calico-1.10.0.tar.gz"
	root, _ := index.ParseRoot(mustRead(t, filepath.Join(site, "index.json")))
	bucket := "/" + root.Buckets[index.BucketOf("calico", root.BucketBits)].Path
	_, shardRef := shardOf(t, site, "calico")
	shard := "/" + shardRef.Path
	cases := []struct {
		name    string
		corrupt func(t *testing.T, cache string)
		refetch string // the path that must be downloaded again
		status  int    // its expected HTTP status on the repair fetch
		hits    int    // requests for it during the repair (default 1)
	}{
		{"archive flipped", func(t *testing.T, c string) { flipAll(t, c, "archives", "*.tar.gz") }, arch, 200, 1},
		{"archive truncated", func(t *testing.T, c string) { truncateAll(t, c, "archives", "*.tar.gz") }, arch, 200, 1},
		{"archive replaced by another", func(t *testing.T, c string) {
			m, _ := filepath.Glob(filepath.Join(c, "archives", "*.tar.gz"))
			os.WriteFile(m[0], mustRead(t, filepath.Join(site, "packs/metallb/0.14.0/metallb-0.14.0.tar.gz")), 0o644)
		}, arch, 200, 1},
		{"bucket flipped", func(t *testing.T, c string) {
			testutil.Flip(t, filepath.Join(c, "meta", strings.TrimSuffix(filepath.Base(bucket), ".json")+".json"))
		}, bucket, 200, 1},
		{"shard truncated", func(t *testing.T, c string) {
			p := filepath.Join(c, "meta", filepath.Base(shard))
			os.WriteFile(p, mustRead(t, p)[:10], 0o644)
		}, shard, 200, 1},
		{"cached index.json flipped", func(t *testing.T, c string) { flipAll(t, c, "roots", "*/index.json") }, "/index.json", 200, 1},
		{"cached index.json and its etag record both forged", func(t *testing.T, c string) {
			// Consistent garbage: the server says 304, the copy fails
			// verification, the client fetches the index whole.
			m, _ := filepath.Glob(filepath.Join(c, "roots", "*", "index.json.etag"))
			tag, _, _ := strings.Cut(string(mustRead(t, m[0])), "\n")
			garbage := []byte(`{"schemaVersion":1}`)
			os.WriteFile(filepath.Join(filepath.Dir(m[0]), "index.json"), garbage, 0o644)
			os.WriteFile(m[0], []byte(tag+"\n"+index.Digest(garbage)), 0o644)
		}, "/index.json", 200, 2},
		{"etag record garbage", func(t *testing.T, c string) {
			m, _ := filepath.Glob(filepath.Join(c, "roots", "*", "index.json.etag"))
			os.WriteFile(m[0], []byte("\x00\xff garbage"), 0o644)
		}, "/index.json", 200, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, site)
			e := newEnv(t)
			dest := filepath.Join(t.TempDir(), "calico")
			if _, err := e.client(t, srv.URL, f.pub).Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: "1.10.0", Dest: dest}); err != nil {
				t.Fatal(err)
			}
			before := srv.count(tc.refetch)
			tc.corrupt(t, e.cache)
			var warn strings.Builder
			res, err := e.client(t, srv.URL, f.pub, func(o *Options) { o.Warn = &warn }).Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: "1.10.0", Dest: dest + "2"})
			if err != nil {
				t.Fatalf("fetch with a corrupt cache: %v", err)
			}
			if res.Version != "1.10.0" || !strings.Contains(string(mustRead(t, filepath.Join(dest+"2", "pack.json"))), `"1.10.0"`) {
				t.Fatalf("wrong content: %+v", res)
			}
			if srv.count(tc.refetch) != before+tc.hits {
				t.Errorf("%s fetched %d times after the corruption, want %d", tc.refetch, srv.count(tc.refetch)-before, tc.hits)
			}
			srv.mu.Lock()
			status := srv.status[tc.refetch]
			srv.mu.Unlock()
			if status != tc.status {
				t.Errorf("%s: last status %d, want %d", tc.refetch, status, tc.status)
			}
			checkCache(t, e.cache)
			// The repaired cache serves the next fetch without downloads
			// of the repaired file.
			n := srv.count(tc.refetch)
			if _, err := e.client(t, srv.URL, f.pub).Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: "1.10.0", Dest: dest + "3"}); err != nil {
				t.Fatal(err)
			}
			if tc.refetch != "/index.json" && srv.count(tc.refetch) != n {
				t.Errorf("%s not served from the repaired cache", tc.refetch)
			}
		})
	}
}

// cached lists the cache's files matching dir/glob; there must be some.
func cached(t *testing.T, cache, dir, glob string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(cache, dir, glob))
	if len(m) == 0 {
		t.Fatalf("nothing cached in %s/%s", dir, glob)
	}
	return m
}

func flipAll(t *testing.T, cache, dir, glob string) {
	t.Helper()
	for _, p := range cached(t, cache, dir, glob) {
		testutil.Flip(t, p)
	}
}

func truncateAll(t *testing.T, cache, dir, glob string) {
	t.Helper()
	for _, p := range cached(t, cache, dir, glob) {
		os.Truncate(p, 5)
	}
}
