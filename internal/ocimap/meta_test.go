package ocimap

import (
	"encoding/json"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/packgen/packgen/index"
)

// TestIsMetaManifest: prune deletes by digest what a meta tag names only
// when it is shaped as a meta manifest; every other manifest of the
// index repository (the root, a release's archive signatures in either
// layout) and any other manifest is not one.
func TestIsMetaManifest(t *testing.T) {
	parse := func(p *Packed, err error) *ocispec.Manifest {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(p.Manifest, &m); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	meta := parse(FilesManifest([]ocispec.Descriptor{File("meta/ab.json", []byte("{}")), File("log/tile/0/000", []byte("t"))}, nil))
	for _, c := range []struct {
		name string
		m    *ocispec.Manifest
		want bool
	}{
		{"a meta manifest", meta, true},
		{"an empty meta manifest", parse(FilesManifest(nil, nil)), true},
		{"the root manifest", parse(FilesManifest([]ocispec.Descriptor{RootLayer(index.RootFile, []byte("{}"))}, map[string]string{AnnotationMeta: "sha256:00", AnnotationSerial: "1"})), false},
		{"the root manifest without its annotations", parse(FilesManifest([]ocispec.Descriptor{RootLayer(index.RootFile, []byte("{}")), RootLayer(index.RootFile+index.SignatureExt, []byte("s"))}, nil)), false},
		{"archive signatures, annotations", parse(SigFilesManifest(map[string][]byte{"packs/a/a-1.tar.gz.sig": []byte("s")})), false},
		{"archive signatures, layers", parse(FilesManifest([]ocispec.Descriptor{File("packs/a/a-1.tar.gz.sig", []byte("s")), File("packs/a/a-1.tar.gz"+index.BundleExt, []byte("b"))}, nil)), false},
		{"a release manifest", parse(ArchiveManifest("0000000000000000000000000000000000000000000000000000000000000000", 1, "a-1.tar.gz", time.Unix(0, 0))), false},
		{"a tile group layer", parse(FilesManifest([]ocispec.Descriptor{LogGroupLayer("log/tile/0/x", []byte("g"))}, nil)), false},
		{"a witness's cosigned checkpoint", parse(WitnessManifest("log/witness/w1.example", []byte("acme\n1\nx\n"))), false},
	} {
		if got := IsMetaManifest(c.m); got != c.want {
			t.Errorf("%s: IsMetaManifest %v, want %v", c.name, got, c.want)
		}
	}
}
