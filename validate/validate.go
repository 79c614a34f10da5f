// Package validate is the action behind `packgen validate`: every
// problem of pack directories on disk, or of the packs of a git
// repository changed since a ref (read from committed objects, or from
// the work tree where uncommitted), with the version-bump rule.
package validate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/images/lookup"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/source"
)

// ErrInput marks a problem with what was asked (a directory missing, not
// a directory, or holding no pack), not with a pack.
var ErrInput = errors.New("bad validate input")

func inputErr(format string, args ...any) error { return errmark.New(ErrInput, format, args...) }

// Pack is a pack that was validated.
type Pack struct {
	Dir     string `json:"dir"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Layer   string `json:"layer"`
}

// Report is what validation found.
type Report struct {
	Packs    []Pack        `json:"packs"`
	Problems meta.Problems `json:"problems"`
	// Errors and Warnings count the problems of each severity. In JSON
	// "warnings" is the list of warning problems, as in every command's
	// -o json (docs/JSON.md), so the counts are "errors" (its name since
	// the first release), "errorCount" and "warningCount".
	Errors   int `json:"errors"`
	Warnings int `json:"warningCount"`
	// FromWorkTree counts the packs with uncommitted changes, judged as
	// they are on disk (Changed only).
	FromWorkTree int `json:"-"`
	// Commits counts the commits before HEAD judged each as HEAD
	// (ChangedOptions.EachCommit).
	Commits int `json:"commits,omitempty"`
	// Added counts the releases that commits before HEAD add and HEAD
	// does not hold (one added and removed again), judged each from the
	// newest commit that has it: the build publishes them too.
	Added int `json:"added,omitempty"`
	// ForkPoint is the commit Changed compared HEAD with when HEAD does
	// not contain the base (a branch behind it): where HEAD forked.
	ForkPoint string `json:"forkPoint,omitempty"`
	// Images lists each declared image with its digest (only with
	// CheckImages; those that did not resolve are problems).
	Images []ImageDigest `json:"images,omitempty"`
	// declared are the packs' declared images, for CheckImages.
	declared []declaredImage
	// renderErr is the first pack's chart that could not be rendered
	// for want of a renderer (images.ErrNoChartRenderer).
	renderErr error
}

// MarshalJSON adds "warnings", the warning problems, and "errorCount".
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // its fields without this method
	ws := meta.Problems{}
	for _, p := range r.Problems {
		if p.Severity != meta.SevError { // as tally counts them
			ws = append(ws, p)
		}
	}
	return json.Marshal(struct {
		plain
		ErrorCount int           `json:"errorCount"`
		Warnings   meta.Problems `json:"warnings"`
	}{plain(r), r.Errors, ws})
}

func newReport() *Report { return &Report{Packs: []Pack{}, Problems: meta.Problems{}} }

// tally sorts the problems and counts errors and warnings.
func (r *Report) tally() *Report {
	r.Problems.Sort()
	r.Errors, r.Warnings = 0, 0
	for _, p := range r.Problems {
		if p.Severity == meta.SevError {
			r.Errors++
		} else {
			r.Warnings++
		}
	}
	return r
}

// Options add checks that reach outside the packs.
type Options struct {
	// CheckImages resolves every image the packs declare in
	// pack.content.images against its registry (one HEAD per image,
	// Lookup saying how): one that does not exist is an error.
	CheckImages bool
	Lookup      lookup.Options
}

// Dirs validates pack directories or trees of packs on disk, with the
// cross-pack checks of each tree.
func Dirs(dirs []string) (*Report, error) { return DirsWith(context.Background(), dirs, Options{}) }

// DirsWith is Dirs with the checks o adds.
func DirsWith(ctx context.Context, dirs []string, o Options) (*Report, error) {
	rep := newReport()
	for _, dir := range dirs {
		info, err := os.Stat(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, inputErr("%s does not exist", dir)
			}
			return nil, err
		}
		if !info.IsDir() {
			return nil, inputErr("%s is not a directory: give a pack directory or a tree of packs", dir)
		}
		loaded, ps, err := pack.ValidateTree(os.DirFS(dir), ".", pack.Options{Prefix: filepath.ToSlash(filepath.Clean(dir)), RefuseKeys: true})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		if len(loaded) == 0 {
			return nil, inputErr("no pack found in %s: a pack is a directory holding pack.json (create one with `packgen new`)", dir)
		}
		ids := map[string]string{} // release → its directory on disk
		for _, l := range loaded {
			ps = append(ps, rep.judge(l.Pack, l.Display, problemsIn(ps, l.Display))...)
			vp := Pack{Dir: l.Display}
			if m := l.Pack.Manifest; m != nil {
				vp.Name, vp.Version, vp.Layer = m.Name, m.Version, string(m.Layer)
				ids[meta.ReleaseID(m.Name, m.Version)] = l.Display
			}
			rep.Packs = append(rep.Packs, vp)
		}
		retired, rps, err := dirRetired(dir)
		if err != nil {
			return nil, err
		}
		if rps.HasErrors() {
			retired = nil // its entries are not judged: rps says why
		}
		gps, err := dirHistory(ctx, dir, ids, retired)
		if err != nil {
			return nil, err
		}
		rep.Problems = append(rep.Problems, ps...)
		rep.Problems = append(rep.Problems, rps...)
		rep.Problems = append(rep.Problems, gps...)
	}
	return rep.finish(ctx, o)
}

// finish runs the checks o adds and tallies.
func (rep *Report) finish(ctx context.Context, o Options) (*Report, error) {
	if rep.renderErr != nil {
		return nil, rep.renderErr
	}
	if o.CheckImages {
		if err := rep.checkImages(ctx, o.Lookup); err != nil {
			return nil, err
		}
	}
	return rep.tally(), nil
}

// ChangedOptions choose the packs Changed validates.
type ChangedOptions struct {
	Repo     string // the git repository ("": the current one)
	PacksDir string // the packs directory in it
	Since    string // the git ref the change is judged against
	// Committed judges HEAD only (CI's view); by default uncommitted pack
	// directories are read from the work tree.
	Committed bool
	// NoHistory and HistorySince say what of the base's history the
	// registry publishes, as the build's --history=false and --since
	// do: a version brought back with other content is an error only
	// when the build keeps publishing it.
	NoHistory    bool
	HistorySince string
	// EachCommit also judges every commit between the base and HEAD
	// (first parents) as if it were HEAD, for repositories that merge by
	// rebase or fast-forward: each of those commits lands on the history
	// the build walks.
	EachCommit bool
	Options    // checks that reach outside the packs
}

// Changed validates the packs whose git tree differs between o.Since
// (where HEAD forked from it, when HEAD is behind it: what o.Since
// changed since is not the change's) and HEAD (and, unless o.Committed,
// the pack directories with uncommitted changes, from disk); a pack whose content changed without a version
// bump, or whose version went down, is an error. Cross-pack rules need
// the whole tree (Dirs and the build check them): only what the change
// touched is judged here.
func Changed(ctx context.Context, o ChangedOptions) (*Report, error) {
	repo, err := source.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	for _, f := range [][2]string{{"changed-since", o.Since}, {"since", o.HistorySince}} {
		if f[1] == "" {
			continue
		}
		if _, err := repo.ResolveFlag(f[0], f[1], o.Repo); errors.Is(err, source.ErrNoRef) {
			return nil, errmark.Wrap(ErrInput, err)
		} else if err != nil {
			return nil, err
		}
	}
	if o.PacksDir, err = checkPacksDir(repo, o); err != nil {
		return nil, err
	}
	hist := newPublished(repo, o.Since, o.PacksDir)
	hist.since, hist.off = o.HistorySince, o.NoHistory
	hf := readHeadFork(repo, o.Since)
	fork, found, err := hf.forkPoint()
	if err != nil {
		return nil, err
	}
	// The request's commits before HEAD: --each-commit judges each as
	// HEAD; without it, the releases they add that HEAD lacks (addAdded).
	// Those below a shallow clone's edge are named (cuts).
	commits, cuts, rangeErr := hf.requestCommits()
	// A chain leaving the base's history is refused in either mode: no
	// clone, however deep, lets its commits be judged.
	var offBase *offBaseError
	if errors.As(rangeErr, &offBase) {
		rangeErr = nil
	}
	if rangeErr != nil && o.EachCommit {
		return nil, fmt.Errorf("--each-commit: %w", rangeErr)
	}
	ccs, err := wantCommits(ctx, repo, o, commits, hist)
	if err != nil {
		return nil, err
	}
	rep, err := changedAt(ctx, repo, o, fork, hist, !o.Committed)
	if err != nil {
		return nil, err
	}
	if rangeErr != nil {
		rep.Problems = append(rep.Problems, meta.Problem{Severity: meta.SevWarning, Msg: fmt.Sprintf(
			"the releases the commits before HEAD add were not judged (a release added and removed inside the change is published by the build): %v", rangeErr)})
	}
	if offBase != nil {
		rep.Problems = append(rep.Problems, meta.Problem{Severity: meta.SevError, Msg: offBase.Error()})
	}
	if len(cuts) > 0 || !found { // one cause, said once
		rep.Problems = append(rep.Problems, shallowProblem(o.Since, !found, cuts, o.EachCommit))
	}
	if fork != o.Since {
		rep.ForkPoint = fork
	}
	if o.EachCommit {
		if err := rep.addCommits(ctx, repo, o, ccs, hist); err != nil {
			return nil, err
		}
	} else if err := rep.addAdded(ctx, ccs, hist); err != nil {
		return nil, err
	}
	rps, err := changedRetired(ctx, repo, o, fork)
	if err != nil {
		return nil, err
	}
	rep.Problems = append(rep.Problems, rps...)
	return rep.finish(ctx, o.Options)
}

// changedAt is Changed's check of HEAD: the packs whose tree differs
// between base and HEAD, and, with worktree, the pack directories with
// uncommitted changes read from disk. hist is what o.Since's history
// published.
func changedAt(ctx context.Context, repo *source.Repo, o ChangedOptions, base string, hist *published, worktree bool) (*Report, error) {
	changes, err := repo.Changes(ctx, base, "HEAD", o.PacksDir)
	if err != nil {
		return nil, err
	}
	return judgeChanges(ctx, repo, o, base, changes, hist, worktree)
}

// judgeChanges is changedAt with the changes against base already read
// (a commit of the request's, read once by wantCommits).
func judgeChanges(ctx context.Context, repo *source.Repo, o ChangedOptions, base string, changes []source.Change, hist *published, worktree bool) (*Report, error) {
	var err error
	var wps []worktreePack
	fromDisk := map[string]bool{}
	if worktree {
		if wps, err = dirtyPacks(repo, o.PacksDir); err != nil {
			return nil, err
		}
		for _, wp := range wps {
			fromDisk[wp.dir] = true
		}
	}
	var view *worktreeView
	if len(wps) > 0 {
		// Uncommitted changes may add, remove or re-version a directory
		// a committed change shares its name@version with: twins are
		// judged as the work tree stands.
		if view, err = newWorktreeView(repo, o.PacksDir, wps); err != nil {
			return nil, err
		}
		for i, c := range changes {
			if !fromDisk[c.Dir] {
				changes[i].Twin = view.twin(c.Dir)
			}
		}
	}
	rep := newReport()
	for _, c := range changes {
		if !fromDisk[c.Dir] {
			hist.want(c.Name, c.Version)
		}
	}
	for _, wp := range wps {
		if id, ok := view.byDir[wp.dir]; ok && !wp.deleted {
			hist.wantID(id)
		}
	}
	for _, c := range changes {
		if !fromDisk[c.Dir] {
			if err := rep.addChange(ctx, c, hist); err != nil {
				return nil, err
			}
		}
	}
	wpacks, wprobs, err := validateWorktree(ctx, repo, base, hist, view, wps, rep.judge)
	if err != nil {
		return nil, err
	}
	rep.Packs = append(rep.Packs, wpacks...)
	rep.Problems = append(rep.Problems, wprobs...)
	rep.FromWorkTree = len(wpacks)
	return rep, nil
}

// addChange validates one changed release from git's objects.
func (rep *Report) addChange(ctx context.Context, c source.Change, hist *published) error {
	fsys, done, err := c.Release.Open()
	if err != nil {
		return err
	}
	p, ps := pack.Load(fsys, ".", pack.Options{Prefix: c.Dir, RefuseKeys: true, Keep: true})
	ps = append(ps, rep.judge(p, c.Dir, ps)...)
	manifest, _ := fs.ReadFile(fsys, pack.ManifestFile)
	done()
	rep.Problems = append(rep.Problems, ps...)
	if msg := c.VersionProblem(); msg != "" {
		rep.Problems = append(rep.Problems, atVersion(c.Dir, manifest, meta.SevError, msg))
	} else {
		p, err := hist.check(ctx, c.Dir, manifest, c.Name, c.Version, func(r *source.Release) (bool, error) { return r.TreeHash == c.Release.TreeHash, nil })
		if err != nil {
			return err
		}
		if p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
	}
	vp := Pack{Dir: c.Dir, Name: c.Name, Version: c.Version}
	if p.Manifest != nil {
		vp.Layer = string(p.Manifest.Layer)
	}
	rep.Packs = append(rep.Packs, vp)
	return nil
}

// GitHubAnnotation renders a problem as a GitHub Actions workflow command
// (::error file=…,line=…,col=…::message), which shows on the pull
// request's diff.
func GitHubAnnotation(p meta.Problem) string {
	level := "error"
	if p.Severity == meta.SevWarning {
		level = "warning"
	}
	if p.File == "" {
		// Of no file: GitHub shows it on the run, not on the diff.
		return fmt.Sprintf("::%s::%s", level, escapeData(p.Msg))
	}
	props := "file=" + escapeProperty(p.File)
	if p.Line > 0 {
		props += fmt.Sprintf(",line=%d", p.Line)
		if p.Col > 0 {
			props += fmt.Sprintf(",col=%d", p.Col)
		}
	}
	return fmt.Sprintf("::%s %s::%s", level, props, escapeData(p.Msg))
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func escapeData(s string) string     { return dataEscaper.Replace(s) }
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }

// problemsIn keeps the problems of the pack displayed as dir.
func problemsIn(ps meta.Problems, dir string) meta.Problems {
	var out meta.Problems
	for _, p := range ps {
		if p.File == dir || strings.HasPrefix(p.File, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}
