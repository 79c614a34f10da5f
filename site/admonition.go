package site

import (
	"bytes"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Admonitions are the vendor docs' notes (Docusaurus syntax), which pack
// READMEs copy:
//
//	:::warning Optional title
//	Markdown, *rendered* as usual.
//	:::
//
// They become <aside class="admonition warning">. The body is parsed by
// goldmark like any other container, so raw HTML stays dropped and links
// go through safeLinks. A fence of more colons closes only a fence of as
// many, which is how Docusaurus nests them.

var kindAdmonition = ast.NewNodeKind("Admonition")

// admonitionTypes maps the recognised types to their label.
var admonitionTypes = map[string]string{
	"note": "Note", "tip": "Tip", "info": "Info", "warning": "Warning",
	"danger": "Danger", "caution": "Caution", "important": "Important",
}

type admonitionNode struct {
	ast.BaseBlock
	typ    string
	title  []byte
	colons int
}

func (n *admonitionNode) Kind() ast.NodeKind { return kindAdmonition }

func (n *admonitionNode) Dump(src []byte, level int) {
	ast.DumpHelper(n, src, level, map[string]string{"type": n.typ}, nil)
}

type admonitionParser struct{}

func (admonitionParser) Trigger() []byte { return []byte{':'} }

// fence reads a line's colon fence: how many colons (≥ 3) and what follows
// them, or 0 when the line is not one.
func fence(line []byte) (int, []byte) {
	line = util.TrimRightSpace(util.TrimLeftSpace(line))
	n := 0
	for n < len(line) && line[n] == ':' {
		n++
	}
	if n < 3 {
		return 0, nil
	}
	return n, line[n:]
}

func (admonitionParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	if pc.BlockOffset() < 0 || pc.BlockIndent() > 3 {
		return nil, parser.NoChildren
	}
	n, rest := fence(line)
	if n == 0 {
		return nil, parser.NoChildren
	}
	// ":::tip", ":::tip Title" or ":::tip[Title]".
	i := 0
	for i < len(rest) && (rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= 'A' && rest[i] <= 'Z') {
		i++
	}
	typ := string(bytes.ToLower(rest[:i]))
	if _, ok := admonitionTypes[typ]; !ok {
		return nil, parser.NoChildren
	}
	title := util.TrimLeftSpace(rest[i:])
	if len(title) > 1 && title[0] == '[' && title[len(title)-1] == ']' {
		title = title[1 : len(title)-1]
	}
	if len(title) > 200 {
		title = bytes.ToValidUTF8(title[:200], nil)
	}
	node := &admonitionNode{typ: typ, title: append([]byte(nil), title...), colons: n}
	reader.Advance(restOfLine(line, seg))
	return node, parser.HasChildren
}

func (admonitionParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	line, seg := reader.PeekLine()
	n, rest := fence(line)
	if n >= node.(*admonitionNode).colons && len(rest) == 0 && pc.BlockIndent() <= 3 {
		reader.Advance(restOfLine(line, seg))
		return parser.Close
	}
	return parser.Continue | parser.HasChildren
}

func (admonitionParser) Close(ast.Node, text.Reader, parser.Context) {}
func (admonitionParser) CanInterruptParagraph() bool                 { return true }
func (admonitionParser) CanAcceptIndentedLine() bool                 { return false }

// restOfLine is how far to advance past a fence line: up to its newline,
// or to its end when it is the last line and has none.
func restOfLine(line []byte, seg text.Segment) int {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		return seg.Len() - 1
	}
	return seg.Len()
}

type admonitionRenderer struct{}

func (admonitionRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindAdmonition, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		a := n.(*admonitionNode)
		if !entering {
			_, _ = w.WriteString("</aside>\n")
			return ast.WalkContinue, nil
		}
		title := a.title
		if len(title) == 0 {
			title = []byte(admonitionTypes[a.typ])
		}
		_, _ = w.WriteString(`<aside class="admonition ` + a.typ + `" role="note"><p class="admonition-title">`)
		_, _ = w.Write(util.EscapeHTML(title))
		_, _ = w.WriteString("</p>\n")
		return ast.WalkContinue, nil
	})
}

type admonitions struct{}

func (admonitions) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(parser.WithBlockParsers(util.Prioritized(admonitionParser{}, 150)))
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(admonitionRenderer{}, 500)))
}
