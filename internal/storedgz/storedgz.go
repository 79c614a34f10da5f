// Package storedgz writes and recognises gzip streams (RFC 1952) of
// stored deflate blocks (RFC 1951, 3.2.4): an inflated chart archive's
// tar stream kept at the cost of a copy and a CRC, which a gzip reader
// then reads back at the cost of a copy. Validation keeps the tar it
// inflated to read a chart's entry names this way and the renderer
// reads it without inflating the archive again; the renderer keeps its
// own inflation of any other archive this way for Helm's reader
// (docs/PERFORMANCE.md, "The build's image check"). Standard library
// only.
package storedgz

import (
	"encoding/binary"
	"hash/crc32"
)

// MaxTar is the most of an inflated chart archive its keepers keep: a
// real chart's tar is well under it; a larger one (or a gzip bomb) is
// inflated again where it is read.
const MaxTar = 16 << 20

// header: ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=unknown.
var header = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// Writer builds the stream from what is written to it, up to max
// bytes; past that it keeps nothing (Full). Its buffer's capacity never
// exceeds max either, whatever the hint (a gzip trailer anyone can
// write): a keeper of many streams bounds the memory they hold by
// their capacities. Writes fill one block up to its 65,535 bytes before
// the next begins, however small they are (a tar reader's).
// compress/gzip's writer would do the same with a compressor's tables
// (most of a MiB) allocated for it.
type Writer struct {
	buf   []byte
	block int // where the block being filled starts in buf; 0: none
	crc   uint32
	n     uint32 // ISIZE: the length modulo 2^32
	max   int
	full  bool
}

// NewWriter returns a Writer of at most limit bytes, with room for
// hint bytes written (a hint to allocate once, not a bound; the room is
// within limit too).
func NewWriter(limit, hint int) *Writer {
	hint = min(max(hint, 0), limit)
	b := make([]byte, 0, max(min(streamSize(hint), limit), len(header)))
	return &Writer{buf: append(b, header[:]...), max: limit}
}

// streamSize is the most a stream of n bytes written takes: the header,
// a block's 5 bytes for every 65,535 and for the one begun before them,
// the final empty block and the trailer. Writes of n bytes to a stream
// add at most streamSize(n) - len(header).
func streamSize(n int) int { return len(header) + n + (n/0xffff+1)*5 + closing }

// closing is what Close appends: an empty final block and the trailer.
const closing = 5 + 8

// Write never fails: past the bound it keeps nothing more.
func (g *Writer) Write(p []byte) (int, error) {
	if g.full || len(g.buf)+streamSize(len(p))-len(header) > g.max {
		g.full, g.buf = true, nil
		return len(p), nil
	}
	g.crc = crc32.Update(g.crc, crc32.IEEETable, p)
	g.n += uint32(len(p))
	for rest := p; len(rest) > 0; {
		head, filled := 0, len(g.buf)-g.block-5
		if g.block == 0 || filled == 0xffff {
			head, filled = 5, 0
		}
		c := rest[:min(len(rest), 0xffff-filled)]
		// Room for Close's bytes too: within what the stream takes in
		// the end, so within max and, hinted right, the room it has.
		g.grow(head + len(c) + closing)
		if head > 0 {
			// BFINAL=0 BTYPE=00, then LEN and NLEN, set as it fills.
			g.block = len(g.buf)
			g.buf = append(g.buf, 0, 0, 0, 0xff, 0xff)
		}
		g.buf = append(g.buf, c...)
		n := uint16(len(g.buf) - g.block - 5)
		binary.LittleEndian.PutUint16(g.buf[g.block+1:], n)
		binary.LittleEndian.PutUint16(g.buf[g.block+3:], ^n)
		rest = rest[len(c):]
	}
	return len(p), nil
}

// grow makes room for n more bytes, as append would but never past max
// (append grows a large buffer by a quarter, whatever its bound).
func (g *Writer) grow(n int) {
	if cap(g.buf)-len(g.buf) >= n {
		return
	}
	b := make([]byte, len(g.buf), min(max(2*cap(g.buf), len(g.buf)+n), g.max))
	copy(b, g.buf)
	g.buf = b
}

// SizeHint is the inflated size gzip stream gz's trailer states, up to
// limit and to MaxHintRatio times gz: NewWriter's hint for gz's
// inflation, not a bound.
func SizeHint(gz []byte, limit int) int {
	return min(ISize(gz), limit, MaxHintRatio*len(gz))
}

// ISize is the inflated size gzip stream gz's trailer states, modulo
// 2^32 (of its last member alone), whatever it is: a keeper may refuse
// a stream whose trailer says it is past its bound (an honest one can
// only under-state it; a lying one refuses itself), but must size a
// writer by SizeHint.
func ISize(gz []byte) int {
	if len(gz) < 4 {
		return 0
	}
	return int(binary.LittleEndian.Uint32(gz[len(gz)-4:]))
}

// MaxHintRatio is the most SizeHint believes a trailer for, in times
// the stream's size. Anyone can write a trailer (nothing reads past a
// tar's end, so junk after the member ending in any ISIZE passes), and
// deflate inflates up to 1032:1: believed that far, one small archive
// had its keeper allocate and clear megabytes, and a pack's keeper,
// which charges each kept tar its capacity, spend its whole budget on
// one lie (attackZ Z2). Real charts inflate 3 to 20 times; one past 64
// costs its writer a few more allocations as it grows, and is kept all
// the same.
const MaxHintRatio = 64

// Full reports whether more than the bound was written.
func (g *Writer) Full() bool { return g.full }

// Close ends the stream (an empty final block, CRC-32, ISIZE) and
// returns it; nil when Full. Nothing is written after it.
func (g *Writer) Close() []byte {
	if g.full {
		return nil
	}
	g.buf = append(g.buf, 1, 0, 0, 0xff, 0xff) // closing
	g.buf = binary.LittleEndian.AppendUint32(g.buf, g.crc)
	g.buf = binary.LittleEndian.AppendUint32(g.buf, g.n)
	return g.buf
}

// IsStored reports whether gz is one gzip member of the shape Writer
// writes (its header, stored blocks each starting on a byte, the
// trailer, nothing after), whose inflation is a copy of its blocks.
// It checks the shape, not the CRC, which a reader checks as it reads.
func IsStored(gz []byte) bool {
	if len(gz) < len(header) || [10]byte(gz[:10]) != header {
		return false
	}
	rest := gz[10:]
	for {
		if len(rest) < 5 || rest[0] > 1 {
			return false // a block of another type, or bits in its padding
		}
		n := int(binary.LittleEndian.Uint16(rest[1:]))
		if binary.LittleEndian.Uint16(rest[3:]) != ^uint16(n) || len(rest) < 5+n {
			return false
		}
		final := rest[0] == 1
		rest = rest[5+n:]
		if final {
			return len(rest) == 8
		}
	}
}
