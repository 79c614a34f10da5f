package translog

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// The proof tiles are the tree's hash tiles at ProofTileHeight: the same
// stored hashes as the height-8 tiles, cut finer, so a proof reads one
// 512-byte tile per 4 levels instead of one 8 KiB tile per 8. They are a
// function of the tree, so the writer computes them from hashes it has
// checked against the tree (the new entries', and the height-8 tiles'
// of the tree it extends) and never needs to read a previous site's.

// proofBatch bounds the tiles computed per ReadHashes call: tlog checks
// the height-8 tiles it reads once per call, and a batch of 64 proof
// tiles touches about 4 of them.
const proofBatch = 64

// putProofTiles computes hash tiles (any height) from hr and writes
// them with put: tlog.ReadTileData's bytes, with one ReadHashes call per
// batch of tiles instead of one per tile.
func putProofTiles(tiles []tlog.Tile, hr tlog.HashReader, put Put) error {
	for len(tiles) > 0 {
		batch := tiles[:min(len(tiles), proofBatch)]
		tiles = tiles[len(batch):]
		var idx []int64
		for _, t := range batch {
			for i := range t.W {
				idx = append(idx, tlog.StoredHashIndex(t.L*t.H, t.N<<t.H+int64(i)))
			}
		}
		hs, err := hr.ReadHashes(idx)
		if err != nil {
			return fmt.Errorf("tile %s: %w", TilePath(batch[0]), err)
		}
		for _, t := range batch {
			data := make([]byte, 0, t.W*tlog.HashSize)
			for _, h := range hs[:t.W] {
				data = append(data, h[:]...)
			}
			hs = hs[t.W:]
			if err := put(TilePath(t), data); err != nil {
				return err
			}
		}
	}
	return nil
}

// proofTiles lists the tiles at ProofTileHeight of a tree of n entries,
// without the partial ones unless partials.
func proofTiles(n int64, partials bool) []tlog.Tile {
	var out []tlog.Tile
	for _, t := range tlog.NewTiles(ProofTileHeight, 0, n) {
		if partials || t.W == 1<<ProofTileHeight {
			out = append(out, t)
		}
	}
	return out
}

// WriteProofTiles writes every tile of tree at ProofTileHeight (without
// the partial ones unless partials), computed from its height-8 tiles
// read through fetch, each checked against the tree: what a build writes
// once for a log that has none (built by a packgen before them). It
// reads the whole log's hash tiles: O(log size).
func WriteProofTiles(ctx context.Context, tree tlog.Tree, fetch Fetch, put Put, partials bool) error {
	return putProofTiles(proofTiles(tree.N, partials), hashReader(tree, newTileReader(ctx, wrapFetch(fetch))), put)
}

// CopyLog is CopyTiles and WriteProofTiles from the same reads: what a
// build staged afresh carries of the log it extends. The proof tiles are
// computed, not copied: a previous site may have none, and computing
// them costs no request.
func CopyLog(ctx context.Context, tree tlog.Tree, fetch Fetch, put Put, partials bool) error {
	tr := newTileReader(ctx, wrapFetch(fetch))
	if err := copyTiles(ctx, tree, tr, put, partials); err != nil {
		return err
	}
	return putProofTiles(proofTiles(tree.N, partials), hashReader(tree, tr), put)
}

// CheckProofTiles reads every tile of tree at ProofTileHeight through
// fetch, each checked against the tree: tlog authenticates every tile it
// reads (full ones through their parents, the right edge's by the root
// hash), and reading a tile's bottom row reads that tile. What `verify
// --site` adds for a site whose index.json says it holds them. A tile
// that does not match is ErrTile.
func CheckProofTiles(ctx context.Context, tree tlog.Tree, fetch Fetch) error {
	hr := Reader{Height: ProofTileHeight, Fetch: fetch}.hashes(ctx, tree)
	return putProofTiles(proofTiles(tree.N, true), hr, func(string, []byte) error { return nil })
}
