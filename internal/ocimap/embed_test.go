package ocimap

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/packgen/packgen/index"
)

func TestEmbeddedData(t *testing.T) {
	root := []byte(`{"serial": 1}`)
	good := RootLayer(index.RootFile, root)
	if string(good.Data) != string(root) {
		t.Fatalf("index.json not embedded: %+v", good)
	}
	if d := RootLayer("index.json.sigstore.json", root); d.Data != nil {
		t.Fatalf("a file fetches do not read is embedded: %+v", d)
	}
	if d := RootLayer(index.RootFile, make([]byte, MaxEmbedded+1)); d.Data != nil {
		t.Fatal("an index.json over MaxEmbedded is embedded")
	}
	other := good
	other.Data = []byte(`{"serial": 2}`) // same length, other bytes
	short := good
	short.Data = root[:5]
	badDigest := good
	badDigest.Digest = "sha256:zz"
	for _, tc := range []struct {
		name string
		d    ocispec.Descriptor
		ok   bool
		err  bool
	}{
		{"embedded", good, true, false},
		{"none", File(index.RootFile, root), false, false},
		{"other bytes", other, true, true},
		{"wrong size", short, true, true},
		{"bad digest", badDigest, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, ok, err := EmbeddedData(tc.d)
			if ok != tc.ok || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrEmbedded)) {
				t.Fatalf("ok %v err %v", ok, err)
			}
			if err == nil && ok && string(data) != string(root) {
				t.Fatalf("data %q", data)
			}
		})
	}
	// The data survives the manifest's JSON (base64, as the spec says).
	m, err := FilesManifest([]ocispec.Descriptor{good}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var back ocispec.Manifest
	if err := json.Unmarshal(m.Manifest, &back); err != nil {
		t.Fatal(err)
	}
	if data, ok, err := EmbeddedData(back.Layers[0]); !ok || err != nil || string(data) != string(root) {
		t.Fatalf("round trip: %q %v %v", data, ok, err)
	}
}

func TestSigFilesManifest(t *testing.T) {
	files := map[string][]byte{"packs/a/1.0.0/a-1.0.0.tar.gz.sig": []byte("sig\x00bytes"), "packs/a/1.0.0/a-1.0.0.tar.gz.sigstore.json": []byte(`{"x":1}`)}
	p, err := SigFilesManifest(files)
	if err != nil {
		t.Fatal(err)
	}
	// No file layer: oras-go's 1.1 packing puts in the empty
	// descriptor ({}, the config's blob) as the spec suggests.
	if len(p.Layers) != 1 || p.Layers[0].Digest != ocispec.DescriptorEmptyJSON.Digest {
		t.Fatalf("layers %v", p.Layers)
	}
	again, _ := SigFilesManifest(files)
	if again.Desc.Digest != p.Desc.Digest {
		t.Fatal("not deterministic")
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(p.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		data, layer, found, err := SigFile(&m, path)
		if err != nil || !found || layer != nil || string(data) != string(want) {
			t.Fatalf("%s: %q %v %v %v", path, data, layer, found, err)
		}
	}
	if _, _, found, _ := SigFile(&m, "packs/a/1.0.0/other.sig"); found {
		t.Fatal("found a file not there")
	}
	// The layout before: a layer per file.
	old := ocispec.Manifest{Layers: []ocispec.Descriptor{File("x.sig", []byte("s"))}}
	if _, layer, found, err := SigFile(&old, "x.sig"); !found || err != nil || layer == nil || layer.Digest != digest.FromBytes([]byte("s")) {
		t.Fatalf("layer layout: %v %v %v", layer, found, err)
	}
	// Not base64: the registry's fault, named.
	bad := ocispec.Manifest{Annotations: map[string]string{AnnotationFilePrefix + "x.sig": "!!"}}
	if _, _, _, err := SigFile(&bad, "x.sig"); !errors.Is(err, ErrEmbedded) {
		t.Fatalf("bad base64: %v", err)
	}
}

// TestEmbeddedLogEdge: the log's right edge that every inclusion proof
// reads travels in the root manifest (partial hash tiles, small tile
// groups of hash levels); what proofs do not read (data tiles, the
// checkpoint) and large groups do not.
func TestEmbeddedLogEdge(t *testing.T) {
	for _, tc := range []struct {
		path  string
		size  int
		embed bool
	}{
		{"log/tile/8/0/000.p/17", 17 * 32, true},
		{"log/tile/8/1/000.p/3", 3 * 32, true},
		{"log/tile/8/data/000.p/17", 17 * 40, false},
		{"log/checkpoint", 120, false},
		{"log/tile/8/0/000.p/255", MaxEmbedded + 1, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			d := RootLayer(tc.path, make([]byte, tc.size))
			if (d.Data != nil) != tc.embed {
				t.Fatalf("embedded %v, want %v", d.Data != nil, tc.embed)
			}
		})
	}
	for _, tc := range []struct {
		title string
		size  int
		embed bool
	}{
		{LogGroupTitle(0, 0), 3 * 32, true},
		{LogGroupTitle(1, 0), MaxEmbeddedGroup, true},
		{LogGroupTitle(0, 1), MaxEmbeddedGroup + 32, false},
		{LogGroupTitle(-1, 0), 3 * 32, false},
	} {
		t.Run(tc.title, func(t *testing.T) {
			data := make([]byte, tc.size)
			data[0] = 1
			d := LogGroupLayer(tc.title, data)
			if (d.Data != nil) != tc.embed {
				t.Fatalf("embedded %v, want %v", d.Data != nil, tc.embed)
			}
			if got, ok, err := EmbeddedData(d); err != nil || ok != tc.embed || ok && string(got) != string(data) {
				t.Fatalf("read back: %v %v", ok, err)
			}
		})
	}
}
