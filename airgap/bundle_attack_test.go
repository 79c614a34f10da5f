package airgap

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
)

// craftBundle writes an OCI layout tar as an attacker would, with
// oras-go's own layout store: a list (no packs, no images) whose index
// manifest has the given layers, the blobs given, and the images given. It returns the
// tar's path.
func craftBundle(t *testing.T, blobs [][]byte, layers []ocispec.Descriptor, images ...list.Image) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := oci.New(filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	push := func(d ocispec.Descriptor, data []byte) {
		t.Helper()
		if err := pushBytes(ctx, store, plain(d), data); err != nil {
			t.Fatal(err)
		}
	}
	for _, data := range blobs {
		push(content.NewDescriptorFromBytes(ocimap.FileMediaType, data), data)
	}
	m, err := ocimap.FilesManifest(layers, nil)
	if err != nil {
		t.Fatal(err)
	}
	push(m.Config, m.ConfigB)
	push(m.Desc, m.Manifest)
	listJSON, err := json.Marshal(list.List{SchemaVersion: 1, Profile: "edge", Registry: list.RegistryRef{Name: "acme", URL: "https://packs.acme.example"}, Index: plain(m.Desc), Packs: []list.Pack{}, Images: append([]list.Image{}, images...)})
	if err != nil {
		t.Fatal(err)
	}
	ld := content.NewDescriptorFromBytes(list.ListMediaType, listJSON)
	push(ld, listJSON)
	lm, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, ArtifactType: list.ListArtifactType, Config: ocispec.DescriptorEmptyJSON, Layers: []ocispec.Descriptor{ld}})
	if err != nil {
		t.Fatal(err)
	}
	push(ocispec.DescriptorEmptyJSON, ocispec.DescriptorEmptyJSON.Data)
	lmd := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, lm)
	push(lmd, lm)
	if err := store.Tag(ctx, lmd, list.ListTag); err != nil {
		t.Fatal(err)
	}
	var es []tartest.Entry
	testutil.EachFile(t, filepath.Join(dir, "layout"), func(rel string, data []byte) error {
		es = append(es, tartest.File(rel, data))
		return nil
	})
	out := filepath.Join(dir, "bundle.tar")
	testutil.Must(t, os.WriteFile(out, tartest.Tar(t, es...), 0o644))
	return out
}

// TestAttackBundleIndexFiles: the bundle's index manifest is not signed
// (only the files it leads to are checked, by the walker), so whoever
// can rewrite the bundle chooses its layers. Import must not hold them
// all in memory up front: a 4 MiB manifest names some 20,000 layers,
// each up to the 64 MiB a file may have, and all may name one blob
// (Verify reads it once): terabytes. Here 96 layers name one 1 MiB blob:
// opening the bundle as a site must not read them (only what the walker
// asks for is read, each bounded by its pin). Two files under one path
// (which one would the walker see?) are refused, naming the path.
func TestAttackBundleIndexFiles(t *testing.T) {
	ctx := context.Background()
	big := make([]byte, 1<<20)
	bd := ocimap.File("x", big)
	var many []ocispec.Descriptor
	for i := range 96 {
		d := bd
		d.Annotations = map[string]string{ocispec.AnnotationTitle: "packs/p" + strconv.Itoa(i) + "/index.json"}
		many = append(many, d)
	}
	b, err := Open(ctx, craftBundle(t, [][]byte{big}, many))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Verify(ctx); err != nil {
		t.Fatalf("the crafted bundle's blobs are intact, Verify: %v", err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tr, err := b.Transport(ctx)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("opening the bundle as a site allocated %d MiB for 96 MiB of declared index files: they are read before anything asks for them", grew>>20)
	}
	// What is asked for is still served, whole.
	r, err := tr.Get(ctx, "packs/p7/index.json", "")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if err != nil || n != int64(len(big)) || r.Size != int64(len(big)) {
		t.Errorf("served %d bytes (size %d), %v; want %d", n, r.Size, err, len(big))
	}

	// One path twice, with other content.
	a, c := []byte(`{"a":1}`), []byte(`{"a":2}`)
	da, dc := ocimap.File("index.json", a), ocimap.File("index.json", c)
	b, err = Open(ctx, craftBundle(t, [][]byte{a, c}, []ocispec.Descriptor{da, dc}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Transport(ctx); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), `"index.json" twice`) {
		t.Errorf("one path twice: %v", err)
	}
}

// TestAttackBundleVerifyByMediaType: Verify reads each blob once, but
// what lies below a blob depends on the media type it is named with. A
// bundle whose (unsigned) index manifest also names an image's index
// blob as a plain file made Verify mark that blob seen as a file, then
// skip it as the image's root: the manifests below it went unread, so
// one missing or damaged was found only by the push, after other images
// were pushed. Every blob below every root is read before the first
// push, whatever else names it.
func TestAttackBundleVerifyByMediaType(t *testing.T) {
	ctx := context.Background()
	missing := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"layers":[]}`))
	idx, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{missing}})
	if err != nil {
		t.Fatal(err)
	}
	image := list.Image{Image: "127.0.0.1:5000/acme/app:1", Registry: "127.0.0.1:5000", Path: "acme/app", Tag: "1",
		Manifest: content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, idx), Signatures: []list.Signature{}, Packs: []string{}}
	asFile := ocimap.File("packs/app/index.json", idx)
	for _, c := range []struct {
		name   string
		layers []ocispec.Descriptor
	}{
		{"the image alone", nil},
		{"its index also named as an index file", []ocispec.Descriptor{asFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := Open(ctx, craftBundle(t, [][]byte{idx}, c.layers, image))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = b.Verify(ctx)
			if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), missing.Digest.String()+" ("+ocispec.MediaTypeImageManifest+") is missing") {
				t.Errorf("Verify: %v, want the missing manifest %s named", err, missing.Digest)
			}
		})
	}
}

// TestOpenPathTypo: a bundle path that names nothing, or a directory, is
// what the user typed (ErrInput, exit 2), not a damaged bundle.
func TestOpenPathTypo(t *testing.T) {
	for _, p := range []string{filepath.Join(t.TempDir(), "nope.tar"), t.TempDir()} {
		if _, err := Open(context.Background(), p); !errors.Is(err, ErrInput) || errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), p) {
			t.Errorf("Open(%s) = %v, want ErrInput naming it", p, err)
		}
	}
}
