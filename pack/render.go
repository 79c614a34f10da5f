package pack

import (
	"fmt"
	"path"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/packgen/packgen/pack/meta"
)

// What other packages (images) need of a pack's content, read the way
// validation reads it: values.yaml's tree, and the manifests rendered as
// the platform renders them. It runs on a pack Load accepted.

// ValuesAndManifests reads values.yaml: its top mapping (with
// positions, nil when the file is empty) and what it decodes to for
// templates; and renders the pack's manifests (manifests/*.yaml and
// pack.json's kubeManifests, in path order) with those values and the
// bounds validation uses. A template that does not render is an error
// naming the file and line. values.yaml is read once: parsing it is the
// largest part of what a catalogue's image search (images.Find) spends
// outside Helm (docs/PERFORMANCE.md, issue 20); of a pack Load read with
// Options.Keep, not at all (Load's own reading is returned).
func ValuesAndManifests(p *Pack, lim Limits) (*yaml.Node, map[string]any, []RenderedManifest, error) {
	if lim == (Limits{}) {
		lim = DefaultLimits
	}
	if k := p.kept; k != nil && k.lim == lim {
		// What Load read (Options.Keep): the same reading, done once.
		return k.valuesDoc, k.values, k.manifests, nil
	}
	v, err := readValues(p, lim)
	if err != nil {
		return nil, nil, nil, err
	}
	ms, err := v.renderManifests()
	if err != nil {
		return nil, nil, nil, err
	}
	return v.valuesDoc, v.templateValues(), ms, nil
}

// readValues reads values.yaml as validation does; an error is its first.
func readValues(p *Pack, lim Limits) (*validator, error) {
	if lim == (Limits{}) {
		lim = DefaultLimits
	}
	v := &validator{fsys: p.FS, dir: p.Dir, opts: Options{Limits: lim}, pack: p}
	v.checkValues()
	if err := v.firstError(); err != nil {
		return nil, err
	}
	return v, nil
}

// RenderedManifest is one manifest of a pack as the platform applies it.
type RenderedManifest struct {
	Path      string // pack-relative
	Data      []byte // the YAML applied: the file itself, or its rendering
	Templated bool
	src       []byte
}

// SourceLine maps line n of Data to the line of the manifest file that
// produced it: n itself for a plain manifest, the template line reading
// the same for a rendered one, 0 when the line came from an action.
func (r RenderedManifest) SourceLine(n int) int {
	if !r.Templated {
		return n
	}
	return sourceLine(r.src, r.Data, n)
}

func (v *validator) renderManifests() ([]RenderedManifest, error) {
	p, lim := v.pack, v.opts.Limits
	var out []RenderedManifest
	for _, rel := range manifestPaths(p) {
		src, err := v.readSmall(rel, lim.MaxYAMLSize)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.display(rel), err)
		}
		if !isTemplated(src) {
			out = append(out, RenderedManifest{Path: rel, Data: src, src: src})
			continue
		}
		r, err := renderManifest(rel, src, v.templateValues(), v.budget())
		if err != nil {
			te := toTemplateError(err)
			return nil, fmt.Errorf("%s:%d: %w: %s", v.display(rel), te.line, ErrTemplate, te.msg)
		}
		out = append(out, RenderedManifest{Path: rel, Data: r.Out, Templated: true, src: src})
	}
	return out, nil
}

// firstError returns the first error validation recorded, as an error.
func (v *validator) firstError() error {
	for _, p := range v.problems {
		if p.Severity == meta.SevError {
			return &ValidationError{Problems: meta.Problems{p}}
		}
	}
	return nil
}

// budget returns the render budget the pack's templates share.
func (v *validator) budget() *renderBudget {
	if v.render == nil {
		v.render = newRenderBudget(int(v.opts.Limits.MaxYAMLSize))
		if l := v.opts.Limits; l.MaxRenderSteps > 0 {
			v.render.maxCalls = l.MaxRenderSteps
		}
		if l := v.opts.Limits; l.MaxRenderTime > 0 {
			v.render.timeout, v.render.deadline = l.MaxRenderTime, time.Now().Add(l.MaxRenderTime)
		}
	}
	return v.render
}

// manifestPaths lists the files the platform applies as manifests:
// YAML under manifests/ and pack.json's kubeManifests, in path order.
func manifestPaths(p *Pack) []string {
	todo := map[string]bool{}
	for _, f := range p.Files {
		if strings.HasPrefix(f.Path, ManifestsDir+"/") && f.Mode.IsRegular() {
			ext := strings.ToLower(path.Ext(f.Path))
			if ext == ".yaml" || ext == ".yml" {
				todo[f.Path] = true
			}
		}
	}
	if p.Manifest != nil {
		for _, m := range p.Manifest.KubeManifests {
			if f, ok := p.file(path.Clean(m)); ok && f.Mode.IsRegular() {
				todo[f.Path] = true
			}
		}
	}
	var out []string
	for _, f := range p.Files { // sorted order
		if todo[f.Path] {
			out = append(out, f.Path)
		}
	}
	return out
}

// SourceLine maps line n of a rendered template (out) back to the line
// of its source (src) that reads the same, the nearest when several do;
// 0 when the line came from an action. Chart templates use it too.
func SourceLine(src, out []byte, n int) int { return sourceLine(src, out, n) }
