package main

import (
	"fmt"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/rebuild"
	"github.com/packgen/packgen/sign"
	"github.com/spf13/cobra"
)

func init() { register(newLogCmd) }

func newLogCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "log",
		Short: "Read and audit a registry's transparency log",
		Long: `Every signed registry keeps a public, append-only log of every release it
ever published (docs/FORMAT.md, "Transparency log"): packgen fetch proves
each release it installs is in it, and that the log only grew since it
last looked.`,
	}
	c.AddCommand(newLogShowCmd(g), newLogAuditCmd(g))
	return c
}

func newLogShowCmd(g *globalOptions) *cobra.Command {
	var output string
	cf := &clientFlags{}
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a pack's history from the registry's log",
		Long: `Print every entry of pack NAME in the registry's transparency log, in the
order they were published: index, version, archive sha256, source commit
and the key that appended it. The log is checked against the signed
index.json (and against the log this machine saw before); it lists every
release ever published, including any the index no longer does.`,
		Example: `  packgen log show calico --registry acme
  packgen log show calico --url https://packs.acme.example --key registry.pub -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if output == "json" {
				cf.warnings = &warnLines{}
			}
			reg, err := cf.registryFor(g)
			if err != nil {
				return err
			}
			cl, err := cf.client(g, reg)
			if err != nil {
				return err
			}
			entries, size, err := cl.LogHistory(cmd.Context(), args[0])
			if err != nil {
				return clientErr(err)
			}
			if len(entries) == 0 {
				// Never published (the log keeps every release ever):
				// most likely a typo, so not a quiet "0 entries".
				where := reg.Name
				if cf.url != "" {
					where = cf.url
				}
				err := errmark.New(client.ErrNotFound, "pack %q is not in registry %s: its transparency log has no entry for it", args[0], where)
				return clientErr(client.WithSuggestion(cmd.Context(), err, args[0], []*client.Client{cl}))
			}
			if output == "json" {
				return writeJSON(g, struct {
					Size     int64             `json:"logSize"`
					Entries  []client.LogEntry `json:"entries"`
					Warnings pack.Problems     `json:"warnings"`
				}{size, entries, cf.warnings.problems()})
			}
			for _, e := range entries {
				fmt.Fprintf(g.stdout, "#%d\t%s@%s\tsha256:%s\tcommit %s\tkey %.12s\n", e.Index, esc(e.Name), esc(e.Version), e.SHA256, e.Commit, e.KeyID)
			}
			noun := "entries"
			if len(entries) == 1 {
				noun = "entry"
			}
			g.summaryf("%s: %d %s of %d in the log\n", esc(args[0]), len(entries), noun, size)
			return nil
		},
	}
	cf.add(c, g)
	outputFlag(c, &output, "text", "json")
	return c
}

func newLogAuditCmd(g *globalOptions) *cobra.Command {
	var keys []string
	var repo, output string
	c := &cobra.Command{
		Use:   "audit SITE --repo REPO --key registry.pub",
		Short: "Replay a registry's log against its git repository",
		Long: `Prove a published registry is exactly its repository, history included:
the index's signature, every digest and archive signature, the log's
checkpoint (signed by the log key the index names), every log entry is
exactly one release of the index and every release is in the log (verify
--site); every release is its git tree, rebuilt byte for byte (the
rebuild check); and every log entry names a commit on the first-parent
history of the commit the site was built from. What a third party runs.
Exits 1 when anything does not hold.`,
		Example: `  packgen log audit https://packs.acme.example --repo . --key registry.pub`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if repo == "" {
				return usageErr("--repo is required: a clone of the registry's repository, with full history")
			}
			var pems [][]byte
			for _, k := range keys {
				data, err := readFile(k)
				if err != nil {
					return usageErr("--key: %v", err)
				}
				pems = append(pems, data)
			}
			if len(pems) == 0 {
				return usageErr("%w: log audit needs the registry's public key (--key registry.pub)", errNoKey)
			}
			v, err := sign.NewVerifierSet(pems...)
			if err != nil {
				return usageErr("--key: %v", err)
			}
			site, ctx := args[0], cmd.Context()
			vs, err := client.VerifySite(ctx, site, v)
			if err != nil {
				return clientErr(err)
			}
			vs.Problems = vs.AllProblems()
			rb, err := rebuild.CheckSite(ctx, site, repo)
			if err != nil {
				return err
			}
			lg, err := rebuild.CheckLog(ctx, site, repo)
			if err != nil {
				return clientErr(err)
			}
			problems := len(vs.Problems) + len(rb.Problems) + len(lg.Problems)
			if output == "json" {
				if err := writeJSON(g, struct {
					Site     *client.SiteReport  `json:"site"`
					Rebuild  *rebuild.SiteReport `json:"rebuild"`
					Log      *rebuild.LogReport  `json:"log"`
					Warnings pack.Problems       `json:"warnings"` // none: the shape every -o json shares
				}{vs, rb, lg, pack.Problems{}}); err != nil {
					return err
				}
			} else {
				for _, p := range vs.Problems {
					fmt.Fprintf(g.stdout, "%s: %s\n", esc(p.Path), esc(p.Err))
				}
				for _, p := range append(rb.Problems, lg.Problems...) {
					fmt.Fprintf(g.stdout, "%s@%s: %s: %s\n", esc(p.Pack), esc(p.Version), esc(p.Path), esc(p.Msg))
				}
				g.summaryf("%s: %d log entries replayed against %s at %.12s, %d releases rebuilt, %d problems\n", esc(site), lg.Entries, esc(repo), lg.Commit, rb.Releases, problems)
			}
			if problems > 0 {
				return silentBad
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&keys, "key", nil, "the registry's public key")
	c.Flags().StringVar(&repo, "repo", "", "clone of the registry's git repository (full history)")
	outputFlag(c, &output, "text", "json")
	return c
}
