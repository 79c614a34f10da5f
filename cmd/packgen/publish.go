package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/linesplit"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/pack/meta"

	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/publish"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"oras.land/oras-go/v2/registry/remote"
)

func init() { register(newPublishCmd) }

// publishHelp is the long help of `packgen publish`.
const publishHelp = `Publish uploads the site built in DIR so that readers never see an index
pointing at something missing: archives, signatures, buckets and shards
first (in parallel), then the catalogue pages, then index.json's
signatures, and index.json itself last. A publish killed at any moment
leaves the remote serving the old registry or the new one, each complete.

Registry files (archives, signatures, buckets, shards) that index.json
does not reference are never uploaded: a killed build may leave some.
Only what the remote lacks or holds differently is uploaded (compared by
size and MD5/ETag, or the SHA-256 stored in each object's metadata).
Archives and content-addressed metadata get "Cache-Control: immutable";
index.json, index.json.sig and the pages a short max-age.

Refused (exit 1) unless --force: a site whose index serial is lower than
the live remote one (a rollback), equal with other content, or listing
fewer releases. Never allowed: replacing a published archive with other
content; an unsigned site over a signed registry, or one signed by another
key unless built as a key rotation from the live key (build --key NEW.key
--previous-key OLD.pub): clients holding the live key would refuse it. Remote files the site lacks are kept unless --prune; prune never
deletes a release's files, nor the metadata of the generation that was live
before this publish (clients may still be resolving through it), nor a
file a packgen site never holds (a web root's other files), and deletes
nothing when the destination held no index.json before; under packs/ it
deletes only files of packs an index lists.
A destination that holds a pack.json (the repository or its packs
directory, the build's input) is refused (exit 2) before anything is
written: publish into a directory of its own (a gh-pages work tree is fine).
index.json is replaced with a conditional write: if another publish
switched it meanwhile, this one stops (exit 3) and can simply be re-run.

--source-key registry.pub (the registry's public key; repeat it during a
key rotation): SITE's index.json and its signed catalogue manifest must
verify under it, and every catalogue page, feed, logo and asset must be
the one the manifest lists, or nothing is published (exit 1). Without it
publish holds no key: it still refuses a catalogue that differs from the
manifest, but not a page and the manifest edited together (a warning
says so for a signed site). A signed site that has catalogue pages and no
manifest is refused either way (build it again: the build writes one).

--log-anchor FILE is a checkpoint of the registry's transparency log kept
outside the destination (the log/checkpoint the last publish wrote, saved
where the destination's writers cannot reach, or a witness's state
checkpoint), as build --log-anchor takes it: a site whose log does not
extend it (built from an older generation someone put back in the bucket)
is refused (exit 1, even with --force, nothing written); a destination
whose live log is behind it, or that serves no log, is a warning: someone
who can write it put an older generation back, and the site, which
extends the anchor, replaces it.

S3: any S3-compatible store (AWS S3, MinIO, Ceph, R2, GCS interop).
Credentials come from the standard AWS environment variables and files
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
AWS_REGION); the endpoint from --endpoint or AWS_ENDPOINT_URL. Path-style
addressing is the default with a custom endpoint.

OCI (oci://REGISTRY/BASE: Harbor, ECR, GHCR, any OCI registry): every
release becomes REGISTRY/BASE/spectro-packs/archive/NAME:VERSION in the
shape ORAS v1.0.0 pushes and Palette reads (the archive's bytes as the one
layer), signed with cosign's layout in REGISTRY/BASE/packgen/signatures
when --key gives the registry's private key; the packgen index goes to
REGISTRY/BASE/packgen/index, its root last, so packgen clients read the
registry with every check of a static site (packgen registry add NAME
oci://REGISTRY/BASE --key registry.pub). A tag that already names another
manifest is refused (bump the version), never overwritten. SITE may also
be oci://OTHER/BASE: releases are copied byte for byte (promotion), once
verified: with --key (its public half must verify SITE; releases are
signed again) or --source-key registry.pub (SITE's root must verify; its
cosign signatures are copied only if they verify too). A registry URL as
SITE goes to oci:// only (exit 2 otherwise): for static files of it, build
with --previous oci://OTHER/BASE --out site and publish site.
Credentials: --username with the password in PACKGEN_OCI_PASSWORD, else
REGISTRY_AUTH_FILE or the docker config (docker login, credential
helpers).

An option of another kind of destination (--endpoint, --region and
--path-style for s3://; --key, --plain-http, --ca-file and --username for
oci://) is refused (exit 2), never ignored.`

func newPublishCmd(g *globalOptions) *cobra.Command {
	p := &publishFlags{}
	c := &cobra.Command{
		Use:   "publish SITE s3://BUCKET/PREFIX | oci://REGISTRY/BASE | file:///PATH | PATH",
		Short: "Upload a built site to S3-compatible object storage, an OCI registry or a directory",
		Long:  publishHelp,
		Example: `  packgen publish site s3://packs-bucket/registry
  packgen publish site s3://packs/registry --endpoint http://127.0.0.1:9000 --dry-run
  AWS_ENDPOINT_URL=https://ACCOUNT.r2.cloudflarestorage.com packgen publish site s3://packs --region auto
  packgen publish site /var/www/packs --prune -o json
  packgen publish site gh-pages/registry
  packgen publish site oci://harbor.acme.example/packs --key registry.key
  packgen publish oci://dev.example/packs oci://prod.example/packs --key registry.key
  packgen publish oci://dev.example/packs oci://prod.example/packs --source-key registry.pub`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return p.run(cmd, g, args) },
	}
	f := c.Flags()
	f.StringVar(&p.s3o.Endpoint, "endpoint", "", "S3 endpoint URL (MinIO, Ceph, R2...; default AWS_ENDPOINT_URL, else AWS)")
	f.StringVar(&p.s3o.Region, "region", "", "S3 region (default AWS_REGION or the AWS config, else us-east-1)")
	f.BoolVar(&p.s3o.PathStyle, "path-style", false, "put the bucket in the URL path (default: on with a custom endpoint)")
	f.BoolVar(&p.o.DryRun, "dry-run", false, "list what would be uploaded and deleted, change nothing")
	f.BoolVar(&p.o.Prune, "prune", false, "delete remote files the site no longer has (never releases)")
	f.BoolVar(&p.o.Force, "force", false, "publish over a newer or diverged remote index (rollback on purpose), or over files at the site's paths in a target that holds no registry")
	f.IntVar(&p.o.Jobs, "jobs", publish.DefaultJobs, "parallel uploads")
	// As the commands that download have them (connFlags), but the
	// timeout bounds the whole publish: an upload of a large registry
	// takes as long as it takes while it moves.
	f.StringVar(&p.logAnchor, "log-anchor", "", "a checkpoint of the registry's transparency log kept outside the destination (log/checkpoint saved after the last publish, or a witness's state/checkpoint): the site's log must extend it (exit 1 otherwise), and a live log behind it is warned of")
	f.DurationVar(&p.o.Timeout, "timeout", 0, "give up on a publish not done within this long (0: no limit; --stall-timeout still ends a silent one)")
	f.DurationVar(&p.silence, "stall-timeout", transport.DefaultStallTimeout, "s3://, oci://: give up on an upload or download that moves nothing for this long")
	f.StringVar(&p.keyRef, "key", "", "oci://: the registry's private key, to cosign-sign each release (file or env://VAR)")
	f.StringArrayVar(&p.sourceKeys, "source-key", nil, "the registry's public key, which SITE must verify under before anything is uploaded: its index.json and catalogue manifest (s3://, directories), or for oci:// from another registry (promotion) without --key, its root and cosign signatures (repeat during a key rotation)")
	p.oci.add(c)
	outputFlag(c, &p.output, "text", "json")
	return c
}

// publishFlags are publish's flags.
type publishFlags struct {
	s3o        publish.S3Options
	oci        ociFlags
	keyRef     string
	sourceKeys []string
	o          publish.Options
	output     string
	silence    time.Duration
	logAnchor  string
}

// run publishes site args[0] to args[1].
func (p *publishFlags) run(cmd *cobra.Command, g *globalOptions, args []string) error {
	// Each destination says which options it uses: one it would
	// ignore is refused, never dropped.
	// A registry URL as SITE goes only to oci:// (promotion):
	// said before the options, which are oci://'s too.
	if err := publish.CheckSource(args[0], args[1]); err != nil {
		return usageErr("%v", err)
	}
	var given []string
	cmd.Flags().Visit(func(f *pflag.Flag) { given = append(given, f.Name) })
	if err := publish.CheckOptions(args[1], given); err != nil {
		return usageErr("%v", err)
	}
	if !cmd.Flags().Changed("path-style") {
		p.s3o.PathStyle = publish.CustomEndpoint(p.s3o.Endpoint)
	}
	bar, warns := publishLog(g, &p.o, p.output)
	warn, err := checkSiteExpiry(args[0])
	if err != nil {
		return err
	}
	if warn != "" && p.output == "text" {
		g.warnf("%s\n", warn)
	}
	if p.logAnchor != "" {
		if p.o.LogAnchor, err = safefile.ReadFile(p.logAnchor, translog.MaxCheckpointSize); err != nil {
			return usageErr("--log-anchor: %v", err)
		}
	}
	p.s3o.StallTimeout = p.silence
	do := publish.DestOptions{S3: p.s3o}
	if len(p.sourceKeys) > 0 && !strings.HasPrefix(args[1], "oci://") {
		if p.o.Verify, err = readVerifiers("--source-key", p.sourceKeys); err != nil {
			return err
		}
	}
	if strings.HasPrefix(args[1], "oci://") {
		if do.OCI, err = ociDestOptions(cmd.Context(), g, p.oci, p.keyRef, p.sourceKeys, p.silence); err != nil {
			return err
		}
	}
	res, err := publish.To(cmd.Context(), args[0], args[1], do, p.o)
	bar.done()
	refused := err != nil && errors.Is(err, publish.ErrImmutable) && res != nil && res.Releases != nil
	if err != nil && !(refused && p.output == "json") {
		return publishErr(err)
	}
	return printPublish(g, res, args[0], warn, warns, p.o.DryRun, p.output, err)
}

// progressLines turns publish's log (a line per file) into one counter
// line on a terminal; other lines (warnings) are printed as they come.
type progressLines struct {
	bar      counterLine
	counter  bool       // show the counter (a terminal); else files are only counted
	quiet    bool       // -q: only warnings get their line
	warns    *warnLines // -o json: where warnings also go (nil: nowhere)
	mu       sync.Mutex // guards lines and the counts (bar has its own)
	lines    linesplit.Splitter
	uploaded int
	deleted  int
}

func (p *progressLines) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines.Split(b, p.line)
	return len(b), nil
}

// line handles one whole line of publish's log (p.mu held).
func (p *progressLines) line(line string) {
	switch {
	case strings.HasPrefix(line, "uploaded "):
		p.uploaded++
	case strings.HasPrefix(line, "deleted "):
		p.deleted++
	case strings.HasPrefix(line, "would "):
		// -o json --dry-run: the plan is in the document.
		return
	default:
		isWarn := strings.HasPrefix(line, "warning: ")
		if isWarn && p.warns != nil {
			p.warns.Write([]byte(line + "\n"))
		}
		if p.quiet && !isWarn {
			return
		}
		p.bar.println(esc(line))
	}
	if p.counter {
		p.bar.show("%d uploaded, %d deleted", p.uploaded, p.deleted)
	}
}

// done ends the counter line (nil: there was none).
func (p *progressLines) done() {
	if p != nil {
		p.bar.end()
	}
}

// checkSiteExpiry refuses a site whose index.json has expired (no client
// would accept it) and returns a warning when it expires within a week.
// A site without a readable index is left to publish to report.
func checkSiteExpiry(dir string) (string, error) {
	data, err := safefile.ReadFile(filepath.Join(dir, index.RootFile), index.MaxRootSize)
	if err != nil {
		return "", nil
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		return "", nil
	}
	if !root.Expires.After(time.Now()) {
		return "", badErr(fmt.Errorf("%w: %s/index.json expired at %s (%s ago): clients refuse it; rebuild with `packgen build --refresh` before publishing", errExpired, dir, root.Expires.UTC().Format(time.RFC3339), build.RoundDuration(time.Since(root.Expires))))
	}
	return expiryWarning(root.Expires), nil
}

// ociDestOptions opens OCI repositories with the command's options and
// loads the signing key.
func ociDestOptions(ctx context.Context, g *globalOptions, f ociFlags, keyRef string, sourceKeys []string, silence time.Duration) (publish.OCIOptions, error) {
	o, err := f.options()
	if err != nil {
		return publish.OCIOptions{}, err
	}
	o.StallTimeout = silence
	clients := ocireg.NewClients(o)
	do := publish.OCIOptions{
		Repos: func(ref string) (*remote.Repository, error) { return clients.Repository(ctx, ref) },
		Source: func(loc location.Location) (transport.Transport, error) {
			return transport.Open(loc, transport.Config{Timeout: 30 * time.Minute, Stall: silence, OCI: o})
		},
	}
	if keyRef != "" {
		// Decrypted only when something is signed (scrypt costs about
		// 0.2 s of CPU, most of a publish with nothing new).
		if l := sign.NewLazy(keyRef, passFunc(g)); l != nil {
			do.Signer = l
		} else {
			s, err := sign.LoadSignerRef(keyRef, passFunc(g))
			if err != nil {
				return do, usageErr("--key: %v", err)
			}
			do.Signer = s
		}
	}
	if len(sourceKeys) > 0 {
		v, err := readVerifiers("--source-key", sourceKeys)
		if err != nil {
			return do, err
		}
		do.Verify = v
	}
	return do, nil
}

func publishErr(err error) error {
	switch {
	case errors.Is(err, publish.ErrDestination), errors.Is(err, publish.ErrUnverifiedSource):
		return usageErr("%v", err)
	case errors.Is(err, publish.ErrRollback), errors.Is(err, publish.ErrKeyChange), errors.Is(err, publish.ErrImmutable), errors.Is(err, publish.ErrNotSite), errors.Is(err, publish.ErrLink), errors.Is(err, publish.ErrExposedDir), errors.Is(err, publish.ErrOverwrite),
		errors.Is(err, publish.ErrFork), errors.Is(err, publish.ErrWitnessFile), errors.Is(err, translog.ErrBehindAnchor):
		return badErr(err)
	}
	return err
}

// printPublish reports a publish of site: a JSON document (with the
// expiry warning and the others), else one summary line.
// printPublish prints the result; err is a publish refused for
// immutability, whose JSON document lists the refusals (the error then
// says what to do).
func printPublish(g *globalOptions, res *publish.Result, site, warn string, warns *warnLines, dryRun bool, output string, err error) error {
	if output == "json" {
		out := struct {
			*publish.Result
			// Counts beside the lists: "unchanged" has no list
			// (it would name every file of the site).
			Counts   map[string]int `json:"counts"`
			Warnings meta.Problems  `json:"warnings"`
		}{res, map[string]int{"uploaded": len(res.Uploaded), "unchanged": res.Unchanged, "deleted": len(res.Deleted), "kept": len(res.Kept), "skipped": len(res.Skipped), "extra": len(res.Extra)}, meta.Problems{}}
		if warn != "" {
			out.Warnings = append(out.Warnings, meta.Problem{File: filepath.ToSlash(filepath.Join(site, index.RootFile)), Severity: meta.SevWarning, Msg: warn})
		}
		out.Warnings = append(out.Warnings, warns.problems()...)
		if werr := writeJSON(g, out); werr != nil || err == nil {
			return werr
		}
		return publishErr(err)
	}
	if g.quiet {
		return nil
	}
	verb := "published"
	if dryRun {
		verb = "dry run:"
	}
	if rc := res.Releases; rc != nil {
		pushed := "pushed"
		if dryRun {
			pushed = "to push"
		}
		fmt.Fprintf(g.stdout, "%s %s to %s: %d release(s) %s, %d already there, %d refused, %d signature(s) pushed (serial %d)\n", verb, site, res.Target, len(rc.Pushed), pushed, rc.Present, len(rc.Refused), rc.Signed, res.Serial)
		return nil
	}
	serial := fmt.Sprintf("serial %d, first publish", res.Serial)
	if res.RemoteSerial != 0 {
		serial = fmt.Sprintf("serial %d → %d", res.RemoteSerial, res.Serial)
	}
	up, del := "uploaded", "deleted"
	if dryRun {
		up, del = "to upload", "to delete"
	}
	kept := ""
	if len(res.Kept) > 0 {
		// Remote files this site no longer has: say why they stay.
		kept = fmt.Sprintf(", %d kept on the remote that the site no longer has (--prune deletes what no client can still need)", len(res.Kept))
	}
	extra := ""
	if len(res.Extra) > 0 {
		// Published, but nothing signs or checks them: say which.
		extra = fmt.Sprintf(", %d not part of the registry (%s: published as they are, checked by nothing)", len(res.Extra), textsafe.Escape(phrase.Few(res.Extra, 3)))
	}
	fmt.Fprintf(g.stdout, "%s %s to %s: %d %s, %d unchanged, %d %s%s%s (%s)\n", verb, site, res.Target, len(res.Uploaded), up, res.Unchanged, len(res.Deleted), del, kept, extra, serial)
	return nil
}

// publishLog sets where a publish logs: the plan of a text dry run is the
// output; else one line per file would be thousands of lines for a large
// registry: a counter on a terminal (bar), else only the summary;
// warnings and notes always get their line (and warnings a place in -o
// json: warns).
func publishLog(g *globalOptions, o *publish.Options, output string) (bar *progressLines, warns *warnLines) {
	if output == "json" {
		warns = &warnLines{}
	}
	if o.DryRun && output == "text" {
		o.Log = g.stdout
		return nil, warns
	}
	bar = &progressLines{bar: counterLine{w: g.stderr}, counter: g.interactive(), quiet: g.quiet, warns: warns}
	o.Log = bar
	return bar, warns
}
