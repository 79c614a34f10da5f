package main

import (
	"errors"
	"fmt"

	"github.com/packgen/packgen/client"
	"github.com/spf13/cobra"
)

func init() { register(newSearchCmd) }

func newSearchCmd(g *globalOptions) *cobra.Command {
	f := &clientFlags{}
	c := &cobra.Command{
		Use:   "search TERM",
		Short: "Search packs across configured registries",
		Long: `Search pack names, display names, layers and add-on types in every
configured registry (or the one given with --registry or --url). Indexes
are verified like fetch verifies them. --plain-http, --ca-file and
--username are for --url oci://HOST/BASE; a configured registry keeps
its own (packgen registry add).

A registry that cannot be read (down, silent past --stall-timeout) does
not hide the others: their packs are listed, with a warning naming it
(in -o json's warnings too), and the exit is 0. Exit 3 when no registry
answered; exit 1 when one failed verification (a bad signature, a
rollback), after listing the others' packs.`,
		Example: `  packgen search monitoring
  packgen search calico --registry acme -o json
  packgen search calico --url oci://localhost:5000/packs --key registry.pub --plain-http`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			regs, err := f.registriesFor(g)
			if err != nil {
				return err
			}
			hits, failed, err := client.Search(cmd.Context(), regs, func(reg client.Registry) (*client.Client, error) { return f.client(g, reg) }, args[0])
			if err != nil {
				return clientErr(err)
			}
			if len(failed) == len(regs) {
				// Nothing answered: the error, as with one registry.
				if len(failed) == 1 {
					return clientErr(failed[0])
				}
				return clientErr(fmt.Errorf("none of the %d registries could be searched:\n%w", len(regs), errors.Join(failed...)))
			}
			// The others' packs, and a warning per registry not searched;
			// one that failed verification is still the command's error.
			var bad error
			for _, e := range failed {
				var ee *exitError
				if ce := clientErr(e); errors.As(ce, &ee) && ee.code == exitBad {
					bad = errors.Join(bad, e)
					continue
				}
				msg := fmt.Sprintf("%v; not searched: the packs listed are the other registries'", e)
				g.warnf("%s\n", msg)
				if f.json() {
					fmt.Fprintf(&f.warnings, "warning: %s\n", msg)
				}
			}
			if err := printHits(g, f, hits); err != nil {
				return err
			}
			if bad != nil {
				return badErr(bad)
			}
			return nil
		},
	}
	f.add(c, g)
	return c
}

// printHits prints what search found, as a table or -o json.
func printHits(g *globalOptions, f *clientFlags, hits []client.Hit) error {
	if f.json() {
		return writeJSON(g, packsJSON[client.Hit]{hits, f.warnings.problems()})
	}
	tw := table(g, "REGISTRY\tNAME\tLAYER\tLATEST\tDISPLAY NAME")
	for _, h := range hits {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", esc(h.Registry), esc(h.Name), layerLabel(h.Summary), latestLabel(h.Latest, h.LatestState), esc(h.DisplayName))
	}
	return tw.Flush()
}
