package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
)

// TestSubset: ReadSubset reads, verified, only the part of the index a
// client needs for the releases asked (the nodes on each pack's path,
// its shard, its signatures, the log), and publishing it with Only
// pushes those releases alone, fetchable from the registry as from the
// site; a release or pack the index does not list is refused.
func TestSubset(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for i := range 40 {
		f.pack(fmt.Sprintf("p%02d", i), "1.0.0", "a: 1\n")
	}
	site := f.build(t)
	f.pack("p07", "1.1.0", "a: 2\n")
	site = f.build(t)
	tr, err := transport.Open(location.Location{Raw: site, Scheme: "file", Dir: site}, transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	only := map[string][]string{"p07": {"1.0.0"}, "p31": {"1.0.0"}}
	sub, err := ReadSubset(ctx, tr, f.verifier(t), only)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Releases) != 2 || sub.Releases[0].Name != "p07" || sub.Releases[0].Release.Version != "1.0.0" || sub.Releases[1].Name != "p31" {
		t.Fatalf("releases %+v", sub.Releases)
	}
	shards, buckets := 0, 0
	for p := range sub.Files {
		switch index.KindOf(p) {
		case index.KindShard:
			shards++
			if !strings.Contains(p, "/p07/") && !strings.Contains(p, "/p31/") {
				t.Errorf("shard %s of another pack", p)
			}
		case index.KindBucket:
			buckets++
		}
		data, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(p)))
		if err != nil || string(data) != string(sub.Files[p]) {
			t.Errorf("%s differs from the site's (%v)", p, err)
		}
	}
	// One node per level on each of the two paths.
	if shards != 2 || buckets == 0 || buckets > 2*sub.Root.Levels() || sub.Files[index.RootFile] == nil {
		t.Errorf("%d shards, %d buckets (%d at the top)", shards, buckets, len(sub.Root.Buckets))
	}
	for _, r := range sub.Releases {
		if r.Sigs[r.Release.Signature] == nil || sub.Files[r.Release.Signature] == nil || r.Manifest == nil {
			t.Errorf("%s: signature or manifest missing", r.Name)
		}
	}
	if _, err := ReadSubset(ctx, tr, f.verifier(t), map[string][]string{"p07": {"9.9.9"}}); !errors.Is(err, ErrNotInSite) {
		t.Errorf("missing version: %v", err)
	}
	if _, err := ReadSubset(ctx, tr, f.verifier(t), map[string][]string{"nope": {"1.0.0"}}); !errors.Is(err, ErrNotInSite) {
		t.Errorf("missing pack: %v", err)
	}

	// Published with Only: those releases and nothing else, and a client
	// fetches them with every check.
	reg := ocitest.Start(t, ocitest.Anonymous)
	do := ociOptions(reg, false, f)
	do.OCI.Verify, do.OCI.Only = f.verifier(t), only
	dest := "oci://" + reg.Host() + "/acme"
	res, err := To(ctx, site, dest, do, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Releases.Pushed) != 2 {
		t.Errorf("pushed %v", res.Releases.Pushed)
	}
	r := client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}
	c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Fetch(ctx, client.FetchOptions{Name: "p31", Constraint: "1.0.0", Dest: filepath.Join(t.TempDir(), "out")})
	if err != nil || !got.Verified {
		t.Fatalf("fetch p31 from the subset: %+v %v", got, err)
	}
	if _, err := c.Fetch(ctx, client.FetchOptions{Name: "p02", Constraint: "1.0.0", Dest: filepath.Join(t.TempDir(), "out2")}); err == nil {
		t.Error("fetched a pack the subset does not hold")
	}
}

// TestSubsetEd25519: an ed25519 key signs the whole archive, so checking
// a release's .sig reads it. ReadSubset reads no archive (air-gap checks
// each .sig over the copy it makes): it once opened one through a site
// with no transport for archives, and panicked.
func TestSubsetEd25519(t *testing.T) {
	priv, pub, err := sign.Generate(sign.Ed25519, sign.StaticPass([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	if f.signer, err = sign.LoadSigner(priv, sign.StaticPass([]byte("pw"))); err != nil {
		t.Fatal(err)
	}
	f.pub = pub
	f.pack("p01", "1.0.0", "a: 1\n")
	site := f.build(t)
	tr, err := transport.Open(location.Location{Raw: site, Scheme: "file", Dir: site}, transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ReadSubset(context.Background(), tr, f.verifier(t), map[string][]string{"p01": {"1.0.0"}})
	if err != nil || len(sub.Releases) != 1 || sub.Releases[0].Sigs[sub.Releases[0].Release.Signature] == nil {
		t.Fatalf("ReadSubset under an ed25519 key: %v %+v", err, sub)
	}
}
