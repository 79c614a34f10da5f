package rebuild

import (
	"fmt"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
)

// retiredProblems compares the index's retirements (index.Release.Retired)
// with the retirement file of s.PacksDir at the built commit, as the
// build applies it: the same entries, and no other release retired. The
// archives' checks cannot see it, since retiring leaves them as they are.
func (s *Site) retiredProblems(rels map[string]named) []Problem {
	commit := s.root.Source.Commit
	file := retire.Path(s.PacksDir)
	data, found, err := s.repo.FileAt(commit, file, retire.MaxFileSize)
	if err != nil {
		return []Problem{{Path: file, Msg: fmt.Sprintf("cannot read it at the built commit %s: %v", short(commit), err)}}
	}
	l, ps := retire.Parse(file, data)
	var out []Problem
	for _, p := range ps.Errors() {
		out = append(out, Problem{Path: p.Position(), Msg: "at the built commit " + short(commit) + ": " + p.Msg})
	}
	want := map[string]index.Retirement{}
	for _, e := range l.Entries {
		id := meta.ReleaseID(e.Name, e.Version)
		if _, ok := rels[id]; !ok {
			out = append(out, Problem{Pack: e.Name, Version: e.Version, Path: fmt.Sprintf("%s:%d:%d", file, e.Line, e.Col),
				Msg: fmt.Sprintf("the file at the built commit %s retires %s@%s, which the index does not hold (the build refuses such an entry)", short(commit), e.Name, e.Version)})
			continue
		}
		want[id] = e.Retirement
	}
	hint := ""
	if !found {
		cmd := s.Command
		if cmd == "" {
			cmd = "verify"
		}
		hint = fmt.Sprintf(" (there is no %s at commit %s: give %s --packs-dir as the build was given it)", file, short(commit), cmd)
	}
	for id, n := range rels {
		w, ok := want[id]
		got := n.rel.Retired
		switch {
		case !ok && got == nil:
		case !ok:
			out = append(out, Problem{Pack: n.name, Version: n.rel.Version, Path: n.rel.Archive.Path,
				Msg: fmt.Sprintf("the index records it retired (%s: %s), %s at the built commit %s does not retire it%s", got.State, got.Reason, file, short(commit), hint)})
		case got == nil || *got != w:
			rec := "not retired"
			if got != nil {
				rec = fmt.Sprintf("retired (%s: %s)", got.State, got.Reason)
			}
			out = append(out, Problem{Pack: n.name, Version: n.rel.Version, Path: n.rel.Archive.Path,
				Msg: fmt.Sprintf("the index records it %s, %s at the built commit %s retires it (%s: %s)", rec, file, short(commit), w.State, w.Reason)})
		}
	}
	return out
}

// named is a release of the index with its pack's name.
type named struct {
	name string
	rel  index.Release
}
