// Package build turns the packs of a git repository into a static
// registry site: it validates new releases, writes deterministic archives,
// signs them, carries over what an earlier build already published, and
// writes the index files. It is the action behind `packgen build`.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/source"
	"github.com/packgen/packgen/walk"
)

// Signer signs blobs of the site (archives, index.json) by their
// SHA-256; the build names and writes the signature files. sign.Signer
// and sign.Lazy are Signers.
type Signer interface {
	// SignBlob returns the content of the .sig file and the Sigstore
	// bundle for the blob whose SHA-256 is sum; open reads the blob, for
	// keys that sign the message itself (ed25519).
	SignBlob(sum [32]byte, open func() (io.ReadCloser, error)) (sig, bundle []byte, err error)
	KeyID() string
	PublicKeyPEM() ([]byte, error)
	// Prepare starts, in the background, what the first signature would
	// otherwise wait for (decrypting the key: a quarter of a second of
	// scrypt); the build calls it once no build record matched, so the
	// work overlaps the plan and the history walk.
	Prepare()
	// Opens decrypts the key if it is not yet (waiting for Prepare's)
	// and says why it cannot be used: --force checks it even when the
	// build signs nothing, so a wrong password fails it.
	Opens() error
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
	// PreviousOCI is how an oci:// Previous is reached.
	PreviousOCI ocireg.Options

	Registry string // registry name; default: the repository dir name
	RepoURL  string // source repository URL; default: origin's

	SkipInvalid bool // leave invalid releases out instead of failing
	// NewLog lets a signing build start a new transparency log over a
	// previous build that has none to extend (unsigned, or signed
	// without a log): a registry's first signed build. Without it that
	// is ErrNewLog.
	NewLog bool
	// LogAnchor, when set, is a checkpoint of the registry's log kept
	// outside what Previous reads (the one published last, or a
	// witness's): the previous build's log must extend it
	// (ErrBehindAnchor).
	LogAnchor []byte
	Signer    Signer // nil: unsigned registry
	// Trust holds the public keys the registry trusts for what this
	// build did not make itself: the previous build's index.json and the
	// signatures of releases carried over from it. The build key's own
	// public half belongs here, and the old key during a rotation
	// (--previous-key). Nil: the previous build's signatures are not
	// checked (an unsigned registry), and a signed build refuses the
	// releases it cannot check against git.
	Trust     *sign.Verifier
	ExpiresIn time.Duration // validity of index.json from GeneratedAt
	// GeneratedAt overrides the commit time as the index's time (e.g.
	// from SOURCE_DATE_EPOCH to refresh expiry without a new commit).
	GeneratedAt time.Time
	// Clock is the time a previous build's expiry is judged at
	// (ErrExpiredPrevious); nil: time.Now. Tests building on fixtures
	// dated in the past set it.
	Clock func() time.Time
	Jobs  int // parallel releases; default GOMAXPROCS

	// Site, when set, adds files (the HTML catalogue) to the staged site,
	// or, in an update in place, to Out itself (dir == Out: write files
	// atomically; files already there belong to the previous build).
	Site func(dir string, s *Snapshot) error
	// SiteCheck, with Site and Stamp, is asked before the "nothing to
	// do" short cut whether the catalogue's files in Out are still the
	// ones written there (an edited assets/app.js runs on every page);
	// an error is logged and the build runs, writing them again. With
	// Site but no SiteCheck the short cut is never taken: it would
	// publish catalogue files nobody checked.
	SiteCheck func(out string) error

	// Stamp, when not empty, names everything outside these options that
	// shapes the output: the program's version, the signing key, the
	// catalogue's settings. The build then records its inputs in Out
	// (StampFile), and a build from the same inputs returns the recorded
	// result at once. Empty: no record is used or written.
	Stamp string
	// Force goes through every step even when the record says Out was
	// built from these very inputs, opening the key (Signer.Opens) even
	// when nothing needs a new signature; the build still writes its record,
	// so the next build takes the short cut (and trusts that this one
	// finished: see sweepUnreferenced).
	Force bool

	Log      io.Writer             // human-readable notes; nil = discard
	Progress func(done, total int) // called as releases finish; total grows as history is walked
	// Shape, when set, chooses the bucket tree's shape (bits per level and
	// levels for a number of packs) instead of index.ShapeFor: a deep tree
	// from a handful of packs, for tests of what real registries reach
	// only with thousands.
	Shape func(packs int) (bits, depth int)

	// VerifiedDir, when set, is a directory on the build machine (the
	// user's cache) where the build remembers which archives it proved to
	// be which git trees (verified.go), so rebuilds check reused archives
	// by digest instead of comparing every file with git again; and
	// which chart requests rendered clean (images.Memo.Remember), so a
	// second cold build on the machine renders none of them again.
	VerifiedDir string

	linker   func(old, new string) error
	verified *verifiedSet
	charts   *images.Memo   // renders each distinct chart of this build once
	own      *sign.Verifier // the signing key's public half
	dirs     *dirMaker
	inPlace  bool // update Out in place (see update.go)
	// namedByDir: Registry was not given, but taken from the
	// repository's directory name (defaultRegistryName).
	namedByDir bool
	// prevFinished: in place, the build before this one recorded itself
	// in Out, so it finished and left nothing a killed build leaves.
	prevFinished bool
	logRef       *index.LogRef // the transparency log's tree (log.go), for the root
	retired      *retire.List  // the retirement file at the built commit (builder.index), nil when none
}

// Snapshot is what a build wrote, for the catalogue and for callers.
type Snapshot struct {
	Root   *index.Root
	Shards []*index.Shard // sorted by name
	// Images are the images of the highest version of each pack this
	// build archived, by archive SHA-256, as the build's image check
	// found them (displayed as ".", as in the archive): the catalogue
	// lists a pack's latest release's without rendering its charts
	// again, and deletes each from the map once listed. Other releases'
	// reports are not kept (jobPool.keepNewest).
	Images map[string]*images.Report
	// PreviousCatalogue is the previous build's catalogue manifest,
	// verified (its signature under a trusted key, bound to the previous
	// index.json, itself verified); nil without one. The catalogue may
	// reuse a previous page, feed or logo it lists with those bytes.
	PreviousCatalogue *index.Catalogue
	// Catalogue is set by the Site hook: every file of the catalogue it
	// wrote (or kept, in place), which a signing build lists in its
	// signed manifest (index.CatalogueFile). Nil: none.
	Catalogue []index.FileRef
}

// Result reports what a build did.
type Result struct {
	Snapshot
	Archived int      // releases validated and archived in this build
	Added    []string // those releases, NAME@VERSION, sorted: what the build added
	// Retirements are the releases whose retirement this build changes
	// from the previous build's index (retired, un-retired, another
	// state or reason); nil without a previous build.
	Retirements []retire.Change
	Reused      int // releases taken from the previous build untouched
	Carried     int // releases no longer in git kept from the previous build
	Skipped     int // invalid releases left out (--skip-invalid)
	Logged      int // releases appended to the transparency log
	Unsigned    bool
	Problems    meta.Problems // warnings, and errors of skipped releases
}

// stagePattern names a build's staging directories beside the out dir.
const stagePattern = ".packgen-build-*"

// DefaultExpiry is how long an index stays valid when nothing is said.
const DefaultExpiry = 365 * 24 * time.Hour

// ImmutableError reports a published version whose content changed.
type ImmutableError struct {
	Name, Version string // Version as the new commit writes it
	// Published is the version as it was published ("1.30", where the
	// new commit writes the same version as "1.30.0"); "" for Version.
	Published            string
	OldCommit, NewCommit string
	OldTree, NewTree     string
	// Retire is set when the change is pack.json's system_state alone:
	// the retirement hint (retire.Hint) replaces "bump the version".
	Retire string
}

func (e *ImmutableError) Error() string {
	what := "bump the version in pack.json"
	if e.Retire != "" {
		what = "only annotations.system_state changed: " + e.Retire
	}
	version := e.Version
	if e.Published != "" && e.Published != e.Version {
		version = fmt.Sprintf("%s (written %s now)", e.Published, e.Version)
	}
	return fmt.Sprintf("pack %s version %s was published from commit %s (tree %s) but commit %s changes its content (tree %s): published versions are immutable; %s",
		e.Name, version, short(e.OldCommit), short(e.OldTree), short(e.NewCommit), short(e.NewTree), what)
}

// InvalidError reports releases that failed validation.
type InvalidError struct {
	Releases []string
	Problems meta.Problems
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%d invalid release(s): %s (fix them or build with --skip-invalid)\n%s",
		len(e.Releases), strings.Join(e.Releases, ", "), e.Problems.Error())
}

type job struct {
	rel    source.Release
	key    string // name@canonical version
	prev   *index.Release
	out    index.Release
	probs  meta.Problems
	images *images.Report // what the image check found in a release archived
	err    error
}

// settle sets what only the whole history walk knows on a record made
// from git: when the version first appeared, and where its content
// came from.
func (j *job) settle() {
	if !j.rel.FirstTime.IsZero() {
		j.out.Created = j.rel.FirstTime.UTC()
	}
	if j.rel.ContentCommit != "" {
		j.out.Commit, j.out.Dir = j.rel.ContentCommit, j.rel.ContentDir
	}
}

// shown is the release as its pack.json writes it (20.09.0, not the
// canonical 20.9.0 of key), for messages; its directory when pack.json
// gave no name (it does not parse).
func (j *job) shown() string {
	if j.rel.Name == "" {
		return j.rel.Dir
	}
	return j.rel.Name + "@" + j.rel.Version
}

// Run builds the registry, in named phases (builder.go): prepare the
// options, plan (the previous build, the stage), produce (walk git and
// validate, archive or reuse each release), collect the results, carry
// over what git no longer holds, log (extend the transparency log:
// log.go), index, catalogue and commit.
func Run(ctx context.Context, o Options) (*Result, error) {
	b, err := newBuilder(o)
	if err != nil {
		return nil, err
	}
	if res := b.replay(ctx); res != nil {
		return res, nil
	}
	if o.Signer != nil && (o.Stamp != "" || o.Force) {
		// No record matched: another commit or other options, so
		// index.json changes and is signed; or --force, which opens
		// the key whatever it signs (keyOpens).
		o.Signer.Prepare()
	}
	if err := b.plan(ctx); err != nil {
		return nil, err
	}
	defer b.cleanup()
	collect := func(context.Context) error { return b.collect() }
	for _, phase := range []func(context.Context) error{b.produce, collect, b.keyOpens, b.carryOver, b.appendLog, b.index, b.commit} {
		if err := phase(ctx); err != nil {
			return nil, err
		}
	}
	return b.res, nil
}

// jobPool validates and archives releases (or carries them over) on
// Options.Jobs goroutines as they are added.
type jobPool struct {
	queue       chan *job
	wg          sync.WaitGroup
	mu          sync.Mutex
	done, total int
	progress    func(done, total int)
	// newest is, by pack name, the highest version archived so far
	// that has an image report (keepNewest).
	newest map[string]newestJob
}

type newestJob struct {
	j *job
	v *semver.Version
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
				case j.prev != nil && prev.vouched:
					// A verified record, or an unsigned build that signs
					// nothing on its word.
					j.out, j.err = carry(ctx, o, prev, stage, *j.prev, &j.rel)
				case j.prev != nil:
					j.out, j.probs, j.err = reuseUnverified(ctx, o, prev, stage, j)
				default:
					j.out, j.probs, j.images, j.err = buildRelease(o, j.rel, stage)
				}
				p.mu.Lock()
				p.keepNewest(j)
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

// keepNewest keeps j's image report only while j is the highest version
// of its pack archived so far (p.mu held). The catalogue reads the
// report of each pack's latest release alone, and a cold build would
// otherwise hold one for every release to the end: 85 MB at 5,000
// releases of 46 images each, which the catalogue's GC setting then
// quadrupled. A latest that is not the highest archived (a deleted
// release above it) has its images found by the catalogue itself.
func (p *jobPool) keepNewest(j *job) {
	if j.images == nil || j.err != nil {
		return
	}
	v, err := semver.NewVersion(j.out.Version)
	if err != nil {
		j.images = nil
		return
	}
	if p.newest == nil {
		p.newest = map[string]newestJob{}
	}
	had, ok := p.newest[j.rel.Name]
	if ok && !v.GreaterThan(had.v) {
		j.images = nil
		return
	}
	if ok {
		had.j.images = nil
	}
	p.newest[j.rel.Name] = newestJob{j, v}
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

// buildRelease validates one release (pack.Load, then validate's image
// check: every chart rendered, every image reference parsed) and writes
// its archive and signatures; it returns the images it found, for the
// catalogue.
func buildRelease(o Options, r source.Release, stage string) (index.Release, meta.Problems, *images.Report, error) {
	if len(r.ManifestProblems) > 0 && r.ManifestProblems.HasErrors() {
		return index.Release{}, r.ManifestProblems, nil, nil
	}
	fsys, done, err := r.Open()
	if err != nil {
		return index.Release{}, nil, nil, err
	}
	defer done()
	p, probs, found, refused, err := checkRelease(fsys, r, o.charts)
	if refused || err != nil {
		return index.Release{}, probs, nil, err
	}
	m := p.Manifest
	rel := record(m, r)
	apath := index.ArchivePath(m.Name, m.Version)
	file := filepath.Join(stage, filepath.FromSlash(apath))
	if err := o.dirs.mkdirAll(filepath.Dir(file)); err != nil {
		return rel, nil, nil, err
	}
	f, err := o.dirs.create(file)
	if err != nil {
		return rel, nil, nil, err
	}
	d, err := pack.WriteArchive(f, p, pack.ArchiveOptions{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = source.IntegrityError(fsys)
	}
	if err != nil {
		return rel, nil, nil, fmt.Errorf("archive %s: %w", apath, err)
	}
	rel.Archive = index.FileRef{Path: apath, SHA256: d.SHA256, Size: d.Size}
	o.verified.add(d.SHA256, r.TreeHash) // archived from git just now
	if o.Signer != nil {
		sum, err := hexSum(d.SHA256)
		if err != nil {
			return rel, nil, nil, err
		}
		write := writeNew
		if o.inPlace {
			write = o.dirs.replace
		}
		sig, bundle, err := signFile(o.Signer, file, sum, o.recordSignature(d.SHA256, write))
		if err != nil {
			return rel, nil, nil, fmt.Errorf("sign %s: %w", apath, err)
		}
		rel.Signature = path.Join(path.Dir(apath), sig)
		rel.Bundle = path.Join(path.Dir(apath), bundle)
	}
	return rel, probs, found, nil
}

// checkRelease loads and validates a release read from fsys: pack.Load,
// then validate's image check, its charts rendered through memo.
// refused: the release has errors, in probs (annotated with where it
// came from); err beside it is images.ErrChartLimit for a chart past its
// bounds. Any other err fails the build.
func checkRelease(fsys fs.FS, r source.Release, memo *images.Memo) (p *pack.Pack, probs meta.Problems, found *images.Report, refused bool, err error) {
	// The memo is asked first, as validation reads each chart archive: a
	// chart it knows the rendering of (a warm build's, from the render
	// facts) is checked without keeping a copy of its tar for the renderer.
	rm := memo.ForRelease()
	p, probs = pack.Load(fsys, ".", pack.Options{Prefix: r.Dir, Keep: true, KeepChart: rm.KeepChart})
	// Bytes that are not git's fail the build: never a pack problem that
	// --skip-invalid would skip, never an archive.
	if err := source.IntegrityError(fsys); err != nil {
		return nil, nil, nil, false, err
	}
	if probs.HasErrors() || p.Manifest == nil {
		return nil, annotate(probs, r), nil, true, nil
	}
	if m := p.Manifest; !index.ValidVersionPath(m.Version) {
		probs = append(probs, meta.Problem{File: path.Join(r.Dir, pack.ManifestFile), Severity: meta.SevError,
			Msg: fmt.Sprintf("version %q cannot be used in a registry path (letters, digits, '.', '-', '+', '_' only)", m.Version)})
		return nil, annotate(probs, r), nil, true, nil
	}
	// Validate's image check, the one part of validation that renders
	// charts, on every release this build archives, in the tree at the
	// ref or only in history: a commit between two CI runs was never
	// built, and a pull request's check judges only its net change, so
	// a release added and removed inside one is rendered here or
	// nowhere. Its errors refuse the release as validate does (its
	// warnings are validate's to give). A missing or failed chart
	// renderer fails the build (the machine's fault, as in validate); a
	// chart past its time or memory bound is the release's error, with
	// images.ErrChartLimit beside it (collect: no record remembers it).
	imageProbs, rep, err := images.CheckRelease(p, r.Dir, probs, rm)
	// What Load kept for the image check (up to 16 MiB of chart tars, the
	// manifests, values): not held while the archive is written and signed.
	p.DropKept()
	if err != nil && !errors.Is(err, images.ErrChartLimit) {
		return nil, nil, nil, false, err
	}
	if errs := imageProbs.Errors(); len(errs) > 0 {
		return nil, annotate(append(probs, errs...), r), nil, true, err
	}
	found = rep
	return p, probs, found, false, nil
}

// record is the index entry of release r whose pack.json is m, all but
// its archive and signature files.
func record(m *meta.Manifest, r source.Release) index.Release {
	rel := index.ManifestFields(m)
	rel.Commit, rel.Tree, rel.Created, rel.Dir = r.Commit, r.TreeHash, r.Time.UTC(), r.Dir
	return rel
}

// reuseUnverified reuses the archive of a release git still holds from a
// previous build no trusted key vouches for (an unsigned registry, or
// one that starts signing): the archive bytes are kept once they prove
// to be the git tree (carry), but every other field of the entry is
// derived from git again, as for a new release: the previous shard's
// word on dependencies, annotations or names is never signed.
func reuseUnverified(ctx context.Context, o Options, prev *previous, stage string, j *job) (index.Release, meta.Problems, error) {
	old, err := carry(ctx, o, prev, stage, *j.prev, &j.rel)
	if err != nil {
		return old, nil, err
	}
	fsys, done, err := j.rel.Open()
	if err != nil {
		return old, nil, err
	}
	defer done()
	p, probs := pack.Load(fsys, ".", pack.Options{Prefix: j.rel.Dir})
	if err := source.IntegrityError(fsys); err != nil {
		return old, nil, err
	}
	if probs.HasErrors() || p.Manifest == nil {
		return old, annotate(probs, j.rel), nil
	}
	rel := record(p.Manifest, j.rel)
	rel.Archive, rel.Signature, rel.Bundle = old.Archive, old.Signature, old.Bundle
	if want := index.ArchivePath(p.Manifest.Name, p.Manifest.Version); rel.Archive.Path != want {
		return old, nil, fmt.Errorf("%w: %s from %s: %s@%s's archive belongs at %s", ErrTampered, rel.Archive.Path, prev.loc, p.Manifest.Name, p.Manifest.Version, want)
	}
	return rel, probs, nil
}

// signFile signs the site file at file, whose SHA-256 is sum, writing
// FILE.sig and FILE.sigstore.json with write, and returns their base
// names.
func signFile(s Signer, file string, sum [32]byte, write func(string, []byte) error) (sig, bundle string, err error) {
	sigData, bundleData, err := s.SignBlob(sum, func() (io.ReadCloser, error) { return safefile.Open(file) })
	if err != nil {
		return "", "", err
	}
	if err := write(file+index.SignatureExt, sigData); err != nil {
		return "", "", err
	}
	if err := write(file+index.BundleExt, bundleData); err != nil {
		return "", "", err
	}
	base := filepath.Base(file)
	return base + index.SignatureExt, base + index.BundleExt, nil
}

// recordSignature wraps a signature writer so that what it writes for
// the archive with SHA-256 archiveSHA is remembered as verified
// (ownSigned): the build made it with its own key just now.
func (o Options) recordSignature(archiveSHA string, write func(string, []byte) error) func(string, []byte) error {
	var sigData []byte
	return func(p string, data []byte) error {
		if err := write(p, data); err != nil {
			return err
		}
		if strings.HasSuffix(p, index.SignatureExt) {
			sigData = data
		} else if sigData != nil {
			o.verified.addFact(signatureFact(o.Signer.KeyID(), sigData, data, archiveSHA))
		}
		return nil
	}
}

// writeNew writes a file the build has just named (nothing references
// it yet): straight, without a temp file and a rename (10,000 of them in
// a cold build of 5,000 releases, a tenth of its file system time).
func writeNew(p string, data []byte) error { return os.WriteFile(p, data, 0o644) }

// annotate says which commit a historical release's problems come from.
func annotate(ps meta.Problems, r source.Release) meta.Problems {
	out := make(meta.Problems, len(ps))
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
		if err := checkArchive(o, prev, file, r, rel); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return r, prev.fileErr(r.Archive.Path, err)
			}
			return r, err
		}
		return settleSignature(o, stage, r, rel != nil)
	}
	for _, p := range r.Files() {
		dst := filepath.Join(stage, filepath.FromSlash(p))
		if err := o.dirs.mkdirAll(filepath.Dir(dst)); err != nil {
			return r, err
		}
		if prev.dir != "" {
			src := filepath.Join(prev.dir, filepath.FromSlash(p))
			if err := o.linker(src, dst); err != nil {
				if _, serr := os.Lstat(src); errors.Is(serr, fs.ErrNotExist) {
					return r, prev.fileErr(p, serr)
				}
				return r, err
			}
			continue
		}
		if p == r.Archive.Path {
			if err := download(ctx, prev, r.Archive, dst); err != nil {
				return r, prev.fileErr(p, err)
			}
			continue
		}
		data, err := prev.fetch(ctx, p, 1<<20)
		if err != nil {
			return r, prev.fileErr(p, err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return r, err
		}
	}
	if err := checkArchive(o, prev, file, r, rel); err != nil {
		return r, err
	}
	return settleSignature(o, stage, r, rel != nil)
}

// download streams a published archive to dst, checking size and digest.
// It goes through the client's transport, so a previous build behind
// netrc credentials works and a server that stalls (ErrStalled), drips
// (ErrTimeout) or redirects https to http is given up on.
func download(ctx context.Context, prev *previous, ref index.FileRef, dst string) error {
	return atomicfile.CreateNew(dst, 0o644, func(w io.Writer) error {
		if _, err := walk.New(prev.tr, nil).Archive(ctx, ref, w); err != nil {
			return fmt.Errorf("%w (from %s)", err, prev.loc)
		}
		return nil
	})
}

// dirMaker creates the directories of a staging tree, remembering what
// it made: every release needs its dir, and os.MkdirAll stats the whole
// path each time (three files per release, thousands of releases).
//
// Updating the out dir in place (root set: update.go), every write goes
// through an os.Root of the out dir, and a symbolic link on the way from
// the out dir to what is written is refused (ErrOutLink) rather than
// written behind.
type dirMaker struct {
	mu   sync.Mutex
	made map[string]bool
	out  string   // the out dir, when updated in place
	root *os.Root // out, opened, when updated in place
	real map[string]bool
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
	if rel, ok := d.inOut(dir); ok {
		if err := d.noLinks(rel, true); err != nil {
			return err
		}
		if err := d.root.MkdirAll(rel, 0o755); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d.made[dir] = true
	return nil
}

// noLinks refuses a link on the way from the out dir to rel, or at rel
// when self (safefile.LinkOnPath, each real directory checked once).
// d.mu is held.
func (d *dirMaker) noLinks(rel string, self bool) error {
	link, err := safefile.LinkOnPath(d.root, rel, self, d.real)
	if err != nil || link == "" {
		return err
	}
	return outLinkErr(filepath.Join(d.out, link))
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
	return atomicfile.CreateNew(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// defaultRegistryName is the registry's name when --name is not given:
// the repository's top-level directory name (its work tree's root, or a
// bare repository's directory without ".git"), wherever the build runs
// from, so a build from a subdirectory signs the same name as one from
// the root. repo is --repo, for a repository with neither.
func defaultRegistryName(r *source.Repo, repo string) string {
	abs := ""
	if top, gitDirs := r.Dirs(); top != "" {
		abs = top
	} else if len(gitDirs) > 0 {
		abs = strings.TrimSuffix(gitDirs[0], ".git")
	}
	if abs == "" || filepath.Base(abs) == string(filepath.Separator) {
		var err error
		if abs, err = filepath.Abs(repo); err != nil || repo == "" {
			abs, _ = os.Getwd()
		}
	}
	name := strings.ToLower(filepath.Base(filepath.Clean(abs)))
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

func short(h string) string { return index.ShortHash(h) }
