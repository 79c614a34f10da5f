package ocitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// PushImage pushes a small single-platform OCI image (linux/amd64, one
// layer whose bytes come from seed) as REPO:TAG, and returns its
// manifest digest ("sha256:…"). The same seed gives the same digest, so
// pushing another seed under the same tag moves the tag.
func (r *Registry) PushImage(t testing.TB, repoTag, seed string) string {
	t.Helper()
	repoName, tag, ok := strings.Cut(repoTag, ":")
	if !ok {
		t.Fatalf("PushImage %q: want REPO:TAG", repoTag)
	}
	ctx := context.Background()
	repo := r.repoT(t, repoName)
	push := func(mediaType string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := repo.Push(ctx, d, bytes.NewReader(data)); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("push %s blob to %s: %v", mediaType, repoTag, err)
		}
		return d
	}
	sum := sha256.Sum256([]byte(seed))
	layer := push(ocispec.MediaTypeImageLayer, append([]byte("layer "+seed+" "), sum[:]...))
	cfg, _ := json.Marshal(ocispec.Image{Platform: ocispec.Platform{Architecture: "amd64", OS: "linux"},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}}})
	config := push(ocispec.MediaTypeImageConfig, cfg)
	man, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: []ocispec.Descriptor{layer}})
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(man), Size: int64(len(man))}
	if err := repo.PushReference(ctx, d, bytes.NewReader(man), tag); err != nil {
		t.Fatalf("push manifest %s: %v", repoTag, err)
	}
	return d.Digest.String()
}

// PushIndex pushes a multi-platform image as REPO:TAG: one image per
// platform ("linux/amd64", "linux/arm64"), each pushed by digest, under
// an OCI image index; it returns the index's digest.
func (r *Registry) PushIndex(t testing.TB, repoTag, seed string, platforms ...string) string {
	t.Helper()
	repoName, tag, ok := strings.Cut(repoTag, ":")
	if !ok {
		t.Fatalf("PushIndex %q: want REPO:TAG", repoTag)
	}
	var ms []ocispec.Descriptor
	for _, p := range platforms {
		osName, arch, _ := strings.Cut(p, "/")
		// Each platform's image under a tag of its own first, then
		// listed by digest in the index.
		d := r.PushImage(t, repoName+":"+tag+"-"+osName+"-"+arch, seed+" "+p)
		ms = append(ms, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(d), Size: r.manifestSize(t, repoName, d),
			Platform: &ocispec.Platform{OS: osName, Architecture: arch}})
	}
	idx, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: ms})
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(idx), Size: int64(len(idx))}
	if err := r.repoT(t, repoName).PushReference(context.Background(), d, bytes.NewReader(idx), tag); err != nil {
		t.Fatalf("push index %s: %v", repoTag, err)
	}
	return d.Digest.String()
}

// repoT is repo for a test: a failure ends it. Its client lets the token
// realm be on loopback (Token mode).
func (r *Registry) repoT(t testing.TB, name string) *remote.Repository {
	t.Helper()
	repo, err := remote.NewRepository(r.host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = r.PlainHTTP()
	// The token realm of Token mode is on loopback too: allow it.
	repo.Client = &auth.Client{Client: r.httpClient(), Credential: auth.StaticCredential(r.host, auth.Credential{Username: r.Username, Password: r.Password}), BlockedRealmPrefixes: []netip.Prefix{}}
	return repo
}

// manifestSize is the size of the manifest d in repository name.
func (r *Registry) manifestSize(t testing.TB, name, d string) int64 {
	t.Helper()
	desc, err := r.repoT(t, name).Resolve(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return desc.Size
}
