package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/source"
)

// dirRetired reads the retirement file at the top of a tree of packs on
// disk, if any: nil when there is none, its syntax problems otherwise
// (the releases it names are checked by dirGit, which knows them).
func dirRetired(dir string) (*retire.List, meta.Problems, error) {
	p := filepath.Join(dir, retire.FileName)
	data, err := safefile.ReadFile(p, retire.MaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	l, ps := retire.Parse(filepath.ToSlash(p), data)
	return l, ps, nil
}

// changedRetired is the PR check of the retirement file, when the change
// touched it (HEAD's, or the work tree's unless committed only, differs
// from base's): its syntax, that every entry names a release of HEAD's
// history as the build publishes it (the build refuses one that does
// not), and a warning for each release it hands back (weakened).
func changedRetired(ctx context.Context, repo *source.Repo, o ChangedOptions, base string) (meta.Problems, error) {
	file := retire.Path(o.PacksDir)
	head, _, err := repo.FileAt("HEAD", file, retire.MaxFileSize)
	if err != nil {
		return nil, err
	}
	if !o.Committed {
		wt, _ := repo.Dirs()
		if wt != "" {
			data, err := safefile.ReadFile(filepath.Join(wt, filepath.FromSlash(file)), retire.MaxFileSize)
			switch {
			case err == nil:
				head = data
			case errors.Is(err, fs.ErrNotExist):
				head = nil
			default:
				return nil, err
			}
		}
	}
	old, _, err := repo.FileAt(base, file, retire.MaxFileSize)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(old, head) {
		return nil, nil
	}
	l, ps := retire.Parse(file, head)
	if ps.HasErrors() {
		return ps, nil
	}
	ps = append(ps, weakened(file, old, l)...)
	if head == nil {
		return ps, nil
	}
	hist := newPublished(repo, "HEAD", o.PacksDir)
	hist.since, hist.off = o.HistorySince, o.NoHistory
	ups, err := retiredUnknown(ctx, l, hist, func(string) bool { return false })
	return append(ps, ups...), err
}

// retiredUnknown is the build's check of a retirement file's entries
// (retire.List.Unknown) against the releases validate can see: those of
// has (a directory's own), then those of hist's first-parent history,
// read for the entries has does not hold only. A shallow clone's history
// cannot be read: a warning then leaves the entries to the build.
func retiredUnknown(ctx context.Context, l *retire.List, hist *published, has func(id string) bool) (meta.Problems, error) {
	for _, e := range l.Entries {
		if !has(meta.ReleaseID(e.Name, e.Version)) {
			hist.want(e.Name, e.Version)
		}
	}
	if len(hist.wanted) == 0 {
		return nil, nil
	}
	inHistory := map[string]bool{}
	for _, e := range l.Entries {
		if has(meta.ReleaseID(e.Name, e.Version)) {
			continue
		}
		rel, err := hist.find(ctx, e.Name, e.Version)
		if err != nil {
			return nil, err
		}
		if hist.shallow {
			return meta.Problems{{File: l.File, Severity: meta.SevWarning, Msg: "the clone is shallow: whether each entry names a published release is left to the build (fetch the whole history, e.g. actions/checkout with fetch-depth: 0)"}}, nil
		}
		if rel != nil {
			inHistory[meta.ReleaseID(e.Name, e.Version)] = true
		}
	}
	return l.Unknown(func(id string) bool { return has(id) || inHistory[id] }), nil
}

// weakened warns of each release the change un-retires or moves from
// deleted to deprecated (retire.Change.Weakens), naming the reason it
// drops: that is how a release deleted for a CVE comes back, and it
// passes every other check. A base file that does not parse retired
// nothing the build published.
func weakened(file string, base []byte, head *retire.List) meta.Problems {
	old, ops := retire.Parse(file, base)
	if ops.HasErrors() {
		return nil
	}
	var ps meta.Problems
	for _, c := range retire.Diff(old.Entries, head.Entries) {
		if !c.Weakens() {
			continue
		}
		msg := fmt.Sprintf("this change un-retires %s@%s, %s since base for: %s; clients use it again without a warning: make sure that is meant", c.Name, c.Version, c.Old.State, c.Old.Reason)
		if c.New != nil {
			msg = fmt.Sprintf("this change makes %s@%s deprecated, deleted since base for: %s; ranges resolve to it again: make sure that is meant", c.Name, c.Version, c.Old.Reason)
		}
		ps = append(ps, meta.Problem{File: file, Line: c.Line, Col: c.Col, Severity: meta.SevWarning, Msg: msg})
	}
	return ps
}
