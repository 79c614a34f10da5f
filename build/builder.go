package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/source"
)

// builder holds one build's state from phase to phase (see Run). Each
// phase reads what the ones before it left and adds its own.
type builder struct {
	o    Options
	repo *source.Repo

	inputs, commitHash string // the build record's key (stamp.go); "" when not recorded
	// unrecorded: a release was refused for a chart past the renderer's
	// limits (collect), which the machine may have caused: no record.
	unrecorded bool

	prev    *previous
	stage   string // o.Out itself when updating in place
	release func() // drops the stage's hold

	jobs      []*job          // every job started, for the clean-up
	seen      map[string]bool // name@canonical version of every git release
	src       *source.Result
	releases  []index.Release
	images    map[string]*images.Report // Snapshot.Images
	replayed  meta.Problems             // what building the same again reports
	committed bool
	res       *Result

	checkpoint        []byte // the log's signed checkpoint, written after index.json (log.go)
	checkpointCurrent bool   // the previous checkpoint names the previous index's tree
	logOld            int64  // the size of the previous build's log this one extends
}

// newBuilder checks and completes the options (defaults, the repository,
// the registry's name, the trusted keys).
func newBuilder(o Options) (*builder, error) {
	if o.Out == "" {
		return nil, errors.New("no output directory given")
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
	repo, err := source.Open(o.Repo)
	if err != nil {
		return nil, err
	}
	// Before anything reads or writes the out dir (the build record too).
	if err := checkOut(o, repo); err != nil {
		return nil, err
	}
	if o.RepoURL == "" {
		o.RepoURL = repo.RemoteURL()
	}
	if o.Registry == "" {
		o.Registry, o.namedByDir = defaultRegistryName(repo, o.Repo), true
	}
	if o.Since != "" && o.History {
		// A commit, not a ref that may move, shapes the build (and its stamp).
		if o.Since, err = repo.Resolve(o.Since); err != nil {
			return nil, fmt.Errorf("--since: %w", err)
		}
	}
	if o.Signer != nil {
		pem, err := o.Signer.PublicKeyPEM()
		if err == nil {
			o.own, err = sign.NewVerifierSet(pem)
		}
		if err != nil {
			return nil, fmt.Errorf("public key of the signing key: %w", err)
		}
		if o.Trust == nil {
			o.Trust = o.own // the build key's own public half is always trusted
		}
	}
	return &builder{o: o, repo: repo, seen: map[string]bool{}, res: &Result{Unsigned: o.Signer == nil}}, nil
}

// replay returns the recorded result of a build from the very same
// inputs (stamp.go), or nil.
func (b *builder) replay(ctx context.Context) *Result {
	if !stampable(b.o) {
		return nil
	}
	commit, err := b.repo.Resolve(b.o.Ref)
	if err != nil {
		return nil // the walk reports it
	}
	b.commitHash, b.inputs = commit, inputsDigest(b.o, commit)
	if b.o.Force {
		return nil // the record is still written at commit
	}
	return replay(ctx, b.o, b.inputs, commit)
}

// plan reads (and checks) the previous build, decides between a fresh
// stage and an update in place, and makes the stage.
func (b *builder) plan(ctx context.Context) error {
	o := &b.o
	prevLoc := o.Previous
	if prevLoc == "" {
		prevLoc = o.Out
	}
	o.verified = loadVerified(o.VerifiedDir)
	o.charts = images.NewMemo(images.DefaultMemoBytes)
	o.charts.Remember(o.VerifiedDir) // what builds before this one rendered clean on this machine
	// The expiry is judged on the index.json this build verifies and
	// builds on: CheckInputs' earlier read is only a fast path (a
	// server may answer it with a fresh index and this read with a
	// replayed, expired one).
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	fresh := func(r *index.Root) error { return checkFresh(*o, r, clock()) }
	if o.Previous == "" {
		fresh = nil // the out dir itself: a build re-dates its own
	}
	prev, err := loadPreviousVia(ctx, prevLoc, o.Trust, o.PreviousOCI, fresh)
	if err != nil {
		return err
	}
	b.prev = prev
	if err := checkPrevious(ctx, *o, prev, prevLoc); err != nil {
		return err
	}
	o.inPlace = canUpdateInPlace(*o, prev)
	if o.inPlace {
		if err := linkAtTop(o.Out); err != nil {
			return err
		}
	}
	// An archive's signature covers the archive alone: what a shard says
	// beside it (version, dependencies, annotations, displayName, commit)
	// is vouched for only by the signed index.json. A signing build takes
	// none of it from a previous build it could not verify (one passed
	// off as unsigned, say): see reuseUnverified and carryOver.
	prev.vouched = o.Signer == nil || prev.root == nil || prev.signed || o.inPlace
	b.stage, b.release = o.Out, func() {}
	parent := filepath.Dir(filepath.Clean(o.Out))
	if !o.inPlace {
		// --out sites/prod/site in a fresh checkout: made as mkdir -p
		// would (the stage is made beside the out dir, then renamed).
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("create the directory of --out %s: %w", o.Out, err)
		}
	}
	// Stages of builds killed before they finished (kill -9, OOM, a
	// cancelled CI job) are removed; a running build's is held.
	for _, d := range stale.Sweep(parent, stagePattern) {
		fmt.Fprintf(o.Log, "removed %s, left by a build that did not finish\n", d)
	}
	if o.inPlace {
		if o.prevFinished, err = dropStamp(o.Out); err != nil {
			return err
		}
		// --force trusts nothing the record vouched for: it sweeps and
		// compares what a build after a killed one would, so the record
		// it writes is true.
		o.prevFinished = o.prevFinished && !o.Force
		// From here every write goes through the out dir's root (update.go).
		return o.dirs.openOut(o.Out)
	}
	// Held before it exists: a concurrent build's sweep of the same
	// parent must never see it unheld.
	if b.stage, b.release, err = stale.MkdirTemp(parent, stagePattern); err != nil {
		return fmt.Errorf("create staging dir: %w", err)
	}
	return nil
}

// checkPrevious refuses a previous build this one must not extend: a
// signed one without a key, another registry's, one that would start a
// new log unasked, one behind the log anchor.
func checkPrevious(ctx context.Context, o Options, prev *previous, prevLoc string) error {
	if o.Signer == nil && prev.root != nil && prev.root.Signed {
		// Its index would replace a signed one that clients verify with
		// the registry's key, which nothing of this build's can satisfy
		// (publish refuses it too: publish.ErrKeyChange).
		return fmt.Errorf("%w: %s is a signed registry, and this build has no --key: clients configured with the registry's key would refuse an unsigned index; pass --key (the registry's private key), or, for an unsigned build that is not this registry's next, leave out --previous and build into another --out", ErrSignedPrevious, prevLoc)
	}
	if o.Signer != nil && prev.signed && prev.root.Registry != o.Registry {
		// One key may sign several registries: another's genuine build
		// served at this one's URL would otherwise have its packs
		// carried over and signed into this registry's index. (The name
		// in a previous build no trusted key signed means nothing: that
		// build is not vouched for.)
		this := fmt.Sprintf("%q", o.Registry)
		if o.namedByDir {
			this += " (no --name: the repository's directory name)"
		}
		// Signed by a trusted key all the same: the message must not say
		// otherwise, though it is ErrUntrustedPrevious (errmark).
		return errmark.New(ErrUntrustedPrevious, "previous build is another registry's: %s is the build of registry %q, this build is registry %s: the name is the registry's signed identity, which clients pin; pass --name %q to extend that registry (and keep passing it: CI's checkout may be named otherwise), or point --previous at this registry's build", prevLoc, prev.root.Registry, this, prev.root.Registry)
	}
	if err := checkNewLog(o, prev); err != nil {
		return err
	}
	if err := checkAnchor(ctx, o, prev); err != nil {
		return err
	}
	return nil
}

// cleanup undoes what a build that did not commit wrote.
func (b *builder) cleanup() {
	defer b.release()
	defer b.o.dirs.close()
	defer b.o.charts.Close()
	switch {
	case b.committed:
	case b.o.inPlace:
		removeAdded(b.o.dirs, b.stage, b.jobs)
	default:
		os.RemoveAll(b.stage)
	}
}

// produce walks git and, as the walk finds each release, matches it
// against what was published before and starts on it at once: older
// commits are read while the first releases are validated and archived.
// A walk that fails, or finds a published version changed, fails the
// build: the jobs still queued then stop at once. The jobs end up in the
// walk's sorted order, as if found all at once.
func (b *builder) produce(ctx context.Context) error {
	jctx, stop := context.WithCancel(ctx)
	defer stop()
	pool := startJobs(jctx, b.o, b.prev, b.stage)
	var immut []error
	jobOf := map[string]*job{}
	match := func(r source.Release) {
		j := &job{rel: r, key: r.Name + "@" + r.Version}
		if v, err := semver.NewVersion(r.Version); err == nil && meta.ValidName(r.Name) {
			j.key = r.Name + "@" + v.String()
			b.seen[j.key] = true
			if p := b.prev.find(r.Name, v); p != nil {
				if p.Tree != r.TreeHash {
					ie := &ImmutableError{Name: r.Name, Version: r.Version, Published: p.Version, OldCommit: p.Commit, NewCommit: r.Commit, OldTree: p.Tree, NewTree: r.TreeHash}
					if b.repo.StateOnlyChange(p.Tree, r.TreeHash) {
						ie.Retire = retire.Hint(b.o.PacksDir, r.Name, r.Version)
					}
					immut = append(immut, ie)
					stop()
					return
				}
				j.prev = p
			}
		} // else: let validation explain it
		b.jobs = append(b.jobs, j)
		jobOf[r.Dir+"\x00"+r.Commit] = j
		pool.add(j)
	}
	o := b.o
	var known map[string]source.KnownPack
	if b.prev.vouched {
		// Its tree hashes name what git holds only if they are the registry's.
		known = b.prev.known()
	}
	src, err := b.repo.Releases(ctx, source.Options{Ref: o.Ref, PacksDir: o.PacksDir, History: o.History, Since: o.Since, Known: known, Found: match})
	if err != nil {
		stop()
	}
	pool.wait()
	switch {
	case err != nil:
		return err
	case len(immut) > 0:
		return errors.Join(immut...)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	b.src = src
	sorted := make([]*job, 0, len(b.jobs))
	for _, r := range src.Releases {
		if j := jobOf[r.Dir+"\x00"+r.Commit]; j != nil {
			j.rel = r // FirstCommit and FirstTime are final only now
			sorted = append(sorted, j)
		}
	}
	if len(sorted) != len(b.jobs) {
		return fmt.Errorf("internal error: the history walk reported %d releases and returned %d", len(b.jobs), len(sorted))
	}
	b.jobs = sorted
	return nil
}

// keyOpens fails a --force build whose key cannot be opened (a wrong
// password): one that changes nothing signs nothing, and CI with a
// broken secret would stay green until the next real change.
func (b *builder) keyOpens(context.Context) error {
	if !b.o.Force || b.o.Signer == nil {
		return nil
	}
	return b.o.Signer.Opens()
}

// collect gathers the jobs' releases and problems: an error stops the
// build, invalid releases fail it (or are skipped with SkipInvalid).
func (b *builder) collect() error {
	o, res := b.o, b.res
	var invalid []string
	var invalidProbs meta.Problems
	// Problems of past commits the walk went past (every build meets them).
	res.Problems = append(res.Problems, b.src.Warnings...)
	b.replayed = append(b.replayed, b.src.Warnings...)
	for _, j := range b.jobs {
		res.Problems = append(res.Problems, j.probs.Warnings()...)
		if j.prev == nil {
			// No previous build vouches for the content taken: say
			// when history holds the version with other content.
			if p := b.repo.EditedProblem(j.rel, o.PacksDir); p != nil {
				// Not replayed: building the same again reuses this
				// build, which vouches for the release then.
				res.Problems = append(res.Problems, *p)
			}
		}
		if errors.Is(j.err, images.ErrChartLimit) && j.probs.HasErrors() {
			// The release's error (buildRelease), but a loaded machine
			// can time out too: the record must not remember it.
			b.unrecorded = true
		} else if j.err != nil {
			return fmt.Errorf("pack %s: %w", j.shown(), j.err)
		}
		if j.probs.HasErrors() {
			if o.SkipInvalid {
				res.Skipped++
				res.Problems = append(res.Problems, j.probs.Errors()...)
				b.replayed = append(b.replayed, j.probs...)
				if j.rel.Name == "" {
					fmt.Fprintf(o.Log, "skipping invalid pack %s (its pack.json gives no name and version; at commit %s)\n", textsafe.Escape(j.rel.Dir), short(j.rel.Commit))
				} else {
					fmt.Fprintf(o.Log, "skipping invalid release %s (%s at commit %s)\n", textsafe.Escape(j.shown()), textsafe.Escape(j.rel.Dir), short(j.rel.Commit))
				}
				continue
			}
			invalid = append(invalid, j.shown())
			invalidProbs = append(invalidProbs, j.probs.Errors()...)
			continue
		}
		if j.prev != nil {
			res.Reused++
			if !b.prev.vouched {
				j.settle() // a record derived from git again
			}
		} else {
			res.Archived++
			res.Added = append(res.Added, j.shown())
			if j.images != nil {
				if b.images == nil {
					b.images = map[string]*images.Report{}
				}
				b.images[j.out.Archive.SHA256] = j.images.Redisplay(".")
				j.images = nil // the catalogue frees the copy as it lists it
			}
			// Published when the version first appeared, from the commit
			// that brought this content: neither moves as commits are
			// added, so fresh and incremental builds record the same.
			j.settle()
		}
		b.releases = append(b.releases, j.out)
	}
	if len(invalid) > 0 {
		return &InvalidError{Releases: invalid, Problems: invalidProbs}
	}
	sort.Strings(res.Added)
	return nil
}

// carryOver keeps the releases of the previous build that git no longer
// yields (history off, shallow clone, packs dir moved): never unpublish.
func (b *builder) carryOver(ctx context.Context) error {
	o, prev := b.o, b.prev
	for _, p := range prev.all() {
		v, _ := semver.NewVersion(p.rel.Version)
		if b.seen[p.name+"@"+v.String()] {
			continue
		}
		if !prev.vouched {
			return fmt.Errorf("pack %s@%s: %w: it is no longer in git, and the previous build in %s is not signed by a trusted key, so nothing vouches for its record and the build will not sign it; build from a history that holds it, or pass the key that signed the previous build with --previous-key", p.name, p.rel.Version, ErrUnverifiedRelease, prev.loc)
		}
		rel, err := carry(ctx, o, prev, b.stage, p.rel, nil)
		if err != nil {
			return fmt.Errorf("pack %s@%s: keep previously published release: %w", p.name, p.rel.Version, err)
		}
		b.releases = append(b.releases, rel)
		b.res.Carried++
		fmt.Fprintf(o.Log, "keeping %s@%s: published before, no longer in the built history\n", p.name, p.rel.Version)
	}
	return nil
}

// index writes shards, buckets and the signed root, then the catalogue.
func (b *builder) index(ctx context.Context) error {
	// Every release is read: git's caches would only add to the peak
	// RSS of what follows (the catalogue's chart rendering).
	b.repo.DropCaches()
	b.o.dirs.forget()
	if len(b.releases) == 0 && b.res.Skipped == 0 {
		return b.noPacks()
	}
	var err error
	if b.o.retired, err = readRetired(b.repo, b.src.Commit, b.o.PacksDir); err != nil {
		return err
	}
	snap, err := writeIndex(ctx, b.o, b.stage, b.src, b.prev, b.releases)
	if err != nil {
		return err
	}
	snap.Images = b.images
	if b.prev != nil {
		snap.PreviousCatalogue = b.prev.catalogue
	}
	b.res.Snapshot = *snap
	b.retirements(snap.Shards)
	if err := b.writeCheckpoint(); err != nil {
		return err
	}
	if b.o.Site != nil {
		if err := b.o.Site(b.stage, snap); err != nil {
			return fmt.Errorf("catalogue: %w", err)
		}
		if err := writeCatalogue(b.o, b.stage, snap); err != nil {
			return fmt.Errorf("catalogue manifest: %w", err)
		}
	}
	return nil
}

// retirements reports what this build changes in the releases'
// retirements, against the previous build (none without one: every
// retirement would be news), and warns of each pack the retirement file
// leaves with no live release (retire.NoLive): no range resolves in it
// and the catalogue hides it, a typo's likely result.
func (b *builder) retirements(shards []*index.Shard) {
	if b.prev != nil && b.prev.root != nil {
		var prev []*index.Shard
		for _, s := range b.prev.shards {
			prev = append(prev, s)
		}
		b.res.Retirements = retire.Diff(retire.Of(prev), retire.Of(shards))
	}
	file := retire.Path(b.o.PacksDir)
	for _, name := range retire.NoLive(shards) {
		b.res.Problems = append(b.res.Problems, meta.Problem{File: file, Severity: meta.SevWarning,
			Msg: fmt.Sprintf("every release of %s is deleted: no range resolves to it (only exact versions fetch) and the catalogue no longer lists it; if that is not meant, make one deprecated or un-retire it", name)})
	}
}

// readRetired reads the retirement file of packsDir at commit: nil when
// the commit has none.
func readRetired(repo *source.Repo, commit, packsDir string) (*retire.List, error) {
	file := retire.Path(packsDir)
	data, found, err := repo.FileAt(commit, file, retire.MaxFileSize)
	if err != nil || !found {
		return nil, err
	}
	l, ps := retire.Parse(file, data)
	return l, retire.Error(ps)
}

// noPacks explains an empty registry instead of signing one (a build
// whose every release was invalid and skipped, as asked, still signs one).
func (b *builder) noPacks() error {
	dir, ref := b.o.PacksDir, b.o.Ref
	if dir == "" {
		dir = "the repository's root"
	}
	if ref == "" {
		ref = "HEAD"
	}
	return fmt.Errorf("%w: no pack found under %s at %s, in its history or in the previous build: --packs-dir names the directory holding the pack directories, each with a pack.json (create one with `packgen new`)", ErrNoPacks, dir, ref)
}

// commit swaps a fresh stage into place (an update in place is already
// there), then records what this build proved and was made from.
func (b *builder) commit(ctx context.Context) error {
	if !b.o.inPlace {
		if err := atomicfile.ReplaceDir(b.stage, b.o.Out, true); err != nil {
			return fmt.Errorf("move build into place: %w", err)
		}
	}
	b.committed = true
	b.o.verified.save()
	b.res.Problems.Sort()
	if b.inputs != "" && b.src.Commit == b.commitHash && !b.unrecorded {
		b.replayed.Sort()
		writeStamp(ctx, b.o, b.inputs, b.commitHash, b.res, b.replayed)
	}
	return nil
}
