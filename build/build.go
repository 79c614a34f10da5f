// Package build turns the packs of a git repository into a static
// registry site: it validates new releases, writes deterministic archives,
// signs them, carries over what an earlier build already published, and
// writes the index files. It is the action behind `packgen build`.
package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/treeshape"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/source"
)

// Signer signs a file of the site whose SHA-256 the build already knows,
// writing the signature files beside it and returning their paths
// relative to the file's directory (e.g. "x.tar.gz.sig").
type Signer interface {
	SignFile(file string, sha256sum [32]byte) (sig, bundle string, err error)
}

// Options configure a build.
type Options struct {
	Repo     string // path of the git repository ("" = current dir)
	Ref      string // default HEAD
	PacksDir string // where packs live in the tree ("" = whole tree)
	History  bool   // also publish every version in first-parent history
	Since    string // with History: the walk ends at this commit (a ref), inclusive

	Out      string // output dir; a previous build there is reused
	Previous string // previous build to reuse instead of Out's (dir or URL)

	Registry string // registry name; default: the repository dir name
	RepoURL  string // source repository URL; default: origin's

	SkipInvalid bool   // leave invalid releases out instead of failing
	Signer      Signer // nil: unsigned registry
	// Trust holds the public keys the registry trusts for what this
	// build did not make itself: the previous build's index.json and the
	// signatures of releases carried over from it. The build key's own
	// public half belongs here, and the old key during a rotation
	// (--previous-key). Nil: the previous build's signatures are not
	// checked (an unsigned registry): a signed build then takes nothing
	// from it on its word, archiving again from git what git holds and
	// refusing the releases it cannot check against git.
	Trust     *sign.Verifier
	ExpiresIn time.Duration // validity of index.json from GeneratedAt
	// GeneratedAt overrides the commit time as the index's time (e.g.
	// from SOURCE_DATE_EPOCH to refresh expiry without a new commit).
	GeneratedAt time.Time
	Jobs        int // parallel releases; default GOMAXPROCS

	// Site, when set, adds files (the HTML catalogue) to the staged site,
	// or, in an update in place, to Out itself (dir == Out: write files
	// atomically; files already there belong to the previous build).
	Site func(dir string, s *Snapshot) error

	// Stamp, when not empty, names everything outside these options that
	// shapes the output: the program's version, the signing key, the
	// catalogue's settings. The build then records its inputs in Out
	// (StampFile), and a build from the same inputs returns the recorded
	// result at once. Empty: no record is used or written.
	Stamp string

	Log      io.Writer             // human-readable notes; nil = discard
	Progress func(done, total int) // called as releases finish; total grows as history is walked
	linker   func(old, new string) error
	dirs     *dirMaker
	inPlace  bool // update Out in place (see update.go)
	shape    treeshape.Func
}

// Snapshot is what a build wrote, for the catalogue and for callers.
type Snapshot struct {
	Root   *index.Root
	Shards []*index.Shard // sorted by name
}

// Result reports what a build did.
type Result struct {
	Snapshot
	Archived int // releases validated and archived in this build
	Reused   int // releases taken from the previous build untouched
	Carried  int // releases no longer in git kept from the previous build
	Skipped  int // invalid releases left out (--skip-invalid)
	Unsigned bool
	Problems pack.Problems // warnings, and errors of skipped releases
}

// stagePattern names a build's staging directories beside the out dir.
const stagePattern = ".packgen-build-*"

// DefaultExpiry is how long an index stays valid when nothing is said.
const DefaultExpiry = 365 * 24 * time.Hour

// ImmutableError reports a published version whose content changed.
type ImmutableError struct {
	Name, Version        string
	OldCommit, NewCommit string
	OldTree, NewTree     string
}

func (e *ImmutableError) Error() string {
	return fmt.Sprintf("pack %s version %s was published from commit %s (tree %s) but commit %s changes its content (tree %s): published versions are immutable; bump the version in pack.json",
		e.Name, e.Version, short(e.OldCommit), short(e.OldTree), short(e.NewCommit), short(e.NewTree))
}

// InvalidError reports releases that failed validation.
type InvalidError struct {
	Releases []string
	Problems pack.Problems
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%d invalid release(s): %s (fix them or build with --skip-invalid)\n%s",
		len(e.Releases), strings.Join(e.Releases, ", "), e.Problems.Error())
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

type job struct {
	rel  source.Release
	key  string // name@canonical version
	prev *index.Release
	// recheck: prev comes from a previous build no trusted key vouches
	// for; its archive is checked (to report tampering) and then made
	// again from git, fields and all, never reused.
	recheck bool
	out     index.Release
	probs   pack.Problems
	err     error
}

// shown is the release as its pack.json writes it (20.09.0, not the
// canonical 20.9.0 of key), for messages.
func (j *job) shown() string {
	if j.rel.Name == "" {
		return j.key
	}
	return j.rel.Name + "@" + j.rel.Version
}

// Run builds the registry.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Out == "" {
		return nil, errors.New("no output directory given")
	}
	if fi, err := os.Stat(o.Out); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("output %s is a file, not a directory: pass a directory (it is created when missing)", o.Out)
	}
	if o.ExpiresIn == 0 {
		o.ExpiresIn = DefaultExpiry
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.GOMAXPROCS(0)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.linker == nil {
		o.linker = linkOrCopy
	}
	o.dirs = &dirMaker{made: map[string]bool{}}
	o.shape = treeshape.From(ctx) // tests only: see internal/treeshape

	repo, err := source.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	if o.RepoURL == "" {
		o.RepoURL = repo.RemoteURL()
	}
	if o.Registry == "" {
		o.Registry = defaultRegistryName(o.Repo)
	}
	if o.Since != "" && o.History {
		// A commit, not a ref that may move, shapes the build (and its stamp).
		if o.Since, err = repo.Resolve(o.Since); err != nil {
			return nil, fmt.Errorf("--since: %w", err)
		}
	}
	var inputs, commit string
	if stampable(o) {
		if commit, err = repo.Resolve(o.Ref); err != nil {
			return nil, err
		}
		inputs = inputsDigest(o, commit)
		if res := replay(ctx, o, inputs, commit); res != nil {
			return res, nil
		}
	}
	prevLoc := o.Previous
	if prevLoc == "" {
		prevLoc = o.Out
	}
	prev, err := loadPrevious(ctx, prevLoc, o.Trust)
	if err != nil {
		return nil, err
	}
	if o.Signer != nil && prev.signed && prev.root.Registry != o.Registry {
		// One key may sign several registries: another's genuine build
		// served at this one's URL would otherwise have its packs
		// carried over and signed into this registry's index. (The name
		// in a previous build no trusted key signed means nothing: that
		// build is not vouched for below.)
		return nil, fmt.Errorf("%w: %s is the build of registry %q, this build is registry %q: point --previous at this registry's build, or pass --registry %q if the registry is that one", ErrUntrustedPrevious, prevLoc, prev.root.Registry, o.Registry, prev.root.Registry)
	}
	o.inPlace = canUpdateInPlace(o, prev)
	// An archive's signature covers the archive alone: what a shard says
	// beside it (version, dependencies, annotations, displayName, commit)
	// is vouched for only by the signed index.json. A signing build takes
	// none of it from a previous build it could not verify (one passed
	// off as unsigned, say): its releases still in git are archived
	// again from git, and those git no longer holds are refused.
	vouched := o.Signer == nil || prev.root == nil || prev.signed || o.inPlace
	stage := o.Out
	parent := filepath.Dir(filepath.Clean(o.Out))
	// Stages of builds killed before they finished (kill -9, OOM, a
	// cancelled CI job) are removed; a running build's is held.
	for _, d := range stale.Sweep(parent, stagePattern) {
		fmt.Fprintf(o.Log, "removed %s, left by a build that did not finish\n", d)
	}
	if !o.inPlace {
		// Held before it exists: a concurrent build's sweep of the same
		// parent must never see it unheld.
		var release func()
		if stage, release, err = stale.MkdirTemp(parent, stagePattern); err != nil {
			return nil, fmt.Errorf("create staging dir: %w", err)
		}
		defer release()
	} else if err := dropStamp(o.Out); err != nil {
		return nil, err
	}
	var jobs []*job // every job started, for the clean-up
	committed := false
	defer func() {
		switch {
		case committed:
		case o.inPlace:
			removeAdded(stage, jobs)
		default:
			os.RemoveAll(stage)
		}
	}()

	// Match every git release against what was published before as the
	// history walk finds it, and start on it at once: older commits are
	// read while the first releases are validated and archived.
	// A walk that fails, or finds a published version changed, fails the
	// build: the jobs still queued then stop at once.
	jctx, stop := context.WithCancel(ctx)
	defer stop()
	pool := startJobs(jctx, o, prev, stage)
	var immut []error
	seen := map[string]bool{}
	jobOf := map[string]*job{}
	match := func(r source.Release) {
		j := &job{rel: r, key: r.Name + "@" + r.Version}
		if v, err := semver.NewVersion(r.Version); err == nil && pack.ValidName(r.Name) {
			j.key = r.Name + "@" + v.String()
			seen[j.key] = true
			if p := prev.find(r.Name, v); p != nil {
				if p.Tree != r.TreeHash {
					immut = append(immut, &ImmutableError{Name: r.Name, Version: r.Version, OldCommit: p.Commit, NewCommit: r.Commit, OldTree: p.Tree, NewTree: r.TreeHash})
					stop()
					return
				}
				j.prev, j.recheck = p, !vouched
			}
		} // else: let validation explain it
		jobs = append(jobs, j)
		jobOf[r.Dir+"\x00"+r.Commit] = j
		pool.add(j)
	}
	var known map[string]source.KnownPack
	if vouched {
		// Its tree hashes name what git holds only if they are the registry's.
		known = prev.known()
	}
	src, err := repo.Releases(ctx, source.Options{Ref: o.Ref, PacksDir: o.PacksDir, History: o.History, Since: o.Since, Known: known, Found: match})
	if err != nil {
		stop()
	}
	pool.wait()
	if err != nil {
		return nil, err
	}
	if len(immut) > 0 {
		return nil, errors.Join(immut...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// From here on in the walk's sorted order, as if found all at once.
	sorted := make([]*job, 0, len(jobs))
	for _, r := range src.Releases {
		if j := jobOf[r.Dir+"\x00"+r.Commit]; j != nil {
			j.rel = r // FirstCommit and FirstTime are final only now
			sorted = append(sorted, j)
		}
	}
	if len(sorted) != len(jobs) {
		return nil, fmt.Errorf("internal error: the history walk reported %d releases and returned %d", len(jobs), len(sorted))
	}
	res := &Result{Unsigned: o.Signer == nil}

	var invalid []string
	var invalidProbs pack.Problems
	var replayed pack.Problems // what building the same again reports
	var releases []index.Release
	names := map[string]string{}
	// Problems of past commits the walk went past (every build meets them).
	res.Problems = append(res.Problems, src.Warnings...)
	replayed = append(replayed, src.Warnings...)
	for _, j := range sorted {
		res.Problems = append(res.Problems, warnings(j.probs)...)
		if j.err != nil {
			return nil, fmt.Errorf("pack %s: %w", j.shown(), j.err)
		}
		if j.probs.HasErrors() {
			if o.SkipInvalid {
				res.Skipped++
				res.Problems = append(res.Problems, j.probs.Errors()...)
				replayed = append(replayed, j.probs...)
				fmt.Fprintf(o.Log, "skipping invalid release %s (%s at commit %s)\n", j.shown(), j.rel.Dir, short(j.rel.Commit))
				continue
			}
			invalid = append(invalid, j.shown())
			invalidProbs = append(invalidProbs, j.probs.Errors()...)
			continue
		}
		if j.prev != nil && !j.recheck {
			res.Reused++
		} else {
			res.Archived++
			// Published when the version first appeared, not when its
			// newest commit was made.
			if !j.rel.FirstTime.IsZero() {
				j.out.Created = j.rel.FirstTime.UTC()
			}
		}
		releases = append(releases, j.out)
		names[j.out.Archive.Path] = j.key
	}
	if len(invalid) > 0 {
		return nil, &InvalidError{Releases: invalid, Problems: invalidProbs}
	}

	// Never unpublish: releases of the previous build that git no longer
	// yields (history off, shallow clone, packs dir moved) are carried over.
	for _, p := range prev.all() {
		v, _ := semver.NewVersion(p.rel.Version)
		key := p.name + "@" + v.String()
		if seen[key] {
			continue
		}
		if !vouched {
			return nil, fmt.Errorf("pack %s@%s: keep previously published release: %w: it is no longer in git, and the previous build in %s has no index.json signed by a trusted key to vouch for its shard entry, so the build will not sign it; pass the key that signed that build with --previous-key, or build from a history that holds the release", p.name, p.rel.Version, ErrUnverifiedRelease, prev.loc)
		}
		rel, err := carry(ctx, o, prev, stage, p.rel, nil)
		if err != nil {
			return nil, fmt.Errorf("pack %s@%s: keep previously published release: %w", p.name, p.rel.Version, err)
		}
		releases = append(releases, rel)
		res.Carried++
		fmt.Fprintf(o.Log, "keeping %s@%s: published before, no longer in the built history\n", p.name, p.rel.Version)
	}

	snap, err := writeIndex(ctx, o, stage, src, prev, releases)
	if err != nil {
		return nil, err
	}
	res.Snapshot = *snap
	if o.Site != nil {
		if err := o.Site(stage, snap); err != nil {
			return nil, fmt.Errorf("catalogue: %w", err)
		}
	}
	if !o.inPlace {
		if err := atomicfile.ReplaceDir(stage, o.Out, true); err != nil {
			return nil, fmt.Errorf("move build into place: %w", err)
		}
	}
	committed = true
	res.Problems.Sort()
	if inputs != "" && src.Commit == commit {
		replayed.Sort()
		writeStamp(ctx, o, inputs, commit, res, replayed)
	}
	return res, nil
}

func warnings(ps pack.Problems) pack.Problems {
	var out pack.Problems
	for _, p := range ps {
		if p.Severity == pack.SevWarning {
			out = append(out, p)
		}
	}
	return out
}

// jobPool validates and archives releases (or carries them over) on
// Options.Jobs goroutines as they are added.
type jobPool struct {
	queue       chan *job
	wg          sync.WaitGroup
	mu          sync.Mutex
	done, total int
	progress    func(done, total int)
}

func startJobs(ctx context.Context, o Options, prev *previous, stage string) *jobPool {
	p := &jobPool{queue: make(chan *job, 4096), progress: o.Progress}
	for w := 0; w < o.Jobs; w++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.queue {
				switch {
				case ctx.Err() != nil:
					j.err = ctx.Err()
				case j.prev != nil && j.recheck:
					j.out, j.probs, j.err = rearchive(ctx, o, prev, stage, *j.prev, j.rel)
				case j.prev != nil:
					j.out, j.err = carry(ctx, o, prev, stage, *j.prev, &j.rel)
				default:
					j.out, j.probs, j.err = buildRelease(o, j.rel, stage)
				}
				p.mu.Lock()
				p.done++
				if p.progress != nil {
					p.progress(p.done, p.total)
				}
				p.mu.Unlock()
			}
		}()
	}
	return p
}

func (p *jobPool) add(j *job) {
	p.mu.Lock()
	p.total++
	p.mu.Unlock()
	p.queue <- j
}

// wait waits for every job added; no more may be added.
func (p *jobPool) wait() {
	close(p.queue)
	p.wg.Wait()
}

// buildRelease validates one release and writes its archive and signatures.
func buildRelease(o Options, r source.Release, stage string) (index.Release, pack.Problems, error) {
	prefix := r.Dir
	if len(r.ManifestProblems) > 0 && r.ManifestProblems.HasErrors() {
		return index.Release{}, r.ManifestProblems, nil
	}
	fsys, done, err := r.Open()
	if err != nil {
		return index.Release{}, nil, err
	}
	defer done()
	p, probs := pack.Load(fsys, ".", pack.Options{Prefix: prefix})
	// Bytes that are not git's fail the build: never a pack problem that
	// --skip-invalid would skip, never an archive.
	if err := source.IntegrityError(fsys); err != nil {
		return index.Release{}, nil, err
	}
	if probs.HasErrors() || p.Manifest == nil {
		return index.Release{}, annotate(probs, r), nil
	}
	m := p.Manifest
	if !index.ValidVersionPath(m.Version) {
		probs = append(probs, pack.Problem{File: path.Join(prefix, pack.ManifestFile), Severity: pack.SevError,
			Msg: fmt.Sprintf("version %q cannot be used in a registry path (letters, digits, '.', '-', '+', '_' only)", m.Version)})
		return index.Release{}, annotate(probs, r), nil
	}
	rel := index.ManifestFields(m)
	rel.Commit, rel.Tree, rel.Created, rel.Dir = r.Commit, r.TreeHash, r.Time.UTC(), r.Dir
	apath := index.ArchivePath(m.Name, m.Version)
	file := filepath.Join(stage, filepath.FromSlash(apath))
	if err := o.dirs.mkdirAll(filepath.Dir(file)); err != nil {
		return rel, nil, err
	}
	if o.inPlace {
		// Left by a killed update; no index references it.
		os.Remove(file)
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return rel, nil, err
	}
	d, err := pack.WriteArchive(f, p, pack.ArchiveOptions{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = source.IntegrityError(fsys)
	}
	if err != nil {
		return rel, nil, fmt.Errorf("archive %s: %w", apath, err)
	}
	rel.Archive = index.FileRef{Path: apath, SHA256: d.SHA256, Size: d.Size}
	if o.Signer != nil {
		sum, err := hexSum(d.SHA256)
		if err != nil {
			return rel, nil, err
		}
		sig, bundle, err := signArchive(o.Signer, file, sum, func(p string, data []byte) error { return os.WriteFile(p, data, 0o644) })
		if err != nil {
			return rel, nil, fmt.Errorf("sign %s: %w", apath, err)
		}
		rel.Signature = path.Join(path.Dir(apath), sig)
		rel.Bundle = path.Join(path.Dir(apath), bundle)
	}
	return rel, probs, nil
}

// directSigner is a Signer that lets the caller write the signature
// files (sign.Signer does).
type directSigner interface {
	SignFileTo(file string, sha256sum [32]byte, write func(string, []byte) error) (sig, bundle string, err error)
}

// signArchive signs a release archive the build has just created. Its
// signature files are new paths beside it that no index references yet,
// in a fresh stage or in place alike: they are written straight, not
// through a temp file and a rename each (10,000 of them in a cold build
// of 5,000 releases, a tenth of its file system time on ext4).
func signArchive(s Signer, file string, sum [32]byte, write func(string, []byte) error) (sig, bundle string, err error) {
	if ds, ok := s.(directSigner); ok {
		return ds.SignFileTo(file, sum, write)
	}
	return s.SignFile(file, sum)
}

// annotate says which commit a historical release's problems come from.
func annotate(ps pack.Problems, r source.Release) pack.Problems {
	out := make(pack.Problems, len(ps))
	for i, p := range ps {
		p.Msg = fmt.Sprintf("%s (%s@%s, commit %s)", p.Msg, r.Name, r.Version, short(r.Commit))
		out[i] = p
	}
	return out
}

// carry puts a previous build's release files into the staged site:
// hard links (or copies) from a local build, verified downloads from a
// published one. Nothing is taken on trust (see trust.go): the archive
// is checked against its recorded digest and, when git holds the
// release (rel, nil for a release carried over from a history git no
// longer has), against git; then its signature is kept, made anew or the
// release refused (settleSignature).
func carry(ctx context.Context, o Options, prev *previous, stage string, r index.Release, rel *source.Release) (index.Release, error) {
	file := filepath.Join(stage, filepath.FromSlash(r.Archive.Path))
	if o.inPlace {
		// Already there, signed by this key (canUpdateInPlace); checked
		// all the same.
		if err := checkArchive(prev, file, r, rel); err != nil {
			return r, err
		}
		return settleSignature(o, stage, r, rel != nil)
	}
	if err := place(ctx, o, prev, stage, r); err != nil {
		return r, err
	}
	if err := checkArchive(prev, file, r, rel); err != nil {
		return r, err
	}
	return settleSignature(o, stage, r, rel != nil)
}

// rearchive checks the archive a previous build no trusted key vouches
// for holds what git holds for rel (so tampering is reported, not
// silently replaced), then drops it and archives rel again from git: the
// shard fields beside it are the bucket's word, and are not kept.
func rearchive(ctx context.Context, o Options, prev *previous, stage string, r index.Release, rel source.Release) (index.Release, pack.Problems, error) {
	if err := place(ctx, o, prev, stage, r); err != nil {
		return r, nil, err
	}
	if err := checkArchive(prev, filepath.Join(stage, filepath.FromSlash(r.Archive.Path)), r, &rel); err != nil {
		return r, nil, err
	}
	// A staged build (never in place: canUpdateInPlace vouches): these
	// are links or copies in the stage, not the previous build's files.
	for _, p := range []string{r.Archive.Path, r.Signature, r.Bundle} {
		if p != "" {
			if err := os.Remove(filepath.Join(stage, filepath.FromSlash(p))); err != nil {
				return r, nil, err
			}
		}
	}
	return buildRelease(o, rel, stage)
}

// place links, copies or downloads the files of the previous build's
// release r into the stage; the archive's size and digest are checked
// when downloaded, the rest is up to the caller.
func place(ctx context.Context, o Options, prev *previous, stage string, r index.Release) error {
	for _, p := range []string{r.Archive.Path, r.Signature, r.Bundle} {
		if p == "" {
			continue
		}
		dst := filepath.Join(stage, filepath.FromSlash(p))
		if err := o.dirs.mkdirAll(filepath.Dir(dst)); err != nil {
			return err
		}
		if prev.dir != "" {
			if err := o.linker(filepath.Join(prev.dir, filepath.FromSlash(p)), dst); err != nil {
				return err
			}
			continue
		}
		if p == r.Archive.Path {
			if err := download(ctx, prev, r.Archive, dst); err != nil {
				return err
			}
			continue
		}
		data, err := prev.fetch(ctx, p, 1<<20)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// download streams a published archive to dst, checking size and digest.
// It goes through the client's transport, so a previous build behind
// netrc credentials works and a server that stalls (ErrStalled), drips
// (ErrTimeout) or redirects https to http is given up on.
func download(ctx context.Context, prev *previous, ref index.FileRef, dst string) error {
	resp, err := prev.tr.Get(ctx, ref.Path, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, ref.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != ref.Size || hex.EncodeToString(h.Sum(nil)) != ref.SHA256 {
		return fmt.Errorf("%w: %s from %s", index.ErrDigestMismatch, ref.Path, prev.loc)
	}
	return nil
}

// dirMaker creates the directories of a staging tree, remembering what
// it made: every release needs its dir, and os.MkdirAll stats the whole
// path each time (three files per release, thousands of releases).
type dirMaker struct {
	mu   sync.Mutex
	made map[string]bool
}

func (d *dirMaker) mkdirAll(dir string) error {
	if d == nil {
		return os.MkdirAll(dir, 0o755)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.made[dir] {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d.made[dir] = true
	return nil
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func defaultRegistryName(repo string) string {
	abs, err := filepath.Abs(repo)
	if err != nil || repo == "" {
		abs, _ = os.Getwd()
	}
	name := strings.ToLower(filepath.Base(abs))
	var b strings.Builder
	for _, r := range name {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "packs"
	}
	return s
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
