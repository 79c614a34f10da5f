// Package translog owns the registry's transparency log: a Merkle tree
// of every release ever published, stored as static tiles beside
// index.json (the tlog-tiles layout of golang.org/x/mod/sumdb/tlog, tile
// height 8, and the same tree's hash tiles of height 4 for small proofs)
// with a checkpoint signed as a note (golang.org/x/mod/sumdb/note).
// It holds the format (entries, entry bundles, checkpoints), the writer
// that appends to a previous log, and the proofs readers check. Merkle
// hashing and proofs are tlog's; note signatures are note's.
package translog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/packgen/packgen/index"
	"golang.org/x/mod/sumdb/tlog"
)

// Layout of the log in a site.
const (
	// Dir holds the log: Dir/checkpoint and the tiles under Dir/tile/.
	Dir = index.LogDir
	// CheckpointPath is the signed checkpoint of the newest tree.
	CheckpointPath = index.LogCheckpoint
	// TileHeight is the height of the log's C2SP tiles: 256 hashes
	// (8 KiB) or entries per tile, as C2SP tlog-tiles and sumdb use.
	// Witnesses, audits and other tools read these.
	TileHeight = 8
	// ProofTileHeight is the height of the small hash tiles a log also
	// holds when its index.json says so (index.LogRef.ProofTileHeight):
	// 16 hashes (512 bytes) per tile, no data tiles, the same tree. A
	// proof reads one such tile per 4 levels instead of one 8 KiB tile
	// per 8 (see docs/PERFORMANCE.md).
	ProofTileHeight = index.LogProofTileHeight
	// MaxEntrySize bounds one entry's encoding (a real one is < 300 bytes).
	MaxEntrySize = 1024
	// MaxCheckpointSize bounds the signed checkpoint note.
	MaxCheckpointSize = 16 << 10
	// maxHashTile is a full hash tile; maxDataTile a full entry bundle.
	maxHashTile = (1 << TileHeight) * 32
	maxDataTile = (1 << TileHeight) * (2 + MaxEntrySize)
)

// Errors readers and the writer test against with errors.Is.
var (
	// ErrEntry: an entry or entry bundle that is not in the format.
	ErrEntry = errors.New("malformed log entry")
	// ErrCheckpoint: a checkpoint that does not parse or verify.
	ErrCheckpoint = errors.New("bad log checkpoint")
	// ErrInconsistent: a tree that does not extend the one seen before
	// (a fork, a truncated or rewritten history).
	ErrInconsistent = errors.New("log is not consistent with the one seen before")
	// ErrNotIncluded: an entry the tree does not hold at its index.
	ErrNotIncluded = errors.New("release is not in the log")
	// ErrTile: a tile that does not match the signed tree.
	ErrTile = errors.New("log tile does not match the signed tree")
)

// entryHeader is the first line of every entry: the format and its version.
const entryHeader = "packgen release v1"

// Entry is one release as the log records it. Its encoding is text, one
// field per line in a fixed order, so that the same release always gives
// the same bytes and an auditor can read a data tile with less.
type Entry struct {
	Name    string `json:"name"`    // pack name
	Version string `json:"version"` // as written in pack.json
	SHA256  string `json:"sha256"`  // the archive's SHA-256, lowercase hex
	Commit  string `json:"commit"`  // source commit the release was published from
	KeyID   string `json:"key"`     // ID of the registry key that appended it (sign.KeyID)
}

// Marshal encodes the entry. It refuses fields that would not parse back
// (empty, or holding spaces or control characters).
func (e Entry) Marshal() ([]byte, error) {
	for _, f := range [][2]string{{"name", e.Name}, {"version", e.Version}, {"archive", e.SHA256}, {"commit", e.Commit}, {"key", e.KeyID}} {
		if !token(f[1]) {
			return nil, fmt.Errorf("%w: field %s %q: want a non-empty value without spaces or control characters", ErrEntry, f[0], f[1])
		}
	}
	if !index.LowerHex(e.SHA256, 64) || !(index.LowerHex(e.Commit, 40) || index.LowerHex(e.Commit, 64)) || !index.LowerHex(e.KeyID, 64) {
		return nil, fmt.Errorf("%w: archive (64 hex), commit (40 or 64 hex) and key (64 hex) must be lowercase hex digests: %q %q %q", ErrEntry, e.SHA256, e.Commit, e.KeyID)
	}
	s := fmt.Sprintf("%s\nname %s\nversion %s\narchive sha256:%s\ncommit %s\nkey %s\n", entryHeader, e.Name, e.Version, e.SHA256, e.Commit, e.KeyID)
	if len(s) > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrEntry, len(s), MaxEntrySize)
	}
	return []byte(s), nil
}

// ParseEntry parses an entry, accepting only the exact bytes Marshal
// writes for it.
func ParseEntry(b []byte) (Entry, error) {
	if len(b) > MaxEntrySize {
		return Entry{}, fmt.Errorf("%w: %d bytes, at most %d", ErrEntry, len(b), MaxEntrySize)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) != 7 || lines[6] != "" || lines[0] != entryHeader {
		return Entry{}, fmt.Errorf("%w: want %q and 5 field lines, each ending in a newline", ErrEntry, entryHeader)
	}
	var e Entry
	for i, f := range []struct {
		key string
		dst *string
	}{{"name ", &e.Name}, {"version ", &e.Version}, {"archive sha256:", &e.SHA256}, {"commit ", &e.Commit}, {"key ", &e.KeyID}} {
		v, ok := strings.CutPrefix(lines[i+1], f.key)
		if !ok {
			return Entry{}, fmt.Errorf("%w: line %d: want %q", ErrEntry, i+2, f.key+"...")
		}
		*f.dst = v
	}
	again, err := e.Marshal()
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(again, b) {
		return Entry{}, fmt.Errorf("%w: not in canonical form", ErrEntry)
	}
	return e, nil
}

func token(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// encodeBundle encodes entries as a data tile: each entry preceded by its
// length as a big-endian uint16 (the C2SP tlog-tiles entry bundle).
func encodeBundle(entries [][]byte) []byte {
	var b []byte
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	return b
}

// ParseBundle splits a data tile into its entries; want is the number of
// entries the tile's path says it holds.
func ParseBundle(b []byte, want int) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: entry bundle ends inside a length", ErrEntry)
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if n > len(b) || n > MaxEntrySize {
			return nil, fmt.Errorf("%w: entry bundle: entry %d of %d bytes, %d left (at most %d)", ErrEntry, len(out), n, len(b), MaxEntrySize)
		}
		out = append(out, b[:n:n])
		b = b[n:]
		if len(out) > want {
			break
		}
	}
	if len(out) != want {
		return nil, fmt.Errorf("%w: entry bundle holds %d entries or more, its path says %d", ErrEntry, len(out), want)
	}
	return out, nil
}

// EntryOf is the entry of release r of pack name, as the log holds it:
// its fields from the shard, its key ID from its log reference (nil
// when the release has none).
func EntryOf(name string, r *index.Release) ([]byte, error) {
	if r.Log == nil {
		return nil, fmt.Errorf("%w: %s@%s has no log entry in its shard", ErrNotIncluded, name, r.Version)
	}
	return Entry{Name: name, Version: r.Version, SHA256: r.Archive.SHA256, Commit: r.Commit, KeyID: r.Log.KeyID}.Marshal()
}

// TreeOf is the tree a root names, checked (ok false: the root has no
// log).
func TreeOf(root *index.Root) (tree tlog.Tree, ok bool, err error) {
	if root.Log == nil {
		return tlog.Tree{}, false, nil
	}
	h, err := tlog.ParseHash(root.Log.Hash)
	if err != nil {
		return tlog.Tree{}, false, fmt.Errorf("%w: index.json: log hash %q: %v", ErrCheckpoint, root.Log.Hash, err)
	}
	return tlog.Tree{N: root.Log.Size, Hash: h}, true, nil
}
