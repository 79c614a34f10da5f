package images

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/packgen/packgen/images/ref"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

// Tree finds the images of every pack under root in fsys (one pack
// directory or a tree of them); prefix is how root is shown. A pack that
// does not validate is refused with its errors: its images would be
// guesses.
func Tree(fsys fs.FS, root, prefix string) ([]*Report, error) {
	loaded, probs, err := pack.ValidateTree(fsys, root, pack.Options{Prefix: prefix})
	if err != nil {
		return nil, err
	}
	if errs := probs.Errors(); len(errs) > 0 {
		return nil, &pack.ValidationError{Problems: errs}
	}
	out := make([]*Report, 0, len(loaded))
	for _, l := range loaded {
		r, err := Find(l.Pack, Options{Display: l.Display})
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Accepted finds the images of the one pack at the root of fsys, a
// release the build has validated already (the catalogue reads its
// archive): the report Tree gives for it, without validating the pack
// again (a quarter of the image search's CPU in a profile of the
// 5,000-release benchmark build, docs/PERFORMANCE.md). Only
// the file list and pack.json are read before Find; a pack whose
// pack.json does not parse is refused as Tree refuses it.
func Accepted(fsys fs.FS, display string) (*Report, error) {
	p, probs := pack.Load(fsys, ".", pack.Options{Prefix: display, ListOnly: true})
	if errs := probs.Errors(); len(errs) > 0 {
		return nil, &pack.ValidationError{Problems: errs}
	}
	if p.Manifest == nil {
		return nil, &pack.ValidationError{Problems: meta.Problems{{File: path.Join(display, pack.ManifestFile), Severity: meta.SevError, Msg: "pack.json does not parse"}}}
	}
	return Find(p, Options{Display: display})
}

// Why keeps, of every report, only the image named (normalised
// first, so "nginx" finds docker.io/library/nginx:latest), and the
// reports that hold it.
func Why(reports []*Report, image string) ([]*Report, error) {
	want, err := ref.Normalize(image)
	if err != nil {
		return nil, err
	}
	var out []*Report
	for _, r := range reports {
		for _, im := range r.Images {
			if im.Image == want {
				c := *r
				c.Images = []Image{im}
				out = append(out, &c)
			}
		}
	}
	return out, nil
}

// WriteText prints reports for people: per pack, each image with its
// state, then (with sources) every place that names it.
func WriteText(w io.Writer, reports []*Report, sources bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		if r.Overrides != "" {
			fmt.Fprintf(tw, "%s@%s (%s, values with the overrides of %s)\n", textsafe.Escape(r.Pack), textsafe.Escape(r.Version), textsafe.Escape(r.Dir), textsafe.Escape(r.Overrides))
		} else {
			fmt.Fprintf(tw, "%s@%s (%s)\n", textsafe.Escape(r.Pack), textsafe.Escape(r.Version), textsafe.Escape(r.Dir))
		}
		if len(r.Images) == 0 {
			fmt.Fprintln(tw, "  no images")
		}
		for _, im := range r.Images {
			state := im.State()
			if r.Renders == 0 && im.Declared {
				state = "declared (no manifest or chart: the platform installs it)"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", textsafe.Escape(im.Image), state)
			if sources {
				for _, s := range im.Sources {
					fmt.Fprintf(tw, "    %s\n", textsafe.Escape(s.String()))
				}
			}
		}
	}
	return tw.Flush()
}

// State says in a word or two how an image stands.
func (im Image) State() string {
	switch {
	case im.Declared && im.Deployed:
		return "declared, deployed"
	case im.Declared && len(im.Sources) > countKind(im.Sources, Declared):
		return "declared, maybe deployed"
	case im.Declared:
		return "declared, NOT DEPLOYED"
	case im.Deployed:
		return "deployed, NOT DECLARED"
	}
	return "maybe deployed, not declared"
}

func countKind(ss []Source, kind string) int {
	n := 0
	for _, s := range ss {
		if s.Kind == kind {
			n++
		}
	}
	return n
}

// String is a source as one line: file:line and what names the image.
func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.Kind + " " + s.File)
	if s.Template != "" {
		b.WriteString(" " + s.Template)
	}
	if s.Line > 0 {
		fmt.Fprintf(&b, ":%d", s.Line)
	}
	if s.Object != "" {
		b.WriteString(" " + s.Object)
	}
	if s.Field != "" {
		b.WriteString(" " + s.Field)
	}
	if s.Values != "" {
		b.WriteString(" (values " + s.Values + ")")
	}
	if s.Maybe {
		b.WriteString(" [maybe]")
	}
	if s.Written != "" {
		fmt.Fprintf(&b, " %q", s.Written)
	}
	return b.String()
}

// Deployed lists the images the pack in dir deploys for certain (not
// the maybes), normalised and sorted: what `packgen new` declares.
func Deployed(dir string) ([]string, error) {
	rs, err := Tree(os.DirFS(dir), ".", dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		for _, im := range r.Images {
			if im.Deployed {
				out = append(out, im.Image)
			}
		}
	}
	return out, nil
}
