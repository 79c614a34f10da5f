package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/packgen/packgen/internal/gitsafe"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/site"
	"github.com/packgen/packgen/source"
	"github.com/packgen/packgen/translog"
	"github.com/spf13/cobra"
)

func init() { register(newBuildCmd) }

type buildCmdOptions struct {
	build.Options
	key     string
	noSite  bool
	force   bool
	output  string
	expires time.Duration

	previousKeys     []string
	oci              ociFlags // how an oci:// --previous is reached
	previousOptional bool
	logAnchor        string
	refresh          bool
	expiresAt        time.Time
}

func newBuildCmd(g *globalOptions) *cobra.Command {
	o := &buildCmdOptions{}
	c := &cobra.Command{
		Use:   "build",
		Short: "Build a static registry site from the packs in a git repository",
		Long: `Build reads packs from committed git objects (no checkout, no git binary),
validates every new release, writes one deterministic tar.gz per release,
signs archives and index.json when --key is given, and writes a static site
(index.json, buckets, shards, archives, signatures, HTML catalogue) that
any object store or CDN can serve.

Every name@version found at the ref and, with --history (default), on its
first-parent history is published; a version whose directory was deleted
or overwritten by a bump stays published. A previous build in --out (or
--previous) is reused: unchanged releases are not re-read or re-archived,
and a published version whose content changed fails the build. A signed
previous build needs --key (exit 2 without: clients holding the
registry's key would refuse an unsigned index); --previous-key OLD.pub
during a key rotation.

The output is written to a temporary directory and swapped into place at
the end: a failed build leaves the previous site untouched. So --out must
be a new or empty directory, or a site packgen built: one holding anything
else (your packs, the repository or its .git, anyone's files) is refused
(exit 2) and left as it is. -d is --out, where the site goes; the packs
are --packs-dir. The same
commit always builds byte-identical files (signatures aside). Set
SOURCE_DATE_EPOCH to move the index's time (and expiry) past the commit's.

A build records what it was built from in --out (` + "`.packgen-build.json`" + `, never
published): building the same commit with the same options, key and
packgen again returns at once. --force goes through every step anyway (and
records the build too).`,
		Example: `  packgen build --out site
  packgen build --repo ../packs --packs-dir packs --ref main --out site --key cosign.key
  packgen build --out site --skip-invalid --history=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd, g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Repo, "repo", "", "git repository (default: the one holding the current directory)")
	f.StringVar(&o.Ref, "ref", "HEAD", "branch, tag or commit to build")
	f.StringVar(&o.PacksDir, "packs-dir", "", "only build packs under this directory of the repository")
	f.BoolVar(&o.History, "history", true, "also publish versions found in first-parent history")
	f.StringVar(&o.Since, "since", "", "with --history: start the history at this commit (branch, tag or hash; older commits are not read)")
	f.StringVarP(&o.Out, "out", "d", "site", "directory the site is written to: new, empty, or a site packgen built (reused, then replaced); never the packs, which are --packs-dir (--dest also works)")
	f.StringVar(&o.Previous, "previous", "", "reuse this previous build instead of the one in --out")
	o.oci.add(c)
	f.BoolVar(&o.previousOptional, "previous-optional", false, "with --previous: a location without index.json is a first build (default: an error, so a mistyped URL cannot start the registry afresh)")
	f.BoolVar(&o.NewLog, "new-log", false, "with --key and --previous: start a new transparency log over a previous build that has none (unsigned, or signed without a log): the registry's first signed build (default: an error, since clients that saw an older log refuse a new one)")
	f.StringVar(&o.logAnchor, "log-anchor", "", "a checkpoint of the registry's transparency log kept outside what --previous reads (log/checkpoint saved after the last publish, or a witness's state/checkpoint): the previous build's log must extend it (exit 1 otherwise: an older generation put back in the bucket)")
	f.BoolVar(&o.refresh, "refresh", false, "date the index now instead of at the commit: re-signs index.json with a new serial and expiry (a scheduled job keeps a quiet registry from expiring)")
	f.StringArrayVar(&o.previousKeys, "previous-key", nil, "public key the previous build may be signed with besides --key's (an old key during a rotation); repeatable")
	f.StringVar(&o.Registry, "name", "", "registry name, its signed identity that clients pin: keep it the same in every build (default: the name of the repository's top-level directory, wherever the command runs)")
	f.StringVar(&o.RepoURL, "repo-url", "", "source repository URL shown in the index (default: origin)")
	f.BoolVar(&o.SkipInvalid, "skip-invalid", false, "leave invalid releases out instead of failing")
	f.StringVar(&o.key, "key", "", "private key to sign with (file, or env://VAR); password from PACKGEN_PASSWORD or COSIGN_PASSWORD")
	f.DurationVar(&o.expires, "expires", build.DefaultExpiry, "how long index.json stays valid after its time")
	f.IntVar(&o.Jobs, "jobs", 0, "releases processed in parallel (default: number of CPUs)")
	f.BoolVar(&o.noSite, "no-site", false, "do not write the HTML catalogue")
	f.BoolVar(&o.force, "force", false, "go through every step even when --out was built from this very commit and options by this packgen (the build is still recorded)")
	outputFlag(c, &o.output, "text", "json")
	destAlias(c, "out")
	return c
}

func runBuild(cmd *cobra.Command, g *globalOptions, o *buildCmdOptions) error {
	if err := fillBuildOptions(cmd, g, o); err != nil {
		return err
	}
	var bar *counterLine
	if g.interactive() {
		bar = &counterLine{w: g.stderr}
		o.Progress = buildProgress(bar)
	}
	// go-git's status walks the whole work tree (≈ 0.2 s for 7,000
	// files): run it beside the build, it only feeds a warning.
	type uncommitted struct {
		paths []string
		err   error
	}
	dirty := make(chan uncommitted, 1)
	go func() {
		d, err := build.UncommittedPacks(o.Repo, o.PacksDir, o.Out, o.Previous)
		dirty <- uncommitted{d, err}
	}()
	res, err := build.Run(cmd.Context(), o.Options)
	bar.end()
	var dirtyWarn *meta.Problem
	u := <-dirty
	if errors.Is(err, build.ErrOutDir) {
		return buildErr(g, err) // refused before it began: nothing was built, committed or not
	}
	if u.err != nil && !refGiven(cmd, o.Ref) {
		g.warnf("could not check the work tree for uncommitted pack changes (%v): packgen builds committed content only\n", u.err)
	}
	if d := u.paths; len(d) > 0 && !refGiven(cmd, o.Ref) {
		where := "under --packs-dir " + o.PacksDir
		if o.PacksDir == "" {
			where = "in pack directories"
		}
		msg := fmt.Sprintf("%d uncommitted change(s) %s are not built (packgen builds committed content only), e.g. %s", len(d), where, d[0])
		g.warnf("%s\n", msg)
		dirtyWarn = &meta.Problem{File: filepath.ToSlash(d[0]), Severity: meta.SevWarning, Msg: msg}
	}
	if err != nil {
		return buildErr(g, err)
	}
	if dirtyWarn != nil && o.output == "json" { // text printed it above
		res.Problems = append(res.Problems, *dirtyWarn)
	}
	return printBuild(g, o, res)
}

// fillBuildOptions turns the flags into build.Options: the build's time,
// the signer, the keys a previous build may be signed by, the catalogue
// and the stamp.
func fillBuildOptions(cmd *cobra.Command, g *globalOptions, o *buildCmdOptions) error {
	var err error
	if o.PreviousOCI, err = o.oci.options(); err != nil {
		return err
	}
	o.ExpiresIn = o.expires
	if o.expires <= 0 {
		return usageErr("--expires must be positive")
	}
	if o.refresh {
		o.GeneratedAt = time.Now().UTC()
	} else if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return usageErr("SOURCE_DATE_EPOCH=%q is not a Unix time in seconds", s)
		}
		o.GeneratedAt = time.Unix(n, 0).UTC()
	}
	// Archives proved to be git trees are remembered on this machine.
	o.VerifiedDir = client.DefaultCacheDir()
	if o.expiresAt, err = build.CheckInputs(cmd.Context(), o.Options, o.previousOptional); err != nil {
		switch {
		case errors.Is(err, build.ErrInput):
			return usageErr("%v", err)
		case errors.Is(err, gitsafe.ErrKeyInRepo), errors.Is(err, build.ErrIndexExpired), errors.Is(err, build.ErrNotRegistry), errors.Is(err, build.ErrExpiredPrevious):
			return badErr(err)
		}
		return err
	}
	if o.key != "" {
		signer, err := loadSigner(g, o.key)
		if err != nil {
			return err
		}
		o.Signer = signer
	}
	if o.Trust, err = build.TrustedKeys(o.Signer, o.previousKeys); err != nil {
		if errors.Is(err, build.ErrKeyFile) {
			return usageErr("%v", err)
		}
		return err
	}
	if o.logAnchor != "" {
		if o.LogAnchor, err = safefile.ReadFile(o.logAnchor, translog.MaxCheckpointSize); err != nil {
			return usageErr("--log-anchor: %v", err)
		}
	}
	if !o.noSite {
		o.Site = site.CachedBuildHook(o.Previous, o.Out, o.VerifiedDir)
		o.SiteCheck = site.CheckHook(o.VerifiedDir)
	}
	o.Stamp, o.Force = build.ProgramStamp(version, o.Signer), o.force
	o.Log = g.stderr
	if g.quiet {
		o.Log = nil
	}
	return nil
}

// buildErr maps the build's failures to exit codes: what was checked
// and found bad is 1.
func buildErr(g *globalOptions, err error) error {
	var inv *build.InvalidError
	var imm *build.ImmutableError
	switch {
	case errors.As(err, &inv):
		for _, p := range inv.Problems {
			fmt.Fprintln(g.stderr, esc(p.String()))
		}
		return &exitError{code: exitBad, err: fmt.Errorf("build failed: %d invalid release(s) (fix them, or pass --skip-invalid to leave them out)", len(inv.Releases)), problems: inv.Problems}
	case errors.As(err, &imm):
		return badErr(err)
	case errors.Is(err, build.ErrNoPacks):
		return usageErr("%v", err)
	case errors.Is(err, source.ErrShallow), errors.Is(err, source.ErrDuplicate), errors.Is(err, build.ErrOutLink), errors.Is(err, retire.ErrFile):
		return badErr(err)
	case errors.Is(err, build.ErrSignedPrevious), errors.Is(err, build.ErrNewLog):
		return refusalErr(err) // --key, --new-log left out
	case errors.Is(err, build.ErrUntrustedPrevious), errors.Is(err, build.ErrTampered), errors.Is(err, build.ErrUnverifiedRelease), errors.Is(err, build.ErrLog), errors.Is(err, build.ErrExpiredPrevious), errors.Is(err, build.ErrBehindAnchor), errors.Is(err, index.ErrDigestMismatch):
		// The previous build failed its checks: what was checked is bad.
		return badErr(err)
	case errors.Is(err, build.ErrOutDir):
		// What the user typed: nothing was written.
		return usageErr("%v", err)
	}
	return err
}

// printBuild reports a build, in text or JSON.
func printBuild(g *globalOptions, o *buildCmdOptions, res *build.Result) error {
	if o.output == "json" {
		// Every warning text output prints, in one shape.
		warnings := append(meta.Problems{}, res.Problems...)
		idx := filepath.ToSlash(filepath.Join(o.Out, "index.json"))
		if w := expiryWarning(res.Root.Expires); w != "" {
			warnings = append(warnings, meta.Problem{File: idx, Severity: meta.SevWarning, Msg: w})
		}
		if res.Unsigned {
			warnings = append(warnings, meta.Problem{File: idx, Severity: meta.SevWarning, Msg: unsignedWarning})
		}
		return writeJSON(g, map[string]any{
			"out": o.Out, "serial": res.Root.Serial, "commit": res.Root.Source.Commit,
			"packs": res.Root.Packs, "releases": res.Root.Releases,
			"archived": res.Archived, "added": append([]string{}, res.Added...), "retirements": append([]retire.Change{}, res.Retirements...), "reused": res.Reused, "carried": res.Carried, "skipped": res.Skipped,
			"signed": !res.Unsigned, "expires": res.Root.Expires.UTC().Format(time.RFC3339),
			"warnings": warnings,
		})
	}
	if !g.quiet {
		for _, p := range res.Problems {
			fmt.Fprintln(g.stderr, esc(p.String()))
		}
	}
	expires := res.Root.Expires
	g.summaryf("built %s: %d %s, %d %s (%d archived, %d reused, %d kept from the previous build, %d skipped), serial %d, commit %s\n",
		o.Out, res.Root.Packs, phrase.Plural(res.Root.Packs, "pack"), res.Root.Releases, phrase.Plural(res.Root.Releases, "release"), res.Archived, res.Reused, res.Carried, res.Skipped, res.Root.Serial, index.ShortHash(res.Root.Source.Commit))
	if len(res.Added) > 0 {
		g.summaryf("added: %s\n", esc(phrase.Few(res.Added, maxAddedShown)))
	}
	if len(res.Retirements) > 0 {
		// Beside added: what clients see change without a new
		// release, an un-retired one above all (retire.Change).
		var cs []string
		for _, c := range res.Retirements {
			cs = append(cs, c.String())
		}
		g.summaryf("retirements: %s\n", esc(phrase.Few(cs, maxAddedShown)))
	}
	g.summaryf("index.json expires %s (in %s)\n", expires.Format(time.RFC3339), build.RoundDuration(time.Until(expires)))
	if w := expiryWarning(expires); w != "" {
		g.warnf("%s\n", w)
	}
	if res.Unsigned {
		g.warnf("%s\n", unsignedWarning)
	}
	return nil
}

// maxAddedShown bounds the releases a build's text summary names (a
// first build adds them all; -o json lists every one).
const maxAddedShown = 10

// buildProgress draws the build's counter on bar, naming its phase: the
// history walk (the total still grows), validating and archiving, then
// what follows the last release (index, signatures, catalogue).
func buildProgress(bar *counterLine) func(done, total int) {
	return func(done, total int) {
		phase := "walking history, validating and archiving"
		if done >= total && total > 0 {
			phase = "writing the index, signatures and catalogue"
		}
		bar.show("%d/%d releases: %s", done, total, phase)
	}
}

const unsignedWarning = "the registry is UNSIGNED: clients cannot verify it; build with --key (see `packgen key generate`)"

// expiryWarnWithin: an index expiring sooner than this gets a warning
// from build and publish (a registry refreshed weekly stays clear of it).
const expiryWarnWithin = 7 * 24 * time.Hour

// errExpired: an index that is, or would be, expired.
var errExpired = build.ErrIndexExpired

func expiryWarning(expires time.Time) string {
	if left := time.Until(expires); left < expiryWarnWithin {
		return fmt.Sprintf("index.json expires in %s (%s): clients refuse it after that; re-sign it before then with `packgen build --refresh` (docs/GITOPS.md: a scheduled refresh)", build.RoundDuration(left), expires.UTC().Format(time.RFC3339))
	}
	return ""
}

// refGiven: the build is of a named ref, not of what is checked out; the
// work tree's state says nothing about it.
func refGiven(cmd *cobra.Command, ref string) bool {
	return cmd.Flags().Changed("ref") && ref != "HEAD"
}

func orEmpty(p meta.Problems) meta.Problems {
	if p == nil {
		return meta.Problems{}
	}
	return p
}
