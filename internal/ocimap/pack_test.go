package ocimap

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
)

// orasPack is what pack stands in for: oras.PackManifest into an
// in-memory store, the manifest and config read back.
func orasPack(t *testing.T, v oras.PackManifestVersion, artifactType string, layers []ocispec.Descriptor, ann map[string]string) (ocispec.Descriptor, []byte, ocispec.Manifest, []byte) {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	desc, err := oras.PackManifest(ctx, store, v, artifactType, oras.PackManifestOptions{Layers: layers, ManifestAnnotations: ann})
	if err != nil {
		t.Fatal(err)
	}
	m, err := content.FetchAll(ctx, store, desc)
	if err != nil {
		t.Fatal(err)
	}
	var mf ocispec.Manifest
	if err := json.Unmarshal(m, &mf); err != nil {
		t.Fatal(err)
	}
	cfg, err := content.FetchAll(ctx, store, mf.Config)
	if err != nil {
		t.Fatal(err)
	}
	return desc, m, mf, cfg
}

// TestPackIsORAS holds pack to oras-go's PackManifest, byte for byte, for
// every manifest shape this package makes: the release (ORAS 1.0's),
// the base artifact, cosign's signature (one layer, and two after a
// rotation), the index repository's files manifests (with layers,
// embedded data and annotations; with none, where the empty layer
// stands in), the signature files and a witness's manifest.
func TestPackIsORAS(t *testing.T) {
	created := map[string]string{ocispec.AnnotationCreated: "1970-01-01T00:00:00Z"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{ocispec.AnnotationCreated: "2024-01-02T03:04:05Z"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	archive := ocispec.Descriptor{MediaType: LayerMediaType, Digest: "sha256:0ae16ac9dc6ef133f8eb21c956289d3bba03dc11030063b000f14f9d767d4431", Size: 353, Annotations: map[string]string{ocispec.AnnotationTitle: "caf\u00e9-1.0.0.tar.gz"}}
	sig1 := content.NewDescriptorFromBytes(CosignPayloadMediaType, []byte(`{"critical":{}}`))
	sig1.Annotations = map[string]string{CosignSignatureAnnotation: "MEUCIQ=="}
	sig2 := content.NewDescriptorFromBytes(CosignPayloadMediaType, []byte(`{"critical":{"x":1}}`))
	sig2.Annotations = map[string]string{CosignSignatureAnnotation: "MEYCIQ<>&"}
	root := RootLayer("index.json", []byte(`{"serial":1}`))
	group := LogGroupLayer("log/tile/8/0/group/0", bytes.Repeat([]byte{7}, 64))
	for _, tc := range []struct {
		name         string
		v            oras.PackManifestVersion
		artifactType string
		layers       []ocispec.Descriptor
		ann          map[string]string
	}{
		{"release", oras.PackManifestVersion1_0, "", []ocispec.Descriptor{archive}, with()},
		{"base artifact", oras.PackManifestVersion1_0, "", nil, created},
		{"cosign", oras.PackManifestVersion1_0, "", []ocispec.Descriptor{sig1}, created},
		{"cosign, rotated", oras.PackManifestVersion1_0, "", []ocispec.Descriptor{sig1, sig2}, created},
		{"files", oras.PackManifestVersion1_1, IndexArtifactType, []ocispec.Descriptor{root, File("index/x.json", []byte("{}")), group}, with(AnnotationMeta, "sha256:ab", AnnotationSerial, "7")},
		{"no files", oras.PackManifestVersion1_1, IndexArtifactType, nil, with(AnnotationFilePrefix+"packs/a/1/a-1.tar.gz.sig", "c2ln")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desc, m, mf, cfg := orasPack(t, tc.v, tc.artifactType, tc.layers, tc.ann)
			p, err := pack(tc.v, tc.artifactType, tc.layers, tc.ann)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Manifest, m) {
				t.Fatalf("manifest differs from oras-go's:\n got %s\nwant %s", p.Manifest, m)
			}
			if !reflect.DeepEqual(p.Desc, desc) {
				t.Fatalf("descriptor %+v, oras-go's %+v", p.Desc, desc)
			}
			if !reflect.DeepEqual(p.Config, mf.Config) || !bytes.Equal(p.ConfigB, cfg) {
				t.Fatalf("config %+v %q, oras-go's %+v %q", p.Config, p.ConfigB, mf.Config, cfg)
			}
			got, _ := json.Marshal(p.Layers)
			want, _ := json.Marshal(mf.Layers)
			if !bytes.Equal(got, want) {
				t.Fatalf("layers %s, oras-go's %s", got, want)
			}
		})
	}
	// The exported builders are pack with these arguments.
	w, err := WitnessManifest("log/witness/w1", []byte("checkpoint\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, m, _, _ := orasPack(t, oras.PackManifestVersion1_1, IndexArtifactType, w.Layers, created); !bytes.Equal(w.Manifest, m) {
		t.Fatalf("witness manifest differs from oras-go's:\n got %s\nwant %s", w.Manifest, m)
	}

	// Never the current time: a manifest without a created time, or with
	// one that is not RFC 3339, is an error.
	if _, err := pack(oras.PackManifestVersion1_0, "", nil, map[string]string{}); err == nil || !strings.Contains(err.Error(), ocispec.AnnotationCreated) {
		t.Fatalf("no created time: %v", err)
	}
	if _, err := pack(oras.PackManifestVersion1_0, "", nil, map[string]string{ocispec.AnnotationCreated: time.Now().String()}); err == nil {
		t.Fatal("a created time that is not RFC 3339 was accepted")
	}
}
