package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gcpercent"
	"github.com/packgen/packgen/internal/linesplit"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/spf13/cobra"
)

func init() { register(newFetchCmd) }

// warnLines collects warning lines written to it, for -o json.
type warnLines struct {
	split linesplit.Splitter
	mu    sync.Mutex
	lines []string
	files []string // see at
}

// at names the files a warning may start with the position in, as
// "FILE:LINE[:COL]: message" (a profile's overrides are checked at their
// lines): -o json then gives that position as the problem's file, line
// and col, the message without it, as validate's problems are.
func (w *warnLines) at(files ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files = append(w.files, files...)
}

// problem is one warning line as a problem, its position split off when
// it starts with one in a file named by at.
func (w *warnLines) problem(l string) meta.Problem {
	for _, f := range w.files {
		rest, ok := strings.CutPrefix(l, f+":")
		if !ok || f == "" {
			continue
		}
		pos, msg, ok := strings.Cut(rest, ": ")
		if !ok {
			continue
		}
		lineS, colS, hasCol := strings.Cut(pos, ":")
		line, err := strconv.Atoi(lineS)
		col, cerr := strconv.Atoi(colS)
		if err != nil || line < 1 || hasCol && (cerr != nil || col < 1) {
			continue
		}
		return meta.Problem{File: f, Line: line, Col: col, Severity: meta.SevWarning, Msg: msg}
	}
	return meta.Problem{Severity: meta.SevWarning, Msg: l}
}

// Write takes whole lines; clients reading at once (search) write
// concurrently, so the split holds the lock too.
func (w *warnLines) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.split.Split(b, func(l string) {
		if l = strings.TrimSpace(l); l != "" {
			w.lines = append(w.lines, l)
		}
	})
	return len(b), nil
}

// problems returns the warnings in -o json's shape (never nil).
func (w *warnLines) problems() meta.Problems {
	out := meta.Problems{}
	if w == nil {
		return out
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		out = append(out, w.problem(strings.TrimPrefix(strings.TrimPrefix(l, "warning: "), "WARNING: ")))
	}
	return out
}

// needKey refuses a registry without a public key: what it serves could
// not be told from an attacker's (issue 17 item 3). --insecure-skip-verify
// is the explicit way to take packs unverified.
func needKey(reg client.Registry, insecure, byURL bool) error {
	if insecure || len(reg.TrustedKeys()) > 0 {
		return nil
	}
	how := "pass it with --key registry.pub"
	if !byURL {
		how = fmt.Sprintf("add it with `packgen registry add %s %s --key registry.pub`", reg.Name, reg.URL)
	}
	return usageErr("%w: registry %s has no public key, so nothing from it can be verified: get the registry's public key from its owner (the .pub beside the key it is built with; `packgen key generate` writes both) and %s, or pass --insecure-skip-verify to take it unverified",
		errNoKey, reg.URL, how)
}

// errNoKey: a registry is used without a key to verify it.
var errNoKey = errors.New("no key to verify with")

// clientErr maps verification failures to exit code 1.
func clientErr(err error) error {
	if errors.Is(err, pack.ErrWrite) {
		return err // a full disk is operational (exit 3), whatever else it wraps
	}
	for _, target := range []error{client.ErrDigestMismatch, client.ErrBadSignature, client.ErrRollback, client.ErrExpired,
		client.ErrTooLarge, client.ErrUnsigned, client.ErrWrongRegistry, client.ErrNotFound, pack.ErrUnsafePath, pack.ErrUnsupportedEntry, pack.ErrTooLarge, pack.ErrCorrupt,
		client.ErrNotLogged, client.ErrLogInconsistent, client.ErrLogTile, client.ErrNotWitnessed,
		index.ErrFormat} { // a registry's metadata this packgen refuses, a newer packgen's too (index.ErrNewerFormat)
		if errors.Is(err, target) {
			return badErr(err)
		}
	}
	if errors.Is(err, pack.ErrDestExists) || errors.Is(err, client.ErrSelection) {
		// A registry name mistyped (in a flag or a profile's layer) is
		// the user's to fix, as images --registry says.
		return usageErr("%v", err)
	}
	return err
}

// completePacks completes NAME from the registries' catalogues and, after
// NAME@, its versions: read through the client, so from the cache when
// the server says nothing changed, verified, and bounded in time; a
// --url oci://… registry with the OCI flags given so far.
func (f *clientFlags) completePacks(ctx context.Context, g *globalOptions, prefix string) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	regs, err := f.registriesFor(g)
	if err != nil {
		return nil
	}
	quiet := *g
	quiet.stderr = io.Discard
	var clients []*client.Client
	for _, reg := range regs {
		if cl, err := f.client(&quiet, reg); err == nil {
			clients = append(clients, cl)
		}
	}
	return client.Complete(ctx, clients, prefix)
}

// packArg completes a command's one NAME[@VERSION] argument (fetch, info,
// log show) with completePacks; before, when non-nil, sets f's choice of
// registry from the command's other flags (info's --site), and false
// says there is nothing to complete from.
func (f *clientFlags) packArg(g *globalOptions, before func() bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 || before != nil && !before() {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f.completePacks(cmd.Context(), g, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// fetchHelp is the long help of `packgen fetch`.
const fetchHelp = `Resolve the highest version of NAME matching a semver constraint
(Masterminds syntax: ^1.2, ~0.13, >=1.0 <2.0, 1.2.3; NAME alone, NAME@*
and NAME@latest are the newest; prereleases only with --pre or when the
constraint names one), then:

  1. fetch index.json and verify its signature with the registry's key,
     refusing an expired index or one older than the last seen (rollback);
  2. fetch the pack's bucket and shard, checking each against the digest
     pinned by the level above;
  3. download the archive (streamed, capped at its recorded size), check
     its sha256 and its signature;
  4. extract it safely into DEST (default ./NAME-VERSION): no paths
     outside DEST, no devices, size limits. On any failure DEST is untouched.

Without --registry or --url, every configured registry is tried in the
order of registries.yaml (by name): a registry that does not have the
pack, or no matching version, passes to the next; one that fails
verification stops the fetch, saying which registries before it had no
match. A name close to a pack's gets a "did you mean".

oci://HOST/BASE/spectro-packs/archive/NAME:VERSION fetches a pack that was
pushed to an OCI registry the way Palette's docs say (oras push REF
NAME-VERSION.tar.gz): its one layer is checked against the manifest's
digest and size, then extracted safely as above. Nothing vouches for its
publisher (no packgen index, no signature): a warning says so, and under a
configured registry that has a key it is refused without
--insecure-skip-verify. Credentials: docker/podman login, a credential
helper, REGISTRY_AUTH_FILE, or --username with $PACKGEN_OCI_PASSWORD.

--plain-http, --ca-file and --username also apply to --url
oci://HOST/BASE (a registry packgen publish wrote); a configured registry
keeps its own (packgen registry add NAME oci://… --plain-http).`

func newFetchCmd(g *globalOptions) *cobra.Command {
	o := &fetchOptions{}
	f := &o.clientFlags
	c := &cobra.Command{
		Use:   "fetch NAME[@CONSTRAINT]",
		Short: "Resolve, download, verify and safely extract a pack",
		Long:  fetchHelp,
		Example: `  packgen fetch calico
  packgen fetch calico@^3.26 -d packs/calico
  packgen fetch prometheus-operator@">=57.0 <59.0" --registry acme -o json
  packgen fetch falco --url http://127.0.0.1:8080 --key registry.pub
  packgen fetch oci://harbor.example.com/acme/spectro-packs/archive/hello:1.0.0 -d packs/hello`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runFetch(cmd, g, o, args[0]) },
	}
	f.add(c, g)
	c.ValidArgsFunction = f.packArg(g, nil)
	c.Flags().StringVarP(&o.dest, "dest", "d", "", "destination directory (default ./NAME-VERSION)")
	c.Flags().BoolVar(&o.pre, "pre", false, "allow prerelease versions")
	c.Flags().BoolVar(&o.force, "force", false, "replace an existing destination")
	return c
}

// fetchOptions are the flags of fetch.
type fetchOptions struct {
	clientFlags
	dest       string
	pre, force bool
}

// fetchGOGC is a fetch's GC percentage (fetchProcess).
const fetchGOGC = 400

// fetchProcess sets this process up for one fetch: one P (see runFetch)
// and GOGC=400, unless the environment sets GOGC or GOMEMLIMIT. The
// package initialisers leave about 3 MiB of heap, nearly all of it live
// for the whole process, and Go's first collection is due at 4 MiB: every
// cold fetch collected once, CPU spent marking that heap just before the
// process ends. At 400 (as packgen-helm runs) the first collection is due
// at 16 MiB, more than a fetch allocates: archives stream through fixed
// buffers and metadata is read to bounded sizes. The heap still stays
// within five times what is live, so a larger registry costs more
// collections, not unbounded memory. Call it only in a process that runs
// one command and exits; main calls it before cobra's start-up allocates.
func fetchProcess() {
	runtime.GOMAXPROCS(1)
	gcpercent.Set(fetchGOGC) // for the whole process: nothing to restore
}

// runFetch fetches one pack: from an OCI reference as it was pushed, or
// resolved from the first registry that has it.
func runFetch(cmd *cobra.Command, g *globalOptions, o *fetchOptions, ref string) error {
	// One pack is a short chain of small downloads, each waiting for the
	// one before, then hashing and extraction: nothing for a second P to
	// do but spin and wake threads at every hand-off between net/http's
	// goroutines, CPU taken from the server on a small or loopback
	// machine (≈ 1 ms of an 11 ms fetch, measured on 2 CPUs). Usually
	// already done by package oneproc and main, then free.
	if standalone {
		fetchProcess()
	}
	if strings.HasPrefix(ref, client.OCIScheme) {
		return fetchOCI(cmd.Context(), g, o, ref)
	}
	name, constraint, err := client.ParseRef(ref)
	if err != nil {
		return usageErr("%v", err)
	}
	regs, err := o.registriesFor(g)
	if err != nil {
		return err
	}
	var res *client.FetchResult
	err = client.InOrder(cmd.Context(), regs, func(r client.Registry) (*client.Client, error) { return o.client(g, r) }, name, ref, func(cl *client.Client) error {
		res, err = cl.Fetch(cmd.Context(), client.FetchOptions{Name: name, Constraint: constraint, Pre: o.pre, Dest: o.dest, Force: o.force})
		return err
	})
	if oerr := client.OpenError(err); oerr != nil {
		return oerr
	}
	if err != nil {
		return clientErr(err)
	}
	return printFetch(g, o, res)
}

// printFetch reports a fetched pack, in text or JSON.
func printFetch(g *globalOptions, o *fetchOptions, res *client.FetchResult) error {
	if o.json() {
		return writeJSON(g, struct {
			*client.FetchResult
			Warnings meta.Problems `json:"warnings"`
		}{res, o.warnings.problems()})
	}
	state := "verified"
	if !res.Verified {
		state = "NOT signature-verified"
	}
	from := res.Registry
	if o.url != "" {
		from = o.url // not the placeholder name "url"
	}
	g.summaryf("fetched %s@%s from %s into %s (%d files, sha256 %s, %s)\n", esc(res.Name), esc(res.Version), esc(from), esc(res.Dest), res.Files, esc(res.SHA256[:16]), state)
	return nil
}

// fetchOCI is `packgen fetch oci://…`: a pack pushed with plain oras push.
func fetchOCI(ctx context.Context, g *globalOptions, o *fetchOptions, ref string) error {
	f, dest, force := &o.clientFlags, o.dest, o.force
	if f.url != "" || f.registry != "" || len(f.keys) > 0 {
		return usageErr("--url, --registry and --key do not go with an oci:// reference (it names its registry)")
	}
	ro, err := o.oci.options()
	if err != nil {
		return err
	}
	ro.StallTimeout = f.stall
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	opts := client.OCIPackOptions{Ref: ref, Dest: dest, Force: force, Registry: ro, Configured: cfg.Registries,
		InsecureSkipVerify: f.insecure, Warn: g.stderr}
	f.feedback(g, &opts.Warn, &opts.Progress)
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	res, err := client.FetchOCIPack(ctx, opts)
	if err != nil {
		if errors.Is(err, client.ErrKeyedRegistry) || errors.Is(err, client.ErrNotORASPack) {
			return badErr(err)
		}
		if errors.Is(err, ocireg.ErrReference) || errors.Is(err, ocireg.ErrPlainHTTP) || errors.Is(err, ocireg.ErrCAFile) {
			return usageErr("%v", err)
		}
		return clientErr(err)
	}
	if f.json() {
		return writeJSON(g, struct {
			*client.OCIPackResult
			Warnings meta.Problems `json:"warnings"`
		}{res, f.warnings.problems()})
	}
	g.summaryf("fetched %s into %s (%d files, sha256 %s, NOT verified: no signature)\n", esc(res.Ref), esc(res.Dest), res.Files, esc(res.SHA256[:16]))
	return nil
}

type progressReader struct {
	r           io.Reader
	w           io.Writer
	name        string
	total, done int64
	last        time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if time.Since(p.last) > 100*time.Millisecond || err != nil {
		p.last = time.Now()
		pct := float64(p.done) * 100 / float64(max(p.total, 1))
		fmt.Fprintf(p.w, "\r%s: %5.1f%% of %.1f MiB", esc(p.name), min(pct, 100), float64(p.total)/(1<<20))
		if err != nil {
			fmt.Fprintln(p.w)
		}
	}
	return n, err
}
