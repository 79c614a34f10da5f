package images

import (
	"errors"
	"fmt"
	"strings"

	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

// Check compares what a pack declares in pack.content.images with what
// its manifests and charts deploy, as warnings with file and line: an
// image deployed but not declared is missing from an air-gapped mirror,
// a declared image nothing deploys is mirrored for nothing (or the list
// is stale; not said of a pack with neither manifests nor charts,
// whose images the platform deploys). Images only "maybe" deployed warn about nothing; a pack
// that declares no images warns for every image it deploys.
func (r *Report) Check() meta.Problems {
	ps := append(meta.Problems{}, r.Problems...)
	at := func(file string) string {
		if r.Dir == "" {
			return file
		}
		return r.Dir + "/" + file
	}
	for _, im := range r.Images {
		switch {
		case im.Deployed && !im.Declared:
			s := firstSure(im.Sources)
			file, line := s.File, s.Line
			if s.Kind == Chart {
				// A line of a template inside the archive is no place to
				// annotate: point at the list to fix.
				file, line = pack.ValuesFile, r.listLine
			}
			ps = append(ps, meta.Problem{File: at(file), Line: line, Severity: meta.SevWarning,
				Msg: fmt.Sprintf("image %s is deployed (%s) but values.yaml pack.content.images does not declare it: an air-gapped install will miss it; add `- image: %s`", im.Image, s, im.Image)})
		case im.Declared && !im.Deployed && !anyMaybe(im.Sources) && r.Renders > 0:
			s := im.Sources[0]
			ps = append(ps, meta.Problem{File: at(s.File), Line: s.Line, Severity: meta.SevWarning,
				Msg: fmt.Sprintf("image %s is declared in pack.content.images but no manifest or chart of the pack deploys it: remove it or fix its tag (`packgen images` lists what is deployed)", im.Image)})
		}
	}
	ps.Sort()
	return ps
}

func firstSure(ss []Source) Source {
	for _, s := range ss {
		if s.Kind != Declared && !s.Maybe {
			return s
		}
	}
	return ss[0]
}

func anyMaybe(ss []Source) bool {
	for _, s := range ss {
		if s.Maybe {
			return true
		}
	}
	return false
}

// Error is a manifest or chart Find could not read, with the file (as
// displayed) it concerns and, for a chart that does not render, the
// template and line Helm's engine named.
type Error struct {
	File string
	// Template is the chart's template as the engine names it
	// (CHART/templates/x.yaml), Line its line; "" and 0 when unknown.
	Template string
	Line     int
	// At is the file on disk the error is at when there is one: the
	// template itself in an unpacked chart directory (File otherwise).
	At  string
	Err error
}

func (e *Error) Error() string { return e.File + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// position is where a problem about e goes: the template's own file and
// line when the chart is a directory, else the chart (archive).
func (e *Error) position() (string, int) {
	if e.At != "" {
		return e.At, e.Line
	}
	return e.File, 0
}

// CheckPack is validation's image check of one loaded pack (ps: what
// Load found): nothing when the pack has errors already (its images
// would be guesses), else Check's warnings, or an error at the chart or
// manifest that does not render (the platform could not install it).
func CheckPack(p *pack.Pack, display string, ps meta.Problems) meta.Problems {
	probs, _, err := CheckPackReport(p, display, ps)
	if err != nil {
		probs = append(probs, meta.Problem{File: display, Severity: meta.SevError, Msg: err.Error()})
	}
	return probs
}

// CheckPackReport is CheckPack with the report it judged (nil when the
// pack was not judged or did not render), for checks that go on from it
// (validate --check-images). The error is the machine's, not the pack's:
// no chart renderer (ErrNoChartRenderer).
func CheckPackReport(p *pack.Pack, display string, ps meta.Problems) (meta.Problems, *Report, error) {
	return checkPack(p, Options{Display: display}, ps, func(err error) bool { return errors.Is(err, ErrNoChartRenderer) }, false)
}

// CheckRelease is CheckPackReport for a release the build archives: a
// renderer that died (ErrRendererFailed) is an error too, not the
// release's problem: a helper crash is the machine's fault as likely as
// the chart's, so the build fails rather than refuse (or, with
// --skip-invalid, leave out) a release for it. A chart past the
// renderer's time or memory bound (ErrChartLimit) is the release's
// problem (one contributor's runaway chart must not stop every other
// pack's release), returned with the error too, so the caller can keep
// a record from remembering it (a loaded machine times out as well).
// memo (nil: none) renders each distinct chart of a build once: the
// one whose KeepChart the Load of p asked (Memo.ForRelease).
func CheckRelease(p *pack.Pack, display string, ps meta.Problems, memo *ReleaseMemo) (meta.Problems, *Report, error) {
	return checkPack(p, Options{Display: display, Memo: memo}, ps, func(err error) bool {
		return errors.Is(err, ErrNoChartRenderer) || errors.Is(err, ErrRendererFailed) && !errors.Is(err, ErrChartLimit)
	}, true)
}

// checkPack is CheckPackReport, returning the errors machine says are
// the machine's as errors instead of problems; with limitToo, a chart
// past the renderer's limits is both (CheckRelease).
func checkPack(p *pack.Pack, o Options, ps meta.Problems, machine func(error) bool, limitToo bool) (meta.Problems, *Report, error) {
	if ps.HasErrors() {
		return nil, nil, nil
	}
	display := o.Display
	r, err := Find(p, o)
	if err != nil && machine(err) {
		return nil, nil, err
	}
	var limit error
	if limitToo && errors.Is(err, ErrChartLimit) {
		limit = err
	}
	if err != nil {
		file, line, msg := display, 0, err.Error()
		var fe *Error
		if errors.As(err, &fe) {
			file, line = fe.position()
			msg = fe.Err.Error()
			if file != fe.File {
				msg = fe.File + ": " + msg
			}
		}
		return meta.Problems{{File: file, Line: line, Severity: meta.SevError, Msg: msg}}, nil, limit
	}
	return r.Check(), r, nil
}

// Redisplay is a copy of r as Find would have displayed the pack's
// directory as display: the build judges a release under its directory
// in the repository, the catalogue lists its images as found in the
// archive ("."), and both are one report (one rendering of its charts).
func (r *Report) Redisplay(display string) *Report {
	c := *r
	c.Dir = display
	c.Problems = make(meta.Problems, len(r.Problems))
	for i, p := range r.Problems {
		if rest, ok := strings.CutPrefix(p.File, r.Dir+"/"); ok && r.Dir != "" {
			p.File = rest
		}
		if display != "" {
			p.File = display + "/" + p.File
		}
		c.Problems[i] = p
	}
	return &c
}
