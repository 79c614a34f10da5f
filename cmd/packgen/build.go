package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/source"
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

	previousKeys []string
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
and a published version whose content changed fails the build.

The output is written to a temporary directory and swapped into place at
the end: a failed build leaves the previous site untouched. The same
commit always builds byte-identical files (signatures aside). Set
SOURCE_DATE_EPOCH to move the index's time (and expiry) past the commit's.

A build records what it was built from in --out (` + "`.packgen-build.json`" + `, never
published): building the same commit with the same options, key and
packgen again returns at once. --force goes through every step anyway.`,
		Example: `  packgen build --out site
  packgen build --repo ../packs --packs-dir packs --ref main --out site --key cosign.key
  packgen build --out site --skip-invalid --history=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, "text", "json"); err != nil {
				return err
			}
			return runBuild(cmd, g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Repo, "repo", "", "git repository (default: the one holding the current directory)")
	f.StringVar(&o.Ref, "ref", "HEAD", "branch, tag or commit to build")
	f.StringVar(&o.PacksDir, "packs-dir", "", "only build packs under this directory of the repository")
	f.BoolVar(&o.History, "history", true, "also publish versions found in first-parent history")
	f.StringVar(&o.Since, "since", "", "with --history: start the history at this commit (branch, tag or hash; older commits are not read)")
	f.StringVarP(&o.Out, "out", "d", "site", "output directory (a previous build there is reused)")
	f.StringVar(&o.Previous, "previous", "", "reuse this previous build instead of the one in --out")
	f.StringArrayVar(&o.previousKeys, "previous-key", nil, "public key the previous build may be signed with besides --key's (an old key during a rotation); repeatable")
	f.StringVar(&o.Registry, "name", "", "registry name (default: the repository directory name)")
	f.StringVar(&o.RepoURL, "repo-url", "", "source repository URL shown in the index (default: origin)")
	f.BoolVar(&o.SkipInvalid, "skip-invalid", false, "leave invalid releases out instead of failing")
	f.StringVar(&o.key, "key", "", "private key to sign with (file, or env://VAR); password from PACKGEN_PASSWORD or COSIGN_PASSWORD")
	f.DurationVar(&o.expires, "expires", build.DefaultExpiry, "how long index.json stays valid after its time")
	f.IntVar(&o.Jobs, "jobs", 0, "releases processed in parallel (default: number of CPUs)")
	f.BoolVar(&o.noSite, "no-site", false, "do not write the HTML catalogue")
	f.BoolVar(&o.force, "force", false, "go through every step even when --out was built from this very commit and options by this packgen")
	outputFlag(c, &o.output, "text", "json")
	return c
}

func runBuild(cmd *cobra.Command, g *globalOptions, o *buildCmdOptions) error {
	var err error
	o.ExpiresIn = o.expires
	if o.expires <= 0 {
		return usageErr("--expires must be positive")
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return usageErr("SOURCE_DATE_EPOCH=%q is not a Unix time in seconds", s)
		}
		o.GeneratedAt = time.Unix(n, 0).UTC()
	}
	if o.key != "" {
		signer, err := loadSigner(g, o.key)
		if err != nil {
			return err
		}
		o.Signer = signer
	}
	// Archives proved to be git trees are remembered on this machine.
	o.VerifiedDir = client.DefaultCacheDir()
	if o.Trust, err = trustedKeys(o.Signer, o.previousKeys); err != nil {
		return err
	}
	if !o.noSite {
		o.Site = siteHook(o.Previous, o.Out)
	}
	if !o.force {
		o.Stamp = buildStamp(o.Signer)
	}
	o.Log = g.stderr
	if g.quiet {
		o.Log = nil
	}
	progressed := false
	if g.interactive() {
		// The total grows while history is walked.
		o.Progress = func(done, total int) {
			fmt.Fprintf(g.stderr, "\r%d/%d releases", done, total)
			progressed = true
		}
	}
	// go-git's status walks the whole work tree (≈ 0.2 s for 7,000
	// files): run it beside the build, it only feeds a warning.
	dirty := make(chan []string, 1)
	go func() {
		var d []string
		if repo, err := source.Open(o.Repo); err == nil {
			d, _ = repo.Dirty(o.PacksDir)
		}
		dirty <- d
	}()
	res, err := build.Run(cmd.Context(), o.Options)
	if progressed {
		fmt.Fprintln(g.stderr)
	}
	if d := <-dirty; len(d) > 0 {
		g.logf("warning: %d uncommitted change(s) under the packs directory are not built (packgen builds committed content only), e.g. %s\n", len(d), d[0])
	}
	if err != nil {
		var inv *build.InvalidError
		var imm *build.ImmutableError
		switch {
		case errors.As(err, &inv):
			for _, p := range inv.Problems {
				fmt.Fprintln(g.stderr, esc(p.String()))
			}
			return badErr(fmt.Errorf("build failed: %d invalid release(s) (fix them, or pass --skip-invalid to leave them out)", len(inv.Releases)))
		case errors.As(err, &imm):
			return badErr(err)
		case errors.Is(err, source.ErrShallow):
			return badErr(err)
		case errors.Is(err, build.ErrUntrustedPrevious), errors.Is(err, build.ErrTampered), errors.Is(err, build.ErrUnverifiedRelease), errors.Is(err, index.ErrDigestMismatch):
			// The previous build failed its checks: what was checked is bad.
			return badErr(err)
		}
		return err
	}
	if o.output == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"out": o.Out, "serial": res.Root.Serial, "commit": res.Root.Source.Commit,
			"packs": res.Root.Packs, "releases": res.Root.Releases,
			"archived": res.Archived, "reused": res.Reused, "carried": res.Carried, "skipped": res.Skipped,
			"signed": !res.Unsigned, "warnings": orEmpty(res.Problems),
		})
	}
	if !g.quiet {
		for _, p := range res.Problems {
			fmt.Fprintln(g.stderr, esc(p.String()))
		}
	}
	fmt.Fprintf(g.stdout, "built %s: %d packs, %d releases (%d archived, %d reused, %d kept from the previous build, %d skipped), serial %d, commit %s\n",
		o.Out, res.Root.Packs, res.Root.Releases, res.Archived, res.Reused, res.Carried, res.Skipped, res.Root.Serial, shortHash(res.Root.Source.Commit))
	if res.Unsigned {
		g.logf("warning: the registry is UNSIGNED: clients cannot verify it; build with --key (see `packgen key generate`)\n")
	}
	return nil
}

func orEmpty(p pack.Problems) pack.Problems {
	if p == nil {
		return pack.Problems{}
	}
	return p
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// trustedKeys are the keys a build trusts for what it did not make: the
// signing key's public half and the --previous-key files.
func trustedKeys(signer build.Signer, files []string) (*sign.Verifier, error) {
	var pems [][]byte
	if signer != nil {
		pem, err := signer.PublicKeyPEM()
		if err != nil {
			return nil, fmt.Errorf("public key of --key: %w", err)
		}
		pems = append(pems, pem)
	}
	for _, f := range files {
		pem, err := safefile.ReadFile(f, 64<<10)
		if err != nil {
			return nil, usageErr("--previous-key %s: %v", f, err)
		}
		pems = append(pems, pem)
	}
	if len(pems) == 0 {
		return nil, nil
	}
	v, err := sign.NewVerifierSet(pems...)
	if err != nil {
		return nil, usageErr("trusted keys: %v", err)
	}
	return v, nil
}
