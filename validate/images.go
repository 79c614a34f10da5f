package validate

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/images/lookup"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

// declaredImage is one entry of a pack's pack.content.images, where it is.
type declaredImage struct {
	image string // normalised
	pack  string // NAME@VERSION
	file  string // as displayed: DIR/values.yaml
	line  int
}

// judge runs the image check of one loaded pack and remembers its
// declared images for checkImages.
func (rep *Report) judge(p *pack.Pack, display string, ps meta.Problems) meta.Problems {
	probs, r, err := images.CheckPackReport(p, display, ps)
	if err != nil && rep.renderErr == nil {
		rep.renderErr = err // no chart renderer: the run fails once the packs are read
	}
	if r == nil {
		return probs
	}
	id := r.Pack + "@" + r.Version
	for _, im := range r.Images {
		for _, s := range im.Sources {
			if s.Kind == images.Declared {
				rep.declared = append(rep.declared, declaredImage{image: im.Image, pack: id, file: path.Join(display, s.File), line: s.Line})
			}
		}
	}
	return probs
}

// checkImages resolves every declared image against its registry
// (validate --check-images): an image that does not exist is an error at
// each values.yaml line that declares it, with the registry's answer; a
// registry that is down or refuses access is one error, at the first
// line that declares one of its images, naming them all. The digests
// found are listed in rep.Images.
func (rep *Report) checkImages(ctx context.Context, o lookup.Options) error {
	var ask []string
	where := map[string][]declaredImage{}
	for _, d := range rep.declared {
		if where[d.image] == nil {
			ask = append(ask, d.image)
		}
		where[d.image] = append(where[d.image], d)
	}
	sort.Strings(ask)
	res, err := lookup.Resolve(ctx, ask, o)
	if err != nil {
		return err
	}
	if err := noneReached(res, rep.Problems); err != nil {
		return err
	}
	rep.Images = []ImageDigest{}
	for _, r := range res.Results {
		if r.Err == nil {
			rep.Images = append(rep.Images, ImageDigest{Image: r.Image, Digest: r.Digest})
		}
	}
	for _, re := range res.Registries {
		at := where[re.Images[0]][0]
		for _, im := range re.Images { // the first line that declares one
			for _, d := range where[im] {
				if d.file < at.file || (d.file == at.file && d.line < at.line) {
					at = d
				}
			}
		}
		advice := "fix the access (docker login, --username, --ca-file) and run again"
		if unreachable(re) {
			advice = "check that the registry is up and reachable from here, and run again (a slow one: raise --stall-timeout or --timeout)"
		}
		rep.Problems = append(rep.Problems, meta.Problem{File: at.file, Line: at.line, Severity: meta.SevError,
			Msg: fmt.Sprintf("cannot check the declared images of registry %s: %v; %s", re.Host, re, advice)})
	}
	for _, r := range res.Results {
		var re *lookup.RegistryError
		if r.Err == nil || errors.As(r.Err, &re) {
			continue
		}
		for _, d := range where[r.Image] {
			msg := fmt.Sprintf("pack %s: declared image %s cannot be checked: %v", d.pack, r.Image, r.Err)
			if errors.Is(r.Err, lookup.ErrMissing) {
				msg = fmt.Sprintf("pack %s: declared image %s does not exist (%v): an air-gapped mirror would fail on it; fix its tag or registry", d.pack, r.Image, r.Err)
			}
			rep.Problems = append(rep.Problems, meta.Problem{File: d.file, Line: d.line, Severity: meta.SevError, Msg: msg})
		}
	}
	return nil
}

// ErrNoRegistry: --check-images reached none of the image registries
// (the network, not the packs): an operational failure (exit 3), so CI
// can tell a flaky network from a missing image.
var ErrNoRegistry = errors.New("no image registry could be reached")

// unreachable says whether a registry failed for the network's sake
// (down, stalled, too slow) rather than by its answer (access refused).
func unreachable(err error) bool {
	return errors.Is(err, ocireg.ErrUnreachable) || errors.Is(err, ocireg.ErrStalled) || errors.Is(err, ocireg.ErrTimeout)
}

// noneReached is ErrNoRegistry when every image asked failed because its
// registry could not be reached and nothing else the check found (ps) is
// an error: nothing was judged, so exit 1 ("the packs are bad") would
// lie. A registry that answered, or any error of the packs, keeps the
// report (exit 1 on its errors).
func noneReached(res *lookup.Report, ps meta.Problems) error {
	if len(res.Registries) == 0 || ps.HasErrors() {
		return nil
	}
	var hosts []string
	for _, re := range res.Registries {
		if !unreachable(re) {
			return nil
		}
		hosts = append(hosts, re.Host)
	}
	for _, r := range res.Results {
		var re *lookup.RegistryError
		if !errors.As(r.Err, &re) {
			return nil // resolved, or judged missing
		}
	}
	return fmt.Errorf("%w: %s: %w; check that they are up and reachable from here, and run again (a slow one: raise --stall-timeout or --timeout); the packs' other checks passed", ErrNoRegistry, phrase.Few(hosts, 5), res.Registries[0])
}

// ImageDigest is a declared image and the digest its registry serves.
type ImageDigest struct {
	Image  string `json:"image"`
	Digest string `json:"digest"`
}
