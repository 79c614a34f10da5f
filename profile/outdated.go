package profile

import (
	"context"
	"errors"
	"fmt"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
)

// OutdatedRow compares one layer's locked version with what the registry
// offers now.
type OutdatedRow struct {
	Pack       string `json:"pack"`
	Registry   string `json:"registry"`
	Constraint string `json:"constraint"`
	Locked     string `json:"locked"` // "" when the profile has no lock
	// Wanted is the newest version matching the constraint.
	Wanted string `json:"wanted"`
	// Latest is the newest version overall (prereleases excluded).
	Latest string `json:"latest"`
	// Outdated: Wanted is newer than Locked (resolve again to update).
	Outdated bool `json:"outdated"`
	// Beyond: Latest is newer than Wanted (the constraint must change).
	Beyond bool `json:"beyond"`
	// Retirement is the locked release's state now: a release deleted
	// since it was locked (a CVE) is what outdated must not hide.
	Retirement
	// WantedRetirement and LatestRetirement are Wanted's and Latest's
	// own state when deprecated (resolve takes a deprecated release, with
	// a warning; never a deleted one): for the text NOTE, so "update
	// available" does not send the user to it unwarned. Not in -o json,
	// whose format is unchanged (info gives every version's state).
	WantedRetirement Retirement `json:"-"`
	LatestRetirement Retirement `json:"-"`
}

// Outdated reports, per layer of p, the locked version (from lock, which
// may be nil), the newest version matching the layer's constraint and the
// newest overall. Metadata is verified as for resolve; no archive is
// downloaded.
func Outdated(ctx context.Context, p *Profile, lock *Lock, env *Env) ([]OutdatedRow, error) {
	clients := map[string]*client.Client{}
	get := func(reg client.Registry) (*client.Client, error) {
		if c := clients[reg.Name]; c != nil {
			return c, nil
		}
		c, err := client.New(reg, env.Client)
		if err != nil {
			return nil, err
		}
		clients[reg.Name] = c
		return c, nil
	}
	var rows []OutdatedRow
	for _, l := range p.Layers {
		row := OutdatedRow{Pack: l.Pack, Constraint: l.Constraint}
		var regs []client.Registry
		var lp *LockedPack
		if lock != nil {
			lp = lock.Find(l.Pack)
		}
		switch {
		case lp != nil:
			row.Locked = lp.Version
			r, err := client.Lookup(env.Registries, lp.Registry.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", lp.ID(), err)
			}
			regs = []client.Registry{*r}
		case l.Registry != "":
			r, err := client.Lookup(env.Registries, l.Registry)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.Pack, err)
			}
			regs = []client.Registry{*r}
		default:
			regs = env.Registries
		}
		cons, err := semver.NewConstraint(l.Constraint)
		if err != nil {
			return nil, fmt.Errorf("%s: version %q: %w", l.Pack, l.Constraint, err)
		}
		var shard *index.Shard
		for _, reg := range regs {
			c, err := get(reg)
			if err != nil {
				return nil, err
			}
			s, err := c.Shard(ctx, l.Pack)
			if errors.Is(err, client.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: registry %s: %w", l.Pack, reg.Name, err)
			}
			shard, row.Registry = s, reg.Name
			if lp != nil || s.Live().Resolve(cons, false) != nil {
				break
			}
		}
		if shard != nil {
			// Wanted and Latest as resolve picks them: never a deleted
			// release.
			live := shard.Live()
			if r := live.Resolve(cons, false); r != nil {
				row.Wanted, row.WantedRetirement = r.Version, retirementOf(r)
			}
			if r := live.Resolve(nil, false); r != nil {
				row.Latest, row.LatestRetirement = r.Version, retirementOf(r)
			}
			if v, err := semver.NewVersion(row.Locked); err == nil {
				row.Retirement = retirementOf(shard.Find(v))
			}
		}
		row.Outdated = row.Locked != "" && newer(row.Wanted, row.Locked)
		row.Beyond = newer(row.Latest, row.Wanted)
		rows = append(rows, row)
	}
	return rows, nil
}

// newer reports whether a is a higher version than b ("" is lowest; a
// missing a is never newer).
func newer(a, b string) bool {
	if a == "" {
		return false
	}
	va, err := semver.NewVersion(a)
	if err != nil {
		return false
	}
	if b == "" {
		return true
	}
	vb, err := semver.NewVersion(b)
	return err == nil && va.GreaterThan(vb)
}
