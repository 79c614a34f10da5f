// Package airgap writes and reads air-gap bundles: one OCI image layout,
// as a tar, holding the packs a profile's lock pins (the ORAS-shaped
// release manifests publish pushes), the part of their registry's packgen
// index a client reads to fetch them (signed by the registry's key), and
// every container image those packs deploy with its cosign signatures.
// Export streams it from the registries; import verifies all of it, then
// pushes it into an air-gapped registry in the vendor's layout. The
// layout is oras-go's (content/oci); see docs/FORMAT.md, "Air-gap
// bundles".
package airgap

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
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
	// ErrInput: the lock or the options cannot make a bundle.
	ErrInput = errors.New("air-gap input")
	// ErrNoKey: import without the packs' registry key.
	ErrNoKey = errors.New("no key to verify the bundle's packs")
	// ErrImageTag: an image tag of the air-gapped registry already names
	// other content.
	ErrImageTag = errors.New("image tag already names other content")
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

// ref is the layout's name of the image (or of a tag of its repository).
func layoutRef(repo, tag string, dg digest.Digest) string {
	if tag == "" {
		return repo + "@" + dg.String()
	}
	return repo + ":" + tag
}

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

// splitImage splits a normalised reference into registry, path, tag and
// digest, with oras-go's parser (what the registry client will use).
func splitImage(image string) (reg, path, tag string, dg digest.Digest, err error) {
	// distribution's normalised form may hold both a tag and a digest;
	// oras-go's parser takes one: the digest wins, the tag is kept.
	name, d, hasDigest := strings.Cut(image, "@")
	if hasDigest {
		dg = digest.Digest(d)
		if err := dg.Validate(); err != nil {
			return "", "", "", "", fmt.Errorf("%w: image %q: %v", ErrInput, image, err)
		}
	}
	r, err := registry.ParseReference(name)
	if err != nil {
		return "", "", "", "", fmt.Errorf("%w: image %q: %v", ErrInput, image, err)
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

// Mapping is one line of the platform's image swap: images of registry
// From are pulled from To.
type Mapping struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// mappings is the image swap for the images, to the registry prefix to
// (REGISTRY/BASE/spectro-images).
func mappings(images []Image, to string) []Mapping {
	seen := map[string]bool{}
	var out []Mapping
	for _, im := range images {
		if !seen[im.Registry] {
			seen[im.Registry] = true
			out = append(out, Mapping{From: im.Registry, To: to + "/" + HostPath(im.Registry)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out
}
