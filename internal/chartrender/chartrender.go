// Package chartrender owns Helm: it loads a chart (an archive, or the
// files of an unpacked chart directory) and renders it as `helm
// template` would install it. Only cmd/packgen-helm and tests import
// it: linking Helm costs every process that does about 20 ms of package
// initialisers at start, which short commands such as `packgen fetch`
// must not pay (docs/ARCHITECTURE.md, "Import rules").
package chartrender

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"

	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/internal/chartshape"
	"github.com/packgen/packgen/internal/storedgz"
)

// InProcess renders in this process: what packgen-helm serves, and what
// tests give package images instead of the helper.
type InProcess struct{}

// Render implements images.Renderer.
func (InProcess) Render(req *chartproto.Request) (*chartproto.Result, error) {
	return Render(req), nil
}

// Render loads and renders one chart with the values under its name in
// req.Values, the release named after the chart in req.Namespace,
// revision 1, default capabilities. A chart that does not load or
// render is Result.Err, with the template and line Helm names.
func Render(req *chartproto.Request) *chartproto.Result {
	res := &chartproto.Result{}
	ch, err := load(req)
	if err == nil {
		res.Chart = ch.Name()
		err = render(ch, req, res)
	} else if ch != nil && ch.Metadata != nil {
		res.Chart = ch.Name()
	}
	if err != nil {
		res.Manifests, res.Strings = nil, nil
		res.Err = &chartproto.Error{Msg: err.Error()}
		if m := helmPos.FindStringSubmatch(err.Error()); m != nil {
			res.Err.Template = m[1]
			res.Err.Line, _ = strconv.Atoi(m[2])
		}
	}
	return res
}

// helmPos finds the template and line in an error of Helm's engine:
// the first TEMPLATE:LINE it names ("execution error at
// (c/templates/x.yaml:1:3): …", "parse error at (c/templates/x.yaml:3)",
// "c/templates/x.yaml:3:18\n  executing …").
var helmPos = regexp.MustCompile(`([^()\s:"<>]+\.(?:ya?ml|tpl|txt|json)):(\d+)`)

func load(req *chartproto.Request) (*chart.Chart, error) {
	if !req.Dir {
		layout, files, err := loadArchive(req.Archive)
		if err != nil {
			return nil, err
		}
		if layout.Shape == chartshape.DotDir {
			// ./c/Chart.yaml: Helm's reader took "." for the chart's
			// directory and left c/ in every name (chartshape checked
			// that every name lies there).
			for _, f := range files {
				f.Name = strings.TrimPrefix(f.Name, layout.Dir+"/")
			}
		}
		return loader.LoadFiles(files)
	}
	files := make([]*archive.BufferedFile, len(req.Files))
	for i, f := range req.Files {
		files[i] = &archive.BufferedFile{Name: f.Name, Data: f.Data}
	}
	return loader.LoadFiles(files)
}

// maxKeptTar bounds the inflated tar stream loadArchive keeps to hand
// Helm's reader: a real chart is well under it; a larger one (or a
// gzip bomb) is inflated twice instead, as before, streaming. A
// variable for tests.
var maxKeptTar = storedgz.MaxTar

// loadArchive decides where the archive's chart lies (archiveLayout)
// and reads its files with Helm's own reader, inflating the archive
// once: the tar stream archiveLayout reads is kept as a gzip stream of
// stored (uncompressed) blocks, which Helm's reader reads at the cost
// of a copy and a CRC. Helm's reader stops at the tar's end as
// archiveLayout does, so both read the same bytes and Helm decides
// exactly what it decided reading the archive itself (inflation was a
// fifth of a helper's CPU: docs/PERFORMANCE.md, "F4").
func loadArchive(data []byte) (chartshape.Layout, []*archive.BufferedFile, error) {
	if storedgz.IsStored(data) {
		// Inflated already (packgen sends the tar validation inflated
		// this way): reading it is a copy, keeping it another.
		layout, err := archiveLayout(data, io.Discard)
		if err != nil {
			return layout, nil, err
		}
		files, err := archive.LoadArchiveFiles(bytes.NewReader(data))
		return layout, files, err
	}
	kept := storedgz.NewWriter(maxKeptTar, storedgz.SizeHint(data, maxKeptTar))
	layout, err := archiveLayout(data, kept)
	if err != nil {
		return layout, nil, err
	}
	in := io.Reader(bytes.NewReader(data))
	if !kept.Full() {
		in = bytes.NewReader(kept.Close())
	}
	files, err := archive.LoadArchiveFiles(in)
	return layout, files, err
}

// archiveLayout reads an archive's entry names and decides where its
// chart lies as validation does (internal/chartshape), so the renderer
// reads the chart validation read, or none: Helm's reader drops each
// name's first element, whatever it is, and would otherwise read an
// archive that mixes ./c/… and x/c/… as another chart. The tar stream
// as it reads it goes to kept too, up to the end of the archive.
func archiveLayout(data []byte, kept io.Writer) (chartshape.Layout, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return chartshape.Layout{}, err
	}
	tr := tar.NewReader(io.TeeReader(zr, kept))
	var names []chartshape.Entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return chartshape.Layout{}, err
		}
		if e, ok := chartshape.EntryOf(h); ok {
			names = append(names, e)
		}
	}
	return chartshape.Of(names)
}

func render(ch *chart.Chart, req *chartproto.Request, res *chartproto.Result) error {
	name := ch.Name()
	var sec map[string]any
	if len(req.Values) > 0 {
		if err := yaml.Unmarshal(req.Values, &sec); err != nil {
			return err
		}
	}
	vals, _ := sec[name].(map[string]any)
	if vals == nil {
		vals = map[string]any{}
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return err
	}
	// The schema is the chart's business at install time; values that
	// carry Palette macros ({{ .spectro... }}) would not pass it here.
	top, err := commonutil.ToRenderValuesWithSchemaValidation(ch, vals, common.ReleaseOptions{Name: name, Namespace: req.Namespace, Revision: 1, IsInstall: true}, nil, true)
	if err != nil {
		return err
	}
	out, err := engine.Engine{}.Render(ch, top)
	if err != nil {
		return err
	}
	srcs := templateSources(ch, "")
	for t, data := range out {
		if ext := path.Ext(t); ext == ".yaml" || ext == ".yml" || ext == ".tpl" {
			res.Manifests = append(res.Manifests, chartproto.Manifest{Name: t, Data: []byte(data), Source: srcs[t]})
		}
	}
	sort.Slice(res.Manifests, func(i, j int) bool { return res.Manifests[i].Name < res.Manifests[j].Name })
	merged, _ := top["Values"].(common.Values)
	res.Strings = leaves(map[string]any(merged), "", 0, nil)
	return nil
}

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

// leaves lists the string values of v depth-first in sorted key order
// (maps only, bounded like ref.Scan).
func leaves(v any, at string, depth int, out []chartproto.Leaf) []chartproto.Leaf {
	if depth > 100 {
		return out
	}
	switch x := v.(type) {
	case string:
		out = append(out, chartproto.Leaf{Path: at, Value: x})
	case common.Values:
		return leaves(map[string]any(x), at, depth, out)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = leaves(x[k], at+"."+k, depth+1, out)
		}
	}
	return out
}
