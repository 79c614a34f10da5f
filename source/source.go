// Package source reads packs from a git repository with go-git: no git
// binary, no work tree checkout. It finds every pack directory (any
// directory holding pack.json) at a ref and, with history, at every commit
// of the ref's first-parent history (back to Options.Since, when set), and
// reports one release per name@version: the pack directory at the newest
// first-parent commit where that version existed. Its FirstCommit is the
// oldest walked commit where it existed: when it was published.
//
// Behaviour worth knowing:
//   - A name@version defined by more than one directory at the ref is an
//     error. In a past commit it is a warning (Result.Warnings), since
//     history cannot be fixed: that version is taken from the newest
//     commit where one directory alone defines it, and left out when no
//     walked commit does. Either way the same history gives the same
//     releases.
//   - Every blob read is checked against its object ID (see TreeFS):
//     bytes go-git or the disk got wrong fail with ErrCorruptObject.
//   - Only committed content is read. Uncommitted changes in a work tree
//     are never built; Dirty lists them so the CLI can warn.
//   - A shallow clone cannot be walked: with History it is an error that
//     says how to fetch full history; without History it works.
//   - Walking history is O(changed trees): scans are memoised by git tree
//     hash and each distinct pack.json blob is parsed once.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

// Repo is an open git repository.
type Repo struct {
	path string
	git  *git.Repository
	// handles are extra repository handles for concurrent readers: go-git
	// object storage shares file offsets, so one handle per goroutine.
	handles chan *handle
	// objects is the object cache of git (the history walk's handle):
	// up to 96 MiB that DropCaches empties.
	objects cache.Object
	checked *checkedStorage
	// pr is the scanner of the reads sized by a pull request (Changes,
	// PackIDs, ReleasesOf's base): trees and pack.json memoised across
	// them, so a check calling them in turn reads each base tree and
	// manifest once. Held while one of them runs.
	prMu sync.Mutex
	pr   *scanner
}

// handle is one reader's view of the object storage: git resolves
// objects (deltas in memory), stream reads large blobs stored whole.
type handle struct {
	git    *git.Repository
	stream storer.DeltaObjectStorer // nil: resolve everything through git
}

// ErrShallow is returned when history is needed from a shallow clone.
var ErrShallow = errors.New("repository is a shallow clone")

// ErrNotRepo: the directory given (or the current one) is in no git
// repository: what the user pointed packgen at, a usage error.
var ErrNotRepo = errors.New("not a git repository")

// ErrDuplicate: a name@version defined by more than one directory at the
// ref, which the repository must fix.
var ErrDuplicate = errors.New("a version defined by two directories")

// Open opens the repository at p (the current dir when empty), looking
// for .git in p and its parents.
func Open(p string) (*Repo, error) {
	if p == "" {
		p = "."
	}
	r, err := plainOpen(p)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, errmark.New(ErrNotRepo, "%s is not inside a git repository: run packgen in a clone of your pack repository, or pass --repo DIR", p)
	}
	if err != nil {
		return nil, fmt.Errorf("open git repository %s: %w", p, err)
	}
	// Walking history reads thousands of trees: keep packfiles open
	// (go-git otherwise opens the packfile again for every object).
	if st, ok := r.Storer.(*filesystem.Storage); ok {
		var wt billy.Filesystem
		if w, err := r.Worktree(); err == nil {
			wt = w.Filesystem
		}
		objects := cache.NewObjectLRUDefault()
		fresh := filesystem.NewStorageWithOptions(st.Filesystem(), objects, filesystem.Options{MaxOpenDescriptors: 4})
		checked := &checkedStorage{Storage: fresh}
		if g, err := git.Open(checked, wt); err == nil {
			return &Repo{path: p, git: g, handles: make(chan *handle, 64), objects: objects, checked: checked}, nil
		}
	}
	return &Repo{path: p, git: r, handles: make(chan *handle, 64)}, nil
}

// DropCaches lets go what the repository keeps to read quickly: the
// readers' handles (each with its object cache and pack index) and the
// objects the history walk cached. A build calls it once every release
// is read, before the catalogue, which reads archives and not git: in a
// cold 5,000-release build they were about 30 MB of live heap, twice
// that of peak RSS (docs/PERFORMANCE.md). Reading again afterwards works
// and opens what it needs again.
func (r *Repo) DropCaches() {
	for {
		select {
		case h := <-r.handles:
			h.close()
		default:
			if r.objects != nil {
				r.objects.Clear()
			}
			if r.checked != nil {
				r.checked.ok.Clear() // checked again if read again
			}
			return
		}
	}
}

// close closes the handle's files; it is not used after.
func (h *handle) close() {
	if c, ok := h.git.Storer.(io.Closer); ok {
		c.Close()
	}
	if c, ok := h.stream.(io.Closer); ok {
		c.Close()
	}
}

// Git returns the go-git repository.
func (r *Repo) Git() *git.Repository { return r.git }

func (r *Repo) acquire() (*handle, error) {
	select {
	case h := <-r.handles:
		return h, nil
	default:
		g, err := plainOpen(r.path)
		if err != nil {
			return nil, err
		}
		return readerHandle(g), nil
	}
}

// readerHandle reopens a repository's object storage for one reader of
// release content: a small object cache instead of go-git's default
// 96 MiB one per handle (peak RSS grew with every parallel job),
// ExclusiveAccess so go-git trusts its listing of object files during
// the build, and packfiles kept open (go-git otherwise opens the
// packfile again for every object it reads).
//
// The storage that resolves objects has no LargeObjectThreshold: with it
// go-git v5.19.3 streams large delta-compressed blobs with wrong bytes
// (TestLargeDeltaBlobsExact), 2.5 times slower (each backward copy
// re-reads the base). A delta is resolved in memory, as git itself does.
// A large blob stored whole (loose, or undeltified in a pack: git's
// newest version of a file, incompressible charts) is streamed from a
// second storage with the threshold, whose plain zlib stream is sound
// (TestLargeWholeBlobStreams); treeFS checks both against the object ID.
func readerHandle(g *git.Repository) *handle {
	st, ok := g.Storer.(*filesystem.Storage)
	if !ok {
		return &handle{git: g}
	}
	fresh := filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRU(4*cache.MiByte),
		filesystem.Options{ExclusiveAccess: true, MaxOpenDescriptors: 4})
	h, err := git.Open(&checkedStorage{Storage: fresh}, nil)
	if err != nil {
		return &handle{git: g}
	}
	// Its cache only holds delta bases, which it is not used for.
	stream := filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRU(cache.MiByte),
		filesystem.Options{ExclusiveAccess: true, LargeObjectThreshold: smallBlob, MaxOpenDescriptors: 2})
	return &handle{git: h, stream: stream}
}

// plainOpen opens a work tree (looking for .git upwards; a linked work
// tree, `git worktree add`, reads its repository's objects and refs
// through commondir) or a bare repository.
func plainOpen(p string) (*git.Repository, error) {
	r, err := git.PlainOpenWithOptions(p, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if bare, berr := git.PlainOpen(p); berr == nil {
			return bare, nil
		}
	}
	return r, err
}

func (r *Repo) release(h *handle) {
	select {
	case r.handles <- h:
	default:
	}
}

// Options select what Releases reads.
type Options struct {
	Ref      string // branch, tag, or commit; default HEAD
	PacksDir string // only packs under this dir ("" = whole tree)
	History  bool   // walk first-parent history too
	// Since, with History, ends the walk at this commit (a ref; it is
	// walked): older commits are not read, so a repository can start its
	// history after commits it cannot fix. It must be on the ref's
	// first-parent history.
	Since string
	// Known maps git tree hashes of pack dirs to their pack.json's name
	// and version, as an earlier build recorded them: a tree's hash fixes
	// its content, so such trees are neither read nor parsed again and a
	// rebuild walks history at the cost of what changed.
	Known map[string]KnownPack
	// Found, when set, is called with each release as soon as the walk
	// knows it is final, from Releases' own goroutine and before it
	// returns, so a caller can start on it while older commits are read.
	// Its FirstCommit and FirstTime are not known yet then (the walk has
	// not reached older commits): they are final only in Result.Releases.
	Found func(Release)
}

// KnownPack is the name and version of a pack dir known by tree hash.
type KnownPack struct{ Name, Version string }

// Release is one name@version found in git.
type Release struct {
	Name     string // from pack.json ("" when pack.json cannot be read)
	Version  string // as written in pack.json
	Dir      string // the pack directory in the tree
	Commit   string // the newest first-parent commit holding this version
	Time     time.Time
	TreeHash string // git tree hash of Dir at Commit: the content's identity
	// FirstCommit is the oldest walked first-parent commit where this
	// name@version existed (in any directory, with any content): when it
	// was published. Without history it is Commit. Final only in
	// Result.Releases, not yet when Options.Found is called.
	FirstCommit string
	FirstTime   time.Time
	// ContentCommit and ContentDir are the oldest walked first-parent
	// commit holding this name@version with this very tree, and the
	// directory it was in there: where the published content came from.
	// Unlike Commit they do not move as commits are added on top, so a
	// fresh build and an incremental one record the same. Final only in
	// Result.Releases.
	ContentCommit string
	ContentDir    string
	// Edited, with history, is where the walk found this name@version
	// with other content: the newest older first-parent commit holding it
	// in no directory with TreeHash. A version edited in place without a
	// bump: a registry built before that edit serves other bytes under
	// the same version (EditedProblem says so). Nil when none; final only
	// in Result.Releases.
	Edited *Edit
	// ManifestProblems are problems of pack.json that prevented reading
	// the name or version (only reported for packs at the ref itself).
	ManifestProblems meta.Problems

	repo *Repo
}

// Open returns an fs.FS rooted at the release's pack directory, and a
// function to call when done. Each call uses its own repository handle,
// so releases can be read in parallel. Every blob read through it is
// checked against its object ID (see TreeFS); IntegrityError(fsys) says
// whether one was not what git recorded, naming it and its path.
func (rel *Release) Open() (fs.FS, func(), error) {
	h, err := rel.repo.acquire()
	if err != nil {
		return nil, nil, err
	}
	tree, err := object.GetTree(h.git.Storer, plumbing.NewHash(rel.TreeHash))
	if err != nil {
		rel.repo.release(h)
		return nil, nil, fmt.Errorf("read tree %s of %s: %w", rel.TreeHash, rel.Dir, err)
	}
	return &treeFS{s: h.git.Storer, stream: h.stream, root: tree, mtime: rel.Time, prefix: rel.Dir}, func() { rel.repo.release(h) }, nil
}

// Result is what Releases found.
type Result struct {
	Ref      string
	Commit   string // the commit the ref resolved to
	Time     time.Time
	Releases []Release // sorted by name, then semantic version
	// Warnings are problems of past commits that cannot be fixed and did
	// not stop the walk (a version defined by two directories), naming
	// the commits; sorted.
	Warnings meta.Problems
}

// packDir is a pack directory found in a tree, relative to that tree.
type packDir struct {
	rel      string
	tree     plumbing.Hash
	manifest plumbing.Hash
	known    *manifestInfo // from Options.Known: manifest not read
}

type manifestInfo struct {
	name, version, key string
	problems           meta.Problems
}

type scanner struct {
	repo      *git.Repository
	trees     map[plumbing.Hash][]packDir
	manifests map[plumbing.Hash]*manifestInfo
	known     map[plumbing.Hash]*manifestInfo
	// notNaming is the pack.json blobs read and found to name none of
	// some names (see naming), with those names.
	notNaming map[plumbing.Hash]*names
}

// Resolve returns the hash of the commit ref names ("" = HEAD).
func (r *Repo) Resolve(ref string) (string, error) {
	if ref == "" {
		ref = "HEAD"
	}
	h, err := r.resolve(ref)
	if err != nil {
		return "", err
	}
	c, err := r.git.CommitObject(*h)
	if err != nil {
		return "", fmt.Errorf("read commit %s: %w", h, err)
	}
	return c.Hash.String(), nil
}

func (r *Repo) resolve(ref string) (*plumbing.Hash, error) {
	h, err := r.git.ResolveRevision(plumbing.Revision(ref))
	if err != nil {
		if ref == "HEAD" {
			if _, herr := r.git.Head(); errors.Is(herr, plumbing.ErrReferenceNotFound) {
				return nil, errors.New("the repository has no commits yet: commit your packs first")
			}
		}
		return nil, fmt.Errorf("resolve ref %q: %w", ref, err)
	}
	return h, nil
}

// Releases lists the releases at opts.Ref and, with opts.History, on its
// first-parent history.
func (r *Repo) Releases(ctx context.Context, opts Options) (*Result, error) {
	span, err := r.walkBounds(opts)
	if err != nil {
		return nil, err
	}
	packsDir := strings.Trim(path.Clean("/"+opts.PacksDir), "/")
	w := &releaseWalk{
		repo: r, opts: opts, sc: newScanner(r.git, opts.Known),
		res:   &Result{Ref: span.ref, Commit: span.head.Hash.String(), Time: span.head.Committer.When.UTC()},
		found: map[string]*Release{}, oldest: map[string]*object.Commit{},
		content: map[string][2]string{}, ambiguous: map[string]*ambiguity{}, first: true,
	}
	for c := span.head; c != nil; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := w.commit(c, packsDir); err != nil {
			return nil, err
		}
		if !opts.History {
			break
		}
		if c, err = span.parent(c); err != nil {
			return nil, err
		}
	}
	w.finish()
	sortReleases(w.res.Releases)
	return w.res, nil
}

// walkSpan is where a first-parent walk starts (head, the commit ref
// names) and where it ends (since, the commit opts.Since names; nil: at
// the root commit).
type walkSpan struct {
	ref      string // opts.Ref, "HEAD" when empty
	head     *object.Commit
	since    *plumbing.Hash
	sinceArg string // opts.Since as given, for errors
}

// parent returns the commit after c on the walk, its first parent, or
// nil when c ends the walk (c is since, or a root commit and no since
// was asked for). A root commit reached before since is an error: since
// is not on the history.
func (s *walkSpan) parent(c *object.Commit) (*object.Commit, error) {
	if s.since != nil && c.Hash == *s.since {
		return nil, nil
	}
	if c.NumParents() == 0 {
		if s.since != nil {
			return nil, fmt.Errorf("since %q (commit %s) is not on the first-parent history of %s: pass a commit that `git log --first-parent %s` lists", s.sinceArg, s.since.String()[:12], s.ref, s.ref)
		}
		return nil, nil
	}
	p, err := c.Parent(0)
	if err != nil {
		return nil, fmt.Errorf("read parent of %s: %w (is the clone shallow or incomplete?)", c.Hash.String()[:12], err)
	}
	return p, nil
}

// walkBounds resolves where the walk starts (opts.Ref, default HEAD) and
// where it stops (opts.Since), and refuses a history walk of a shallow clone.
func (r *Repo) walkBounds(opts Options) (*walkSpan, error) {
	s := &walkSpan{ref: opts.Ref, sinceArg: opts.Since}
	if s.ref == "" {
		s.ref = "HEAD"
	}
	h, err := r.resolve(s.ref)
	if err != nil {
		return nil, err
	}
	if s.head, err = r.git.CommitObject(*h); err != nil {
		return nil, fmt.Errorf("read commit %s: %w", h, err)
	}
	if opts.Since != "" {
		if !opts.History {
			return nil, fmt.Errorf("since %q is set but history is off: --since only limits a history walk", opts.Since)
		}
		since, err := r.resolve(opts.Since)
		if err != nil {
			return nil, fmt.Errorf("since: %w", err)
		}
		c, err := r.git.CommitObject(*since)
		if err != nil {
			return nil, fmt.Errorf("since %q: read commit %s: %w", opts.Since, since, err)
		}
		s.since = &c.Hash // a tag names its commit
	}
	if opts.History {
		if r.Shallow() {
			return nil, fmt.Errorf("%w: history cannot be walked, so versions only in older commits would be missing; fetch full history (git fetch --unshallow, or actions/checkout with fetch-depth: 0) or build with --history=false, which keeps releases of the previous build", ErrShallow)
		}
	}
	return s, nil
}

// newScanner returns a scanner that trusts the manifests of known trees
// (from the previous build) instead of reading them again.
func newScanner(g *git.Repository, known map[string]KnownPack) *scanner {
	sc := &scanner{repo: g, trees: map[plumbing.Hash][]packDir{}, manifests: map[plumbing.Hash]*manifestInfo{}, known: map[plumbing.Hash]*manifestInfo{}}
	for tree, k := range known {
		if v, err := semver.NewVersion(k.Version); err == nil && meta.ValidName(k.Name) {
			sc.known[plumbing.NewHash(tree)] = &manifestInfo{name: k.Name, version: k.Version, key: k.Name + "@" + v.String()}
		}
	}
	return sc
}

// releaseWalk is the state of Releases' first-parent walk, newest first.
type releaseWalk struct {
	repo *Repo
	opts Options
	sc   *scanner
	res  *Result
	// found is each name@version's newest single-directory release.
	found map[string]*Release
	// oldest is the oldest commit seen so far holding each key; ambiguous
	// the past commits where a key not found yet had several directories.
	oldest    map[string]*object.Commit
	content   map[string][2]string // commit and dir, see Release.ContentCommit
	ambiguous map[string]*ambiguity
	first     bool // c is the ref's own commit
}

// commit reads the packs at c and records what they add to the walk.
func (w *releaseWalk) commit(c *object.Commit, packsDir string) error {
	dirs, err := w.sc.packsAt(c, packsDir)
	if err != nil {
		return fmt.Errorf("commit %s: %w", c.Hash.String()[:12], err)
	}
	byKey := map[string][]packDir{}
	for _, d := range dirs {
		mi := d.known
		if mi == nil {
			if mi, err = w.sc.manifest(d.manifest, path.Join(d.rel, pack.ManifestFile)); err != nil {
				return err
			}
		}
		if mi.key == "" {
			if w.first {
				w.res.Releases = append(w.res.Releases, Release{Dir: d.rel, Commit: c.Hash.String(), Time: c.Committer.When.UTC(), TreeHash: d.tree.String(), ManifestProblems: mi.problems, repo: w.repo})
				if w.opts.Found != nil {
					w.opts.Found(w.res.Releases[len(w.res.Releases)-1])
				}
			}
			continue
		}
		byKey[mi.key] = append(byKey[mi.key], d)
	}
	for key, ds := range byKey {
		if err := w.key(c, key, ds); err != nil {
			return err
		}
	}
	w.first = false
	return nil
}

// key records the directories ds holding key at commit c.
func (w *releaseWalk) key(c *object.Commit, key string, ds []packDir) error {
	w.oldest[key] = c
	if rel, done := w.found[key]; done {
		same := false
		for _, d := range ds {
			if d.tree.String() == rel.TreeHash {
				w.content[key] = [2]string{c.Hash.String(), d.rel}
				same = true
				break
			}
		}
		if !same && rel.Edited == nil {
			rel.Edited = &Edit{Commit: c.Hash.String(), Dir: ds[0].rel, Tree: ds[0].tree.String()}
		}
		return nil
	}
	if len(ds) > 1 {
		var names []string
		for _, d := range ds {
			names = append(names, d.rel)
		}
		sort.Strings(names)
		if w.first {
			return errmark.New(ErrDuplicate, "%s is defined by more than one directory at commit %s: %s; keep one, or bump the version in the others", key, c.Hash.String()[:12], strings.Join(names, " and "))
		}
		// History cannot be fixed: look for the version in
		// older commits, and say so.
		a := w.ambiguous[key]
		if a == nil {
			a = &ambiguity{dirs: map[string]bool{}}
			w.ambiguous[key] = a
		}
		a.commits = append(a.commits, c.Hash.String())
		for _, n := range names {
			a.dirs[n] = true
		}
		return nil
	}
	mi := ds[0].known
	if mi == nil {
		mi = w.sc.manifests[ds[0].manifest]
	}
	w.found[key] = &Release{Name: mi.name, Version: mi.version, Dir: ds[0].rel, Commit: c.Hash.String(), Time: c.Committer.When.UTC(), TreeHash: ds[0].tree.String(), repo: w.repo}
	if w.opts.Found != nil {
		w.opts.Found(*w.found[key])
	}
	return nil
}

// finish fills each release's first and content commits and the warnings.
func (w *releaseWalk) finish() {
	res := w.res
	for key, rel := range w.found {
		if c := w.oldest[key]; c != nil {
			rel.FirstCommit, rel.FirstTime = c.Hash.String(), c.Committer.When.UTC()
		}
		rel.ContentCommit, rel.ContentDir = rel.Commit, rel.Dir
		if cd, ok := w.content[key]; ok {
			rel.ContentCommit, rel.ContentDir = cd[0], cd[1]
		}
		res.Releases = append(res.Releases, *rel)
	}
	for i := range res.Releases {
		if res.Releases[i].FirstCommit == "" { // keyless, at the ref
			res.Releases[i].FirstCommit, res.Releases[i].FirstTime = res.Releases[i].Commit, res.Releases[i].Time
		}
		if res.Releases[i].ContentCommit == "" {
			res.Releases[i].ContentCommit, res.Releases[i].ContentDir = res.Releases[i].Commit, res.Releases[i].Dir
		}
	}
	res.Warnings = ambiguityWarnings(w.ambiguous, w.found)
}

// sortReleases sorts by name, then semantic version, then directory.
func sortReleases(rels []Release) {
	// Versions parsed once, not per comparison (semver uses a regexp).
	parsed := map[string]*semver.Version{}
	for _, r := range rels {
		if _, ok := parsed[r.Version]; !ok {
			parsed[r.Version], _ = semver.NewVersion(r.Version)
		}
	}
	sort.Slice(rels, func(i, j int) bool {
		a, b := rels[i], rels[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		va, vb := parsed[a.Version], parsed[b.Version]
		if va != nil && vb != nil && !va.Equal(vb) {
			return va.LessThan(vb)
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Dir < b.Dir
	})
}

// ambiguity is a name@version defined by several directories in past
// commits (newest first) before the walk found it defined by one.
type ambiguity struct {
	commits []string
	dirs    map[string]bool
}

func ambiguityWarnings(amb map[string]*ambiguity, found map[string]*Release) meta.Problems {
	var out meta.Problems
	for key, a := range amb {
		dirs := slices.Sorted(maps.Keys(a.dirs))
		where := "commit " + a.commits[0][:12]
		if n := len(a.commits); n > 1 {
			where = fmt.Sprintf("%d commits, %s (newest) to %s", n, a.commits[0][:12], a.commits[n-1][:12])
		}
		msg := fmt.Sprintf("%s is defined by more than one directory (%s) in %s of the history, not at the ref: ", key, strings.Join(dirs, ", "), where)
		if rel := found[key]; rel != nil {
			msg += fmt.Sprintf("taken from commit %s (%s), the newest where one directory alone defines it", rel.Commit[:12], rel.Dir)
		} else {
			msg += "left out, since no walked commit defines it in one directory only; pass --since with a later commit to start the history after it"
		}
		out = append(out, meta.Problem{File: path.Join(dirs[0], pack.ManifestFile), Severity: meta.SevWarning, Msg: msg})
	}
	out.Sort()
	return out
}

// packsAt lists pack dirs at commit c under packsDir.
func (sc *scanner) packsAt(c *object.Commit, packsDir string) ([]packDir, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	base := ""
	if packsDir != "" {
		e, err := tree.FindEntry(packsDir)
		if errors.Is(err, ErrCorruptObject) {
			return nil, err
		}
		if err != nil || e.Mode != filemode.Dir {
			return nil, nil // no packs dir at this commit
		}
		base = packsDir
		if tree, err = object.GetTree(sc.repo.Storer, e.Hash); err != nil {
			return nil, err
		}
	}
	dirs, err := sc.scan(tree)
	if err != nil {
		return nil, err
	}
	out := make([]packDir, len(dirs))
	for i, d := range dirs {
		d.rel = path.Join(base, d.rel)
		if d.rel == "" {
			d.rel = "."
		}
		out[i] = d
	}
	return out, nil
}

// scan finds pack dirs in a tree, memoised by tree hash so an unchanged
// subtree costs nothing on the next commit.
func (sc *scanner) scan(tree *object.Tree) ([]packDir, error) {
	if dirs, ok := sc.trees[tree.Hash]; ok {
		return dirs, nil
	}
	var dirs []packDir
	for _, e := range tree.Entries {
		if e.Name == pack.ManifestFile && e.Mode.IsFile() {
			dirs = []packDir{{rel: "", tree: tree.Hash, manifest: e.Hash}}
			sc.trees[tree.Hash] = dirs
			return dirs, nil
		}
	}
	for _, e := range tree.Entries {
		if e.Mode != filemode.Dir || pack.IsJunk(e.Name) || isJunkDir(e.Name) {
			continue
		}
		if k := sc.known[e.Hash]; k != nil {
			dirs = append(dirs, packDir{rel: e.Name, tree: e.Hash, known: k})
			continue
		}
		subDirs, ok := sc.trees[e.Hash]
		if !ok { // not decoded again when known (each commit lists every pack)
			sub, err := object.GetTree(sc.repo.Storer, e.Hash)
			if err != nil {
				return nil, err
			}
			if subDirs, err = sc.scan(sub); err != nil {
				return nil, err
			}
		}
		for _, d := range subDirs {
			d.rel = path.Join(e.Name, d.rel)
			dirs = append(dirs, d)
		}
	}
	sc.trees[tree.Hash] = dirs
	return dirs, nil
}

// maxManifest bounds the pack.json read from git.
const maxManifest = 1 << 20

// manifest parses a pack.json blob once.
func (sc *scanner) manifest(h plumbing.Hash, file string) (*manifestInfo, error) {
	if mi, ok := sc.manifests[h]; ok {
		return mi, nil
	}
	// Checked against its ID like every blob: a name and version read
	// from corrupt bytes would publish a release git never held.
	data, tooLarge, err := readBlob(sc.repo.Storer, h, file, maxManifest)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return sc.parsed(h, file, data, tooLarge), nil
}

// parsed remembers and returns the release of the pack.json blob h.
func (sc *scanner) parsed(h plumbing.Hash, file string, data []byte, tooLarge bool) *manifestInfo {
	var mi *manifestInfo
	if tooLarge {
		mi = &manifestInfo{problems: meta.Problems{{File: file, Severity: meta.SevError, Msg: fmt.Sprintf("pack.json is larger than %d KiB: a manifest holds metadata only, keep values and charts in their own files", maxManifest>>10)}}}
	} else {
		mi = parseManifest(file, data)
	}
	sc.manifests[h] = mi
	return mi
}

// parseManifest is the release a pack.json defines, as the build keys it.
func parseManifest(file string, data []byte) *manifestInfo {
	m, probs := pack.ParseManifest(file, data)
	mi := &manifestInfo{problems: probs}
	if m != nil && meta.ValidName(m.Name) {
		if v, err := semver.NewVersion(m.Version); err == nil {
			mi.name, mi.version, mi.key = m.Name, m.Version, m.Name+"@"+v.String()
		}
	}
	if mi.key == "" && !probs.HasErrors() {
		mi.problems = append(mi.problems, meta.Problem{File: file, Severity: meta.SevError, Msg: "pack.json has no usable name and version"})
	}
	return mi
}

// RemoteURL returns origin's URL in https form when it is a known forge
// SSH URL, or "" when there is no origin.
func (r *Repo) RemoteURL() string {
	rem, err := r.git.Remote("origin")
	if err != nil || len(rem.Config().URLs) == 0 {
		return ""
	}
	return NormalizeURL(rem.Config().URLs[0])
}

// NormalizeURL turns git@host:owner/repo.git into https://host/owner/repo
// and drops credentials and a .git suffix from https URLs.
func NormalizeURL(u string) string {
	if strings.HasPrefix(u, "git@") && strings.Contains(u, ":") {
		hostPath := strings.TrimPrefix(u, "git@")
		i := strings.Index(hostPath, ":")
		u = "https://" + hostPath[:i] + "/" + hostPath[i+1:]
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		scheme, rest, _ := strings.Cut(u, "://")
		if at := strings.Index(rest, "@"); at >= 0 && at < strings.Index(rest+"/", "/") {
			rest = rest[at+1:]
		}
		u = scheme + "://" + rest
	}
	return strings.TrimSuffix(u, ".git")
}
