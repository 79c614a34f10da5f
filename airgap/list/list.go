// Package list is the table of contents of an air-gap bundle (package
// airgap): its names, its JSON, and Parse, the parser of that outside
// input (a bundle crosses the gap on a disk). A leaf without Helm, so
// its fuzz target runs fast (see ARCHITECTURE.md, "Parsers of outside
// input that are fuzzed stay leaves").
package list

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"

	"github.com/packgen/packgen/internal/ocimap"
)

// Names in the bundle's layout (index.json's org.opencontainers.image.ref.name).
const (
	// ListTag names the bundle's list manifest: one layer, the List.
	ListTag = "packgen-airgap"
	// IndexTag names the manifest whose layers are the packgen index
	// files (titled by their site paths).
	IndexTag = "packgen/index:bundle"
	// ListMediaType is the List's media type; ListArtifactType the list
	// manifest's artifact type.
	ListMediaType    = "application/vnd.packgen.airgap.list.v1+json"
	ListArtifactType = "application/vnd.packgen.airgap.v1"
	// SignaturesRepo names the packs' cosign signatures in the layout
	// (SignaturesRepo:sha256-HEX.sig), as in a registry (ocimap.SignatureRepo).
	SignaturesRepo = ocimap.SignatureRepo
	// ImagesRepo is where import puts images below BASE:
	// BASE/spectro-images/ORIGINAL-REGISTRY/PATH:TAG.
	ImagesRepo = "spectro-images"
	// ListVersion is the List's schema version.
	ListVersion = 1
)

// Errors, usable with errors.Is.
var (
	// ErrBundle: the bundle is not a complete, intact air-gap bundle
	// (truncated, a byte changed, a blob missing, not a layout).
	ErrBundle = errors.New("not an intact air-gap bundle")
	// ErrImage: an image reference that does not parse.
	ErrImage = errors.New("not an image reference")
)

// List is the bundle's table of contents, the one layer of the manifest
// tagged ListTag: every pack and image with its digests. Sorted, no
// times: the same lock and registries give the same bytes.
type List struct {
	SchemaVersion int    `json:"schemaVersion"`
	Profile       string `json:"profile"`
	// Registry is the packgen registry the packs come from (its name and
	// URL in the lock).
	Registry RegistryRef `json:"registry"`
	// Platform narrows multi-arch images ("" keeps indexes whole).
	Platform string `json:"platform,omitempty"`
	// Index is the manifest of the packgen index files (IndexTag).
	Index  ocispec.Descriptor `json:"index"`
	Packs  []Pack             `json:"packs"`
	Images []Image            `json:"images"`
}

// RegistryRef names a packgen registry.
type RegistryRef struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Pack is a locked release in the bundle.
type Pack struct {
	Name     string             `json:"name"`
	Version  string             `json:"version"`
	Tag      string             `json:"tag"`      // the OCI tag (ocimap.Tag)
	Manifest ocispec.Descriptor `json:"manifest"` // the ORAS-shaped release manifest
	Archive  ocispec.Descriptor `json:"archive"`  // its one layer
	// Signature is the release manifest's cosign signature (tag
	// sha256-HEX.sig of the registry's packgen/signatures repository),
	// when its registry is an OCI registry that has one; a static site
	// has none.
	Signature *Signature `json:"signature,omitempty"`
}

// Image is a container image in the bundle.
type Image struct {
	// Image is the reference as the packs name it, normalised
	// (docker.io/library/nginx:1.25, with @sha256:… when pinned).
	Image string `json:"image"`
	// Registry and Path split its repository; Tag is "" for a reference
	// by digest alone.
	Registry string `json:"registry"`
	Path     string `json:"path"`
	Tag      string `json:"tag,omitempty"`
	// Manifest is the manifest or index stored: the upstream one, or the
	// platform's manifest when the bundle was narrowed (Upstream is then
	// the index it was taken from).
	Manifest ocispec.Descriptor `json:"manifest"`
	Upstream digest.Digest      `json:"upstream"`
	// Signatures are its cosign signatures (tags sha256-HEX.sig and
	// sha256-HEX of Upstream, and of Manifest when narrowed), in the
	// bundle.
	Signatures []Signature `json:"signatures"`
	// Packs are the pack@version ids that deploy it.
	Packs []string `json:"packs"`
}

// Signature is a cosign signature of an image: the signature manifest
// cosign's legacy layout tags sha256-HEX.sig, or the referrers index
// tagged sha256-HEX that holds cosign v3's Sigstore bundles.
type Signature struct {
	Tag      string             `json:"tag"` // sha256-HEX.sig or sha256-HEX
	Manifest ocispec.Descriptor `json:"manifest"`
}

// Repository is REGISTRY/PATH.
func (im Image) Repository() string { return im.Registry + "/" + im.Path }

// CosignTag is cosign's tag for the signature of manifest dg.
func CosignTag(dg digest.Digest) string {
	return strings.Replace(dg.String(), ":", "-", 1) + ".sig"
}

// ReferrersTag is the OCI 1.1 referrers tag schema's tag for manifest
// dg (sha256-HEX): where cosign v3 signatures (Sigstore bundles attached
// as referrers) are found in a registry without the referrers API.
func ReferrersTag(dg digest.Digest) string {
	return strings.Replace(dg.String(), ":", "-", 1)
}

// SplitImage splits a normalised reference into registry, path, tag and
// digest, with oras-go's parser (what the registry client will use).
func SplitImage(image string) (reg, path, tag string, dg digest.Digest, err error) {
	// distribution's normalised form may hold both a tag and a digest;
	// oras-go's parser takes one: the digest wins, the tag is kept.
	name, d, hasDigest := strings.Cut(image, "@")
	if hasDigest {
		dg = digest.Digest(d)
		if err := dg.Validate(); err != nil {
			return "", "", "", "", fmt.Errorf("%w: image %q: %v", ErrImage, image, err)
		}
	}
	r, err := registry.ParseReference(name)
	if err != nil {
		return "", "", "", "", fmt.Errorf("%w: image %q: %v", ErrImage, image, err)
	}
	if r.Reference != "" {
		tag = r.Reference
	}
	return r.Registry, r.Repository, tag, dg, nil
}

// HostPath is how an image's registry host appears in the air-gapped
// registry's repository names: the host lowercased, a ":PORT" written
// "-PORT" (a colon cannot be in a repository name).
func HostPath(host string) string {
	return strings.ReplaceAll(strings.ToLower(host), ":", "-")
}

// Parse decodes a bundle's list strictly (unknown fields refused)
// and checks what import will use: digests, names, one entry per pack
// and image.
func Parse(data []byte) (*List, error) {
	var l List
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: the list: %v", ErrBundle, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: the list: data after its JSON object", ErrBundle)
	}
	if l.SchemaVersion != ListVersion {
		return nil, fmt.Errorf("%w: list schema version %d, this packgen reads %d: use the packgen that exported it", ErrBundle, l.SchemaVersion, ListVersion)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: the list: "+format, append([]any{ErrBundle}, args...)...)
	}
	desc := func(what string, d ocispec.Descriptor) error {
		if err := d.Digest.Validate(); err != nil || d.Digest.Algorithm() != digest.SHA256 || d.Size < 0 {
			return bad("%s: descriptor %q of %d bytes is not a sha256 digest and size", what, d.Digest, d.Size)
		}
		return nil
	}
	if err := desc("index", l.Index); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range l.Packs {
		id := p.Name + "@" + p.Version
		if tag, err := ocimap.Tag(p.Version); err != nil || tag != p.Tag || p.Name == "" || strings.ContainsAny(p.Name, "/:@ ") {
			return nil, bad("pack %q: not a pack name, version and tag (%q)", id, p.Tag)
		}
		if seen[id] {
			return nil, bad("pack %s listed twice", id)
		}
		seen[id] = true
		if err := desc(id, p.Manifest); err != nil {
			return nil, err
		}
		if err := desc(id, p.Archive); err != nil {
			return nil, err
		}
		if s := p.Signature; s != nil {
			if s.Tag != CosignTag(p.Manifest.Digest) {
				return nil, bad("pack %s: signature tag %q is not %s, the tag of its manifest's signature", id, s.Tag, CosignTag(p.Manifest.Digest))
			}
			if err := desc(id, s.Manifest); err != nil {
				return nil, err
			}
		}
	}
	for _, im := range l.Images {
		host, path, tag, _, err := SplitImage(im.Image)
		if err != nil || host != im.Registry || path != im.Path || tag != im.Tag {
			return nil, bad("image %q: registry %q, path %q and tag %q are not its own", im.Image, im.Registry, im.Path, im.Tag)
		}
		if seen[im.Image] {
			return nil, bad("image %s listed twice", im.Image)
		}
		seen[im.Image] = true
		if err := desc(im.Image, im.Manifest); err != nil {
			return nil, err
		}
		for _, s := range im.Signatures {
			if !cosignTag().MatchString(s.Tag) {
				return nil, bad("image %s: signature tag %q is not sha256-HEX.sig or sha256-HEX", im.Image, s.Tag)
			}
			if err := desc(im.Image, s.Manifest); err != nil {
				return nil, err
			}
		}
	}
	return &l, nil
}

// Compiled on first use, not in the initialiser every packgen process runs.
var cosignTag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256-[0-9a-f]{64}(\.sig)?$`) })

// MaxListSize bounds the list a list manifest names.
const MaxListSize = 64 << 20

// IsListManifest says whether m has the shape of a list manifest: the
// artifact type, one layer of ListMediaType within MaxListSize.
func IsListManifest(m *ocispec.Manifest) bool {
	return m.ArtifactType == ListArtifactType && len(m.Layers) == 1 && m.Layers[0].MediaType == ListMediaType && m.Layers[0].Size <= MaxListSize
}

// Bound parses the list of a bundle whose list manifest's digest is
// want (the digest `airgap export` printed), given the manifest's bytes
// and its one layer's: each must be the bytes the digest before it
// names, so the list read is the one want stands for. The air-gapped
// registry's marker carries both for verify --site.
func Bound(want string, manifest, listing []byte) (*List, error) {
	if got := digest.FromBytes(manifest).String(); got != want {
		return nil, fmt.Errorf("%w: its list manifest is %s, not %s", ErrBundle, got, want)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil || !IsListManifest(&m) {
		return nil, fmt.Errorf("%w: %s is not an air-gap list manifest", ErrBundle, want)
	}
	if got := digest.FromBytes(listing); got != m.Layers[0].Digest || int64(len(listing)) != m.Layers[0].Size {
		return nil, fmt.Errorf("%w: the list of %s is %s (%d bytes), not %s (%d bytes)", ErrBundle, want, got, len(listing), m.Layers[0].Digest, m.Layers[0].Size)
	}
	return Parse(listing)
}
