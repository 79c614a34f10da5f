package translog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/packgen/packgen/index"
	"golang.org/x/mod/sumdb/tlog"
)

// Fetch reads a site path, at most max bytes (index.FetchFunc).
type Fetch = func(ctx context.Context, path string, max int64) ([]byte, error)

// Put writes a site path.
type Put = func(path string, data []byte) error

// TilePath is the site path of a tile.
func TilePath(t tlog.Tile) string { return Dir + "/" + t.Path() }

// tileReader reads a tree's tiles of one height (TileHeight unless
// said) from a site for tlog.TileHashReader, which checks each against
// the tree's root hash. Tiles are kept for the reader's life: proofs and
// appends read the right edge more than once.
type tileReader struct {
	ctx    context.Context
	fetch  Fetch
	height int
	cache  map[tlog.Tile][]byte
	read   int64 // bytes fetched, for tests and benchmarks
	rounds int   // ReadTiles calls that fetched: round trips
}

func newTileReader(ctx context.Context, fetch Fetch) *tileReader {
	return &tileReader{ctx: ctx, fetch: fetch, height: TileHeight, cache: map[tlog.Tile][]byte{}}
}

func (r *tileReader) Height() int { return r.height }

// maxParallelTiles bounds the tiles fetched at once: more than any proof
// reads (at most two per tile level: 18 at height 4 for 2³² entries, 10
// at 100,000), so a proof stays one round of requests, while a reader of
// every tile (CheckProofTiles) does not open dozens of connections.
const maxParallelTiles = 32

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	// The tiles of one proof (one per level) are fetched at once: one
	// round trip, not one per level.
	out := make([][]byte, len(tiles))
	errs := make([]error, len(tiles))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelTiles)
	for i, t := range tiles {
		if d, ok := r.cache[t]; ok {
			out[i] = d
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			want := int64(t.W) * tlog.HashSize
			d, err := r.fetch(r.ctx, TilePath(t), want)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("read %s: %w", TilePath(t), err)
			case int64(len(d)) != want:
				errs[i] = fmt.Errorf("%w: %s holds %d bytes, want %d", ErrTile, TilePath(t), len(d), want)
			default:
				out[i] = d
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	fetched := false
	for i, t := range tiles {
		if _, ok := r.cache[t]; !ok {
			r.cache[t] = out[i]
			r.read += int64(len(out[i]))
			fetched = true
		}
	}
	if fetched {
		r.rounds++
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// hashReader reads a tree's stored hashes from its tiles, each tile
// checked against the tree's root hash; a mismatch is ErrTile.
func hashReader(tree tlog.Tree, tr *tileReader) tlog.HashReader {
	hr := tlog.TileHashReader(tree, tr)
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		hs, err := hr.ReadHashes(idx)
		if err != nil && !errors.Is(err, ErrTile) && tr.ctx.Err() == nil && !isFetchError(err) {
			err = fmt.Errorf("%w (tree of %d entries, root %s): %v", ErrTile, tree.N, tree.Hash, err)
		}
		return hs, err
	})
}

// isFetchError tells a transport failure (kept as is, with its sentinel)
// from tlog's complaint about a tile's content.
func isFetchError(err error) bool {
	var fe *fetchError
	return errors.As(err, &fe)
}

type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// wrapFetch marks fetch failures so that hashReader keeps their sentinel.
func wrapFetch(f Fetch) Fetch {
	return func(ctx context.Context, p string, max int64) ([]byte, error) {
		d, err := f(ctx, p, max)
		if err != nil {
			return nil, &fetchError{err}
		}
		return d, nil
	}
}

// Append extends the verified tree old (the zero Tree for a new log),
// read through fetch, with entries, and writes every tile that changes
// with put: the new full tiles, the new partial ones, and the data tiles
// holding the new entries, at TileHeight, and the hash tiles that change
// at ProofTileHeight (a log whose old tree has none gets the rest from
// WriteProofTiles). It reads only the old tree's right edge (the
// tiles on the path to its last entry) and hashes only the new entries:
// O(new entries + log size). It returns the new tree after checking that
// it is consistent with old.
func Append(ctx context.Context, old tlog.Tree, fetch Fetch, entries [][]byte, put Put) (tlog.Tree, error) {
	if old.N == 0 && old.Hash != (tlog.Hash{}) {
		return tlog.Tree{}, fmt.Errorf("%w: empty tree with a root hash", ErrCheckpoint)
	}
	if len(entries) == 0 {
		return old, nil
	}
	tr := newTileReader(ctx, wrapFetch(fetch))
	oldHR := hashReader(old, tr)
	hr := &appendHashes{base: tlog.StoredHashCount(old.N), old: oldHR}
	for i, e := range entries {
		if len(e) > MaxEntrySize {
			return tlog.Tree{}, fmt.Errorf("%w: entry %d: %d bytes, at most %d", ErrEntry, old.N+int64(i), len(e), MaxEntrySize)
		}
		hs, err := tlog.StoredHashes(old.N+int64(i), e, hr)
		if err != nil {
			return tlog.Tree{}, fmt.Errorf("append entry %d: %w", old.N+int64(i), err)
		}
		hr.added = append(hr.added, hs...)
	}
	n := old.N + int64(len(entries))
	th, err := tlog.TreeHash(n, hr)
	if err != nil {
		return tlog.Tree{}, err
	}
	tree := tlog.Tree{N: n, Hash: th}
	if err := checkExtends(tree, old, hr); err != nil {
		return tlog.Tree{}, err
	}
	for _, t := range tlog.NewTiles(TileHeight, old.N, n) {
		if err := putTile(ctx, t, tr, oldHR, hr, old, entries, put); err != nil {
			return tlog.Tree{}, err
		}
	}
	// The proof tiles that change, from the same hashes: the old ones
	// they hold are on the old tree's right edge, read above.
	if err := putProofTiles(tlog.NewTiles(ProofTileHeight, old.N, n), hr, put); err != nil {
		return tlog.Tree{}, err
	}
	return tree, nil
}

// appendHashes reads the stored hashes of the old tree (below base)
// through its tiles and the ones Append added after them from memory.
type appendHashes struct {
	base  int64
	old   tlog.HashReader
	added []tlog.Hash
}

func (a *appendHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	var oldIdx []int64
	var at []int
	for i, x := range idx {
		switch {
		case x < a.base:
			oldIdx, at = append(oldIdx, x), append(at, i)
		case x-a.base < int64(len(a.added)):
			out[i] = a.added[x-a.base]
		default:
			return nil, fmt.Errorf("internal error: hash %d is not stored yet", x)
		}
	}
	if len(oldIdx) > 0 {
		hs, err := a.old.ReadHashes(oldIdx)
		if err != nil {
			return nil, err
		}
		for k, i := range at {
			out[i] = hs[k]
		}
	}
	return out, nil
}

// putTile writes hash tile t of the new tree and, for level 0, the data
// tile beside it.
func putTile(ctx context.Context, t tlog.Tile, tr *tileReader, oldHR, hr tlog.HashReader, old tlog.Tree, entries [][]byte, put Put) error {
	data, err := tlog.ReadTileData(t, hr)
	if err != nil {
		return fmt.Errorf("tile %s: %w", t.Path(), err)
	}
	if err := put(TilePath(t), data); err != nil {
		return err
	}
	if t.L != 0 {
		return nil
	}
	// The data tile beside it: the old entries of a partial tile
	// (each checked against its hash), then the new ones.
	start := t.N << TileHeight
	var bundle [][]byte
	if start < old.N {
		dt := tlog.Tile{H: TileHeight, L: -1, N: t.N, W: int(old.N - start)}
		prev, err := readData(ctx, tr.fetch, dt, oldHR)
		if err != nil {
			return err
		}
		bundle = prev
		start = old.N
	}
	bundle = append(bundle, entries[start-old.N:start-old.N+int64(t.W-len(bundle))]...)
	dt := t
	dt.L = -1
	return put(TilePath(dt), encodeBundle(bundle))
}

// checkExtends proves with tlog that tree extends old.
func checkExtends(tree, old tlog.Tree, hr tlog.HashReader) error {
	if old.N == 0 {
		return nil
	}
	p, err := tlog.ProveTree(tree.N, old.N, hr)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(p, tree.N, tree.Hash, old.N, old.Hash); err != nil {
		return fmt.Errorf("%w: tree of %d entries (%s) does not extend the tree of %d (%s): %v", ErrInconsistent, tree.N, tree.Hash, old.N, old.Hash, err)
	}
	return nil
}

// readData reads data tile dt and checks each entry against the record
// hash the tree holds for it.
func readData(ctx context.Context, fetch Fetch, dt tlog.Tile, hr tlog.HashReader) ([][]byte, error) {
	data, err := fetch(ctx, TilePath(dt), int64(dt.W)*(2+MaxEntrySize))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", TilePath(dt), err)
	}
	entries, err := ParseBundle(data, dt.W)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", TilePath(dt), err)
	}
	idx := make([]int64, len(entries))
	for i := range entries {
		idx[i] = tlog.StoredHashIndex(0, dt.N<<TileHeight+int64(i))
	}
	hs, err := hr.ReadHashes(idx)
	if err != nil {
		return nil, err
	}
	for i, e := range entries {
		if tlog.RecordHash(e) != hs[i] {
			return nil, fmt.Errorf("%w: %s: entry %d is not the one the tree holds", ErrTile, TilePath(dt), dt.N<<TileHeight+int64(i))
		}
	}
	return entries, nil
}

// CopyTiles reads every height-8 tile of tree through fetch, checks each
// against the tree (hash tiles by tlog, entries by their record hashes),
// and writes it with put: the log as an OCI registry holds it (a build
// staged afresh uses CopyLog, which adds the height-4 tiles). Without
// partials, only full tiles: a log about to grow supersedes the partial
// ones (Append reads them from the previous log).
func CopyTiles(ctx context.Context, tree tlog.Tree, fetch Fetch, put Put, partials bool) error {
	return copyTiles(ctx, tree, newTileReader(ctx, wrapFetch(fetch)), put, partials)
}

func copyTiles(ctx context.Context, tree tlog.Tree, tr *tileReader, put Put, partials bool) error {
	hr := hashReader(tree, tr)
	for _, t := range tlog.NewTiles(TileHeight, 0, tree.N) {
		if t.W != 1<<TileHeight && !partials {
			continue
		}
		got, err := tr.ReadTiles([]tlog.Tile{t})
		if err != nil {
			return err
		}
		want, err := tlog.ReadTileData(t, hr)
		if err != nil {
			return err
		}
		if !bytes.Equal(got[0], want) {
			return fmt.Errorf("%w: %s", ErrTile, TilePath(t))
		}
		if err := put(TilePath(t), got[0]); err != nil {
			return err
		}
		if t.L == 0 {
			dt := t
			dt.L = -1
			entries, err := readData(ctx, tr.fetch, dt, hr)
			if err != nil {
				return err
			}
			if err := put(TilePath(dt), encodeBundle(entries)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadEntries returns entries [from, tree.N) of tree, each checked
// against the tree: what `log show` and `log audit` replay.
func ReadEntries(ctx context.Context, tree tlog.Tree, fetch Fetch, from int64, each func(i int64, e []byte) error) error {
	tr := newTileReader(ctx, wrapFetch(fetch))
	hr := hashReader(tree, tr)
	for start := from &^ (1<<TileHeight - 1); start < tree.N; start += 1 << TileHeight {
		w := min(tree.N-start, 1<<TileHeight)
		dt := tlog.Tile{H: TileHeight, L: -1, N: start >> TileHeight, W: int(w)}
		entries, err := readData(ctx, tr.fetch, dt, hr)
		if err != nil {
			return err
		}
		for i, e := range entries {
			if j := start + int64(i); j >= from {
				if err := each(j, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// CheckInclusion proves that entry is record idx of tree, reading the
// height-8 tiles on its path through fetch (one tile per level).
func CheckInclusion(ctx context.Context, tree tlog.Tree, fetch Fetch, idx int64, entry []byte) error {
	return Reader{Fetch: fetch}.CheckInclusion(ctx, tree, idx, entry)
}

// Reader proves from one of a log's two sets of hash tiles: Height
// TileHeight (0 means it: the tiles every log has) or ProofTileHeight
// (when index.json says the log has them: ProofHeight). tlog checks the
// tiles of either against the same signed tree.
type Reader struct {
	Height int
	Fetch  Fetch
}

// ProofHeight is the height of the tiles a reader of the site that
// root is from proves from: ProofTileHeight when root says the site
// holds them, else TileHeight.
func ProofHeight(root *index.Root) int {
	if root.Log != nil && root.Log.ProofTileHeight == ProofTileHeight {
		return ProofTileHeight
	}
	return TileHeight
}

func (r Reader) hashes(ctx context.Context, tree tlog.Tree) tlog.HashReader {
	tr := newTileReader(ctx, wrapFetch(r.Fetch))
	if r.Height != 0 {
		tr.height = r.Height
	}
	return hashReader(tree, tr)
}

// CheckInclusion proves that entry is record idx of tree, reading the
// tiles on its path (one per tile level, fetched at once).
func (r Reader) CheckInclusion(ctx context.Context, tree tlog.Tree, idx int64, entry []byte) error {
	if idx < 0 || idx >= tree.N {
		return fmt.Errorf("%w: index %d, the tree has %d entries", ErrNotIncluded, idx, tree.N)
	}
	p, err := tlog.ProveRecord(tree.N, idx, r.hashes(ctx, tree))
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(p, tree.N, tree.Hash, idx, tlog.RecordHash(entry)); err != nil {
		return fmt.Errorf("%w: entry %d of the tree of %d entries (%s) is not this release: %v", ErrNotIncluded, idx, tree.N, tree.Hash, err)
	}
	return nil
}

// CheckConsistency proves that tree extends old (seen before), reading
// height-8 tiles of tree through fetch. A smaller tree, the same size
// with another root, or a tree that does not contain old are
// ErrInconsistent.
func CheckConsistency(ctx context.Context, old, tree tlog.Tree, fetch Fetch) error {
	return Reader{Fetch: fetch}.CheckConsistency(ctx, old, tree)
}

// CheckConsistency proves that tree extends old (seen before), reading
// tiles of tree (fetched at once). A smaller tree, the same size with
// another root, or a tree that does not contain old are ErrInconsistent.
func (r Reader) CheckConsistency(ctx context.Context, old, tree tlog.Tree) error {
	switch {
	case tree.N < old.N:
		return fmt.Errorf("%w: the log has %d entries (%s), %d were seen before (%s): a truncated log or an old one replayed", ErrInconsistent, tree.N, tree.Hash, old.N, old.Hash)
	case tree.N == old.N && tree.Hash != old.Hash:
		return fmt.Errorf("%w: the log of %d entries has root %s, %s was seen before: a forked or rewritten history", ErrInconsistent, tree.N, tree.Hash, old.Hash)
	case tree.N == old.N || old.N == 0:
		return nil
	}
	// Tiles that do not match the new tree are ErrTile; tiles that do,
	// yet cannot prove the old tree inside it, are a fork.
	return checkExtends(tree, old, r.hashes(ctx, tree))
}

// TilePaths lists the site paths of every tile of a tree of n entries
// (hash and data tiles, and the hash tiles at ProofTileHeight): what a
// reader of that tree may request, so what pruning spares while an index
// naming it may still be in use.
func TilePaths(n int64) []string {
	var out []string
	for _, t := range tlog.NewTiles(TileHeight, 0, n) {
		out = append(out, TilePath(t))
		if t.L == 0 {
			t.L = -1
			out = append(out, TilePath(t))
		}
	}
	for _, t := range tlog.NewTiles(ProofTileHeight, 0, n) {
		out = append(out, TilePath(t))
	}
	return out
}

// ProveInclusion returns the inclusion proof of record idx in tree, read
// from the height-8 tiles on its path (each checked against the tree):
// what a lock file keeps so that the record's inclusion can be checked
// offline with CheckInclusionProof.
func ProveInclusion(ctx context.Context, tree tlog.Tree, fetch Fetch, idx int64) (tlog.RecordProof, error) {
	return Reader{Fetch: fetch}.ProveInclusion(ctx, tree, idx)
}

// ProveInclusion returns the inclusion proof of record idx in tree, read
// from the tiles on its path (each checked against the tree). The proof
// is the same whatever the tiles' height.
func (r Reader) ProveInclusion(ctx context.Context, tree tlog.Tree, idx int64) (tlog.RecordProof, error) {
	if idx < 0 || idx >= tree.N {
		return nil, fmt.Errorf("%w: index %d, the tree has %d entries", ErrNotIncluded, idx, tree.N)
	}
	return tlog.ProveRecord(tree.N, idx, r.hashes(ctx, tree))
}

// CheckInclusionProof checks offline that entry is record idx of tree.
func CheckInclusionProof(tree tlog.Tree, idx int64, entry []byte, proof tlog.RecordProof) error {
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, idx, tlog.RecordHash(entry)); err != nil {
		return fmt.Errorf("%w: entry %d of the tree of %d entries (%s) is not this release: %v", ErrNotIncluded, idx, tree.N, tree.Hash, err)
	}
	return nil
}
