// Package writeback writes a blob at its place in a file and asks the
// kernel to start writing it to disk as it goes, so that the one fsync
// at the end of a large write (an air-gap bundle, and the benchmark's
// raw transfer it is compared with) waits for little.
package writeback

import "os"

// Chunk is how much is written before its write-back is started.
const Chunk = 8 << 20

// Writer writes at its place in F (as io.OffsetWriter does) and starts
// the write-back of each Chunk as it fills, and of the rest at Flush: a
// big layer's bytes go to disk while it downloads.
type Writer struct {
	f          *os.File
	start, off int64 // not yet started; next write
}

// At returns a Writer that writes f from off on.
func At(f *os.File, off int64) *Writer { return &Writer{f: f, start: off, off: off} }

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	if w.off-w.start >= Chunk {
		w.Flush()
	}
	return n, err
}

// Flush starts the write-back of what is written and not yet started.
// Only a hint to the kernel: the caller's fsync reports any error.
func (w *Writer) Flush() {
	if w.off > w.start {
		Start(w.f, w.start, w.off-w.start)
		w.start = w.off
	}
}
