package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/source"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

type validateOptions struct {
	output       string
	strict       bool
	changedSince string
	repo         string
	packsDir     string
	committed    bool
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

Images: every image a manifest or chart deploys (charts rendered with
Helm's engine, see packgen images) must be declared in values.yaml
pack.content.images, which the platform mirrors for air-gapped
installs, and every declared image must be deployed; either is a
warning. A chart that does not render is an error. The build does not
run this check (rendering every chart of a cold build costs more than
the rest of validation); pull requests do, through validate.

With --changed-since REF (for pull requests), only packs whose git tree
differs between REF and HEAD are validated, read from committed objects,
and a pack whose content changed without a version bump, or whose version
went down, is an error. -o github (or --format github) prints GitHub
Actions annotations (::error file=...,line=...::message) that show up on
the pull request's diff.

Exits 1 when any error is found (or any warning, with --strict).`,
		Example: `  packgen validate                      # the current directory
  packgen validate examples/packs
  packgen validate packs/calico-3.26.0 -o json
  packgen validate --strict packs
  packgen validate --changed-since origin/main --format github`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, "text", "json", "github"); err != nil {
				return err
			}
			if o.changedSince != "" {
				if len(args) > 0 {
					return usageErr("--changed-since validates the repository's changed packs: give --repo and --packs-dir, not directories")
				}
				return runValidateChanged(cmd.Context(), g, o)
			}
			if len(args) == 0 {
				args = []string{"."}
			}
			return runValidate(g, o, args)
		},
	}
	outputFlag(c, &o.output, "text", "json", "github")
	c.Flags().BoolVar(&o.strict, "strict", false, "treat warnings as errors")
	c.Flags().StringVar(&o.changedSince, "changed-since", "", "validate only packs changed since this git ref, and check version bumps")
	c.Flags().StringVar(&o.repo, "repo", "", "git repository for --changed-since (default: the current one)")
	c.Flags().StringVar(&o.packsDir, "packs-dir", "", "packs directory in the repository for --changed-since")
	c.Flags().BoolVar(&o.committed, "committed", false, "with --changed-since: judge HEAD only, ignoring uncommitted changes (CI's view; by default uncommitted pack directories are read from the work tree)")
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
			ps = append(ps, images.CheckPack(l.Pack, l.Display, problemsIn(ps, l.Display))...)
			vp := validatedPack{Dir: l.Display}
			if m := l.Pack.Manifest; m != nil {
				vp.Name, vp.Version, vp.Layer = m.Name, m.Version, string(m.Layer)
			}
			rep.Packs = append(rep.Packs, vp)
		}
		rep.Problems = append(rep.Problems, ps...)
	}
	return report(g, o, rep)
}

// problemsIn keeps the problems of the pack displayed as dir.
func problemsIn(ps pack.Problems, dir string) pack.Problems {
	var out pack.Problems
	for _, p := range ps {
		if p.File == dir || strings.HasPrefix(p.File, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// report prints a validation report and sets the exit code.
func report(g *globalOptions, o *validateOptions, rep validateReport) error {
	rep.Problems.Sort()
	for _, p := range rep.Problems {
		if p.Severity == pack.SevError {
			rep.Errors++
		} else {
			rep.Warnings++
		}
	}
	failed := rep.Errors > 0 || (o.strict && rep.Warnings > 0)
	switch o.output {
	case "json":
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	case "github":
		for _, p := range rep.Problems {
			fmt.Fprintln(g.stdout, esc(githubAnnotation(p)))
		}
		g.summaryf("%d %s, %d %s, %d %s\n", len(rep.Packs), plural(len(rep.Packs), "pack"), rep.Errors, plural(rep.Errors, "error"), rep.Warnings, plural(rep.Warnings, "warning"))
	default:
		for _, p := range rep.Problems {
			if g.quiet && p.Severity != pack.SevError {
				continue
			}
			fmt.Fprintln(g.stdout, esc(p.String()))
		}
		if !g.quiet || failed {
			g.summaryf("%d %s, %d %s, %d %s\n", len(rep.Packs), plural(len(rep.Packs), "pack"), rep.Errors, plural(rep.Errors, "error"), rep.Warnings, plural(rep.Warnings, "warning"))
		}
	}
	if failed {
		return silentBad
	}
	return nil
}

// githubAnnotation renders a problem as a GitHub Actions workflow command.
func githubAnnotation(p pack.Problem) string {
	level := "error"
	if p.Severity == pack.SevWarning {
		level = "warning"
	}
	props := "file=" + escapeProperty(p.File)
	if p.Line > 0 {
		props += fmt.Sprintf(",line=%d", p.Line)
		if p.Col > 0 {
			props += fmt.Sprintf(",col=%d", p.Col)
		}
	}
	return fmt.Sprintf("::%s %s::%s", level, props, escapeData(p.Msg))
}

func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// runValidateChanged validates the packs changed since a git ref.
func runValidateChanged(ctx context.Context, g *globalOptions, o *validateOptions) error {
	repo, err := source.Open(o.repo)
	if err != nil {
		return err
	}
	changes, err := repo.Changes(ctx, o.changedSince, "HEAD", o.packsDir)
	if err != nil {
		return err
	}
	rep := validateReport{Packs: []validatedPack{}, Problems: pack.Problems{}}
	// What is about to be committed: uncommitted pack directories are
	// judged as they are on disk, instead of as HEAD has them.
	var wps []worktreePack
	fromDisk := map[string]bool{}
	if !o.committed {
		if wps, err = dirtyPacks(repo, o.packsDir); err != nil {
			return err
		}
		for _, wp := range wps {
			fromDisk[wp.dir] = true
		}
	}
	var loaded []pack.Loaded
	for _, c := range changes {
		if fromDisk[c.Dir] {
			continue
		}
		rel := c.Release
		fsys, done, err := rel.Open()
		if err != nil {
			return err
		}
		p, ps := pack.Load(fsys, ".", pack.Options{Prefix: c.Dir})
		ps = append(ps, images.CheckPack(p, c.Dir, ps)...)
		manifest, _ := fs.ReadFile(fsys, pack.ManifestFile)
		done()
		rep.Problems = append(rep.Problems, ps...)
		if msg := c.VersionProblem(); msg != "" {
			line, col := jsonKeyPos(manifest, "version")
			rep.Problems = append(rep.Problems, pack.Problem{File: path.Join(c.Dir, pack.ManifestFile), Line: line, Col: col, Severity: pack.SevError, Msg: msg})
		}
		vp := validatedPack{Dir: c.Dir, Name: c.Name, Version: c.Version}
		if p.Manifest != nil {
			vp.Layer = string(p.Manifest.Layer)
		}
		rep.Packs = append(rep.Packs, vp)
		loaded = append(loaded, pack.Loaded{Display: c.Dir, Pack: p})
	}
	// Cross-pack rules need the whole tree; `packgen validate DIR` and the
	// build check them. Here only what the change touched is judged.
	_ = loaded
	wpacks, wprobs, err := validateWorktree(repo, o.changedSince, wps)
	if err != nil {
		return err
	}
	rep.Packs = append(rep.Packs, wpacks...)
	rep.Problems = append(rep.Problems, wprobs...)
	if o.output == "text" && !g.quiet {
		g.summaryf("%d pack(s) changed since %s", len(rep.Packs), o.changedSince)
		if len(wpacks) > 0 {
			g.summaryf(" (%d with uncommitted changes, read from the work tree; --committed to judge HEAD only)", len(wpacks))
		}
		g.summaryf("\n")
	}
	return report(g, o, rep)
}

// jsonKeyPos finds the line and column of a top-level key's value in a
// JSON object, so a version annotation lands on the "version" line of the
// pull request's diff; 0, 0 when it cannot tell.
func jsonKeyPos(data []byte, key string) (line, col int) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0
		}
		if k, _ := t.(string); k == key {
			off := int(dec.InputOffset())
			// Skip the colon and white space to the value itself.
			for off < len(data) && (data[off] == ':' || data[off] == ' ' || data[off] == '\t' || data[off] == '\r' || data[off] == '\n') {
				off++
			}
			line = 1 + bytes.Count(data[:off], []byte("\n"))
			return line, off - bytes.LastIndexByte(data[:off], '\n')
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0, 0
		}
	}
	return 0, 0
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
