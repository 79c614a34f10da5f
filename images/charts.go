package images

import (
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"

	"github.com/packgen/packgen/images/ref"
	"github.com/packgen/packgen/pack"
)

// renderTimeout bounds one chart's rendering: Helm's engine has no step
// budget, and a pull request's chart is outside input.
const renderTimeout = 30 * time.Second

// manifest collects the images of one rendered manifest.
func (c *collector) manifest(m pack.RenderedManifest) error {
	fs, err := ref.Scan(m.Data)
	if err != nil {
		return &Error{File: c.show(m.Path), Err: err}
	}
	for _, f := range fs {
		c.add(f.Written, Source{Kind: Manifest, File: m.Path, Line: m.SourceLine(f.Line), Object: f.Object, Field: f.Field, Maybe: f.Maybe})
	}
	return nil
}

func (c *collector) show(rel string) string {
	if c.display == "" {
		return rel
	}
	return c.display + "/" + rel
}

// charts renders every chart of the pack: archives directly under
// charts/ and unpacked chart directories (charts/NAME/Chart.yaml), each
// with values.yaml's charts.<chart name> over the chart's defaults.
func (c *collector) charts(p *pack.Pack, values map[string]any, namespace string) (n int, err error) {
	for _, f := range p.Files {
		dir, base := path.Split(f.Path)
		if dir != pack.ChartsDir+"/" {
			continue
		}
		var ch *chart.Chart
		switch {
		case f.IsDir() && p.Has(path.Join(f.Path, "Chart.yaml")):
			ch, err = loadDir(p, f.Path)
		case f.Mode.IsRegular() && (strings.HasSuffix(base, ".tgz") || strings.HasSuffix(base, ".tar.gz")):
			ch, err = loadArchive(p, f.Path)
		default:
			continue
		}
		if err == nil {
			err = c.chart(f.Path, ch, values, namespace)
		}
		if err != nil {
			return n, c.chartError(f.Path, f.IsDir(), ch, err)
		}
		n++
	}
	return n, nil
}

// helmPos finds the template and line in an error of Helm's engine:
// the first TEMPLATE:LINE it names ("execution error at
// (c/templates/x.yaml:1:3): …", "parse error at (c/templates/x.yaml:3)",
// "c/templates/x.yaml:3:18\n  executing …").
var helmPos = regexp.MustCompile(`([^()\s:"<>]+\.(?:ya?ml|tpl|txt|json)):(\d+)`)

// oneLine folds Helm v4's indented multi-line errors into one line, as
// problems are printed.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// templateError is a template that renders, but not to YAML: the
// template and the line of the rendered output.
type templateError struct {
	template string
	line     int // in the template's source, 0 when unknown
	err      error
}

func (e *templateError) Error() string {
	return e.template + " renders to invalid YAML: " + e.err.Error()
}

// chartError says which chart (rel), template and line do not render;
// in an unpacked chart directory the template is a file of its own,
// where the problem is put.
func (c *collector) chartError(rel string, isDir bool, ch *chart.Chart, err error) error {
	e := &Error{File: c.show(rel)}
	var te *templateError
	switch {
	case errors.As(err, &te):
		e.Template, e.Line = te.template, te.line
	default:
		if m := helmPos.FindStringSubmatch(err.Error()); m != nil {
			e.Template = m[1]
			e.Line, _ = strconv.Atoi(m[2])
		}
	}
	name := ""
	if ch != nil && ch.Metadata != nil {
		name = ch.Name()
	}
	where := ""
	if e.Template != "" {
		where = "template " + e.Template
		if e.Line > 0 {
			where += fmt.Sprintf(", line %d", e.Line)
		}
		where += ": "
		if in, ok := strings.CutPrefix(e.Template, name+"/"); ok && isDir && name != "" {
			e.At = c.show(path.Join(rel, in))
		}
	}
	e.Err = fmt.Errorf("%w: %s%s", ErrChart, where, oneLine(err.Error()))
	return e
}

func loadArchive(p *pack.Pack, rel string) (*chart.Chart, error) {
	r, err := p.Open(rel)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return loader.LoadArchive(r)
}

// loadDir loads an unpacked chart from the pack's files (a git tree or
// a directory alike) through Helm's loader.
func loadDir(p *pack.Pack, dir string) (*chart.Chart, error) {
	var files []*archive.BufferedFile
	for _, f := range p.Files {
		rel, ok := strings.CutPrefix(f.Path, dir+"/")
		if !ok || !f.Mode.IsRegular() {
			continue
		}
		r, err := p.Open(f.Path)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(r, pack.DefaultLimits.MaxFileSize+1))
		r.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, &archive.BufferedFile{Name: rel, Data: b})
	}
	return loader.LoadFiles(files)
}

// chart renders one chart as `helm template` would install it (release
// named after the chart, in the pack's namespace, default capabilities)
// and collects its images.
func (c *collector) chart(rel string, ch *chart.Chart, values map[string]any, namespace string) error {
	name := ch.Name()
	sec, _ := values["charts"].(map[string]any)
	vals, _ := sec[name].(map[string]any)
	vals = copyMap(vals)
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return err
	}
	// The schema is the chart's business at install time; values that
	// carry Palette macros ({{ .spectro... }}) would not pass it here.
	top, err := commonutil.ToRenderValuesWithSchemaValidation(ch, vals, common.ReleaseOptions{Name: name, Namespace: namespace, Revision: 1, IsInstall: true}, nil, true)
	if err != nil {
		return err
	}
	merged, _ := top["Values"].(common.Values)
	type result struct {
		out map[string]string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := engine.Engine{}.Render(ch, top)
		done <- result{out, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(renderTimeout):
		return fmt.Errorf("rendering takes longer than %v", renderTimeout)
	}
	if res.err != nil {
		return res.err
	}
	tpls := make([]string, 0, len(res.out))
	for t := range res.out {
		if ext := path.Ext(t); ext == ".yaml" || ext == ".yml" || ext == ".tpl" {
			tpls = append(tpls, t)
		}
	}
	sort.Strings(tpls)
	srcs := templateSources(ch, "")
	for _, t := range tpls {
		out := []byte(res.out[t])
		fs, err := ref.Scan(out)
		if err != nil {
			te := &templateError{template: t, err: err}
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil && srcs[t] != nil {
				n, _ := strconv.Atoi(m[1])
				te.line = pack.SourceLine(srcs[t], out, n)
			}
			return te
		}
		for _, f := range fs {
			line := 0
			if src, ok := srcs[t]; ok {
				line = pack.SourceLine(src, out, f.Line)
			}
			c.add(f.Written, Source{Kind: Chart, File: rel, Template: t, Line: line, outLine: f.Line, Object: f.Object, Field: f.Field, Maybe: f.Maybe,
				Values: valuesPath(map[string]any(merged), f.Written, "charts."+name)})
		}
	}
	return nil
}

// yamlLine is the line yaml.v3 names in a syntax error.
var yamlLine = regexp.MustCompile(`\bline (\d+):`)

// templateSources maps the names the engine gives templates
// (CHART/templates/x.yaml, CHART/charts/SUB/templates/y.yaml) to their
// source.
func templateSources(ch *chart.Chart, prefix string) map[string][]byte {
	out := map[string][]byte{}
	prefix = path.Join(prefix, ch.Name())
	for _, t := range ch.Templates {
		out[path.Join(prefix, t.Name)] = t.Data
	}
	for _, d := range ch.Dependencies() {
		for k, v := range templateSources(d, path.Join(prefix, "charts")) {
			out[k] = v
		}
	}
	return out
}

// valuesPath finds the value an image came from: a string equal to the
// reference as written, or to its repository part. The first in key
// order wins; "" when none does.
func valuesPath(v map[string]any, written, at string) string {
	repo := written
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	var walk func(x any, at string, depth int) string
	walk = func(x any, at string, depth int) string {
		if depth > 100 { // bounded like ref.Scan
			return ""
		}
		switch x := x.(type) {
		case string:
			if x == written || (x != "" && (x == repo || strings.HasSuffix(repo, "/"+x))) {
				return at
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if p := walk(x[k], at+"."+k, depth+1); p != "" {
					return p
				}
			}
		case common.Values:
			return walk(map[string]any(x), at, depth)
		}
		return ""
	}
	return walk(v, at, 0)
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = copyMap(sub)
		}
		out[k] = v
	}
	return out
}
