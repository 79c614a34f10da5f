package translog

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a tree head: the log's origin (the registry name), its
// size and root hash, as the C2SP tlog-checkpoint text carries them.
type Checkpoint struct {
	Origin string
	Tree   tlog.Tree
}

// Text is the checkpoint's body: "<origin>\n<size>\n<base64 root hash>\n".
func (c Checkpoint) Text() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Tree.N, c.Tree.Hash)
}

// LogOrigin is the origin line of registry's checkpoints: its name, or
// "packgen-log" for a name that cannot be one. One key may sign several
// registries (and a note signature does not sign the key's name), so a
// checkpoint is of this registry's log only if its origin says so.
func LogOrigin(registry string) string {
	if ValidOrigin(registry) {
		return registry
	}
	return "packgen-log"
}

// ValidOrigin reports whether s can be a checkpoint's first line.
func ValidOrigin(s string) bool {
	return s != "" && !strings.ContainsAny(s, "\n\r") && strings.TrimSpace(s) == s
}

// ParseCheckpoint parses a checkpoint body. Extension lines are refused:
// packgen writes none, and a checkpoint has one encoding.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	lines := strings.Split(string(text), "\n")
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, fmt.Errorf("%w: want 3 lines (origin, size, root hash), each ending in a newline", ErrCheckpoint)
	}
	if !ValidOrigin(lines[0]) {
		return Checkpoint{}, fmt.Errorf("%w: origin %q", ErrCheckpoint, lines[0])
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: tree size %q is not a decimal number", ErrCheckpoint, lines[1])
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil || h.String() != lines[2] {
		return Checkpoint{}, fmt.Errorf("%w: root hash %q is not base64 of 32 bytes", ErrCheckpoint, lines[2])
	}
	return Checkpoint{Origin: lines[0], Tree: tlog.Tree{N: n, Hash: h}}, nil
}

// SignCheckpoint returns the signed note of c.
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: string(c.Text())}, s)
}

// OpenCheckpoint verifies a signed checkpoint with the log's verifier
// key (what index.json names) and parses it. Signatures by other keys
// (witnesses) are allowed beside the log's.
func OpenCheckpoint(msg []byte, vkey string) (Checkpoint, error) {
	if len(msg) > MaxCheckpointSize {
		return Checkpoint{}, fmt.Errorf("%w: %d bytes, at most %d", ErrCheckpoint, len(msg), MaxCheckpointSize)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: log key %q: %v", ErrCheckpoint, vkey, err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: not signed by the log key %s: %v", ErrCheckpoint, v.Name(), err)
	}
	return ParseCheckpoint([]byte(n.Text))
}
