package images

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/packgen/packgen/images/ref"
	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/pack"
)

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
// with values.yaml's charts.<chart name> over the chart's defaults, by
// the chart renderer (packgen-helm: see render.go).
func (c *collector) charts(p *pack.Pack, values map[string]any, namespace string) (n int, err error) {
	var vals []byte // the charts section, encoded once for every chart
	for _, f := range p.Files {
		dir, base := path.Split(f.Path)
		if dir != pack.ChartsDir+"/" {
			continue
		}
		req := &chartproto.Request{Namespace: namespace}
		var archiveSum [sha256.Size]byte // of the archive req.Archive is or was inflated from
		var known *memoEntry             // what KeepChart found: the chart is not read
		switch {
		case f.IsDir() && p.Has(path.Join(f.Path, "Chart.yaml")):
			req.Dir = true
			req.Files, err = chartFiles(p, f.Path)
		case f.Mode.IsRegular() && (strings.HasSuffix(base, ".tgz") || strings.HasSuffix(base, ".tar.gz")):
			// The tar validation inflated when it kept it (pack.Options.Keep):
			// the renderer reads it without inflating the archive again.
			// One it did not keep because its rendering was known
			// (ReleaseMemo.KeepChart) is not read at all.
			if req.Archive, archiveSum = p.KeptChart(f.Path); req.Archive == nil {
				if known = c.memo.answered(archiveSum, values); known == nil {
					req.Archive, err = readFile(p, f)
					if c.memo != nil { // the memo's key alone reads it
						archiveSum = sha256.Sum256(req.Archive)
					}
				}
			}
		default:
			continue
		}
		if err == nil && vals == nil {
			if vals, err = c.chartValues(values); err != nil {
				return n, &Error{File: c.show(pack.ValuesFile), Err: err}
			}
		}
		var ch *renderedChart
		if err == nil && known != nil {
			ch, err = known.wait() // another release's render, maybe still running
		} else if err == nil {
			req.Values = vals
			ch, err = c.render(req, archiveSum)
		}
		if errors.Is(err, ErrNoChartRenderer) {
			return n, fmt.Errorf("%s: %w", c.show(f.Path), err)
		}
		if err == nil {
			err = ch.err
		}
		if err != nil {
			name := ""
			if ch != nil {
				name = ch.name
			}
			return n, c.chartError(f.Path, f.IsDir(), name, err)
		}
		for _, im := range ch.images {
			s := im.src // a copy: a memo shares ch
			s.File = f.Path
			c.add(im.written, s)
		}
		n++
	}
	return n, nil
}

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

// chartError says which chart (rel, named name in its Chart.yaml),
// template and line do not render; in an unpacked chart directory the
// template is a file of its own, where the problem is put.
func (c *collector) chartError(rel string, isDir bool, name string, err error) error {
	e := &Error{File: c.show(rel)}
	var te *templateError
	var re *chartproto.Error
	switch {
	case errors.As(err, &te):
		e.Template, e.Line = te.template, te.line
	case errors.As(err, &re):
		e.Template, e.Line = re.Template, re.Line
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
	if errors.Is(err, ErrRendererFailed) { // for a cache not to remember it
		e.Err = rendererFailed{err: e.Err, also: err}
	}
	return e
}

// readFile reads the pack's file f, within the limit of a pack file.
func readFile(p *pack.Pack, f pack.File) ([]byte, error) {
	r, err := p.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Sized from the file list, so a chart is not copied as it grows.
	lim := pack.DefaultLimits.MaxFileSize
	b := bytes.NewBuffer(make([]byte, 0, min(max(f.Size, 0), lim)+bytes.MinRead))
	_, err = b.ReadFrom(io.LimitReader(r, lim+1))
	return b.Bytes(), err
}

// chartFiles reads an unpacked chart from the pack's files (a git tree
// or a directory alike), for Helm's loader.
func chartFiles(p *pack.Pack, dir string) ([]chartproto.File, error) {
	files := []chartproto.File{}
	for _, f := range p.Files {
		rel, ok := strings.CutPrefix(f.Path, dir+"/")
		if !ok || !f.Mode.IsRegular() {
			continue
		}
		b, err := readFile(p, f)
		if err != nil {
			return nil, err
		}
		files = append(files, chartproto.File{Name: rel, Data: b})
	}
	return files, nil
}

// ErrChartValues marks a values.yaml whose charts section is more than
// a chart renderer is sent (maxChartValues).
var ErrChartValues = errors.New("chart values too large")

// maxChartValues bounds values.yaml's charts section as sent to the
// renderer. The pack's tree of values follows YAML aliases (within a
// node budget, pack.Values) without copying what they share, but
// written out each alias is a copy: a few KiB of aliases to a long
// string would write a TiB in packgen itself. No chart's values come
// near what packgen reads of its rendering.
var maxChartValues = chartproto.MaxResult

// chartValues is values.yaml's charts section as the renderer reads it.
func chartValues(values map[string]any) ([]byte, error) {
	sec, _ := values["charts"].(map[string]any)
	if sec == nil {
		return []byte("{}\n"), nil
	}
	w := &cappedBuffer{max: maxChartValues}
	enc := yaml.NewEncoder(w)
	err := enc.Encode(sec)
	if err == nil {
		err = enc.Close()
	}
	if w.full {
		return nil, fmt.Errorf("%w: its charts section, with its YAML aliases expanded, is more than the %d MiB a chart renderer is sent, which no chart's values need: expand fewer aliases", ErrChartValues, maxChartValues>>20)
	}
	if err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// cappedBuffer is a buffer that fails a write past max bytes: the YAML
// encoder writes as it goes, so it stops there.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	full bool
}

func (w *cappedBuffer) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		w.full = true
		return 0, ErrChartValues
	}
	return w.buf.Write(p)
}

// chartValues is chartValues(values), through the memo when there is
// one (encoded once for the release).
func (c *collector) chartValues(values map[string]any) ([]byte, error) {
	if c.memo != nil {
		return c.memo.chartValues(values)
	}
	return chartValues(values)
}

// render renders one chart, through the memo when there is one;
// archiveSum is the SHA-256 of the archive req.Archive is or was
// inflated from (requestKey), read by the memo alone (without one, it
// may be unset).
func (c *collector) render(req *chartproto.Request, archiveSum [sha256.Size]byte) (*renderedChart, error) {
	if c.memo != nil {
		return c.memo.memo.render(req, archiveSum)
	}
	return renderChart(req)
}

// renderedChart is what the collector takes from one chart's rendering:
// the chart's name and each image it names, or why it does not render.
// It is all a Memo keeps: a few hundred bytes an image, not the
// rendered manifests.
type renderedChart struct {
	name   string
	images []chartImage
	err    error // the chart's own: *chartproto.Error, *templateError
}

// chartImage is an image reference as written and where the chart
// names it (Source.File unset: the chart's path in the pack).
type chartImage struct {
	written string
	src     Source
}

// renderChart renders req and reads the images of its manifests; the
// error is the renderer's, never the chart's (renderedChart.err).
func renderChart(req *chartproto.Request) (*renderedChart, error) {
	res, err := render(req)
	if err != nil {
		return nil, err
	}
	ch := &renderedChart{name: res.Chart}
	if res.Err != nil {
		ch.err = res.Err
		return ch, nil
	}
	for _, m := range res.Manifests {
		fs, err := ref.Scan(m.Data)
		if err != nil {
			te := &templateError{template: m.Name, err: err}
			if l := yamlLine.FindStringSubmatch(err.Error()); l != nil && m.Source != nil {
				n, _ := strconv.Atoi(l[1])
				te.line = pack.SourceLine(m.Source, m.Data, n)
			}
			ch.err = te
			return ch, nil
		}
		for _, f := range fs {
			line := 0
			if m.Source != nil {
				line = pack.SourceLine(m.Source, m.Data, f.Line)
			}
			ch.images = append(ch.images, chartImage{f.Written, Source{Kind: Chart, Template: m.Name, Line: line, outLine: f.Line, Object: f.Object, Field: f.Field, Maybe: f.Maybe,
				Values: valuesPath(res.Strings, f.Written, "charts."+res.Chart)}})
		}
	}
	return ch, nil
}

// yamlLine is the line yaml.v3 names in a syntax error.
var yamlLine = regexp.MustCompile(`\bline (\d+):`)

// valuesPath finds the value an image came from: a string equal to the
// reference as written, or to its repository part. The first in key
// order wins; "" when none does.
func valuesPath(leaves []chartproto.Leaf, written, at string) string {
	repo := written
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	for _, l := range leaves {
		if x := l.Value; x == written || (x != "" && (x == repo || strings.HasSuffix(repo, "/"+x))) {
			return at + l.Path
		}
	}
	return ""
}
