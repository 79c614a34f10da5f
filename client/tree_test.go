package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/treeshape"
	"github.com/packgen/packgen/sign"
)

// deepSite builds the fixture's repository again with a bucket tree of
// the given shape (forced: real registries need thousands of packs).
func deepSite(t *testing.T, f *fixture, bits, depth int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "site")
	ctx := treeshape.With(context.Background(), func(int) (int, int) { return bits, depth })
	res, err := build.Run(ctx, build.Options{Repo: f.repo.Dir, Out: out, History: true, Registry: "test", Signer: f.signer, GeneratedAt: time.Now()})
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
			// Root + sig, one node per level, shard, archive + sig.
			if len(c.Requests) != 5+depth {
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
				copyTree(t, site, tampered)
				flipByte(t, filepath.Join(tampered, p))
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

// TestWalkerStopsAtFirst: the walker's stop-at-the-first-problem mode
// (what a build reading its previous build wants) visits every node and
// shard of a clean site, and stops with ErrDigestMismatch, naming the
// file, at a tampered shard; the archive step refuses a changed archive.
func TestWalkerStopsAtFirst(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	v, _ := sign.LoadPublicKey(f.pub)
	tr, err := NewTransport(site, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWalker(tr, v)
	ctx := context.Background()
	data, err := w.Get(ctx, index.RootFile, index.MaxRootSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.RootSignature(ctx, data, nil); err != nil {
		t.Fatalf("root signature: %v", err)
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	var nodes, packs int
	var rels []index.Release
	err = w.Tree(ctx, root, TreeVisitor{
		Node: func(index.FileRef) { nodes++ },
		Shard: func(s index.Summary, shard *index.Shard) error {
			packs++
			rels = append(rels, shard.Releases...)
			return nil
		},
	})
	if err != nil || nodes == 0 || packs != 3 || len(rels) != 9 {
		t.Fatalf("clean site: %v, %d nodes, %d packs, %d releases", err, nodes, packs, len(rels))
	}
	var buf bytes.Buffer
	sum, err := w.Archive(ctx, rels[0].Archive, &buf)
	if err != nil || int64(buf.Len()) != rels[0].Archive.Size || index.Digest(buf.Bytes()) != rels[0].Archive.SHA256 {
		t.Fatalf("archive: %v, %d bytes", err, buf.Len())
	}
	raw, err := w.Get(ctx, rels[0].Signature, sign.MaxSigFileSize)
	if err != nil {
		t.Fatal(err)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }
	if err := w.ArchiveSignature(&rels[0], raw, sum, open); err != nil {
		t.Fatalf("archive signature: %v", err)
	}

	flipByte(t, filepath.Join(site, filepath.FromSlash(rels[0].Archive.Path)))
	if _, err := w.Archive(ctx, rels[0].Archive, io.Discard); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("tampered archive: %v", err)
	}
	var shard string
	_ = w.Tree(ctx, root, TreeVisitor{Shard: func(s index.Summary, _ *index.Shard) error {
		shard = s.Shard.Path
		return errors.New("stop")
	}})
	flipByte(t, filepath.Join(site, filepath.FromSlash(shard)))
	err = w.Tree(ctx, root, TreeVisitor{Shard: func(index.Summary, *index.Shard) error { return nil }})
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), shard) {
		t.Fatalf("tampered shard %s: want ErrDigestMismatch naming it, got %v", shard, err)
	}
}

// hashFile returns a file's SHA-256 and size (the tests' own check of
// what the cache holds, independent of the client's).
func hashFile(path string) ([32]byte, int64, error) {
	data, err := os.ReadFile(path)
	return sha256.Sum256(data), int64(len(data)), err
}
