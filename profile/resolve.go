package profile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
)

// Errors of resolution and fetching, usable with errors.Is.
var (
	// ErrRefused: the profile breaks a rule (see Violation).
	ErrRefused = errors.New("profile refused")
	// ErrLockMismatch: a registry no longer serves what the lock pins.
	ErrLockMismatch = errors.New("registry no longer matches the lock")
)

// Env is what profile operations take from outside: the configured
// registries, in search order, and options for the verifying clients.
type Env struct {
	Registries []client.Registry
	Client     client.Options
	Warn       io.Writer // nil = discard
}

func (e *Env) warnf(format string, args ...any) {
	if e.Warn != nil {
		fmt.Fprintf(e.Warn, "warning: "+format+"\n", args...)
	}
}

// locked returns a client for the registry a locked layer came from.
func (e *Env) locked(l LockedPack) (*client.Client, error) {
	reg, err := client.Lookup(e.Registries, l.Registry.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; the lock was resolved from %s", l.ID(), err, l.Registry.URL)
	}
	if strings.TrimSuffix(reg.URL, "/") != strings.TrimSuffix(l.Registry.URL, "/") {
		e.warnf("registry %s is configured at %s but the lock was resolved from %s; using %s (the digests stay pinned)", reg.Name, reg.URL, l.Registry.URL, reg.URL)
	}
	return client.New(*reg, e.Client)
}

// lockedClients returns one client per registry the lock names, each with
// its index.json fetched and verified, for forking per layer.
func (e *Env) lockedClients(ctx context.Context, lock *Lock) (map[string]*client.Client, error) {
	out := map[string]*client.Client{}
	for _, l := range lock.Layers {
		if out[l.Registry.Name] != nil {
			continue
		}
		c, err := e.locked(l)
		if err != nil {
			return nil, err
		}
		if _, err := c.Root(ctx); err != nil {
			return nil, err
		}
		out[l.Registry.Name] = c
	}
	return out, nil
}

// ResolveOptions tune Resolve.
type ResolveOptions struct {
	// Partial allows core layers to be missing.
	Partial bool
	// LockPath is where the lock will be written, so that the lock can
	// name the profile file relative to itself. "" = beside the profile.
	LockPath string
}

// ResolvedLayer says how a layer was resolved, for reports.
type ResolvedLayer struct {
	Pack       string `json:"pack"`
	Constraint string `json:"constraint"`
	Version    string `json:"version"`
	Layer      string `json:"layer"`
	Registry   string `json:"registry"`
	// Searched lists the registries tried in order when the profile did
	// not name one (the last is the one that matched).
	Searched []string `json:"searched,omitempty"`
	SHA256   string   `json:"sha256"`
	Verified bool     `json:"verified"`
}

// ResolveResult is what Resolve found.
type ResolveResult struct {
	Lock     *Lock           `json:"-"`
	Layers   []ResolvedLayer `json:"layers"`
	Warnings []string        `json:"warnings"`
}

// ResolveError lists every rule a profile breaks.
type ResolveError struct {
	Profile    string
	Violations []Violation
}

func (e *ResolveError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s: %d problem(s):", e.Profile, len(e.Violations))
	for _, v := range e.Violations {
		b.WriteString("\n  - " + v.String())
	}
	return b.String()
}

func (e *ResolveError) Unwrap() error { return ErrRefused }

// Resolve pins every layer of p to the highest release matching its
// constraint, from the layer's registry or else the first configured
// registry that has a match, checks the combination, and verifies each
// archive and signature (index signature, bucket, shard and archive
// digests, archive signature) before putting its digests in the lock.
func Resolve(ctx context.Context, p *Profile, env *Env, o ResolveOptions) (*ResolveResult, error) {
	if len(env.Registries) == 0 {
		return nil, fmt.Errorf("no registry configured: packgen registry add NAME URL --key pub.pem")
	}
	clients := map[string]*client.Client{}
	clientFor := func(reg client.Registry) (*client.Client, error) {
		if c := clients[reg.Name]; c != nil {
			return c, nil
		}
		c, err := client.New(reg, env.Client)
		if err != nil {
			return nil, err
		}
		if _, err := c.Root(ctx); err != nil {
			return nil, err
		}
		clients[reg.Name] = c
		return c, nil
	}
	res := &ResolveResult{Warnings: []string{}}
	var resolved []Resolved
	var infos []ResolvedLayer
	var notFound []Violation
	missing := map[string]bool{}
	for _, l := range p.Layers {
		var regs []client.Registry
		if l.Registry != "" {
			r, err := client.Lookup(env.Registries, l.Registry)
			if err != nil {
				return nil, fmt.Errorf("%s:%d:%d: layer %s: %w", p.File, l.Line, l.Column, l.Pack, err)
			}
			regs = []client.Registry{*r}
		} else {
			regs = env.Registries
		}
		info := ResolvedLayer{Pack: l.Pack, Constraint: l.Constraint}
		var misses []string
		var rel *index.Release
		var from client.Registry
		for _, reg := range regs {
			c, err := clientFor(reg)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", l.Pack, err)
			}
			if l.Registry == "" {
				info.Searched = append(info.Searched, reg.Name)
			}
			r, err := c.Resolve(ctx, l.Pack, l.Constraint, false)
			if errors.Is(err, client.ErrNotFound) {
				misses = append(misses, reg.Name+": "+err.Error())
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("layer %s: registry %s: %w", l.Pack, reg.Name, err)
			}
			rel, from = r, reg
			break
		}
		if rel == nil {
			missing[l.Pack] = true
			notFound = append(notFound, Violation{Rule: RuleNotFound, Packs: []string{l.Pack}, Message: fmt.Sprintf("%s:%d:%d: %s: no release matching %q in %s", p.File, l.Line, l.Column, l.Pack, l.Constraint, strings.Join(misses, "; "))})
			continue
		}
		info.Version, info.Layer, info.Registry = rel.Version, rel.Layer, from.Name
		resolved = append(resolved, Resolved{Pack: l.Pack, Release: rel, Registry: from.Name, URL: from.URL})
		infos = append(infos, info)
	}
	violations, warnings := Check(p, resolved, o.Partial)
	res.Warnings = append(res.Warnings, warnings...)
	if len(missing) > 0 {
		// Rules about layers or packs that did not resolve would only
		// repeat the not-found problem.
		kept := notFound
		for _, v := range violations {
			drop := v.Rule == RuleCoreMissing
			for _, n := range v.Packs {
				drop = drop || missing[n]
			}
			if !drop {
				kept = append(kept, v)
			}
		}
		violations = kept
	}
	if len(violations) > 0 {
		for i := range violations {
			v := &violations[i]
			if v.dep == nil {
				continue
			}
			for _, r := range resolved {
				if r.Pack != v.dep.PackName {
					continue
				}
				if shard, err := clients[r.Registry].Shard(ctx, r.Pack); err == nil {
					v.Hint = rangeHint(shard, p.Layers[layerIndex(p, r.Pack)].Constraint, *v.dep)
				}
			}
		}
		return nil, &ResolveError{Profile: p.Name, Violations: violations}
	}
	lock := &Lock{SchemaVersion: LockSchemaVersion, Partial: o.Partial,
		Profile: LockProfile{Name: p.Name, CloudType: p.CloudType, SHA256: p.SHA256, File: relProfile(p.File, o.LockPath)}}
	// Download and verify every archive, in parallel on forks of the
	// registries' clients (their indexes are verified already).
	sigs := make([]string, len(resolved))
	errs := make([]error, len(resolved))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, r := range resolved {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := clients[r.Registry].Fork(ctx)
			if err == nil {
				_, sigs[i], err = c.ArchiveSigned(ctx, r.Pack, r.Release)
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s@%s from %s: %w", r.Pack, r.Release.Version, r.Registry, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, r := range resolved {
		c := clients[r.Registry]
		lp := LockedPack{Pack: r.Pack, Constraint: p.Layers[layerIndex(p, r.Pack)].Constraint, Version: r.Release.Version, Layer: r.Release.Layer,
			Registry: LockRegistry{Name: r.Registry, URL: r.URL}, Archive: r.Release.Archive, Commit: r.Release.Commit}
		if sigs[i] != "" {
			lp.Signature = &LockFile{Path: r.Release.Signature, SHA256: sigs[i]}
		}
		lock.Layers = append(lock.Layers, lp)
		infos[i].SHA256, infos[i].Verified = r.Release.Archive.SHA256, c.Verifies()
		if !c.Verifies() {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: registry %s is not signature-verified; the lock pins digests but nobody vouched for them", lp.ID(), r.Registry))
		}
	}
	res.Lock, res.Layers = lock, infos
	return res, nil
}

func layerIndex(p *Profile, name string) int {
	for i := range p.Layers {
		if p.Layers[i].Pack == name {
			return i
		}
	}
	return -1
}

// relProfile names the profile relative to the lock's directory.
func relProfile(profile, lockPath string) string {
	if lockPath == "" {
		lockPath = DefaultLockPath(profile)
	}
	ap, err1 := filepath.Abs(profile)
	al, err2 := filepath.Abs(filepath.Dir(lockPath))
	if err1 != nil || err2 != nil {
		return filepath.ToSlash(filepath.Base(profile))
	}
	rel, err := filepath.Rel(al, ap)
	if err != nil {
		return filepath.ToSlash(filepath.Base(profile))
	}
	return filepath.ToSlash(rel)
}

// lockedRelease checks that the registry still lists the locked version
// with the locked digests, and returns a verified archive in the cache.
func lockedRelease(ctx context.Context, c *client.Client, l LockedPack) (string, *index.Release, error) {
	shard, err := c.Shard(ctx, l.Pack)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", l.ID(), err)
	}
	v, err := semver.NewVersion(l.Version)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", l.ID(), err)
	}
	reg := c.Registry().Name
	rel := shard.Find(v)
	if rel == nil {
		return "", nil, fmt.Errorf("%w: %s: registry %s no longer lists version %s (available: %s)", ErrLockMismatch, l.ID(), reg, l.Version, strings.Join(shard.Versions(), ", "))
	}
	if rel.Archive.SHA256 != l.Archive.SHA256 || rel.Archive.Size != l.Archive.Size || rel.Archive.Path != l.Archive.Path {
		return "", nil, fmt.Errorf("%w: %s: registry %s now serves different bytes for this version: locked sha256 %s (%d bytes), registry lists sha256 %s (%d bytes); a published version must never change, so this is refused (resolve again only if you trust the change)",
			ErrLockMismatch, l.ID(), reg, l.Archive.SHA256, l.Archive.Size, rel.Archive.SHA256, rel.Archive.Size)
	}
	path, sig, err := c.ArchiveSigned(ctx, l.Pack, rel)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", l.ID(), err)
	}
	if l.Signature != nil && sig != l.Signature.SHA256 {
		got := sig
		if got == "" {
			got = "none"
		}
		return "", nil, fmt.Errorf("%w: %s: registry %s now serves a different signature: locked sha256 %s, now %s", ErrLockMismatch, l.ID(), reg, l.Signature.SHA256, got)
	}
	return path, rel, nil
}
