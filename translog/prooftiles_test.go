package translog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// The height-4 tiles are the tree's own (tlog computes the same bytes
// from the height-8 tiles), whether appended at once, in steps, or
// written afresh for a log that had none; proofs from them are the
// proofs from the height-8 tiles, each in one round of requests.
func TestProofTiles(t *testing.T) {
	ctx := context.Background()
	for _, steps := range [][]int{{1}, {16}, {17}, {15, 1, 284}, {4096}, {4000, 97}, {5000}} {
		t.Run(fmt.Sprint(steps), func(t *testing.T) {
			s := site{}
			tree := appendAll(t, s, steps...)
			h8 := hashReader(tree, newTileReader(ctx, s.fetch))
			for _, tl := range tlog.NewTiles(ProofTileHeight, 0, tree.N) {
				want, err := tlog.ReadTileData(tl, h8)
				if err != nil {
					t.Fatal(err)
				}
				if string(s[TilePath(tl)]) != string(want) {
					t.Fatalf("%s: not the tree's hashes", TilePath(tl))
				}
			}
			// A log written before the height-4 tiles gets them all.
			old := maps.Clone(s)
			maps.DeleteFunc(old, func(p string, _ []byte) bool { return strings.HasPrefix(p, "log/tile/4/") })
			written := site{}
			if err := WriteProofTiles(ctx, tree, old.fetch, written.put, true); err != nil {
				t.Fatal(err)
			}
			for _, tl := range tlog.NewTiles(ProofTileHeight, 0, tree.N) {
				if p := TilePath(tl); string(written[p]) != string(s[p]) {
					t.Fatalf("WriteProofTiles: %s differs", p)
				}
			}
			if len(written) != len(tlog.NewTiles(ProofTileHeight, 0, tree.N)) {
				t.Fatalf("WriteProofTiles wrote %d files", len(written))
			}
			if err := CheckProofTiles(ctx, tree, s.fetch); err != nil {
				t.Fatal(err)
			}
			small := Reader{Height: ProofTileHeight, Fetch: s.fetch}
			for _, i := range []int64{0, tree.N / 2, 4095, 4096, tree.N - 1} {
				if i >= tree.N {
					continue
				}
				if err := small.CheckInclusion(ctx, tree, i, entry(int(i))); err != nil {
					t.Fatalf("entry %d: %v", i, err)
				}
				p4, err := small.ProveInclusion(ctx, tree, i)
				if err != nil {
					t.Fatal(err)
				}
				p8, err := ProveInclusion(ctx, tree, s.fetch, i)
				if err != nil || fmt.Sprint(p4) != fmt.Sprint(p8) {
					t.Fatalf("entry %d: proofs differ by tile height (%v)", i, err)
				}
				if r := rounds(t, tree, s, func(hr tlog.HashReader) error { _, err := tlog.ProveRecord(tree.N, i, hr); return err }); r > 1 {
					t.Fatalf("entry %d: %d rounds of requests, want at most 1", i, r)
				}
			}
			for _, n := range []int64{1, tree.N / 3, tree.N - 1} {
				if n < 1 || n >= tree.N {
					continue
				}
				h, err := tlog.TreeHash(n, h8)
				if err != nil {
					t.Fatal(err)
				}
				oldTree := tlog.Tree{N: n, Hash: h}
				if err := small.CheckConsistency(ctx, oldTree, tree); err != nil {
					t.Fatalf("from %d: %v", n, err)
				}
				if r := rounds(t, tree, s, func(hr tlog.HashReader) error { _, err := tlog.ProveTree(tree.N, n, hr); return err }); r != 1 {
					t.Fatalf("from %d: %d rounds of requests, want 1", n, r)
				}
			}
		})
	}
}

// rounds is how many rounds of requests proof makes through height-4
// tiles: the tiles of one ReadTiles call are fetched at once.
func rounds(t *testing.T, tree tlog.Tree, s site, proof func(tlog.HashReader) error) int {
	t.Helper()
	tr := newTileReader(context.Background(), s.fetch)
	tr.height = ProofTileHeight
	if err := proof(hashReader(tree, tr)); err != nil {
		t.Fatal(err)
	}
	return tr.rounds
}

// A flipped byte in any height-4 tile, full or at the right edge, at
// any level, is ErrTile for every proof that reads it and for
// CheckProofTiles.
func TestProofTileTampering(t *testing.T) {
	ctx := context.Background()
	s := site{}
	tree := appendAll(t, s, 600) // 600 = 37·16 + 8; 37 = 2·16 + 5
	for _, p := range []string{"log/tile/4/0/001", "log/tile/4/0/036", "log/tile/4/1/000", "log/tile/4/1/001", "log/tile/4/0/037.p/8", "log/tile/4/1/002.p/5", "log/tile/4/2/000.p/2"} {
		t.Run(p, func(t *testing.T) {
			if s[p] == nil {
				t.Fatalf("%s: no such tile", p)
			}
			bad := maps.Clone(s)
			d := append([]byte(nil), bad[p]...)
			d[len(d)/2] ^= 0x01
			bad[p] = d
			small := Reader{Height: ProofTileHeight, Fetch: bad.fetch}
			var failed int
			for _, i := range []int64{17, 300, 590, 599} {
				err := small.CheckInclusion(ctx, tree, i, entry(int(i)))
				if err != nil && !errors.Is(err, ErrTile) {
					t.Fatalf("entry %d: %v, want ErrTile", i, err)
				}
				if err != nil {
					failed++
				}
			}
			old := tlog.Tree{N: 17}
			old.Hash, _ = tlog.TreeHash(17, hashReader(tree, newTileReader(ctx, s.fetch)))
			if err := small.CheckConsistency(ctx, old, tree); err != nil && !errors.Is(err, ErrTile) {
				t.Fatalf("consistency: %v, want ErrTile", err)
			}
			if failed == 0 {
				t.Fatalf("no inclusion proof read %s", p)
			}
			if err := CheckProofTiles(ctx, tree, bad.fetch); !errors.Is(err, ErrTile) {
				t.Fatalf("CheckProofTiles: %v, want ErrTile", err)
			}
			// One hash short is refused the same way.
			bad[p] = s[p][:len(s[p])-32]
			if err := CheckProofTiles(ctx, tree, bad.fetch); !errors.Is(err, ErrTile) {
				t.Fatalf("short tile: %v, want ErrTile", err)
			}
		})
	}
}
