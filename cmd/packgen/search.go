package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack/meta"
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
its own (packgen registry add).`,
		Example: `  packgen search monitoring
  packgen search calico --registry acme -o json
  packgen search calico --url oci://localhost:5000/packs --key registry.pub --plain-http`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			regs, err := f.registriesFor(g)
			if err != nil {
				return err
			}
			type hit struct {
				Registry string `json:"registry"`
				index.Summary
			}
			hits := []hit{}
			term := strings.ToLower(args[0])
			for _, reg := range regs {
				cl, err := f.client(g, reg)
				if err != nil {
					return err
				}
				packs, err := cl.Catalog(cmd.Context())
				if err != nil {
					return clientErr(err)
				}
				for _, p := range packs {
					if strings.Contains(strings.ToLower(strings.Join([]string{p.Name, p.DisplayName, p.Layer, p.AddonType}, "\n")), term) {
						hits = append(hits, hit{reg.Name, p})
					}
				}
			}
			if f.json() {
				return writeJSON(g, struct {
					Packs    []hit         `json:"packs"`
					Warnings meta.Problems `json:"warnings"`
				}{hits, f.warnings.problems()})
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REGISTRY\tNAME\tLAYER\tLATEST\tDISPLAY NAME")
			for _, h := range hits {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", esc(h.Registry), esc(h.Name), layerLabel(h.Summary), esc(h.Latest), esc(h.DisplayName))
			}
			return tw.Flush()
		},
	}
	f.add(c, g)
	return c
}
