package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/packgen/packgen/pack"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

type validateOptions struct {
	output string
	strict bool
}

type validatedPack struct {
	Dir     string `json:"dir"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Layer   string `json:"layer"`
}

type validateReport struct {
	Packs    []validatedPack `json:"packs"`
	Problems pack.Problems   `json:"problems"`
	Errors   int             `json:"errors"`
	Warnings int             `json:"warnings"`
}

func newValidateCmd(g *globalOptions) *cobra.Command {
	o := &validateOptions{}
	c := &cobra.Command{
		Use:   "validate [DIR...]",
		Short: "Check packs for every problem, with file and line",
		Long: `Validate one pack directory or a tree of packs (any directory holding
pack.json is a pack; sibling directories may hold other versions of the
same pack). Every problem is reported as file:line:col: severity: message.
Cross-pack checks find duplicate name@version, dependencies on packs
missing from the tree and version ranges no release satisfies.

Exits 1 when any error is found (or any warning, with --strict).`,
		Example: `  packgen validate                      # the current directory
  packgen validate examples/packs
  packgen validate packs/calico-3.26.0 -o json
  packgen validate --strict packs`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, "text", "json"); err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{"."}
			}
			return runValidate(g, o, args)
		},
	}
	outputFlag(c, &o.output, "text", "json")
	c.Flags().BoolVar(&o.strict, "strict", false, "treat warnings as errors")
	return c
}

func runValidate(g *globalOptions, o *validateOptions, dirs []string) error {
	rep := validateReport{Packs: []validatedPack{}, Problems: pack.Problems{}}
	for _, dir := range dirs {
		info, err := os.Stat(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return usageErr("%s does not exist", dir)
			}
			return err
		}
		if !info.IsDir() {
			return usageErr("%s is not a directory: give a pack directory or a tree of packs", dir)
		}
		loaded, ps, err := pack.ValidateTree(os.DirFS(dir), ".", filepath.ToSlash(filepath.Clean(dir)))
		if err != nil {
			return fmt.Errorf("read %s: %w", dir, err)
		}
		if len(loaded) == 0 {
			return usageErr("no pack found in %s: a pack is a directory holding pack.json (create one with `packgen new`)", dir)
		}
		for _, l := range loaded {
			vp := validatedPack{Dir: l.Display}
			if m := l.Pack.Manifest; m != nil {
				vp.Name, vp.Version, vp.Layer = m.Name, m.Version, string(m.Layer)
			}
			rep.Packs = append(rep.Packs, vp)
		}
		rep.Problems = append(rep.Problems, ps...)
	}
	rep.Problems.Sort()
	for _, p := range rep.Problems {
		if p.Severity == pack.SevError {
			rep.Errors++
		} else {
			rep.Warnings++
		}
	}
	failed := rep.Errors > 0 || (o.strict && rep.Warnings > 0)
	if o.output == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			if g.quiet && p.Severity != pack.SevError {
				continue
			}
			fmt.Fprintln(g.stdout, p.String())
		}
		if !g.quiet || failed {
			fmt.Fprintf(g.stdout, "%d %s, %d %s, %d %s\n", len(rep.Packs), plural(len(rep.Packs), "pack"), rep.Errors, plural(rep.Errors, "error"), rep.Warnings, plural(rep.Warnings, "warning"))
		}
	}
	if failed {
		return silentBad
	}
	return nil
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
