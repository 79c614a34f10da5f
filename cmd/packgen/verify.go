package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/transport"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/rebuild"
	"github.com/packgen/packgen/sign"
	"github.com/spf13/cobra"
)

func init() { register(newVerifyCmd) }

// readFile reads a key file named on the command line: a regular file of
// bounded size (sign.ReadKeyFile).
func readFile(p string) ([]byte, error) { return sign.ReadKeyFile(p) }

// readPublicKey reads the public key file path given as flag, checked
// here, where the file's name is known: later it is only the registry's
// key, and a private key given by mistake would read as an operational
// failure elsewhere.
func readPublicKey(flag, path string) ([]byte, error) {
	pem, err := sign.ReadKeyFile(path)
	if err != nil {
		return nil, usageErr("%s: %v", flag, err)
	}
	if _, err := sign.LoadPublicKey(pem); err != nil {
		return nil, usageErr("%s %s: %v", flag, path, err)
	}
	return pem, nil
}

// readVerifiers reads the public key files of a repeatable flag as one
// set (any key verifies).
func readVerifiers(flag string, paths []string) (*sign.Verifier, error) {
	var pems [][]byte
	for _, k := range paths {
		pem, err := readPublicKey(flag, k) // one at a time: the error names the file of several
		if err != nil {
			return nil, err
		}
		pems = append(pems, pem)
	}
	v, err := sign.NewVerifierSet(pems...)
	if err != nil {
		return nil, usageErr("%s: %v", flag, err)
	}
	return v, nil
}

// maxSignatureFile bounds a .sig or Sigstore bundle given to verify.
const maxSignatureFile = 1 << 20

// verifyOptions are verify's flags.
type verifyOptions struct {
	keys                  []string
	sigFile, site, output string
	repo                  string
	packsDir              string
	insecure              bool
	subset                bool
	oci                   ociFlags
	wit                   witnessFlags
	verifier              *sign.Verifier // from keys; nil without
}

func newVerifyCmd(g *globalOptions) *cobra.Command {
	o := &verifyOptions{}
	c := &cobra.Command{
		Use:   "verify [ARCHIVE --key pub.pem | --site NAME|DIR|URL]",
		Short: "Verify an archive's signature, or every digest and signature of a site",
		Long: `With ARCHIVE, check its signature (ARCHIVE.sig by default, or a Sigstore
bundle given with --signature x.sigstore.json). With --site DIR|URL, check
a whole registry: the index signature, every bucket and shard digest, and
every archive's digest, size and signature, and the catalogue's pages
against their signed manifest; every problem is reported (a directory is
listed, so a file of any name added in assets/ or packs/NAME/ is one; a
URL cannot be listed, so there only the catalogue's own names are looked
for). --site also takes a configured registry's name
(its URL and keys from the config, as fetch reads it), which wins over a
directory of that name here, as in list: write ./NAME for the directory.
With --site and --repo, also prove the site is exactly the repository's
content (the rebuild check): every archive's files are compared by git
blob ID with the tree of the commit its release records, and the archive
is rebuilt from that tree and compared byte for byte; the index's
retirements must be those of the packs directory's retired.yaml at the
built commit (--packs-dir, as the build was given it). Anyone with the
public repository can run it against a published registry.
With --site and log witnesses (a configured registry's, or --witness keys
with --witnesses N and --witness-max-age), every witness's cosignature is
verified and proved consistent with the log, and the quorum reported: a
bad cosignature, or a quorum not met, is a problem.
An air-gapped registry (packgen airgap import) holds only the releases its
bundles carried under its source's signed index: every file present is
verified, and the files it lacks are listed as absent; they fail the check
unless --subset says the registry is meant to be a subset (its marker,
which names the bundles, is not signed, so it alone cannot excuse them).
Exits 1 when anything does not verify.`,
		Example: `  packgen verify site/packs/calico/3.27.3/calico-3.27.3.tar.gz --key registry.pub
  packgen verify --site site --key registry.pub
  packgen verify --site acme
  packgen verify --site https://packs.acme.example --key registry.pub -o json
  packgen verify --site https://packs.acme.example --key registry.pub --repo . --packs-dir packs
  packgen verify --site https://packs.acme.example --key registry.pub --witness w1.pub --witness w2.pub --witnesses 1
  packgen verify --site oci://airgap.local/palette --key registry.pub --subset`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.loadKeys(); err != nil {
				return err
			}
			if o.packsDir != "" && o.repo == "" {
				return usageErr("--packs-dir goes with --repo: the packs directory of the repository the site is checked against")
			}
			if o.site != "" {
				if len(args) > 0 {
					return usageErr("give an ARCHIVE or --site, not both")
				}
				return runVerifySite(cmd.Context(), g, o)
			}
			if len(args) == 0 {
				return usageErr("give an ARCHIVE to verify, or --site DIR|URL")
			}
			return runVerifyArchive(g, o, args[0])
		},
	}
	c.Flags().StringArrayVar(&o.keys, "key", nil, "public key PEM (repeat to accept any of several)")
	c.Flags().StringVar(&o.sigFile, "signature", "", "signature file: .sig or .sigstore.json (default ARCHIVE.sig)")
	c.Flags().StringVar(&o.site, "site", "", "verify a whole registry site: a configured registry's name, a directory or a URL (oci://REGISTRY/BASE included)")
	_ = c.RegisterFlagCompletionFunc("site", siteCompletion(g))
	o.oci.add(c)
	c.Flags().StringVar(&o.repo, "repo", "", "with --site: also prove every archive is exactly its git tree (compare by blob ID, rebuild byte for byte)")
	c.Flags().StringVar(&o.packsDir, "packs-dir", "", "with --repo: the packs directory the registry is built from (build's --packs-dir), whose retired.yaml the index's retirements must match")
	c.Flags().BoolVar(&o.subset, "subset", false, "with --site: accept an air-gapped registry's absent releases (those its airgap import marker says no bundle carried)")
	c.Flags().BoolVar(&o.insecure, "insecure-skip-verify", false, "DANGEROUS: with --site and no --key, check digests only, not signatures")
	o.wit.add(c, "with --site and --witness: how many witnesses must have cosigned the log (default: all given)")
	outputFlag(c, &o.output, "text", "json")
	return c
}

// loadKeys reads the --key files into o.verifier.
func (o *verifyOptions) loadKeys() error {
	if len(o.keys) == 0 {
		return nil
	}
	var err error
	o.verifier, err = readVerifiers("--key", o.keys)
	return err
}

// runVerifySite checks a whole site (client.VerifySite) and, with
// --repo, that it is exactly the repository's content (rebuild.CheckSite).
func runVerifySite(ctx context.Context, g *globalOptions, o *verifyOptions) error {
	// A configured registry's name, as list, info and fetch take it: its
	// URL, keys and token from the config.
	ref, err := resolveSite(g, "--site", o.site)
	if err != nil {
		return err
	}
	reg, named := ref.reg, ref.named
	if ref.clash != "" {
		g.warnf("%s\n", ref.clash) // before siteVerifier's refusals, which it explains
	}
	warnings, err := o.siteVerifier(g, reg, named)
	if err != nil {
		return err
	}
	if ref.clash != "" {
		warnings = append(warnings, meta.Problem{Severity: meta.SevWarning, Msg: ref.clash})
	}
	wreg, err := o.wit.registry(reg, named, o.site)
	if err != nil {
		return err
	}
	site, tr, err := o.siteTransport(reg, named)
	if err != nil {
		return err
	}
	rep, wrep, err := verifySiteAs(ctx, tr, o.verifier, wreg, o.subset)
	if err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		warnings = append(warnings, meta.Problem{File: w.Path, Severity: meta.SevWarning, Msg: w.Err})
	}
	var rb *rebuild.SiteReport
	if o.repo != "" {
		s, err := rebuild.Open(ctx, tr, site, rep.Root, o.repo)
		if err != nil {
			return err
		}
		s.PacksDir, s.Command = o.packsDir, "verify"
		if rb, err = s.Check(ctx); err != nil {
			return err
		}
	}
	problems := len(rep.Problems)
	if rb != nil {
		problems += len(rb.Problems)
	}
	if o.output == "json" {
		out := struct {
			*client.SiteReport
			Witnesses *client.WitnessReport `json:"witnesses,omitempty"`
			Rebuild   *rebuild.SiteReport   `json:"rebuild,omitempty"`
			Warnings  meta.Problems         `json:"warnings"`
		}{rep, wrep, rb, warnings}
		if err := writeJSON(g, out); err != nil {
			return err
		}
	} else {
		printSiteReport(g, o, rep, rb)
		printWitnessReport(g, wrep)
		for _, w := range rep.Warnings {
			g.warnf("%s: %s\n", esc(w.Path), esc(w.Err))
		}
	}
	if problems > 0 {
		return silentBad
	}
	return nil
}

// siteVerifier sets o.verifier for verify --site: the --key files
// (already read), or a configured registry's keys; with neither, only
// --insecure-skip-verify goes on, with the warning it returns.
func (o *verifyOptions) siteVerifier(g *globalOptions, reg client.Registry, named bool) (meta.Problems, error) {
	warnings := meta.Problems{}
	if named {
		if err := o.oci.refuseConfigured(o.site); err != nil {
			return nil, err
		}
		if len(o.keys) > 0 {
			return nil, usageErr("--key goes with --site DIR|URL: registry %s has its keys in the config (packgen registry add %s URL --key ... replaces them)", o.site, o.site)
		}
		if o.wit.given() {
			return nil, usageErr("--witness, --witnesses and --witness-max-age go with --site DIR|URL: registry %s has its witnesses in the config (packgen registry add %s URL --key ... --witness ... replaces them)", o.site, o.site)
		}
		v, err := reg.Verifier()
		if err != nil {
			return nil, err
		}
		o.verifier = v
		if v == nil && !o.insecure {
			return nil, usageErr("%w: registry %s has no public key: add it with `packgen registry add %s %s --key registry.pub` (the key comes from the registry's owner), or pass --insecure-skip-verify to check digests only", errNoKey, o.site, o.site, reg.URL)
		}
	}
	if o.verifier == nil {
		if !o.insecure {
			return nil, usageErr("%w: no public key given: verify --site needs the registry's public key (--key registry.pub, given out of band by its owner: the .pub that `packgen key generate` wrote beside the key it is built with); pass --insecure-skip-verify to check digests only", errNoKey)
		}
		const warn = "--insecure-skip-verify: checking digests only, not signatures"
		g.logf("WARNING: %s\n", warn)
		warnings = append(warnings, meta.Problem{Severity: meta.SevWarning, Msg: warn})
	}
	return warnings, nil
}

// siteTransport opens the site verify --site reads: a configured
// registry with its token, or a directory or URL (oci:// included).
func (o *verifyOptions) siteTransport(reg client.Registry, named bool) (string, transport.Transport, error) {
	if !named {
		tr, err := o.oci.openSite("--site", o.site)
		return o.site, tr, err
	}
	token, err := reg.Token()
	if err != nil {
		return "", nil, usageErr("%v", err)
	}
	tr, err := reg.Transport(token, 0, 0)
	return reg.URL, tr, err
}

func printSiteReport(g *globalOptions, o *verifyOptions, rep *client.SiteReport, rb *rebuild.SiteReport) {
	for _, p := range rep.Problems {
		fmt.Fprintf(g.stdout, "%s: %s\n", esc(p.Path), esc(p.Err))
	}
	if rb != nil {
		for _, p := range rb.Problems {
			printRebuildProblem(g, p)
		}
	}
	g.summaryf("%s: %s, %s, %s checked, %s\n", esc(o.site), phrase.Count(rep.Packs, "pack"), phrase.Count(rep.Releases, "release"), phrase.Count(rep.Files, "file"), phrase.Count(len(rep.Problems), "problem"))
	if s := rep.Subset; s != nil {
		accepted := ""
		if s.Accepted {
			accepted = " (accepted: --subset)"
		}
		g.summaryf("%s: an air-gapped subset (bundle list %s): %s and %s of the signed index absent, not checked%s\n", esc(o.site), strings.Join(s.Bundles, ", "), phrase.Count(s.Releases, "release"), phrase.Count(len(s.Absent), "file"), accepted)
		if len(s.Dropped) > 0 {
			g.summaryf("%s: dropped by a later import (their packs changed at the source; the signed index no longer leads to them here): %s\n", esc(o.site), esc(strings.Join(s.Dropped, ", ")))
		}
	}
	if rb != nil {
		g.summaryf("%s against %s: %s compared with git and rebuilt, %s\n", esc(o.site), esc(o.repo), phrase.Count(rb.Releases, "release"), phrase.Count(len(rb.Problems), "problem"))
	}
}

// printRebuildProblem prints a problem of the checks against git: of a
// release (name@version: file: message), or of the whole site (file:
// message).
func printRebuildProblem(g *globalOptions, p rebuild.Problem) {
	if p.Pack == "" {
		fmt.Fprintf(g.stdout, "%s: %s\n", esc(p.Path), esc(p.Msg))
		return
	}
	fmt.Fprintf(g.stdout, "%s@%s: %s: %s\n", esc(p.Pack), esc(p.Version), esc(p.Path), esc(p.Msg))
}

// runVerifyArchive checks one archive's signature (.sig or bundle).
func runVerifyArchive(g *globalOptions, o *verifyOptions, archive string) error {
	v := o.verifier
	if v == nil {
		return usageErr("--key is required to verify an archive")
	}
	sigFile, given := o.sigFile, o.sigFile != ""
	if !given {
		sigFile = archive + sign.SigExt
	}
	report := func(err error) error { return reportArchive(g, o.output, archive, sigFile, err) }
	f, err := safefile.Open(archive)
	if err != nil {
		return usageErr("%v", err)
	}
	defer f.Close()
	sig, err := safefile.ReadFile(sigFile, maxSignatureFile)
	if errors.Is(err, fs.ErrNotExist) && !given {
		// Not signed: what was checked is bad, as a bad signature.
		return report(fmt.Errorf("%s: %w: there is no %s beside it (built without --key?); give another with --signature", archive, sign.ErrBadSignature, sigFile))
	}
	if err != nil {
		return usageErr("signature: %v", err)
	}
	if len(sig) > 0 && sig[0] == '{' {
		err = v.VerifyBundle(f, sig)
	} else {
		err = v.VerifyBlob(f, sig)
	}
	if err != nil {
		if errors.Is(err, sign.ErrBadSignature) {
			return report(fmt.Errorf("%s: %w", archive, err))
		}
		return err
	}
	return report(nil)
}

// reportArchive prints an archive's result, in text or JSON: a failed
// check is reported like a passed one (exit 1), an unusable input is an
// error.
func reportArchive(g *globalOptions, output, archive, sigFile string, err error) error {
	if output == "json" {
		out := struct {
			Archive   string `json:"archive"`
			Signature string `json:"signature"`
			Verified  bool   `json:"verified"`
			Error     string `json:"error,omitempty"`
			// Nothing to warn about: there for the shape every -o json
			// shares (docs/JSON.md).
			Warnings meta.Problems `json:"warnings"`
		}{archive, sigFile, err == nil, "", meta.Problems{}}
		if err != nil {
			out.Error = err.Error()
		}
		if werr := writeJSON(g, out); werr != nil {
			return werr
		}
		if err != nil {
			return silentBad
		}
		return nil
	}
	if err != nil {
		return badErr(err)
	}
	g.summaryf("%s: signature verified (%s)\n", archive, sigFile)
	return nil
}
