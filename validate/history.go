package validate

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/source"
)

// published is what the base's first-parent history holds: a build with
// --history (the default) publishes every version found there and keeps
// it, so a change that brings back, with other content, a version whose
// directory was removed since passes the version rules at the base's
// tree and fails the build after the merge. It is walked once, and only
// when a change defines a release the other rules let through.
type published struct {
	repo     *source.Repo
	base     string
	packsDir string
	since    string // the build's --since: older commits are not published
	off      bool   // the build's --history=false: only the ref is published
	walked   bool
	shallow  bool
	rels     map[string]source.Release // source.ReleaseID → release
}

// find returns the release name@version of the base's history, or nil.
func (h *published) find(ctx context.Context, name, version string) (*source.Release, error) {
	if h.off {
		return nil, nil
	}
	if !h.walked {
		h.walked = true
		res, err := h.repo.Releases(ctx, source.Options{Ref: h.base, PacksDir: h.packsDir, History: true, Since: h.since})
		if errors.Is(err, source.ErrShallow) {
			h.shallow = true
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", h.base, err)
		}
		h.rels = make(map[string]source.Release, len(res.Releases))
		for _, r := range res.Releases {
			if r.Name != "" {
				h.rels[source.ReleaseID(r.Name, r.Version)] = r
			}
		}
	}
	r, ok := h.rels[source.ReleaseID(name, version)]
	if !ok {
		return nil, nil
	}
	return &r, nil
}

// atVersion is a problem of the pack in dir, at the version line of its
// pack.json.
func atVersion(dir string, manifest []byte, sev pack.Severity, msg string) pack.Problem {
	line, col := pack.ValuePos(manifest, "/version")
	return pack.Problem{File: path.Join(dir, pack.ManifestFile), Line: line, Col: col, Severity: sev, Msg: msg}
}

// check judges the release name@version that dir defines: same reports
// whether history's release of it has the very same files.
func (h *published) check(ctx context.Context, dir string, manifest []byte, name, version string, same func(*source.Release) (bool, error)) (*pack.Problem, error) {
	if name == "" || version == "" {
		return nil, nil
	}
	r, err := h.find(ctx, name, version)
	if err != nil {
		return nil, err
	}
	if h.shallow {
		// Not an error: the build, which needs the history, refuses it.
		p := atVersion(dir, manifest, pack.SevWarning, fmt.Sprintf("not checked against the versions %s's history published: the clone is shallow (fetch the whole history, e.g. actions/checkout with fetch-depth: 0)", h.base))
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
	p := atVersion(dir, manifest, pack.SevError, fmt.Sprintf("%s@%s was published from %s%s at commit %s with other content: published versions are immutable, even once their directory is removed; set a new \"version\" in this pack.json%s", name, version, r.ContentDir, as, index.ShortHash(r.ContentCommit), hint))
	return &p, nil
}

// treeFiles returns the files (path → blob hash and mode) of a git
// tree, as source.Repo.WorkFiles gives them for a directory.
func treeFiles(g interface {
	TreeObject(plumbing.Hash) (*object.Tree, error)
}, tree string) (map[string]source.WorkFile, error) {
	t, err := g.TreeObject(plumbing.NewHash(tree))
	if err != nil {
		return nil, err
	}
	files := map[string]source.WorkFile{}
	err = t.Files().ForEach(func(f *object.File) error {
		files[f.Name] = source.WorkFile{Hash: f.Hash, Mode: f.Mode}
		return nil
	})
	return files, err
}
