package ocitest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/packgen/packgen/internal/countw"
)

// SeedImage describes a small generated container image to seed into a
// registry: real OCI manifests, image configs and tar layers, content
// derived from the names only, so the same description always gives the
// same digests.
type SeedImage struct {
	Repo string // repository below the registry: "library/app"
	Tag  string
	// Platforms, "os/arch", one manifest each; more than one makes an
	// image index (a multi-arch image). Empty: linux/amd64 alone.
	Platforms []string
	// Base names a layer shared by every image (and platform) with the
	// same Base, so bundles must store it once; "" for none.
	Base string
	// Size is the size of the image's own layer's file (default 4 KiB).
	Size int64
	// Sign signs the image (its top digest) with the real cosign CLI
	// under the key of Seed's cosignKey, in the legacy layout: a
	// signature manifest tagged sha256-HEX.sig.
	Sign bool
	// SignBundle signs it as cosign v3 does by default: a Sigstore bundle
	// attached as an OCI 1.1 referrer, which a registry without the
	// referrers API (distribution v3) holds under the referrers tag
	// sha256-HEX (an index of the referrers).
	SignBundle bool
	// Content seeds the layers' bytes (default "REPO:TAG"): the same
	// Content gives the same image in any repository, and another one
	// under the same tag moves the tag.
	Content string
	// Index makes an image index even of one platform.
	Index bool
}

// Seeded is an image Seed pushed.
type Seeded struct {
	SeedImage
	Ref       string        // HOST:PORT/REPO:TAG
	Digest    digest.Digest // of the top manifest or index
	MediaType string
	// Manifests are the platform manifests' digests (one for a single
	// manifest, the image's own digest).
	Manifests map[string]digest.Digest
	// Blobs are every blob and manifest digest of the image.
	Blobs []digest.Digest
	// Signature is the digest of the cosign signature manifest (tag
	// sha256-HEX.sig in the image's repository; with SignBundle, of the
	// referrers index tagged sha256-HEX), "" when unsigned.
	Signature digest.Digest
	// SignatureTag is the tag Signature is under.
	SignatureTag string
}

// CosignKeyPair makes a cosign key pair with the real CLI (empty
// password) and returns the private and public key paths.
func CosignKeyPair(t testing.TB) (key, pub string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(Tool(t, "cosign"), "generate-key-pair")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// Seed pushes the images to the registry and signs those marked Sign
// with the cosign CLI under cosignKey (from CosignKeyPair).
func (r *Registry) Seed(t testing.TB, images []SeedImage, cosignKey string) []Seeded {
	t.Helper()
	ctx := context.Background()
	var out []Seeded
	for _, im := range images {
		s, err := r.seed(ctx, im)
		if err != nil {
			t.Fatalf("seed %s:%s: %v", im.Repo, im.Tag, err)
		}
		if im.Sign || im.SignBundle {
			s.SignatureTag, s.Signature = r.cosignSign(t, cosignKey, s.Ref, s.Digest, im.SignBundle)
		}
		out = append(out, *s)
	}
	return out
}

// PushImage pushes a small single-platform image (linux/amd64, its
// layer's bytes from seed) as REPO:TAG and returns its manifest digest
// ("sha256:…"). The same seed gives the same digest, so pushing another
// seed under the same tag moves the tag.
func (r *Registry) PushImage(t testing.TB, repoTag, seed string) string {
	t.Helper()
	return r.pushSeed(t, "PushImage", repoTag, SeedImage{Content: seed})
}

// PushIndex pushes a multi-platform image as REPO:TAG: one manifest per
// platform ("linux/amd64", "linux/arm64") under an OCI image index; it
// returns the index's digest.
func (r *Registry) PushIndex(t testing.TB, repoTag, seed string, platforms ...string) string {
	t.Helper()
	return r.pushSeed(t, "PushIndex", repoTag, SeedImage{Content: seed, Platforms: platforms, Index: true})
}

// pushSeed seeds im as REPO:TAG and returns its top digest.
func (r *Registry) pushSeed(t testing.TB, what, repoTag string, im SeedImage) string {
	t.Helper()
	var ok bool
	if im.Repo, im.Tag, ok = strings.Cut(repoTag, ":"); !ok {
		t.Fatalf("%s %q: want REPO:TAG", what, repoTag)
	}
	return r.Seed(t, []SeedImage{im}, "")[0].Digest.String()
}

// repo opens a repository of the registry with its account: the one
// client every seeding and lookup here goes through. The token realm of
// Token mode is on loopback too: oras-go accepts a loopback realm only
// on the registry's own host name, so every realm address is allowed.
func (r *Registry) repo(name string) (*remote.Repository, error) {
	repo, err := remote.NewRepository(r.host + "/" + name)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = r.tls == nil
	c := &auth.Client{Client: retry.DefaultClient, Cache: auth.NewCache(), BlockedRealmPrefixes: []netip.Prefix{}}
	if r.tls != nil {
		c.Client = r.httpClient()
	}
	if r.Username != "" {
		c.Credential = auth.StaticCredential(r.host, auth.Credential{Username: r.Username, Password: r.Password})
	}
	repo.Client = c
	return repo, nil
}

func (r *Registry) seed(ctx context.Context, im SeedImage) (*Seeded, error) {
	repo, err := r.repo(im.Repo)
	if err != nil {
		return nil, err
	}
	return PushImage(ctx, repo, im)
}

// PushImage pushes the generated image im to repo (whose repository must
// be im.Repo), for callers outside tests (the benchmark) with a
// repository of their own.
func PushImage(ctx context.Context, repo *remote.Repository, im SeedImage) (*Seeded, error) {
	if im.Size == 0 {
		im.Size = 4 << 10
	}
	plats := im.Platforms
	if len(plats) == 0 {
		plats = []string{"linux/amd64"}
	}
	if im.Content == "" {
		im.Content = im.Repo + ":" + im.Tag
	}
	s := &Seeded{SeedImage: im, Ref: repo.Reference.Registry + "/" + im.Repo + ":" + im.Tag, Manifests: map[string]digest.Digest{}}
	var mans []ocispec.Descriptor
	for _, p := range plats {
		goos, arch, ok := strings.Cut(p, "/")
		if !ok {
			return nil, fmt.Errorf("platform %q: expected OS/ARCH", p)
		}
		var layers []ocispec.Descriptor
		if im.Base != "" {
			// The base layer is the same for every platform and image.
			l, err := pushLayer(ctx, repo, "base:"+im.Base, 2<<10)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
		}
		l, err := pushLayer(ctx, repo, im.Content+":"+p, im.Size)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
		var diffIDs []digest.Digest
		for _, l := range layers {
			diffIDs = append(diffIDs, l.Digest) // uncompressed: the diff ID is the digest
		}
		cfg, _ := json.Marshal(ocispec.Image{
			Platform: ocispec.Platform{OS: goos, Architecture: arch},
			Config:   ocispec.ImageConfig{Cmd: []string{"/app"}, Labels: map[string]string{"seed": im.Content}},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
		})
		cd := content.NewDescriptorFromBytes(ocispec.MediaTypeImageConfig, cfg)
		if err := pushBlob(ctx, repo, cd, bytes.NewReader(cfg)); err != nil {
			return nil, err
		}
		m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cd, Layers: layers})
		md := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, m)
		if err := repo.Manifests().Push(ctx, md, bytes.NewReader(m)); err != nil && !isExists(err) {
			return nil, err
		}
		s.Manifests[p] = md.Digest
		s.Blobs = append(s.Blobs, cd.Digest, md.Digest)
		for _, l := range layers {
			s.Blobs = append(s.Blobs, l.Digest)
		}
		md.Platform = &ocispec.Platform{OS: goos, Architecture: arch}
		mans = append(mans, md)
	}
	top := mans[0]
	top.Platform = nil
	if len(plats) > 1 || im.Index {
		idx, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: mans})
		top = content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, idx)
		if err := repo.Manifests().PushReference(ctx, top, bytes.NewReader(idx), im.Tag); err != nil {
			return nil, err
		}
		s.Blobs = append(s.Blobs, top.Digest)
	} else if err := repo.Tag(ctx, top, im.Tag); err != nil {
		return nil, err
	}
	s.Digest, s.MediaType = top.Digest, top.MediaType
	return s, nil
}

func isExists(err error) bool {
	return err != nil && strings.Contains(err.Error(), errdef.ErrAlreadyExists.Error())
}

// pushBlob pushes a blob without asking first whether the registry has
// it (it takes one it has again): seeding makes no HEAD request, so a
// test that counts the HEADs of the code under test counts only those.
func pushBlob(ctx context.Context, repo *remote.Repository, d ocispec.Descriptor, r io.Reader) error {
	if err := repo.Blobs().Push(ctx, d, r); err != nil && !isExists(err) {
		return err
	}
	return nil
}

// pushLayer pushes a tar layer holding one file of size pseudo-random
// bytes seeded by name, streamed (a large layer is never in memory): it
// is generated once to hash it, once to push it.
func pushLayer(ctx context.Context, repo *remote.Repository, name string, size int64) (ocispec.Descriptor, error) {
	h := sha256.New()
	n, err := WriteLayer(h, name, size)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.NewDigest(digest.SHA256, h), Size: n}
	pr, pw := io.Pipe()
	go func() { _, err := WriteLayer(pw, name, size); pw.CloseWithError(err) }()
	defer pr.Close()
	return d, pushBlob(ctx, repo, d, pr)
}

// WriteLayer writes the tar layer of pushLayer and returns its size.
func WriteLayer(w io.Writer, name string, size int64) (int64, error) {
	cw := &countw.Writer{W: w}
	tw := tar.NewWriter(cw)
	if err := tw.WriteHeader(&tar.Header{Name: "data/" + fmt.Sprintf("%x", sha256.Sum256([]byte(name)))[:16], Mode: 0o644, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return cw.N, err
	}
	seed := sha256.Sum256([]byte(name))
	rng := rand.NewChaCha8(seed)
	buf := make([]byte, 32<<10)
	for left := size; left > 0; {
		k := min(left, int64(len(buf)))
		for i := 0; i+8 <= len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
		}
		if _, err := tw.Write(buf[:k]); err != nil {
			return cw.N, err
		}
		left -= k
	}
	if err := tw.Close(); err != nil {
		return cw.N, err
	}
	return cw.N, nil
}

// cosignSign signs ref@dg with the real cosign CLI and returns the tag
// and digest of what it pushed: the signature manifest (sha256-HEX.sig)
// or, for a bundle, the referrers index (sha256-HEX).
func (r *Registry) cosignSign(t testing.TB, key, ref string, dg digest.Digest, bundle bool) (string, digest.Digest) {
	t.Helper()
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, "docker"), "COSIGN_PASSWORD=", "SIGSTORE_NO_CACHE=true", "TUF_ROOT="+filepath.Join(home, "tuf"))
	if r.Username != "" {
		cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, r.host, encodeStd([]byte(r.Username+":"+r.Password)))
		os.MkdirAll(filepath.Join(home, "docker"), 0o700)
		if err := os.WriteFile(filepath.Join(home, "docker", "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	name, _, _ := strings.Cut(ref[len(r.host):], ":")
	args := []string{"sign", "--key", key, "--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "--allow-insecure-registry", "--yes"}
	tag := strings.Replace(dg.String(), ":", "-", 1)
	if !bundle {
		args = append(args, "--new-bundle-format=false")
		tag += ".sig"
	}
	cmd := exec.Command(Tool(t, "cosign"), append(args, r.host+name+"@"+dg.String())...)
	cmd.Env, cmd.Dir = env, home
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign sign %s: %v\n%s", ref, err, out)
	}
	repo, err := r.repo(strings.TrimPrefix(name, "/"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := repo.Resolve(context.Background(), tag)
	if err != nil {
		var tags []string
		repo.Tags(context.Background(), "", func(ts []string) error { tags = append(tags, ts...); return nil })
		t.Fatalf("cosign signed %s but %s is not there (%v); tags: %v", ref, tag, err, tags)
	}
	return tag, d.Digest
}

// Stop stops the registry before the test ends (a registry gone down);
// the test's cleanup does nothing more.
func (r *Registry) Stop() {
	if r.stop != nil {
		r.stop()
	}
}
