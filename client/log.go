package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/walk"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors of the transparency log checks, usable with errors.Is.
var (
	// ErrNotLogged: a release the registry's log does not hold.
	ErrNotLogged = walk.ErrNotLogged
	// ErrLogInconsistent: a log that does not extend the one this machine
	// saw before from the registry (a fork, a truncated or rewritten
	// history, an old log replayed).
	ErrLogInconsistent = walk.ErrLogInconsistent
	// ErrLogTile: a tile that does not match the signed tree.
	ErrLogTile = walk.ErrLogTile
)

// seenState is what was last recorded for this registry's URL (the zero
// value when nothing), read without the lock: checkSerial checks again
// under it before recording a new one.
func (c *Client) seenState() seen {
	file := filepath.Join(c.opts.StateDir, "serials.json")
	b, err := safefile.ReadFile(file, maxStateSize)
	if err != nil {
		return seen{} // none yet; checkSerial reports a damaged one
	}
	state := map[string]seen{}
	if json.Unmarshal(b, &state) != nil {
		return seen{}
	}
	return state[stateKey(c.reg.URL)]
}

func (s seen) logTree() (tlog.Tree, error) {
	if s.LogSize == 0 {
		return tlog.Tree{}, nil
	}
	h, err := tlog.ParseHash(s.LogHash)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("the log hash recorded for this registry (%q) is damaged: %v", s.LogHash, err)
	}
	return tlog.Tree{N: s.LogSize, Hash: h}, nil
}

// checkLog proves that the log a verified root names extends the one seen
// before from this registry (consistency proof from the new tree's
// tiles), and remembers which tree it proved that from for checkSerial.
func (c *Client) checkLog(ctx context.Context, root *index.Root, data []byte) error {
	st := c.seenState()
	if root.Serial < st.Serial || root.Serial == st.Serial && index.Digest(data) != st.Digest {
		// An older index replayed: the serial check says so (ErrRollback).
		return nil
	}
	last, err := st.logTree()
	if err != nil {
		return fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	if err := c.withTiles(func(w *Walker) error { return w.Consistent(ctx, root, last) }); err != nil {
		return fmt.Errorf("registry %s: %w. Nothing was recorded. This registry's history differs from what this machine saw before: report it to the registry's owner", c.reg.Name, err)
	}
	c.logFrom = last
	return nil
}

// recordLog checks, under the state's lock, that the log seen before is
// still the one checkLog proved the new tree extends (another process may
// have recorded a newer one meanwhile), and sets the new tree in s.
func (c *Client) recordLog(root *index.Root, last seen, s *seen) error {
	before, err := last.logTree()
	if err != nil {
		return fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	tree, ok, err := translog.TreeOf(root)
	if err != nil {
		return err
	}
	if !ok {
		if before.N > 0 {
			return fmt.Errorf("registry %s: %w: index.json names no log, a log of %d entries was seen before", c.reg.Name, ErrLogInconsistent, before.N)
		}
		return nil
	}
	if before != tree && before != c.logFrom {
		return fmt.Errorf("registry %s: %w: the log this machine recorded changed to %d entries (%s) while this command checked against %d; run it again", c.reg.Name, ErrLogInconsistent, before.N, before.Hash, c.logFrom.N)
	}
	s.LogSize, s.LogHash = tree.N, tree.Hash.String()
	return nil
}

// included proves that a release of the verified root is in the
// registry's log before its archive is used.
func (c *Client) included(ctx context.Context, name string, rel *index.Release) error {
	root, err := c.verifiedRoot(ctx)
	if err != nil {
		return err
	}
	if err := c.withTiles(func(w *Walker) error { return w.Included(ctx, root, name, rel) }); err != nil {
		return fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	return c.witnessedRelease(ctx, root, name, rel)
}

// logWalker is the walker for log proofs: the tiles it reads are kept for
// the Client's life, so the consistency proof and the inclusion proofs of
// one command share the right edge instead of fetching it again (tlog
// checks each tile against the tree at every use). Full tiles never
// change, so they are also kept in the cache directory once a proof has
// verified them (keepTiles) and read from there next time: a later fetch
// downloads only the right edge's partial tiles. A cached tile is checked
// like a downloaded one; one that fails makes the proof run again from
// the network (withTiles).
func (c *Client) logWalker(useCache bool) *Walker {
	w := c.walker()
	// Proofs read the height-4 tiles when index.json says the site has
	// them, unless the source holds height 8 only (OCI).
	w.HoldsTileHeight = func(h int) bool { return transport.HoldsTileHeight(c.tr, h) }
	// The tiles of one proof are fetched in parallel (translog): through
	// fetch, which leaves the work put off by later to the Client's own
	// goroutine.
	get := c.fetch
	w.Get = func(ctx context.Context, p string, max int64) ([]byte, error) {
		c.tilesMu.Lock()
		b, ok := c.tiles[p]
		c.tilesMu.Unlock()
		if ok && int64(len(b)) <= max {
			return b, nil
		}
		kind := index.KindOf(p)
		var err error
		if kind == index.KindLogTile && useCache {
			b, err = safefile.ReadFile(c.tileCachePath(p), max)
			if err == nil {
				c.tilesMu.Lock()
				c.fromCache = append(c.fromCache, p)
				c.tilesMu.Unlock()
			}
		}
		if !useCache || kind != index.KindLogTile || err != nil {
			b, err = get(ctx, p, max)
		}
		if err == nil && kind != index.KindLogCheckpoint {
			c.tilesMu.Lock()
			if c.tiles == nil {
				c.tiles = map[string][]byte{}
			}
			c.tiles[p] = b
			c.tilesMu.Unlock()
		}
		return b, err
	}
	return w
}

func (c *Client) tileCachePath(p string) string {
	return c.cachePath("log", urlKey(c.reg.URL), filepath.FromSlash(p))
}

// withTiles runs a proof with the cached tiles, and once more from the
// network when a cached tile did not check out (a damaged cache must not
// fail a fetch); then keeps the full tiles the proof verified.
func (c *Client) withTiles(proof func(w *Walker) error) error {
	err := proof(c.logWalker(true))
	if errors.Is(err, ErrLogTile) {
		c.tilesMu.Lock()
		bad := c.fromCache
		c.fromCache, c.tiles = nil, nil
		c.tilesMu.Unlock()
		if len(bad) > 0 {
			for _, p := range bad {
				os.Remove(c.tileCachePath(p))
			}
			err = proof(c.logWalker(false))
		}
	}
	if err == nil {
		c.keepTiles()
	}
	return err
}

// keepTiles writes the full tiles this Client read, all checked by the
// proofs that read them, to the cache (later: off the request path).
func (c *Client) keepTiles() {
	c.tilesMu.Lock()
	var keep [][2]string
	for p, b := range c.tiles {
		if index.KindOf(p) == index.KindLogTile && !c.kept[p] {
			keep = append(keep, [2]string{p, string(b)})
			if c.kept == nil {
				c.kept = map[string]bool{}
			}
			c.kept[p] = true
		}
	}
	c.tilesMu.Unlock()
	if len(keep) == 0 {
		return
	}
	c.later(func() {
		for _, k := range keep {
			f := c.tileCachePath(k[0])
			if _, err := os.Stat(f); err == nil {
				continue
			}
			if os.MkdirAll(filepath.Dir(f), 0o755) == nil {
				_ = writeAtomic(f, []byte(k[1]), 0o644)
			}
		}
	})
}

// LogEntry is one entry of a registry's transparency log.
type LogEntry struct {
	Index int64 `json:"index"`
	translog.Entry
}

// LogHistory returns every entry of pack name in the registry's log, in
// log order: the pack's history as the registry published it, including
// anything the current index no longer lists. The root is verified (and
// its log proved consistent with the one seen before) first, and every
// data tile is checked against the signed tree. O(log size).
func (c *Client) LogHistory(ctx context.Context, name string) ([]LogEntry, int64, error) {
	defer c.flush()
	root, err := c.verifiedRoot(ctx)
	if err != nil {
		return nil, 0, err
	}
	c.flush()
	if c.rootErr != nil {
		return nil, 0, c.rootErr
	}
	tree, ok, err := translog.TreeOf(root)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, fmt.Errorf("registry %s: %w: its index.json names no transparency log (an unsigned registry, or built by a packgen without one)", c.reg.Name, ErrNotLogged)
	}
	out := []LogEntry{}
	err = translog.ReadEntries(ctx, tree, c.logWalker(false).Get, 0, func(i int64, b []byte) error {
		e, err := translog.ParseEntry(b)
		if err != nil {
			return fmt.Errorf("log entry %d: %w", i, err)
		}
		if e.Name == name {
			out = append(out, LogEntry{Index: i, Entry: e})
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	return out, tree.N, nil
}

// LogProof is what a lock file keeps to prove offline that a release is
// in its registry's log: its entry's index and key ID, the log's signed
// checkpoint of the tree the verified index.json names, and the
// inclusion proof against that tree.
type LogProof struct {
	Index      int64
	KeyID      string
	Tree       tlog.Tree
	Checkpoint []byte
	Proof      tlog.RecordProof
}

// LogProof proves release rel of pack name is in the registry's log and
// returns the proof to keep. It returns nil (no error) when the registry
// has no log, or when its published checkpoint is not (yet) the tree
// index.json names: a publish in progress writes the checkpoint last.
func (c *Client) LogProof(ctx context.Context, name string, rel *index.Release) (*LogProof, error) {
	defer c.flush()
	root, err := c.verifiedRoot(ctx)
	if err != nil {
		return nil, err
	}
	tree, ok, err := translog.TreeOf(root)
	if err != nil || !ok || rel.Log == nil {
		return nil, err
	}
	msg, err := c.fetch(ctx, translog.CheckpointPath, translog.MaxCheckpointSize)
	if err != nil {
		return nil, fmt.Errorf("registry %s: read %s: %w", c.reg.Name, translog.CheckpointPath, err)
	}
	cp, err := translog.OpenCheckpoint(msg, root.Log.Key)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %s: %w", c.reg.Name, translog.CheckpointPath, err)
	}
	if cp.Tree != tree {
		return nil, nil
	}
	entry, err := translog.EntryOf(name, rel)
	if err != nil {
		return nil, err
	}
	var proof tlog.RecordProof
	if err := c.withTiles(func(w *Walker) error {
		var err error
		proof, err = w.LogReader(root).ProveInclusion(ctx, tree, rel.Log.Index)
		return err
	}); err != nil {
		return nil, fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	if err := translog.CheckInclusionProof(tree, rel.Log.Index, entry, proof); err != nil {
		return nil, fmt.Errorf("registry %s: %s@%s: %w", c.reg.Name, name, rel.Version, err)
	}
	return &LogProof{Index: rel.Log.Index, KeyID: rel.Log.KeyID, Tree: tree, Checkpoint: msg, Proof: proof}, nil
}
