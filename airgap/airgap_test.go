package airgap

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/profile"
	"github.com/packgen/packgen/publish"
	"github.com/packgen/packgen/sign"
)

// fixture is an "upstream" registry (real distribution registry) seeded
// with generated images (single- and multi-arch, sharing a base layer,
// two cosign-signed with the real CLI) and holding a signed packgen
// registry published from a real git repository of packs whose charts
// and manifests deploy those images; and a profile resolved against it.
type fixture struct {
	up        *ocitest.Registry
	seeded    map[string]ocitest.Seeded // by REPO:TAG
	key       *testutil.Key
	cosignPub string
	env       *profile.Env
	prof      *profile.Profile
	lock      *profile.Lock
	tmp       string
}

var plainHTTP = ocireg.Options{PlainHTTP: true}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{tmp: t.TempDir(), seeded: map[string]ocitest.Seeded{}}
	cosignKey, cosignPub := ocitest.CosignKeyPair(t)
	f.cosignPub = cosignPub
	f.up = ocitest.Start(t, ocitest.Anonymous)
	for _, s := range f.up.Seed(t, []ocitest.SeedImage{
		{Repo: "acme/web", Tag: "2.0", Base: "alpine", Sign: true},
		{Repo: "library/busybox", Tag: "1.36", Base: "alpine"},
		{Repo: "acme/backup", Tag: "v0.9", Platforms: []string{"linux/amd64", "linux/arm64"}, Base: "alpine"},
		{Repo: "acme/agent", Tag: "3.0", Platforms: []string{"linux/amd64", "linux/arm64"}, Base: "debian", Size: 256 << 10, SignBundle: true},
	}, cosignKey) {
		f.seeded[s.Repo+":"+s.Tag] = s
	}

	// The packs, their UPSTREAM placeholder made the upstream registry.
	repo, err := gitfixture.Init(filepath.Join(f.tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir("testdata/packs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata", p)
		return repo.Write(filepath.ToSlash(rel), bytes.ReplaceAll(data, []byte("UPSTREAM"), []byte(f.up.Host())))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("packs"); err != nil {
		t.Fatal(err)
	}
	f.key = testutil.NewKey(t)
	site := filepath.Join(f.tmp, "site")
	if _, err := build.Run(ctx, build.Options{Repo: repo.Dir, PacksDir: "packs", Out: site, Registry: "acme", Signer: f.key.Signer, GeneratedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.To(ctx, site, "oci://"+f.up.Host()+"/acme", publish.DestOptions{OCI: publish.OCIOptions{
		Repos:  func(ref string) (*remote.Repository, error) { return ocireg.Repository(ctx, ref, plainHTTP) },
		Signer: f.key.Signer,
	}}, publish.Options{}); err != nil {
		t.Fatal(err)
	}
	f.env = f.envAt("oci://" + f.up.Host() + "/acme")
	data, _ := os.ReadFile("testdata/profile.yaml")
	pf := filepath.Join(f.tmp, "edge-apps.yaml")
	os.WriteFile(pf, data, 0o644)
	if f.prof, err = profile.Load(pf); err != nil {
		t.Fatal(err)
	}
	res, err := profile.Resolve(ctx, f.prof, f.env, profile.ResolveOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	f.lock = res.Lock
	return f
}

// envAt is a profile environment whose registry "acme" is at url.
func (f *fixture) envAt(url string) *profile.Env {
	return &profile.Env{
		Registries: []client.Registry{{Name: "acme", URL: url, Keys: []string{string(f.key.Pub)}, PlainHTTP: true}},
		Client:     client.Options{CacheDir: filepath.Join(f.tmp, "cache-"+digest.FromString(url).Encoded()[:8]), StateDir: filepath.Join(f.tmp, "state"), Timeout: time.Minute},
	}
}

func (f *fixture) export(t *testing.T, out string) *ExportResult {
	t.Helper()
	res, err := Export(context.Background(), ExportOptions{Lock: f.lock, Env: f.env, Output: out, OCI: plainHTTP})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// exportUnchecked exports without export's own image signature check.
func (f *fixture) exportUnchecked(t *testing.T, out string) {
	t.Helper()
	if _, err := Export(context.Background(), ExportOptions{Lock: f.lock, Env: f.env, Output: out, OCI: plainHTTP, uncheckedSigs: true}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) verifier(t *testing.T) *sign.Verifier {
	v, err := sign.LoadPublicKey(f.key.Pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) importTo(ctx context.Context, t *testing.T, bundle string, air *ocitest.Registry, o ImportOptions) (*ImportResult, error) {
	o.Bundle, o.Dest, o.Key, o.OCI = bundle, "oci://"+air.Host()+"/mirror", f.verifier(t), plainHTTP
	if air.Username != "" && o.OCI.Username == "" {
		o.OCI.Username, o.OCI.Password = air.Username, air.Password
	}
	return Import(ctx, o)
}

// pushes counts the requests that write to a registry.
func pushes(r *ocitest.Registry) int {
	return r.Requests("PUT", "") + r.Requests("POST", "") + r.Requests("PATCH", "")
}

// settledPushes is pushes once the registry's access log (read from its
// output as it comes) has stopped growing: the count before a step.
func settledPushes(r *ocitest.Registry) int {
	n := pushes(r)
	for {
		time.Sleep(200 * time.Millisecond)
		m := pushes(r)
		if m == n {
			return n
		}
		n = m
	}
}

// checkImageRequests checks an export's requests to its images'
// repositories (log: the registry's access log of that export): one GET
// resolves each image (no HEAD first), every blob is fetched once however
// many images share it, and the only HEADs are the two signature-tag
// lookups per image manifest.
func checkImageRequests(t *testing.T, log []string, res *ExportResult) {
	t.Helper()
	repos := map[string]bool{}
	for _, im := range res.Images {
		repos[im.Path] = true
	}
	gets := map[string]int{}
	heads := 0
	for _, l := range log {
		m := imageRequest.FindStringSubmatch(l)
		if m == nil || !repos[m[2]] {
			continue
		}
		switch m[1] {
		case "GET":
			gets[m[2]+"/"+m[3]+"/"+m[4]]++
		case "HEAD":
			heads++
			if m[3] != "manifests" || !strings.HasPrefix(m[4], "sha256-") {
				t.Errorf("export sent HEAD %s/%s/%s: a HEAD that is no signature-tag lookup", m[2], m[3], m[4])
			}
		}
	}
	for _, im := range res.Images {
		if n := gets[im.Path+"/manifests/"+im.Tag]; n != 1 {
			t.Errorf("image %s: %d GETs of its tag, want 1", im.Image, n)
		}
	}
	for p, n := range gets {
		if n != 1 {
			t.Errorf("export fetched %s %d times", p, n)
		}
	}
	if heads != 2*len(res.Images) {
		t.Errorf("%d HEADs for %d images, want 2 each (its signature tags)", heads, len(res.Images))
	}
}

// imageRequest parses an access-log line: method, repository, manifests
// or blobs, reference.
var imageRequest = regexp.MustCompile(`"(GET|HEAD) /v2/(.+)/(manifests|blobs)/([^ /]+) HTTP`)

func repoOf(t *testing.T, ref string) *remote.Repository {
	r, err := ocireg.Repository(context.Background(), ref, plainHTTP)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkMirror compares every digest of the air-gapped registry with
// upstream's: each image's tag, every blob and manifest below it, its
// cosign signature, each pack's release manifest.
func (f *fixture) checkMirror(t *testing.T, air *ocitest.Registry) {
	t.Helper()
	ctx := context.Background()
	for key, s := range f.seeded {
		ref := air.Host() + "/mirror/spectro-images/" + list.HostPath(f.up.Host()) + "/" + s.Repo
		repo := repoOf(t, ref)
		d, err := repo.Resolve(ctx, s.Tag)
		if err != nil || d.Digest != s.Digest {
			t.Errorf("%s: %s:%s is %s (%v), upstream %s", key, ref, s.Tag, d.Digest, err, s.Digest)
		}
		for _, b := range s.Blobs {
			if _, err := repo.Blobs().Resolve(ctx, b.String()); err == nil {
				continue
			}
			if _, err := repo.Manifests().Resolve(ctx, b.String()); err != nil {
				t.Errorf("%s: %s@%s missing: %v", key, ref, b, err)
			}
		}
		if s.Signature != "" {
			if d, err := repo.Resolve(ctx, s.SignatureTag); err != nil || d.Digest != s.Signature {
				t.Errorf("%s: signature %s (%v), upstream %s", key, d.Digest, err, s.Signature)
			}
		}
	}
	for _, l := range f.lock.Layers {
		up, err := repoOf(t, f.up.Host()+"/acme/spectro-packs/archive/"+l.Pack).Resolve(ctx, l.Version)
		if err != nil {
			t.Fatal(err)
		}
		got, err := repoOf(t, air.Host()+"/mirror/spectro-packs/archive/"+l.Pack).Resolve(ctx, l.Version)
		if err != nil || got.Digest != up.Digest {
			t.Errorf("%s: air-gapped %s (%v), upstream %s", l.ID(), got.Digest, err, up.Digest)
		}
	}
}

// TestAirgap: export a profile's bundle from real registries, import it
// into a second real registry, compare every digest, then fetch and
// render the profile from the second registry alone with upstream
// stopped; and the faults: a bundle truncated or with a byte flipped,
// the wrong key, a registry that denies access or is down, an
// interrupted import (rerun to completion), an interrupted export (no
// bundle left).
func TestAirgap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	out := filepath.Join(f.tmp, "out")
	os.MkdirAll(out, 0o755)
	bundle := filepath.Join(out, "bundle.tar")
	res := f.export(t, bundle)

	// What the bundle holds: both packs, the four images the packs
	// deploy with upstream's digests, the signed ones' signatures; the
	// operator's image, only "maybe" deployed, is a warning.
	if len(res.Packs) != 2 || res.Packs[0].Name != "agent" || res.Packs[1].Name != "web" || res.Packs[0].Tag != "2.1" {
		t.Errorf("packs %+v", res.Packs)
	}
	// Each release's cosign signature, as the OCI registry holds it.
	for _, p := range res.Packs {
		d, err := repoOf(t, f.up.Host()+"/acme/packgen/signatures").Resolve(ctx, list.CosignTag(p.Manifest.Digest))
		if err != nil || p.Signature == nil || p.Signature.Tag != list.CosignTag(p.Manifest.Digest) || p.Signature.Manifest.Digest != d.Digest {
			t.Errorf("%s@%s carries signature %+v, the registry's is %s (%v)", p.Name, p.Version, p.Signature, d.Digest, err)
		}
	}
	if len(res.Images) != len(f.seeded) {
		t.Fatalf("%d images, want %d: %+v", len(res.Images), len(f.seeded), res.Images)
	}
	for _, im := range res.Images {
		s, ok := f.seeded[im.Path+":"+im.Tag]
		if !ok || im.Registry != f.up.Host() || im.Manifest.Digest != s.Digest || im.Upstream != s.Digest {
			t.Errorf("image %+v: upstream %+v", im, s)
			continue
		}
		if (s.Signature != "") != (len(im.Signatures) == 1) || s.Signature != "" && (im.Signatures[0].Manifest.Digest != s.Signature || im.Signatures[0].Tag != s.SignatureTag) {
			t.Errorf("%s signatures %+v, upstream %s", im.Image, im.Signatures, s.Signature)
		}
	}
	if bb := res.Images[indexOf(res.Images, "library/busybox")]; strings.Join(bb.Packs, ",") != "agent@2.1,web@1.0.0" {
		t.Errorf("busybox needed by %v", bb.Packs)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "acme/operator-managed:1.0 is only maybe deployed") {
		t.Errorf("warnings %q", res.Warnings)
	}
	// Without --image-key, one warning counts and names the unsigned
	// images, and says what the key would do.
	var unsigned []string
	for _, im := range res.Images {
		if len(im.Signatures) == 0 {
			unsigned = append(unsigned, im.Image)
		}
	}
	if w := strings.Join(res.Warnings, "\n"); len(unsigned) < 2 || strings.Count(w, "no cosign signature") != 1 || !strings.Contains(w, fmt.Sprintf("%d images carry no cosign signature (%s): ", len(unsigned), strings.Join(unsigned, ", "))) || !strings.Contains(w, "--image-key KEY requires") {
		t.Errorf("unsigned %v: warnings %q", unsigned, res.Warnings)
	}
	// Every blob once: the tar's entries are distinct, and the base layer
	// the four images share is one of them.
	entries := tarEntries(t, bundle)
	base := f.seeded["acme/web:2.0"].Blobs[2]
	if entries["blobs/sha256/"+base.Encoded()] != 1 {
		t.Errorf("base layer %s stored %d times", base, entries["blobs/sha256/"+base.Encoded()])
	}
	for name, n := range entries {
		if n != 1 {
			t.Errorf("%s stored %d times", name, n)
		}
	}
	if res.Blobs != len(entries)-4 { // oci-layout, index.json, blobs/, blobs/sha256/
		t.Errorf("%d blobs reported, %d tar entries", res.Blobs, len(entries))
	}
	if size := testutil.FileSize(t, bundle); res.Size != size {
		t.Errorf("size %d reported, the bundle has %d bytes", res.Size, size)
	}
	checkOrder(t, bundle, res)
	// Deterministic: the same lock gives the same bytes, whatever order
	// the requests end in (one download and two images at a time here,
	// eight and sixteen above); no stage left.
	again := filepath.Join(out, "again.tar")
	mark := len(f.up.AccessLog())
	if _, err := Export(ctx, ExportOptions{Lock: f.lock, Env: f.env, Output: again, OCI: plainHTTP, RunOptions: RunOptions{Jobs: 1}}); err != nil {
		t.Fatal(err)
	}
	if testutil.SHA256File(t, bundle) != testutil.SHA256File(t, again) {
		t.Error("two exports of the same lock differ")
	}
	checkImageRequests(t, f.up.AccessLog()[mark:], res)
	os.Remove(again)
	assertOnly(t, out, "bundle.tar")

	// A bundle laid out as export wrote it before (index.json second,
	// every blob by digest) reads the same: the order of a layout's
	// entries is export's choice, not import's.
	t.Run("older-layout", func(t *testing.T) {
		verify := func(p string) int {
			b, err := Open(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			n, _, err := b.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n, want := verify(sortedCopy(t, bundle, filepath.Join(t.TempDir(), "old.tar"))), verify(bundle); n != want || n == 0 {
			t.Errorf("older layout: %d blobs verified, want %d", n, want)
		}
	})

	// An image pinned by digest (tag@digest or @digest alone) is fetched
	// by its digest, its signatures found as a tag's are; a digest the
	// repository does not hold is an error naming the image.
	t.Run("pinned", func(t *testing.T) {
		web := f.seeded["acme/web:2.0"]
		clients := ocireg.NewClients(plainHTTP)
		for _, ref := range []string{web.Ref + "@" + web.Digest.String(), f.up.Host() + "/acme/web@" + web.Digest.String()} {
			big := newDirect()
			im, err := exportImage(ctx, newTestStage(t), big, ref, nil, clients)
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			if im.Upstream != web.Digest || im.Manifest.Digest != web.Digest || len(im.Signatures) != 1 || im.Signatures[0].Manifest.Digest != web.Signature || len(big.entries(ref, web.Digest)) == 0 {
				t.Errorf("%s: %+v (%d blobs to fetch)", ref, im, len(big.entries(ref, web.Digest)))
			}
		}
		other := f.seeded["library/busybox:1.36"].Digest
		ref := f.up.Host() + "/acme/web@" + other.String()
		if _, err := exportImage(ctx, newTestStage(t), newDirect(), ref, nil, clients); err == nil || !strings.Contains(err.Error(), ref) {
			t.Errorf("a digest the repository lacks: %v", err)
		}
	})

	// Narrowed under --image-key: agent is signed on its index, which
	// the bundle holds (a plain blob) so that import may believe the
	// list's upstream digest; busybox and backup are signed by nobody.
	t.Run("platform", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "amd64.tar")
		r, err := Export(ctx, ExportOptions{Lock: f.lock, Env: f.env, Output: p, OCI: plainHTTP, Platform: "linux/amd64", ImageKeys: f.imageKeys(t), AllowUnsignedImages: true})
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "busybox:1.36 carries no cosign signature") || !strings.Contains(w, "backup:v0.9 carries no cosign signature") || strings.Contains(w, "agent:3.0 carries") || strings.Contains(w, "web:2.0 carries") {
			t.Errorf("narrowed export's warnings: %s", w)
		}
		nb, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		err = nb.verifyImageSignatures(ctx, f.imageKeys(t), false, t.Logf)
		if !errors.Is(err, ErrUnsignedImage) || !strings.Contains(err.Error(), "acme/backup:v0.9: --image-key requires") || strings.Contains(err.Error(), "agent") || strings.Contains(err.Error(), "acme/web") {
			t.Errorf("narrowed bundle under --image-key: %v, want only busybox and backup unsigned", err)
		}
		for _, im := range r.Images {
			s := f.seeded[im.Path+":"+im.Tag]
			want := s.Manifests["linux/amd64"]
			if im.Manifest.Digest != want || im.Upstream != s.Digest {
				t.Errorf("%s narrowed to %s, want %s", im.Image, im.Manifest.Digest, want)
			}
		}
		if fi, _ := os.Stat(p); fi.Size() >= testutil.FileSize(t, bundle) {
			t.Errorf("narrowed bundle %d bytes, whole %d", fi.Size(), testutil.FileSize(t, bundle))
		}
	})

	t.Run("tampered", func(t *testing.T) {
		air := ocitest.Start(t, ocitest.Anonymous)
		data, err := os.ReadFile(bundle)
		if err != nil {
			t.Fatal(err)
		}
		off, size := blobOffset(t, bundle, f.seeded["acme/agent:3.0"].Blobs[3]) // the amd64 layer, 256 KiB
		flipped := bytes.Clone(data)
		flipped[off+size/2] ^= 0x01
		cases := map[string][]byte{
			"truncated": data[:len(data)/2],
			// The last blob's tail gone (its end-of-archive blocks alone
			// would leave every blob whole, and the bundle intact).
			"truncated-tail": data[:len(data)-1024-512],
			"flipped":        flipped,
			"empty":          nil,
			"not-a-tar":      []byte("hello, this is not a bundle\n"),
		}
		for name, b := range cases {
			p := filepath.Join(t.TempDir(), name+".tar")
			os.WriteFile(p, b, 0o644)
			_, err := f.importTo(ctx, t, p, air, ImportOptions{})
			if !errors.Is(err, ErrBundle) {
				t.Errorf("%s: %v, want ErrBundle", name, err)
			}
		}
		// A key that is not the registry's: the packs do not verify.
		other := testutil.NewKey(t)
		v, _ := sign.LoadPublicKey(other.Pub)
		_, err = Import(ctx, ImportOptions{Bundle: bundle, Dest: "oci://" + air.Host() + "/mirror", Key: v, OCI: plainHTTP})
		if !errors.Is(err, ErrBundle) || !errors.Is(err, sign.ErrBadSignature) && !strings.Contains(err.Error(), "signature") {
			t.Errorf("wrong key: %v", err)
		}
		// A list pinned by the digest export printed: another one is refused.
		if _, err := f.importTo(ctx, t, bundle, air, ImportOptions{Digest: "sha256:" + strings.Repeat("0", 64)}); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), res.Digest) {
			t.Errorf("other list digest: %v", err)
		}
		if _, err := Import(ctx, ImportOptions{Bundle: bundle, Dest: "oci://" + air.Host() + "/mirror", OCI: plainHTTP}); !errors.Is(err, ErrNoKey) {
			t.Errorf("no key: %v", err)
		}
		if n := settledPushes(air); n != 0 {
			t.Errorf("%d write requests reached the registry before the bundle was refused", n)
		}
	})

	t.Run("denied-and-down", func(t *testing.T) {
		air := ocitest.Start(t, ocitest.Basic)
		_, err := Import(ctx, ImportOptions{Bundle: bundle, Dest: "oci://" + air.Host() + "/mirror", Key: f.verifier(t), OCI: ocireg.Options{PlainHTTP: true, Username: "packgen", Password: "wrong"}})
		if !errors.Is(err, ocireg.ErrUnauthorized) {
			t.Errorf("wrong password: %v", err)
		}
		air.Stop()
		_, err = Import(ctx, ImportOptions{Bundle: bundle, Dest: "oci://" + air.Host() + "/mirror", Key: f.verifier(t), OCI: plainHTTP})
		if !errors.Is(err, ocireg.ErrUnreachable) {
			t.Errorf("registry down: %v", err)
		}
	})

	t.Run("interrupted-import", func(t *testing.T) {
		air := ocitest.Start(t, ocitest.Anonymous)
		cctx, cancel := context.WithCancel(ctx)
		_, err := f.importTo(cctx, t, bundle, air, ImportOptions{RunOptions: RunOptions{Jobs: 1, Log: &onLine{prefix: "uploaded", fn: cancel}}})
		cancel()
		if err == nil {
			t.Fatal("an import cancelled after its first upload succeeded")
		}
		if _, err := repoOf(t, air.Host()+"/mirror/packgen/index").Resolve(ctx, "root"); err == nil {
			t.Error("the index root was pushed by an interrupted import")
		}
		if _, err := f.importTo(ctx, t, bundle, air, ImportOptions{}); err != nil {
			t.Fatalf("rerun: %v", err)
		}
		f.checkMirror(t, air)
	})

	t.Run("interrupted-export", func(t *testing.T) {
		dir := t.TempDir()
		cctx, cancel := context.WithCancel(ctx)
		_, err := Export(cctx, ExportOptions{Lock: f.lock, Env: f.env, Output: filepath.Join(dir, "b.tar"), OCI: plainHTTP, RunOptions: RunOptions{Log: &onLine{prefix: "bundled", fn: cancel}}})
		cancel()
		if err == nil {
			t.Fatal("an export cancelled midway succeeded")
		}
		assertOnly(t, dir)
	})

	// The import, then everything from the air-gapped registry alone.
	// Under the signer's key the unsigned images (busybox, backup) are
	// refused first, naming each, before any write; allowed, a warning.
	air := ocitest.Start(t, ocitest.Anonymous)
	_, err := f.importTo(ctx, t, bundle, air, ImportOptions{Digest: res.Digest, ImageKeys: f.imageKeys(t)})
	for _, want := range []string{"image " + f.up.Host() + "/library/busybox:1.36: --image-key requires", "image " + f.up.Host() + "/acme/backup:v0.9: "} {
		if !errors.Is(err, ErrUnsignedImage) || !strings.Contains(fmt.Sprint(err), want) || strings.Contains(fmt.Sprint(err), "acme/web") {
			t.Errorf("unsigned images under --image-key: %v, want ErrUnsignedImage naming %q", err, want)
		}
	}
	if n := settledPushes(air); n != 0 {
		t.Errorf("%d write requests before the unsigned images were refused", n)
	}
	ir, err := f.importTo(ctx, t, bundle, air, ImportOptions{Digest: res.Digest, ImageKeys: f.imageKeys(t), AllowUnsignedImages: true})
	if err != nil {
		t.Fatal(err)
	}
	// (The packs' signatures crossed: no word of a missing --key.)
	if w := strings.Join(ir.Warnings, "\n"); !strings.Contains(w, "busybox:1.36 carries no cosign signature") || strings.Contains(w, "acme/web:2.0 carries") || strings.Contains(w, "no --key") {
		t.Errorf("import warnings: %s", w)
	}
	f.checkMirror(t, air)
	wantTo := air.Host() + "/mirror/spectro-images/" + list.HostPath(f.up.Host())
	if len(ir.Mappings) != 1 || ir.Mappings[0].From != f.up.Host() || ir.Mappings[0].To != wantTo {
		t.Errorf("mappings %+v, want %s → %s", ir.Mappings, f.up.Host(), wantTo)
	}
	if len(ir.Packs) != 2 || len(ir.Images) != 4 || ir.Blobs == 0 {
		t.Errorf("import result %+v", ir)
	}
	before := settledPushes(air)
	if _, err := f.importTo(ctx, t, bundle, air, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := settledPushes(air) - before; n != 0 {
		t.Errorf("a second import of the same bundle made %d write requests", n)
	}
	// The real cosign verifies the mirrored signatures with the image
	// signer's key: cosign's legacy .sig layout and v3's bundle.
	cosign := ocitest.Tool(t, "cosign")
	for _, im := range []string{"acme/web:2.0", "acme/agent:3.0"} {
		cmd := exec.Command(cosign, "verify", "--key", f.cosignPub, "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", wantTo+"/"+im)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SIGSTORE_NO_CACHE=true")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("cosign verify of the mirrored %s: %v\n%s", im, err, out)
		}
	}

	// The packs' own cosign signatures crossed too: the real cosign
	// verifies an imported release with the packs' registry key.
	pub := filepath.Join(t.TempDir(), "registry.pub")
	os.WriteFile(pub, f.key.Pub, 0o644)
	for _, l := range []*profile.LockedPack{f.lock.Find("agent")} { // agent@2.1: a 2-part version
		cmd := exec.Command(cosign, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", air.Host()+"/mirror/spectro-packs/archive/"+l.Pack+":"+l.Version)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SIGSTORE_NO_CACHE=true", "COSIGN_REPOSITORY="+air.Host()+"/mirror/packgen/signatures")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("cosign verify of the imported %s: %v\n%s", l.ID(), err, out)
		}
	}

	// An image tag moved in the air-gapped registry (another image's
	// manifest under it): refused before anything is pushed, unless
	// --force, which moves it back.
	webRepo := repoOf(t, wantTo+"/acme/web")
	other := f.seeded["library/busybox:1.36"]
	if _, err := oras.Copy(ctx, repoOf(t, wantTo+"/library/busybox"), other.Digest.String(), webRepo, "2.0", oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	before = settledPushes(air)
	if _, err := f.importTo(ctx, t, bundle, air, ImportOptions{}); !errors.Is(err, ErrImageTag) || settledPushes(air) != before {
		t.Errorf("a moved image tag: %v (%d write requests)", err, settledPushes(air)-before)
	}
	if _, err := f.importTo(ctx, t, bundle, air, ImportOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	f.checkMirror(t, air)

	t.Run("pack-signatures", func(t *testing.T) { f.testPackSignatures(t, bundle, res, air) })
	// Last with upstream: it leaves signatures moved there.
	t.Run("image-signatures", func(t *testing.T) { f.testImageSignatures(t, bundle, air) })

	// A layer gone upstream once its manifest was read: its download
	// fails while others run, the error names it, nothing is left.
	t.Run("layer-gone", func(t *testing.T) {
		bb := f.seeded["library/busybox:1.36"]
		layer := bb.Blobs[3] // its own layer (config, manifest, base, own)
		if err := repoOf(t, f.up.Host()+"/library/busybox").Blobs().Delete(ctx, ocispec.Descriptor{Digest: layer}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		// Signatures unchecked: image-signatures left some moved upstream.
		_, err := Export(ctx, ExportOptions{Lock: f.lock, Env: f.env, Output: filepath.Join(dir, "b.tar"), OCI: plainHTTP, uncheckedSigs: true})
		if !errors.Is(err, ocireg.ErrNotFound) || !strings.Contains(err.Error(), "library/busybox@"+layer.String()) || !strings.Contains(err.Error(), "write "+filepath.Join(dir, "b.tar")) {
			t.Errorf("a layer gone upstream: %v", err)
		}
		assertOnly(t, dir)
	})

	f.up.Stop()
	env := f.envAt("oci://" + air.Host() + "/mirror")
	fr, err := profile.Fetch(ctx, f.lock, env, profile.FetchOptions{Dest: filepath.Join(f.tmp, "fetched")})
	if err != nil {
		t.Fatalf("fetch from the air-gapped registry: %v", err)
	}
	for _, l := range fr.Layers {
		if !l.Verified || l.Files == 0 {
			t.Errorf("fetched %+v", l)
		}
	}
	rendered := filepath.Join(f.tmp, "rendered")
	layers, err := profile.Render(ctx, f.prof, f.lock, env, rendered, false)
	if err != nil {
		t.Fatalf("render from the air-gapped registry: %v", err)
	}
	if len(layers) != 2 {
		t.Errorf("rendered %+v", layers)
	}
	web, _ := os.ReadFile(filepath.Join(rendered, "values", "web.yaml"))
	if !bytes.Contains(web, []byte("replicas: 3")) {
		t.Errorf("rendered web values:\n%s", web)
	}
	t.Run("subset", func(t *testing.T) { f.testSubset(t, env, res.Digest) })

	// With upstream down, an export fails and leaves nothing.
	dir := t.TempDir()
	if _, err := Export(ctx, ExportOptions{Lock: f.lock, Env: f.env, Output: filepath.Join(dir, "b.tar"), OCI: plainHTTP}); err == nil {
		t.Error("export with upstream down succeeded")
	}
	assertOnly(t, dir)
}

func indexOf(ims []list.Image, path string) int {
	for i, im := range ims {
		if im.Path == path {
			return i
		}
	}
	return 0
}

// onLine calls fn once a line starting with prefix is written.
type onLine struct {
	prefix string
	fn     func()
	once   sync.Once
}

func (o *onLine) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte(o.prefix)) {
		o.once.Do(o.fn)
	}
	return len(p), nil
}

// eachEntry calls fn with every entry of the tar at p, in order, and a
// reader of its content; a tar that does not read to its end fails the
// test.
func eachEntry(t *testing.T, p string, fn func(h *tar.Header, r io.Reader)) {
	t.Helper()
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	for tr := tar.NewReader(fh); ; {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(h, tr)
	}
}

func tarEntries(t *testing.T, p string) map[string]int {
	t.Helper()
	out := map[string]int{}
	eachEntry(t, p, func(h *tar.Header, _ io.Reader) { out[h.Name]++ })
	return out
}

// checkOrder checks the bundle's layout (docs/FORMAT.md): oci-layout
// and the blob directories; then the images' configs and layers, image
// by image in the list's order, each blob where the first image that
// names it (its index's manifests in turn, each config then layers) puts
// it; then every other blob by digest; index.json last.
func checkOrder(t *testing.T, p string, res *ExportResult) {
	t.Helper()
	ctx := context.Background()
	store, err := oci.NewFromTar(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"oci-layout", "blobs/", "blobs/sha256/"}
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor)
	walk = func(d ocispec.Descriptor) {
		data, err := content.FetchAll(ctx, store, d)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Manifests []ocispec.Descriptor
			Config    *ocispec.Descriptor
			Layers    []ocispec.Descriptor
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		for _, c := range m.Manifests {
			walk(c)
		}
		var blobs []ocispec.Descriptor
		if m.Config != nil {
			blobs = append(blobs, *m.Config)
		}
		for _, b := range append(blobs, m.Layers...) {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				want = append(want, "blobs/sha256/"+b.Digest.Encoded())
			}
		}
	}
	for _, im := range res.Images {
		walk(im.Manifest)
	}
	var got, rest []string
	eachEntry(t, p, func(h *tar.Header, _ io.Reader) {
		if len(got) < len(want) {
			got = append(got, h.Name)
		} else {
			rest = append(rest, h.Name)
		}
	})
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the bundle begins\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(rest) == 0 || rest[len(rest)-1] != "index.json" || !slices.IsSorted(rest[:len(rest)-1]) {
		t.Errorf("the bundle's other entries are %v: want its blobs by digest, then index.json", rest)
	}
}

// sortedCopy copies the tar at p to dst in the layout bundles had
// before: oci-layout, index.json, the blob directories, then every blob
// by name.
func sortedCopy(t *testing.T, p, dst string) string {
	t.Helper()
	var entries []tartest.Entry
	eachEntry(t, p, func(h *tar.Header, r io.Reader) {
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, tartest.Entry{Header: h, Body: data})
	})
	rank := func(name string) string {
		switch name {
		case "oci-layout":
			return "0"
		case "index.json":
			return "1"
		}
		return "2" + name
	}
	slices.SortFunc(entries, func(a, b tartest.Entry) int { return strings.Compare(rank(a.Header.Name), rank(b.Header.Name)) })
	testutil.Must(t, os.WriteFile(dst, tartest.Tar(t, entries...), 0o644))
	return dst
}

// blobOffset is where blob dg's bytes start in the tar, and their size.
func blobOffset(t *testing.T, p string, dg digest.Digest) (int64, int64) {
	t.Helper()
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	tr := tar.NewReader(fh)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("blob %s not in the bundle: %v", dg, err)
		}
		if h.Name == "blobs/sha256/"+dg.Encoded() {
			off, _ := fh.Seek(0, io.SeekCurrent)
			return off, h.Size
		}
	}
}

// assertOnly fails unless dir holds exactly names.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

// TestExportInput: what cannot make a bundle is refused before anything
// is read or written, naming what to do.
func TestExportInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg := func(name string) profile.LockRegistry {
		return profile.LockRegistry{Name: name, URL: "https://" + name + ".example"}
	}
	lock := &profile.Lock{Layers: []profile.LockedPack{{Pack: "a", Version: "1.0.0", Registry: reg("one")}, {Pack: "b", Version: "1.0.0", Registry: reg("two")}}}
	env := &profile.Env{Registries: []client.Registry{{Name: "one", URL: "https://one.example"}, {Name: "two", URL: "https://two.example"}}}
	out := filepath.Join(dir, "b.tar")
	for _, c := range []struct {
		name string
		o    ExportOptions
		want string
	}{
		{"no output", ExportOptions{Lock: lock, Env: env}, "no output file"},
		{"no layers", ExportOptions{Lock: &profile.Lock{}, Env: env, Output: out}, "no layers"},
		{"platform", ExportOptions{Lock: lock, Env: env, Output: out, Platform: "amd64"}, "OS/ARCH"},
		{"two registries", ExportOptions{Lock: lock, Env: env, Output: out}, "registries one and two"},
	} {
		_, err := Export(ctx, c.o)
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInput with %q", c.name, err, c.want)
		}
	}
	assertOnly(t, dir)
}

// TestExportRetired: a locked release its registry deleted since (a
// CVE) stops the export, naming it and why, unless AllowDeleted, which
// warns; a deprecated one warns (attackS F6; profile.UseRetired).
func TestExportRetired(t *testing.T) {
	del := &index.Release{Version: "1.0.0", Retired: &index.Retirement{State: index.StateDeleted, Reason: "CVE-2026-0001"}}
	dep := &index.Release{Version: "2.0.0", Retired: &index.Retirement{State: index.StateDeprecated, Reason: "slow"}}
	sub := &publish.Subset{Releases: []publish.SubsetRelease{{Name: "a", Release: del}, {Name: "b", Release: dep}, {Name: "c", Release: &index.Release{Version: "1.0.0"}}}}
	for _, allow := range []bool{false, true} {
		var warned []string
		e := &exporter{o: ExportOptions{AllowDeleted: allow}, sub: sub, warn: func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }}
		err := e.checkRetired()
		if allow != (err == nil) || (!allow && (!errors.Is(err, profile.ErrDeleted) || !strings.Contains(err.Error(), "a@1.0.0 is deleted (retired: CVE-2026-0001)"))) {
			t.Errorf("allow %v: %v", allow, err)
		}
		w := strings.Join(warned, "\n")
		if !strings.Contains(w, "b@2.0.0 is deprecated (retired: slow)") || allow != strings.Contains(w, "DELETED RELEASE IN USE: a@1.0.0") || len(warned) != map[bool]int{false: 1, true: 2}[allow] {
			t.Errorf("allow %v: warnings %q", allow, warned)
		}
	}
}

// imageKeys is the image signer's cosign public key, as --image-key.
func (f *fixture) imageKeys(t *testing.T) *sign.Verifier {
	t.Helper()
	v, err := sign.LoadPublicKeyFile(f.cosignPub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// testImageSignatures: import refuses, before any write, image
// signatures that do not verify under --image-key, and, without keys,
// signatures that sign another image: upstream, someone who may push
// tags copies web's legacy signature under busybox's signature tag and
// agent's cosign v3 referrers index under backup's.
func (f *fixture) testImageSignatures(t *testing.T, bundle string, air *ocitest.Registry) {
	ctx := context.Background()
	before := settledPushes(air)
	up := f.up.Host()
	web, agent := f.seeded["acme/web:2.0"], f.seeded["acme/agent:3.0"]
	busybox, backup := f.seeded["library/busybox:1.36"], f.seeded["acme/backup:v0.9"]

	// attackV F2: an SBOM attached to busybox (a referrers index, tag
	// sha256-HEX, as `oras attach` writes it where the registry has no
	// referrers API) is carried, but is no signature: under the key
	// export and import refuse busybox all the same, saying what it
	// carries.
	bbRepo := repoOf(t, up+"/library/busybox")
	bbRepo.SetReferrersCapability(false)
	subject, err := bbRepo.Resolve(ctx, busybox.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	sbom, err := oras.PushBytes(ctx, bbRepo, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oras.PackManifest(ctx, bbRepo, oras.PackManifestVersion1_1, "application/spdx+json", oras.PackManifestOptions{Subject: &subject, Layers: []ocispec.Descriptor{sbom}}); err != nil {
		t.Fatal(err)
	}
	bbWant := "image " + up + "/library/busybox:1.36: it carries 1 referrer, no cosign signature: --image-key requires"
	dir := t.TempDir()
	_, err = Export(ctx, ExportOptions{Lock: f.lock, Env: f.env, Output: filepath.Join(dir, "b.tar"), OCI: plainHTTP, ImageKeys: f.imageKeys(t)})
	if !errors.Is(err, ErrUnsignedImage) || !strings.Contains(fmt.Sprint(err), bbWant) {
		t.Errorf("export of an image with an SBOM only: %v, want %q", err, bbWant)
	}
	assertOnly(t, dir)
	withSBOM := filepath.Join(t.TempDir(), "sbom.tar")
	r, err := Export(ctx, ExportOptions{Lock: f.lock, Env: f.env, Output: withSBOM, OCI: plainHTTP, ImageKeys: f.imageKeys(t), AllowUnsignedImages: true})
	if err != nil {
		t.Fatal(err)
	}
	if bb := r.Images[indexOf(r.Images, "library/busybox")]; len(bb.Signatures) != 1 || bb.Signatures[0].Tag != list.ReferrersTag(busybox.Digest) || !strings.Contains(strings.Join(r.Warnings, "\n"), "busybox:1.36 carries 1 referrer, no cosign signature: nothing verified") {
		t.Errorf("the SBOM carried: %+v, warnings %q", bb.Signatures, r.Warnings)
	}
	if _, err := f.importTo(ctx, t, withSBOM, air, ImportOptions{ImageKeys: f.imageKeys(t)}); !errors.Is(err, ErrUnsignedImage) || !strings.Contains(fmt.Sprint(err), bbWant) {
		t.Errorf("import of an image with an SBOM only: %v, want %q", err, bbWant)
	}

	other := testutil.NewKey(t)
	v, err := sign.LoadPublicKey(other.Pub)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.importTo(ctx, t, bundle, air, ImportOptions{ImageKeys: v})
	for _, want := range []string{"image " + f.up.Host() + "/acme/web:2.0: signature " + f.seeded["acme/web:2.0"].SignatureTag, "image " + f.up.Host() + "/acme/agent:3.0: signature " + f.seeded["acme/agent:3.0"].SignatureTag, "no trusted key"} {
		if !errors.Is(err, ErrImageSignature) || !errors.Is(err, sign.ErrBadSignature) || !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("another image key: %v, want ErrImageSignature naming %q", err, want)
		}
	}

	if _, err := oras.Copy(ctx, repoOf(t, up+"/acme/web"), web.Signature.String(), repoOf(t, up+"/library/busybox"), list.CosignTag(busybox.Digest), oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	if _, err := oras.Copy(ctx, repoOf(t, up+"/acme/agent"), agent.Signature.String(), repoOf(t, up+"/acme/backup"), list.ReferrersTag(backup.Digest), oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	// Export checks them too: the binding even without keys (so it
	// refuses these, leaving nothing; under a key that is not the
	// signer's: cmd/packgen's TestREADMEAirgap).
	dir = t.TempDir()
	_, err = Export(ctx, ExportOptions{Lock: f.lock, Env: f.env, Output: filepath.Join(dir, "b.tar"), OCI: plainHTTP})
	if !errors.Is(err, ErrImageSignature) || !strings.Contains(fmt.Sprint(err), "image "+up+"/library/busybox:1.36: signature "+list.CosignTag(busybox.Digest)) {
		t.Errorf("export of moved signatures: %v", err)
	}
	assertOnly(t, dir)
	// The bundle below is made as an attacker with the file would:
	// export's check is skipped, and import must catch it alone.
	swapped := filepath.Join(t.TempDir(), "swapped.tar")
	f.exportUnchecked(t, swapped)
	for _, keys := range []*sign.Verifier{nil, f.imageKeys(t)} {
		_, err = f.importTo(ctx, t, swapped, air, ImportOptions{ImageKeys: keys})
		for _, want := range []string{
			"image " + up + "/library/busybox:1.36: signature " + list.CosignTag(busybox.Digest) + ": layer 0: bad signature: the cosign payload signs \"" + web.Digest.String(),
			"image " + up + "/acme/backup:v0.9: signature " + list.ReferrersTag(backup.Digest) + ": referrer ",
			"the referrer: its subject is " + agent.Digest.String() + ", not " + backup.Digest.String(),
		} {
			if !errors.Is(err, ErrImageSignature) || !strings.Contains(fmt.Sprint(err), want) {
				t.Errorf("keys %v: a signature of another image: %v, want %q", keys != nil, err, want)
			}
		}
	}
	if n := settledPushes(air) - before; n != 0 {
		t.Errorf("%d write requests reached the registry before the signatures were refused", n)
	}
}

// testPackSignatures: a pack's cosign signature that signs another
// release is refused by export (someone who may push tags upstream
// moved web's signature under agent's tag) and by import's check of the
// bundle; a pack registry that is a static site has no signatures to
// carry: said at export and at import, and the import works.
func (f *fixture) testPackSignatures(t *testing.T, bundle string, res *ExportResult, air *ocitest.Registry) {
	ctx := context.Background()
	sigs := repoOf(t, f.up.Host()+"/acme/packgen/signatures")
	agent, web := res.Packs[0], res.Packs[1]
	agentTag := list.CosignTag(agent.Manifest.Digest)
	if _, err := oras.Copy(ctx, sigs, web.Signature.Manifest.Digest.String(), sigs, agentTag, oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err := Export(ctx, ExportOptions{Lock: f.lock, Env: f.env, Output: filepath.Join(dir, "b.tar"), OCI: plainHTTP})
	if !errors.Is(err, ErrPackSignature) || !strings.Contains(fmt.Sprint(err), "agent@2.1: its cosign signature "+f.up.Host()+"/acme/packgen/signatures:"+agentTag) || !strings.Contains(fmt.Sprint(err), "signs \""+web.Manifest.Digest.String()) {
		t.Errorf("a swapped pack signature: %v", err)
	}
	assertOnly(t, dir)
	if err := sigs.Tag(ctx, agent.Signature.Manifest, agentTag); err != nil { // put it back
		t.Fatal(err)
	}

	// Import's own check, on the bundle: a signature of another release,
	// or under another key, does not hold.
	b, err := Open(ctx, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.blobs().checkPackSignature(ctx, web.Signature.Manifest, agent.Manifest.Digest, f.verifier(t)); !errors.Is(err, sign.ErrBadSignature) {
		t.Errorf("web's signature for agent: %v", err)
	}
	other := testutil.NewKey(t)
	ov, _ := sign.LoadPublicKey(other.Pub)
	if err := b.blobs().checkPackSignature(ctx, web.Signature.Manifest, web.Manifest.Digest, ov); !errors.Is(err, sign.ErrBadSignature) || !strings.Contains(err.Error(), "no layer verifies") {
		t.Errorf("web's signature under another key: %v", err)
	}

	// From the static site the OCI registry was published from.
	static := filepath.Join(dir, "static.tar")
	sr, err := Export(ctx, ExportOptions{Lock: f.lock, Env: f.envAt(filepath.Join(f.tmp, "site")), Output: static, OCI: plainHTTP})
	if err != nil {
		t.Fatal(err)
	}
	if sr.Packs[0].Signature != nil || !strings.Contains(strings.Join(sr.Warnings, "\n"), "registry acme is not an OCI registry: its packs have no cosign signatures to carry") {
		t.Errorf("static site: packs %+v, warnings %q", sr.Packs, sr.Warnings)
	}
	ir, err := f.importTo(ctx, t, static, air, ImportOptions{})
	if err != nil {
		t.Fatalf("import of a static site's bundle: %v", err)
	}
	// The import was given the right --key: its warning says what is
	// true (no cosign signatures to carry; each pack verified under
	// --key all the same), never that --key is missing.
	w := strings.Join(ir.Warnings, "\n")
	for _, want := range []string{"2 of the bundle's 2 packs carry no cosign signature", "a static-site registry", "verified under --key all the same before anything was pushed", "archive's signature", "only cosign verify of them there will fail"} {
		if !strings.Contains(w, want) {
			t.Errorf("import of a static site's bundle: want %q in warnings %q", want, ir.Warnings)
		}
	}
	if strings.Contains(w, "no --key") || len(ir.Warnings) != 1 {
		t.Errorf("import of a static site's bundle with its --key: warnings %q", ir.Warnings)
	}
}

func newTestStage(t *testing.T) *stageStore {
	s, err := newStage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testSubset: the air-gapped registry holds the source's signed index
// and only the exported releases (web 1.0.0 and agent 2.1 of a registry
// that also has web 2.0 and v0.9, and cache 1.0), yet every client
// command reads it as a registry of what it holds.
func (f *fixture) testSubset(t *testing.T, env *profile.Env, listDigest string) {
	ctx := context.Background()
	var warn strings.Builder
	o := env.Client
	o.Warn = &warn
	c, err := client.New(env.Registries[0], o)
	if err != nil {
		t.Fatal(err)
	}
	packs, err := c.Catalog(ctx)
	var got []string
	for _, p := range packs {
		got = append(got, fmt.Sprintf("%s@%s/%d", p.Name, p.Latest, p.Versions))
	}
	if err != nil || strings.Join(got, " ") != "agent@2.1/1 web@1.0.0/1" || !strings.Contains(warn.String(), "1 pack(s) and 3 release(s) its signed index lists are not here") || !strings.Contains(warn.String(), listDigest) {
		t.Errorf("list: %v %v\n%s", got, err, warn.String())
	}
	warn.Reset()
	if rel, err := c.Resolve(ctx, "web", "", false); err != nil || rel.Version != "1.0.0" || !strings.Contains(warn.String(), "web@2.0 is the newest release but is not in air-gapped registry acme") {
		t.Errorf("fetch web: %v %v\n%s", rel, err, warn.String())
	}
	for _, id := range [][2]string{{"web", "v0.9"}, {"web", "2.0"}, {"cache", "*"}} {
		if _, err := c.Resolve(ctx, id[0], id[1], false); !errors.Is(err, client.ErrNotInBundle) || !strings.Contains(err.Error(), "packgen airgap export") {
			t.Errorf("fetch %s@%s: %v", id[0], id[1], err)
		}
	}
	hits, failed, err := client.Search(ctx, env.Registries, func(r client.Registry) (*client.Client, error) { return client.New(r, o) }, "web")
	if err != nil || len(failed) != 0 || len(hits) != 1 || hits[0].Latest != "1.0.0" {
		t.Errorf("search: %+v %v %v", hits, failed, err)
	}
	res, err := profile.Resolve(ctx, f.prof, env, profile.ResolveOptions{Partial: true})
	if err != nil || res.Lock.Find("web").Version != "1.0.0" || res.Lock.Find("agent").Version != "2.1" {
		t.Errorf("profile resolve: %v", err)
	}
	// verify --site: everything present verifies; the absences fail it
	// unless accepted, named by the bundle's list digest.
	tr, err := env.Registries[0].Transport("", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := client.VerifySiteVia(ctx, tr, f.verifier(t))
	if err != nil || len(rep.Problems) != 0 || rep.Subset == nil || !slices.Contains(rep.Subset.Bundles, listDigest) || rep.Subset.Releases != 3 || len(rep.AllProblems()) != 1 {
		t.Fatalf("verify --site: %v %+v %+v", err, rep, rep.Subset)
	}
	rep.Subset.Accepted = true
	if all := rep.AllProblems(); len(all) != 0 {
		t.Errorf("verify --site --subset: %+v", all)
	}
}
