package ocimap

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
)

// TestArchiveManifestIsORAS100 reproduces, byte for byte, the manifest
// ORAS v1.0.0 wrote for `oras push --annotation
// org.opencontainers.image.created=2024-01-02T03:04:05Z
// hello-1.0.0.tar.gz` (../shared/reference/oras-1.0.0), from the layer's
// digest and size and the created time alone.
func TestArchiveManifestIsORAS100(t *testing.T) {
	const want = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.unknown.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:0ae16ac9dc6ef133f8eb21c956289d3bba03dc11030063b000f14f9d767d4431","size":353,"annotations":{"org.opencontainers.image.title":"hello-1.0.0.tar.gz"}}],"annotations":{"org.opencontainers.image.created":"2024-01-02T03:04:05Z"}}`
	const wantDigest = "sha256:9877ac504315a99ffbea15740fca2f2d7c9343b0488c59d1e2f29777e14a322d"
	// The reference file, when the shared checkout is there, is the
	// authority; the constant keeps the test meaningful without it.
	if ref, err := os.ReadFile("../../../shared/reference/oras-1.0.0/manifest.json"); err == nil && string(ref) != want {
		t.Fatalf("the reference manifest changed:\n%s", ref)
	}
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	p, err := ArchiveManifest("0ae16ac9dc6ef133f8eb21c956289d3bba03dc11030063b000f14f9d767d4431", 353, ArchiveTitle("hello", "1.0.0"), created.In(time.FixedZone("x", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Manifest) != want {
		t.Fatalf("manifest differs from ORAS v1.0.0's:\n got %s\nwant %s", p.Manifest, want)
	}
	if p.Desc.Digest.String() != wantDigest || p.Desc.Size != int64(len(want)) {
		t.Fatalf("descriptor %s %d, want %s %d", p.Desc.Digest, p.Desc.Size, wantDigest, len(want))
	}
	if string(p.ConfigB) != "{}" {
		t.Fatalf("config blob %q, want {}", p.ConfigB)
	}
}

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in, reg, base, err string
	}{
		{"oci://127.0.0.1:5000/acme/packs", "127.0.0.1:5000", "acme/packs", ""},
		{"oci://ghcr.io", "ghcr.io", "", ""},
		{"oci://harbor.example/proj/", "harbor.example", "proj", ""},
		{"oci://harbor.example/Proj", "", "", "not a valid repository prefix"},
		{"oci:///x", "", "", "expected oci://REGISTRY/BASE"},
		{"https://x/y", "", "", "expected oci://"},
		{"oci://h/a//b", "", "", "not a valid repository prefix"},
	} {
		l, err := ParseLocation(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || l.Registry != tc.reg || l.Base != tc.base {
			t.Errorf("%s: %+v %v", tc.in, l, err)
		}
	}
}

func TestTagAndWhere(t *testing.T) {
	for v, want := range map[string]string{"1.2.3": "1.2.3", "v1.0": "v1.0", "1.0.0+build.1": "1.0.0_build.1", "0.30.0-5.5.2026": "0.30.0-5.5.2026"} {
		if got, err := Tag(v); err != nil || got != want {
			t.Errorf("Tag(%q) = %q, %v", v, got, err)
		}
	}
	if _, err := Tag(strings.Repeat("1", 129)); err == nil {
		t.Error("a 129-character tag was accepted")
	}
	sha := strings.Repeat("ab", 32)
	for p, want := range map[string]Blob{
		"index.json": RootFile, "index.json.sig": RootFile, "signatures/" + sha + ".sig": RootFile,
		"index/" + sha + ".json": Addressed, "packs/calico/shards/" + sha + ".json": Addressed,
		"packs/calico/3.27.0/calico-3.27.0.tar.gz":     Archive,
		"packs/calico/3.27.0/calico-3.27.0.tar.gz.sig": ArchiveSigs,
		"packs/calico/index.json":                      Unmapped, "index.html": Unmapped, "index/short.json": Unmapped,
	} {
		if got, _, _, _, _ := Where(p); got != want {
			t.Errorf("Where(%q) = %d, want %d", p, got, want)
		}
	}
	if _, s, _, _, _ := Where("index/" + sha + ".json"); s != sha {
		t.Errorf("digest of a bucket path: %q", s)
	}
	var m map[string]any
	b, _ := BaseManifest()
	if err := json.Unmarshal(b.Manifest, &m); err != nil || m["layers"] == nil {
		t.Errorf("base manifest %s: %v", b.Manifest, err)
	}
}

// TestLogTiles: where each log path is kept (the checkpoint and partial
// tiles in the root manifest, full tiles through their group), and a
// group names each tile's digest in its slot.
func TestLogTiles(t *testing.T) {
	for _, tc := range []struct {
		path  string
		kind  Blob
		group string
		slot  int
	}{
		{"log/checkpoint", RootFile, "", 0},
		{"log/tile/8/0/001.p/4", RootFile, "", 0},
		{"log/tile/8/data/001.p/4", RootFile, "", 0},
		{"log/tile/8/0/000", LogTile, "log/tile/8/0/group/0", 0},
		{"log/tile/8/0/255", LogTile, "log/tile/8/0/group/0", 255},
		{"log/tile/8/0/256", LogTile, "log/tile/8/0/group/1", 0},
		{"log/tile/8/2/x001/234", LogTile, "log/tile/8/2/group/4", 1234 % 256},
		{"log/tile/8/data/257", LogTile, "log/tile/8/data/group/1", 1},
		{"log/tile/4/0/000", Unmapped, "", 0},  // height 4: sites only, not OCI registries
		{"log/tile/8/0/0000", Unmapped, "", 0}, // not tlog's encoding
		{"log/tile/8/0/group/0", Unmapped, "", 0},
	} {
		kind, _, _, _, _ := Where(tc.path)
		g, slot, ok := LogTileSlot(tc.path)
		if kind != tc.kind || (kind == LogTile) != ok || ok && (g != tc.group || slot != tc.slot) {
			t.Errorf("%s: kind %d, group %q slot %d %v; want %d %q %d", tc.path, kind, g, slot, ok, tc.kind, tc.group, tc.slot)
		}
	}

	tiles := map[string][]byte{"log/tile/8/0/000": []byte("a"), "log/tile/8/0/002": []byte("c"), "log/tile/8/0/256": []byte("d"), "log/tile/8/data/000": []byte("e")}
	groups, err := LogGroups(tiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 || len(groups["log/tile/8/0/group/0"]) != 3*32 || len(groups["log/tile/8/0/group/1"]) != 32 {
		t.Fatalf("groups %v", groups)
	}
	for p, data := range tiles {
		g, slot, _ := LogTileSlot(p)
		d, ok := LogGroupDigest(groups[g], slot)
		if !ok || d.Encoded() != index.Digest(data) {
			t.Errorf("%s: %s %v", p, d, ok)
		}
	}
	for _, slot := range []int{1, 3, -1, 256} { // a hole, past the end, out of range
		if d, ok := LogGroupDigest(groups["log/tile/8/0/group/0"], slot); ok {
			t.Errorf("slot %d: %s", slot, d)
		}
	}
	if _, err := LogGroups(map[string][]byte{"log/tile/8/0/000.p/3": nil}); err == nil {
		t.Error("a partial tile grouped")
	}
}

// TestWitnessMapping: a witness's file maps to its tag and back; names
// that are no witness name (too long for a tag, a path) map to nothing.
func TestWitnessMapping(t *testing.T) {
	for _, c := range []struct {
		path string
		kind Blob
		tag  string
	}{
		{"log/witness/w1.example", WitnessFile, "witness-w1.example"},
		{"log/witness/" + strings.Repeat("w", 120), WitnessFile, "witness-" + strings.Repeat("w", 120)},
		{"log/witness/" + strings.Repeat("w", 121), Unmapped, ""},
		{"log/witness/a/b", Unmapped, ""},
		{"log/witness/..", Unmapped, ""},
	} {
		kind, _, name, _, _ := Where(c.path)
		if kind != c.kind {
			t.Errorf("%s: kind %v, want %v", c.path, kind, c.kind)
			continue
		}
		if kind != WitnessFile {
			continue
		}
		tag, err := WitnessTag(name)
		if err != nil || tag != c.tag {
			t.Errorf("%s: tag %q %v, want %q", c.path, tag, err, c.tag)
		}
		if n, ok := WitnessName(tag); !ok || n != name {
			t.Errorf("%s: tag %q back to %q %v", c.path, tag, n, ok)
		}
	}
	for _, tag := range []string{"root", "meta-3", "sig-ab", "witness-", "witness-a/b"} {
		if n, ok := WitnessName(tag); ok {
			t.Errorf("tag %q taken for witness %q", tag, n)
		}
	}
}

// TestGrammarsMatchSpec: the tag and repository checks (oras-go's) accept
// exactly what the distribution spec's grammars (specTag, specRepo) do,
// at the edges where two spellings of a grammar could differ.
func TestGrammarsMatchSpec(t *testing.T) {
	for _, s := range []string{"", "a", "A", "_a", ".a", "-a", "a-", "a.", "a_", "a--b", "a-b", "a__b", "a___b", "a._b", "a.b",
		"a/b", "a//b", "a/", "/a", "a/B", "a/_b", "0", "v1.0_build.1", "é", "a b", "a:b", "a@b",
		strings.Repeat("a", 127), strings.Repeat("a", 128), strings.Repeat("a", 129), "_" + strings.Repeat(".", 127), "_" + strings.Repeat(".", 128)} {
		if got, want := validTag(s), specTag.MatchString(s); got != want {
			t.Errorf("validTag(%q) = %v, the spec's grammar says %v", s, got, want)
		}
		if got, want := validRepo(s), specRepo.MatchString(s); got != want {
			t.Errorf("validRepo(%q) = %v, the spec's grammar says %v", s, got, want)
		}
	}
}
