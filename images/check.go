package images

import (
	"fmt"

	"github.com/packgen/packgen/pack"
)

// Check compares what a pack declares in pack.content.images with what
// its manifests and charts deploy, as warnings with file and line: an
// image deployed but not declared is missing from an air-gapped mirror,
// a declared image nothing deploys is mirrored for nothing (or the list
// is stale). Images only "maybe" deployed warn about nothing; a pack
// that declares no images warns for every image it deploys.
func (r *Report) Check() pack.Problems {
	ps := append(pack.Problems{}, r.Problems...)
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
			ps = append(ps, pack.Problem{File: at(file), Line: line, Severity: pack.SevWarning,
				Msg: fmt.Sprintf("image %s is deployed (%s) but values.yaml pack.content.images does not declare it: an air-gapped install will miss it; add `- image: %s`", im.Image, s, im.Image)})
		case im.Declared && !im.Deployed && !anyMaybe(im.Sources):
			s := im.Sources[0]
			ps = append(ps, pack.Problem{File: at(s.File), Line: s.Line, Severity: pack.SevWarning,
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
