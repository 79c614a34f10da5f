// Package images finds every container image a pack deploys: the ones
// values.yaml declares under pack.content.images (what the platform's
// air-gap tooling mirrors), the ones its manifests name once rendered as
// the platform renders them, and the ones its charts name once rendered
// by Helm's own loader and engine with the values the pack gives them.
// Validation compares the declared list with what is deployed.
package images

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/packgen/packgen/images/ref"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"gopkg.in/yaml.v3"
)

// ErrChart marks a chart that does not load or render.
var ErrChart = errors.New("chart does not render")

// ErrReference marks an image reference that does not parse.
var ErrReference = ref.ErrReference

// Source kinds.
const (
	Declared = "declared" // values.yaml pack.content.images
	Manifest = "manifest" // a manifest of the pack
	Chart    = "chart"    // a chart of the pack, rendered
)

// Source is one place that names an image.
type Source struct {
	Kind string `json:"kind"`
	// File is pack-relative: values.yaml, manifests/x.yaml, charts/c-1.0.0.tgz.
	File string `json:"file"`
	// Line in File (values.yaml, a manifest; 0 when a template action
	// wrote it), or in Template for a chart.
	Line     int    `json:"line,omitempty"`
	Template string `json:"template,omitempty"` // chart template: CHART/templates/x.yaml
	Object   string `json:"object,omitempty"`   // Kind/name of the Kubernetes object
	Field    string `json:"field,omitempty"`    // where in the object: spec.template.spec.containers[0].image
	// Values is the path of the chart value holding the image's
	// repository, when one does (charts.CHART.image.repository).
	Values string `json:"values,omitempty"`
	// Maybe marks an image: value or repository+tag pair outside a pod
	// template (a CRD's spec, a ConfigMap): likely deployed by an
	// operator, not certainly.
	Maybe   bool   `json:"maybe,omitempty"`
	Written string `json:"written"` // the reference as written
	// outLine is the line of a chart template's rendered output, for
	// messages when Line is 0.
	outLine int
}

// Image is one image and every place that names it.
type Image struct {
	Image    string   `json:"image"`    // normalised (ref.Normalize)
	Declared bool     `json:"declared"` // listed in pack.content.images
	Deployed bool     `json:"deployed"` // in a pod template of a manifest or chart
	Maybe    bool     `json:"maybe"`    // only named outside pod templates
	Sources  []Source `json:"sources"`
}

// Report lists a pack's images, sorted by name.
type Report struct {
	Pack    string  `json:"pack"`
	Version string  `json:"version"`
	Dir     string  `json:"dir"`
	Images  []Image `json:"images"`
	// Problems are references that do not parse, as warnings (errors
	// for declared ones) with file and line.
	Problems meta.Problems `json:"problems"`
	// Renders counts the manifests and charts read: a pack with none
	// (an OS or Kubernetes layer the platform installs itself) deploys
	// its declared images by other means.
	Renders int `json:"renders"`
	// Overrides names the profile file whose values overrides were
	// merged into values.yaml before the images were found (a layer of
	// a lock whose profile overrides it): problems at values.yaml are
	// at lines of the merged file, as `profile render` writes it.
	Overrides string `json:"overrides,omitempty"`
	// listLine is values.yaml's line of pack.content.images (or of
	// pack:, or 0): where an undeclared chart image is reported.
	listLine int
}

// Options tune Find.
type Options struct {
	Limits pack.Limits // zero: pack.DefaultLimits
	// Display is how the pack's directory is shown in problems.
	Display string
	// Memo, when set, renders each distinct chart once across every
	// Find that shares its Memo (a build's), taking what validation
	// asked of it first (ReleaseMemo.KeepChart) as it was answered.
	Memo *ReleaseMemo
}

// Find lists the images of a pack Load accepted.
func Find(p *pack.Pack, o Options) (*Report, error) {
	r := &Report{Dir: o.Display, Images: []Image{}, Problems: meta.Problems{}}
	if p.Manifest != nil {
		r.Pack, r.Version = p.Manifest.Name, p.Manifest.Version
	}
	c := &collector{byRef: map[string]*Image{}, display: o.Display, memo: o.Memo}
	doc, values, ms, err := pack.ValuesAndManifests(p, o.Limits)
	if err != nil {
		return nil, err
	}
	r.listLine = c.declared(doc)
	r.Renders = len(ms)
	for _, m := range ms {
		if err := c.manifest(m); err != nil {
			return nil, err
		}
	}
	n, err := c.charts(p, values, namespaceOf(values))
	if err != nil {
		return nil, err
	}
	r.Renders += n
	for _, im := range c.byRef {
		slices.SortStableFunc(im.Sources, compareSource)
		im.Maybe = !im.Deployed && !im.Declared
		r.Images = append(r.Images, *im)
	}
	sort.Slice(r.Images, func(i, j int) bool { return r.Images[i].Image < r.Images[j].Image })
	r.Problems = append(r.Problems, c.problems...)
	r.Problems.Sort()
	return r, nil
}

var kindOrder = map[string]int{Declared: 0, Manifest: 1, Chart: 2}

func compareSource(a, b Source) int {
	return cmp.Or(
		cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]),
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Template, b.Template),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Field, b.Field),
	)
}

type collector struct {
	byRef    map[string]*Image
	display  string
	problems meta.Problems
	memo     *ReleaseMemo
}

func (c *collector) warn(sev meta.Severity, file string, line int, format string, args ...any) {
	f := file
	if c.display != "" {
		f = c.display + "/" + file
	}
	c.problems = append(c.problems, meta.Problem{File: f, Line: line, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}

// add records a source of an image; a reference that does not parse is
// a problem (an error when declared: the mirror would fail on it).
func (c *collector) add(written string, s Source) {
	norm, err := ref.Normalize(written)
	if err != nil {
		where := s.File
		if s.Template != "" {
			where = s.Template
			switch {
			case s.Line > 0:
				where += fmt.Sprintf(":%d", s.Line) // a line of the template, not of File
			case s.outLine > 0:
				where += fmt.Sprintf(" (line %d of its output: a template action wrote it)", s.outLine)
			}
		}
		sev := meta.SevWarning
		if s.Kind == Declared {
			sev = meta.SevError
		}
		if s.Maybe {
			return // a value that only looks like an image
		}
		c.warn(sev, s.File, lineIf(s.Template == "", s.Line), "image %q in %s does not parse: %v", written, where, errors.Unwrap(err))
		return
	}
	s.Written = written
	im := c.byRef[norm]
	if im == nil {
		im = &Image{Image: norm}
		c.byRef[norm] = im
	}
	switch {
	case s.Kind == Declared:
		im.Declared = true
	case !s.Maybe:
		im.Deployed = true
	}
	im.Sources = append(im.Sources, s)
}

func lineIf(ok bool, n int) int {
	if ok {
		return n
	}
	return 0
}

// declared reads pack.content.images: a list of {image: REF} mappings
// (the platform's form) or of plain strings.
func (c *collector) declared(root *yaml.Node) (line int) {
	if k := key(root, "pack"); k != nil {
		line = k.Line
	}
	if k := key(ref.Child(root, "pack", "content"), "images"); k != nil {
		line = k.Line
	}
	list := ref.Child(root, "pack", "content", "images")
	if list == nil {
		return line
	}
	if list.Kind != yaml.SequenceNode {
		if list.Tag != "!!null" {
			c.warn(meta.SevError, pack.ValuesFile, list.Line, "pack.content.images must be a list of `- image: REGISTRY/REPO:TAG`")
		}
		return line
	}
	for _, it := range list.Content {
		n := it
		if it.Kind == yaml.MappingNode {
			n = ref.Child(it, "image")
		}
		if n == nil || n.Kind != yaml.ScalarNode {
			c.warn(meta.SevError, pack.ValuesFile, it.Line, "pack.content.images entry must be `image: REGISTRY/REPO:TAG`")
			continue
		}
		c.add(n.Value, Source{Kind: Declared, File: pack.ValuesFile, Line: n.Line})
	}
	return line
}

// key returns the key node of k in mapping n, nil when absent.
func key(n *yaml.Node, k string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n.Content[i]
		}
	}
	return nil
}

// namespaceOf is pack.namespace, the release namespace charts see.
func namespaceOf(values map[string]any) string {
	p, _ := values["pack"].(map[string]any)
	ns, _ := p["namespace"].(string)
	if ns == "" || strings.Contains(ns, "{{") {
		return "default"
	}
	return ns
}

// Pinned lists the images of a report a lock pins: every image the
// pack declares or deploys for certain (not those only maybe deployed:
// values an operator may or may not use), sorted.
func (r *Report) Pinned() []string {
	var out []string
	for _, im := range r.Images {
		if im.Declared || im.Deployed {
			out = append(out, im.Image)
		}
	}
	return out
}
