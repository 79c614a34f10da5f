package translog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestEdgeTiles: EdgeTiles computes, from the height-8 tiles alone, the
// height-4 tiles of the tree's right edge (at most two per level, each
// the very tile a build writes), and a Reader with EdgeHeight proves the
// newest entries from them without reading a height-8 tile, proves any
// other from the height-8 tiles, and refuses an edge tile that does not
// match the tree instead of reading the others.
func TestEdgeTiles(t *testing.T) {
	ctx := context.Background()
	for _, steps := range [][]int{{1}, {15}, {16}, {17}, {260}, {1000}, {4096}, {4000, 97}} {
		t.Run(fmt.Sprint(steps), func(t *testing.T) {
			s := site{}
			tree := appendAll(t, s, steps...)
			h8 := maps.Clone(s)
			maps.DeleteFunc(h8, func(p string, _ []byte) bool { return strings.HasPrefix(p, "log/tile/4/") })
			edge, err := EdgeTiles(ctx, tree, h8.fetch)
			if err != nil {
				t.Fatal(err)
			}
			levels := 0
			for n := tree.N; n > 0; n >>= ProofTileHeight {
				levels++
			}
			if len(edge) == 0 || len(edge) > levels+1 {
				t.Fatalf("%d edge tiles for %d levels", len(edge), levels)
			}
			for p, d := range edge {
				if string(s[p]) != string(d) {
					t.Fatalf("%s: not the tile the build wrote", p)
				}
			}
			src := maps.Clone(h8)
			maps.Copy(src, edge)
			var mu sync.Mutex
			var read []string
			fetch := func(ctx context.Context, p string, max int64) ([]byte, error) {
				d, err := src.fetch(ctx, p, max)
				if err == nil {
					mu.Lock()
					read = append(read, p)
					mu.Unlock()
				}
				return d, err
			}
			r := Reader{Height: TileHeight, EdgeHeight: ProofTileHeight, Fetch: fetch}
			newest := max(0, (tree.N>>ProofTileHeight-1)<<ProofTileHeight)
			for _, i := range []int64{newest, (newest + tree.N) / 2, tree.N - 1} {
				read = nil
				if err := r.CheckInclusion(ctx, tree, i, entry(int(i))); err != nil {
					t.Fatalf("entry %d: %v", i, err)
				}
				for _, p := range read {
					if strings.HasPrefix(p, "log/tile/8/") {
						t.Fatalf("entry %d (the edge): the proof read %s", i, p)
					}
				}
			}
			if newest >= 2<<ProofTileHeight {
				read = nil
				if err := r.CheckInclusion(ctx, tree, 0, entry(0)); err != nil {
					t.Fatalf("entry 0: %v", err)
				}
				if !strings.Contains(strings.Join(read, " "), "log/tile/8/0/") {
					t.Fatalf("entry 0 (away from the edge) proved from %v", read)
				}
			}
			// A tampered edge tile: ErrTile, not the height-8 tiles. Each
			// is read by a proof of the newest entries (none is there for
			// nothing).
			for p, d := range edge {
				bad := append([]byte(nil), d...)
				bad[0] ^= 1
				src[p] = bad
				refused := false
				for _, i := range []int64{newest, (newest + tree.N) / 2, tree.N - 1} {
					err := r.CheckInclusion(ctx, tree, i, entry(int(i)))
					if err != nil && !errors.Is(err, ErrTile) {
						t.Fatalf("%s tampered, entry %d: %v", p, i, err)
					}
					refused = refused || err != nil
				}
				src[p] = d
				if tree.N > 1 && !refused {
					t.Fatalf("%s tampered: every proof of the newest entries passed (no proof reads it)", p)
				}
			}
		})
	}
	// The edge is a function of the tree: a tree's tiles that are missing
	// are the fetch's error.
	if _, err := EdgeTiles(ctx, tlog.Tree{N: 20}, site{}.fetch); err == nil {
		t.Fatal("an edge computed from no tiles")
	}
}
