package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/translog"
)

// TestAttackOCIWitnessManifest: whoever can push to the registry points
// the witness-w1 tag at manifests of other shapes (a real registry).
// Reading log/witness/w1 refuses each, before reading more than the
// checkpoint bound: two layers, a layer titled for another witness or
// another file, embedded bytes that are not the layer's digest, a
// layer announcing 1 TiB (not embedded), an index. The genuine shape
// reads back; a witness name that cannot be a tag is not found.
func TestAttackOCIWitnessManifest(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Anonymous)
	ctx := context.Background()
	tr := openAcme(t, reg)
	repo, err := ocireg.Repository(ctx, reg.Host()+"/acme/"+ocimap.IndexRepo, ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	p := translog.WitnessPath("w1")
	cos := []byte("example.com/acme\n3\nAAAA\n\n\u2014 acme x\n")
	other := []byte("example.com/acme\n3\nBBBB\n\n\u2014 acme x\n")
	pushBlob := func(b []byte) ocispec.Descriptor {
		t.Helper()
		d := content.NewDescriptorFromBytes(ocimap.FileMediaType, b)
		if err := repo.Blobs().Push(ctx, d, bytes.NewReader(b)); err != nil && !strings.Contains(err.Error(), "exists") {
			t.Fatal(err)
		}
		return d
	}
	if err := repo.Blobs().Push(ctx, ocispec.DescriptorEmptyJSON, bytes.NewReader(ocispec.DescriptorEmptyJSON.Data)); err != nil {
		t.Fatal(err)
	}
	layer := func(title string, b []byte, embed bool) ocispec.Descriptor {
		d := pushBlob(b)
		d.Annotations = map[string]string{ocispec.AnnotationTitle: title}
		if embed {
			d.Data = b
		}
		return d
	}
	tag := func(mt string, layers ...ocispec.Descriptor) {
		t.Helper()
		m := map[string]any{"schemaVersion": 2, "mediaType": mt, "artifactType": ocimap.IndexArtifactType, "config": ocispec.DescriptorEmptyJSON, "layers": layers}
		if mt == ocispec.MediaTypeImageIndex {
			m = map[string]any{"schemaVersion": 2, "mediaType": mt, "manifests": []ocispec.Descriptor{}}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		d := content.NewDescriptorFromBytes(mt, b)
		if err := repo.PushReference(ctx, d, bytes.NewReader(b), "witness-w1"); err != nil {
			t.Fatal(err)
		}
	}
	good, err := ocimap.WitnessManifest(p, cos)
	if err != nil {
		t.Fatal(err)
	}
	huge := layer(p, cos, false)
	huge.Size = 1 << 40
	swapped := layer(p, cos, true)
	swapped.Data = other
	for _, c := range []struct {
		name string
		push func()
		want error // nil: reads cos
	}{
		{"the genuine shape", func() { tag(ocispec.MediaTypeImageManifest, good.Layers...) }, nil},
		{"two layers", func() { tag(ocispec.MediaTypeImageManifest, layer(p, cos, true), layer(p, other, true)) }, ErrWrongBytes},
		{"a layer titled for another witness", func() { tag(ocispec.MediaTypeImageManifest, layer(translog.WitnessPath("w2"), cos, true)) }, ErrWrongBytes},
		{"a layer titled index.json", func() { tag(ocispec.MediaTypeImageManifest, layer(index.RootFile, cos, true)) }, ErrWrongBytes},
		{"embedded bytes that are not the digest's", func() { tag(ocispec.MediaTypeImageManifest, swapped) }, ErrWrongBytes},
		{"a layer of 1 TiB", func() { tag(ocispec.MediaTypeImageManifest, huge) }, index.ErrTooLarge},
		{"an index", func() { tag(ocispec.MediaTypeImageIndex) }, ErrWrongBytes},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.push()
			got, err := Fetch(tr)(ctx, p, translog.MaxCheckpointSize)
			switch {
			case c.want == nil && (err != nil || !bytes.Equal(got, cos)):
				t.Fatalf("%q %v", got, err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("%q %v, want %v", got, err, c.want)
			}
		})
	}
	if _, err := tr.Get(ctx, translog.WitnessDir+"/"+strings.Repeat("w", 200), ""); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("a name too long for a tag: %v", err)
	}
}
