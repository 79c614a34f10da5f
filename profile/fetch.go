package profile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/pack"
)

// FetchOptions say where to put a locked profile.
type FetchOptions struct {
	Dest  string // required
	Force bool   // replace an existing Dest (atomically)
	Jobs  int    // parallel downloads; default 4
	// Progress, when set, is called as each layer finishes (serialised).
	Progress func(done, total int, l LockedPack)
	// CheckImages, when set, runs once every layer is fetched and before
	// Dest is replaced: its error (a pinned image that moved or is gone)
	// fails the fetch with Dest untouched. It is lockimages.CheckPins
	// (`--check-images`), a hook so that profile does not link Helm.
	CheckImages func(ctx context.Context, lock *Lock) error
	// AllowDeleted fetches a locked release its registry has deleted
	// since, with a warning; without it the fetch fails (ErrDeleted).
	AllowDeleted bool
}

// FetchedLayer is one extracted layer.
type FetchedLayer struct {
	Pack     string `json:"pack"`
	Version  string `json:"version"`
	Registry string `json:"registry"`
	SHA256   string `json:"sha256"`
	Dir      string `json:"dir"`
	Files    int    `json:"files"`
	Verified bool   `json:"verified"`
	Retirement
}

// FetchResult reports a fetch.
type FetchResult struct {
	Dest   string         `json:"dest"`
	Layers []FetchedLayer `json:"layers"`
}

// Fetch downloads exactly the locked releases, in parallel, verifying the
// whole chain for each (signed index, bucket, shard) plus that the shard
// still lists the locked version with the locked archive digest and
// signature digest, then the archive's digest and signature; and extracts
// each into Dest/<pack>-<version>. Everything is staged in a directory
// beside Dest and renamed into place only when every layer succeeded: on
// any failure Dest is untouched. All failures are reported, not just the
// first.
func Fetch(ctx context.Context, lock *Lock, env *Env, o FetchOptions) (*FetchResult, error) {
	if o.Dest == "" {
		return nil, errors.New("fetch: no destination directory")
	}
	dest := filepath.Clean(o.Dest)
	if _, err := os.Lstat(dest); err == nil && !o.Force {
		return nil, fmt.Errorf("%w: %s (pass --force to replace it)", pack.ErrDestExists, dest)
	}
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	// Stages of fetches killed before they finished are removed; a
	// running fetch's is held (internal/stale).
	stale.Sweep(parent, ".packgen-profile-*")
	// Held before it exists: a concurrent fetch's sweep of the same
	// parent must never see it unheld.
	stage, release, err := stale.MkdirTemp(parent, ".packgen-profile-*")
	if err != nil {
		return nil, err
	}
	defer release()
	done := false
	defer func() {
		if !done {
			os.RemoveAll(stage)
		}
	}()
	clients, err := env.lockedClients(ctx, lock)
	if err != nil {
		return nil, err
	}
	res := &FetchResult{Dest: dest, Layers: make([]FetchedLayer, len(lock.Layers))}
	errs := make([]error, len(lock.Layers))
	warns := make([]string, len(lock.Layers))
	var mu sync.Mutex
	finished := 0
	// Every layer is tried (fn never fails), so every failure is reported;
	// Each fails only when ctx ends, before every layer was tried.
	perr := parallel.Each(ctx, len(lock.Layers), o.Jobs, func(i int) error {
		l := lock.Layers[i]
		fl, err := fetchOne(ctx, clients[l.Registry.Name], l, stage, o.AllowDeleted, &warns[i])
		if err != nil {
			errs[i] = err
			return nil
		}
		fl.Dir = filepath.Join(dest, filepath.Base(fl.Dir))
		res.Layers[i] = *fl
		if o.Progress != nil {
			mu.Lock()
			finished++
			o.Progress(finished, len(lock.Layers), l)
			mu.Unlock()
		}
		return nil
	})
	if err := env.layersDone(warns, errs, perr); err != nil {
		return nil, err
	}
	if o.CheckImages != nil {
		if err := o.CheckImages(ctx, lock); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return nil, err
	}
	if err := atomicfile.ReplaceDir(stage, dest, o.Force); errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s", pack.ErrDestExists, dest)
	} else if err != nil {
		return nil, err
	}
	done = true
	return res, nil
}

// fetchOne fetches one layer with a fork of its registry's client, so
// that downloads run in parallel without sharing a client's state.
// A release deleted since the lock was made fails it, before its
// archive is downloaded, unless allow (lockedRelease); what to warn of
// goes to *warn, said once all are done.
func fetchOne(ctx context.Context, base *client.Client, l LockedPack, stage string, allow bool, warn *string) (*FetchedLayer, error) {
	c, err := base.Fork(ctx)
	if err != nil {
		return nil, err
	}
	path, rel, w, err := lockedRelease(ctx, c, l, allow)
	if err != nil {
		return nil, err
	}
	*warn = w
	dir := filepath.Join(stage, l.Pack+"-"+l.Version)
	x, err := client.ExtractArchive(path, dir, pack.ExtractOptions{Root: l.Pack})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.ID(), err)
	}
	return &FetchedLayer{Pack: l.Pack, Version: l.Version, Registry: l.Registry.Name, SHA256: l.Archive.SHA256, Dir: dir, Files: x.Files, Verified: c.Verifies(), Retirement: retirementOf(rel)}, nil
}
