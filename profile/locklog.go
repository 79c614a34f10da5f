package profile

import (
	"context"
	"fmt"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/profile/spec"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/tlog"
)

// lockLog is the log proof a lock keeps for a release (nil when the
// registry has no log, or its checkpoint lags index.json).
func lockLog(ctx context.Context, c *client.Client, name string, rel *index.Release) (*spec.LockLog, error) {
	p, err := c.LogProof(ctx, name, rel)
	if err != nil || p == nil {
		return nil, err
	}
	l := &spec.LockLog{Index: p.Index, Key: p.KeyID, TreeSize: p.Tree.N, Checkpoint: string(p.Checkpoint), Proof: []string{}}
	for _, h := range p.Proof {
		l.Proof = append(l.Proof, h.String())
	}
	return l, nil
}

// checkLockLog proves, without reading the log, that the locked release
// is in its registry's log: the lock's checkpoint is signed by the log
// key the registry's verified index.json names and is of its log (the
// origin), and the entry rebuilt from the locked fields is the record at
// the locked index by the lock's inclusion proof. The registry's shard must give the same index
// and key. An edited lock (any of these fields, or the archive digest,
// version or commit) fails here.
func checkLockLog(ctx context.Context, c *client.Client, l LockedPack, rel *index.Release) error {
	if l.Log == nil {
		return nil
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: the lock's transparency log proof: %w; resolve again (packgen profile resolve) only if you trust the change", ErrLockMismatch, l.ID(), fmt.Errorf(format, args...))
	}
	root, err := c.Root(ctx)
	if err != nil {
		return err
	}
	tree, ok, err := translog.TreeOf(root)
	if err != nil {
		return err
	}
	if !ok {
		return fail("registry %s's index.json names no log, yet the lock proves entry %d of one (a truncated history?)", c.Registry().Name, l.Log.Index)
	}
	if rel.Log == nil || rel.Log.Index != l.Log.Index || rel.Log.KeyID != l.Log.Key {
		return fail("the lock says log entry %d (key %.12s), the registry's shard %s", l.Log.Index, l.Log.Key, describeLog(rel.Log))
	}
	cp, err := translog.OpenCheckpoint([]byte(l.Log.Checkpoint), root.Log.Key)
	if err != nil {
		return fail("%w", err)
	}
	// One key may sign several registries, and a note signature does not
	// sign the key's name: a checkpoint of another registry's log opens
	// under this log key once its signature line is relabelled.
	if want := translog.LogOrigin(root.Registry); cp.Origin != want {
		return fail("the checkpoint is of the log %q, not of this registry's log %q", cp.Origin, want)
	}
	if cp.Tree.N != l.Log.TreeSize {
		return fail("the checkpoint is of %d entries, log.treeSize says %d", cp.Tree.N, l.Log.TreeSize)
	}
	if cp.Tree.N > tree.N {
		return fail("the lock's checkpoint has %d entries, the registry's log only %d (an old index.json replayed?)", cp.Tree.N, tree.N)
	}
	proof := make(tlog.RecordProof, len(l.Log.Proof))
	for i, s := range l.Log.Proof {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return fail("proof[%d]: %v", i, err)
		}
		proof[i] = h
	}
	entry, err := translog.Entry{Name: l.Pack, Version: l.Version, SHA256: l.Archive.SHA256, Commit: l.Commit, KeyID: l.Log.Key}.Marshal()
	if err != nil {
		return fail("%w", err)
	}
	if err := translog.CheckInclusionProof(cp.Tree, l.Log.Index, entry, proof); err != nil {
		return fail("%w", err)
	}
	return nil
}

func describeLog(l *index.ReleaseLog) string {
	if l == nil {
		return "has none"
	}
	return fmt.Sprintf("says entry %d (key %.12s)", l.Index, l.KeyID)
}
