package publish

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
)

// ociSetup is how every OCI publish test starts: a real registry in mode
// and a fixture repository whose builds are signed with the test key.
func ociSetup(t *testing.T, mode ocitest.Mode) (*ocitest.Registry, *fixture) {
	t.Helper()
	return ocitest.Start(t, mode), newFixture(t)
}

// ociSite starts a registry in mode and builds a first site of the
// usual test packs: hello 1.0.0 and, with calico, calico 3.27.0.
func ociSite(t *testing.T, mode ocitest.Mode, calico bool) (*ocitest.Registry, *fixture, string) {
	t.Helper()
	reg, f := ociSetup(t, mode)
	f.pack("hello", "1.0.0", "b: 1\n")
	if calico {
		f.pack("calico", "3.27.0", "a: 1\n")
	}
	return reg, f, f.build(t)
}

// mustPublish publishes site to dest (oci://…) on reg, signed with f's
// key, failing the test on any error.
func mustPublish(t *testing.T, reg *ocitest.Registry, f *fixture, site, dest string) *Result {
	t.Helper()
	res, err := To(context.Background(), site, dest, ociOptions(reg, true, f), Options{})
	if err != nil {
		t.Fatalf("publish %s to %s: %v", site, dest, err)
	}
	return res
}

// verifyOCI verifies the registry at dest (oci://…) as a
// client does, with every check (credentials from DOCKER_CONFIG, if
// set), and that it holds releases releases.
func verifyOCI(t *testing.T, reg *ocitest.Registry, f *fixture, dest string, releases int) {
	t.Helper()
	r := client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}
	tr, err := r.Transport("", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := client.VerifySiteVia(context.Background(), tr, f.verifier(t))
	if err != nil || len(rep.Problems) != 0 || rep.Releases != releases {
		t.Fatalf("verify %s: %v %+v", dest, err, rep)
	}
}

// ociOptions opens reg's repositories with its credentials, signing with
// f's key when signer.
func ociOptions(reg *ocitest.Registry, signer bool, f *fixture) DestOptions {
	// As the command opens them: one client per registry host.
	clients := ocireg.NewClients(ocireg.Options{PlainHTTP: true, Username: reg.Username, Password: reg.Password})
	do := DestOptions{OCI: OCIOptions{Repos: func(ref string) (*remote.Repository, error) {
		return clients.Repository(context.Background(), ref)
	}}}
	if signer {
		do.OCI.Signer = f.signer
	}
	return do
}

// oras runs the real ORAS CLI against the test registry.
func oras(t *testing.T, reg *ocitest.Registry, args ...string) []byte {
	t.Helper()
	args = append(args, "--plain-http")
	if reg.Username != "" {
		args = append(args, "-u", reg.Username, "-p", reg.Password)
	}
	cmd := exec.Command(ocitest.Tool(t, "oras"), args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("oras %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatal(err)
	}
	return out
}

func releaseTags(t *testing.T, reg *ocitest.Registry, repo string) []string {
	t.Helper()
	out := strings.Fields(string(oras(t, reg, "repo", "tags", reg.Host()+"/"+repo)))
	slices.Sort(out)
	return out
}

// TestPublishOCI publishes a signed site to a real distribution registry
// (basic auth) and checks what Palette and the real oras CLI see: one
// repository per pack whose tags are its versions, the ORAS v1.0.0
// manifest, the archive's bytes; then that a second publish pushes
// nothing, and that a tag naming other content is refused, never
// overwritten.
func TestPublishOCI(t *testing.T) {
	reg, f := ociSetup(t, ocitest.Basic)
	f.pack("calico", "3.27.0", "a: 1\n")
	f.pack("hello", "1.0.0", "b: 1\n")
	site1 := f.build(t)
	f.pack("calico", "3.27.1", "a: 2\n")
	site := f.build(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme/packs"
	do := ociOptions(reg, true, f)

	// Dry run: the plan, nothing sent but reads.
	var log bytes.Buffer
	res, err := To(ctx, site, dest, do, Options{DryRun: true, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Releases.Pushed) != 3 || reg.Requests("PUT", "") != 0 || !strings.Contains(log.String(), "would push "+reg.Host()+"/acme/packs/spectro-packs/archive/calico:3.27.1") ||
		!strings.Contains(log.String(), "would push 3 cosign signature(s)") || !strings.Contains(log.String(), "would publish the packgen index") {
		t.Fatalf("dry run: %+v, %d PUTs, log:\n%s", res.Releases, reg.Requests("PUT", ""), log.String())
	}

	res, err = To(ctx, site, dest, do, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Releases.Pushed) != 3 || res.Releases.Present != 0 || res.Releases.Signed != 3 {
		t.Fatalf("first publish: %+v", res.Releases)
	}
	// Palette lists versions from each pack repository's tags: nothing else.
	if got := releaseTags(t, reg, "acme/packs/spectro-packs/archive/calico"); !slices.Equal(got, []string{"3.27.0", "3.27.1"}) {
		t.Fatalf("calico tags %v", got)
	}
	if got := releaseTags(t, reg, "acme/packs/spectro-packs/archive/hello"); !slices.Equal(got, []string{"1.0.0"}) {
		t.Fatalf("hello tags %v", got)
	}
	// The base artifact exists (by digest, with no tag).
	base, _ := ocimap.BaseManifest()
	oras(t, reg, "manifest", "fetch", reg.Host()+"/acme/packs/spectro-packs/archive@"+base.Desc.Digest.String())

	// The manifest ORAS v1.0.0 writes, and the layer is the archive.
	shard := shardOf(t, site, "calico")
	rel := shard.Releases[1]
	want, err := ocimap.ArchiveManifest(rel.Archive.SHA256, rel.Archive.Size, "calico-3.27.1.tar.gz", rel.Created)
	if err != nil {
		t.Fatal(err)
	}
	got := oras(t, reg, "manifest", "fetch", reg.Host()+"/acme/packs/spectro-packs/archive/calico:3.27.1")
	if !bytes.Equal(got, want.Manifest) {
		t.Fatalf("manifest\n got %s\nwant %s", got, want.Manifest)
	}
	var m struct {
		Config struct{ MediaType string }
		Layers []struct {
			MediaType   string
			Annotations map[string]string
		}
		Annotations map[string]string
	}
	if err := json.Unmarshal(got, &m); err != nil || m.Config.MediaType != "application/vnd.unknown.config.v1+json" || len(m.Layers) != 1 ||
		m.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar" || m.Layers[0].Annotations["org.opencontainers.image.title"] != "calico-3.27.1.tar.gz" ||
		m.Annotations["org.opencontainers.image.created"] != rel.Created.UTC().Format("2006-01-02T15:04:05Z") {
		t.Fatalf("manifest shape: %+v %v", m, err)
	}
	pulled := t.TempDir()
	oras(t, reg, "pull", reg.Host()+"/acme/packs/spectro-packs/archive/calico:3.27.1", "-o", pulled)
	a, err := os.ReadFile(filepath.Join(pulled, "calico-3.27.1.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(site, filepath.FromSlash(rel.Archive.Path)))
	if !bytes.Equal(a, b) {
		t.Fatal("oras pull gave other bytes than the site's archive")
	}

	// Again: nothing new, nothing pushed, and found out from the live
	// root and one HEAD per release tag (someone may have moved one): no
	// tags list, no GET in the packs' repositories.
	puts := reg.Requests("PUT", "")
	posts := reg.Requests("POST", "")
	before := len(reg.AccessLog())
	packReqs := func() int {
		return reg.Requests("GET", "/spectro-packs/archive/") + reg.Requests("HEAD", "/spectro-packs/archive/")
	}
	packBefore, headsBefore := packReqs(), reg.Requests("HEAD", "/spectro-packs/archive/")
	res, err = To(ctx, site, dest, do, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Releases.Pushed) != 0 || res.Releases.Present != 3 || res.Releases.Signed != 0 || reg.Requests("PUT", "") != puts || reg.Requests("POST", "") != posts {
		t.Fatalf("second publish: %+v, %d new PUTs", res.Releases, reg.Requests("PUT", "")-puts)
	}
	if n, p, heads := len(reg.AccessLog())-before, packReqs()-packBefore, reg.Requests("HEAD", "/spectro-packs/archive/")-headsBefore; n > 6+3 || p != 3 || heads != 3 {
		t.Fatalf("second publish: %d requests, %d of them to the packs' repositories (%d HEADs); want the live root's few and a HEAD per release:\n%s", n, p, heads, strings.Join(reg.AccessLog()[before:], "\n"))
	}
	// A stranger's report: a release tag moved by a plain `oras push` was
	// reported "already there". The publish now refuses it, naming who
	// wrote it (not the pack: the live index is this site's), and pushes
	// nothing; once the tag is restored the publish passes.
	moved := reg.Host() + "/acme/packs/spectro-packs/archive/calico:3.27.1"
	ours := strings.TrimSpace(string(oras(t, reg, "resolve", moved)))
	evil := filepath.Join(t.TempDir(), "calico-3.27.1.tar.gz")
	os.WriteFile(evil, []byte("evil: true"), 0o644)
	push := exec.Command(ocitest.Tool(t, "oras"), "push", "--plain-http", "-u", reg.Username, "-p", reg.Password, moved, "calico-3.27.1.tar.gz")
	push.Dir, push.Env = filepath.Dir(evil), append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	if out, err := push.CombinedOutput(); err != nil {
		t.Fatalf("oras push: %v\n%s", err, out)
	}
	puts = reg.Requests("PUT", "")
	res, err = To(ctx, site, dest, do, Options{})
	if !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), "moved to other content since this very site was published") || !strings.Contains(err.Error(), "someone else wrote the registry since") || !strings.Contains(err.Error(), "packgen verify --site "+dest) || strings.Contains(err.Error(), "bump the version") {
		t.Fatalf("a moved tag: %v", err)
	}
	if len(res.Releases.Refused) != 1 || res.Releases.Refused[0].Expected != ours || reg.Requests("PUT", "") != puts {
		t.Fatalf("a moved tag: %+v, %d PUTs", res.Releases, reg.Requests("PUT", "")-puts)
	}
	oras(t, reg, "tag", strings.TrimSuffix(moved, ":3.27.1")+"@"+ours, "3.27.1")
	if res, err = To(ctx, site, dest, do, Options{}); err != nil || res.Releases.Present != 3 {
		t.Fatalf("after the tag was restored: %v %+v", err, res)
	}
	// An older site is a rollback.
	if _, err := To(ctx, site1, dest, do, Options{}); !errors.Is(err, ErrRollback) {
		t.Fatalf("publishing the older site: %v", err)
	}

	// Someone pushed other content as hello:2.0.0; the site's hello 2.0.0
	// is refused with both digests, and nothing is pushed.
	other := filepath.Join(t.TempDir(), "hello-2.0.0.tar.gz")
	os.WriteFile(other, []byte("not this release"), 0o644)
	cmd := exec.Command(ocitest.Tool(t, "oras"), "push", "--plain-http", "-u", reg.Username, "-p", reg.Password, reg.Host()+"/acme/packs/spectro-packs/archive/hello:2.0.0", "hello-2.0.0.tar.gz")
	cmd.Dir, cmd.Env = filepath.Dir(other), append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oras push: %v\n%s", err, out)
	}
	theirs := strings.TrimSpace(string(oras(t, reg, "resolve", reg.Host()+"/acme/packs/spectro-packs/archive/hello:2.0.0")))
	f.pack("hello", "2.0.0", "b: 2\n")
	f.pack("calico", "3.28.0", "a: 3\n")
	site3 := f.build(t)
	puts = reg.Requests("PUT", "")
	res, err = To(ctx, site3, dest, do, Options{})
	if !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), "hello@2.0.0") || !strings.Contains(err.Error(), theirs) || !strings.Contains(err.Error(), "bump the version") {
		t.Fatalf("tag conflict: %v", err)
	}
	if len(res.Releases.Refused) != 1 || res.Releases.Refused[0].Remote != theirs || reg.Requests("PUT", "") != puts {
		t.Fatalf("refusal: %+v, %d PUTs", res.Releases, reg.Requests("PUT", "")-puts)
	}
	if now := strings.TrimSpace(string(oras(t, reg, "resolve", reg.Host()+"/acme/packs/spectro-packs/archive/hello:2.0.0"))); now != theirs {
		t.Fatalf("the tag moved to %s", now)
	}
}

func shardOf(t *testing.T, site, name string) *index.Shard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(site, "packs", name, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := index.ParseShard(data, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOCIIndex publishes a site to a real registry and reads it back as
// a packgen registry through the oci source: fetch with every check,
// verify of the whole registry, rollback refused, and the files a resolve
// reads staying the same in number as the registry grows.
func TestOCIIndex(t *testing.T) {
	reg, f, site := ociSite(t, ocitest.Anonymous, true)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site, dest)
	r := client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}
	state := t.TempDir()
	fetch := func(name, constraint string) (*client.FetchResult, error) {
		c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: state})
		if err != nil {
			t.Fatal(err)
		}
		return c.Fetch(ctx, client.FetchOptions{Name: name, Constraint: constraint, Dest: filepath.Join(t.TempDir(), "out")})
	}
	res, err := fetch("calico", "^3.27")
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "3.27.0" || res.SHA256 != shardOf(t, site, "calico").Releases[0].Archive.SHA256 {
		t.Fatalf("fetched %+v", res)
	}
	if got, _ := os.ReadFile(filepath.Join(res.Dest, "values.yaml")); string(got) != "a: 1\n" {
		t.Fatalf("values.yaml %q", got)
	}
	verifyOCI(t, reg, f, dest, 2)

	// Metadata per resolve stays O(1): count the registry's requests
	// for one fetch at 2 packs and at 40.
	perFetch := func() int {
		before := len(reg.AccessLog())
		if _, err := fetch("hello", ""); err != nil {
			t.Fatal(err)
		}
		return len(reg.AccessLog()) - before
	}
	small := perFetch()
	idx, err := ocireg.Repository(ctx, reg.Host()+"/acme/packgen/index", ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	oldRoot, err := idx.Resolve(ctx, ocimap.RootTag)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 38; i++ {
		f.pack(fmt.Sprintf("p%02d", i), "1.0.0", "x: 1\n")
	}
	site2 := f.build(t)
	mustPublish(t, reg, f, site2, dest)
	if big := perFetch(); big > small+1 {
		t.Fatalf("a fetch took %d requests at 2 packs and %d at 40", small, big)
	}
	// The client saw serial 2 now; the registry rolled back by hand (the
	// old root manifest tagged "root" again) is refused, and so is
	// publishing the older site.
	if err := idx.Tag(ctx, oldRoot, ocimap.RootTag); err != nil {
		t.Fatal(err)
	}
	if _, err := fetch("hello", ""); !errors.Is(err, client.ErrRollback) {
		t.Fatalf("rolled-back registry: %v", err)
	}

	// A registry serving other bytes for an archive (its storage
	// tampered with, same length): refused, naming the reference, and
	// the destination is not written.
	rel := shardOf(t, site, "calico").Releases[0]
	blob := filepath.Join(reg.Dir, "docker/registry/v2/blobs/sha256", rel.Archive.SHA256[:2], rel.Archive.SHA256, "data")
	testutil.Flip(t, blob)
	c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	_, err = c.Fetch(ctx, client.FetchOptions{Name: "calico", Dest: out})
	if !errors.Is(err, transport.ErrWrongBytes) || !strings.Contains(err.Error(), "spectro-packs/archive/calico@sha256:"+rel.Archive.SHA256) {
		t.Fatalf("tampered archive: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the destination was written: %v", err)
	}
}

// TestOCICosign checks packgen's release signatures with the real cosign:
// accepted with the registry's key (signatures read from the separate
// repository, as COSIGN_REPOSITORY says), refused with another key, and
// a publish with a key that does not sign the site is refused before
// anything is pushed.
func TestOCICosign(t *testing.T) {
	cosign := ocitest.Tool(t, "cosign")
	reg, f, site := ociSite(t, ocitest.Anonymous, false)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"

	other := testutil.NewKey(t)
	wrong, pub2 := other.Signer, other.Pub
	do := ociOptions(reg, true, f)
	do.OCI.Signer = wrong
	if _, err := To(ctx, site, dest, do, Options{}); !errors.Is(err, ErrNotSite) || reg.Requests("PUT", "") != 0 {
		t.Fatalf("publishing with a key that does not sign the site: %v, %d PUTs", err, reg.Requests("PUT", ""))
	}
	mustPublish(t, reg, f, site, dest)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "registry.pub"), filepath.Join(dir, "other.pub")
	os.WriteFile(good, f.pub, 0o644)
	os.WriteFile(bad, pub2, 0o644)
	verify := func(key string) ([]byte, error) {
		cmd := exec.Command(cosign, "verify", "--key", key, "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", reg.Host()+"/acme/spectro-packs/archive/hello:1.0.0")
		cmd.Env = append(os.Environ(), "COSIGN_REPOSITORY="+reg.Host()+"/acme/packgen/signatures", "DOCKER_CONFIG="+t.TempDir())
		return cmd.CombinedOutput()
	}
	out, err := verify(good)
	if err != nil || !strings.Contains(string(out), `"docker-manifest-digest":"sha256:`) {
		t.Fatalf("cosign verify with the registry's key: %v\n%s", err, out)
	}
	if out, err := verify(bad); err == nil {
		t.Fatalf("cosign verify accepted another key:\n%s", out)
	}
	// The signature is not among the pack's tags.
	if got := releaseTags(t, reg, "acme/spectro-packs/archive/hello"); strings.Join(got, " ") != "1.0.0" {
		t.Fatalf("hello's tags: %v", got)
	}
}

// TestOCIPromote promotes a registry from one real OCI registry to
// another (dev, anonymous → prod, basic auth) without the key: the
// release manifests, archives, signatures and the packgen index arrive
// byte for byte, cosign signatures stay valid, clients verify prod, and
// promoting again pushes nothing.
func TestOCIPromote(t *testing.T) {
	dev := ocitest.Start(t, ocitest.Anonymous)
	prod := ocitest.Start(t, ocitest.Basic)
	f := newFixture(t)
	f.pack("calico", "3.27.0", "a: 1\n")
	f.pack("hello", "1.0.0", "b: 1\n")
	site := f.build(t)
	ctx := context.Background()
	mustPublish(t, dev, f, site, "oci://"+dev.Host()+"/dev")
	do := promoteOptions(dev, prod)
	do.OCI.Verify = f.verifier(t) // dev's root and cosign signatures must verify before anything is copied
	src, dst := "oci://"+dev.Host()+"/dev", "oci://"+prod.Host()+"/prod"
	var log bytes.Buffer
	res, err := To(ctx, src, dst, do, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	// The signatures are copied: no word of pushing without them.
	if len(res.Releases.Pushed) != 2 || res.Releases.Signed != 2 || strings.Contains(log.String(), "warning") {
		t.Fatalf("promotion: %+v\n%s", res.Releases, log.String())
	}
	for _, ref := range []string{"calico:3.27.0", "hello:1.0.0"} {
		a := oras(t, dev, "manifest", "fetch", dev.Host()+"/dev/spectro-packs/archive/"+ref)
		b := oras(t, prod, "manifest", "fetch", prod.Host()+"/prod/spectro-packs/archive/"+ref)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: the promoted manifest differs:\n%s\n%s", ref, a, b)
		}
	}
	// Clients verify prod with every check.
	t.Setenv("DOCKER_CONFIG", dockerConfig(t, prod))
	verifyOCI(t, prod, f, dst, 2)
	if cosign, ok := ocitest.FindTool("cosign"); ok {
		key := filepath.Join(t.TempDir(), "registry.pub")
		os.WriteFile(key, f.pub, 0o644)
		cmd := exec.Command(cosign, "verify", "--key", key, "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", prod.Host()+"/prod/spectro-packs/archive/hello:1.0.0")
		cmd.Env = append(os.Environ(), "COSIGN_REPOSITORY="+prod.Host()+"/prod/packgen/signatures")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign verify of the promoted release: %v\n%s", err, out)
		}
	}
	puts := prod.Requests("PUT", "")
	res, err = To(ctx, src, dst, do, Options{})
	if err != nil || len(res.Releases.Pushed) != 0 || res.Releases.Present != 2 || prod.Requests("PUT", "") != puts {
		t.Fatalf("promoting again: %v %+v, %d PUTs", err, res.Releases, prod.Requests("PUT", "")-puts)
	}
	// A stranger's report: the signatures a promotion copies went with
	// "warning: no --key: … pushed without cosign signatures" (gone:
	// above). It says once, as a note, that it copies them.
	var l strings.Builder
	if res, err = To(ctx, src, dst+"2", do, Options{Log: &l}); err != nil || res.Releases.Signed != 2 {
		t.Fatalf("promoting to a second base: %v %+v", err, res)
	}
	if log := l.String(); strings.Count(log, "note: no --key: copying the cosign signatures of 2 release(s) from "+dev.Host()+"/dev/packgen/signatures, each verified under --source-key first") != 1 {
		t.Errorf("the log of a promotion that copies signatures:\n%s", log)
	}
}

// dockerConfig writes a docker config.json with the registry's
// credentials and returns its directory.
func dockerConfig(t *testing.T, reg *ocitest.Registry) string {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"`+reg.Host()+`":{"auth":"`+auth+`"}}}`), 0o600)
	return dir
}

// failAfter is a registry client that stops working after n requests,
// as a publisher killed at that point would: what the registry holds
// then is what a crash leaves.
type failAfter struct {
	c remote.Client
	n *atomic.Int64
}

var errKilled = errors.New("killed")

func (f failAfter) Do(req *http.Request) (*http.Response, error) {
	if f.n.Add(-1) < 0 {
		return nil, errKilled
	}
	return f.c.Do(req)
}

// TestOCIKilledPublish stops a publish after k requests, for many k, and
// checks after each that every tag of every pack names a complete
// manifest whose blobs the registry has (oras pulls it) and whose cosign
// signature is there, that packgen
// clients read the registry whole (the old generation or the new one),
// and that the next publish completes it.
func TestOCIKilledPublish(t *testing.T) {
	f := newFixture(t)
	f.pack("calico", "3.27.0", "a: 1\n")
	f.pack("hello", "1.0.0", "b: 1\n")
	site1 := f.build(t)
	f.pack("calico", "3.27.1", "a: 2\n")
	f.pack("cilium", "1.0.0", "c: 1\n")
	site2 := f.build(t)
	ctx := context.Background()
	for _, k := range []int{3, 9, 17, 26, 34, 45, 60} {
		reg := ocitest.Start(t, ocitest.Anonymous)
		dest := "oci://" + reg.Host() + "/acme"
		mustPublish(t, reg, f, site1, dest)
		var left atomic.Int64
		left.Store(int64(k))
		do := ociOptions(reg, true, f)
		open := do.OCI.Repos
		do.OCI.Repos = func(ref string) (*remote.Repository, error) {
			r, err := open(ref)
			if err == nil {
				r.Client = failAfter{r.Client, &left}
			}
			return r, err
		}
		_, err := To(ctx, site2, dest, do, Options{Jobs: 2})
		if err == nil {
			t.Logf("k=%d: the publish finished before the kill", k)
		} else if !errors.Is(err, errKilled) {
			t.Fatalf("k=%d: %v", k, err)
		} else if strings.Count(err.Error(), reg.Host()) != 1 {
			// "push REF: killed", not "push REF: REF: killed".
			t.Errorf("k=%d: the error names the registry more than once: %v", k, err)
		}
		// ... and every tag has its cosign signature already
		// (stranger5 finding 10: an interrupted publish left tags
		// Palette lists whose signature was not pushed yet).
		sigRepo, _ := ociOptions(reg, false, f).OCI.Repos(reg.Host() + "/acme/" + ocimap.SignatureRepo)
		sigs, err := listTags(ctx, sigRepo)
		if err != nil {
			t.Fatal(err)
		}
		for _, pack := range []string{"calico", "hello", "cilium"} {
			repo, _ := ociOptions(reg, false, f).OCI.Repos(reg.Host() + "/acme/spectro-packs/archive/" + pack)
			tags, err := listTags(ctx, repo)
			if err != nil {
				t.Fatal(err)
			}
			for tag := range tags {
				oras(t, reg, "pull", reg.Host()+"/acme/spectro-packs/archive/"+pack+":"+tag, "-o", t.TempDir())
				desc, err := repo.Resolve(ctx, tag)
				if err != nil || !sigs[ocimap.CosignTag(desc.Digest)] {
					t.Errorf("k=%d: %s:%s (%v) has no cosign signature", k, pack, tag, err)
				}
			}
		}
		r := client.Registry{Name: "acme", URL: dest, PlainHTTP: true}
		check := func(want ...int) {
			t.Helper()
			tr, _ := r.Transport("", 0, 0)
			rep, err := client.VerifySiteVia(ctx, tr, f.verifier(t))
			if err != nil || len(rep.Problems) != 0 || !slices.Contains(want, rep.Releases) {
				t.Fatalf("k=%d: verify: %v %+v", k, err, rep)
			}
		}
		check(2, 4)
		if _, err := To(ctx, site2, dest, ociOptions(reg, true, f), Options{}); err != nil {
			t.Fatalf("k=%d: rerun: %v", k, err)
		}
		check(4)
	}
}

// TestOCITokenAuth publishes to and reads from a registry behind the
// distribution token flow (a real registry, our token issuer): the
// publisher with --username credentials, the client with the docker
// config, as a CI job and a workstation would.
func TestOCITokenAuth(t *testing.T) {
	reg, f, site := ociSite(t, ocitest.Token, false)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	res, err := To(ctx, site, dest, ociOptions(reg, true, f), Options{})
	if err != nil || len(res.Releases.Pushed) != 1 || reg.Tokens() == 0 {
		t.Fatalf("publish: %v %+v, %d tokens", err, res, reg.Tokens())
	}
	t.Setenv("DOCKER_CONFIG", dockerConfig(t, reg))
	c, err := client.New(client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}, client.Options{CacheDir: t.TempDir(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Fetch(ctx, client.FetchOptions{Name: "hello", Dest: filepath.Join(t.TempDir(), "hello")})
	if err != nil || got.Version != "1.0.0" {
		t.Fatalf("fetch: %v %+v", err, got)
	}
	// Without credentials the client's error names the reference and
	// how to log in.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	c, _ = client.New(client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}, client.Options{CacheDir: t.TempDir(), StateDir: t.TempDir()})
	if _, err := c.Fetch(ctx, client.FetchOptions{Name: "hello", Dest: filepath.Join(t.TempDir(), "h")}); !errors.Is(err, ocireg.ErrUnauthorized) || !strings.Contains(err.Error(), "docker login") {
		t.Fatalf("no credentials: %v", err)
	}
}

// TestOCIKeyRotation publishes with one key, rebuilds the registry with a
// new one (the old trusted for the previous build), and publishes again:
// every release's cosign signature manifest then holds both signatures,
// so the real cosign verifies with either key, and a third publish signs
// nothing more.
func TestOCIKeyRotation(t *testing.T) {
	reg, f := ociSetup(t, ocitest.Anonymous)
	f.pack("hello", "1.0.0", "b: 1\n")
	site1 := f.build(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site1, dest)
	oldPub := f.pub
	rotated, err := otherKey()
	if err != nil {
		t.Fatal(err)
	}
	newKey, newPub := rotated.Signer, rotated.Pub
	trust, err := sign.NewVerifierSet(oldPub, newPub)
	if err != nil {
		t.Fatal(err)
	}
	f.pack("calico", "3.27.0", "a: 1\n")
	if _, err := f.repo.Commit("c"); err != nil {
		t.Fatal(err)
	}
	site2 := filepath.Join(f.tmp, "rotated")
	if _, err := build.Run(ctx, build.Options{Repo: f.repo.Dir, Out: site2, Previous: site1, History: true, Registry: "pub", Signer: newKey, Trust: trust, GeneratedAt: f.t0.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	do := ociOptions(reg, true, f)
	do.OCI.Signer = newKey
	// Refused before anything is pushed, even with Force: an unsigned
	// site, and one the new key signed afresh, recording no rotation
	// from the live key.
	idx, _ := do.OCI.Repos(reg.Host() + "/acme/packgen/index")
	liveRoot, err := idx.Resolve(ctx, ocimap.RootTag)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		signer *sign.Signer
	}{{"unsigned", nil}, {"fresh", newKey}} {
		out := filepath.Join(f.tmp, c.name)
		o := build.Options{Repo: f.repo.Dir, Out: out, History: true, Registry: "pub", GeneratedAt: f.t0.Add(48 * time.Hour)}
		cdo := ociOptions(reg, false, f)
		if c.signer != nil {
			o.Signer, cdo.OCI.Signer = c.signer, c.signer
		}
		if _, err := build.Run(ctx, o); err != nil {
			t.Fatal(err)
		}
		if _, err := To(ctx, out, dest, cdo, Options{Force: true}); !errors.Is(err, ErrKeyChange) || !strings.Contains(err.Error(), f.signer.KeyID()) {
			t.Fatalf("%s site over the signed registry: want ErrKeyChange naming the live key, got %v", c.name, err)
		}
		if now, err := idx.Resolve(ctx, ocimap.RootTag); err != nil || now.Digest != liveRoot.Digest {
			t.Fatalf("%s: the root tag moved: %v %v", c.name, err, now.Digest)
		}
	}
	res, err := To(ctx, site2, dest, do, Options{})
	if err != nil || res.Releases.Signed != 2 {
		t.Fatalf("publish after the rotation: %v %+v", err, res)
	}
	sigRepo, _ := do.OCI.Repos(reg.Host() + "/acme/packgen/signatures")
	rel, _ := do.OCI.Repos(reg.Host() + "/acme/spectro-packs/archive/hello")
	desc, err := rel.Resolve(ctx, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	_, m, _, err := fetchManifest(ctx, sigRepo, ocimap.CosignTag(desc.Digest))
	if err != nil || len(m.Layers) != 2 {
		t.Fatalf("hello's signature manifest after the rotation: %v %+v", err, m)
	}
	if cosign, ok := ocitest.FindTool("cosign"); ok {
		for _, pub := range [][]byte{oldPub, newPub} {
			key := filepath.Join(t.TempDir(), "k.pub")
			os.WriteFile(key, pub, 0o644)
			cmd := exec.Command(cosign, "verify", "--key", key, "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", reg.Host()+"/acme/spectro-packs/archive/hello:1.0.0")
			cmd.Env = append(os.Environ(), "COSIGN_REPOSITORY="+reg.Host()+"/acme/packgen/signatures")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("cosign verify after the rotation: %v\n%s", err, out)
			}
		}
	}
	if res, err := To(ctx, site2, dest, do, Options{}); err != nil || res.Releases.Signed != 0 {
		t.Fatalf("third publish: %v %+v", err, res)
	}
}

// TestOCIPromoteSameRegistry promotes between two bases of one registry:
// archives are mounted across repositories, not uploaded again.
func TestOCIPromoteSameRegistry(t *testing.T) {
	reg, f, site := ociSite(t, ocitest.Anonymous, false)
	ctx := context.Background()
	do := ociOptions(reg, true, f)
	if _, err := To(ctx, site, "oci://"+reg.Host()+"/dev", do, Options{}); err != nil {
		t.Fatal(err)
	}
	do.OCI.Source = func(loc location.Location) (transport.Transport, error) {
		return transport.Open(loc, transport.Config{OCI: ocireg.Options{PlainHTTP: true}})
	}
	rel := shardOf(t, site, "hello").Releases[0]
	if _, err := To(ctx, "oci://"+reg.Host()+"/dev", "oci://"+reg.Host()+"/prod", do, Options{}); err != nil {
		t.Fatal(err)
	}
	if reg.Requests("POST", "/v2/prod/spectro-packs/archive/hello/blobs/uploads/?mount=sha256:"+rel.Archive.SHA256) != 1 {
		t.Fatalf("the archive was not mounted:\n%s", strings.Join(reg.AccessLog(), "\n"))
	}
	verifyOCI(t, reg, f, "oci://"+reg.Host()+"/prod", 1)
}
