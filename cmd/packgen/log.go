package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/rebuild"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/witness"
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
	return group(c, newLogShowCmd(g), newLogAuditCmd(g), newLogWitnessCmd(g))
}

func newLogShowCmd(g *globalOptions) *cobra.Command {
	cf := &clientFlags{}
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a pack's history from the registry's log",
		Long: `Print every entry of pack NAME in the registry's transparency log, in the
order they were published: index, version, archive sha256, source commit
and the key that appended it. The log is checked against the signed
index.json (and against the log this machine saw before); it lists every
release ever published, including any the index no longer does.
--plain-http, --ca-file and --username are for --url oci://HOST/BASE; a
configured registry keeps its own (packgen registry add).`,
		Example: `  packgen log show calico --registry acme
  packgen log show calico --url https://packs.acme.example --key registry.pub -o json
  packgen log show calico --url oci://localhost:5000/packs --key registry.pub --plain-http`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			if cf.json() {
				return writeJSON(g, struct {
					Size     int64             `json:"logSize"`
					Entries  []client.LogEntry `json:"entries"`
					Warnings meta.Problems     `json:"warnings"`
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
	c.ValidArgsFunction = cf.packArg(g, nil)
	return c
}

func newLogAuditCmd(g *globalOptions) *cobra.Command {
	o := &logAuditOptions{}
	c := &cobra.Command{
		Use:   "audit SITE --repo REPO --key registry.pub",
		Short: "Replay a registry's log against its git repository",
		Long: `Prove a published registry is exactly its repository, history included:
the index's signature, every digest and archive signature, the log's
checkpoint (signed by the log key the index names), every log entry is
exactly one release of the index and every release is in the log (verify
--site); every release is its git tree, rebuilt byte for byte (the
rebuild check; the index's retirements those of retired.yaml in
--packs-dir at the built commit); and every log entry names a commit on the first-parent
history of the commit the site was built from. What a third party runs.
With --witness keys, every witness's cosignature is checked as verify
--site checks it, and the quorum reported.
Exits 1 when anything does not hold.`,
		Example: `  packgen log audit https://packs.acme.example --repo . --key registry.pub --packs-dir packs
  packgen log audit oci://registry.acme.example/packs --repo . --key registry.pub --username ci
  packgen log audit https://packs.acme.example --repo . --key registry.pub --witness w1.pub --witness-max-age 168h`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runLogAudit(cmd, g, o, args[0]) },
	}
	c.Flags().StringArrayVar(&o.keys, "key", nil, "the registry's public key")
	c.Flags().StringVar(&o.repo, "repo", "", "clone of the registry's git repository (full history)")
	c.Flags().StringVar(&o.packsDir, "packs-dir", "", "the packs directory the registry is built from (build's --packs-dir), whose retired.yaml the index's retirements must match")
	o.oci.add(c)
	o.wit.add(c, "with --witness: how many witnesses must have cosigned the log (default: all given)")
	outputFlag(c, &o.output, "text", "json")
	return c
}

func newLogWitnessCmd(g *globalOptions) *cobra.Command {
	o := &logWitnessOptions{}
	c := &cobra.Command{
		Use:   "witness SITE --key witness.key --out DIR",
		Short: "Cosign a registry's log checkpoint as an independent witness",
		Long: `What an independent party runs on a schedule (its own CI) to make a
registry's history the same for everyone: read the log's checkpoint from
SITE (a directory, URL or oci://REGISTRY/BASE, as for verify --site), verify it under the log's
key, prove it extends the checkpoint this witness cosigned last, and write
the checkpoint with this witness's cosignature (C2SP tlog-cosignature) to
OUT/log/witness/NAME. The registry publishes that file at the same path in
its site, where clients that require witnesses (registry add --witness)
read it.

The log's key is --log-key, or the one pinned in the state directory, or
on the first run the log key the registry's index.json names (pinned
then; with --registry-key, only once index.json's signature verifies
under the registry's public key, and on every run the checkpoint must be
of the log of the registry index.json names). When the registry rotates
its key (docs/SECURITY.md), its log key rotates too: with the old and the
new public key as --registry-key, the witness follows the log key the
verified index.json names, once the new log extends the tree it
cosigned, and pins it (STATE/rotation-TIME/ keeps what it followed);
without --registry-key it refuses and says so. The state
directory (default: one per SITE under $XDG_STATE_HOME/packgen/witness)
is the witness's memory and must persist between runs.

A log that forked (another root for a size already cosigned, or a tree
that does not contain it) is never cosigned: both signed checkpoints are
kept in STATE/fork-TIME/ as evidence, and the command exits 1, as it does
for a log smaller than the one cosigned before. The key is made with
packgen key generate --witness NAME.`,
		Example: `  packgen key generate --witness witness.example.org --prefix witness
  packgen log witness https://packs.acme.example --key witness.key --registry-key registry.pub --out public
  packgen log witness ./site --key env://WITNESS_KEY --out ./site --state .witness-state -o json
  packgen log witness oci://registry.acme.example/packs --key witness.key --registry-key registry.pub --out public`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runLogWitness(cmd, g, o, args[0]) },
	}
	c.Flags().StringVar(&o.keyRef, "key", "", "the witness's private key (file, or env://VAR), from packgen key generate --witness")
	c.Flags().StringVar(&o.Out, "out", "", "directory to write OUT/log/witness/NAME to (the registry publishes it at that path)")
	c.Flags().StringVar(&o.StateDir, "state", "", "the witness's state directory for this log (default: per SITE under $XDG_STATE_HOME/packgen/witness)")
	c.Flags().StringVar(&o.LogKey, "log-key", "", "the log's verifier key (default: pinned, or index.json's on the first run)")
	c.Flags().StringArrayVar(&o.regKeys, "registry-key", nil, "the registry's public key (repeatable: during a key rotation, the old and the new one): verify index.json's signature (before pinning its log key, and before following a rotation to the log key it names) and that the checkpoint is of the registry it names")
	o.oci.add(c)
	outputFlag(c, &o.output, "text", "json")
	return c
}

// logAuditOptions are the flags of log audit.
type logAuditOptions struct {
	keys         []string
	repo, output string
	packsDir     string
	oci          ociFlags
	wit          witnessFlags
}

// runLogAudit checks audit's flags, then verifies SITE, rebuilds it from
// the repository and replays its log against the repository's history.
func runLogAudit(cmd *cobra.Command, g *globalOptions, o *logAuditOptions, site string) error {
	if o.repo == "" {
		return usageErr("--repo is required: a clone of the registry's repository, with full history")
	}
	if len(o.keys) == 0 {
		return usageErr("%w: log audit needs the registry's public key (--key registry.pub)", errNoKey)
	}
	v, err := readVerifiers("--key", o.keys)
	if err != nil {
		return err
	}
	wreg, err := o.wit.registry(client.Registry{}, false, site)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	tr, err := o.oci.openSite("SITE", site)
	if err != nil {
		return err
	}
	vs, wrep, err := verifySite(ctx, tr, v, wreg)
	if err != nil {
		return err
	}
	// The repository is opened and index.json read once: the checks
	// against git start from the root whose signature the walk checked.
	s, err := rebuild.Open(ctx, tr, site, vs.Root, o.repo)
	if err != nil {
		return err
	}
	s.PacksDir, s.Command = o.packsDir, "log audit"
	rb, err := s.Check(ctx)
	if err != nil {
		return err
	}
	lg, err := s.CheckLog(ctx)
	if err != nil {
		return clientErr(err)
	}
	return printLogAudit(g, o, site, vs, wrep, rb, lg)
}

// printLogAudit reports an audit, in text or JSON; any problem is exit 1.
func printLogAudit(g *globalOptions, o *logAuditOptions, site string, vs *client.SiteReport, wrep *client.WitnessReport, rb *rebuild.SiteReport, lg *rebuild.LogReport) error {
	problems := len(vs.Problems) + len(rb.Problems) + len(lg.Problems)
	if o.output == "json" {
		if err := writeJSON(g, struct {
			Site      *client.SiteReport    `json:"site"`
			Witnesses *client.WitnessReport `json:"witnesses,omitempty"`
			Rebuild   *rebuild.SiteReport   `json:"rebuild"`
			Log       *rebuild.LogReport    `json:"log"`
			Warnings  meta.Problems         `json:"warnings"` // none: the shape every -o json shares
		}{vs, wrep, rb, lg, meta.Problems{}}); err != nil {
			return err
		}
	} else {
		for _, p := range vs.Problems {
			fmt.Fprintf(g.stdout, "%s: %s\n", esc(p.Path), esc(p.Err))
		}
		// A repository without the built commit is a problem of both
		// checks (each report stands alone in JSON): printed once.
		seen := map[rebuild.Problem]bool{}
		for _, p := range append(rb.Problems, lg.Problems...) {
			if seen[p] {
				problems--
				continue
			}
			seen[p] = true
			printRebuildProblem(g, p)
		}
		g.summaryf("%s: %s replayed against %s at %.12s, %s rebuilt, %s\n", esc(site), phrase.Count(int(lg.Entries), "log entry"), esc(o.repo), lg.Commit, phrase.Count(rb.Releases, "release"), phrase.Count(problems, "problem"))
		printWitnessReport(g, wrep)
	}
	if problems > 0 {
		return silentBad
	}
	return nil
}

// logWitnessOptions are the flags of log witness.
type logWitnessOptions struct {
	witness.Options
	keyRef, output string
	regKeys        []string
	oci            ociFlags
}

// runLogWitness checks witness's flags, reads its keys and cosigns.
func runLogWitness(cmd *cobra.Command, g *globalOptions, o *logWitnessOptions, site string) error {
	if o.keyRef == "" || o.Out == "" {
		return usageErr("--key (the witness's private key) and --out (where the cosigned checkpoint goes) are required")
	}
	key, err := readSecret(o.keyRef)
	if err != nil {
		return usageErr("--key: %v", err)
	}
	o.Site, o.Key, o.LogKey = site, string(key), strings.TrimSpace(o.LogKey)
	if len(o.regKeys) > 0 {
		if o.RegistryKey, err = readVerifiers("--registry-key", o.regKeys); err != nil {
			return err
		}
	}
	if o.StateDir == "" {
		sum := sha256.Sum256([]byte(strings.TrimSuffix(o.Site, "/")))
		o.StateDir = filepath.Join(client.DefaultStateDir(), "witness", hex.EncodeToString(sum[:8]))
	}
	if o.Source, err = o.oci.openSite("SITE", site); err != nil {
		return err
	}
	res, err := witness.Run(cmd.Context(), o.Options)
	switch {
	case res != nil && res.Evidence != "" && errors.Is(err, witness.ErrOrigin):
		g.logf("evidence (index.json and its signature, the checkpoint signed by the log's key) kept in %s: send it to the registry's users\n", res.Evidence)
	case res != nil && res.Evidence != "":
		g.logf("evidence of the fork (both checkpoints, signed by the log's key) kept in %s: send it to the registry's users\n", res.Evidence)
	}
	if err != nil {
		if errors.Is(err, translog.ErrWitnessKey) {
			return usageErr("--key %s: %w", o.keyRef, err)
		}
		for _, bad := range []error{client.ErrBadSignature, client.ErrUnsigned, witness.ErrNoLog, witness.ErrFork, witness.ErrRollback, witness.ErrLogKey, witness.ErrOrigin, witness.ErrOutLink, translog.ErrCheckpoint, translog.ErrCosignature, translog.ErrTile, translog.ErrInconsistent} {
			if errors.Is(err, bad) {
				return badErr(err)
			}
		}
		return clientErr(err)
	}
	return printLogWitness(g, o, res)
}

// printLogWitness reports a cosigned checkpoint, in text or JSON.
func printLogWitness(g *globalOptions, o *logWitnessOptions, res *witness.Result) error {
	switch {
	case res.RotatedFrom != "":
		g.logf("followed the registry's key rotation: log key %s pinned in %s, replacing %s\n", res.LogKey, o.StateDir, res.RotatedFrom)
	case res.Pinned:
		g.logf("log key %s pinned in %s (first run)\n", res.LogKey, o.StateDir)
	}
	if o.output == "json" {
		return writeJSON(g, struct {
			*witness.Result
			Warnings meta.Problems `json:"warnings"`
		}{res, meta.Problems{}})
	}
	g.summaryf("%s cosigned %s at %d entries (%s; %d before): %s\n", res.Witness, esc(res.Origin), res.Size, res.Hash, res.Previous, res.File)
	return nil
}

// readSecret reads a key given as a file or env://VAR.
func readSecret(ref string) ([]byte, error) {
	if v, ok := strings.CutPrefix(ref, "env://"); ok {
		s := os.Getenv(v)
		if s == "" {
			return nil, fmt.Errorf("environment variable %s is empty or unset", v)
		}
		return []byte(s), nil
	}
	return readFile(ref)
}
