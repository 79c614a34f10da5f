package main

import (
	"fmt"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/pack/meta"
	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

// versionInfo is what `packgen version -o json` prints: enough to file a
// bug or to check which go-git and sigstore a binary was built with.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Modified  bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	// Modules are the versions of the libraries whose behaviour matters
	// most to users: git reading and signing.
	Modules map[string]string `json:"modules"`
	// ChartRenderer is the packgen-helm this packgen would render charts
	// with, and whether it is of this build (images.ProbeHelper).
	ChartRenderer images.HelperInfo `json:"chartRenderer"`
}

// versionModules are the dependencies `packgen version` names.
var versionModules = []string{
	"github.com/go-git/go-git/v5",
	"github.com/sigstore/sigstore",
	"github.com/sigstore/protobuf-specs",
	"github.com/spf13/cobra",
}

func readVersionInfo() versionInfo {
	v := versionInfo{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Modules: map[string]string{}}
	info, ok := debug.ReadBuildInfo()
	if ok {
		if v.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
		for _, d := range info.Deps {
			for _, m := range versionModules {
				if d.Path == m {
					ver := d.Version
					if d.Replace != nil {
						ver = d.Replace.Version + " (replaces " + d.Version + ")"
					}
					v.Modules[m] = ver
				}
			}
		}
	}
	if v.Commit == "" {
		v.Commit = commit
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "version",
		Short:   "Print packgen's version, commit, Go version, key library versions and chart renderer",
		Example: "  packgen version\n  packgen version -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := readVersionInfo()
			v.ChartRenderer = images.ProbeHelper()
			if output == "json" {
				return writeJSON(g, struct {
					versionInfo
					Warnings meta.Problems `json:"warnings"` // none: the shape every -o json shares
				}{v, meta.Problems{}})
			}
			commit := v.Commit
			if commit == "" {
				commit = "unknown"
			}
			if v.Modified {
				commit += " (modified)"
			}
			fmt.Fprintf(g.stdout, "packgen %s\ncommit:   %s\ngo:       %s %s\n", v.Version, commit, v.GoVersion, v.Platform)
			names := slices.Sorted(maps.Keys(v.Modules))
			for _, m := range names {
				fmt.Fprintf(g.stdout, "module:   %s %s\n", m, v.Modules[m])
			}
			if cr := v.ChartRenderer; cr.OK {
				fmt.Fprintf(g.stdout, "renderer: %s (this build)\n", cr.Path)
			} else {
				fmt.Fprintf(g.stdout, "renderer: none usable: %s\n", cr.Error)
			}
			return nil
		},
	}
	outputFlag(c, &output, "text", "json")
	return c
}
