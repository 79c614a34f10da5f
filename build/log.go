package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrLog marks a previous build whose transparency log cannot be
// extended: its checkpoint does not verify or match its index, its tiles
// do not match its tree, or its index lists fewer logged releases than
// the log holds (one would be dropped).
var ErrLog = errors.New("previous build's transparency log cannot be extended")

// ErrNewLog: a signing build whose previous build exists but has no log
// it can extend (unsigned, or signed without one) would start a new log;
// refused unless Options.NewLog says that is meant, or the previous
// build is the out dir itself (checkNewLog).
var ErrNewLog = errors.New("this build would start a new transparency log")

// ErrBehindAnchor: the previous build's log does not extend the log
// anchor (Options.LogAnchor), a checkpoint kept outside the bucket: the
// previous build is an older generation, or not this log at all. It is
// translog.ErrBehindAnchor, which publish --log-anchor returns too.
var ErrBehindAnchor = translog.ErrBehindAnchor

// checkAnchor refuses a previous build whose log does not extend
// o.LogAnchor (attackS F4): a checkpoint of the newest tree known
// outside what --previous reads (saved after the last publish, or the
// one a witness keeps in its state directory), so a writer of the
// bucket who puts an older, unexpired generation back cannot have the
// build sign a log without what was published since.
func checkAnchor(ctx context.Context, o Options, p *previous) error {
	if len(o.LogAnchor) == 0 {
		return nil
	}
	root := p.root
	if !p.signed {
		root = nil // an unsigned root's log is anyone's word
	}
	_, err := translog.CheckAnchor(ctx, o.LogAnchor, root, p.fetch, "the previous build")
	switch {
	case err == nil:
		return nil
	case transport.Operational(err):
		return p.fileErr("", err)
	case !errors.Is(err, ErrBehindAnchor):
		return p.logErr(err)
	}
	return fmt.Errorf("--previous %s: %w: it is an older generation than the one the anchor saw (replayed at that location), a forked log or another registry's; restore the live registry (the bucket's object versions, the last CI artefact) before building", p.loc, err)
}

// checkNewLog refuses a signing build that would start a new log over a
// previous build that exists (attackS F7). A new log is right for a
// registry's first signed build; anywhere else it replaces a log clients
// already hold, and every client that saw the old one refuses the new
// one as a forked history. A bucket writer with no key can bring that
// about by replacing the live registry with an unsigned build of the
// public repository: nothing in that copy says a log ever existed, so
// only the operator can say a new one is meant.
func checkNewLog(o Options, p *previous) error {
	if o.Signer == nil || o.NewLog || p.root == nil || (p.signed && p.root.Log != nil) {
		return nil
	}
	if o.Previous == "" || samePath(o.Previous, o.Out) {
		// The out dir itself, the operator's own last build (as for its
		// expiry: checkFresh): `build --out site`, then `--key`.
		return nil
	}
	what := "is unsigned"
	if p.signed {
		what = "is signed but has no transparency log"
	}
	return fmt.Errorf("%w: the previous build (%s, serial %d) %s, so this signing build would start a new log. That is right only for the registry's first signed build: if a signed build with a log was ever published here, every client that saw it refuses the new log as a forked history until its state is removed by hand, and witnesses see an equivocation. Check first that the registry clients use has no log (%s missing there, no witness holding a checkpoint of it) and that --previous is that registry and not a copy someone replaced it with; then pass --new-log",
		ErrNewLog, p.loc, p.root.Serial, what, translog.CheckpointPath)
}

// logErr wraps a failure to extend the previous build's log: ErrLog,
// what was checked and found bad (a file the index pins that is missing
// or does not match is ErrTampered too), unless reading or writing
// failed (a network, a timeout, a full disk): that stays operational.
func (p *previous) logErr(err error) error {
	if transport.Operational(err) {
		return fmt.Errorf("extend the previous build's transparency log (%s): %w", p.loc, err)
	}
	if contentErr(err) && !errors.Is(err, ErrTampered) {
		return fmt.Errorf("%w: %s: %w; %s", ErrLog, p.loc, fmt.Errorf("%w: %w", ErrTampered, err), p.tamperAdvice())
	}
	return fmt.Errorf("%w: %s: %w", ErrLog, p.loc, err)
}

// logKeyer is a signer that derives the transparency log's key
// (sign.Signer, sign.Lazy; see sign/logkey.go).
type logKeyer interface {
	LogKey(name string) (skey, vkey string, err error)
}

// appendLog is the log phase, between carry-over and index: it extends
// the previous build's transparency log with every release not in it yet
// and writes the new tiles and the signed checkpoint into the stage, so
// that index (writeIndex) names the tree in the signed root. An unsigned
// registry has no log: nothing would sign its checkpoint.
func (b *builder) appendLog(ctx context.Context) error {
	lk, ok := b.o.Signer.(logKeyer)
	if b.o.Signer == nil || !ok {
		for i := range b.releases {
			b.releases[i].Log = nil
		}
		return nil
	}
	old, err := b.previousLog(ctx)
	if err != nil {
		return err
	}
	if old.N == 0 {
		// Entries of a log this build does not extend mean nothing.
		for i := range b.releases {
			b.releases[i].Log = nil
		}
	}
	fresh, err := checkLogged(b.releases, old.N)
	if err != nil {
		return b.prev.logErr(err)
	}
	if len(b.releases) == 0 {
		return nil
	}
	if len(fresh) == 0 && b.o.inPlace && b.checkpointCurrent {
		// Nothing to append, same key (in place), checkpoint up to date:
		// the log stays as it is, and a lazy key stays encrypted.
		ref := *b.prev.root.Log
		b.o.logRef = &ref
		return nil
	}
	entries, err := b.logEntries(fresh, old.N)
	if err != nil {
		return err
	}
	if !b.o.inPlace && old.N > 0 {
		if err := b.carryTiles(ctx, old, old.N+int64(len(entries))); err != nil {
			return err
		}
	}
	if b.o.inPlace && old.N > 0 && b.prev.root.Log.ProofTileHeight == 0 {
		// A log built before the height-4 tiles: write them all once
		// (the append adds those that change).
		if err := b.writeProofTiles(ctx, old, old.N+int64(len(entries))); err != nil {
			return err
		}
	}
	tree, err := translog.Append(ctx, old, b.prev.fetch, entries, b.putLogFile)
	if err != nil {
		return b.prev.logErr(err)
	}
	if err := b.signCheckpoint(lk, tree); err != nil {
		return err
	}
	b.res.Logged = len(entries)
	return nil
}

// logEntries are the log entries of the releases fresh (indexes into
// b.releases), numbered from n; it records each one's place in the log.
func (b *builder) logEntries(fresh []int, n int64) ([][]byte, error) {
	keyID := b.o.Signer.KeyID()
	entries := make([][]byte, len(fresh))
	for k, i := range fresh {
		r := &b.releases[i]
		e, err := translog.Entry{Name: nameOf(*r), Version: r.Version, SHA256: r.Archive.SHA256, Commit: r.Commit, KeyID: keyID}.Marshal()
		if err != nil {
			return nil, fmt.Errorf("log release %s@%s: %w", nameOf(*r), r.Version, err)
		}
		entries[k] = e
		r.Log = &index.ReleaseLog{Index: n + int64(k), KeyID: keyID}
	}
	return entries, nil
}

// carryTiles copies into a fresh stage the tiles of the log it extends,
// each checked against the previous tree: the full ones, and the partial
// ones the tree of size n still has (an upper level's edge changes only
// every 256 entries); the append writes the rest. The height-4 tiles are
// computed from the height-8 ones as they are read (translog.CopyLog),
// whether or not the previous site has them.
func (b *builder) carryTiles(ctx context.Context, old tlog.Tree, n int64) error {
	if err := translog.CopyLog(ctx, old, b.prev.fetch, b.keepTiles(n), true); err != nil {
		return b.prev.logErr(err)
	}
	return nil
}

// writeProofTiles writes in place the height-4 tiles of a previous log
// that has none (built by a packgen before them), computed from its
// height-8 tiles, each checked against the previous tree: O(log size),
// once; the ones a tree of size n still has.
func (b *builder) writeProofTiles(ctx context.Context, old tlog.Tree, n int64) error {
	if err := translog.WriteProofTiles(ctx, old, b.prev.fetch, b.keepTiles(n), true); err != nil {
		return b.prev.logErr(err)
	}
	return nil
}

// keepTiles is putLogFile for the tiles of a previous tree that a tree
// of size n still has: the others are superseded by the append.
func (b *builder) keepTiles(n int64) translog.Put {
	keep := map[string]bool{}
	for _, p := range translog.TilePaths(n) {
		keep[p] = true
	}
	return func(p string, data []byte) error {
		if !keep[p] {
			return nil
		}
		return b.putLogFile(p, data)
	}
}

// signCheckpoint signs the checkpoint of tree with the registry's log key
// and records it for index.json.
func (b *builder) signCheckpoint(lk logKeyer, tree tlog.Tree) error {
	skey, vkey, err := lk.LogKey(logKeyName(b.o.Registry))
	if err != nil {
		return err
	}
	signer, err := noteSigner(skey)
	if err != nil {
		return err
	}
	msg, err := translog.SignCheckpoint(translog.Checkpoint{Origin: logOrigin(b.o.Registry), Tree: tree}, signer)
	if err != nil {
		return fmt.Errorf("sign log checkpoint: %w", err)
	}
	// Written after index.json (writeCheckpoint), never ahead of it.
	b.checkpoint = msg
	// The log's height-4 tiles are in the stage: written by the
	// append, carried, or (in place) already there or written above.
	b.o.logRef = &index.LogRef{Size: tree.N, Hash: tree.Hash.String(), Key: vkey, ProofTileHeight: translog.ProofTileHeight}
	return nil
}

// previousLog returns the previous build's tree when this build extends
// it: the previous index is signed by a trusted key and names a log whose
// checkpoint verifies under the log key it names and matches it.
func (b *builder) previousLog(ctx context.Context) (tlog.Tree, error) {
	p := b.prev
	if p.root == nil || !p.signed || p.root.Log == nil {
		return tlog.Tree{}, nil
	}
	ref := p.root.Log
	msg, err := p.fetch(ctx, translog.CheckpointPath, translog.MaxCheckpointSize)
	if err != nil {
		if !contentErr(err) {
			return tlog.Tree{}, p.fileErr(translog.CheckpointPath, err)
		}
		return tlog.Tree{}, p.logErr(err)
	}
	c, err := translog.OpenCheckpoint(msg, ref.Key)
	if err != nil {
		return tlog.Tree{}, p.logErr(fmt.Errorf("%s: %w", translog.CheckpointPath, err))
	}
	tree, _, err := translog.TreeOf(p.root)
	if err != nil {
		return tlog.Tree{}, p.logErr(err)
	}
	if c.Tree != tree {
		// The checkpoint follows index.json (written, and published,
		// after it): one that lags (a killed build or publish) must be
		// a tree the index's extends; one ahead is not the build's.
		err := fmt.Errorf("it holds a tree of %d entries (%s), index.json names %d (%s)", c.Tree.N, c.Tree.Hash, tree.N, tree.Hash)
		if c.Tree.N < tree.N {
			err = translog.CheckConsistency(ctx, c.Tree, tree, p.fetch)
		}
		if err != nil {
			return tlog.Tree{}, p.logErr(fmt.Errorf("%s: %w", translog.CheckpointPath, err))
		}
	}
	b.checkpointCurrent = c.Tree == tree
	b.logOld = tree.N
	return tree, nil
}

// checkLogged checks the releases' log entries against a log of n entries
// (each release at most once, every entry some release's: none dropped)
// and returns the indexes of the releases to append, in the log's order:
// by publication time, then name, then version.
func checkLogged(rels []index.Release, n int64) ([]int, error) {
	owner := map[int64]string{}
	var fresh []int
	for i, r := range rels {
		if r.Log == nil {
			fresh = append(fresh, i)
			continue
		}
		id := nameOf(r) + "@" + r.Version
		switch {
		case r.Log.Index >= n:
			return nil, fmt.Errorf("release %s claims log entry %d, the log has %d", id, r.Log.Index, n)
		case owner[r.Log.Index] != "":
			return nil, fmt.Errorf("releases %s and %s both claim log entry %d", owner[r.Log.Index], id, r.Log.Index)
		}
		owner[r.Log.Index] = id
	}
	if int64(len(owner)) != n {
		return nil, fmt.Errorf("the log holds %d entries, the index lists %d of them: a logged release would be dropped", n, len(owner))
	}
	sort.SliceStable(fresh, func(a, b int) bool {
		x, y := rels[fresh[a]], rels[fresh[b]]
		if !x.Created.Equal(y.Created) {
			return x.Created.Before(y.Created)
		}
		if nx, ny := nameOf(x), nameOf(y); nx != ny {
			return nx < ny
		}
		return versionLess(x.Version, y.Version)
	})
	return fresh, nil
}

func versionLess(a, b string) bool {
	va, ea := semver.NewVersion(a)
	vb, eb := semver.NewVersion(b)
	if ea == nil && eb == nil && !va.Equal(vb) {
		return va.LessThan(vb)
	}
	return a < b
}

// putLogFile writes a log file into the stage; in place, atomically, so
// that no reader sees half a tile or checkpoint.
func (b *builder) putLogFile(p string, data []byte) error {
	file := filepath.Join(b.stage, filepath.FromSlash(p))
	if err := b.o.dirs.mkdirAll(filepath.Dir(file)); err != nil {
		return err
	}
	if b.o.inPlace {
		if b.o.dirs.holds(file, data) {
			return nil // an unchanged log leaves the out dir untouched
		}
		return b.o.dirs.replace(file, data)
	}
	return os.WriteFile(file, data, 0o644)
}

// maxWitnessFile bounds a carried witness file: a cosigned checkpoint
// is a few hundred bytes.
const maxWitnessFile = 64 << 10

// carryWitnesses copies into a fresh stage the witnesses' cosigned
// checkpoints (log/witness/NAME) of a previous site in a local
// directory: the operator put them there, no build makes them, and a
// staged build must not drop them. They are copied as they are: clients
// check each under its witness's key, and one that cosigned an older
// checkpoint still vouches for the releases in it. A remote previous
// keeps its own (publish never deletes them).
func (b *builder) carryWitnesses() error {
	if b.o.inPlace || b.prev == nil || b.prev.dir == "" {
		return nil
	}
	dir := filepath.Join(b.prev.dir, filepath.FromSlash(translog.WitnessDir))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil // none
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !translog.ValidWitnessName(name) {
			continue // not a witness file the build could have checked the name of
		}
		data, err := safefile.ReadFile(filepath.Join(dir, name), maxWitnessFile)
		if err != nil {
			return fmt.Errorf("%w: keep witness file %s: %v", ErrLog, filepath.Join(dir, name), err)
		}
		if err := b.putLogFile(translog.WitnessPath(name), data); err != nil {
			return err
		}
	}
	return nil
}

// logOrigin is the checkpoint's origin line: the registry's name.
func logOrigin(registry string) string { return translog.LogOrigin(registry) }

// logKeyName is the log key's note name: the registry's name when note
// accepts it (no spaces, no '+').
func logKeyName(registry string) string {
	if registry == "" || strings.ContainsRune(registry, '+') || strings.IndexFunc(registry, unicode.IsSpace) >= 0 {
		return "packgen-log"
	}
	return registry
}

func noteSigner(skey string) (note.Signer, error) { return note.NewSigner(skey) }

// writeCheckpoint writes the log's signed checkpoint once index.json,
// which names its tree, is in place: a build killed in between leaves a
// checkpoint behind the index (consistent with it), never ahead.
// In place, it then removes the previous tree's partial tiles the new
// tree does not use, as the update removes the previous generation's
// buckets and shards after the switch (a staged build never carries
// them): the out dir holds what a fresh build of it would.
func (b *builder) writeCheckpoint() error {
	if b.checkpoint == nil {
		return nil
	}
	if err := b.putLogFile(translog.CheckpointPath, b.checkpoint); err != nil {
		return err
	}
	if err := b.carryWitnesses(); err != nil {
		return err
	}
	if b.o.inPlace && b.logOld > 0 && b.o.logRef != nil {
		keep := map[string]bool{}
		for _, p := range translog.TilePaths(b.o.logRef.Size) {
			keep[p] = true
		}
		for _, p := range translog.TilePaths(b.logOld) {
			if !keep[p] {
				b.o.dirs.remove(filepath.Join(b.stage, filepath.FromSlash(p)))
			}
		}
	}
	return nil
}
