package rebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/source"
	"github.com/packgen/packgen/walk"
)

// Problem is one release of a site that is not exactly its repository's
// content. In JSON it is the release ("pack", "version") and a problem
// in the shape every -o json uses (pack/meta.Problem: "file",
// "severity" "error", "message").
type Problem struct {
	Pack    string `json:"pack"`
	Version string `json:"version"`
	Path    string `json:"file"` // the archive, or a file inside it
	Msg     string `json:"message"`
}

// MarshalJSON writes the release and a meta.Problem.
func (p Problem) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Pack    string `json:"pack"`
		Version string `json:"version"`
		meta.Problem
	}{p.Pack, p.Version, meta.Problem{File: p.Path, Severity: meta.SevError, Msg: p.Msg}})
}

// SiteReport is the outcome of CheckSite.
type SiteReport struct {
	Releases int       `json:"releases"`
	Problems []Problem `json:"problems"`
}

// Site is a published site and the git repository it claims to hold,
// opened once for the checks against git (Check, CheckLog).
type Site struct {
	loc      string // names the site in messages
	tr       transport.Transport
	repo     *source.Repo
	repoPath string // names the repository in messages, as the user gave it
	root     *index.Root
	// PacksDir is the packs directory the registry is built from (the
	// build's --packs-dir): its retirement file is checked against the
	// index's retirements.
	PacksDir string
	// Command is the command running the checks ("verify", "log
	// audit"), which hints name with the flag to give it.
	Command string
}

// Open opens the repository at repoPath for checks of the site tr reads
// (opened by the caller with the command's options: an oci:// registry's
// TLS, plain HTTP or credentials, as every other reader opens it); loc
// names the site in messages. root is the site's index.json when the
// caller has read it already (client.VerifySite's, whose signature it
// checked): every check is then of the one generation the signature
// covers, and index.json is read once. Nil reads it, parsed and not
// signature-checked (client.VerifySite does that).
func Open(ctx context.Context, tr transport.Transport, loc string, root *index.Root, repoPath string) (*Site, error) {
	repo, err := source.Open(repoPath)
	if err != nil {
		return nil, err
	}
	if root == nil {
		data, err := transport.Fetch(tr)(ctx, index.RootFile, index.MaxRootSize)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", loc, err)
		}
		if root, err = index.ParseRoot(data); err != nil {
			return nil, fmt.Errorf("read %s: %w", loc, err)
		}
	}
	return &Site{loc: loc, tr: tr, repo: repo, repoPath: repoPath, root: root}, nil
}

// CheckSite is Site.Check of the site at loc (a directory, a file://
// or http(s) URL: no options) against the repository at repoPath.
func CheckSite(ctx context.Context, loc, repoPath string) (*SiteReport, error) {
	tr, err := transport.New(loc, "", 30*time.Minute, 0)
	if err != nil {
		return nil, err
	}
	s, err := Open(ctx, tr, loc, nil, repoPath)
	if err != nil {
		return nil, err
	}
	return s.Check(ctx)
}

// Check proves the site is exactly the content of its git
// repository: for every release its index records, the recorded commit
// must hold the recorded tree at the recorded directory, the archive's
// files must be that tree's (by git blob ID), and an archive rebuilt
// from the tree must be byte for byte the published one. It checks
// digests down the index, not signatures (client.VerifySite does): run
// both.
func (s *Site) Check(ctx context.Context) (*SiteReport, error) {
	loc, tr := s.loc, s.tr
	fetch := transport.Fetch(tr)
	type job struct {
		name string
		rel  index.Release
	}
	var jobs []job
	// Down the tree the way every reader goes: each node and shard pinned
	// by its parent (walk.Walker, stopping at the first problem).
	err := (&walk.Walker{Get: fetch}).Tree(ctx, s.root, walk.TreeVisitor{
		Shard: func(sum index.Summary, shard *index.Shard) error {
			for _, r := range shard.Releases {
				jobs = append(jobs, job{sum.Name, r})
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", loc, err)
	}
	rep := &SiteReport{Releases: len(jobs), Problems: []Problem{}}
	if p := s.builtCommitProblem(); p != nil {
		rep.Problems = append(rep.Problems, *p)
	} else {
		rels := make(map[string]named, len(jobs))
		for _, j := range jobs {
			rels[meta.ReleaseID(j.name, j.rel.Version)] = named(j)
		}
		rep.Problems = append(rep.Problems, s.retiredProblems(rels)...)
	}
	var mu sync.Mutex
	add := func(j job, p, msg string) {
		mu.Lock()
		rep.Problems = append(rep.Problems, Problem{Pack: j.name, Version: j.rel.Version, Path: p, Msg: msg})
		mu.Unlock()
	}
	// Every release is checked and every problem kept: no job fails.
	_ = parallel.Each(ctx, len(jobs), runtime.GOMAXPROCS(0), func(i int) error {
		j := jobs[i]
		checkRelease(ctx, tr, s.repo, j.name, j.rel, func(p, msg string) { add(j, p, msg) })
		return nil
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Slice(rep.Problems, func(i, k int) bool {
		a, b := rep.Problems[i], rep.Problems[k]
		if a.Pack != b.Pack {
			return a.Pack < b.Pack
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Path < b.Path
	})
	return rep, nil
}

func checkRelease(ctx context.Context, tr transport.Transport, repo *source.Repo, name string, r index.Release, problem func(path, msg string)) {
	ap := r.Archive.Path
	if r.Commit == "" || r.Tree == "" {
		problem(ap, "the index records no source commit and tree: it cannot be checked against git")
		return
	}
	rel, err := repo.ReleaseAt(name, r.Version, r.Commit, r.Dir, r.Tree)
	if err != nil {
		problem(ap, err.Error())
		return
	}
	resp, err := tr.Get(ctx, ap, "")
	if err != nil {
		problem(ap, err.Error())
		return
	}
	defer resp.Body.Close()
	h := sha256.New()
	body := io.TeeReader(io.LimitReader(resp.Body, r.Archive.Size+1), h)
	cerr := Compare(body, name, rel)
	var de *DiffError
	switch {
	case errors.As(cerr, &de):
		for _, d := range de.Diffs {
			problem(ap+"!"+d.Path, d.Msg)
		}
	case cerr != nil:
		problem(ap, cerr.Error())
		return
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		problem(ap, err.Error())
		return
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != r.Archive.SHA256 {
		problem(ap, fmt.Sprintf("%s: the index records sha256 %s, the archive is %s", index.ErrDigestMismatch, r.Archive.SHA256, got))
		return
	}
	d, m, err := rebuild(rel)
	if err != nil {
		problem(ap, "cannot rebuild from git: "+err.Error())
		return
	}
	if d.SHA256 != r.Archive.SHA256 || d.Size != r.Archive.Size {
		problem(ap, fmt.Sprintf("not reproducible: rebuilt from commit %s it is sha256 %s (%d bytes), published %s (%d bytes)", short(r.Commit), d.SHA256, d.Size, r.Archive.SHA256, r.Archive.Size))
	}
	if m.Name != name {
		problem(ap, fmt.Sprintf("the index lists it under pack %q, its pack.json at commit %s names %q", name, short(r.Commit), m.Name))
	}
	for _, f := range fieldDiffs(r, index.ManifestFields(m)) {
		problem(ap, fmt.Sprintf("the index records %s %s, its pack.json at commit %s says %s", f.name, f.got, short(r.Commit), f.want))
	}
}

type fieldDiff struct{ name, got, want string }

// fieldDiffs compares what the index says about a release with what its
// pack.json says (want): the archive's signature covers the archive
// alone, so a shard's fields are the repository's only if they are
// pack.json's. The fields every index has recorded are compared always;
// those added later (a build by an older packgen lacks them, and a
// reused release keeps what it was published with) only when recorded.
func fieldDiffs(got, want index.Release) []fieldDiff {
	type field struct {
		name     string
		got, exp any
		always   bool
	}
	fields := []field{
		{"version", got.Version, want.Version, true},
		{"layer", got.Layer, want.Layer, true},
		{"displayName", got.DisplayName, want.DisplayName, true},
		{"addonType", got.AddonType, want.AddonType, true},
		{"cloudTypes", got.CloudTypes, want.CloudTypes, true},
		{"dependencies", got.Dependencies, want.Dependencies, true},
		{"annotations", got.Annotations, want.Annotations, true},
		{"addonSubType", got.AddonSubType, want.AddonSubType, false},
		{"group", got.Group, want.Group, false},
		{"eol", got.EOL, want.EOL, false},
		{"kubeVersion", got.KubeVersion, want.KubeVersion, false},
		{"charts", got.Charts, want.Charts, false},
		{"kubeManifests", got.KubeManifests, want.KubeManifests, false},
		{"ansibleRoles", got.AnsibleRoles, want.AnsibleRoles, false},
		{"resources", got.Resources, want.Resources, false},
	}
	var out []fieldDiff
	for _, f := range fields {
		// By their JSON, as the shard holds them: a nil and an empty
		// list are one (both left out).
		g, w := jsonOf(f.got), jsonOf(f.exp)
		if g == w || (!f.always && g == "") {
			continue
		}
		out = append(out, fieldDiff{f.name, orAbsent(g), orAbsent(w)})
	}
	return out
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	switch s := string(b); s {
	case "null", `""`, "[]", "{}":
		return ""
	default:
		return s
	}
}

func orAbsent(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
