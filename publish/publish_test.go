package publish

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/s3test"
	"github.com/packgen/packgen/sign"
)

type fixture struct {
	repo   *gitfixture.Repo
	signer *sign.Signer
	pub    []byte
	tmp    string
	n      int
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{tmp: t.TempDir()}
	var err error
	if f.repo, err = gitfixture.Init(filepath.Join(f.tmp, "repo")); err != nil {
		t.Fatal(err)
	}
	priv, pub, _ := sign.Generate(sign.ECDSAP256, sign.StaticPass([]byte("pw")))
	f.pub = pub
	f.signer, _ = sign.LoadSigner(priv, sign.StaticPass([]byte("pw")))
	return f
}

func (f *fixture) pack(name, version, values string) {
	f.repo.Write("packs/"+name+"/pack.json", []byte(`{"name": "`+name+`", "version": "`+version+`", "layer": "cni", "displayName": "x", "cloudTypes": ["all"]}`))
	f.repo.Write("packs/"+name+"/values.yaml", []byte(values))
}

// build commits and builds into a fresh site, reusing the previous one.
func (f *fixture) build(t *testing.T) string {
	t.Helper()
	if _, err := f.repo.Commit("c"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(f.tmp, "site"+string(rune('a'+f.n)))
	prev := ""
	if f.n > 0 {
		prev = filepath.Join(f.tmp, "site"+string(rune('a'+f.n-1)))
	}
	f.n++
	_, err := build.Run(context.Background(), build.Options{Repo: f.repo.Dir, Out: out, Previous: prev, History: true, Registry: "pub", Signer: f.signer, GeneratedAt: time.Now().Add(time.Duration(f.n) * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPublishS3(t *testing.T) {
	srv := s3test.Start(t, "packs")
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	f.pack("metallb", "0.13.0", "b: 1\n")
	site1 := f.build(t)
	ctx := context.Background()
	target, err := NewS3(ctx, S3Options{Bucket: "packs", Prefix: "registry", Endpoint: srv.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Publish(ctx, site1, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	puts := srv.PutOrder()
	if len(puts) == 0 || puts[len(puts)-1] != "/packs/registry/index.json" {
		t.Fatalf("index.json must be uploaded last, order: %v", puts)
	}
	for i, p := range puts {
		if strings.HasSuffix(p, ".tar.gz") && i > len(puts)-4 {
			t.Errorf("archive %s uploaded after metadata", p)
		}
	}
	// The bucket serves a complete, verifiable registry.
	base := srv.URL + "/packs/registry"
	v, _ := sign.LoadPublicKey(f.pub)
	rep, err := client.VerifySite(ctx, base, v)
	if err != nil || len(rep.Problems) != 0 || rep.Releases != 2 {
		t.Fatalf("verify published registry: %v %+v", err, rep)
	}
	// Headers: immutable archives, short-lived index.
	resp, err := http.Get(base + "/packs/calico/1.0.0/calico-1.0.0.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if cc := srv.Header("/packs/registry/packs/calico/1.0.0/calico-1.0.0.tar.gz").Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("archive Cache-Control %q", cc)
	}
	if cc := srv.Header("/packs/registry/index.json").Get("Cache-Control"); cc != "public, max-age=60, must-revalidate" {
		t.Errorf("index Cache-Control %q", cc)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/gzip" {
		t.Errorf("archive Content-Type %q", ct)
	}

	// Nothing changed: nothing uploaded.
	srv.Reset()
	res, err = Publish(ctx, site1, target, Options{})
	if err != nil || len(res.Uploaded) != 0 || len(srv.PutOrder()) != 0 {
		t.Fatalf("republish uploaded %v (%v)", res.Uploaded, err)
	}

	// One pack bumped: only what changed goes up; dry run first.
	f.pack("calico", "1.1.0", "a: 2\n")
	site2 := f.build(t)
	srv.Reset()
	dry, err := Publish(ctx, site2, target, Options{DryRun: true})
	if err != nil || len(srv.PutOrder()) != 0 || len(dry.Uploaded) == 0 {
		t.Fatalf("dry run: %v %v", err, srv.PutOrder())
	}
	res, err = Publish(ctx, site2, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range res.Uploaded {
		if strings.Contains(k, "metallb/0.13.0/") || strings.Contains(k, "calico/1.0.0/") {
			t.Errorf("unchanged release re-uploaded: %s", k)
		}
	}
	if rep, err := client.VerifySite(ctx, base, v); err != nil || len(rep.Problems) != 0 || rep.Releases != 3 {
		t.Fatalf("after update: %v %+v", err, rep)
	}
	// Prune removes stale metadata but never a published release.
	res, err = Publish(ctx, site2, target, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range res.Deleted {
		if strings.HasSuffix(k, ".tar.gz") || strings.HasSuffix(k, ".sig") && strings.HasPrefix(k, "packs/") {
			t.Errorf("prune deleted a release file: %s", k)
		}
	}
	if len(res.Deleted) == 0 {
		t.Error("prune deleted nothing (old buckets and shards expected)")
	}
	if rep, err := client.VerifySite(ctx, base, v); err != nil || len(rep.Problems) != 0 {
		t.Fatalf("after prune: %v %+v", err, rep)
	}
}

func TestPublishDir(t *testing.T) {
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	site := f.build(t)
	dst := filepath.Join(t.TempDir(), "www")
	res, err := Publish(context.Background(), site, DirTarget{Dir: dst}, Options{})
	if err != nil || len(res.Uploaded) == 0 {
		t.Fatal(err)
	}
	v, _ := sign.LoadPublicKey(f.pub)
	if rep, err := client.VerifySite(context.Background(), "file://"+dst, v); err != nil || len(rep.Problems) != 0 {
		t.Fatalf("%v %+v", err, rep)
	}
	res, _ = Publish(context.Background(), site, DirTarget{Dir: dst}, Options{})
	if len(res.Uploaded) != 0 {
		t.Errorf("second publish uploaded %v", res.Uploaded)
	}
	if _, err := os.Stat(filepath.Join(dst, "index.json")); err != nil {
		t.Fatal(err)
	}
}

func TestParseS3URL(t *testing.T) {
	b, p, err := ParseS3URL("s3://bucket/some/prefix/")
	if err != nil || b != "bucket" || p != "some/prefix" {
		t.Errorf("%s %s %v", b, p, err)
	}
	if _, _, err := ParseS3URL("https://x"); err == nil {
		t.Error("https accepted as s3 URL")
	}
}
