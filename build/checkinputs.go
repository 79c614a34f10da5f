package build

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/gitsafe"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/source"
)

var (
	// ErrIndexExpired: an index that is, or would be, expired.
	ErrIndexExpired = errors.New("index expired")
	// ErrNotRegistry: a location given as a registry has no index.json.
	ErrNotRegistry = errors.New("not a packgen registry")
	// ErrInput: a build input (--ref, --since, --packs-dir, --previous) names nothing
	// usable: the caller's mistake, said in the message alone.
	ErrInput = errors.New("bad build input")
	// ErrNoPacks: nothing to publish: no release under the packs
	// directory at the ref, in its history or in the previous build (a
	// --packs-dir that exists but holds no pack built an empty registry).
	ErrNoPacks = errors.New("no pack to publish")
	// ErrExpiredPrevious: the previous build, read from elsewhere than
	// the out dir, has an expired index.json (checkFresh): Run judges
	// the index.json it verifies and builds on, CheckInputs an earlier
	// read (a fast path only).
	ErrExpiredPrevious = errors.New("the previous build's index.json has expired")
)

// CheckInputs refuses what would build the wrong thing quietly: a private
// key committed in the repository (gitsafe.ErrKeyInRepo), an index that
// would be born expired (ErrIndexExpired), a PacksDir that is not in the
// tree (ErrInput: a typo builds an empty registry), a Ref or Since that
// names no commit (ErrInput), a Previous that is
// not a registry (ErrNotRegistry, unless previousOptional: a mistyped URL
// starts the registry afresh) or whose index.json has expired
// (ErrExpiredPrevious, checkFresh). It returns when index.json will expire
// (zero when the commit cannot be read). What Run reports itself (no
// repository, no commits yet) passes.
func CheckInputs(ctx context.Context, o Options, previousOptional bool) (time.Time, error) {
	repo, err := source.Open(o.Repo)
	if err != nil {
		return time.Time{}, nil // Run reports it
	}
	g := repo.Git()
	ref := o.Ref
	if ref == "" {
		ref = "HEAD"
	}
	h, err := repo.ResolveFlag("ref", ref, o.Repo)
	if errors.Is(err, source.ErrNoRef) {
		return time.Time{}, errmark.Wrap(ErrInput, err)
	}
	if err != nil {
		return time.Time{}, nil // Run reports it
	}
	if o.Since != "" {
		if _, err := repo.ResolveFlag("since", o.Since, o.Repo); errors.Is(err, source.ErrNoRef) {
			return time.Time{}, errmark.Wrap(ErrInput, err)
		}
	}
	keys, err := gitsafe.TrackedPrivateKeys(g, h.String(), o.VerifiedDir)
	if err != nil {
		return time.Time{}, err
	}
	if len(keys) > 0 {
		return time.Time{}, gitsafe.InRepoError(keys, ref+" ("+short(h.String())+")")
	}
	// The commit is read once, for the expiry and the packs dir.
	c, err := g.CommitObject(h)
	if err != nil {
		return time.Time{}, nil // Run reports it
	}
	gen := c.Committer.When.UTC()
	if !o.GeneratedAt.IsZero() {
		gen = o.GeneratedAt.UTC()
	}
	expiresAt := gen.Truncate(time.Second).Add(o.ExpiresIn)
	if now := time.Now(); !expiresAt.After(now) {
		return expiresAt, fmt.Errorf("%w: index.json would expire at %s, %s ago (its time is the commit's, %s, plus --expires %s), and no client accepts an expired index: build with --refresh to date it now, or give a longer --expires",
			ErrIndexExpired, expiresAt.Format(time.RFC3339), RoundDuration(now.Sub(expiresAt)), gen.Format(time.RFC3339), o.ExpiresIn)
	}
	if dir := strings.Trim(filepath.ToSlash(filepath.Clean(o.PacksDir)), "/"); o.PacksDir != "" && dir != "." {
		tree, err := c.Tree()
		if err != nil {
			return expiresAt, nil
		}
		if e, err := tree.FindEntry(dir); err != nil || e.Mode != filemode.Dir {
			return expiresAt, errmark.New(ErrInput, "--packs-dir %s: no such directory in the repository at %s (%s); it is a path inside the repository, relative to its root", o.PacksDir, ref, short(h.String()))
		}
	}
	if o.Previous != "" {
		return expiresAt, checkPreviousRegistry(ctx, o, previousOptional)
	}
	return expiresAt, nil
}

// checkPreviousRegistry refuses a Previous without index.json (unless
// optional) or with an expired one.
func checkPreviousRegistry(ctx context.Context, o Options, optional bool) error {
	l, err := location.Parse(o.Previous)
	if err != nil {
		return errmark.New(ErrInput, "--previous: %v", err)
	}
	tr, err := transport.Open(l, transport.Config{Timeout: time.Minute, Stall: 30 * time.Second, OCI: o.PreviousOCI})
	if err != nil {
		return errmark.New(ErrInput, "--previous: %v", err)
	}
	data, err := transport.Fetch(tr)(ctx, index.RootFile, index.MaxRootSize)
	if errors.Is(err, index.ErrNotFound) {
		if optional {
			return nil
		}
		return fmt.Errorf("%w: --previous %s has no index.json: check the URL; for the very first build pass --previous-optional", ErrNotRegistry, o.Previous)
	}
	if err != nil {
		return fmt.Errorf("--previous %s: %w", o.Previous, err)
	}
	if root, err := index.ParseRoot(data); err == nil {
		return checkFresh(o, root, time.Now())
	}
	return nil // Run words an unreadable previous build
}

// checkFresh refuses a previous build whose index.json has expired,
// unless it is the out dir itself (in place: the operator's own last
// build, which a build re-dates; --refresh is how a frozen registry is
// revived). Read from a URL or another directory, an expired index is
// not what the registry serves now (no client accepts it): most likely
// an older generation replayed by whoever can write the bucket, a CDN
// cache or a mirror, whose releases since would be dropped and whose log
// the build would fork (publish refuses that: publish.ErrFork). Run
// checks the root it verified and builds on (plan); CheckInputs' earlier
// read only refuses sooner, which is safe on an index not yet verified:
// it only ever stops a build.
func checkFresh(o Options, r *index.Root, now time.Time) error {
	if r.Expires.IsZero() || now.Before(r.Expires) || samePath(o.Previous, o.Out) {
		return nil
	}
	return fmt.Errorf("%w: --previous %s: its index.json (serial %d, built from commit %s) expired at %s, %s ago, so no client accepts it and it is not what the registry serves now: an older generation replayed at that location (a bucket, CDN cache or mirror serving an old copy), whose later releases this build would drop, or a registry nobody refreshed. Point --previous at the live registry; if the live registry itself expired, copy it into the out dir and build there (--out DIR --previous DIR): a build re-dates its own out dir",
		ErrExpiredPrevious, o.Previous, r.Serial, short(r.Source.Commit), r.Expires.UTC().Format(time.RFC3339), RoundDuration(now.Sub(r.Expires)))
}

// RoundDuration prints a duration for people: days past two days, to
// the nearest day (a year's index built a second ago expires "in 365
// days", not 364).
func RoundDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int((d+12*time.Hour).Hours()/24))
	}
	return d.Round(time.Second).String()
}
