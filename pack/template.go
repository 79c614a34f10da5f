package pack

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v3"
)

// Palette renders a pack's manifests as Go templates (text/template with
// the sprig functions) before applying them: .Values is the manifest's
// section of values.yaml (manifests.<file name without extension>) and
// .spectro.* are macros the platform fills in at deploy time. Validation
// renders them the same way, with the macros stubbed, so a templated
// manifest is checked as the YAML the platform will apply, not refused
// for its braces.

// ErrTemplate marks a manifest whose template does not parse or execute.
var ErrTemplate = errors.New("manifest template error")

// Bounds on rendering a hostile template: output size, time, and the
// sizes the few sprig functions that allocate on request may build.
const (
	renderTimeout   = 10 * time.Second
	maxRenderItems  = 100000 // until, seq, untilStep elements
	maxRenderPad    = 1000   // indent/nindent width
	maxRenderRand   = 4096   // randAlpha & co
	maxRenderCalls  = 1000000
	maxIncludeDepth = 1000
)

// isTemplated reports whether a manifest holds template actions.
func isTemplated(data []byte) bool { return bytes.Contains(data, []byte("{{")) }

// templateError is a template parse or execution error at a line of the
// source (0 when the template package did not say).
type templateError struct {
	line int
	msg  string
}

func (e *templateError) Error() string { return e.msg }
func (e *templateError) Unwrap() error { return ErrTemplate }

// template: NAME:LINE[:COL]: MESSAGE, as text/template formats errors.
//
// Compiled on first use, not in the initialiser every packgen process runs.
var templateErrRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^template: [^:]*:(\d+)(?::\d+)?: (.*)$`) })

// Compiled on first use, not in the initialiser every packgen process runs.
var startedAtRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`started at [^:]*:(\d+)`) })

func toTemplateError(err error) *templateError {
	var te *templateError
	if errors.As(err, &te) {
		return te
	}
	msg := err.Error()
	m := templateErrRE().FindStringSubmatch(msg)
	if m == nil {
		return &templateError{msg: strings.TrimPrefix(msg, "template: ")}
	}
	line, _ := strconv.Atoi(m[1])
	inner := m[2]
	// An unclosed action is reported where the file ends; say where it began.
	if s := startedAtRE().FindStringSubmatch(inner); s != nil {
		line, _ = strconv.Atoi(s[1])
		inner = startedAtRE().ReplaceAllString(inner, "started at line "+s[1])
	}
	// `executing "NAME" at <.x>: error calling f: template: …: reason`,
	// nested once per include: keep the call and the innermost reason.
	if strings.HasPrefix(inner, "executing ") {
		if i := strings.Index(inner, `" at <`); i >= 0 {
			inner = inner[i+2:]
		}
		if i := strings.LastIndex(inner, "error calling "); i >= 0 {
			call := inner[:strings.Index(inner, ">")+1]
			reason := inner[i+len("error calling "):]
			if j := strings.Index(reason, ": "); j >= 0 {
				reason = reason[j+2:]
			}
			inner = call + ": " + reason
		}
	}
	inner = strings.TrimPrefix(inner, "at <"+tickFunc+">: ")
	return &templateError{line: line, msg: inner}
}

// renderBudget stops a runaway template: every function call, every
// write and every entry into a template body (renderManifest puts a
// check at the head of each, so even an empty `range` over a billion
// pays) checks it. One budget covers all the manifests of a pack, so a
// pack of a thousand slow templates costs what one does.
type renderBudget struct {
	deadline time.Time
	timeout  time.Duration
	maxCalls int
	max      int // output bytes per manifest
	calls    atomic.Int64
	mu       sync.Mutex // guards depth and stopped
	depth    int
	stopped  error
}

// newRenderBudget is the budget of one pack's manifests.
func newRenderBudget(maxOutput int) *renderBudget {
	return &renderBudget{deadline: time.Now().Add(renderTimeout), timeout: renderTimeout, maxCalls: maxRenderCalls, max: maxOutput}
}

func (b *renderBudget) check() error {
	n := b.calls.Add(1)
	// The clock and the lock only every 256 steps: a step is cheap.
	if n%256 != 0 && n <= int64(b.maxCalls) {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped != nil {
		return b.stopped
	}
	switch {
	case n > int64(b.maxCalls):
		b.stopped = fmt.Errorf("rendering the pack's templates takes more than %d steps: simplify them", b.maxCalls)
	case time.Now().After(b.deadline):
		b.stopped = fmt.Errorf("rendering the pack's templates takes longer than %v: simplify them", b.timeout)
	}
	return b.stopped
}

// limitedBuffer is the render output, refusing more than max bytes.
type limitedBuffer struct {
	bytes.Buffer
	b *renderBudget
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.b.max {
		return 0, fmt.Errorf("rendered manifest is larger than %s", humanBytes(int64(w.b.max)))
	}
	if err := w.b.check(); err != nil {
		return 0, err
	}
	return w.Buffer.Write(p)
}

// renderFuncs is sprig's function map made safe for validating
// untrusted templates, plus the Helm functions manifests borrow
// (toYaml, fromYaml, include, required). Nothing reads the environment,
// the network or the clock's randomness into the output: env and
// expandenv render empty (a PR check must not print the CI's secrets),
// getHostByName does no lookup, and the allocating functions are bounded.
func renderFuncs(b *renderBudget, root **template.Template, warn func(string)) template.FuncMap {
	fm := sprig.TxtFuncMap()
	fm["env"] = func(string) string { return "" }
	fm["expandenv"] = func(s string) string { return s }
	fm["getHostByName"] = func(string) string { return "" }
	boundedFuncs(fm, b)
	placeholderFuncs(fm)
	helmFuncs(fm, b, root, warn)
	fm[tickFunc] = func() string { return "" }
	for name, fn := range fm {
		fm[name] = guard(b, fn)
	}
	return fm
}

// bound refuses a count or width n beyond ±max.
func bound(n, max int, what string) error {
	if n > max || n < -max {
		return fmt.Errorf("%s %d is larger than %d", what, n, max)
	}
	return nil
}

// boundedFuncs replaces sprig's allocating functions with ones that
// refuse sizes beyond the render budget's limits.
func boundedFuncs(fm template.FuncMap, b *renderBudget) {
	orig := sprig.TxtFuncMap()
	fm["repeat"] = func(count int, s string) (string, error) {
		if count < 0 || count*len(s) > b.max {
			return "", fmt.Errorf("repeat %d times %d bytes is larger than %s", count, len(s), humanBytes(int64(b.max)))
		}
		return strings.Repeat(s, count), nil
	}
	fm["until"] = func(n int) ([]int, error) {
		if err := bound(n, maxRenderItems, "until"); err != nil {
			return nil, err
		}
		return orig["until"].(func(int) []int)(n), nil
	}
	fm["untilStep"] = func(start, stop, step int) ([]int, error) {
		if step != 0 && (stop-start)/step > maxRenderItems {
			return nil, fmt.Errorf("untilStep %d %d %d yields more than %d items", start, stop, step, maxRenderItems)
		}
		return orig["untilStep"].(func(int, int, int) []int)(start, stop, step), nil
	}
	fm["seq"] = func(params ...int) (string, error) {
		for _, p := range params {
			if err := bound(p, maxRenderItems, "seq bound"); err != nil {
				return "", err
			}
		}
		if len(params) == 3 && params[1] == 0 {
			return "", errors.New("seq step 0")
		}
		return orig["seq"].(func(...int) string)(params...), nil
	}
	for _, name := range []string{"indent", "nindent"} {
		orig := orig[name].(func(int, string) string)
		fm[name] = func(n int, s string) (string, error) {
			if err := bound(n, maxRenderPad, name+" width"); err != nil {
				return "", err
			}
			return orig(n, s), nil
		}
	}
	for _, name := range []string{"randAlphaNum", "randAlpha", "randAscii", "randNumeric"} {
		orig := orig[name].(func(int) string)
		fm[name] = func(n int) (string, error) {
			if err := bound(n, maxRenderRand, name+" length"); err != nil {
				return "", err
			}
			return orig(n), nil
		}
	}
	fm["randBytes"] = func(n int) (string, error) {
		if err := bound(n, maxRenderRand, "randBytes length"); err != nil {
			return "", err
		}
		return orig["randBytes"].(func(int) (string, error))(n)
	}
}

// placeholderFuncs replaces the functions that derive or generate keys,
// certificates and password hashes: slow by design, and what they
// return only has to render.
func placeholderFuncs(fm template.FuncMap) {
	// Key derivation and key generation are slow by design; what they
	// return only has to render, so a placeholder does.
	fm["derivePassword"] = func(uint32, string, string, string, string) string { return "derived-password" }
	fm["genPrivateKey"] = func(string) string { return placeholderPEM("PRIVATE KEY") }
	cert := func(...any) certStub {
		return certStub{Cert: placeholderPEM("CERTIFICATE"), Key: placeholderPEM("PRIVATE KEY")}
	}
	for _, name := range []string{"genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey", "buildCustomCert"} {
		fm[name] = cert
	}
	fm["bcrypt"] = func(string) string { return "$2a$10$placeholderplaceholderplaceholderplaceholderplace" }
	fm["htpasswd"] = func(user, _ string) string { return user + ":$2a$10$placeholderplaceholderplaceholderplaceholderplace" }
}

// helmFuncs adds the Helm functions manifests borrow: toYaml, fromYaml,
// include (within the budget's depth) and required (a warning, not an
// error).
func helmFuncs(fm template.FuncMap, b *renderBudget, root **template.Template, warn func(string)) {
	fm["toYaml"] = func(v any) string {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return ""
		}
		enc.Close()
		return strings.TrimSuffix(buf.String(), "\n")
	}
	fm["fromYaml"] = func(s string) map[string]any {
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	fm["include"] = func(name string, data any) (string, error) {
		// Each include is a new execution, which text/template's own
		// depth limit does not see: bound recursion here, as Helm does.
		b.mu.Lock()
		b.depth++
		depth := b.depth
		b.mu.Unlock()
		defer func() { b.mu.Lock(); b.depth--; b.mu.Unlock() }()
		if depth > maxIncludeDepth {
			return "", fmt.Errorf("include %q nests deeper than %d", name, maxIncludeDepth)
		}
		var buf limitedBuffer
		buf.b = b
		if err := (*root).ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	// A value users set when they add the pack to a profile is often
	// empty in values.yaml: say so, and render on.
	fm["required"] = func(msg string, v any) any {
		if v == nil || v == "" {
			warn(fmt.Sprintf("required value is empty in values.yaml (%s): users must set it", msg))
			return ""
		}
		return v
	}
}

// tickFunc is the budget check addTicks puts at the head of every
// template body (a template calling it just renders nothing).
const tickFunc = "__packgenTick"

// addTicks puts a call of tickFunc at the head of every list of nodes
// (each range, if, with and define body), so that a loop whose body
// neither writes nor calls a function still checks the budget on
// every iteration.
func addTicks(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			addTicks(c)
		}
		tick := &parse.ActionNode{NodeType: parse.NodeAction, Pos: n.Pos, Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: n.Pos,
			Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{parse.NewIdentifier(tickFunc).SetPos(n.Pos)}}}}}
		n.Nodes = append([]parse.Node{tick}, n.Nodes...)
	case *parse.IfNode:
		addTicks(n.List)
		addTicks(n.ElseList)
	case *parse.RangeNode:
		addTicks(n.List)
		addTicks(n.ElseList)
	case *parse.WithNode:
		addTicks(n.List)
		addTicks(n.ElseList)
	}
}

type certStub struct{ Cert, Key string }

func placeholderPEM(kind string) string {
	return "-----BEGIN " + kind + "-----\ncGxhY2Vob2xkZXI=\n-----END " + kind + "-----\n"
}

// guard wraps a template function so it checks the budget first.
func guard(b *renderBudget, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		return fn
	}
	hasErr := t.NumOut() == 2
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		if err := b.check(); err != nil {
			if hasErr {
				return []reflect.Value{reflect.Zero(t.Out(0)), reflect.ValueOf(&err).Elem()}
			}
			panic(err) // text/template turns a panicking call into an error
		}
		if t.IsVariadic() {
			return v.CallSlice(args)
		}
		return v.Call(args)
	}).Interface()
}

// manifestValues returns the section of values.yaml a manifest file's
// template sees as .Values: manifests.<name without extension>, or
// manifests.<name> as written, or nothing.
func manifestValues(values map[string]any, rel string) map[string]any {
	sec, _ := values["manifests"].(map[string]any)
	base := path.Base(rel)
	for _, k := range []string{strings.TrimSuffix(base, path.Ext(base)), base} {
		if m, ok := sec[k].(map[string]any); ok {
			return m
		}
	}
	return map[string]any{}
}

// renderManifest executes a manifest template the way Palette does, with
// the .spectro macros stubbed by placeholder strings that name them. A
// key values.yaml lacks renders empty, as in Helm. Warnings (e.g. an
// empty required value) are returned beside the output.
// rendered is a rendered manifest, with what rendering noticed.
type rendered struct {
	Out      []byte
	Warnings []string
	Missing  []string // root-anchored .Values paths values.yaml does not set, sorted
}

func renderManifest(rel string, src []byte, values map[string]any, b *renderBudget) (*rendered, error) {
	if err := b.check(); err != nil {
		return nil, &templateError{msg: err.Error()}
	}
	var warnings []string
	var tmpl *template.Template
	funcs := renderFuncs(b, &tmpl, func(w string) { warnings = append(warnings, w) })
	tmpl = template.New(path.Base(rel)).Funcs(funcs)
	if _, err := tmpl.Parse(string(src)); err != nil {
		return nil, toTemplateError(err)
	}
	miss := map[string]bool{}
	data := map[string]any{
		"Values":  deepCopy(manifestValues(values, rel)),
		"spectro": map[string]any{},
	}
	for _, t := range tmpl.Templates() {
		if t.Tree != nil {
			fillChains(t.Tree.Root, data, true, miss)
			addTicks(t.Tree.Root)
		}
	}
	out := &limitedBuffer{b: b}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("template: %v", r)
			}
		}()
		done <- tmpl.Execute(out, data)
	}()
	select {
	case err := <-done:
		if err != nil {
			return nil, toTemplateError(err)
		}
	case <-time.After(time.Until(b.deadline) + 2*time.Second):
		// Every body checks the budget, so only one builtin running
		// long on its own gets here; leave it and report.
		return nil, &templateError{msg: fmt.Sprintf("rendering the pack's templates takes longer than %v: simplify them", b.timeout)}
	}
	// Helm's convention: a missing value prints as nothing.
	r := &rendered{Out: bytes.ReplaceAll(out.Bytes(), []byte("<no value>"), nil), Warnings: warnings}
	for k := range miss {
		r.Missing = append(r.Missing, k)
	}
	sort.Strings(r.Missing)
	return r, nil
}

// fillChains makes every field chain the template reads from the root
// (.Values.a.b, .spectro.system.cluster.name, $.Release.Name) resolvable:
// missing intermediate keys become empty maps, so reading under a key
// values.yaml lacks renders empty instead of failing on a nil map, and
// every .spectro leaf becomes a placeholder string naming the macro.
// Inside range and with, dot is no longer the root: those chains are
// left alone unless anchored at $.
func fillChains(n parse.Node, data map[string]any, atRoot bool, miss map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			fillChains(c, data, atRoot, miss)
		}
	case *parse.ActionNode:
		fillChains(n.Pipe, data, atRoot, miss)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			fillChains(c, data, atRoot, miss)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			fillChains(a, data, atRoot, miss)
		}
	case *parse.ChainNode:
		fillChains(n.Node, data, atRoot, miss)
	case *parse.FieldNode:
		if atRoot {
			fillPath(data, n.Ident, miss)
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			fillPath(data, n.Ident[1:], miss)
		}
	case *parse.IfNode:
		fillBranch(&n.BranchNode, data, atRoot, atRoot, miss)
	case *parse.RangeNode:
		fillBranch(&n.BranchNode, data, atRoot, false, miss)
	case *parse.WithNode:
		fillBranch(&n.BranchNode, data, atRoot, false, miss)
	case *parse.TemplateNode:
		fillChains(n.Pipe, data, atRoot, miss)
	}
}

func fillBranch(n *parse.BranchNode, data map[string]any, atRoot, inside bool, miss map[string]bool) {
	fillChains(n.Pipe, data, atRoot, miss)
	fillChains(n.List, data, inside, miss)
	fillChains(n.ElseList, data, atRoot, miss)
}

func fillPath(data map[string]any, ident []string, miss map[string]bool) {
	if len(ident) == 0 {
		return
	}
	spectro := ident[0] == "spectro"
	cur := data
	for i, k := range ident {
		last := i == len(ident)-1
		v, ok := cur[k]
		if !ok {
			switch {
			case last && spectro:
				cur[k] = strings.Join(ident, ".")
			case last:
				// missing leaf: renders "<no value>", removed after
				if ident[0] == "Values" {
					miss["."+strings.Join(ident, ".")] = true
				}
			default:
				m := map[string]any{}
				cur[k] = m
				cur = m
				continue
			}
			return
		}
		next, isMap := v.(map[string]any)
		if !isMap {
			return
		}
		cur = next
	}
}

// deepCopy copies the maps and lists of decoded YAML, so filling chains
// for one manifest never changes what another sees.
func deepCopy(v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for k, x := range v {
		out[k] = deepCopyValue(x)
	}
	return out
}

func deepCopyValue(x any) any {
	switch x := x.(type) {
	case map[string]any:
		return deepCopy(x)
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopyValue(e)
		}
		return l
	}
	return x
}

// sourceLine maps a line of a rendered manifest back to the template
// line that produced it: the template line with the same text, the one
// nearest in position when several match. It returns 0 when no line of
// the template reads the same (the line came from an action).
func sourceLine(src, out []byte, n int) int {
	outLines := strings.Split(string(out), "\n")
	if n < 1 || n > len(outLines) {
		return 0
	}
	want := strings.TrimRight(outLines[n-1], " \t\r")
	if strings.TrimSpace(want) == "" {
		return 0
	}
	var cands []int
	for i, l := range strings.Split(string(src), "\n") {
		if strings.TrimRight(l, " \t\r") == want {
			cands = append(cands, i+1)
		}
	}
	if len(cands) == 0 {
		return 0
	}
	sort.Slice(cands, func(i, j int) bool { return abs(cands[i]-n) < abs(cands[j]-n) })
	return cands[0]
}

// actionRE finds a template action on a line; valueRefRE is an action
// that prints one value as it is: {{ .Values.a.b }}, no pipe.
var (
	actionRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`) })
	valueRefRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\.Values(\.[A-Za-z_][A-Za-z0-9_]*)+$`) })
)

// actionSource maps line n of a rendered manifest that no template line
// reads the same (sourceLine's 0) back to the template line whose
// actions render it, each action read as any text: the one nearest in
// position when several match, 0 when none does. unquoted are the
// actions of that line that print a value as it is ({{ .Values.x }})
// whose text is not a YAML string alone (a colon and a space, a
// comment, a flow collection...): the value needs | quote.
func actionSource(src, out []byte, n int) (line int, unquoted []string) {
	outLines := strings.Split(string(out), "\n")
	if n < 1 || n > len(outLines) {
		return 0, nil
	}
	got := strings.TrimRight(outLines[n-1], " \t\r")
	type cand struct {
		line     int
		unquoted []string
	}
	var cands []cand
	for i, l := range strings.Split(string(src), "\n") {
		l = strings.TrimRight(l, " \t\r")
		acts := actionRE().FindAllStringSubmatchIndex(l, -1)
		if len(acts) == 0 || len(l) > 4096 {
			continue
		}
		var re strings.Builder
		re.WriteString("^")
		prev := 0
		for _, a := range acts {
			re.WriteString(regexp.QuoteMeta(l[prev:a[0]]) + "(.*?)")
			prev = a[1]
		}
		re.WriteString(regexp.QuoteMeta(l[prev:]) + "$")
		m := regexp.MustCompile(re.String()).FindStringSubmatch(got)
		if m == nil {
			continue
		}
		c := cand{line: i + 1}
		for j, a := range acts {
			if act := l[a[2]:a[3]]; valueRefRE().MatchString(act) && !plainScalar(m[j+1]) {
				c.unquoted = append(c.unquoted, act)
			}
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return 0, nil
	}
	sort.SliceStable(cands, func(i, j int) bool { return abs(cands[i].line-n) < abs(cands[j].line-n) })
	return cands[0].line, cands[0].unquoted
}

// plainScalar reports whether s, written unquoted after "key: ", is
// YAML that reads back as it is: not an error, and not a string YAML
// cut short (a " #" starts a comment). An empty s says nothing (the
// value is missing: checkManifest says so).
func plainScalar(s string) bool {
	if s == "" {
		return true
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte("k: "+s), &m); err != nil {
		return false
	}
	str, ok := m["k"].(string)
	return !ok || str == s
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// renderedLineText returns line n of out, shortened for a message.
func renderedLineText(out []byte, n int) string {
	lines := strings.Split(string(out), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	s := strings.TrimSpace(lines[n-1])
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// maxValueNodes bounds the nodes valuesOf visits, aliases included, so a
// "billion laughs" values.yaml costs a bounded walk.
const maxValueNodes = 1 << 20

// valuesOf converts values.yaml's top mapping into what templates read,
// leniently: a key that is not a scalar (an unquoted macro such as
// `{{ .spectro.x }}` reads as a flow mapping) is skipped rather than
// losing every value, and aliases are followed within maxValueNodes.
func valuesOf(n *yaml.Node) map[string]any {
	budget := maxValueNodes
	m, _ := nodeValue(n, &budget, 0).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func nodeValue(n *yaml.Node, budget *int, depth int) any {
	*budget--
	if n == nil || *budget < 0 || depth > maxYAMLDepth {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return nodeValue(n.Content[0], budget, depth+1)
		}
	case yaml.AliasNode:
		return nodeValue(n.Alias, budget, depth+1)
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			l = append(l, nodeValue(c, budget, depth+1))
		}
		return l
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				if sub, ok := nodeValue(v, budget, depth+1).(map[string]any); ok {
					for sk, sv := range sub {
						if _, set := m[sk]; !set {
							m[sk] = sv
						}
					}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				continue
			}
			m[k.Value] = nodeValue(v, budget, depth+1)
		}
		return m
	case yaml.ScalarNode:
		// The common tags directly: yaml's reflective Decode per scalar
		// is what a walk of a million nodes would spend its time on.
		switch n.Tag {
		case "!!str", "":
			return n.Value
		case "!!null":
			return nil
		case "!!bool":
			return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
		case "!!int":
			if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
				return int(i)
			}
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return f
			}
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value
		}
		return v
	}
	return nil
}
