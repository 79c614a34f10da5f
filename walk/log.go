package walk

import (
	"bytes"
	"context"
	"fmt"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors of the transparency log checks (package translog's).
var (
	ErrNotLogged       = translog.ErrNotIncluded
	ErrLogInconsistent = translog.ErrInconsistent
	ErrLogTile         = translog.ErrTile
)

// Included proves that release rel of pack name, below a trusted root, is
// in the transparency log the root names: its entry, encoded from its
// shard's fields, is the record at its log index (an inclusion proof
// from the tiles on its path, one per tile level: LogReader). A root
// without a log (an unsigned registry, or one built before the log) has
// nothing to prove.
func (w *Walker) Included(ctx context.Context, root *index.Root, name string, rel *index.Release) error {
	tree, ok, err := translog.TreeOf(root)
	if err != nil || !ok {
		return err
	}
	e, err := translog.EntryOf(name, rel)
	if err != nil {
		return err
	}
	if err := w.LogReader(root).CheckInclusion(ctx, tree, rel.Log.Index, e); err != nil {
		return fmt.Errorf("%s@%s: %w", name, rel.Version, err)
	}
	return nil
}

// Consistent proves that the log a trusted root names extends the tree
// seen before (from this registry): not truncated, forked or rewritten.
// A root without a log after one was seen is a truncated history too.
func (w *Walker) Consistent(ctx context.Context, root *index.Root, seen tlog.Tree) error {
	tree, ok, err := translog.TreeOf(root)
	if err != nil {
		return err
	}
	if !ok {
		if seen.N > 0 {
			return fmt.Errorf("%w: index.json names no log, a log of %d entries (%s) was seen before", ErrLogInconsistent, seen.N, seen.Hash)
		}
		return nil
	}
	return w.LogReader(root).CheckConsistency(ctx, seen, tree)
}

// LogReader reads proofs of the log root names from the smallest tiles
// the site holds: its height-4 tiles when index.json says it has them
// and the source holds them, else its height-8 tiles. tlog checks
// either against the same signed tree.
func (w *Walker) LogReader(root *index.Root) translog.Reader {
	h := translog.ProofHeight(root)
	if h != translog.TileHeight && (w.HoldsTileHeight == nil || !w.HoldsTileHeight(h)) {
		h = translog.TileHeight
	}
	return translog.Reader{Height: h, Fetch: w.Get}
}

// LoggedRelease is a release with the pack it belongs to.
type LoggedRelease struct {
	Name string
	Rel  *index.Release
}

// walkLog checks the whole log of a trusted root (Walk): the checkpoint
// is signed by the log key the root names and matches it, every entry
// (each data tile checked against the tree) is exactly one release's,
// and every release is in it. Entries no release claims are reported only
// when the walk saw every release (complete): a shard that failed its
// digest is reported once, not again as each of its entries.
func (w *Walker) walkLog(ctx context.Context, root *index.Root, rels []LoggedRelease, complete bool, problem func(string, error)) {
	tree, ok, err := translog.TreeOf(root)
	if err != nil {
		problem(index.RootFile, err)
		return
	}
	if !ok {
		return
	}
	msg, err := w.Get(ctx, translog.CheckpointPath, translog.MaxCheckpointSize)
	if err == nil {
		var c translog.Checkpoint
		if c, err = translog.OpenCheckpoint(msg, root.Log.Key); err == nil && c.Tree != tree {
			// The checkpoint follows index.json (written and published
			// after it): a lagging one must be a tree the index's
			// extends.
			if c.Tree.N >= tree.N {
				err = fmt.Errorf("%w: a tree of %d entries (%s), index.json names %d (%s)", translog.ErrCheckpoint, c.Tree.N, c.Tree.Hash, tree.N, tree.Hash)
			} else if err = translog.CheckConsistency(ctx, c.Tree, tree, w.Get); err != nil {
				err = fmt.Errorf("%w: it is behind index.json (a publish in progress?) but index.json's log does not extend it: %v", translog.ErrCheckpoint, err)
			}
		}
	}
	if err != nil {
		problem(translog.CheckpointPath, err)
	}
	entries := make([][]byte, tree.N)
	if err := translog.ReadEntries(ctx, tree, w.Get, 0, func(i int64, e []byte) error {
		entries[i] = e
		return nil
	}); err != nil {
		problem(index.LogDir, err)
		return
	}
	// The height-4 tiles clients prove from, when the site says it has
	// them: one that does not match would fail their fetches.
	if w.LogReader(root).Height == translog.ProofTileHeight {
		if err := translog.CheckProofTiles(ctx, tree, w.Get); err != nil {
			problem(index.LogDir, err)
		}
	}
	claimed := make([]bool, tree.N)
	for _, r := range rels {
		p := r.Rel.Archive.Path
		e, err := translog.EntryOf(r.Name, r.Rel)
		switch {
		case err != nil:
			problem(p, err)
		case r.Rel.Log.Index < 0 || r.Rel.Log.Index >= tree.N:
			problem(p, fmt.Errorf("%w: %s@%s claims entry %d of a log of %d", ErrNotLogged, r.Name, r.Rel.Version, r.Rel.Log.Index, tree.N))
		case claimed[r.Rel.Log.Index]:
			problem(p, fmt.Errorf("%w: %s@%s claims entry %d, which another release claims", ErrNotLogged, r.Name, r.Rel.Version, r.Rel.Log.Index))
		case !bytes.Equal(entries[r.Rel.Log.Index], e):
			problem(p, fmt.Errorf("%w: %s@%s is not entry %d, which reads:\n%s", ErrNotLogged, r.Name, r.Rel.Version, r.Rel.Log.Index, entries[r.Rel.Log.Index]))
		default:
			claimed[r.Rel.Log.Index] = true
		}
	}
	for i, ok := range claimed {
		if !ok && complete {
			if ent, err := translog.ParseEntry(entries[i]); err == nil {
				problem(index.LogDir, fmt.Errorf("entry %d (%s@%s) is no release of index.json: a logged release was dropped", i, ent.Name, ent.Version))
			} else {
				problem(index.LogDir, fmt.Errorf("entry %d: %w", i, err))
			}
		}
	}
}
