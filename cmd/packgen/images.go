package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/images/lockimages"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/profile"
	"github.com/spf13/cobra"
)

func init() { register(newImagesCmd) }

// imagesHelp is the long help of `packgen images`.
const imagesHelp = `List the container images of one pack directory or a tree of packs:
the ones values.yaml declares under pack.content.images (what the
platform's air-gap tooling mirrors), the ones the manifests name once
rendered as the platform renders them, and the ones the charts name once
rendered by Helm's engine with the values the pack gives them
(charts.<chart> in values.yaml).

Images in pod templates (containers, initContainers, ephemeralContainers
of every workload kind, CronJobs included) are deployed; image: values and
repository+tag pairs elsewhere (a custom resource an operator acts on)
are marked maybe. References are shown normalised
(docker.io/library/nginx:latest for nginx).

NAME@VERSION (any constraint fetch takes) reads the release from the
configured registries (or --registry/--url), verified as fetch verifies
it, from the cache when it is there. --plain-http, --ca-file and
--username are for --url oci://HOST/BASE (a configured registry keeps its
own), and go with no other argument.

PROFILE.lock (a lock file of packgen profile resolve) lists the images of
every locked pack, grouped by pack in the lock's order: each locked
archive is fetched and verified as packgen profile fetch verifies it
(from the registries the lock names, configured in registries.yaml),
without extracting it, and its values.yaml merged with the overrides of
the profile file the lock names (what packgen profile render writes), so
a mirror or a tag the profile sets is what is listed. A locked release
its registry has deleted since (packs/retired.yaml: a CVE) fails the
command (exit 1, naming it and the reason) unless --allow-deleted, as
packgen profile fetch does; a deprecated one is listed with a warning.

--why IMAGE shows every place that names one image. -o json prints the
reports for scripts (see docs/JSON.md).`

func newImagesCmd(g *globalOptions) *cobra.Command {
	o := &imagesOptions{}
	c := &cobra.Command{
		Use:   "images [PACKDIR | NAME@VERSION | PROFILE.lock ...]",
		Short: "List every container image a pack deploys, and where each comes from",
		Long:  imagesHelp,
		Example: `  packgen images examples/packs/ingress-nginx-4.10.1
  packgen images examples/packs --sources
  packgen images examples/packs --why registry.k8s.io/ingress-nginx/controller:v1.10.1
  packgen images packs/calico-3.27.3 -o json
  packgen images ingress-nginx@4.10.1 --registry acme
  packgen images examples/profiles/aws-prod.lock -o json`,
		RunE: func(cmd *cobra.Command, args []string) error { return runImages(cmd, g, o, args) },
	}
	c.Flags().StringVar(&o.why, "why", "", "show every place that names this image")
	c.Flags().BoolVar(&o.sources, "sources", false, "show where each image comes from")
	c.Flags().BoolVar(&o.allowDeleted, "allow-deleted", false, "PROFILE.lock: list the images of a locked release its registry has deleted (retired) since, with a warning")
	o.cf.add(c, g)
	return c
}

// imagesOptions are the flags of images.
type imagesOptions struct {
	why                   string
	sources, allowDeleted bool
	cf                    clientFlags
}

// runImages lists the images of every argument, then narrows them to
// --why's image.
func runImages(cmd *cobra.Command, g *globalOptions, o *imagesOptions, args []string) error {
	if len(args) == 0 {
		args = []string{"."}
	}
	var all []*images.Report
	for _, arg := range args {
		rs, err := argImages(cmd.Context(), g, o, arg)
		if err != nil {
			return err
		}
		all = append(all, rs...)
	}
	sources := o.sources
	if o.why != "" {
		var err error
		if all, err = images.Why(all, o.why); err != nil {
			return usageErr("--why: %v", err)
		}
		if len(all) == 0 {
			return badErr(errors.New("no pack names image " + o.why))
		}
		sources = true
	}
	// An error among the packs' problems (a declared reference that
	// does not parse: validate's error too) exits 1 once they are listed.
	var failed error
	for _, r := range all {
		if r.Problems.HasErrors() {
			failed = silentBad
		}
	}
	if o.cf.json() {
		if all == nil {
			all = []*images.Report{}
		}
		if err := writeJSON(g, struct {
			Packs    []*images.Report `json:"packs"`
			Warnings meta.Problems    `json:"warnings"`
		}{all, o.cf.warnings.problems()}); err != nil {
			return err
		}
		return failed
	}
	if err := images.WriteText(g.stdout, all, sources); err != nil {
		return err
	}
	// What -o json lists as each pack's problems (an image reference
	// that does not parse, say, from a template without its value), on
	// stderr: "no images" alone would hide them; the errors even with -q.
	for _, r := range all {
		for _, p := range r.Problems {
			if !g.quiet || p.Severity == meta.SevError {
				fmt.Fprintln(g.stderr, esc(p.String()))
			}
		}
	}
	return failed
}

// argImages lists the images one argument names: a PROFILE.lock's packs,
// a published NAME@VERSION, or a pack directory or tree of packs.
func argImages(ctx context.Context, g *globalOptions, o *imagesOptions, dir string) ([]*images.Report, error) {
	cf := &o.cf
	info, err := os.Stat(dir)
	if err == nil && info.Mode().IsRegular() && strings.HasSuffix(dir, ".lock") {
		if err := cf.oci.refuseConfigured(""); err != nil {
			return nil, usageErr("%s: a lock reads the registries it names: %v", dir, err)
		}
		return lockImages(ctx, g, cf, dir, o.allowDeleted)
	}
	if err != nil && strings.Contains(dir, "@") && errors.Is(err, fs.ErrNotExist) {
		return releaseImages(ctx, g, o, dir)
	}
	if cf.oci.given() {
		return nil, usageErr("%v; %s is a pack directory or tree, read from disk", errOCIFlags, dir)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usageErr("%s does not exist: give a pack directory, a tree of packs, a PROFILE.lock, or a published release as NAME@VERSION (%s@1.2.3, %s@^1)", dir, dir, dir)
		}
		return nil, err
	}
	if !info.IsDir() {
		return nil, usageErr("%s is not a directory: give a pack directory, a tree of packs or a PROFILE.lock", dir)
	}
	rs, err := images.Tree(os.DirFS(dir), ".", filepath.ToSlash(filepath.Clean(dir)))
	if err != nil {
		var ve *pack.ValidationError
		if errors.As(err, &ve) {
			return nil, badErr(errors.New("packs with errors (run `packgen validate`):\n" + ve.Problems.Error()))
		}
		if errors.Is(err, images.ErrNoChartRenderer) {
			return nil, err // the machine lacks packgen-helm: exit 3
		}
		return nil, badErr(err)
	}
	if len(rs) == 0 {
		return nil, usageErr("no pack found in %s: a pack is a directory holding pack.json", dir)
	}
	return rs, nil
}

// releaseImages finds the images of a published release: resolved and
// its archive fetched and verified as `packgen fetch` does, the first
// registry that has it winning.
func releaseImages(ctx context.Context, g *globalOptions, o *imagesOptions, arg string) ([]*images.Report, error) {
	cf := &o.cf
	name, constraint, err := client.ParseRef(arg)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	regs, err := cf.registriesFor(g)
	if err != nil {
		return nil, err
	}
	var archive, version string
	err = client.InOrder(ctx, regs, func(r client.Registry) (*client.Client, error) { return cf.client(g, r) }, name, arg, func(cl *client.Client) error {
		rel, err := cl.Resolve(ctx, name, constraint, false)
		if err != nil {
			return err
		}
		version = rel.Version
		if w := client.Retired(name, rel); w != "" {
			// Named by its exact version, a deleted release resolves,
			// as fetch does; say so, and why.
			cf.warn(g, w+": its images are listed all the same")
		}
		archive, err = cl.Archive(ctx, name, rel)
		return err
	})
	if oerr := client.OpenError(err); oerr != nil {
		return nil, oerr
	}
	if err != nil {
		return nil, clientErr(err)
	}
	rs, err := images.Archive(archive, name+"@"+version)
	if errors.Is(err, images.ErrArchive) {
		return nil, badErr(err)
	}
	return rs, err
}

// lockImages finds the images of every pack a lock file pins, each
// archive verified, and a retired one judged, as `packgen profile fetch`
// does.
func lockImages(ctx context.Context, g *globalOptions, cf *clientFlags, path string, allowDeleted bool) ([]*images.Report, error) {
	if cf.registry != "" || cf.url != "" {
		return nil, usageErr("%s: a lock names its registries; --registry and --url do not apply (configure them with packgen registry add)", path)
	}
	lock, err := profile.LoadLock(path)
	if err != nil {
		return nil, loadErr(err)
	}
	prof, err := lockProfile(lock, path)
	if err != nil {
		return nil, err
	}
	env, err := cf.profileEnv(g, cf.warnTo(g))
	if err != nil {
		return nil, err
	}
	rs, err := lockimages.Lock(ctx, lock, prof, env, allowDeleted)
	if errors.Is(err, images.ErrArchive) {
		return nil, badErr(err)
	}
	if err != nil {
		return nil, profileErr(err)
	}
	return rs, nil
}
