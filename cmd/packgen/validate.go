package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/validate"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

type validateOptions struct {
	output  string
	strict  bool
	changed validate.ChangedOptions
	oci     ociFlags
	conn    connFlags // --timeout, --stall-timeout of --check-images
}

func newValidateCmd(g *globalOptions) *cobra.Command {
	o := &validateOptions{}
	history := true
	c := &cobra.Command{
		Use:   "validate [DIR...]",
		Short: "Check packs for every problem, with file and line",
		Long: `Validate one pack directory or a tree of packs (any directory holding
pack.json is a pack; sibling directories may hold other versions of the
same pack). Every problem is reported as file:line:col: severity: message.
Cross-pack checks find duplicate name@version, dependencies on packs
missing from the tree and version ranges no release satisfies.

With --changed-since REF (for pull requests), only packs whose git tree
differs between REF and HEAD are validated, read from committed objects,
and a pack whose content changed without a version bump, or whose version
went down, is an error, and so is a version the base's first-parent
history published (its directory removed since) brought back with other
content: pass the build's --history=false or --since when the registry
is built with them. The pull request is judged as a whole, as a merge
commit or a squash merge lands it; where pull requests are merged by
rebase or fast-forward, each of their commits lands on the history the
build walks: --each-commit judges every commit between the base and HEAD
as if it were HEAD too, naming the commit in each problem it adds.
-o github (or --format github) prints GitHub Actions annotations
(::error file=...,line=...::message) that show up on the pull request's
diff.

--check-images resolves every image the packs declare in values.yaml
pack.content.images to a digest against its registry (one HEAD request
per image, a few at a time; docker and podman logins are used as every
OCI tool uses them, or --username with the password in
$PACKGEN_OCI_PASSWORD). An image that does not exist is an error at its
values.yaml line with the registry's answer; a registry that is down or
refuses access is one error naming its images, and when none could be
reached and the packs are otherwise clean nothing was judged: exit 3,
as for any network failure, not 1; --stall-timeout and
--timeout bound each request. --plain-http applies to
loopback registries only.

Exits 1 when any error is found (or any warning, with --strict).`,
		Example: `  packgen validate                      # the current directory
  packgen validate examples/packs
  packgen validate packs/calico-3.26.0 -o json
  packgen validate --strict packs
  packgen validate --changed-since origin/main --format github
  packgen validate --changed-since origin/main --each-commit --committed
  packgen validate packs --check-images`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.changed.NoHistory = !history
			return runValidate(cmd, g, o, args)
		},
	}
	outputFlag(c, &o.output, "text", "json", "github")
	c.Flags().BoolVar(&o.strict, "strict", false, "treat warnings as errors")
	c.Flags().StringVar(&o.changed.Since, "changed-since", "", "validate only packs changed since this git ref, and check version bumps")
	c.Flags().StringVar(&o.changed.Repo, "repo", "", "git repository for --changed-since (default: the current one)")
	c.Flags().StringVar(&o.changed.PacksDir, "packs-dir", "", "packs directory in the repository for --changed-since")
	c.Flags().BoolVar(&o.changed.Committed, "committed", false, "with --changed-since: judge HEAD only, ignoring uncommitted changes (CI's view; by default uncommitted pack directories are read from the work tree)")
	c.Flags().BoolVar(&history, "history", true, "with --changed-since: the registry's build publishes the versions of the base's first-parent history too (build --history); false: a version brought back is not checked against history")
	c.Flags().StringVar(&o.changed.HistorySince, "since", "", "with --changed-since: the registry's build --since: history older than this commit is not published, so not checked")
	c.Flags().BoolVar(&o.changed.EachCommit, "each-commit", false, "with --changed-since: also judge every commit between the base and HEAD as if it were HEAD (repositories that merge by rebase or fast-forward put each on the history the build walks)")
	c.Flags().BoolVar(&o.changed.CheckImages, "check-images", false, "resolve every declared image (pack.content.images) against its registry; one that does not exist is an error")
	o.oci.addFor(c, "the image registries (--check-images)")
	o.conn.addTimeouts(c)
	return c
}

// runValidate checks validate's flags, then validates the directories
// named or, with --changed-since, the repository's changed packs.
func runValidate(cmd *cobra.Command, g *globalOptions, o *validateOptions, args []string) error {
	if err := o.check(cmd, args); err != nil {
		return err
	}
	if o.changed.CheckImages {
		oo, err := o.oci.options()
		if err != nil {
			return err
		}
		oo.Timeout, oo.StallTimeout = o.conn.timeout, o.conn.stall
		o.changed.Lookup.OCI = oo
	}
	var rep *validate.Report
	var err error
	if o.changed.Since != "" {
		rep, err = validate.Changed(cmd.Context(), o.changed)
	} else {
		if len(args) == 0 {
			args = []string{"."}
		}
		rep, err = validate.DirsWith(cmd.Context(), args, o.changed.Options)
	}
	if errors.Is(err, validate.ErrInput) {
		return usageErr("%v", err)
	}
	if err != nil {
		return err
	}
	return report(g, o, rep)
}

// check refuses flags that do not go together.
func (o *validateOptions) check(cmd *cobra.Command, args []string) error {
	if o.changed.Since == "" && (cmd.Flags().Changed("history") || o.changed.HistorySince != "") {
		return usageErr("--history and --since go with --changed-since")
	}
	if o.changed.Since == "" {
		// Each judges a git change: alone it was ignored and a
		// broken HEAD passed `validate packs --committed`.
		for _, f := range []string{"committed", "each-commit", "repo", "packs-dir"} {
			if cmd.Flags().Changed(f) {
				return usageErr("--%s goes with --changed-since REF (the pull-request check); to validate directories as they are on disk, name them: packgen validate packs", f)
			}
		}
	}
	if o.changed.NoHistory && o.changed.HistorySince != "" {
		return usageErr("--since bounds the history --history=false turns off: give one of them, as to the build")
	}
	if o.changed.Since != "" && len(args) > 0 {
		return usageErr("--changed-since validates the repository's changed packs: give --repo and --packs-dir, not directories")
	}
	return nil
}

// report prints a validation report and sets the exit code.
func report(g *globalOptions, o *validateOptions, rep *validate.Report) error {
	if o.changed.Since != "" && o.output == "text" && !g.quiet {
		g.summaryf("%d pack(s) changed since %s", len(rep.Packs), o.changed.Since)
		if rep.ForkPoint != "" {
			g.summaryf(" (HEAD is behind it: compared with %s, where HEAD forked from it)", index.ShortHash(rep.ForkPoint))
		}
		if rep.FromWorkTree > 0 {
			g.summaryf(" (%d with uncommitted changes, read from the work tree; --committed to judge HEAD only)", rep.FromWorkTree)
		}
		if o.changed.EachCommit {
			g.summaryf("; %s before HEAD judged each as HEAD", phrase.Count(rep.Commits, "commit"))
		}
		if rep.Added > 0 {
			g.summaryf("; %s added by commits before HEAD and not at HEAD judged too (the build publishes them)", phrase.Count(rep.Added, "release"))
		}
		g.summaryf("\n")
	}
	failed := rep.Errors > 0 || (o.strict && rep.Warnings > 0)
	summary := fmt.Sprintf("%s, %s, %s", packCount(rep.Packs), phrase.Count(rep.Errors, "error"), phrase.Count(rep.Warnings, "warning"))
	if o.strict && rep.Warnings > 0 {
		summary += " (--strict: warnings count as errors)"
	}
	switch o.output {
	case "json":
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	case "github":
		for _, p := range rep.Problems {
			fmt.Fprintln(g.stdout, esc(validate.GitHubAnnotation(p)))
		}
		g.summaryf("%s\n", summary)
	default:
		for _, p := range rep.Problems {
			if g.quiet && p.Severity != meta.SevError {
				continue
			}
			fmt.Fprintln(g.stdout, esc(p.String()))
		}
		if !g.quiet || failed {
			g.summaryf("%s\n", summary)
		}
	}
	if failed {
		return silentBad
	}
	return nil
}

// packCount says how many packs validation read, as build counts them: by
// name, with the directories (one per version) when there are more.
func packCount(ps []validate.Pack) string {
	names := map[string]bool{}
	for _, p := range ps {
		if p.Name == "" {
			names["\x00"+p.Dir] = true // unreadable pack.json: a pack of its own
		} else {
			names[p.Name] = true
		}
	}
	n := len(names)
	if len(ps) == n {
		return phrase.Count(n, "pack")
	}
	return fmt.Sprintf("%s in %s", phrase.Count(n, "pack"), phrase.Count(len(ps), "directory"))
}
