package pack

import (
	"io/fs"
	"sort"
	"strings"
	"testing"
)

// The chained-link defence compares paths case-folded, for macOS and
// Windows. macOS (APFS, HFS+) is also Unicode-normalisation-insensitive:
// "l\u00e9" (é composed, NFC, as most editors write it) and "le\u0301"
// (e + combining acute, NFD, as HFS+ stores it) name one file. A pack
// holding the link under one spelling and a target going through it
// under the other passes a byte-wise comparison, and on a Mac the
// extracted escape resolves through the link and out of DEST.
func TestLinkTreeUnicodeNormalisation(t *testing.T) {
	const nfc, nfd = "l\u00e9", "le\u0301"
	deep, deepTarget, _, _ := chainedLinks()
	deepNFC := strings.TrimSuffix(deep, "l") + nfc
	escapeTarget := strings.TrimSuffix(deep, "l") + nfd + "/" + strings.Repeat("../", 31) + "etc/passwd"
	for _, tc := range []struct {
		name  string
		links map[string]string
		paths []string
		bad   string
	}{
		{"through a link, other normalisation", map[string]string{deepNFC: deepTarget, "escape": escapeTarget}, nil, "escape"},
		{"link to link, other normalisation", map[string]string{nfc: "x", "b": nfd}, []string{"x"}, "b"},
		{"entry below a link, other normalisation", map[string]string{nfc: "sub"}, []string{nfd + "/x", "sub/y"}, nfd + "/x"},
		{"plain non-ASCII names still fine", map[string]string{"docs/caf\u00e9": "../values.yaml"}, []string{"values.yaml", "caf\u00e9.md"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var files []File
			for p, target := range tc.links {
				files = append(files, File{Path: p, Mode: fs.ModeSymlink | 0o777, Link: target})
			}
			for _, p := range tc.paths {
				files = append(files, File{Path: p, Mode: 0o644})
			}
			var bad []string
			checkLinks(files, func(rel, msg string) { bad = append(bad, rel) })
			sort.Strings(bad)
			if strings.Join(bad, ",") != tc.bad {
				t.Errorf("refused %q, want %q", bad, tc.bad)
			}
		})
	}
}
