package publish

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/translog"
)

// rootManifest reads the manifest tagged root of base's index repository.
func rootManifest(t *testing.T, idx *remote.Repository) (ocispec.Descriptor, *ocispec.Manifest) {
	t.Helper()
	desc, m, _, err := fetchManifest(context.Background(), idx, ocimap.RootTag)
	if err != nil {
		t.Fatal(err)
	}
	return desc, m
}

func layerTitled(m *ocispec.Manifest, title string) (ocispec.Descriptor, bool) {
	for _, l := range m.Layers {
		if ocimap.Title(l) == title {
			return l, true
		}
	}
	return ocispec.Descriptor{}, false
}

// TestOCILog publishes a signed site whose transparency log has a full
// tile (more than 256 releases) to a real registry and checks the log's
// mapping: the checkpoint, partial tiles and tile groups are layers of
// the root manifest (they switch with index.json), the full tiles blobs
// pinned by the meta manifest; a fetch through OCI proves inclusion from
// them and `verify --site` checks the whole log; a tile the registry
// serves wrong (its storage tampered with, or a root manifest whose tile
// group names another self-consistent tile) is refused; promotion copies
// the log byte for byte; a second publish pushes only the new tiles.
func TestOCILog(t *testing.T) {
	reg, f := ociSetup(t, ocitest.Anonymous)
	const n = 260
	for i := range n {
		f.pack(fmt.Sprintf("p%03d", i), "1.0.0", fmt.Sprintf("v: %d\n", i))
	}
	site := f.build(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site, dest)
	idx, err := ocireg.Repository(ctx, reg.Host()+"/acme/packgen/index", ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	rootDesc, root := rootManifest(t, idx)
	group := ocimap.LogGroupTitle(0, 0)
	t.Logf("root manifest: %d bytes, %d layers", rootDesc.Size, len(root.Layers))
	for _, p := range []string{translog.CheckpointPath, "log/tile/8/0/001.p/4", "log/tile/8/1/000.p/1", "log/tile/8/data/001.p/4", group, ocimap.LogGroupTitle(-1, 0)} {
		l, ok := layerTitled(root, p)
		if !ok {
			t.Fatalf("the root manifest has no layer %s: %+v", p, root.Layers)
		}
		if want, err := os.ReadFile(filepath.Join(site, p)); err == nil && "sha256:"+index.Digest(want) != l.Digest.String() {
			t.Fatalf("%s: layer %s, the site's file is %s", p, l.Digest, index.Digest(want))
		}
	}
	// The full tiles are not in the root manifest (it would grow with
	// the log) but pinned by the generation's meta manifest.
	if _, ok := layerTitled(root, "log/tile/8/0/000"); ok {
		t.Fatal("a full tile is a layer of the root manifest")
	}
	_, meta, _, err := fetchManifest(ctx, idx, ocimap.MetaTagPrefix+root.Annotations[ocimap.AnnotationSerial])
	if err != nil {
		t.Fatal(err)
	}
	tile, err := os.ReadFile(filepath.Join(site, "log/tile/8/0/000"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"log/tile/8/0/000", "log/tile/8/data/000"} {
		if _, ok := layerTitled(meta, p); !ok {
			t.Fatalf("the meta manifest does not pin %s", p)
		}
	}

	r := client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}
	fetch := func(name string) error {
		c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Fetch(ctx, client.FetchOptions{Name: name, Dest: filepath.Join(t.TempDir(), "out")})
		return err
	}
	// The site's index.json names its height-4 tiles, which an OCI
	// registry does not hold: a client reading it proves from height 8.
	if data, err := os.ReadFile(filepath.Join(site, index.RootFile)); err != nil || !strings.Contains(string(data), `"proofTileHeight":4`) {
		t.Fatalf("the site's index.json names no height-4 tiles: %v", err)
	}
	before := reg.Requests("GET", "/blobs/")
	if err := fetch("p005"); err != nil { // entry 5: its proof reads the full tile 0/000
		t.Fatal(err)
	}
	if got := reg.Requests("GET", "/blobs/"+"sha256:"+index.Digest(tile)); got != 1 {
		t.Fatalf("the full tile was read %d times", got)
	}
	t.Logf("a fetch read %d blobs", reg.Requests("GET", "/blobs/")-before)
	verify := func() *client.SiteReport {
		tr, err := r.Transport("", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := client.VerifySiteVia(ctx, tr, f.verifier(t))
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := verify(); len(rep.Problems) != 0 || rep.Releases != n {
		t.Fatalf("verify: %+v", rep)
	}

	// Promotion copies the log as it is, verified.
	do := ociOptions(reg, false, f)
	do.OCI.Source = func(loc location.Location) (transport.Transport, error) {
		return transport.Open(loc, transport.Config{OCI: ocireg.Options{PlainHTTP: true}})
	}
	do.OCI.Verify = f.verifier(t)
	if _, err := To(ctx, dest, "oci://"+reg.Host()+"/prod", do, Options{}); err != nil {
		t.Fatal(err)
	}
	prodIdx, err := ocireg.Repository(ctx, reg.Host()+"/prod/packgen/index", ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	_, prodRoot := rootManifest(t, prodIdx)
	a, _ := json.Marshal(root.Layers)
	b, _ := json.Marshal(prodRoot.Layers)
	if !bytes.Equal(a, b) {
		t.Fatalf("the promoted root's files differ:\n%s\n%s", a, b)
	}
	if _, err := prodIdx.Blobs().Resolve(ctx, "sha256:"+index.Digest(tile)); err != nil {
		t.Fatalf("the promoted registry lacks the full tile: %v", err)
	}

	// A second generation pushes only the tiles that changed: the full
	// tile 0/000 is not sent again.
	f.pack("extra", "1.0.0", "e: 1\n")
	site2 := f.build(t)
	puts := reg.AccessLog()
	mustPublish(t, reg, f, site2, dest)
	for _, l := range reg.AccessLog()[len(puts):] {
		if strings.Contains(l, "HEAD") && strings.Contains(l, index.Digest(tile)) {
			t.Fatalf("the second publish asked for the unchanged full tile again: %s", l)
		}
	}
	if err := fetch("p005"); err != nil {
		t.Fatal(err)
	}
	rootDesc, root = rootManifest(t, idx)

	// A root manifest whose tile group names another tile (consistent
	// with its own digest, so the registry's checks pass): the signed
	// tree refuses it, for a fetch and for verify.
	bad := bytes.Clone(tile)
	bad[7] ^= 1
	gl, _ := layerTitled(root, group)
	g, err := fetchBlob(ctx, idx, gl, ocimap.MaxLogGroup)
	if err != nil {
		t.Fatal(err)
	}
	g = bytes.Clone(g)
	badDesc := ocimap.File("log/tile/8/0/000", bad)
	sum, _ := hex.DecodeString(badDesc.Digest.Encoded())
	copy(g[:32], sum) // slot 0: tile 0/000

	if err := pushNew(ctx, idx, badDesc, bad); err != nil {
		t.Fatal(err)
	}
	ng := ocimap.LogGroupLayer(group, g)
	if err := pushNew(ctx, idx, ng, g); err != nil {
		t.Fatal(err)
	}
	layers := append([]ocispec.Descriptor(nil), root.Layers...)
	for i, l := range layers {
		if ocimap.Title(l) == group {
			layers[i] = ng
		}
	}
	forged, err := ocimap.FilesManifest(layers, root.Annotations)
	if err != nil {
		t.Fatal(err)
	}
	if err := pushManifest(ctx, idx, forged, ocimap.RootTag); err != nil {
		t.Fatal(err)
	}
	if err := fetch("p005"); !errors.Is(err, client.ErrLogTile) {
		t.Fatalf("a fetch through a forged tile: %v", err)
	}
	if err := fetch("p200"); !errors.Is(err, client.ErrLogTile) {
		t.Fatalf("a fetch through a forged tile: %v", err)
	}
	rep := verify()
	if len(rep.Problems) == 0 || !strings.Contains(fmt.Sprint(rep.Problems), "log") {
		t.Fatalf("verify of a forged tile: %+v", rep.Problems)
	}
	if err := idx.Tag(ctx, rootDesc, ocimap.RootTag); err != nil {
		t.Fatal(err)
	}
	if err := fetch("p005"); err != nil {
		t.Fatal(err)
	}

	// The full tile's blob tampered with in the registry's storage (same
	// length): the transport refuses the bytes, naming the blob.
	blob := filepath.Join(reg.Dir, "docker/registry/v2/blobs/sha256", index.Digest(tile)[:2], index.Digest(tile), "data")
	if err := os.WriteFile(blob, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fetch("p005"); !errors.Is(err, transport.ErrWrongBytes) || !strings.Contains(err.Error(), index.Digest(tile)) {
		t.Fatalf("a tampered tile blob: %v", err)
	}
	if rep := verify(); len(rep.Problems) == 0 {
		t.Fatal("verify passed a tampered tile blob")
	}
}
