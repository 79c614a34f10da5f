package profile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/profile/spec"
)

// Errors of resolution and fetching, usable with errors.Is.
var (
	// ErrRefused: the profile breaks a rule (see Violation).
	ErrRefused = errors.New("profile refused")
	// ErrLockMismatch: a registry no longer serves what the lock pins.
	ErrLockMismatch = errors.New("registry no longer matches the lock")
	// ErrDeleted: a lock pins a release its registry has since deleted
	// (retired, e.g. for a CVE), and AllowDeleted was not given.
	ErrDeleted = errors.New("deleted release")
)

// Retirement is a layer's release state as the registry says it now
// (index.Release.RetiredState), for -o json: "" for an active release.
type Retirement struct {
	State    string `json:"state,omitempty"`
	StateWhy string `json:"stateWhy,omitempty"`
}

// retirementOf is rel's Retirement; none for a release not found (nil).
func retirementOf(rel *index.Release) Retirement {
	if rel == nil {
		return Retirement{}
	}
	state, why := rel.RetiredState()
	return Retirement{state, why}
}

// UseRetired is the warning or error for a layer of pack using rel, a
// deprecated or deleted release ("" and nil for an active one); resolve,
// fetch and airgap export say it alike. A deleted release
// is an error (ErrDeleted) unless allow: a lock or an exact version
// pinned before the registry withdrew it (a CVE) is the user the
// retirement is for, and a warning in a CI log goes unread.
func UseRetired(pack string, rel *index.Release, allow bool) (warning string, err error) {
	switch {
	case rel.Deprecated():
		return client.Retired(pack, rel) + ": move the layer to a newer version", nil
	case rel.Deleted() && allow:
		return "DELETED RELEASE IN USE: " + client.Retired(pack, rel) + ": used only because --allow-deleted was given; move the layer to a live version (packgen profile outdated)", nil
	case rel.Deleted():
		return "", fmt.Errorf("%w: %s: its registry withdrew it; move the layer to a live version (packgen profile outdated lists them) and resolve again, or pass --allow-deleted to use it anyway", ErrDeleted, client.Retired(pack, rel))
	}
	return "", nil
}

// Env is what profile operations take from outside: the configured
// registries, in search order, and options for the verifying clients.
type Env struct {
	Registries []client.Registry
	Client     client.Options
	Warn       io.Writer // nil = discard
}

func (e *Env) warnf(format string, args ...any) {
	if e.Warn != nil {
		// A lock's registry URL, a pack's override warnings, a server's
		// words: outside text.
		fmt.Fprintf(e.Warn, "warning: %s\n", textsafe.Escape(fmt.Sprintf(format, args...)))
	}
}

// layersDone ends work done on every layer of a lock at once: each
// layer's warning said, once all were tried, then every layer's error
// (and the pool's) joined.
func (e *Env) layersDone(warns []string, errs []error, perr error) error {
	for _, w := range warns {
		if w != "" {
			e.warnf("%s", w)
		}
	}
	return errors.Join(append(errs, perr)...)
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
	// PinImages, when set, is given the lock before Resolve returns it,
	// to record each layer's image digests (LockedPack.Images); its error
	// fails the resolve. It is lockimages.PinLock (`--pin-images`), a hook so
	// that profile does not link Helm.
	PinImages func(ctx context.Context, lock *Lock, env *Env) error
	// AllowDeleted resolves a layer whose exact version names a deleted
	// release (with a warning); without it that is a violation
	// (RuleDeleted).
	AllowDeleted bool
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
	Retirement
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
	r := &resolver{ctx: ctx, p: p, env: env, clients: map[string]*client.Client{}, missing: map[string]bool{}}
	for _, l := range p.Layers {
		if err := r.layer(l); err != nil {
			return nil, err
		}
	}
	violations, warnings := Check(p, r.resolved, o.Partial)
	violations = append(violations, r.retired(o.AllowDeleted)...)
	if violations = r.relevant(violations); len(violations) > 0 {
		r.hint(violations)
		return nil, &ResolveError{Profile: p.Name, Violations: violations}
	}
	paths, sigs, logs, err := r.download()
	if err != nil {
		return nil, err
	}
	// The overrides are checked against the packs' own files, which
	// only the verified archives hold.
	violations, more, err := r.checkValues(paths)
	if err != nil {
		return nil, err
	}
	if len(violations) > 0 {
		return nil, &ResolveError{Profile: p.Name, Violations: violations}
	}
	res := &ResolveResult{Warnings: append(append([]string{}, warnings...), more...)}
	res.Warnings = append(res.Warnings, r.warnings...)
	res.Lock, res.Warnings = r.lock(o, sigs, logs, res.Warnings)
	lockPath := o.LockPath
	if lockPath == "" {
		lockPath = DefaultLockPath(p.File)
	}
	res.Warnings = append(res.Warnings, movedRegistries(res.Lock, lockPath)...)
	res.Layers = r.infos
	if o.PinImages != nil {
		if err := o.PinImages(ctx, res.Lock, env); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// resolver is the state of one Resolve: a verified client per registry,
// and what each layer resolved to.
type resolver struct {
	ctx      context.Context
	p        *Profile
	env      *Env
	clients  map[string]*client.Client // by registry name, index.json verified
	resolved []Resolved
	infos    []ResolvedLayer
	notFound []Violation
	missing  map[string]bool // packs of layers that did not resolve
	warnings []string        // of the search: a layer several registries match
}

// clientFor returns the registry's client, its root fetched and verified
// once.
func (r *resolver) clientFor(reg client.Registry) (*client.Client, error) {
	if c := r.clients[reg.Name]; c != nil {
		return c, nil
	}
	c, err := client.New(reg, r.env.Client)
	if err != nil {
		return nil, err
	}
	if _, err := c.Root(r.ctx); err != nil {
		return nil, err
	}
	r.clients[reg.Name] = c
	return c, nil
}

// layer resolves one layer in its registry, or in the first configured
// registry that has a match; a layer nothing matches is a not-found
// violation.
func (r *resolver) layer(l spec.Layer) error {
	regs := r.env.Registries
	if l.Registry != "" {
		reg, err := client.Lookup(r.env.Registries, l.Registry)
		if err != nil {
			return fmt.Errorf("%s:%d:%d: layer %s: %w", r.p.File, l.Line, l.Column, l.Pack, err)
		}
		regs = []client.Registry{*reg}
	}
	info := ResolvedLayer{Pack: l.Pack, Constraint: l.Constraint}
	var misses []string
	for i, reg := range regs {
		c, err := r.clientFor(reg)
		if err != nil {
			return fmt.Errorf("layer %s: %w", l.Pack, err)
		}
		if l.Registry == "" {
			info.Searched = append(info.Searched, reg.Name)
		}
		rel, err := c.Resolve(r.ctx, l.Pack, l.Constraint, false)
		if errors.Is(err, client.ErrNotFound) {
			msg := err.Error()
			if !strings.Contains(msg, "registry "+reg.Name) {
				msg = "in " + reg.Name + ": " + msg // name the registry once
			}
			misses = append(misses, msg)
			continue
		}
		if err != nil {
			return fmt.Errorf("layer %s: registry %s: %w", l.Pack, reg.Name, err)
		}
		info.Version, info.Layer, info.Registry = rel.Version, rel.Layer, reg.Name
		r.resolved = append(r.resolved, Resolved{Pack: l.Pack, Release: rel, Registry: reg.Name, URL: reg.URL})
		r.infos = append(r.infos, info)
		if l.Registry == "" {
			r.alsoIn(l, reg, rel.Version, regs[i+1:])
		}
		return nil
	}
	r.missing[l.Pack] = true
	r.notFound = append(r.notFound, Violation{Rule: RuleNotFound, Packs: []string{l.Pack}, Message: fmt.Sprintf("%s:%d:%d: %s: no release matching %q: %s", r.p.File, l.Line, l.Column, l.Pack, l.Constraint, strings.Join(misses, "; "))})
	return nil
}

// retired warns of each layer that resolved to a deprecated release, or
// a deleted one with allow, and returns a violation for each deleted
// one without (UseRetired).
func (r *resolver) retired(allow bool) []Violation {
	var vs []Violation
	for i, res := range r.resolved {
		r.infos[i].Retirement = retirementOf(res.Release)
		w, err := UseRetired(res.Pack, res.Release, allow)
		if err != nil {
			l := r.p.Layer(res.Pack)
			vs = append(vs, Violation{Rule: RuleDeleted, Packs: []string{res.Pack}, Message: fmt.Sprintf("%s:%d:%d: %s", r.p.File, l.Line, l.Column, strings.TrimPrefix(err.Error(), ErrDeleted.Error()+": "))})
		} else if w != "" {
			r.warnings = append(r.warnings, w)
		}
	}
	return vs
}

// alsoIn warns when registries after the one a layer without
// `registry:` resolved from (chosen) have a match too: which one it
// takes then depends on the registries this machine has configured
// (adding one can re-point the lock), so the warning names the choice
// and how to pin it. Registries that cannot be read are passed over: the
// warning is best effort, the resolve does not depend on them.
func (r *resolver) alsoIn(l spec.Layer, chosen client.Registry, version string, rest []client.Registry) {
	var also []string
	for _, reg := range rest {
		c, err := r.clientFor(reg)
		if err != nil {
			continue
		}
		if rel, err := c.Resolve(r.ctx, l.Pack, l.Constraint, false); err == nil {
			also = append(also, fmt.Sprintf("%s (%s)", reg.Name, rel.Version))
		}
	}
	if len(also) == 0 {
		return
	}
	r.warnings = append(r.warnings, fmt.Sprintf("%s:%d:%d: %s: registries %s also match %q; %s@%s comes from %s%s, the first configured registry with a match: add `registry: %s` to the layer to keep it (or name another)",
		r.p.File, l.Line, l.Column, l.Pack, strings.Join(also, ", "), l.Constraint, l.Pack, version, chosen.Name, localNote(chosen.URL), chosen.Name))
}

// localNote marks a registry URL that is a directory on this machine: a
// lock naming it resolves nowhere else.
func localNote(url string) string {
	if strings.Contains(url, "://") {
		return ""
	}
	return " (a directory on this machine: a lock naming it is of no use elsewhere)"
}

// movedRegistries warns of each layer whose registry differs from the
// one the lock at lockPath (the one being replaced) had it from.
func movedRegistries(lock *Lock, lockPath string) []string {
	old, err := spec.LoadLock(lockPath)
	if err != nil {
		return nil // no lock yet, or one that does not read: nothing to compare
	}
	var out []string
	for _, l := range lock.Layers {
		o := old.Find(l.Pack)
		if o == nil || (o.Registry.Name == l.Registry.Name && strings.TrimSuffix(o.Registry.URL, "/") == strings.TrimSuffix(l.Registry.URL, "/")) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s locked it from registry %s (%s); it now comes from %s (%s)%s", l.Pack, lockPath, o.Registry.Name, o.Registry.URL, l.Registry.Name, l.Registry.URL, localNote(l.Registry.URL)))
	}
	return out
}

// relevant puts the not-found layers first and drops the rules about
// layers or packs that did not resolve: they would only repeat the
// not-found problem.
func (r *resolver) relevant(violations []Violation) []Violation {
	if len(r.missing) == 0 {
		return violations
	}
	kept := r.notFound
	for _, v := range violations {
		drop := v.Rule == RuleCoreMissing
		for _, n := range v.Packs {
			drop = drop || r.missing[n]
		}
		if !drop {
			kept = append(kept, v)
		}
	}
	return kept
}

// hint adds to each unmet dependency the range of versions that would
// meet it, from the dependency's shard.
func (r *resolver) hint(violations []Violation) {
	for i := range violations {
		v := &violations[i]
		if v.dep == nil {
			continue
		}
		for _, res := range r.resolved {
			if res.Pack != v.dep.PackName {
				continue
			}
			if shard, err := r.clients[res.Registry].Shard(r.ctx, res.Pack); err == nil {
				v.Hint = rangeHint(shard, r.p.Layers[layerIndex(r.p, res.Pack)].Constraint, *v.dep)
			}
		}
	}
}

// checkValues checks each layer's overrides against its pack's
// values.yaml and schema.yaml, in the archives at paths
// (checkOverrides).
func (r *resolver) checkValues(paths []string) (vs []Violation, warns []string, err error) {
	for i, res := range r.resolved {
		l := r.p.Layer(res.Pack)
		if l == nil || l.Values == nil {
			continue
		}
		a, err := openLocked(paths[i], res.Pack)
		if err != nil {
			return nil, nil, fmt.Errorf("%s@%s: %w", res.Pack, res.Release.Version, err)
		}
		v, w := checkOverrides(r.p, l, a)
		vs, warns = append(vs, v...), append(warns, w...)
	}
	return vs, warns, nil
}

// download downloads and verifies every archive, in parallel on forks of
// the registries' clients (their indexes are verified already); it
// returns each archive's path in the cache, the digest of its signature
// ("" for none) and every failure.
func (r *resolver) download() ([]string, []string, []*spec.LockLog, error) {
	paths := make([]string, len(r.resolved))
	sigs := make([]string, len(r.resolved))
	logs := make([]*spec.LockLog, len(r.resolved))
	errs := make([]error, len(r.resolved))
	err := parallel.Each(r.ctx, len(r.resolved), 4, func(i int) error {
		res := r.resolved[i]
		c, err := r.clients[res.Registry].Fork(r.ctx)
		if err == nil {
			paths[i], sigs[i], err = c.ArchiveSigned(r.ctx, res.Pack, res.Release)
		}
		if err == nil {
			logs[i], err = lockLog(r.ctx, c, res.Pack, res.Release)
		}
		if err != nil {
			errs[i] = fmt.Errorf("%s@%s from %s: %w", res.Pack, res.Release.Version, res.Registry, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return paths, sigs, logs, errors.Join(errs...)
}

// lock pins every resolved layer; it warns of registries nobody vouched
// for.
func (r *resolver) lock(o ResolveOptions, sigs []string, logs []*spec.LockLog, warnings []string) (*Lock, []string) {
	p := r.p
	lock := &Lock{SchemaVersion: spec.LockSchemaVersion, Partial: o.Partial,
		Profile: spec.LockProfile{Name: p.Name, CloudType: p.CloudType, SHA256: p.SHA256, File: relProfile(p.File, o.LockPath)}}
	for i, res := range r.resolved {
		c := r.clients[res.Registry]
		lp := LockedPack{Pack: res.Pack, Constraint: p.Layers[layerIndex(p, res.Pack)].Constraint, Version: res.Release.Version, Layer: res.Release.Layer,
			Registry: LockRegistry{Name: res.Registry, URL: res.URL}, Archive: res.Release.Archive, Commit: res.Release.Commit, Log: logs[i]}
		if sigs[i] != "" {
			lp.Signature = &spec.LockFile{Path: res.Release.Signature, SHA256: sigs[i]}
		}
		lock.Layers = append(lock.Layers, lp)
		r.infos[i].SHA256, r.infos[i].Verified = res.Release.Archive.SHA256, c.Verifies()
		if !c.Verifies() {
			warnings = append(warnings, fmt.Sprintf("%s: registry %s is not signature-verified; the lock pins digests but nobody vouched for them", lp.ID(), res.Registry))
		}
	}
	return lock, warnings
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
// with the locked digests (and, with its log, that the log includes it),
// then decides on its retirement (UseRetired: a deleted release fails
// unless allow) before anything is downloaded, so a refused release's
// archive is never fetched; and returns a verified archive in the cache,
// the release, and what to warn of (a deprecated release, a deleted
// one allowed). fetch, render and a lock's images all read a lock so.
func lockedRelease(ctx context.Context, c *client.Client, l LockedPack, allow bool) (path string, rel *index.Release, warning string, err error) {
	if rel, err = checkLocked(ctx, c, l); err != nil {
		return "", nil, "", err
	}
	if warning, err = UseRetired(l.Pack, rel, allow); err != nil {
		return "", nil, "", err
	}
	path, sig, err := c.ArchiveSigned(ctx, l.Pack, rel)
	if err != nil {
		return "", nil, "", fmt.Errorf("%s: %w", l.ID(), err)
	}
	if l.Signature != nil && sig != l.Signature.SHA256 {
		got := sig
		if got == "" {
			got = "none"
		}
		return "", nil, "", fmt.Errorf("%w: %s: registry %s now serves a different signature: locked sha256 %s, now %s", ErrLockMismatch, l.ID(), c.Registry().Name, l.Signature.SHA256, got)
	}
	return path, rel, warning, nil
}

// checkLocked is lockedRelease's check of the metadata alone: the
// shard (verified down from the signed index) lists the locked version
// with the locked archive digest, size and path, and the lock's log
// proof holds.
func checkLocked(ctx context.Context, c *client.Client, l LockedPack) (*index.Release, error) {
	shard, err := c.Shard(ctx, l.Pack)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.ID(), err)
	}
	v, err := semver.NewVersion(l.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.ID(), err)
	}
	reg := c.Registry().Name
	rel := shard.Find(v)
	if rel == nil {
		return nil, fmt.Errorf("%w: %s: registry %s no longer lists version %s (available: %s)", ErrLockMismatch, l.ID(), reg, l.Version, strings.Join(shard.Versions(), ", "))
	}
	if rel.Archive.SHA256 != l.Archive.SHA256 || rel.Archive.Size != l.Archive.Size || rel.Archive.Path != l.Archive.Path {
		return nil, fmt.Errorf("%w: %s: registry %s now serves different bytes for this version: locked sha256 %s (%d bytes), registry lists sha256 %s (%d bytes); a published version must never change, so this is refused (resolve again only if you trust the change)",
			ErrLockMismatch, l.ID(), reg, l.Archive.SHA256, l.Archive.Size, rel.Archive.SHA256, rel.Archive.Size)
	}
	if err := checkLockLog(ctx, c, l, rel); err != nil {
		return nil, err
	}
	return rel, nil
}
