package airgap

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/internal/ocimap"
)

// TestAttackSignatureShape: a bundle's cosign signature tag (an image's
// sha256-HEX.sig, or a pack's) whose descriptor is not the image
// manifest cosign writes, though its JSON holds the right layers: an
// index that also lists other manifests (import would push those as
// the signature's, unchecked), or a config blob. Refused, naming the
// media type; so is a payload layer announcing a huge size (before any
// read: never OOM). The well-formed one passes, so the check is what
// refuses the others.
func TestAttackSignatureShape(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	push := func(mt string, data []byte) ocispec.Descriptor {
		t.Helper()
		d := content.NewDescriptorFromBytes(mt, data)
		if err := store.Push(ctx, d, strings.NewReader(string(data))); err != nil {
			t.Fatal(err)
		}
		return d
	}
	image := push(ocispec.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`))
	other := push(ocispec.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"x":"unchecked"}}`))
	pl, err := json.Marshal(payload.SimpleContainerImage{Critical: payload.Critical{Type: payload.CosignSignatureType, Image: payload.Image{DockerManifestDigest: image.Digest.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	layer := push(ocimap.CosignPayloadMediaType, pl)
	manifest := func(mt string, extra map[string]any, layers ...ocispec.Descriptor) ocispec.Descriptor {
		t.Helper()
		m := map[string]any{"schemaVersion": 2, "mediaType": mt, "config": ocispec.DescriptorEmptyJSON, "layers": layers}
		for k, v := range extra {
			m[k] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return push(mt, b)
	}
	huge := layer
	huge.Size = 1 << 40
	b := blobs{store, "test.tar"}
	im := list.Image{Image: "example.com/a:1", Manifest: image}
	for _, c := range []struct {
		name string
		sig  ocispec.Descriptor
		want string // "" passes
	}{
		{"cosign's image manifest", manifest(ocispec.MediaTypeImageManifest, nil, layer), ""},
		{"docker's schema 2 manifest", manifest("application/vnd.docker.distribution.manifest.v2+json", nil, layer), ""},
		{"an index listing another manifest, with the layers too", manifest(ocispec.MediaTypeImageIndex, map[string]any{"manifests": []ocispec.Descriptor{other}}, layer), "not an image manifest"},
		{"a config blob", manifest(ocispec.MediaTypeImageConfig, nil, layer), "not an image manifest"},
		{"an image manifest saying it is an index", manifest(ocispec.MediaTypeImageManifest, map[string]any{"mediaType": ocispec.MediaTypeImageIndex, "manifests": []ocispec.Descriptor{other}}, layer), "not an image manifest"},
		{"a payload of 1 TiB", manifest(ocispec.MediaTypeImageManifest, nil, huge), "of 1099511627776 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, check := range []struct {
				what string
				err  error
			}{
				{"image", b.checkImageSignature(ctx, im, list.Signature{Tag: list.CosignTag(image.Digest), Manifest: c.sig}, nil)},
				{"pack", b.checkPackSignature(ctx, c.sig, image.Digest, nil)},
			} {
				if c.want == "" && check.err != nil || c.want != "" && (check.err == nil || !strings.Contains(check.err.Error(), c.want)) {
					t.Errorf("%s signature: %v, want %q", check.what, check.err, c.want)
				}
			}
		})
	}
}
