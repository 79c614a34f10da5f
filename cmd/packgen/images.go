package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/pack"
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
it, from the cache when it is there.

PROFILE.lock (a lock file of packgen profile resolve) lists the images of
every locked pack, grouped by pack in the lock's order: each locked
archive is fetched and verified as packgen profile fetch verifies it
(from the registries the lock names, configured in registries.yaml),
without extracting it.

--why IMAGE shows every place that names one image. -o json prints the
reports for scripts (see docs/JSON.md).`

func newImagesCmd(g *globalOptions) *cobra.Command {
	var output, why string
	var sources bool
	cf := &clientFlags{}
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
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{"."}
			}
			if output == "json" {
				cf.warnings = &warnLines{}
			}
			var all []*images.Report
			for _, dir := range args {
				info, err := os.Stat(dir)
				if err == nil && info.Mode().IsRegular() && strings.HasSuffix(dir, ".lock") {
					rs, err := lockImages(cmd.Context(), g, cf, dir)
					if err != nil {
						return err
					}
					all = append(all, rs...)
					continue
				}
				if err != nil && strings.Contains(dir, "@") && errors.Is(err, fs.ErrNotExist) {
					r, err := releaseImages(cmd.Context(), g, cf, dir)
					if err != nil {
						return err
					}
					all = append(all, r...)
					continue
				}
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						return usageErr("%s does not exist", dir)
					}
					return err
				}
				if !info.IsDir() {
					return usageErr("%s is not a directory: give a pack directory, a tree of packs or a PROFILE.lock", dir)
				}
				rs, err := images.Tree(os.DirFS(dir), ".", filepath.ToSlash(filepath.Clean(dir)))
				if err != nil {
					var ve *pack.ValidationError
					if errors.As(err, &ve) {
						return badErr(errors.New("packs with errors (run `packgen validate`):\n" + ve.Problems.Error()))
					}
					return badErr(err)
				}
				if len(rs) == 0 {
					return usageErr("no pack found in %s: a pack is a directory holding pack.json", dir)
				}
				all = append(all, rs...)
			}
			if why != "" {
				var err error
				if all, err = images.Why(all, why); err != nil {
					return usageErr("--why: %v", err)
				}
				if len(all) == 0 {
					return badErr(errors.New("no pack names image " + why))
				}
				sources = true
			}
			if output == "json" {
				if all == nil {
					all = []*images.Report{}
				}
				return writeJSON(g, struct {
					Packs    []*images.Report `json:"packs"`
					Warnings pack.Problems    `json:"warnings"`
				}{all, cf.warnings.problems()})
			}
			return images.WriteText(g.stdout, all, sources)
		},
	}
	outputFlag(c, &output, "text", "json")
	c.Flags().StringVar(&why, "why", "", "show every place that names this image")
	c.Flags().BoolVar(&sources, "sources", false, "show where each image comes from")
	cf.add(c, g)
	return c
}

// releaseImages finds the images of a published release: resolved and
// its archive fetched and verified as `packgen fetch` does, the first
// registry that has it winning.
func releaseImages(ctx context.Context, g *globalOptions, cf *clientFlags, arg string) ([]*images.Report, error) {
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
// archive verified as `packgen profile fetch` verifies it.
func lockImages(ctx context.Context, g *globalOptions, cf *clientFlags, path string) ([]*images.Report, error) {
	if cf.registry != "" || cf.url != "" {
		return nil, usageErr("%s: a lock names its registries; --registry and --url do not apply (configure them with packgen registry add)", path)
	}
	lock, err := profile.LoadLock(path)
	if err != nil {
		return nil, loadErr(err)
	}
	regs, err := client.Selection{}.All(g.loadConfig, false)
	if err != nil {
		return nil, selectionErr(err)
	}
	for _, r := range regs {
		if err := needKey(r, cf.insecure, false); err != nil {
			return nil, err
		}
	}
	opts := cf.options(g)
	if cf.warnings != nil {
		opts.Warn = io.MultiWriter(g.stderr, cf.warnings)
	}
	rs, err := images.Lock(ctx, lock, &profile.Env{Registries: regs, Client: opts, Warn: opts.Warn})
	if errors.Is(err, images.ErrArchive) {
		return nil, badErr(err)
	}
	if err != nil {
		return nil, profileErr(err)
	}
	return rs, nil
}
