package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/packgen/packgen/airgap"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/profile"
	"github.com/packgen/packgen/publish"
	"github.com/packgen/packgen/sign"
	"github.com/spf13/cobra"
)

func init() { register(newAirgapCmd) }

func newAirgapCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "airgap",
		Short: "Bundle a profile's packs and images for an air-gapped registry, and import the bundle",
		Long: `An air-gap bundle is one OCI image layout, as a tar: the packs a profile's
lock pins (the release manifests publish pushes to an OCI registry), the
part of their registry's signed index a client reads to fetch them, and
every container image those packs deploy (as packgen images finds them:
declared in pack.content.images and found in the manifests and charts)
with the images' cosign signatures. See docs/FORMAT.md, "Air-gap bundles".

  export  write the bundle of a lock file, from the registries online
  import  verify a bundle whole, then push it into an air-gapped registry`,
		Example: `  packgen airgap export edge.lock edge-bundle.tar
  packgen airgap import edge-bundle.tar oci://harbor.corp.example/palette --key registry.pub`,
	}
	return group(c, newAirgapExportCmd(g), newAirgapImportCmd(g))
}

// airgapLog is where progress goes: a line per pack and image on a
// terminal, nothing otherwise (the summary says it all).
func airgapLog(g *globalOptions) io.Writer {
	if g.interactive() {
		return g.stderr
	}
	return io.Discard
}

func airgapErr(err error) error {
	switch {
	case errors.Is(err, airgap.ErrNoSpace):
		return err // operational (exit 3), whatever else it wraps
	case errors.Is(err, airgap.ErrInput), errors.Is(err, airgap.ErrNoKey), errors.Is(err, ocimap.ErrBadName), errors.Is(err, ocireg.ErrReference):
		return usageErr("%v", err)
	case errors.Is(err, airgap.ErrBundle), errors.Is(err, airgap.ErrImageTag), errors.Is(err, airgap.ErrImageSignature), errors.Is(err, airgap.ErrUnsignedImage), errors.Is(err, airgap.ErrPackSignature), errors.Is(err, profile.ErrLockMismatch), errors.Is(err, profile.ErrDeleted),
		errors.Is(err, publish.ErrRollback), errors.Is(err, publish.ErrFork), errors.Is(err, publish.ErrImmutable), errors.Is(err, publish.ErrNotSite), errors.Is(err, publish.ErrNotInSite):
		return badErr(err)
	}
	return clientErr(err)
}

func newAirgapExportCmd(g *globalOptions) *cobra.Command {
	o := &airgapExportOptions{}
	c := &cobra.Command{
		Use:   "export LOCK BUNDLE.tar",
		Short: "Write the air-gap bundle of a profile's lock: its packs, their index and every image they deploy",
		Long: `Read every pack LOCK pins from its configured registry (the registry's
key verifies the index, each archive and its signature, and the registry
must still list exactly the locked bytes), list each pack's images as
packgen images does (declared, and found in its manifests and charts;
images only "maybe" deployed are a warning, not bundled), and copy each
image from its registry with its cosign signatures (the sha256-HEX.sig and
sha256-HEX tags of its repository), by the digest its tag resolves to.
When the packs' registry is an OCI registry, each release's own cosign
signature (its packgen/signatures repository) is carried too, checked
under the registry's key, so cosign verify works after the import; a
static site has none, and export has no private key to make one (a
warning).

The bundle is one OCI image layout written as a tar: every blob once,
however many images share it; multi-arch images kept whole unless
--platform narrows them to one manifest. Its table of contents is the
manifest tagged packgen-airgap. The same lock and registries give the
same bytes. Nothing is kept in memory: manifests and packs stream to a
staging directory beside BUNDLE.tar, image layers straight into their place
in a temporary tar beside it (written once), which is renamed into place
only when complete, so an interrupted or failed export leaves no BUNDLE.tar. -o is the
report's format (text or json), as in every command.

Every image signature copied is checked to name its image (its tag and
what it signs carry the image's manifest digest): a signature moved onto
another image's signature tag upstream stops the export. With
--image-key cosign.pub (repeatable) each must also verify under one of
the keys, and every image must carry one, so nothing unverified is
bundled: an image with no signature fails the export, naming it, unless
--allow-unsigned-images (then it is bundled with a warning). Import
checks all of it again.

A locked release its registry has deleted since (retired: a CVE) fails
the export, naming it and the reason, unless --allow-deleted, as profile
fetch; a deprecated one is exported with a warning.

The packs must come from one registry. Credentials for the image
registries come from the docker config (or --username with
$` + ocireg.PasswordEnv + `), as for every OCI tool.`,
		Example: `  packgen profile resolve edge.yaml --partial
  packgen airgap export edge.lock edge-bundle.tar
  packgen airgap export edge.lock edge-amd64.tar --platform linux/amd64
  packgen airgap export edge.lock edge-bundle.tar --image-key vendor-cosign.pub
  packgen airgap export edge.lock edge-bundle.tar -o json`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: profileFileCompletion("lock"),
		RunE:              func(cmd *cobra.Command, args []string) error { return runAirgapExport(cmd, g, o, args) },
	}
	o.conn.addTimeouts(c)
	o.oci.addFor(c, "the image registries")
	o.images.add(c)
	c.Flags().StringVar(&o.platform, "platform", "", "keep only this platform's manifest of multi-arch images (OS/ARCH[/VARIANT], e.g. linux/amd64)")
	c.Flags().IntVarP(&o.jobs, "jobs", "j", 8, "blobs downloaded at once (and twice as many images read at once)")
	c.Flags().BoolVar(&o.allowDeleted, "allow-deleted", false, "export a locked release its registry has deleted (retired) since, with a warning")
	o.jsonOutput.add(c)
	// -o BUNDLE.tar was the bundle once: say where it goes now, rather
	// than only that it is no format.
	c.PreRunE = func(_ *cobra.Command, args []string) error {
		if o.output != "text" && o.output != "json" {
			return usageErr("-o %s: -o is the report's format (text or json); the bundle is the second argument: packgen airgap export LOCK BUNDLE.tar", o.output)
		}
		return nil
	}
	return c
}

// airgapExportOptions are the flags of airgap export.
type airgapExportOptions struct {
	jsonOutput
	conn     connFlags
	oci      ociFlags
	platform string
	images   imageKeyFlags
	jobs     int
	// allowDeleted: export a locked release deleted since (retired).
	allowDeleted bool
}

// runAirgapExport parses export's arguments and writes the bundle.
func runAirgapExport(cmd *cobra.Command, g *globalOptions, o *airgapExportOptions, args []string) error {
	if len(args) != 2 {
		return usageErr("no bundle to write: packgen airgap export LOCK BUNDLE.tar")
	}
	out := args[1]
	if o.jobs < 1 {
		return usageErr("--jobs must be at least 1")
	}
	ro, err := o.oci.options()
	if err != nil {
		return err
	}
	ro.StallTimeout = o.conn.stall // the image registries' too, as the packs'
	imageKeys, err := o.images.verifiers()
	if err != nil {
		return err
	}
	lock, err := profile.LoadLock(args[0])
	if err != nil {
		return loadErr(err)
	}
	warn := o.warnTo(g)
	warnStale(warn, lock, args[0])
	prof, err := lockProfile(lock, args[0])
	if err != nil {
		return err
	}
	regs, err := client.Selection{}.All(g.loadConfig, false)
	if err != nil {
		return selectionErr(err)
	}
	opts := o.conn.options(g)
	opts.Warn = warn
	res, err := airgap.Export(cmd.Context(), airgap.ExportOptions{
		Lock: lock, Profile: prof, Env: &profile.Env{Registries: regs, Client: opts, Warn: warn},
		Output: out, Platform: o.platform, OCI: ro, ImageKeys: imageKeys, AllowUnsignedImages: o.images.allowUnsigned, AllowDeleted: o.allowDeleted, RunOptions: airgap.RunOptions{Jobs: o.jobs, Log: airgapLog(g), Warn: warn},
	})
	if err != nil {
		return airgapErr(err)
	}
	return printAirgapExport(g, &o.jsonOutput, res)
}

// printAirgapExport reports a written bundle, in text or JSON.
func printAirgapExport(g *globalOptions, out *jsonOutput, res *airgap.ExportResult) error {
	if out.json() {
		return writeJSON(g, struct {
			*airgap.ExportResult
			Warnings meta.Problems `json:"warnings"`
		}{res, out.warnings.problems()})
	}
	if g.quiet {
		// The bundle is the result; its list digest, which import
		// --digest takes, is the one thing the next step needs.
		fmt.Fprintln(g.stdout, res.Digest)
		return nil
	}
	g.summaryf("wrote %s: %s, %s, %s, %s (list %s)\n", esc(res.Output), phrase.Count(len(res.Packs), "pack"), phrase.Count(len(res.Images), "image"), phrase.Count(res.Blobs, "blob"), fmt.Sprintf("%.1f MiB", float64(res.Size)/(1<<20)), res.Digest)
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	for _, p := range res.Packs {
		fmt.Fprintf(tw, "  pack\t%s@%s\t%s\n", esc(p.Name), esc(p.Version), p.Manifest.Digest)
	}
	for _, im := range res.Images {
		signed := ""
		if len(im.Signatures) > 0 {
			signed = "signed"
		}
		fmt.Fprintf(tw, "  image\t%s\t%s\t%s\n", esc(im.Image), im.Manifest.Digest, signed)
	}
	return tw.Flush()
}

func newAirgapImportCmd(g *globalOptions) *cobra.Command {
	o := &airgapImportOptions{}
	c := &cobra.Command{
		Use:   "import BUNDLE.tar oci://REGISTRY/BASE --key registry.pub",
		Short: "Verify an air-gap bundle, push it into a registry, and print the image swap",
		Long: `Verify BUNDLE whole before pushing anything: every blob against its digest
(a truncated bundle or one changed byte is refused), the packs' index
under --key (the public key of the registry the packs come from), each
pack's manifest against its signed shard, each archive's signature.

Then push the images to REGISTRY/BASE/spectro-images/ORIGINAL-REGISTRY/PATH
with their tags and cosign signatures (a registry's ":PORT" written
"-PORT"), and the packs as packgen publish pushes them:
REGISTRY/BASE/spectro-packs/archive/NAME:VERSION, and their index in
REGISTRY/BASE/packgen/index, its root last; then the registry serves the
profile (packgen registry add NAME oci://REGISTRY/BASE --key
registry.pub, and packgen profile fetch/render). What is there is skipped,
so an interrupted import runs again to completion. An image tag that
names other content is refused unless --force; a pack tag never moves.

Image signatures: every cosign signature the bundle carries for an image
is checked before anything is pushed. Without --image-key, each must be
bound to its image: its tag and what it signs (the simple-signing
payload's docker-manifest-digest, or a cosign v3 Sigstore bundle's
in-toto subject and its referrer's subject) name that image's manifest
digest, so a signature cannot be moved onto another image; nothing says
who signed it. With --image-key cosign.pub (repeatable), every carried
signature must also verify under one of the keys; one that does not is
refused, naming image, tag and why. As with cosign verify --key, a key
makes a signature required: an image that carries none is refused,
naming it, unless --allow-unsigned-images (then it is pushed with a
warning).

The packs are signed; the images are pinned by the bundle's list. Pass
--digest with the list digest export printed, carried apart from the
bundle, to pin the images too: a bundle altered consistently (an image
swapped and the list edited to match) is then refused.

Prints the mapping the platform's image swap needs: each original
registry and where its images are now.`,
		Example: `  packgen airgap import edge-bundle.tar oci://harbor.corp.example/palette --key registry.pub
  packgen airgap import edge-bundle.tar oci://127.0.0.1:5000/palette --key registry.pub --plain-http -o json
  packgen airgap import edge-bundle.tar oci://harbor.corp.example/palette --key registry.pub --image-key vendor-cosign.pub`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return runAirgapImport(cmd, g, o, args) },
	}
	o.oci.add(c)
	c.Flags().StringArrayVar(&o.keys, "key", nil, "public key of the packs' registry (repeat during a key rotation; required)")
	o.images.add(c)
	c.Flags().StringVar(&o.digest, "digest", "", "the bundle's list digest that export printed (sha256:…), carried apart from the bundle: pins every image too")
	c.Flags().BoolVar(&o.force, "force", false, "move image tags that name other content (an image changed upstream since an earlier import)")
	c.Flags().IntVarP(&o.jobs, "jobs", "j", 4, "images pushed at once")
	o.jsonOutput.add(c)
	return c
}

// airgapImportOptions are the flags of airgap import.
type airgapImportOptions struct {
	jsonOutput
	oci    ociFlags
	keys   []string
	images imageKeyFlags
	digest string
	force  bool
	jobs   int
}

// imageKeyFlags are --image-key and --allow-unsigned-images, the same
// for export and import.
type imageKeyFlags struct {
	files         []string
	allowUnsigned bool
}

func (f *imageKeyFlags) add(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.files, "image-key", nil, "cosign public key every image must be signed under (repeatable: any one of them; without, signatures are checked to name their image only)")
	c.Flags().BoolVar(&f.allowUnsigned, "allow-unsigned-images", false, "with --image-key: take an image that carries no signature, with a warning, instead of failing")
}

// verifiers reads the files of --image-key; none means the images'
// signatures are not checked against a key (nil).
func (f *imageKeyFlags) verifiers() (*sign.Verifier, error) {
	if len(f.files) == 0 {
		if f.allowUnsigned {
			return nil, usageErr("--allow-unsigned-images goes with --image-key: without a key no signature is required")
		}
		return nil, nil
	}
	return readVerifiers("--image-key", f.files)
}

// runAirgapImport checks import's flags and pushes the bundle.
func runAirgapImport(cmd *cobra.Command, g *globalOptions, o *airgapImportOptions, args []string) error {
	if len(o.keys) == 0 {
		return usageErr("--key registry.pub is required: the public key of the registry the bundle's packs come from")
	}
	if o.jobs < 1 {
		return usageErr("--jobs must be at least 1")
	}
	v, err := readVerifiers("--key", o.keys)
	if err != nil {
		return err
	}
	imageKeys, err := o.images.verifiers()
	if err != nil {
		return err
	}
	ro, err := o.oci.options()
	if err != nil {
		return err
	}
	res, err := airgap.Import(cmd.Context(), airgap.ImportOptions{Bundle: args[0], Dest: args[1], Key: v, ImageKeys: imageKeys, AllowUnsignedImages: o.images.allowUnsigned, Digest: o.digest, OCI: ro, Force: o.force, RunOptions: airgap.RunOptions{Jobs: o.jobs, Log: airgapLog(g), Warn: o.warnTo(g)}})
	if err != nil {
		return airgapErr(err)
	}
	return printAirgapImport(g, &o.jsonOutput, args[0], res)
}

// printAirgapImport reports an import and prints the image swap.
func printAirgapImport(g *globalOptions, out *jsonOutput, bundle string, res *airgap.ImportResult) error {
	if out.json() {
		return writeJSON(g, struct {
			*airgap.ImportResult
			Warnings meta.Problems `json:"warnings"`
		}{res, out.warnings.problems()})
	}
	present := 0
	for _, im := range res.Images {
		if im.Present {
			present++
		}
	}
	g.summaryf("imported %s into %s: %s, %s (%d already there), %s verified\n", esc(bundle), esc(res.Dest), phrase.Count(len(res.Packs), "pack"), phrase.Count(len(res.Images), "image"), present, phrase.Count(res.Blobs, "blob"))
	// The image swap stays under -q: the platform must be told it, and
	// printing it is what import promises (as list prints its list).
	// Packs that deploy no image have none: said, not a header over
	// nothing, which reads as a swap lost.
	if len(res.Mappings) == 0 {
		fmt.Fprintln(g.stdout, "no images: the packs deploy none, so the platform needs no image swap")
		return nil
	}
	fmt.Fprintln(g.stdout, "image swap (original registry → air-gapped):")
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	for _, m := range res.Mappings {
		fmt.Fprintf(tw, "  %s\t%s\n", esc(m.From), esc(m.To))
	}
	return tw.Flush()
}
