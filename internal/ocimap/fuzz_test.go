package ocimap

import (
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/packgen/packgen/index"
)

// The distribution spec's grammars, written out here as the oracle that
// ocimap's checks (oras-go's, under the hood) must agree with.
var (
	specTag  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	specRepo = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
)

// FuzzLocationAndPaths feeds registry locations (from the command line
// and config files) and site paths (from an index a registry serves) to
// the mapping: no panic, and whatever is accepted maps to valid names.
func FuzzLocationAndPaths(f *testing.F) {
	for _, s := range []string{"oci://127.0.0.1:5000/acme", "oci://h", "oci://h/A", "oci:///", "packs/a/1.0/a-1.0.tar.gz.sig", "index/" + strings.Repeat("a", 64) + ".json", "packs/a/shards/x.json", "../index.json", "log/tile/8/0/x001/234", "log/tile/8/data/000", "log/tile/8/1/000.p/3", "log/tile/4/0/000", "log/checkpoint", "log/witness/w1.example", "log/witness/../x", "log/witness/" + strings.Repeat("w", 121)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validTag(s) != specTag.MatchString(s) || validRepo(s) != specRepo.MatchString(s) {
			t.Fatalf("%q: tag %v, repository %v: the spec's grammar says %v, %v", s, validTag(s), validRepo(s), specTag.MatchString(s), specRepo.MatchString(s))
		}
		if l, err := ParseLocation(s); err == nil {
			if l.Registry == "" || strings.Contains(l.Base, "//") {
				t.Fatalf("%q accepted as %+v", s, l)
			}
		}
		kind, sum, name, version, archive := Where(s)
		switch kind {
		case Addressed:
			if _, err := hex.DecodeString(sum); err != nil || len(sum) != 64 || strings.ToLower(sum) != sum {
				t.Fatalf("%q: digest %q", s, sum)
			}
		case LogTile:
			g, slot, ok := LogTileSlot(s)
			if !ok || slot < 0 || slot >= LogGroupSize || !strings.HasPrefix(g, "log/tile/8/") {
				t.Fatalf("%q: a log tile in group %q slot %d", s, g, slot)
			}
		case WitnessFile:
			tag, err := WitnessTag(name)
			if err != nil || !specTag.MatchString(tag) || s != "log/witness/"+name {
				t.Fatalf("%q: witness %q, tag %q (%v)", s, name, tag, err)
			}
			if back, ok := WitnessName(tag); !ok || back != name {
				t.Fatalf("%q: tag %q names witness %q", s, tag, back)
			}
		case Archive, ArchiveSigs:
			if archive != index.ArchivePath(name, version) || !strings.HasPrefix(s, archive) {
				t.Fatalf("%q: archive %q of %s@%s", s, archive, name, version)
			}
			if tag, err := Tag(version); err == nil && !specTag.MatchString(tag) {
				t.Fatalf("%q: tag %q", s, tag)
			}
		}
	})
}

// FuzzManifestFiles feeds manifests a registry serves (the root's layers
// with embedded data, a signature files manifest's annotations) to the
// readers: no panic, and embedded data is returned only when it matches
// its descriptor.
func FuzzManifestFiles(f *testing.F) {
	sig, _ := SigFilesManifest(map[string][]byte{"a.sig": []byte("s")})
	root, _ := FilesManifest([]ocispec.Descriptor{RootLayer(index.RootFile, []byte("{}"))}, nil)
	for _, m := range [][]byte{sig.Manifest, root.Manifest, []byte(`{"layers":[{"digest":"sha256:x","size":1,"data":"eA=="}]}`), []byte(`{"annotations":{"dev.packgen.file/a.sig":"%%"}}`)} {
		f.Add(m, "a.sig")
	}
	f.Fuzz(func(t *testing.T, data []byte, p string) {
		var m ocispec.Manifest
		if json.Unmarshal(data, &m) != nil {
			return
		}
		_, _, _, _ = SigFile(&m, p)
		for _, l := range m.Layers {
			got, ok, err := EmbeddedData(l)
			if ok && err == nil && (int64(len(got)) != l.Size || l.Digest.Algorithm().FromBytes(got) != l.Digest) {
				t.Fatalf("%s: accepted %d bytes of %s", l.Digest, len(got), digest.FromBytes(got))
			}
		}
	})
}
