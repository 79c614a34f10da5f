package storedgz

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math"
	"testing"
)

// TestWriter: what Writer writes reads back through compress/gzip (its
// CRC and length checked), is IsStored, and has as few blocks as the
// bytes need, however small the writes; past its bound it keeps
// nothing. Its capacity is within the bound whatever the hint (a gzip
// trailer's claim: over, under), and the size as a hint is one
// allocation of the stream's size (5 bytes over for a last block full).
func TestWriter(t *testing.T) {
	for _, tc := range []struct{ size, write, max int }{
		{0, 1, 1 << 20}, {1, 1, 1 << 20}, {0xffff, 4096, 1 << 20}, {0x10000, 0x10000, 1 << 20},
		{200_000, 32 << 10, 1 << 20}, {300_001, 300_001, 1 << 20}, {2 << 20, 32 << 10, 1 << 20},
		{200_000, 512, 1 << 20}, {0x10000 + 7, 3, 1 << 20}, {70_000, 1, 1 << 20},
		{1<<20 - 200, 32 << 10, 1 << 20}, // the stream fills the bound but 92 bytes
	} {
		data := make([]byte, tc.size)
		for i := range data {
			data[i] = byte(i * 7 / 3)
		}
		for _, hint := range []int{tc.size, 0, 1 << 30} {
			g := NewWriter(tc.max, hint)
			for rest := data; len(rest) > 0; rest = rest[min(len(rest), tc.write):] {
				g.Write(rest[:min(len(rest), tc.write)])
			}
			if g.Full() != (tc.size > tc.max) {
				t.Errorf("%d bytes, bound %d: full %v", tc.size, tc.max, g.Full())
			}
			gz := g.Close()
			if g.Full() {
				if gz != nil {
					t.Errorf("%d bytes past the bound: %d kept", tc.size, len(gz))
				}
				continue
			}
			if cap(gz) > tc.max {
				t.Errorf("%d bytes, hint %d: capacity %d, past the bound %d", tc.size, hint, cap(gz), tc.max)
			}
			if hint == tc.size && cap(gz)-len(gz) > 5 {
				t.Errorf("%d bytes, hinted: capacity %d for a stream of %d", tc.size, cap(gz), len(gz))
			}
			if !IsStored(gz) {
				t.Errorf("%d bytes in writes of %d: not IsStored", tc.size, tc.write)
			}
			if blocks := (tc.size + 0xfffe) / 0xffff; len(gz) != 10+tc.size+blocks*5+5+8 {
				t.Errorf("%d bytes in writes of %d: %d bytes of stream, want %d blocks", tc.size, tc.write, len(gz), blocks)
			}
			zr, err := gzip.NewReader(bytes.NewReader(gz))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr) // checks the CRC and the length
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%d bytes in writes of %d: %d bytes back, %v", tc.size, tc.write, len(got), err)
			}
		}
	}
}

// TestIsStored: only a whole stream of Writer's shape is; a compressed
// one, a truncated or extended one, or one with a block's length
// check broken is not (its reader inflates it as any other).
func TestIsStored(t *testing.T) {
	w := NewWriter(1<<20, 0)
	w.Write(bytes.Repeat([]byte("chart "), 20_000)) // two blocks
	stored := w.Close()
	var compressed bytes.Buffer
	zw := gzip.NewWriter(&compressed)
	zw.Write([]byte("chart"))
	zw.Close()
	noCompression := func() []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.NoCompression)
		zw.Write([]byte("chart"))
		zw.Close()
		return b.Bytes()
	}()
	edit := func(at int, b byte) []byte {
		c := bytes.Clone(stored)
		c[at] = b
		return c
	}
	for _, tc := range []struct {
		name string
		gz   []byte
		want bool
	}{
		{"Writer's", stored, true},
		{"empty", NewWriter(10, 0).Close(), true},
		{"compressed", compressed.Bytes(), false},
		{"compress/gzip's at NoCompression (the same shape)", noCompression, true},
		{"truncated", stored[:len(stored)-1], false},
		{"a byte after", append(bytes.Clone(stored), 0), false},
		{"NLEN wrong", edit(13, 1), false},
		{"a header flag", edit(3, 8), false},
		{"a fixed-Huffman block", edit(10, 2), false},
		{"nothing", nil, false},
	} {
		if got := IsStored(tc.gz); got != tc.want {
			t.Errorf("%s: IsStored %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSizeHint: the trailer's ISIZE, up to the limit and to
// MaxHintRatio times the stream, whichever is least: a trailer that
// over-states its stream (anyone can write one) is believed no further
// than a real chart's inflation and then some.
func TestSizeHint(t *testing.T) {
	gz := func(n int, isize uint32) []byte {
		b := make([]byte, n)
		binary.LittleEndian.PutUint32(b[n-4:], isize)
		return b
	}
	for _, tc := range []struct {
		name  string
		gz    []byte
		limit int
		want  int
	}{
		{"the trailer's", gz(1000, 20_000), 1 << 20, 20_000},
		{"up to the limit", gz(1000, 20_000), 5000, 5000},
		{"up to 64 times the stream", gz(1000, 768<<10), 1 << 20, 64_000},
		{"the same past deflate's 1032:1", gz(1000, 0xffffffff), math.MaxInt, 64_000},
		{"the least of the three", gz(1000, 768<<10), 50_000, 50_000},
		{"Writer's, empty", NewWriter(1<<20, 0).Close(), 1 << 20, 0},
		{"no trailer", []byte{1, 2, 3}, 1 << 20, 0},
	} {
		if got := SizeHint(tc.gz, tc.limit); got != tc.want {
			t.Errorf("%s: SizeHint %d, want %d", tc.name, got, tc.want)
		}
	}
}
