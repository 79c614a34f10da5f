package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/transport"
	"github.com/spf13/cobra"
)

// connFlags are the flags of every command that downloads from a
// registry and verifies it (fetch, search, list, info, every profile
// subcommand): one group, so that they cannot drift apart.
type connFlags struct {
	insecure bool
	timeout  time.Duration
	stall    time.Duration
}

func (f *connFlags) add(c *cobra.Command) {
	c.Flags().BoolVar(&f.insecure, "insecure-skip-verify", false, "DANGEROUS: do not check signatures (digests are still checked)")
	f.addTimeouts(c)
}

// addTimeouts adds --timeout and --stall-timeout, the same in every
// command that downloads.
func (f *connFlags) addTimeouts(c *cobra.Command) {
	c.Flags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "timeout of each download")
	c.Flags().DurationVar(&f.stall, "stall-timeout", client.DefaultStallTimeout, "give up on a download that receives nothing for this long")
}

// options are the client options the flags ask for.
func (f *connFlags) options(g *globalOptions) client.Options {
	client.SetUserAgent("packgen/" + versionString())
	return client.Options{InsecureSkipVerify: f.insecure, Timeout: f.timeout, StallTimeout: f.stall, Warn: g.stderr}
}

// limitHint names the flag that raises the limit err ran into, when the
// command has it: the libraries name a limit by its value alone, since
// not every command that reaches a server has the flags (registry add).
func limitHint(cmd *cobra.Command, err error) string {
	if cmd == nil {
		return ""
	}
	for _, l := range []struct {
		is   error
		flag string
	}{{transport.ErrStalled, "stall-timeout"}, {transport.ErrTimeout, "timeout"}} {
		// A limit of 0 is none (publish's --timeout by default): what
		// ran out was a library's, which the flag does not raise.
		if f := cmd.Flags().Lookup(l.flag); f != nil && errors.Is(err, l.is) && f.Value.String() != "0s" {
			return fmt.Sprintf("on a slow link, raise --%s (now %s)", l.flag, f.Value)
		}
	}
	return ""
}

// clientFlags are the flags of every command that reads from a registry
// (fetch, search, list, info, images, log show): connFlags, the choice of
// registry (--registry, or --url with --key), the OCI flags of an oci://
// one, and -o, whose JSON carries what the client warned about.
type clientFlags struct {
	connFlags
	jsonOutput
	oci ociFlags

	registry string
	url      string
	keys     []string
}

// add adds the flags of a command that reads the configured registries
// or --url.
func (f *clientFlags) add(c *cobra.Command, g *globalOptions) {
	c.Flags().StringVar(&f.registry, "registry", "", "configured registry to use (default: every configured one, in registries.yaml's order)")
	c.Flags().StringVar(&f.url, "url", "", "registry URL or directory, instead of a configured registry")
	c.Flags().StringArrayVar(&f.keys, "key", nil, "public key to verify with (with --url)")
	f.connFlags.add(c)
	f.oci.add(c)
	f.jsonOutput.add(c)
	_ = c.RegisterFlagCompletionFunc("registry", g.completeRegistries)
}

// selection reads the --key files into the registry choice.
func (f *clientFlags) selection() (client.Selection, error) {
	s := client.Selection{Name: f.registry, URL: f.url}
	for _, k := range f.keys {
		if f.url == "" {
			s.Keys = append(s.Keys, "") // refused by client.Selection
			continue
		}
		data, err := readPublicKey("--key", k)
		if err != nil {
			return s, err
		}
		s.Keys = append(s.Keys, string(data))
	}
	return s, nil
}

// selectionErr makes the user's choice of registry a usage error.
func selectionErr(err error) error {
	if errors.Is(err, client.ErrSelection) {
		return usageErr("%v", err)
	}
	return err
}

// registriesFor lists the registries a command that looks a pack up
// tries, in order: the one named by --url or --registry, else every
// configured one in registries.yaml's order. The OCI flags go to the one
// named by --url oci://…: a configured registry keeps its own (refused,
// not ignored or overridden).
func (f *clientFlags) registriesFor(g *globalOptions) ([]client.Registry, error) {
	o, err := f.ociForURL()
	if err != nil {
		return nil, err
	}
	s, err := f.selection()
	if err != nil {
		return nil, err
	}
	regs, err := s.All(g.loadConfig, true)
	if err != nil {
		return nil, selectionErr(err)
	}
	for i := range regs {
		setOCI(&regs[i], o)
	}
	return regs, nil
}

// registryFor picks the registry a client command talks to, as
// registriesFor picks them.
func (f *clientFlags) registryFor(g *globalOptions) (client.Registry, error) {
	o, err := f.ociForURL()
	if err != nil {
		return client.Registry{}, err
	}
	s, err := f.selection()
	if err != nil {
		return client.Registry{}, err
	}
	r, err := s.One(g.loadConfig)
	if err != nil {
		return r, selectionErr(err)
	}
	setOCI(&r, o)
	return r, nil
}

// ociForURL checks the OCI flags against the choice of registry (before
// any registry is read) and returns what a --url registry takes.
func (f *clientFlags) ociForURL() (ocireg.Options, error) {
	if !f.oci.given() {
		return ocireg.Options{}, nil
	}
	if f.url == "" {
		return ocireg.Options{}, f.oci.refuseConfigured(f.registry)
	}
	return f.oci.forLocation("--url", f.url)
}

// setOCI gives a registry named by --url the flags' options.
func setOCI(r *client.Registry, o ocireg.Options) {
	if o.PlainHTTP || o.CAFile != "" || o.Username != "" {
		r.PlainHTTP, r.CAFile, r.Username, r.Password = o.PlainHTTP, o.CAFile, o.Username, o.Password
	}
}

// siteFetcher reads a registry site (a directory, file://, http(s) or
// oci:// URL) through the client's transport: netrc credentials,
// deadlines, its redirect policy and, for oci://, the OCI flags (flag
// names the site in errors); stat says whether a file is there (what an
// air-gap marker leaves out is asked for: index.Airgap.Holds).
func (f *clientFlags) siteFetcher(flag, loc string) (fetch index.FetchFunc, stat index.StatFunc, err error) {
	tr, err := f.oci.open(flag, loc, transport.Config{Timeout: f.timeout, Stall: f.stall})
	if err != nil {
		return nil, nil, err
	}
	return transport.Fetch(tr), transport.Stat(tr), nil
}

// feedback sets a client's warnings writer (stderr and the -o json
// warnings list) with -o json and, in an interactive run,
// its progress bar for downloads of 4 MiB or more.
func (f *clientFlags) feedback(g *globalOptions, warn *io.Writer, progress *func(string, int64, io.Reader) io.Reader) {
	*warn = f.warnTo(g)
	if g.interactive() {
		*progress = func(name string, size int64, r io.Reader) io.Reader {
			if size < 4<<20 {
				return r
			}
			return &progressReader{r: r, w: g.stderr, name: name, total: size}
		}
	}
}

func (f *clientFlags) client(g *globalOptions, reg client.Registry) (*client.Client, error) {
	if err := needKey(reg, f.insecure, f.url != ""); err != nil {
		return nil, err
	}
	opts := f.options(g)
	f.feedback(g, &opts.Warn, &opts.Progress)
	return client.New(reg, opts)
}

// warnUnverified says that a site read by URL or directory (list, info)
// was not checked against a key: its digests chain up to an index.json
// nobody vouched for. On stderr even with -q, and in -o json's warnings.
func (f *clientFlags) warnUnverified(g *globalOptions, site string) {
	how := fmt.Sprintf("`packgen registry add NAME %s --key registry.pub` reads it verified", esc(site))
	if name := configuredAs(g, site); name != "" {
		how = fmt.Sprintf("it is configured as registry %s: name it (%s) to read it verified", esc(name), esc(name))
	}
	msg := fmt.Sprintf("%s was read without a key: digests checked, signature not; %s", esc(site), how)
	g.warnf("%s\n", msg)
	if f.json() {
		fmt.Fprintf(&f.warnings, "warning: %s\n", msg)
	}
}

// warn warns (stderr, and -o json's warnings) msg, already escaped: what
// an air-gapped registry read without a client lacks (index.SubsetWarning),
// a SITE that is both a registry's name and a directory; "" says nothing.
func (f *clientFlags) warn(g *globalOptions, msg string) {
	if msg == "" {
		return
	}
	g.warnf("%s\n", msg)
	if f.json() {
		fmt.Fprintf(&f.warnings, "warning: %s\n", msg)
	}
}

// warnWrong warns, once each, of the releases (name@version) an air-gap
// marker at site leaves out that are there all the same
// (index.MarkerWrong), as the client does.
func (f *clientFlags) warnWrong(g *globalOptions, site string, wrong []string, doing string) {
	for _, id := range wrong {
		name, version, _ := strings.Cut(id, "@")
		f.warn(g, esc(index.MarkerWrong(site, name, version, doing)))
	}
}

// configuredAs is the name of a registry configured with a key at site
// (a URL, or a directory however it is spelled), "" when none is.
func configuredAs(g *globalOptions, site string) string {
	cfg, err := g.loadConfig()
	if err != nil {
		return ""
	}
	for _, r := range cfg.Registries {
		if (r.URL == site || sameLocation(r.URL, site)) && (len(r.Keys) > 0 || r.Key != "") {
			return r.Name
		}
	}
	return ""
}
