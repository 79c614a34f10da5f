package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
)

// witnessFlags are the flags that name a registry's log witnesses:
// registry add records them; verify --site and log audit check a site
// against them.
type witnessFlags struct {
	keys   []string
	quorum int
	maxAge time.Duration
}

func (f *witnessFlags) add(c *cobra.Command, quorumHelp string) {
	c.Flags().StringArrayVar(&f.keys, "witness", nil, "a log witness's public key file (packgen key generate --witness); repeat for several")
	c.Flags().IntVar(&f.quorum, "witnesses", -1, quorumHelp)
	c.Flags().DurationVar(&f.maxAge, "witness-max-age", 0, "a cosignature older than this does not count, e.g. 168h (default: no limit, see docs/SECURITY.md)")
}

// apply reads the witness keys into r, defaults the quorum to all of
// them and records the maximum age.
func (f *witnessFlags) apply(r *client.Registry) error {
	for _, w := range f.keys {
		data, err := readFile(w)
		if err != nil {
			return usageErr("--witness: %v", err)
		}
		r.Witnesses = append(r.Witnesses, strings.TrimSpace(string(data)))
	}
	r.WitnessQuorum = f.quorum
	if f.quorum < 0 {
		r.WitnessQuorum = len(r.Witnesses)
	}
	switch {
	case f.maxAge < 0:
		return usageErr("--witness-max-age %s: want a positive duration such as 168h", f.maxAge)
	case f.maxAge > 0 && len(r.Witnesses) == 0:
		return usageErr("--witness-max-age needs --witness: it bounds the age of the witnesses' cosignatures")
	case f.maxAge > 0:
		r.WitnessMaxAge = f.maxAge.String()
	}
	return nil
}

// given tells whether any witness flag was set.
func (f *witnessFlags) given() bool { return len(f.keys) > 0 || f.quorum >= 0 || f.maxAge != 0 }

// registry is the registry whose witnesses a site is checked against:
// the configured one (named), or one made of the flags; nil when
// neither names a witness.
func (f *witnessFlags) registry(reg client.Registry, named bool, site string) (*client.Registry, error) {
	if named {
		if len(reg.Witnesses) == 0 {
			return nil, nil
		}
		return &reg, nil
	}
	if !f.given() {
		return nil, nil
	}
	if len(f.keys) == 0 {
		return nil, usageErr("--witnesses and --witness-max-age need --witness keys")
	}
	r := &client.Registry{Name: site}
	if err := f.apply(r); err != nil {
		return nil, err
	}
	return r, nil
}

// verifySite walks every file of the site tr reads under v (verify
// --site, log audit), an expired index being a problem too, then checks
// the witnesses of reg (nil: none), adding their problems to the report.
func verifySite(ctx context.Context, tr transport.Transport, v *sign.Verifier, reg *client.Registry) (*client.SiteReport, *client.WitnessReport, error) {
	return verifySiteAs(ctx, tr, v, reg, false)
}

// verifySiteAs is verifySite; subset accepts an air-gapped registry's
// absent releases (verify --site --subset).
func verifySiteAs(ctx context.Context, tr transport.Transport, v *sign.Verifier, reg *client.Registry, subset bool) (*client.SiteReport, *client.WitnessReport, error) {
	rep, err := client.VerifySiteVia(ctx, tr, v)
	if err != nil {
		return nil, nil, clientErr(err)
	}
	if rep.Subset != nil {
		rep.Subset.Accepted = subset
	}
	// An expired index verifies file by file but no client accepts it:
	// a problem.
	rep.Problems = rep.AllProblems()
	wrep, err := checkSiteWitnesses(ctx, tr, rep, reg)
	if err != nil {
		return nil, nil, err
	}
	return rep, wrep, nil
}

// checkSiteWitnesses checks the witnesses of reg (nil: none) against the
// site whose walk made rep, adding their problems to rep's.
func checkSiteWitnesses(ctx context.Context, tr transport.Transport, rep *client.SiteReport, reg *client.Registry) (*client.WitnessReport, error) {
	if reg == nil || rep.Root == nil {
		return nil, nil // no witnesses, or index.json did not verify: a problem already
	}
	wrep, problems, err := client.VerifyWitnesses(ctx, tr, rep.Root, reg, time.Now())
	if err != nil {
		if errors.Is(err, client.ErrWitnessConfig) {
			return nil, usageErr("%v", err)
		}
		return nil, clientErr(err)
	}
	rep.Problems = append(rep.Problems, problems...)
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Path < rep.Problems[j].Path })
	return wrep, nil
}

// printWitnessReport says how many witnesses cosigned the log.
func printWitnessReport(g *globalOptions, w *client.WitnessReport) {
	if w == nil {
		return
	}
	var names []string
	for _, s := range w.Witnesses {
		if s.Valid {
			names = append(names, fmt.Sprintf("%s at %d entries", s.Name, s.Size))
		}
	}
	signed := "none"
	if len(names) > 0 {
		signed = strings.Join(names, ", ")
	}
	g.summaryf("witnesses: %d of %d valid, %d required (%s)\n", w.Valid, len(w.Witnesses), w.Required, signed)
}
