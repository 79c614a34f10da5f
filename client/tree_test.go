package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// deepSite builds the fixture's repository again with a bucket tree of
// the given shape (forced: real registries need thousands of packs).
func deepSite(t *testing.T, f *fixture, bits, depth int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "site")
	shape := func(int) (int, int) { return bits, depth }
	res, err := build.Run(context.Background(), build.Options{Repo: f.repo.Dir, Out: out, History: true, Registry: "test", Signer: f.signer, GeneratedAt: time.Now(), Shape: shape})
	if err != nil {
		t.Fatal(err)
	}
	if res.Root.Levels() != depth || res.Root.BucketBits != bits {
		t.Fatalf("built depth %d × %d bits, want %d × %d", res.Root.Levels(), res.Root.BucketBits, depth, bits)
	}
	return out
}

// pathOf lists the bucket nodes from the root to name's leaf.
func pathOf(t *testing.T, site, name string) []string {
	t.Helper()
	root, err := index.ParseRoot(mustRead(t, filepath.Join(site, "index.json")))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	_, err = index.LeafOf(root, name, func(ref index.FileRef) ([]byte, error) {
		out = append(out, ref.Path)
		return mustRead(t, filepath.Join(site, ref.Path)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeepTree(t *testing.T) {
	f := newFixture(t)
	v, _ := sign.LoadPublicKey(f.pub)
	for _, shape := range [][2]int{{4, 2}, {2, 3}} {
		bits, depth := shape[0], shape[1]
		t.Run(fmt.Sprintf("%dx%d", bits, depth), func(t *testing.T) {
			site := deepSite(t, f, bits, depth)
			srv := newServer(t, site)
			e := newEnv(t)
			c := e.client(t, srv.URL, f.pub)
			res, err := c.Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: "~1.2", Dest: filepath.Join(t.TempDir(), "calico")})
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != "1.2.5" || !res.Verified {
				t.Fatalf("result %+v", res)
			}
			// Root + sig, one node per level, shard, the log tile of
			// the release's inclusion proof, archive + sig.
			if len(c.Requests) != 6+depth {
				t.Errorf("resolve+fetch through %d levels read %d files: %v", depth, len(c.Requests), c.Requests)
			}
			for _, p := range pathOf(t, site, "calico") {
				if srv.count("/"+p) != 1 {
					t.Errorf("node %s on calico's path read %d times", p, srv.count("/"+p))
				}
			}
			all, err := c.Catalog(context.Background())
			if err != nil || len(all) != 3 || all[0].Name != "calico" || all[2].Name != "metallb" {
				t.Fatalf("catalog: %v %+v", err, all)
			}
			if _, err := c.Summary(context.Background(), "absent"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("absent pack: %v", err)
			}
			rep, err := VerifySite(context.Background(), srv.URL, v)
			if err != nil || len(rep.Problems) != 0 || rep.Packs != 3 || rep.Releases != 9 {
				t.Fatalf("verify: %v %+v", err, rep)
			}

			// Every node on the path, interior ones included, is pinned
			// by its parent: a changed byte anywhere is caught.
			for level, p := range pathOf(t, site, "calico") {
				tampered := filepath.Join(t.TempDir(), "site")
				testutil.CopyDir(t, site, tampered)
				testutil.Flip(t, filepath.Join(tampered, p))
				ts := newServer(t, tampered)
				_, err := newEnv(t).client(t, ts.URL, f.pub).Resolve(context.Background(), "calico", "", false)
				if !errors.Is(err, ErrDigestMismatch) {
					t.Errorf("level %d node tampered: want ErrDigestMismatch, got %v", level+1, err)
				}
				rep, err := VerifySite(context.Background(), ts.URL, v)
				if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Err, "digest mismatch") {
					t.Errorf("verify over level %d node tampered: %v %+v", level+1, err, rep.Problems)
				}
			}
		})
	}
}

// hashFile returns a file's SHA-256 and size (the tests' own check of
// what the cache holds, independent of the client's).
func hashFile(path string) ([32]byte, int64, error) {
	data, err := os.ReadFile(path)
	return sha256.Sum256(data), int64(len(data)), err
}
