package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/spf13/cobra"
)

func init() { register(newNewCmd) }

func newNewCmd(g *globalOptions) *cobra.Command {
	o := pack.ScaffoldOptions{}
	var layer, clouds string
	var out madeOutput
	c := &cobra.Command{
		Use:   "new NAME --layer LAYER",
		Short: "Create a new pack directory that validates as is",
		Long: `Create NAME-VERSION/ with pack.json, values.yaml (with a commented pack:
section) and README.md. With --chart the chart archive is copied into
charts/ and listed in pack.json; with --manifests the YAML files of a
directory are copied into manifests/ and listed as kubeManifests.`,
		Example: `  packgen new my-monitoring --layer addon --addon-type monitoring --chart ./prometheus-58.0.0.tgz
  packgen new my-cni --layer cni --manifests ./deploy -d packs
  packgen new ubuntu-custom --layer os --version 22.04.4`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			o.Layer = meta.Layer(layer)
			if !o.Layer.Valid() {
				return usageErr("--layer must be one of os, k8s, cni, csi, addon")
			}
			if clouds != "" {
				o.CloudTypes = strings.Split(clouds, ",")
			}
			if o.Parent != "" {
				if err := os.MkdirAll(o.Parent, 0o755); err != nil {
					return err
				}
			}
			chose := o.Layer == meta.LayerAddon && o.AddonType == ""
			o.Images = images.Deployed
			dir, err := pack.Scaffold(o)
			switch {
			case errors.Is(err, pack.ErrScaffoldInput):
				return usageErr("%v", err)
			case errors.Is(err, images.ErrNoChartRenderer), errors.Is(err, images.ErrRendererFailed):
				return err // the machine, not the chart: exit 3, as validate and images say
			case errors.Is(err, pack.ErrScaffoldContent):
				return badErr(err)
			case err != nil:
				return err
			}
			// The warnings validate would give pack.json (a version read
			// leniently, an addonType misspelt), once, now.
			if data, err := os.ReadFile(filepath.Join(dir, pack.ManifestFile)); err == nil {
				_, ps := pack.ParseManifest(pack.ManifestFile, data)
				for _, p := range ps {
					out.warnf(g, "%s\n", p.Msg)
				}
			}
			out.summaryf(g, "created %s\n", dir)
			if chose {
				out.summaryf(g, "addonType: \"system app\" (the default; --addon-type monitoring, ingress, ... to choose)\n")
			}
			out.summaryf(g, "next: edit values.yaml, then run `packgen validate %s`\n", dir)
			return out.done(g, map[string]any{"dir": dir, "name": o.Name, "version": o.Version})
		},
	}
	f := c.Flags()
	f.StringVar(&layer, "layer", "", "layer: os, k8s, cni, csi or addon (required)")
	f.StringVar(&o.Version, "version", "1.0.0", "pack version")
	f.StringVar(&o.AddonType, "addon-type", "", "add-on type, e.g. monitoring, ingress, \"system app\"")
	f.StringVar(&clouds, "cloud-types", "all", "comma-separated cloud types")
	f.StringVar(&o.Chart, "chart", "", "Helm chart archive (.tgz) to include")
	f.StringVar(&o.Manifests, "manifests", "", "directory of Kubernetes YAML manifests to include")
	f.StringVarP(&o.Parent, "dir", "d", ".", "parent directory to write the pack into (created when missing; --dest also works)")
	destAlias(c, "dir")
	out.add(c)
	_ = c.MarkFlagRequired("layer")
	_ = c.RegisterFlagCompletionFunc("layer", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"os", "k8s", "cni", "csi", "addon"}, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}
