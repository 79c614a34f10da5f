package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/images/lockimages"
	"github.com/packgen/packgen/images/lookup"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/profile"
	"github.com/spf13/cobra"
)

func init() { register(newProfileCmd) }

// profileFlags are the client flags every profile subcommand shares:
// the connection flags of fetch (the registries are the configured ones)
// and -o, whose JSON carries the warnings.
type profileFlags struct {
	connFlags
	jsonOutput
}

func (f *profileFlags) add(c *cobra.Command) {
	f.connFlags.add(c)
	f.jsonOutput.add(c)
}

// env builds the profile environment from the registries config.
func (f *profileFlags) env(g *globalOptions) (*profile.Env, error) {
	return f.profileEnv(g, f.warnTo(g))
}

// envOf is env for a command that checks profile p's value overrides:
// their warnings say p's lines, which -o json gives as positions.
func (f *profileFlags) envOf(g *globalOptions, p *profile.Profile) (*profile.Env, error) {
	f.warnings.at(p.File)
	return f.env(g)
}

// profileEnv is what profile commands and a lock's images read through:
// every configured registry (each with a key, unless
// --insecure-skip-verify), the client options of the flags, warnings to
// warn.
func (f *connFlags) profileEnv(g *globalOptions, warn io.Writer) (*profile.Env, error) {
	regs, err := client.Selection{}.All(g.loadConfig, false)
	if err != nil {
		return nil, selectionErr(err)
	}
	for _, r := range regs {
		if err := needKey(r, f.insecure, false); err != nil {
			return nil, err
		}
	}
	opts := f.options(g)
	opts.Warn = warn
	return &profile.Env{Registries: regs, Client: opts, Warn: warn}, nil
}

// profileErr maps profile failures to exit codes: a refused profile, an
// invalid file or a registry that no longer matches the lock is 1.
func profileErr(err error) error {
	if errors.Is(err, profile.ErrRefused) || errors.Is(err, profile.ErrInvalid) || errors.Is(err, profile.ErrLockMismatch) ||
		errors.Is(err, lookup.ErrMissing) || errors.Is(err, profile.ErrDeleted) || errors.Is(err, lockimages.ErrNoPins) || errors.Is(err, profile.ErrOutputLink) || errors.Is(err, profile.ErrAliases) {
		return badErr(err)
	}
	return clientErr(err)
}

func newProfileCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "profile",
		Short: "Resolve, lock, fetch and render cluster profiles",
		Long: `A cluster profile (profile.yaml) combines packs: one os, k8s, cni and csi
pack plus add-ons, each with a semver constraint, an optional registry and
optional values overrides. See docs/FORMAT.md, "Cluster profiles".

  resolve   check the combination and pin every layer in a lock file
  fetch     download and verify exactly the locked bytes into a directory
  outdated  list layers with newer versions
  render    merge each pack's values.yaml with the profile's overrides
  schema    print the JSON Schema of profile.yaml`,
		Example: `  packgen profile resolve examples/profiles/aws-prod.yaml
  packgen profile fetch examples/profiles/aws-prod.lock -d cluster
  packgen profile outdated examples/profiles/aws-prod.yaml
  packgen profile render examples/profiles/aws-prod.lock -d cluster`,
	}
	return group(c, newProfileResolveCmd(g), newProfileFetchCmd(g), newProfileOutdatedCmd(g), newProfileRenderCmd(g), newProfileSchemaCmd(g))
}

func profileFileCompletion(exts ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

func newProfileResolveCmd(g *globalOptions) *cobra.Command {
	o := &profileResolveOptions{}
	c := &cobra.Command{
		Use:   "resolve PROFILE",
		Short: "Resolve a profile against the configured registries and write its lock file",
		Long: `Resolve every layer of PROFILE to the highest release matching its version
constraint, from the layer's registry or else the first configured registry
(in registries.yaml order) that has a match, then check the combination:

  - one pack per core layer (os, k8s, cni, csi);
  - every core layer present, unless --partial;
  - every pack's cloudTypes include the profile's cloudType (or "all");
  - constraints.dependencies: required packs present, notSupported packs
    absent, minVersion/maxVersion (inclusive) respected.

Every violation is reported, naming both packs and the rule, and the exit
code is 1. Otherwise each archive and its signature are verified, and each
layer's values overrides are checked against the pack's schema.yaml (type,
allowed values, regex, range, required, read-only: an error at the
override's line, exit 1) and its values.yaml (a key it lacks, usually a
typo: a warning; below charts.NAME, a key of chart NAME's own
values.yaml is no typo). Then the lock file (default: PROFILE with .lock instead
of .yaml) is written atomically, pinning version, registry, archive sha256
and size, and the sha256 of the signature file.

--pin-images also pins every container image each locked pack declares or
deploys (packgen images lists them) to the digest its registry serves now,
in the lock's layers[].images: one HEAD request per image, docker and
podman logins used as every OCI tool uses them (or --username with the
password in $PACKGEN_OCI_PASSWORD; --plain-http for loopback registries
only). An image that does not exist, or a registry that is down or
refuses access, fails the resolve and no lock is written. packgen profile
fetch --check-images then reports a pinned image whose tag has moved.

A layer whose exact version names a release the registry has deleted
(packs/retired.yaml: a CVE, a broken upgrade) is refused (rule
deleted-release) unless --allow-deleted, which resolves it with a
warning; a deprecated release resolves with a warning. -o json gives each
layer's state and stateWhy.`,
		Example: `  packgen profile resolve examples/profiles/aws-prod.yaml
  packgen profile resolve profile.yaml --lock cluster.lock -o json
  packgen profile resolve profile.yaml --pin-images
  packgen profile resolve examples/profiles/vsphere-edge-addons.yaml --partial`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileFileCompletion("yaml", "yml"),
		RunE:              func(cmd *cobra.Command, args []string) error { return runProfileResolve(cmd, g, o, args[0]) },
	}
	o.add(c)
	c.Flags().StringVarP(&o.lockPath, "lock", "l", "", "lock file to write (default: PROFILE with .lock instead of .yaml)")
	_ = c.MarkFlagFilename("lock", "lock")
	c.Flags().BoolVar(&o.partial, "partial", false, "allow missing core layers (a profile layered on top of another)")
	c.Flags().BoolVar(&o.pin, "pin-images", false, "pin the digest of every image the locked packs declare or deploy in the lock")
	c.Flags().BoolVar(&o.allowDeleted, "allow-deleted", false, "resolve a layer whose exact version names a deleted (retired) release, with a warning")
	o.oci.addFor(c, "the image registries (--pin-images; the packs' registries are configured)")
	return c
}

func newProfileFetchCmd(g *globalOptions) *cobra.Command {
	o := &profileFetchOptions{}
	c := &cobra.Command{
		Use:   "fetch LOCK -d DIR",
		Short: "Download, verify and extract exactly the releases a lock file pins",
		Long: `Download every layer of LOCK in parallel and verify it: the registry's signed
index, bucket and shard; that the shard still lists the locked version with
the locked archive sha256 and size (a registry now serving different bytes
for a locked version is an error naming both digests); the archive's sha256
and signature, and the signature file's sha256. Each pack is extracted
safely into DIR/<pack>-<version>.

Everything is staged beside DIR and renamed into place at the end: on any
failure DIR is untouched. A warning is printed when the profile file changed
since the lock was written. Progress is shown only on a terminal.

--check-images asks the registries again for every image the lock pins
(profile resolve --pin-images) before DIR is written: an image whose tag
now points at another digest, that is gone, or whose registry is down or
refuses access fails the fetch (exit 1 for a changed or missing image),
naming pack, image and both digests, and DIR is untouched. Every image a
locked pack declares or deploys (as packgen images finds them in its
verified archive) must be pinned too: one missing from the lock (removed
by hand) fails the fetch (exit 1), naming pack and image; resolve again
with --pin-images.

A locked release the registry has deleted since the lock was written (a
CVE) fails the fetch (exit 1, naming it and the reason) unless
--allow-deleted, which fetches it with a warning: the retirement is for
exactly this lock, and a warning in a deploy log goes unread. A
deprecated release is fetched with a warning. -o json gives each layer's
state and stateWhy.`,
		Example: `  packgen profile fetch examples/profiles/aws-prod.lock -d cluster
  packgen profile fetch profile.lock -d cluster --force -o json
  packgen profile fetch profile.lock -d cluster --check-images`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileFileCompletion("lock"),
		RunE:              func(cmd *cobra.Command, args []string) error { return runProfileFetch(cmd, g, o, args[0]) },
	}
	o.add(c)
	c.Flags().StringVarP(&o.dest, "dest", "d", "", "directory to extract into (required)")
	_ = c.MarkFlagDirname("dest")
	c.Flags().BoolVar(&o.force, "force", false, "replace an existing DIR (atomically)")
	c.Flags().IntVarP(&o.jobs, "jobs", "j", 4, "parallel downloads")
	c.Flags().BoolVar(&o.allowDeleted, "allow-deleted", false, "fetch a locked release its registry has deleted (retired) since, with a warning")
	c.Flags().BoolVar(&o.checkImages, "check-images", false, "check that every image the lock pins still has its pinned digest, and that every image the locked packs deploy is pinned")
	o.oci.addFor(c, "the image registries (--check-images; the packs' registries are configured)")
	return c
}

// profileResolveOptions are the flags of profile resolve.
type profileResolveOptions struct {
	profileFlags
	lockPath                   string
	partial, pin, allowDeleted bool
	oci                        ociFlags
}

// runProfileResolve resolves the profile file and writes its lock.
func runProfileResolve(cmd *cobra.Command, g *globalOptions, o *profileResolveOptions, file string) error {
	p, err := loadProfile(file)
	if err != nil {
		return err
	}
	env, err := o.envOf(g, p)
	if err != nil {
		return err
	}
	if o.lockPath == "" {
		o.lockPath = profile.DefaultLockPath(file)
	}
	ro := profile.ResolveOptions{Partial: o.partial, LockPath: o.lockPath, AllowDeleted: o.allowDeleted}
	if o.pin {
		lo, err := o.oci.lookup()
		if err != nil {
			return err
		}
		ro.PinImages = lockimages.PinLock(lo, p)
	}
	res, err := profile.Resolve(cmd.Context(), p, env, ro)
	var re *profile.ResolveError
	if errors.As(err, &re) && o.json() {
		if err := writeJSON(g, map[string]any{"profile": p.Name, "lock": nil, "warnings": o.warnings.problems(), "violations": re.Violations}); err != nil {
			return err
		}
		return silentBad
	}
	if err != nil {
		return profileErr(err)
	}
	if err := res.Lock.Write(o.lockPath); err != nil {
		return fmt.Errorf("write %s: %w", o.lockPath, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.warnTo(g), "warning: %s\n", esc(w))
	}
	if o.json() {
		return writeJSON(g, map[string]any{"profile": p.Name, "lock": o.lockPath, "layers": res.Layers, "warnings": o.warnings.problems(), "violations": []profile.Violation{}})
	}
	g.summaryf("resolved profile %s (%s): %d layers -> %s\n", esc(p.Name), esc(p.CloudType), len(res.Layers), esc(o.lockPath))
	if g.quiet {
		return nil // the lock is the result; the table restates it
	}
	return printResolved(g, res.Layers)
}

// profileFetchOptions are the flags of profile fetch.
type profileFetchOptions struct {
	profileFlags
	dest                             string
	force, checkImages, allowDeleted bool
	jobs                             int
	oci                              ociFlags
}

// runProfileFetch checks fetch's flags and fetches the lock's packs.
func runProfileFetch(cmd *cobra.Command, g *globalOptions, o *profileFetchOptions, lockPath string) error {
	if o.dest == "" {
		return usageErr("--dest (-d) is required: the directory to extract the profile's packs into")
	}
	if o.jobs < 1 {
		return usageErr("--jobs must be at least 1")
	}
	lock, err := profile.LoadLock(lockPath)
	if err != nil {
		return loadErr(err)
	}
	warnStale(o.warnTo(g), lock, lockPath)
	env, err := o.env(g)
	if err != nil {
		return err
	}
	fo := profile.FetchOptions{Dest: o.dest, Force: o.force, Jobs: o.jobs, AllowDeleted: o.allowDeleted}
	if o.checkImages {
		lo, err := o.oci.lookup()
		if err != nil {
			return err
		}
		prof, err := lockProfile(lock, lockPath)
		if err != nil {
			return err
		}
		fo.CheckImages = lockimages.CheckPins(lo, env, prof)
	}
	if g.interactive() {
		fo.Progress = func(done, total int, l profile.LockedPack) {
			fmt.Fprintf(g.stderr, "\r[%d/%d] %s verified", done, total, esc(l.ID()))
			if done == total {
				fmt.Fprintln(g.stderr)
			}
		}
	}
	res, err := profile.Fetch(cmd.Context(), lock, env, fo)
	if err != nil {
		return profileErr(err)
	}
	return printProfileFetch(g, o, lock, res)
}

// printProfileFetch reports the fetched layers, in text or JSON.
func printProfileFetch(g *globalOptions, o *profileFetchOptions, lock *profile.Lock, res *profile.FetchResult) error {
	if o.json() {
		return writeJSON(g, struct {
			*profile.FetchResult
			Warnings meta.Problems `json:"warnings"`
		}{res, o.warnings.problems()})
	}
	g.summaryf("fetched profile %s: %d layers into %s\n", esc(lock.Profile.Name), len(res.Layers), esc(res.Dest))
	if g.quiet {
		return nil // DIR is the result; the table lists what it holds
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	for _, l := range res.Layers {
		state := "verified"
		if !l.Verified {
			state = "NOT signature-verified"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d files\t%s%s\n", esc(l.Pack), esc(l.Version), esc(l.Dir), l.Files, state, retiredMark(l.Retirement))
	}
	return tw.Flush()
}

// lockProfile reads the profile a lock names, whose values overrides
// decide what its packs deploy: a usage error when it cannot be read.
func lockProfile(lock *profile.Lock, lockPath string) (*profile.Profile, error) {
	p, err := lock.LoadProfile(lockPath)
	if errors.Is(err, profile.ErrNoProfile) {
		return nil, usageErr("%v", err)
	}
	if err != nil {
		return nil, loadErr(err)
	}
	return p, nil
}

func warnStale(w io.Writer, lock *profile.Lock, lockPath string) {
	if p, stale := lock.Stale(lockPath); stale {
		fmt.Fprintf(w, "warning: %s changed since %s was written; the lock is stale (packgen profile resolve %s)\n", p, lockPath, p)
	}
}

// profileOutdatedOptions are outdated's flags.
type profileOutdatedOptions struct {
	f        profileFlags
	lock     string
	exitCode bool
}

func newProfileOutdatedCmd(g *globalOptions) *cobra.Command {
	o := &profileOutdatedOptions{}
	c := &cobra.Command{
		Use:   "outdated PROFILE",
		Short: "List layers with newer versions than the lock pins",
		Long: `For each layer of PROFILE, show the locked version (from --lock, default
PROFILE with .lock instead of .yaml, when it exists), the newest version
matching the layer's constraint ("wanted": packgen profile resolve would
pick it) and the newest version overall ("latest": reaching it needs a new
constraint). Metadata is verified as for fetch; no archive is downloaded.

The NOTE column says first when the locked release is retired now,
deprecated or deleted, and why (packs/retired.yaml: a CVE); -o json has
each layer's state and stateWhy. wanted and latest are never deleted
releases; one that is deprecated (resolve takes it, with a warning) is
said in the NOTE after "update available" or "newer outside
constraint", with why.

Exit code 0 whether or not something is outdated, unless --exit-code: then
1 when a layer's wanted version is newer than its locked one, its locked
release is deleted, or its pack is in no registry; 2 when there is no lock
to compare with. A lock of
another profile is refused.`,
		Example: `  packgen profile outdated examples/profiles/aws-prod.yaml
  packgen profile outdated profile.yaml --lock cluster.lock -o json
  packgen profile outdated profile.yaml --exit-code   # for CI`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileFileCompletion("yaml", "yml"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProfileOutdated(cmd.Context(), g, o, args[0])
		},
	}
	o.f.add(c)
	c.Flags().StringVarP(&o.lock, "lock", "l", "", "lock file (default: PROFILE with .lock instead of .yaml)")
	_ = c.MarkFlagFilename("lock", "lock")
	c.Flags().BoolVar(&o.exitCode, "exit-code", false, "exit 1 when a layer can be updated within its constraint, or its locked release is deleted")
	return c
}

// runProfileOutdated compares the profile in file with its lock and
// prints the layers' locked, wanted and latest versions.
func runProfileOutdated(ctx context.Context, g *globalOptions, o *profileOutdatedOptions, file string) error {
	p, err := loadProfile(file)
	if err != nil {
		return err
	}
	explicit := o.lock != ""
	if !explicit {
		o.lock = profile.DefaultLockPath(file)
	}
	lock, err := profile.LoadLock(o.lock)
	if err != nil && (explicit || !isNotExist(err)) {
		return loadErr(err)
	}
	if lock != nil && lock.Profile.Name != p.Name {
		return usageErr("%s is the lock of profile %q, not of %s (%q): give its own lock with --lock, or resolve it (packgen profile resolve %s)", o.lock, lock.Profile.Name, file, p.Name, file)
	}
	if lock == nil && o.exitCode {
		// Nothing pinned, nothing to compare: a CI check that
		// passed here checked nothing.
		return usageErr("--exit-code: %s has no lock (%s does not exist): resolve it first (packgen profile resolve %s), or give its lock with --lock", file, o.lock, file)
	}
	if lock != nil {
		warnStale(o.f.warnTo(g), lock, o.lock)
	}
	env, err := o.f.env(g)
	if err != nil {
		return err
	}
	rows, err := profile.Outdated(ctx, p, lock, env)
	if err != nil {
		return profileErr(err)
	}
	outdated, deleted := 0, 0
	var missing []string
	for _, r := range rows {
		if r.Outdated {
			outdated++
		}
		if r.State == index.StateDeleted {
			deleted++
		}
		if r.Registry == "" { // no registry holds the pack
			missing = append(missing, r.Pack)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(o.f.warnTo(g), "warning: %s: in no registry the profile reads: check the pack's name (packgen search) and its registry\n", strings.Join(missing, ", "))
	}
	if o.f.json() {
		if err := writeJSON(g, map[string]any{"profile": p.Name, "layers": rows, "outdated": outdated, "warnings": o.f.warnings.problems()}); err != nil {
			return err
		}
	} else if err := printOutdated(g, rows); err != nil {
		return err
	}
	if o.exitCode && (outdated > 0 || deleted > 0 || len(missing) > 0) {
		return silentBad
	}
	return nil
}

// loadProfile loads the profile file.
func loadProfile(file string) (*profile.Profile, error) {
	p, err := profile.Load(file)
	if err != nil {
		return nil, loadErr(err)
	}
	return p, nil
}

// printResolved prints the resolved layers as a table.
func printResolved(g *globalOptions, layers []profile.ResolvedLayer) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	for _, l := range layers {
		from := l.Registry
		if len(l.Searched) > 1 {
			from += " (searched " + strings.Join(l.Searched, ", ") + ")"
		}
		state := "verified"
		if !l.Verified {
			state = "NOT signature-verified"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s%s\n", esc(l.Pack), esc(l.Version), esc(l.Layer), esc(from), esc(l.SHA256[:16]), state, retiredMark(l.Retirement))
	}
	return tw.Flush()
}

// printOutdated prints profile outdated's table.
func printOutdated(g *globalOptions, rows []profile.OutdatedRow) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PACK\tREGISTRY\tCONSTRAINT\tLOCKED\tWANTED\tLATEST\tNOTE")
	for _, r := range rows {
		var notes []string
		if r.State != "" {
			// The locked release is retired: said first, with why.
			notes = append(notes, r.State+" ("+esc(r.StateWhy)+")")
		}
		switch {
		case r.Outdated:
			notes = append(notes, "update available"+deprecatedNote(r.Wanted, r.WantedRetirement))
		case r.Beyond:
			notes = append(notes, "newer outside constraint"+deprecatedNote(r.Latest, r.LatestRetirement))
		}
		note := strings.Join(notes, "; ")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", esc(r.Pack), esc(dash(r.Registry)), esc(r.Constraint), esc(dash(r.Locked)), esc(dash(r.Wanted)), esc(dash(r.Latest)), note)
	}
	return tw.Flush()
}

// deprecatedNote says, after outdated's "update available" or "newer
// outside constraint", that the version offered is itself deprecated,
// and why ("" when it is not).
func deprecatedNote(version string, r profile.Retirement) string {
	if r.State == "" {
		return ""
	}
	return fmt.Sprintf(": %s is %s (%s)", esc(version), r.State, esc(r.StateWhy))
}

// retiredMark marks a resolved or fetched layer's retired release in
// the table (the warning above it says why): deleted loudly.
func retiredMark(r profile.Retirement) string {
	switch r.State {
	case "":
		return ""
	case index.StateDeleted:
		return ", DELETED"
	}
	return ", " + r.State
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newProfileRenderCmd(g *globalOptions) *cobra.Command {
	f := &profileFlags{}
	var dest string
	var allowDeleted bool
	c := &cobra.Command{
		Use:   "render PROFILE|LOCK -d DIR",
		Short: "Merge each pack's values.yaml with the profile's overrides",
		Long: `For each layer, read values.yaml from the pack's verified archive and
deep-merge the profile's overrides into it: mappings merge key by key,
scalars and lists replace, and a key set to null is deleted (as Helm
does); an override that turns a mapping into a scalar or list (or back)
is warned about, as are keys the pack's values.yaml (and, below
charts.NAME, the chart's own) lacks, and one that
breaks the pack's schema.yaml is an error (as in resolve). The pack's comments, key order and quoting are
kept (as far as YAML round-tripping allows) and the result is written to
DIR/values/<pack>.yaml.

Given a lock file, the exact locked releases are used and the overrides come
from the profile file the lock names. Given a profile, its lock (PROFILE
with .lock instead of .yaml) must exist: run packgen profile resolve first.

A locked release its registry has deleted since (packs/retired.yaml: a
CVE) fails the render (exit 1, naming it and the reason; nothing is
written) unless --allow-deleted, as packgen profile fetch does; a
deprecated one is rendered with a warning.`,
		Example: `  packgen profile render examples/profiles/aws-prod.lock -d cluster
  packgen profile render examples/profiles/aws-prod.yaml -d out -o json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileFileCompletion("yaml", "yml", "lock"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dest == "" {
				return usageErr("--dest (-d) is required: values are written to DIR/values/<pack>.yaml")
			}
			lockPath, profilePath := args[0], ""
			if ext := filepath.Ext(args[0]); ext == ".yaml" || ext == ".yml" {
				profilePath, lockPath = args[0], profile.DefaultLockPath(args[0])
			}
			lock, err := profile.LoadLock(lockPath)
			if isNotExist(err) && profilePath != "" {
				return usageErr("%s has no lock file %s: run packgen profile resolve %s first", profilePath, lockPath, profilePath)
			}
			if err != nil {
				return loadErr(err)
			}
			warnStale(f.warnTo(g), lock, lockPath)
			var p *profile.Profile
			if profilePath == "" {
				p, err = lockProfile(lock, lockPath)
			} else {
				p, err = loadProfile(profilePath)
			}
			if err != nil {
				return err
			}
			env, err := f.envOf(g, p)
			if err != nil {
				return err
			}
			res, err := profile.Render(cmd.Context(), p, lock, env, dest, allowDeleted)
			if err != nil {
				return profileErr(err)
			}
			if f.json() {
				return writeJSON(g, map[string]any{"profile": p.Name, "files": res, "warnings": f.warnings.problems()})
			}
			if g.quiet {
				return nil // the files are the result (DIR/values/.packgen-rendered lists them)
			}
			for _, r := range res {
				how := "pack defaults"
				if r.Overrides {
					how = "with overrides"
				}
				fmt.Fprintf(g.stdout, "%s (%s@%s, %s)\n", esc(r.File), esc(r.Pack), esc(r.Version), how)
			}
			return nil
		},
	}
	f.add(c)
	c.Flags().StringVarP(&dest, "dest", "d", "", "output directory (required)")
	_ = c.MarkFlagDirname("dest")
	c.Flags().BoolVar(&allowDeleted, "allow-deleted", false, "render a locked release its registry has deleted (retired) since, with a warning")
	return c
}

func newProfileSchemaCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "schema",
		Short:   "Print the JSON Schema of profile.yaml",
		Example: `  packgen profile schema > profile.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := g.stdout.Write(profile.SchemaJSON)
			return err
		},
	}
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// loadErr maps an error reading an input file: a missing file is a usage
// error (2), an invalid one is bad input (1).
func loadErr(err error) error {
	if isNotExist(err) {
		return usageErr("%v", err)
	}
	return profileErr(err)
}
