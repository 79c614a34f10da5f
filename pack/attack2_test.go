package pack

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/packgen/packgen/pack/meta"
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
			if bad := refusedLinks(t, tc.links, tc.paths, false); bad != tc.bad {
				t.Errorf("refused %q, want %q", bad, tc.bad)
			}
		})
	}
}

// pngOf assembles a PNG from its IHDR fields and an IDAT payload
// (already zlib-compressed), with valid CRCs.
func pngOf(w, h uint32, depth, colour byte, idat []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colour
	chunk("IHDR", ihdr)
	chunk("IDAT", idat)
	chunk("IEND", nil)
	return b.Bytes()
}

// A variant of the 74-byte logo (issue 14 item 3): the header is honest
// (1x1 pixel) and the pixel data is a zlib bomb of 64 MiB. The decoder
// must stop at the one pixel, not inflate the rest.
func TestLogoZlibBomb(t *testing.T) {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zero := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		zw.Write(zero)
	}
	zw.Close()
	data := pngOf(1, 1, 8, 0, z.Bytes())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	sev, msg := logoProblem(data, 4096)
	runtime.ReadMemStats(&after)
	if sev != meta.SevError || msg == "" {
		t.Errorf("a 1x1 PNG with 64 MiB of pixel data: %v %q, want an error", sev, msg)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
		t.Errorf("checking it allocated %d MiB", d>>20)
	}
	t.Logf("%d-byte PNG: %q in %v", len(data), msg, time.Since(start))
}

// Validate and the archive writer agree on names (issue 14 item 4),
// here on names that are not UTF-8 at all (git holds any bytes: a
// Latin-1 "café.md"), a name with a newline, and NFC/NFD twins (one
// file on a Mac): whatever validate accepts, the archive holds and the
// extractor gives back; whatever it cannot, validate refuses.
func TestArchiveAgreesOnOddNames(t *testing.T) {
	for _, names := range [][]string{
		{"docs/caf\xe9.md"},
		{"docs/two\nlines.md"},
		{"docs/caf\u00e9.md", "docs/cafe\u0301.md"},
		{"docs/\u202eevil.md"},
	} {
		m := baseFS()
		for _, n := range names {
			m[n] = &fstest.MapFile{Data: []byte("x\n")}
		}
		p, probs := Load(m, ".", Options{})
		if probs.HasErrors() {
			t.Logf("%q refused by validate: %v", names, probs.Errors())
			continue
		}
		var buf bytes.Buffer
		if _, err := WriteArchive(&buf, p, ArchiveOptions{}); err != nil {
			t.Errorf("%q validates but cannot be archived: %v", names, err)
			continue
		}
		dest := filepath.Join(t.TempDir(), "x")
		if _, err := Extract(bytes.NewReader(buf.Bytes()), dest, ExtractOptions{}); err != nil {
			t.Errorf("%q validates and archives but does not extract: %v", names, err)
			continue
		}
		for _, n := range names {
			if _, err := os.Lstat(filepath.Join(dest, filepath.FromSlash(n))); err != nil {
				t.Errorf("%q: extracted without %q: %v", names, n, err)
			}
		}
	}
}
