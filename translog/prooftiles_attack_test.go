package translog

import (
	"context"
	"errors"
	"maps"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestAttackProofTileSwap: storage that index.json's signature does not
// cover serves height-4 tiles that are not the signed tree's: missing,
// the height-8 tile's bytes under a height-4 path (same size, other
// levels' hashes), the height-4 tiles of a forked tree of the same size,
// or a height-4 tile under a height-8 path. No proof from them succeeds
// (and none falls back to other tiles): each is ErrTile (missing: the
// fetch's error), and so is CheckProofTiles (verify --site); an entry
// that is not the tree's is ErrNotIncluded whatever the tiles.
func TestAttackProofTileSwap(t *testing.T) {
	ctx := context.Background()
	good := site{}
	tree := appendAll(t, good, 600) // 600 = 37·16 + 8
	// A fork: the same 600 entries but entry 300.
	forked := site{}
	es := entries(0, 600)
	es[300] = entry(100000)
	if _, err := Append(ctx, tlog.Tree{}, forked.fetch, es, forked.put); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		height   int
		tamper   func(s site)
		wantTile bool // ErrTile; else any error
	}{
		{"height-4 tile missing", ProofTileHeight, func(s site) { delete(s, "log/tile/4/1/001") }, false},
		{"height-4 right edge missing", ProofTileHeight, func(s site) { delete(s, "log/tile/4/0/037.p/8") }, false},
		{"height-8 bytes under a height-4 path", ProofTileHeight, func(s site) { s["log/tile/4/1/000"] = s["log/tile/8/0/000"][:16*tlog.HashSize] }, true},
		{"a forked tree's height-4 tiles", ProofTileHeight, func(s site) {
			for p, d := range forked {
				if len(p) > 11 && p[:11] == "log/tile/4/" {
					s[p] = d
				}
			}
		}, true},
		{"a height-4 tile under a height-8 path", TileHeight, func(s site) { s["log/tile/8/0/000"] = s["log/tile/4/0/000"] }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := maps.Clone(good)
			c.tamper(s)
			r := Reader{Height: c.height, Fetch: s.fetch}
			failed := 0
			for _, i := range []int64{0, 17, 300, 599} {
				err := r.CheckInclusion(ctx, tree, i, entry(int(i)))
				if err == nil {
					continue
				}
				failed++
				if errors.Is(err, ErrNotIncluded) || c.wantTile && !errors.Is(err, ErrTile) {
					t.Fatalf("entry %d: %v, want ErrTile", i, err)
				}
			}
			if failed == 0 {
				t.Fatal("every proof succeeded from tiles that are not the tree's")
			}
			if c.height == ProofTileHeight {
				if err := CheckProofTiles(ctx, tree, s.fetch); err == nil || c.wantTile && !errors.Is(err, ErrTile) {
					t.Fatalf("CheckProofTiles: %v", err)
				}
			}
		})
	}
	// The genuine tiles prove no other entry.
	r := Reader{Height: ProofTileHeight, Fetch: good.fetch}
	if err := r.CheckInclusion(ctx, tree, 300, entry(100000)); !errors.Is(err, ErrNotIncluded) {
		t.Fatalf("an entry not in the tree: %v, want ErrNotIncluded", err)
	}
}
