package profile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/translog"
)

// A lock proves each release's inclusion in its registry's log offline:
// resolve records index, tree size, checkpoint and proof; fetch checks
// them against the log key of the verified index.json; any edit of the
// lock is refused; a lock without them (older packgen) still fetches; a
// lock stays valid as the log grows.
func TestLockLogProof(t *testing.T) {
	ctx := context.Background()
	reg, state, p, lockPath := lockedAWSProd(t)
	lock, err := LoadLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	idx := map[int64]bool{}
	for _, l := range lock.Layers {
		g := l.Log
		if g == nil || g.TreeSize != 10 || len(g.Proof) == 0 || !strings.HasPrefix(g.Checkpoint, "e2e\n10\n") || idx[g.Index] {
			t.Fatalf("%s: log proof %+v", l.ID(), g)
		}
		idx[g.Index] = true
	}
	fetch := func(l *Lock) error {
		_, err := Fetch(ctx, l, reg.env(state), FetchOptions{Dest: filepath.Join(t.TempDir(), "d")})
		return err
	}
	if err := fetch(lock); err != nil {
		t.Fatal(err)
	}

	edited := func(edit func(*LockedPack)) *Lock {
		l, err := LoadLock(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		edit(&l.Layers[2])
		return l
	}
	for _, tc := range []struct {
		name string
		edit func(*LockedPack)
		want string
		is   error
	}{
		{"another index", func(l *LockedPack) { l.Log.Index = (l.Log.Index + 1) % l.Log.TreeSize }, "the registry's shard says entry", nil},
		{"a proof hash", func(l *LockedPack) { l.Log.Proof[0] = strings.Repeat("A", 43) + "=" }, "is not this release", translog.ErrNotIncluded},
		{"the commit", func(l *LockedPack) { l.Commit = strings.Repeat("0", 40) }, "is not this release", translog.ErrNotIncluded},
		{"the checkpoint's root", func(l *LockedPack) {
			lines := strings.SplitN(l.Log.Checkpoint, "\n", 4)
			lines[2] = strings.Repeat("A", 43) + "="
			l.Log.Checkpoint = strings.Join(lines, "\n")
		}, "not signed by the log key", translog.ErrCheckpoint},
		{"the tree size", func(l *LockedPack) { l.Log.TreeSize = 11 }, "log.treeSize says 11", nil},
	} {
		err := fetch(edited(tc.edit))
		if !errors.Is(err, ErrLockMismatch) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "calico@3.27.3") || tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// An older lock, without the log fields, still fetches.
	if err := fetch(edited(func(l *LockedPack) { l.Log = nil })); err != nil {
		t.Fatal(err)
	}

	// The log grows: the lock's proof is for an older checkpoint, still
	// signed by the same log key, and still holds.
	testutil.WritePack(t, reg.repo, "packs/hello-0.1.0", "hello", "0.1.0", "addon", "a: 1\n")
	reg.serve(reg.build("hello", "site2", filepath.Join(reg.tmp, "site1")))
	if err := fetch(lock); err != nil {
		t.Fatalf("after the log grew: %v", err)
	}
	res2, err := Resolve(ctx, p, reg.env(state), ResolveOptions{})
	if err != nil || res2.Lock.Layers[0].Log.TreeSize != 11 {
		t.Fatalf("resolve again: %v", err)
	}
	_ = os.Remove(lockPath)
}
