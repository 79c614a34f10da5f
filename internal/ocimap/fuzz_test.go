package ocimap

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
)

// FuzzLocationAndPaths feeds registry locations (from the command line
// and config files) and site paths (from an index a registry serves) to
// the mapping: no panic, and whatever is accepted maps to valid names.
func FuzzLocationAndPaths(f *testing.F) {
	for _, s := range []string{"oci://127.0.0.1:5000/acme", "oci://h", "oci://h/A", "oci:///", "packs/a/1.0/a-1.0.tar.gz.sig", "index/" + strings.Repeat("a", 64) + ".json", "packs/a/shards/x.json", "../index.json", "log/tile/8/0/x001/234", "log/tile/8/data/000", "log/tile/8/1/000.p/3", "log/tile/4/0/000", "log/checkpoint"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
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
		case Archive, ArchiveSigs:
			if archive != index.ArchivePath(name, version) || !strings.HasPrefix(s, archive) {
				t.Fatalf("%q: archive %q of %s@%s", s, archive, name, version)
			}
			if tag, err := Tag(version); err == nil && !tagRe.MatchString(tag) {
				t.Fatalf("%q: tag %q", s, tag)
			}
		}
	})
}
