package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/pack/meta"
)

func init() {
	register(newListCmd)
	register(newInfoCmd)
}

func newListCmd(g *globalOptions) *cobra.Command {
	cf := &clientFlags{}
	c := &cobra.Command{
		Use:   "list SITE [--key registry.pub]",
		Short: "List the packs of a built registry (a directory or URL)",
		Long: `List every pack of a registry site with its layer, latest version
(marked "(deprecated)" when the signed bucket summary says it is
retired, or "no live release (newest: VERSION, deleted)" when every
version is deleted; info shows every version's state) and number of
versions.
SITE is a configured registry's name (read and verified as fetch reads
it), a directory, a file:// URL, an http(s) URL or an OCI registry
packgen publish wrote, oci://HOST/BASE (digests of the metadata checked,
a warning says the signature was not; signatures by fetch and verify),
or one read verified with --key registry.pub, as fetch --url reads it. A configured registry's name wins over a directory of that
name in the working directory (a warning says so): write ./NAME to read
the directory. The client flags are fetch's and search's: --registry NAME
or --url URL --key registry.pub may name SITE instead. --plain-http,
--ca-file and --username are for an oci:// SITE; a configured registry
keeps its own (packgen registry add).`,
		Example: `  packgen list acme
  packgen list site
  packgen list https://packs.example.com --key registry.pub -o json
  packgen list oci://localhost:5000/packs --plain-http`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runList(cmd.Context(), g, cf, args) },
	}
	cf.add(c, g)
	c.ValidArgsFunction = func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return g.completeSites(toComplete)
	}
	return c
}

// runList lists the packs of the registry args or cf name.
func runList(ctx context.Context, g *globalOptions, cf *clientFlags, args []string) error {
	packs, err := listPacks(ctx, g, cf, args)
	if err != nil {
		return err
	}
	if cf.json() {
		if packs == nil {
			packs = []index.Summary{}
		}
		return writeJSON(g, packsJSON[index.Summary]{packs, cf.warnings.problems()})
	}
	tw := table(g, "NAME\tLAYER\tLATEST\tVERSIONS\tDISPLAY NAME")
	for _, p := range packs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", esc(p.Name), layerLabel(p), latestLabel(p.Latest, p.LatestState), p.Versions, esc(p.DisplayName))
	}
	return tw.Flush()
}

// listPacks reads the registry's packs: a configured one, or one named
// by --url or SITE with --key, through a verifying client; any other
// SITE as it is (a warning says it was not verified).
func listPacks(ctx context.Context, g *globalOptions, cf *clientFlags, args []string) ([]index.Summary, error) {
	site, err := cf.oneSite("SITE", args)
	if err != nil {
		return nil, err
	}
	if site == "" {
		return nil, usageErr("no registry to list: give SITE (a configured registry's name, a directory or a URL), or --registry NAME, or --url URL --key registry.pub")
	}
	ref, err := cf.siteRegistry(g, "SITE", site)
	if err != nil {
		return nil, err
	}
	if !ref.named {
		return listUnverified(ctx, g, cf, site)
	}
	cl, err := cf.client(g, ref.reg)
	if err != nil {
		return nil, err
	}
	packs, err := cl.Catalog(ctx)
	if err != nil {
		return nil, clientErr(err)
	}
	return packs, nil
}

// siteRegistry is the registry list and info read (flag names it in
// messages: SITE, --site): a configured one, or one named by --url or
// by site with --key, read through a verifying client (ref.named);
// any other site is read as it is (a warning says it was not verified).
func (f *clientFlags) siteRegistry(g *globalOptions, flag, site string) (siteRef, error) {
	var ref siteRef // --url is a location, whatever its name
	var err error
	if f.url == "" {
		if ref, err = resolveSite(g, flag, site); err != nil {
			return ref, err
		}
	}
	if f.registry != "" && !ref.named {
		return ref, usageErr("--registry %s is not a configured registry: give a directory or URL as %s or --url", esc(site), flag)
	}
	f.warn(g, ref.clash)
	if ref.named && len(f.keys) > 0 {
		return ref, usageErr("--key goes with %s DIR|URL: registry %s has its keys in the config (packgen registry add %s URL --key ... replaces them)", flag, esc(site), esc(site))
	}
	if !ref.named && len(f.keys) > 0 {
		// Verified, as fetch --url reads it: the client checks the
		// root's signature under the keys.
		f.url = site
		if ref.reg, err = f.registryFor(g); err != nil {
			return ref, err
		}
		ref.named = true
	}
	if ref.named && f.url == "" {
		if err := f.oci.refuseConfigured(site); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

// listUnverified reads the packs of site without a key, saying so.
func listUnverified(ctx context.Context, g *globalOptions, cf *clientFlags, site string) ([]index.Summary, error) {
	fetch, stat, err := cf.siteFetcher("SITE", site)
	if err != nil {
		return nil, err
	}
	cat, err := index.ReadCatalogOf(ctx, fetch, stat, strings.HasPrefix(site, "oci://"))
	if err != nil {
		return nil, readRegistryErr(site, err)
	}
	cf.warnUnverified(g, site)
	cf.warnWrong(g, site, cat.Wrong, "showing it")
	cf.warn(g, index.SubsetWarning(esc(site), cat.Airgap, cat.AbsentPacks, cat.AbsentReleases, ""))
	if cat.AirgapErr != nil {
		cf.warn(g, esc(fmt.Sprintf("%s: %v: read as a whole registry", site, cat.AirgapErr)))
	}
	return cat.Packs, nil
}

func newInfoCmd(g *globalOptions) *cobra.Command {
	var site string
	cf := &clientFlags{}
	c := &cobra.Command{
		Use:   "info NAME --site SITE [--key registry.pub]",
		Short: "Show every version of one pack in a built registry",
		Long: `Show one pack's versions with digest, size, source commit, state
(active, deprecated or deleted, and why: the retirement's reason) and
dependencies. Reads only index.json, one bucket and the pack's shard.
Without --site, the only configured registry (as fetch uses it).
SITE is what packgen list takes (oci://HOST/BASE included, with
--plain-http, --ca-file and --username): a directory or URL is read with
digests checked and a warning, or verified with --key registry.pub, as
fetch --url reads it. The client flags are fetch's and list's:
--registry NAME or --url URL --key registry.pub may name the registry
instead of --site.`,
		Example: `  packgen info calico --site site
  packgen info calico --site https://packs.example.com --key registry.pub
  packgen info calico --site http://127.0.0.1:8080 -o json
  packgen info calico --site oci://localhost:5000/packs --plain-http`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runInfo(cmd.Context(), g, cf, site, args[0]) },
	}
	c.Flags().StringVar(&site, "site", "", "registry: a configured registry's name, a built directory or a URL (default: the only configured registry)")
	cf.add(c, g)
	_ = c.RegisterFlagCompletionFunc("site", siteCompletion(g))
	// NAME from --site's registry (a directory or URL read unverified, as
	// info reads it), else from every configured one, as fetch.
	c.ValidArgsFunction = cf.packArg(g, func() bool {
		if site == "" {
			return true
		}
		ref, err := resolveSite(g, "--site", site)
		if err != nil {
			return false
		}
		if ref.named {
			cf.registry = site
		} else {
			cf.url, cf.insecure = site, true // as info reads it: digests checked
		}
		return true
	})
	return c
}

// oneSite is the registry list or info reads: SITE (or --site: flag),
// or the one --url or --registry names (fetch's and search's flags), at
// most one of them; "" when none is given.
func (f *clientFlags) oneSite(flag string, args []string) (string, error) {
	var given []string
	for _, v := range slices.Concat(args, []string{f.url, f.registry}) { // never into cobra's args
		if v != "" {
			given = append(given, v)
		}
	}
	switch len(given) {
	case 0:
		return "", nil
	case 1:
		return given[0], nil
	}
	return "", usageErr("give the registry once: %s, --registry or --url (got %s)", flag, esc(strings.Join(given, ", ")))
}

// runInfo shows pack name of the registry --site (or --url, --registry;
// else the only configured one) names.
func runInfo(ctx context.Context, g *globalOptions, cf *clientFlags, site, name string) error {
	var args []string
	if site != "" {
		args = []string{site}
	}
	site, err := cf.oneSite("--site", args)
	if err != nil {
		return err
	}
	if site == "" {
		if site, err = onlyRegistry(g); err != nil {
			return err
		}
	}
	ref, err := cf.siteRegistry(g, "--site", site)
	if err != nil {
		return err
	}
	var sum *index.Summary
	var shard *index.Shard
	if ref.named {
		sum, shard, err = infoFromRegistry(ctx, g, cf, ref.reg, name)
	} else if sum, shard, err = infoFromSite(ctx, g, cf, site, name); err == nil {
		cf.warnUnverified(g, site)
	}
	if err != nil {
		return err
	}
	if cf.json() {
		return writeJSON(g, struct {
			Pack     infoPack      `json:"pack"`
			Warnings meta.Problems `json:"warnings"`
		}{infoPackOf(shard), cf.warnings.problems()})
	}
	return printInfo(g, sum, shard)
}

// onlyRegistry is the name of the registry info reads without --site:
// the only configured one; with none or several, --site is required.
func onlyRegistry(g *globalOptions) (string, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return "", err
	}
	switch len(cfg.Registries) {
	case 0:
		return "", usageErr("--site is required (a configured registry's name, a built directory or a registry URL): no registry is configured")
	case 1:
		return cfg.Registries[0].Name, nil
	}
	return "", usageErr("--site is required: several registries are configured (%s): name one, or give a built directory or a registry URL", configuredNames(cfg))
}

// infoFromRegistry reads a pack's summary and shard from a configured
// registry, verified.
func infoFromRegistry(ctx context.Context, g *globalOptions, cf *clientFlags, reg client.Registry, name string) (*index.Summary, *index.Shard, error) {
	cl, err := cf.client(g, reg)
	if err != nil {
		return nil, nil, err
	}
	packs, err := cl.Catalog(ctx)
	if err != nil {
		return nil, nil, clientErr(err)
	}
	var sum *index.Summary
	for i := range packs {
		if packs[i].Name == name {
			sum = &packs[i]
		}
	}
	if sum == nil {
		if _, err := cl.Shard(ctx, name); errors.Is(err, client.ErrNotInBundle) {
			return nil, nil, clientErr(err) // an air-gapped registry's bundles did not carry it
		}
		return nil, nil, clientErr(client.WithSuggestion(ctx, errmark.New(client.ErrNotFound, "pack %q is not in registry %s", name, reg.Name), name, []*client.Client{cl}))
	}
	shard, err := cl.Shard(ctx, name)
	if err != nil {
		return nil, nil, clientErr(err)
	}
	return sum, shard, nil
}

// infoFromSite reads a pack's summary and shard from a built directory or
// a URL, checked by digest down from index.json.
func infoFromSite(ctx context.Context, g *globalOptions, cf *clientFlags, site, name string) (*index.Summary, *index.Shard, error) {
	fetch, stat, err := cf.siteFetcher("--site", site)
	if err != nil {
		return nil, nil, err
	}
	data, err := fetch(ctx, index.RootFile, index.MaxRootSize)
	if err != nil {
		return nil, nil, readRegistryErr(site, err)
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		return nil, nil, err
	}
	sum, shard, air, absent, wrong, err := index.ReadPackOf(ctx, fetch, stat, root, name, strings.HasPrefix(site, "oci://"))
	if errors.Is(err, index.ErrNotInBundle) {
		return nil, nil, badErr(err)
	}
	if err != nil {
		return nil, nil, err
	}
	if sum == nil {
		return nil, nil, badErr(fmt.Errorf("pack %q is not in registry %s", name, site))
	}
	if air != nil {
		cf.warnWrong(g, site, wrong, "showing it")
		cf.warn(g, index.SubsetWarning(esc(site), air, 0, len(absent), strings.Join(absent, ", ")))
	}
	return sum, shard, nil
}

// printInfo prints a pack's versions as a table, then why each retired
// one is (before anyone fetches it: fetch warns only then).
func printInfo(g *globalOptions, sum *index.Summary, shard *index.Shard) error {
	fmt.Fprintf(g.stdout, "%s (%s) — layer %s", esc(sum.Name), esc(sum.DisplayName), esc(sum.Layer))
	if sum.AddonType != "" {
		fmt.Fprintf(g.stdout, ", %s", esc(sum.AddonType))
	}
	// The shard's latest and its state, by the build's rule (a
	// bucket's summary of this shard says the same).
	of := index.SummaryOf(shard, sum.Shard)
	latest := latestLabel(of.Latest, of.LatestState)
	if of.LatestState != index.StateDeleted {
		latest = "latest " + latest
	}
	fmt.Fprintf(g.stdout, ", %s\n\n", latest)
	tw := table(g, "VERSION\tCREATED\tSIZE\tSHA256\tCOMMIT\tSTATE\tDEPENDENCIES")
	var notes []string
	for i := len(shard.Releases) - 1; i >= 0; i-- {
		r := shard.Releases[i]
		var deps []string
		for _, d := range r.Dependencies {
			deps = append(deps, fmt.Sprintf("%s %s [%s,%s]", esc(d.Type), esc(d.PackName), esc(d.MinVersion), esc(d.MaxVersion)))
		}
		state, why := stateOf(r)
		if why != "" {
			notes = append(notes, fmt.Sprintf("%s@%s is %s (%s)", esc(shard.Name), esc(r.Version), state, esc(why)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", esc(r.Version), r.Created.Format("2006-01-02"), r.Archive.Size, esc(r.Archive.SHA256[:16]), esc(index.ShortHash(r.Commit)), state, strings.Join(deps, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		fmt.Fprintf(g.stdout, "\n%s\n", strings.Join(notes, "\n"))
	}
	return nil
}

// stateActive is the state info shows for a release neither deprecated
// nor deleted.
const stateActive = "active"

// stateOf is a release's state as the client resolves it and the
// catalogue shows it (index.Release.RetiredState), stateActive for an
// active release, and why ("" for an active one).
func stateOf(r index.Release) (state, why string) {
	if state, why = r.RetiredState(); state == "" {
		return stateActive, ""
	}
	return state, why
}

// infoPack is info's -o json pack: the shard, each release with its
// state (docs/JSON.md).
type infoPack struct {
	*index.Shard
	Releases []infoRelease `json:"releases"`
}

// infoRelease is a shard's release with its state and why (stateOf).
type infoRelease struct {
	index.Release
	State    string `json:"state"`
	StateWhy string `json:"stateWhy,omitempty"`
}

func infoPackOf(s *index.Shard) infoPack {
	p := infoPack{Shard: s, Releases: make([]infoRelease, len(s.Releases))}
	for i, r := range s.Releases {
		p.Releases[i].Release = r
		p.Releases[i].State, p.Releases[i].StateWhy = stateOf(r)
	}
	return p
}

// packsJSON is the -o json of list and search (docs/JSON.md).
type packsJSON[T any] struct {
	Packs    []T           `json:"packs"`
	Warnings meta.Problems `json:"warnings"`
}

// table starts a table on stdout with its header row; the caller adds
// the rows and flushes it.
func table(g *globalOptions, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

func writeJSON(g *globalOptions, v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// layerLabel shows a pack's layer, with the add-on type for add-ons,
// escaped for the terminal.
func layerLabel(s index.Summary) string {
	if s.AddonType != "" {
		return esc(s.Layer + " (" + s.AddonType + ")")
	}
	return esc(s.Layer)
}

// latestLabel shows a pack's latest version with its state (list and
// search: the signed summary's LatestState, the build's word, as they
// read no shard; info: the shard's, by index.SummaryOf), escaped for the
// terminal: "3.27.0 (deprecated)". The latest is deleted only when every version
// is (index.Shard.Latest): none is live, nothing resolves, said as the
// catalogue says it.
func latestLabel(version, state string) string {
	switch state {
	case "":
		return esc(version)
	case index.StateDeleted:
		return "no live release (newest: " + esc(version) + ", deleted)"
	}
	return esc(version + " (" + state + ")")
}

// esc makes outside text (a registry's fields, a server's words) safe to
// print: see package textsafe. Every text printer of such input uses it.
func esc(s string) string { return textsafe.Escape(s) }

// readRegistryErr: a location without index.json is not a registry, exit
// 1 as in every command; anything else could not be read, exit 3.
func readRegistryErr(loc string, err error) error {
	if errors.Is(err, index.ErrNotFound) {
		return badErr(fmt.Errorf("%w: %s has no index.json (%v): check the URL or directory; `packgen build --out DIR` makes one", errNotRegistry, loc, err))
	}
	return fmt.Errorf("read registry %s: %w", loc, err)
}
