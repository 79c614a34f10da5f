package site

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/pack"
)

// imageView is the Images section of a pack page: what the newest
// release declares in pack.content.images against what its manifests
// and charts deploy once rendered (package images, Helm's own engine),
// with the warnings validation gives. Only the newest release is
// examined: finding images renders every chart (about 4 ms a release),
// and the newest is the one a reader is about to install.
type imageView struct {
	Rows       []imageRow `json:"rows,omitempty"`
	Warnings   []string   `json:"warnings,omitempty"`
	Declared   int        `json:"declared"`
	Deployed   int        `json:"deployed"`
	Undeclared int        `json:"undeclared"`
	Unused     int        `json:"unused"`
	// NoRenders: no manifest or chart, so the platform deploys the
	// declared images by other means (an OS or Kubernetes layer).
	NoRenders bool `json:"noRenders,omitempty"`
	// More counts images past maxImageRows, not listed.
	More int `json:"more,omitempty"`
	// Note says why the images could not be listed (a chart that does
	// not render); the rest is then empty.
	Note string `json:"note,omitempty"`
}

// RowsHTML is the images table's body. Written here rather than in the
// template: a chart-heavy pack lists dozens of images, and executing a
// template per cell was a visible share of a cold build's catalogue.
// Every value is escaped.
func (v *imageView) RowsHTML() template.HTML {
	var b strings.Builder
	e := html.EscapeString
	for _, r := range v.Rows {
		b.WriteString("\n      <tr")
		if r.Warn != "" {
			b.WriteString(` class="warn-row"`)
		}
		b.WriteString(`><th scope="row"><code class="img">` + e(r.Image) + "</code>")
		if r.Warn != "" {
			b.WriteString(` <span class="tag warn">` + e(r.Warn) + "</span>")
		}
		b.WriteString("</th><td>")
		if r.Declared {
			b.WriteString(`<span class="tag ok">declared</span>`)
		} else {
			b.WriteString(`<span class="muted">no</span>`)
		}
		b.WriteString("</td><td>")
		switch r.Found {
		case "deployed":
			b.WriteString(`<span class="tag ok">deployed</span>`)
		case "maybe":
			b.WriteString(`<span class="tag">maybe</span>`)
		default:
			b.WriteString(`<span class="muted">no</span>`)
		}
		b.WriteString("</td>\n        <td class=\"wrap-cell small\">")
		for i, s := range r.Sources {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(e(s))
		}
		b.WriteString("</td></tr>")
	}
	return template.HTML(b.String()) // #nosec: every value is escaped above
}

type imageRow struct {
	Image    string   `json:"image"`
	Declared bool     `json:"declared"`
	Found    string   `json:"found"` // deployed, maybe, no
	Warn     string   `json:"warn,omitempty"`
	Sources  []string `json:"sources"`
}

// Bounds on what a page lists: a hostile chart cannot make the page (or
// the cache) large.
const (
	maxImageRows    = 500
	maxImageSources = 8
	maxImageText    = 600
)

// findImages lists the images of the release archive a, opened whole.
// A pack whose images cannot be found gets a note, never a failed build:
// the build has accepted the pack, and the page says what went wrong.
// The build validated the release, so it is not validated again
// (images.Accepted): what is listed is what `packgen images` lists for
// it (TestImagesMatchPackgenImages). Without a chart renderer
// (images.ErrNoChartRenderer, the machine's fault) or with one that died
// or ran out of time (images.ErrRendererFailed: the machine's fault as
// likely as the chart's; `packgen validate` renders every chart, the
// build does not) the build fails rather than remember a note about the
// pack.
func findImages(a *pack.Archive) (*imageView, error) {
	rep, err := images.Accepted(a, ".")
	if errors.Is(err, images.ErrNoChartRenderer) || errors.Is(err, images.ErrRendererFailed) {
		return nil, err
	}
	if err != nil {
		return &imageView{Note: clip(err.Error())}, nil
	}
	return viewOf([]*images.Report{rep}), nil
}

// viewOf is the Images section of reports.
func viewOf(reports []*images.Report) *imageView {
	v := &imageView{}
	renders := 0
	for _, rep := range reports {
		rep.Dir = "" // warnings name files inside the pack
		renders += rep.Renders
		for _, im := range rep.Images {
			v.add(im, rep.Renders > 0)
		}
		for _, p := range rep.Check() {
			if len(v.Warnings) < maxImageRows {
				v.Warnings = append(v.Warnings, clip(p.String()))
			}
		}
	}
	v.NoRenders = renders == 0
	return v
}

func (v *imageView) add(im images.Image, renders bool) {
	row := imageRow{Image: clip(im.Image), Declared: im.Declared, Found: "no"}
	switch {
	case im.Deployed:
		row.Found = "deployed"
		v.Deployed++
	case im.Maybe || len(im.Sources) > countDeclared(im.Sources):
		row.Found = "maybe"
	}
	if im.Declared {
		v.Declared++
	}
	switch {
	case im.Deployed && !im.Declared:
		row.Warn = "not declared"
		v.Undeclared++
	case im.Declared && row.Found == "no" && renders:
		row.Warn = "unused"
		v.Unused++
	}
	for i, s := range im.Sources {
		if i == maxImageSources {
			row.Sources = append(row.Sources, fmt.Sprintf("and %d more", len(im.Sources)-i))
			break
		}
		s.Written = "" // the row names the image already
		row.Sources = append(row.Sources, clip(s.String()))
	}
	if len(v.Rows) < maxImageRows {
		v.Rows = append(v.Rows, row)
	} else {
		v.More++
	}
}

func countDeclared(ss []images.Source) int {
	n := 0
	for _, s := range ss {
		if s.Kind == images.Declared {
			n++
		}
	}
	return n
}

// clip bounds one text of the view.
func clip(s string) string {
	if len(s) <= maxImageText {
		return s
	}
	cut := maxImageText
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
