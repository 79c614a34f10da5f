package index

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrTooLarge marks a file larger than the FileRef that pins it says.
var ErrTooLarge = errors.New("larger than the index says")

// Verify checks data against the ref: its size and SHA-256. Every file
// below index.json is trusted only through this check (or the streaming
// one, VerifyReader), done by whoever reads it before it is parsed.
func (ref FileRef) Verify(data []byte) error {
	if got := Digest(data); int64(len(data)) != ref.Size || got != ref.SHA256 {
		return ref.mismatch(got, int64(len(data)))
	}
	return nil
}

func (ref FileRef) mismatch(got string, n int64) error {
	return &MismatchError{Ref: ref, Got: got, GotSize: n}
}

// MismatchError says a file is not the one its FileRef pins; it matches
// ErrDigestMismatch.
type MismatchError struct {
	Ref     FileRef
	Got     string // SHA-256 of what was read
	GotSize int64
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrDigestMismatch, e.Ref.Path, e.Detail())
}

// Detail is the message without the file's path, for a report that
// names the file apart.
func (e *MismatchError) Detail() string {
	return fmt.Sprintf("expected sha256 %s (%d bytes), got %s (%d bytes)", e.Ref.SHA256, e.Ref.Size, e.Got, e.GotSize)
}

func (e *MismatchError) Unwrap() error { return ErrDigestMismatch }

// VerifyReader is Verify for a file too large to hold (an archive): the
// returned reader passes r through, hashing and counting, and stops one
// byte past the size the ref records, so endless data is cut short; its
// Verify, called once the reader is drained, says whether the bytes were
// the pinned ones.
func (ref FileRef) VerifyReader(r io.Reader) *PinnedReader {
	return &PinnedReader{ref: ref, r: io.LimitReader(r, ref.Size+1), h: sha256.New()}
}

// PinnedReader is the reader of VerifyReader.
type PinnedReader struct {
	ref FileRef
	r   io.Reader
	h   hash.Hash
	n   int64
}

func (p *PinnedReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.h.Write(b[:n])
	p.n += int64(n)
	return n, err
}

// Len is how many bytes were read.
func (p *PinnedReader) Len() int64 { return p.n }

// Sum is the SHA-256 of what was read.
func (p *PinnedReader) Sum() [32]byte {
	var sum [32]byte
	p.h.Sum(sum[:0])
	return sum
}

// Verify checks what was read against the ref: ErrTooLarge when there was
// more than it records, ErrDigestMismatch when the bytes differ.
func (p *PinnedReader) Verify() error {
	if p.n > p.ref.Size {
		return fmt.Errorf("%s: %w (more than the %d bytes recorded; endless data refused)", p.ref.Path, ErrTooLarge, p.ref.Size)
	}
	sum := p.Sum()
	if got := hex.EncodeToString(sum[:]); p.n != p.ref.Size || got != p.ref.SHA256 {
		return p.ref.mismatch(got, p.n)
	}
	return nil
}
