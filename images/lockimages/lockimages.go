// Package lockimages lists, pins and checks the images of a profile's
// lock: each layer's archive read with the profile's value overrides
// merged in. Apart from images so that the build, which checks a
// release's images, does not link the profile client.
package lockimages

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sort"
	"strings"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/images/lookup"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/profile"
)

// Sentinels of pinned images, for errors.Is.
var (
	// ErrPinMoved: a pinned image's tag now points at another manifest
	// (it also matches profile.ErrLockMismatch).
	ErrPinMoved = errors.New("pinned image changed")
	// ErrNoPins: --check-images on a lock that pins no image.
	ErrNoPins = errors.New("the lock pins no image")
	// ErrNotPinned: a locked pack deploys an image its layer does not
	// pin (it also matches profile.ErrLockMismatch).
	ErrNotPinned = errors.New("image not pinned")
)

// Lock lists the images of every layer of a lock, grouped by pack in
// the lock's order: each archive fetched and verified as `profile
// fetch` verifies it (into the client's cache, not extracted), then
// read as Locked reads one, with the values of prof (the lock's profile,
// Lock.LoadProfile) merged in, packs rendered side by side. A retired
// release is judged as profile fetch judges it (profile.Archives): a
// deprecated one warned of, a deleted one refused (profile.ErrDeleted)
// unless allowDeleted.
func Lock(ctx context.Context, lock *profile.Lock, prof *profile.Profile, env *profile.Env, allowDeleted bool) ([]*images.Report, error) {
	paths, err := profile.Archives(ctx, lock, env, 4, allowDeleted)
	if err != nil {
		return nil, err
	}
	per := make([][]*images.Report, len(paths))
	err = parallel.Each(ctx, len(paths), runtime.GOMAXPROCS(0), func(i int) error {
		rs, err := Locked(paths[i], lock.Layers[i], prof)
		if err != nil {
			return fmt.Errorf("%s: %w", lock.Layers[i].ID(), err)
		}
		per[i] = rs
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []*images.Report
	for _, rs := range per {
		out = append(out, rs...)
	}
	return out, nil
}

// PinLock returns profile.ResolveOptions.PinImages for the profile
// prof being resolved: it lists each layer's images (Lock, with prof's
// overrides), resolves them to digests with lookup (an image
// that does not exist, or a registry down or refusing access, fails
// the resolve, naming pack and image), and records them in the layer's
// Images.
func PinLock(o lookup.Options, prof *profile.Profile) func(context.Context, *profile.Lock, *profile.Env) error {
	return func(ctx context.Context, lock *profile.Lock, env *profile.Env) error {
		reports, err := Lock(ctx, lock, prof, judged(env), true)
		if err != nil {
			return fmt.Errorf("pin images: %w", err)
		}
		var all []string
		byPack := map[string][]string{}
		for _, r := range reports {
			p := r.Pinned()
			byPack[r.Pack] = append(byPack[r.Pack], p...)
			all = append(all, p...)
		}
		rep, err := lookup.Resolve(ctx, all, o)
		if err != nil {
			return err
		}
		if err := rep.Err(); err != nil {
			return fmt.Errorf("pin images: %w", withPacks(err, rep, byPack))
		}
		digests := rep.Digests()
		for i := range lock.Layers {
			l := &lock.Layers[i]
			l.Images = nil
			for _, im := range byPack[l.Pack] {
				if l.Images == nil {
					l.Images = map[string]string{}
				}
				l.Images[im] = digests[im]
			}
		}
		return nil
	}
}

// CheckPins returns profile.FetchOptions.CheckImages: every image the
// lock pins is resolved again, and one whose digest is not the pinned
// one (its tag moved), that is gone, or whose registry cannot be asked,
// fails the fetch, naming pack, image and both digests. With env (the
// registries the lock's packs come from), every image each locked pack
// declares or deploys with the overrides of prof, the lock's profile
// (what PinLock pins: Lock, Report.Pinned) must be pinned too: one missing (deleted from the lock by hand, or a lock
// pinned by an older packgen that found fewer) fails the fetch as a
// lock mismatch naming pack and image.
func CheckPins(o lookup.Options, env *profile.Env, prof *profile.Profile) func(context.Context, *profile.Lock) error {
	return func(ctx context.Context, lock *profile.Lock) error {
		var all []string
		byPack := map[string][]string{}
		for _, l := range lock.Layers {
			for im := range l.Images {
				all = append(all, im)
				byPack[l.Pack] = append(byPack[l.Pack], im)
			}
		}
		if len(all) == 0 {
			return fmt.Errorf("%w: --check-images has nothing to check; resolve the profile with --pin-images to pin every image's digest", ErrNoPins)
		}
		var errs []error
		if env != nil {
			reports, err := Lock(ctx, lock, prof, judged(env), true)
			if err != nil {
				return fmt.Errorf("check images: %w", err)
			}
			errs = unpinned(lock, reports)
		}
		sort.Strings(all)
		rep, err := lookup.Resolve(ctx, all, o)
		if err != nil {
			return err
		}
		digests := rep.Digests()
		if err := rep.Err(); err != nil {
			errs = append(errs, withPacks(err, rep, byPack))
		}
		for _, l := range lock.Layers {
			ims := make([]string, 0, len(l.Images))
			for im := range l.Images {
				ims = append(ims, im)
			}
			sort.Strings(ims)
			for _, im := range ims {
				if now, ok := digests[im]; ok && now != l.Images[im] {
					errs = append(errs, fmt.Errorf("%w: %w: %s: image %s: the lock pins %s, its registry now serves %s (the tag was moved: resolve again with --pin-images only if you trust the new image)",
						profile.ErrLockMismatch, ErrPinMoved, l.ID(), im, l.Images[im], now))
				}
			}
		}
		return errors.Join(errs...)
	}
}

// judged is env for a hook of a resolve or a fetch (PinLock,
// CheckPins): that command has judged every retired release of the lock
// already (profile.UseRetired: refused, or warned of), so the hook,
// reading the same archives, neither refuses one again nor repeats the
// warnings.
func judged(env *profile.Env) *profile.Env {
	quiet := *env
	quiet.Warn = nil
	return &quiet
}

// unpinned names each image a locked pack declares or deploys (its
// reports) that its layer does not pin.
func unpinned(lock *profile.Lock, reports []*images.Report) []error {
	need := map[string][]string{}
	for _, r := range reports {
		need[r.Pack] = append(need[r.Pack], r.Pinned()...)
	}
	var errs []error
	for _, l := range lock.Layers {
		ims := need[l.Pack]
		sort.Strings(ims)
		for i, im := range ims {
			if _, ok := l.Images[im]; !ok && (i == 0 || ims[i-1] != im) {
				errs = append(errs, fmt.Errorf("%w: %w: %s: image %s is declared or deployed by the pack but not pinned in the lock (removed from it, or pinned by an older packgen): resolve the profile again with --pin-images",
					profile.ErrLockMismatch, ErrNotPinned, l.ID(), im))
			}
		}
	}
	return errs
}

// withPacks adds to a lookup failure which packs name each image that
// failed on its own (a registry's error names its images already).
func withPacks(err error, rep *lookup.Report, byPack map[string][]string) error {
	packsOf := map[string][]string{}
	for p, ims := range byPack {
		for _, im := range ims {
			packsOf[im] = append(packsOf[im], p)
		}
	}
	var errs []error
	for _, re := range rep.Registries {
		errs = append(errs, re)
	}
	for _, res := range rep.Results {
		var re *lookup.RegistryError
		if res.Err == nil || errors.As(res.Err, &re) {
			continue
		}
		ps := packsOf[res.Image]
		sort.Strings(ps)
		errs = append(errs, fmt.Errorf("pack %s: %w", strings.Join(ps, ", "), res.Err))
	}
	if len(errs) == 0 {
		return err
	}
	return errors.Join(errs...)
}

// Locked lists the images of a locked layer's archive p (fetched and
// verified by the client) as the profile deploys it: its values.yaml
// merged with the profile's overrides for the layer (profile.OpenLocked,
// what `profile render` writes), so a private mirror or a new tag given
// there is what is listed, pinned and bundled. prof nil: the pack's own
// values. Errors as Archive's.
func Locked(p string, l profile.LockedPack, prof *profile.Profile) ([]*images.Report, error) {
	a, overridden, err := profile.OpenLocked(p, l, prof)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, err // reading the cached file: the machine's
	}
	if err != nil {
		return nil, images.ArchiveError(fmt.Errorf("%s: %w", p, err))
	}
	rs, err := images.Opened(a, l.ID())
	if overridden {
		for _, r := range rs {
			r.Overrides = prof.File
		}
	}
	return rs, err
}
