package pack

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	gzip "github.com/klauspost/compress/gzip"
	"gopkg.in/yaml.v3"

	"github.com/packgen/packgen/internal/chartshape"
	"github.com/packgen/packgen/internal/storedgz"
	"github.com/packgen/packgen/pack/meta"
)

// Chart archive limits: enough for real charts with many subcharts, small
// enough that a gzip bomb cannot make validation read gigabytes.
const (
	maxChartEntries  = 10000
	maxChartUnpacked = 512 << 20
	maxChartYAML     = 1 << 20
)

// Compiled on first use, not in the initialiser every packgen process runs.
var (
	firstDefinedRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`first defined at line (\d+)`) })
)

// parseYAML decodes every document of data into nodes, reporting syntax
// errors and duplicate keys with their position. Aliases are never
// expanded, so "billion laughs" documents cost nothing.
func parseYAML(data []byte) ([]*yaml.Node, []yamlIssue) {
	var docs []*yaml.Node
	var issues []yamlIssue
	data = bytes.TrimPrefix(data, utf8BOM)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col, msg := meta.YAMLError(data, err)
			return docs, append(issues, yamlIssue{line: line, col: col, msg: msg})
		}
		issues = append(issues, duplicateKeys(&n, 0)...)
		docs = append(docs, &n)
	}
	return docs, issues
}

type yamlIssue struct {
	line, col int
	msg       string
}

const maxYAMLDepth = 200

func duplicateKeys(n *yaml.Node, depth int) []yamlIssue {
	if depth > maxYAMLDepth {
		return []yamlIssue{{line: n.Line, col: n.Column, msg: fmt.Sprintf("nesting deeper than %d levels", maxYAMLDepth)}}
	}
	var out []yamlIssue
	if n.Kind == yaml.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Tag != "!!merge" {
				if first, dup := seen[k.Value]; dup {
					out = append(out, yamlIssue{line: k.Line, col: k.Column, msg: fmt.Sprintf("duplicate key %q (first defined at line %d): only one value can win", k.Value, first)})
				} else {
					seen[k.Value] = k.Line
				}
			}
		}
	}
	for _, c := range n.Content {
		out = append(out, duplicateKeys(c, depth+1)...)
	}
	return out
}

// docRoot returns the top node of a document node.
func docRoot(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return doc
}

func mapValue(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func (v *validator) yamlFile(rel string) ([]*yaml.Node, bool) {
	data, err := v.readSmall(rel, v.opts.Limits.MaxYAMLSize)
	if err != nil {
		v.add(rel, meta.SevError, 0, 0, "%v", err)
		return nil, false
	}
	docs, issues := parseYAML(data)
	bad := false
	for _, is := range issues {
		v.add(rel, meta.SevError, is.line, is.col, "%s", is.msg)
		bad = true
	}
	return docs, !bad
}

func (v *validator) checkValues() {
	f, ok := v.pack.file(ValuesFile)
	if !ok {
		v.add(ValuesFile, meta.SevError, 0, 0, "missing values.yaml: every pack needs one, even if it only holds a `pack:` section")
		return
	}
	if !f.Mode.IsRegular() {
		v.add(ValuesFile, meta.SevError, 0, 0, "values.yaml must be a regular file")
		return
	}
	docs, ok := v.yamlFile(ValuesFile)
	if !ok {
		return
	}
	if len(docs) > 1 {
		v.add(ValuesFile, meta.SevError, docs[1].Line, 0, "values.yaml holds %d YAML documents; it must be one mapping", len(docs))
	}
	if len(docs) == 0 {
		return
	}
	root := docRoot(docs[0])
	if root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		return
	}
	if root.Kind == yaml.MappingNode {
		v.valuesDoc = root
	}
	if root.Kind != yaml.MappingNode {
		v.add(ValuesFile, meta.SevError, root.Line, root.Column, "values.yaml must be a mapping of parameters, got %s", meta.YAMLKind(root))
		return
	}
	if k, pk := mapValue(root, "pack"); pk != nil && pk.Kind != yaml.MappingNode && pk.Tag != "!!null" {
		v.add(ValuesFile, meta.SevError, k.Line, k.Column, "the `pack:` section must be a mapping, got %s", meta.YAMLKind(pk))
	}
}

// checkOptionalYAML checks schema.yaml and presets.yaml, which real packs
// carry to drive UIs: both must be a YAML mapping.
func (v *validator) checkOptionalYAML() {
	for _, rel := range []string{SchemaFile, PresetsFile} {
		if _, ok := v.pack.file(rel); !ok {
			continue
		}
		docs, ok := v.yamlFile(rel)
		if !ok || len(docs) == 0 {
			continue
		}
		root := docRoot(docs[0])
		if root.Kind != yaml.MappingNode && !(root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			v.add(rel, meta.SevError, root.Line, root.Column, "%s must be a mapping, got %s", rel, meta.YAMLKind(root))
			continue
		}
		if rel == PresetsFile {
			v.checkPresets(root)
		}
	}
}

func (v *validator) checkPresets(root *yaml.Node) {
	k, list := mapValue(root, "presets")
	if list == nil {
		return
	}
	if list.Kind != yaml.SequenceNode {
		v.add(PresetsFile, meta.SevError, k.Line, k.Column, "presets must be a list, got %s", meta.YAMLKind(list))
		return
	}
	for i, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			v.add(PresetsFile, meta.SevError, item.Line, item.Column, "presets[%d] must be a mapping, got %s", i, meta.YAMLKind(item))
			continue
		}
		if _, name := mapValue(item, "name"); name == nil || name.Value == "" {
			v.add(PresetsFile, meta.SevError, item.Line, item.Column, "presets[%d] has no name", i)
		}
		v.checkPresetAdd(i, item)
	}
}

// checkPresetAdd parses a preset's add: the YAML the platform merges
// into values.yaml when the preset is picked, written as a string.
func (v *validator) checkPresetAdd(i int, item *yaml.Node) {
	_, add := mapValue(item, "add")
	if add == nil || add.Kind != yaml.ScalarNode || add.Tag != "!!str" {
		return
	}
	var doc yaml.Node
	err := yaml.Unmarshal([]byte(add.Value), &doc)
	if err == nil {
		return
	}
	line, _, msg := meta.YAMLError([]byte(add.Value), err)
	at, col := add.Line, add.Column // a one-line string: where it is
	if add.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && line > 0 {
		// A block: its text starts on the line after "add: |", its
		// indentation taken off (so no column).
		at, col = add.Line+line, 0
	}
	v.add(PresetsFile, meta.SevError, at, col, "presets[%d].add is not YAML the platform can merge into values.yaml: %s", i, strings.TrimPrefix(msg, "invalid YAML: "))
}

func (v *validator) checkLogo() {
	f, ok := v.pack.file(LogoFile)
	if !ok {
		return
	}
	if f.Size > v.opts.Limits.MaxLogoSize {
		v.add(LogoFile, meta.SevError, 0, 0, "logo is %s, larger than %s: shrink it", humanBytes(f.Size), humanBytes(v.opts.Limits.MaxLogoSize))
		return
	}
	data, err := v.readSmall(LogoFile, v.opts.Limits.MaxLogoSize)
	if err != nil {
		v.add(LogoFile, meta.SevError, 0, 0, "%v", err)
		return
	}
	if sev, msg := logoProblem(data, v.opts.Limits.MaxLogoPixel); msg != "" {
		v.add(LogoFile, sev, 0, 0, "%s", msg)
	}
}

// logoProblem checks a logo.png's bytes and says what is wrong, if
// anything. The size in pixels comes from the header (png.DecodeConfig)
// and is checked before any pixel is decoded: decoding allocates the whole
// image up front, so a 74-byte file whose header claims 100000x100000
// would otherwise exhaust memory (issue 14 item 3). Within the limit,
// decoding costs at most maxPixel² × 8 bytes (16-bit RGBA), 128 MiB at
// the default 4096. A JPEG named logo.png is a warning, not an error:
// browsers, and so the catalogue, show it (issue 13 item 6).
func logoProblem(data []byte, maxPixel int) (meta.Severity, string) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if jc, jerr := jpeg.DecodeConfig(bytes.NewReader(data)); jerr == nil {
			if msg := logoSize(jc.Width, jc.Height, maxPixel); msg != "" {
				return meta.SevError, msg
			}
			return meta.SevWarning, fmt.Sprintf("logo.png is a JPEG image (%dx%d), not a PNG: browsers show it, but tools that trust the name may not; convert it to PNG", jc.Width, jc.Height)
		}
		if isLFSPointer(data) {
			return meta.SevError, lfsMsg("PNG image", LogoFile)
		}
		return meta.SevError, fmt.Sprintf("logo.png is not a PNG image (%v): convert it to PNG", err)
	}
	if msg := logoSize(cfg.Width, cfg.Height, maxPixel); msg != "" {
		return meta.SevError, msg
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		return meta.SevError, fmt.Sprintf("logo.png is a damaged PNG: %v", err)
	}
	return meta.SevError, ""
}

func logoSize(w, h, max int) string {
	if w < 1 || h < 1 || w > max || h > max {
		return fmt.Sprintf("logo.png is %dx%d pixels; it must be between 1x1 and %dx%d", w, h, max, max)
	}
	return ""
}

// checkManifests checks every YAML file under manifests/ and every file
// listed in kubeManifests: each document must be a Kubernetes object. A
// manifest holding template actions is rendered first, as the platform
// renders it, and the rendered YAML is checked; its problems point at the
// template line that produced the bad line when one reads the same.
func (v *validator) checkManifests() {
	for _, rel := range manifestPaths(v.pack) {
		v.checkManifest(rel)
	}
}

func (v *validator) checkManifest(rel string) {
	src, err := v.readSmall(rel, v.opts.Limits.MaxYAMLSize)
	if err != nil {
		v.add(rel, meta.SevError, 0, 0, "%v", err)
		return
	}
	data := src
	rendered := false
	var missing []string
	if isTemplated(src) {
		r, err := renderManifest(rel, src, v.templateValues(), v.budget())
		if err != nil {
			te := toTemplateError(err)
			v.add(rel, meta.SevError, te.line, 0, "template error: %s (manifests are Go templates rendered with sprig functions, .Values from values.yaml manifests.%s and Palette's .spectro macros)", te.msg, strings.TrimSuffix(path.Base(rel), path.Ext(rel)))
			return
		}
		for _, w := range r.Warnings {
			v.add(rel, meta.SevWarning, 0, 0, "%s", w)
		}
		data, rendered, missing = r.Out, true, r.Missing
	}
	v.manifests = append(v.manifests, RenderedManifest{Path: rel, Data: data, Templated: rendered, src: src})
	// at positions a problem of the rendered YAML in the template.
	at := func(line int, msg string) (int, string) {
		if !rendered || line == 0 {
			return line, msg
		}
		msg = firstDefinedRE().ReplaceAllString(msg, "first defined at line $1 of the rendered manifest")
		msg = fmt.Sprintf("%s (line %d of the rendered manifest: %q)", msg, line, renderedLineText(data, line))
		if len(missing) > 0 {
			msg += fmt.Sprintf("; it renders with nothing for %s, which values.yaml manifests.%s does not set: give defaults there", strings.Join(shortList(missing, 5), ", "), strings.TrimSuffix(path.Base(rel), path.Ext(rel)))
		}
		if l := sourceLine(src, data, line); l > 0 {
			return l, msg
		}
		// The line came from actions: the template line that renders it.
		l, unquoted := actionSource(src, data, line)
		for _, act := range unquoted {
			msg += fmt.Sprintf("; {{ %s }} printed a value YAML does not read as a string: write {{ %s | quote }} (or {{ %s | toYaml }} for a list or map)", act, act, act)
		}
		return l, msg
	}
	docs, issues := parseYAML(data)
	for _, is := range issues {
		l, msg := at(is.line, is.msg)
		col := is.col
		if rendered {
			col = 0
		}
		v.add(rel, meta.SevError, l, col, "%s", msg)
	}
	if len(issues) > 0 {
		return
	}
	objects := 0
	for i, doc := range docs {
		root := docRoot(doc)
		if root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			continue // empty document between '---'
		}
		if root.Kind != yaml.MappingNode {
			l, msg := at(root.Line, fmt.Sprintf("document %d is %s, not a Kubernetes object", i+1, meta.YAMLKind(root)))
			v.add(rel, meta.SevError, l, colIf(!rendered, root.Column), "%s", msg)
			continue
		}
		objects++
		for _, key := range []string{"apiVersion", "kind"} {
			k, val := mapValue(root, key)
			switch {
			case val == nil:
				l, msg := at(root.Line, fmt.Sprintf("document %d has no %s: every manifest needs apiVersion and kind", i+1, key))
				v.add(rel, meta.SevError, l, colIf(!rendered, root.Column), "%s", msg)
			case val.Kind != yaml.ScalarNode || val.Value == "":
				l, msg := at(k.Line, fmt.Sprintf("document %d: %s must be a non-empty string", i+1, key))
				v.add(rel, meta.SevError, l, colIf(!rendered, k.Column), "%s", msg)
			}
		}
	}
	if objects == 0 && !rendered {
		v.add(rel, meta.SevWarning, 0, 0, "manifest holds no Kubernetes objects")
	} else if objects == 0 {
		v.add(rel, meta.SevWarning, 0, 0, "manifest renders to no Kubernetes objects with the values in values.yaml")
	}
}

// shortList returns at most n items, then "…".
func shortList(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(items[:n:n], "…")
}

func colIf(ok bool, col int) int {
	if ok {
		return col
	}
	return 0
}

// templateValues decodes values.yaml for manifest templates, once. A
// values.yaml that does not decode (reported by checkValues) gives none.
func (v *validator) templateValues() map[string]any {
	if v.values != nil {
		return v.values
	}
	v.values = map[string]any{}
	if v.valuesDoc != nil {
		v.values = valuesOf(v.valuesDoc)
	}
	return v.values
}

// lfsPointer begins what git holds for a file Git LFS tracks: a small
// text pointer (git-lfs's spec), the file itself being elsewhere. packgen
// reads committed objects only, so it sees the pointer.
const lfsPointer = "version https://git-lfs.github.com/spec/"

func isLFSPointer(data []byte) bool { return bytes.HasPrefix(data, []byte(lfsPointer)) }

// lfsMsg says that a file git holds is a Git LFS pointer, not what it
// should be, and how to commit the file itself. The pattern that tracks
// it may be any of .gitattributes' (`*.png`, `charts/**`, `*.tar.gz`),
// so the message says how to find it rather than guess it: check-attr
// shows that LFS tracks the file (not the pattern), `git lfs track`
// lists the patterns with the file each is in.
func lfsMsg(what, file string) string {
	return fmt.Sprintf("this is a Git LFS pointer, not a %s: packgen reads what is committed to git, and Git LFS commits only a pointer to the file; commit the file itself: in the pack directory, `git check-attr filter -- %s` says \"filter: lfs\" while Git LFS tracks it; find the .gitattributes pattern that matches it (`git lfs track` lists them with their files; it may be `*.png`, `charts/**` or `*.tar.gz` rather than the file's name), untrack that pattern (`git lfs untrack 'PATTERN'`), then `git add --renormalize .` and commit", what, file)
}

// errChartLFS is a chart archive that is a Git LFS pointer; its caller,
// which knows the file's path, says how to fix it (lfsMsg).
var errChartLFS = errors.New("this is a Git LFS pointer, not a chart archive")

// checkCharts checks charts/*.tgz: gzip tar archives holding one chart
// whose Chart.yaml has a semantic version, with no unsafe paths.
func (v *validator) checkCharts() {
	for _, f := range v.pack.Files {
		dir, base := path.Split(f.Path)
		if dir != ChartsDir+"/" {
			continue
		}
		if f.IsDir() {
			if _, ok := v.pack.file(path.Join(f.Path, "Chart.yaml")); !ok {
				v.add(f.Path, meta.SevWarning, 0, 0, "directory in charts/ without a Chart.yaml")
			}
			continue
		}
		if !f.Mode.IsRegular() || !(strings.HasSuffix(base, ".tgz") || strings.HasSuffix(base, ".tar.gz")) {
			continue
		}
		v.checkChartArchive(f.Path)
	}
}

// maxKeptCharts bounds the chart tars one pack keeps (Options.Keep); a
// variable for tests.
var maxKeptCharts = storedgz.MaxTar

func (v *validator) checkChartArchive(rel string) {
	r, err := v.pack.Open(rel)
	if err != nil {
		v.add(rel, meta.SevError, 0, 0, "cannot open chart: %v", unwrapPathError(err))
		return
	}
	defer r.Close()
	in := io.Reader(r)
	var sum [sha256.Size]byte // the archive's, read whole
	declined := false         // by KeepChart: sum alone is kept
	var kept *storedgz.Writer
	var tee io.Writer // nil, not a nil *storedgz.Writer
	// The pack's kept charts share one bound: a pack of many large
	// charts keeps the first ones, and its renderer inflates the rest.
	budget := maxKeptCharts - v.chartBytes
	if f, _ := v.pack.file(rel); v.opts.Keep && f.Size <= int64(budget) {
		// Read first, whole: its SHA-256 is kept with the tar (KeptChart),
		// and its trailer states the inflated size (the kept tar is
		// allocated once). scanChart reads the same stream, what was not
		// read (past the bound, an error) from r as before.
		b := bytes.NewBuffer(make([]byte, 0, f.Size+bytes.MinRead))
		_, err := b.ReadFrom(io.LimitReader(r, int64(budget)+1))
		in = io.MultiReader(bytes.NewReader(b.Bytes()), r)
		// A tar the trailer says is over the budget is not kept: an
		// honest trailer can only under-state it (modulo 2^32, the last
		// member alone), so it would fill a writer of the whole budget
		// and be thrown away. One that over-states it (anyone can write
		// one: nothing reads past the tar's end) sizes the writer no
		// further than storedgz.SizeHint believes it (64 times the
		// archive), within the budget left; the writer is charged what
		// it holds (its capacity), not what it kept: a lie spends the
		// pack's budget no faster than an honest chart of its size.
		if err == nil && b.Len() <= budget && storedgz.ISize(b.Bytes()) <= budget {
			sum = sha256.Sum256(b.Bytes())
			// Asked before the copy: a chart whose rendering is known is
			// inflated only to be checked.
			if declined = v.opts.KeepChart != nil && !v.opts.KeepChart(sum, v.templateValues()); !declined {
				kept = storedgz.NewWriter(budget, storedgz.SizeHint(b.Bytes(), budget))
				tee = kept
			}
		}
	}
	c, err := scanChart(in, tee)
	var name, version string
	var layout chartshape.Layout
	if err == nil {
		name, version, layout, err = c.name, c.version, c.layout, c.err
	}
	if errors.Is(err, errChartLFS) {
		v.add(rel, meta.SevError, 0, 0, "%s", lfsMsg("chart archive", rel))
		return
	}
	if err != nil {
		v.add(rel, meta.SevError, 0, 0, "%v", err)
		return
	}
	if layout.Shape == chartshape.DotDir {
		// Accepted (the renderer reads it), but `helm install` of the
		// archive would fail: say so before it is signed and published.
		v.add(rel, meta.SevWarning, 0, 0, "chart archive is rooted at ./%[1]s/ (as `tar -C PARENT -czf x.tgz .` writes it): Helm's own loader cannot read this archive: repack it with `helm package %[1]s` (or `tar -C PARENT -czf x.tgz %[1]s`)", layout.Dir)
	}
	if _, err := semver.NewVersion(version); err != nil {
		v.add(rel, meta.SevError, 0, 0, "chart %s: Chart.yaml version %q is not a semantic version", name, version)
		return
	}
	switch {
	case declined:
		v.keepChart(rel, keptChart{sum: sum})
	case kept != nil && !kept.Full():
		gz := kept.Close()
		v.keepChart(rel, keptChart{gz: gz, sum: sum})
		v.chartBytes += cap(gz)
	}
}

// keepChart records what is kept of the chart archive rel for the image
// check (pack.KeptChart).
func (v *validator) keepChart(rel string, c keptChart) {
	if v.charts == nil {
		v.charts = map[string]keptChart{}
	}
	v.charts[rel] = c
}

// gzipEnds reports whether what is left of zr (at most 1 MiB) reads to
// its end without error.
func gzipEnds(zr io.Reader) bool {
	const most = 1 << 20
	n, err := io.Copy(io.Discard, io.LimitReader(zr, most))
	return err == nil && n < most
}

// inspectChart reads a Helm chart archive and returns the top chart's
// name and version and where the chart lies in it, refusing corrupt
// archives, unsafe entries and names Helm and packgen could read as
// different charts (internal/chartshape decides, for the renderer too).
func inspectChart(r io.Reader) (name, version string, layout chartshape.Layout, err error) {
	c, err := scanChart(r, nil)
	if err != nil {
		return "", "", layout, err
	}
	return c.name, c.version, c.layout, c.err
}

// chartInfo is what scanChart finds in a chart archive: its chart's name,
// version and layout (err: its Chart.yaml is bad), and its values.yaml.
type chartInfo struct {
	name, version string
	layout        chartshape.Layout
	values        []byte // nil: none, or over maxChartYAML
	err           error
}

// scanChart is inspectChart, keeping the chart's values.yaml too; the
// tar stream as it reads it goes to kept (nil: nowhere), up to the end
// of the archive, as the chart renderer reads it.
func scanChart(r io.Reader, kept io.Writer) (*chartInfo, error) {
	var layout chartshape.Layout
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(lfsPointer))
	head = bytes.Clone(head) // Peek's slice is the buffer, which reading moves
	zr, err := gzip.NewReader(br)
	if err != nil {
		if isLFSPointer(head) {
			return nil, errChartLFS
		}
		return nil, fmt.Errorf("chart archive is not gzip-compressed: %v", err)
	}
	tr := tar.NewReader(zr)
	if kept != nil {
		tr = tar.NewReader(io.TeeReader(zr, kept))
	}
	c := chartScan{chartYAMLs: map[string][]byte{}, values: map[string][]byte{}}
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && n == 0 && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, tar.ErrHeader)) && gzipEnds(zr) {
			// Not even one header in a whole gzip stream: gzip around
			// something else (a truncated one is corrupt, below).
			return nil, fmt.Errorf("chart archive is gzip-compressed but holds no tar archive (%v): package the chart with `helm package`", err)
		}
		if err != nil {
			return nil, fmt.Errorf("chart archive is corrupt: %v", err)
		}
		if n >= maxChartEntries {
			return nil, fmt.Errorf("chart archive holds more than %d entries", maxChartEntries)
		}
		if err := c.add(tr, h, &n); err != nil {
			return nil, err
		}
	}
	if err := chartLinks(c.entries, c.hard); err != nil {
		return nil, err
	}
	if layout, err = chartshape.Of(c.names); err != nil {
		return nil, err
	}
	if err := checkSubcharts(layout, c.subs); err != nil {
		return nil, err
	}
	info := &chartInfo{layout: layout, values: c.values[layout.ChartYAML]}
	info.name, info.version, info.err = chartMeta(layout.ChartYAML, c.chartYAMLs[layout.ChartYAML])
	return info, nil
}

// chartScan is what inspectChart gathers from a chart archive's entries.
type chartScan struct {
	chartYAMLs map[string][]byte // every Chart.yaml a shape could pick
	values     map[string][]byte // the values.yaml beside each, by the Chart.yaml's key
	names      []chartshape.Entry
	unpacked   int64
	entries    []File      // for the links' virtual tree
	hard       [][2]string // hard links: name, target
	subs       []subchart
}

// add takes in the entry h, whose content tr reads; *n counts the
// entries read, a subchart's included.
func (c *chartScan) add(tr *tar.Reader, h *tar.Header, n *int) error {
	e, ok := chartshape.EntryOf(h)
	if !ok {
		return nil
	}
	c.names = append(c.names, e)
	// tar(1) run on "./mychart" or "-C dir ." roots entries at "./"
	// and writes that root itself as "./" or ".".
	if root := strings.TrimPrefix(h.Name, "./"); (root == "" || root == ".") && h.Typeflag == tar.TypeDir {
		return nil
	}
	f, isHard, err := chartEntry(h)
	if err != nil {
		return err
	}
	switch {
	case isHard:
		c.hard = append(c.hard, [2]string{h.Name, h.Linkname})
	case f != nil:
		c.entries = append(c.entries, *f)
	}
	c.unpacked += h.Size
	if c.unpacked > maxChartUnpacked {
		return fmt.Errorf("chart archive unpacks to more than %s", humanBytes(maxChartUnpacked))
	}
	if isSubchartArchive(h) {
		// Its names are read within the chart's own bounds: what
		// reading them unpacks, and their count, are the chart's.
		budget := maxChartUnpacked - c.unpacked
		sl, err := subchartLayout(tr, &budget, n)
		c.unpacked = maxChartUnpacked - budget
		if err != nil {
			return err
		}
		c.subs = append(c.subs, subchart{path.Clean(strings.TrimPrefix(h.Name, "./")), sl})
	}
	if key, ok := chartshape.IsChartYAML(h.Name); ok && h.Typeflag == tar.TypeReg {
		if h.Size > maxChartYAML {
			return fmt.Errorf("chart archive: %s is larger than %s", key, humanBytes(maxChartYAML))
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("chart archive is corrupt: %v", err)
		}
		c.chartYAMLs[key] = data // the later of two wins, as in Helm's loader
	}
	// The values.yaml beside a Chart.yaml a shape could pick: the
	// chart's defaults (a larger one is not kept: nothing needs it
	// whole but Helm, which reads the archive itself).
	if dir, ok := strings.CutSuffix(h.Name, "values.yaml"); ok && (dir == "" || strings.HasSuffix(dir, "/")) && h.Typeflag == tar.TypeReg && h.Size <= maxChartYAML {
		if key, ok := chartshape.IsChartYAML(dir + "Chart.yaml"); ok {
			data, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("chart archive is corrupt: %v", err)
			}
			c.values[key] = data
		}
	}
	return nil
}

// subchart is an archive in a chart's charts/ directory (name clean,
// without "./") and where it roots its chart (Shape 0: not read as a
// chart).
type subchart struct {
	name   string
	layout chartshape.Layout
}

// isSubchartArchive says whether h may be a subchart archive of the
// chart, whatever the chart's shape: DIR/charts/x.tgz, or charts/x.tgz
// under a "./" root.
func isSubchartArchive(h *tar.Header) bool {
	if h.Typeflag != tar.TypeReg || !(strings.HasSuffix(h.Name, ".tgz") || strings.HasSuffix(h.Name, ".tar.gz")) {
		return false
	}
	dir := path.Dir(path.Clean(strings.TrimPrefix(h.Name, "./")))
	return path.Base(dir) == "charts" && strings.Count(dir, "/") <= 1
}

// subchartLayout reads a subchart archive's entry names and returns its
// layout; the zero Layout when it is no chart archive chartshape
// accepts (Helm's loader reports that when the chart renders) or, as
// soon as a name shows it, not rooted at ./NAME/. What it unpacks comes
// off budget and its entries count in entries: a chart holding a
// thousand small archives that each unpack to 512 MiB is refused, not
// unpacked.
func subchartLayout(r io.Reader, budget *int64, entries *int) (chartshape.Layout, error) {
	var none chartshape.Layout
	zr, err := gzip.NewReader(r)
	if err != nil {
		return none, nil
	}
	lr := &io.LimitedReader{R: zr, N: *budget + 1}
	defer func() { *budget = lr.N - 1 }()
	tooLarge := fmt.Errorf("chart archive unpacks to more than %s, its subcharts counted", humanBytes(maxChartUnpacked))
	tr := tar.NewReader(lr)
	var names []chartshape.Entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if lr.N <= 0 {
			return none, tooLarge
		}
		if err != nil {
			return none, nil
		}
		if *entries++; *entries >= maxChartEntries {
			return none, fmt.Errorf("chart archive holds more than %d entries, its subcharts counted", maxChartEntries)
		}
		e, ok := chartshape.EntryOf(h)
		if !ok || (e.Dir && (e.Name == "." || e.Name == "./")) {
			continue
		}
		if !strings.HasPrefix(e.Name, "./") {
			return none, nil // packaged as NAME/: Helm reads it, or says why not
		}
		names = append(names, e)
	}
	if lr.N <= 0 {
		return none, tooLarge
	}
	l, err := chartshape.Of(names)
	if err != nil {
		return none, nil
	}
	return l, nil
}

// checkSubcharts refuses a subchart of the chart rooted at ./DIR/:
// Helm's loader, which unpacks charts/*.tgz when it loads the chart,
// finds DIR/Chart.yaml there, not Chart.yaml, so the chart neither
// renders nor installs ("error unpacking subchart … Chart.yaml file is
// missing", which does not say why).
func checkSubcharts(l chartshape.Layout, subs []subchart) error {
	chartsDir := path.Join(l.Dir, "charts")
	for _, s := range subs {
		if path.Dir(s.name) != chartsDir || s.layout.Shape != chartshape.DotDir {
			continue
		}
		return fmt.Errorf("chart archive: subchart %[1]s is rooted at ./%[2]s/ (as `tar -C PARENT -czf x.tgz .` writes it), which Helm's loader cannot read, so the chart does not install: repack the subchart with `helm package %[2]s`, or let `helm dependency build` fetch it", s.name, s.layout.Dir)
	}
	return nil
}

// chartMeta reads the name and version of the Chart.yaml the layout
// picked (named key in errors).
func chartMeta(key string, data []byte) (name, version string, err error) {
	var chart struct {
		Name    string `yaml:"name"`
		Version string `yaml:"version"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		return "", "", fmt.Errorf("chart archive: %s is invalid YAML: %v", key, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if chart.Version == "" {
		return chart.Name, "", fmt.Errorf("chart archive: %s has no version", key)
	}
	return chart.Name, chart.Version, nil
}

// chartEntry checks one entry of a chart archive: f is what it adds to
// the links' virtual tree (nil for none); hard says it is a hard link,
// whose target is named from the archive root.
func chartEntry(h *tar.Header) (f *File, hard bool, err error) {
	if msg := unsafeRelPath(strings.TrimPrefix(h.Name, "./")); msg != "" {
		return nil, false, fmt.Errorf("chart archive entry %q %s", h.Name, msg)
	}
	switch h.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil, false, nil
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink, tar.TypeLink:
		if linkEscapes(h.Name, h.Linkname) != "" {
			return nil, false, fmt.Errorf("chart archive entry %q links outside the chart (%q)", h.Name, h.Linkname)
		}
		if h.Typeflag == tar.TypeLink {
			return nil, true, nil
		}
	default:
		return nil, false, fmt.Errorf("chart archive entry %q is a special file (type %q)", h.Name, h.Typeflag)
	}
	f = &File{Path: path.Clean(strings.TrimPrefix(h.Name, "./"))}
	if h.Typeflag == tar.TypeSymlink {
		f.Mode, f.Link = fs.ModeSymlink, h.Linkname
	}
	return f, false, nil
}

func (v *validator) checkReadme() {
	f, ok := v.pack.file(ReadmeFile)
	if !ok || !f.Mode.IsRegular() {
		return
	}
	data, err := v.readSmall(ReadmeFile, 4<<20)
	if err != nil {
		v.add(ReadmeFile, meta.SevError, 0, 0, "%v", err)
		return
	}
	if !utf8.Valid(data) {
		v.add(ReadmeFile, meta.SevWarning, 0, 0, "README.md is not valid UTF-8; catalogues may show it garbled")
	}
}

// ChartDefaults returns the defaults of each chart in a pack's charts/
// (an archive charts/*.tgz or an unpacked charts/DIR/), by the name its
// Chart.yaml gives it, which is the key of values.yaml's charts section
// whose values Helm merges over them: a profile's override of a chart's
// own value is checked against them. A chart without a values.yaml, or
// that cannot be read (validation says why), has none; fsys is a pack's
// files (an Archive).
func ChartDefaults(fsys fs.FS) map[string][]byte {
	out := map[string][]byte{}
	entries, _ := fs.ReadDir(fsys, ChartsDir)
	for _, e := range entries {
		rel := path.Join(ChartsDir, e.Name())
		var name string
		var values []byte
		switch {
		case e.IsDir():
			chart, err := readSmall(fsys, path.Join(rel, "Chart.yaml"))
			if err != nil {
				continue
			}
			if name, _, err = chartMeta(path.Join(rel, "Chart.yaml"), chart); err != nil {
				continue
			}
			values, _ = readSmall(fsys, path.Join(rel, "values.yaml"))
		case e.Type().IsRegular() && (strings.HasSuffix(e.Name(), ".tgz") || strings.HasSuffix(e.Name(), ".tar.gz")):
			f, err := fsys.Open(rel)
			if err != nil {
				continue
			}
			c, err := scanChart(f, nil)
			f.Close()
			if err != nil || c.err != nil {
				continue
			}
			name, values = c.name, c.values
		}
		if name != "" && values != nil {
			out[name] = values
		}
	}
	return out
}

// readSmall reads a regular file of fsys of at most maxChartYAML bytes.
func readSmall(fsys fs.FS, name string) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxChartYAML {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", name, maxChartYAML)
	}
	return fs.ReadFile(fsys, name)
}
