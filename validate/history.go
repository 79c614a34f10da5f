package validate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/source"
)

// published is what the base's first-parent history holds: a build with
// --history (the default) publishes every version found there and keeps
// it, so a change that brings back, with other content, a version whose
// directory was removed since passes the version rules at the base's
// tree and fails the build after the merge. It is read only when a
// change defines a release the other rules let through, and then only
// for the releases the change defines (want): source.ReleasesOf gives
// what the build's walk gives for them at the cost of what history
// changed, in one walk for all of them.
type published struct {
	repo     *source.Repo
	base     string
	packsDir string
	since    string // the build's --since: older commits are not published
	off      bool   // the build's --history=false: only the ref is published (its tree is read: a branch behind the ref is compared with its fork point)
	shallow  bool
	// wanted is the ids to look for in the next walk; walked those
	// looked for, and rels what was found of them.
	wanted map[string]bool
	walked map[string]bool
	rels   map[string]source.Release // meta.ReleaseID → release
	// all says rels is every release of the history (knowAll): an id
	// not in it is in no commit, and nothing is walked.
	all   bool
	walks int // of history, for tests: one serves a whole check
}

func newPublished(repo *source.Repo, base, packsDir string) *published {
	return &published{repo: repo, base: base, packsDir: packsDir, wanted: map[string]bool{}, walked: map[string]bool{}, rels: map[string]source.Release{}}
}

// want says that name@version may be asked for, so the one walk finds
// it with the others.
func (h *published) want(name, version string) {
	if name != "" && version != "" {
		h.wantID(meta.ReleaseID(name, version))
	}
}

// wantID is want of a meta.ReleaseID.
func (h *published) wantID(id string) { h.wanted[id] = true }

// knowAll gives h every release of the base's history, as
// source.Repo.Releases read them with History and h's other options:
// find then answers from them (Releases gives what ReleasesOf gives,
// and more).
func (h *published) knowAll(rels []source.Release) {
	for _, r := range rels {
		if r.Name != "" && r.Version != "" {
			h.rels[meta.ReleaseID(r.Name, r.Version)] = r
		}
	}
	h.all = true
}

// find returns the release name@version of the base's history, or nil.
func (h *published) find(ctx context.Context, name, version string) (*source.Release, error) {
	id := meta.ReleaseID(name, version)
	if !h.walked[id] && !h.shallow && !h.all {
		h.wanted[id] = true
		ids := slices.Sorted(maps.Keys(h.wanted))
		h.walks++
		res, err := h.repo.ReleasesOf(ctx, source.Options{Ref: h.base, PacksDir: h.packsDir, History: !h.off, Since: h.since}, ids)
		if errors.Is(err, source.ErrShallow) {
			h.shallow = true
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", h.base, err)
		}
		for _, w := range ids {
			h.walked[w] = true
		}
		clear(h.wanted)
		maps.Copy(h.rels, res)
	}
	r, ok := h.rels[id]
	if !ok {
		return nil, nil
	}
	return &r, nil
}

// atVersion is a problem of the pack in dir, at the version line of its
// pack.json.
func atVersion(dir string, manifest []byte, sev meta.Severity, msg string) meta.Problem {
	line, col := pack.ValuePos(manifest, "/version")
	return meta.Problem{File: path.Join(dir, pack.ManifestFile), Line: line, Col: col, Severity: sev, Msg: msg}
}

// check judges the release name@version that dir defines: same reports
// whether history's release of it has the very same files.
func (h *published) check(ctx context.Context, dir string, manifest []byte, name, version string, same func(*source.Release) (bool, error)) (*meta.Problem, error) {
	if name == "" || version == "" {
		return nil, nil
	}
	r, err := h.find(ctx, name, version)
	if err != nil {
		return nil, err
	}
	if h.shallow {
		// Not an error: the build, which needs the history, refuses it.
		p := atVersion(dir, manifest, meta.SevWarning, fmt.Sprintf("not checked against the versions %s's history published: the clone is shallow (fetch the whole history, e.g. actions/checkout with fetch-depth: 0)", h.base))
		return &p, nil
	}
	if r == nil {
		return nil, nil
	}
	ok, err := same(r)
	if err != nil || ok {
		return nil, err
	}
	hint := ""
	if v, err := semver.NewVersion(version); err == nil {
		hint = fmt.Sprintf(" (e.g. %s)", v.IncPatch().String())
	}
	as := ""
	if r.Version != version {
		as = fmt.Sprintf(" (as %q)", r.Version)
	}
	p := atVersion(dir, manifest, meta.SevError, fmt.Sprintf("%s@%s was published from %s%s at commit %s with other content: published versions are immutable, even once their directory is removed; set a new \"version\" in this pack.json%s", name, version, r.ContentDir, as, index.ShortHash(r.ContentCommit), hint))
	return &p, nil
}

// filesOf returns the files (path → blob hash and mode) of a git tree,
// as source.Repo.WorkFiles gives them for a directory.
func filesOf(t *object.Tree) (map[string]source.WorkFile, error) {
	files := map[string]source.WorkFile{}
	err := t.Files().ForEach(func(f *object.File) error {
		files[f.Name] = source.WorkFile{Hash: f.Hash, Mode: f.Mode}
		return nil
	})
	return files, err
}
