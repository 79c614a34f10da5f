// Package witness is what an independent party runs against a registry's
// transparency log, on a schedule (`packgen log witness`): it verifies the
// log's checkpoint under the log's key, proves it consistent with the last
// checkpoint this witness cosigned (kept in its state directory), and only
// then writes its cosignature (translog.Cosign). A witness that sees a
// fork refuses to cosign and keeps both checkpoints as evidence: a
// registry can then no longer show different histories to different
// clients, since clients that require witnesses accept only checkpoints
// the witnesses cosigned (docs/SECURITY.md, "Split views").
package witness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/walk"
	"golang.org/x/mod/sumdb/note"
)

// Errors of a witness run, usable with errors.Is.
var (
	// ErrFork: the log's checkpoint is not consistent with the one this
	// witness cosigned before (two roots for one size, or a tree that does
	// not contain the older one). Nothing was cosigned; Result.Evidence
	// holds both checkpoints.
	ErrFork = errors.New("the log forked: not cosigned")
	// ErrRollback: the log is smaller than the one cosigned before (an old
	// checkpoint replayed, a stale cache, or a truncated log). Nothing was
	// cosigned.
	ErrRollback = errors.New("the log is older than the one cosigned before: not cosigned")
	// ErrLogKey: the log's key differs from the one pinned on the first run.
	ErrLogKey = errors.New("the log's key is not the one this witness pinned")
	// ErrOrigin: the checkpoint's origin is not the log of the registry
	// that index.json (verified under Options.RegistryKey) names: one log
	// key may sign several registries' logs, so a checkpoint of another
	// registry opens under it too. Nothing was cosigned; Result.Evidence
	// holds index.json, its signature and the checkpoint.
	ErrOrigin = errors.New("the checkpoint is of another registry's log: not cosigned")
	// ErrNotYet: the registry is mid-publish (a new index.json out, its
	// checkpoint not yet: a rotated log key, or a checkpoint behind the
	// index's log size, which an older checkpoint put back looks like
	// too): an operational state; run again.
	ErrNotYet = errors.New("the registry's log is being published")
	// ErrOutLink: a symbolic link in Options.Out where the cosignature
	// goes; nothing was written and the state did not move.
	ErrOutLink = errors.New("a symbolic link in the witness output directory")
	// ErrNoLog: the registry keeps no transparency log (an unsigned
	// registry, or one built before the log): nothing to witness.
	ErrNoLog = errors.New("nothing to witness")
)

// State files, in Options.StateDir.
const (
	stateLogKey     = "log.key"    // the log's verifier key, pinned on the first run
	stateCheckpoint = "checkpoint" // the last checkpoint cosigned, as the log signed it
	stateLock       = "lock"
	// What a witness run with a registry key followed: the log keys it
	// rotated away from (one a line), never followed back, and the
	// highest serial of a verified index.json it read; a rotation named
	// by an index.json not newer is refused (followable).
	stateRetired = "log.keys.retired"
	stateSerial  = "index.serial"
)

// Options of a run.
type Options struct {
	Site string // the registry: a directory or URL (any packgen source)
	// Key is the witness's private key (translog.GenerateWitnessKey).
	Key string
	// LogKey is the log's verifier key. Empty: the key pinned in StateDir,
	// or on the first run the key the registry's index.json names (then
	// pinned; Result.Pinned says so).
	LogKey string
	// RegistryKey, when set, verifies index.json's signature on every
	// run: its log key is pinned on the first run only once it verifies,
	// and the checkpoint's origin must be the registry it names.
	RegistryKey *sign.Verifier
	StateDir    string // the witness's memory of this log; must persist between runs
	// Out receives the cosigned checkpoint at Out/log/witness/NAME, the
	// path clients read it from in the registry (translog.WitnessPath).
	Out     string
	Timeout time.Duration
	// Source, when set, reads Site (a transport opened with options of
	// the caller's: an oci:// registry's credentials, TLS or plain
	// HTTP); nil opens Site with the defaults.
	Source transport.Transport
}

// Result of a run.
type Result struct {
	Witness  string `json:"witness"`
	Origin   string `json:"origin"`
	Size     int64  `json:"size"`
	Hash     string `json:"hash"`
	Previous int64  `json:"previous"` // size cosigned before (0: first run)
	Pinned   bool   `json:"pinned"`   // the log key was pinned by this run
	LogKey   string `json:"logKey"`
	// RotatedFrom is the log key pinned before this run, when the run
	// followed a rotation (the new key is LogKey).
	RotatedFrom string `json:"rotatedFrom,omitempty"`
	File        string `json:"file,omitempty"`     // the cosigned checkpoint written
	Evidence    string `json:"evidence,omitempty"` // a fork's evidence directory
}

// Run witnesses the log of o.Site once.
func Run(ctx context.Context, o Options) (*Result, error) {
	signer, err := translog.NewWitnessSigner(strings.TrimSpace(o.Key))
	if err != nil {
		return nil, err
	}
	if o.StateDir == "" || o.Out == "" {
		return nil, errors.New("witness: a state directory and an output directory are required")
	}
	lock, err := lockState(o.StateDir)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	tr, err := o.source()
	if err != nil {
		return nil, err
	}
	fetch := transport.Fetch(tr)
	res := &Result{Witness: signer.Name()}
	var root *signedRoot
	if o.RegistryKey != nil {
		if root, err = readRoot(ctx, o, tr, fetch); err != nil {
			return nil, err
		}
	}
	// index.json, read once when a step needs it: logKey on a first
	// run, readCheckpoint to explain a checkpoint that does not open,
	// behindIndex to refuse one behind it.
	named := sync.OnceValues(func() (*index.Root, error) { return indexRoot(ctx, o, root, fetch) })
	if res.LogKey, res.Pinned, res.RotatedFrom, err = logKey(o, root, named); err != nil {
		return nil, err
	}
	msg, cp, err := readCheckpoint(ctx, o, res, fetch, named)
	if err != nil {
		return nil, err
	}
	res.Origin, res.Size, res.Hash = cp.Origin, cp.Tree.N, cp.Tree.Hash.String()
	if root != nil && cp.Origin != translog.LogOrigin(root.root.Registry) {
		return res, originMismatch(o, root, cp.Origin, msg, res)
	}
	if err := behindIndex(o, res.LogKey, cp, named); err != nil {
		return res, err
	}
	oldMsg, err := extendsCosigned(ctx, o, res, cp, msg, fetch)
	if err != nil {
		return res, err
	}
	if res.RotatedFrom != "" {
		// Kept for an audit: what the witness followed, and on what.
		if _, err := keepEvidence(o.StateDir, "rotation-", map[string][]byte{
			"log.key.before":                    []byte(res.RotatedFrom + "\n"),
			"cosigned-before":                   oldMsg,
			index.RootFile:                      root.data,
			index.RootFile + index.SignatureExt: root.sig,
		}); err != nil {
			return nil, fmt.Errorf("witness state: %w", err)
		}
	}
	if err := recordFollowed(o.StateDir, root, res.RotatedFrom); err != nil {
		return nil, fmt.Errorf("witness state: %w", err)
	}
	if err := cosign(o, signer, msg, res); err != nil {
		return nil, err
	}
	return res, nil
}

// followed is what the state says runs with a registry key followed.
type followed struct {
	retired []string // log keys rotated away from
	serial  int64    // the highest serial of a verified index.json read
}

// readFollowed reads stateRetired and stateSerial (empty: none yet, or
// a state of a witness before them).
func readFollowed(dir string) (followed, error) {
	var f followed
	data, err := safefile.ReadFile(filepath.Join(dir, stateRetired), 1<<20)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	f.retired = strings.Fields(string(data))
	data, err = safefile.ReadFile(filepath.Join(dir, stateSerial), 64)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	if err == nil {
		if f.serial, err = strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err != nil {
			return f, fmt.Errorf("%s: %v", filepath.Join(dir, stateSerial), err)
		}
	}
	return f, nil
}

// followable refuses a rotation (away from pinned, to the log key root
// names) to a key this witness rotated away from before, or named by an
// index.json older than one it read before: what a bucket replaying
// an old generation serves, signed as it was by a key the operator still
// lists (SECURITY.md says to give both during a rotation). Nothing is
// cosigned and no rotation evidence is filed.
func followable(o Options, root *signedRoot, pinned string) error {
	f, err := readFollowed(o.StateDir)
	if err != nil {
		return fmt.Errorf("witness state: %w", err)
	}
	key, serial := root.root.Log.Key, root.root.Serial
	if slices.Contains(f.retired, key) {
		return fmt.Errorf("%w: %s of %s (serial %d) names the log key %s, which this witness rotated away from (it pins %s): a replayed old index.json, not a rotation; nothing was cosigned. Should the registry really have gone back to that key, witness it with a new state directory", ErrRollback, index.RootFile, o.Site, serial, key, pinned)
	}
	// The same serial again is a rotation a killed run did not finish
	// (recordFollowed goes before the state moves).
	if serial < f.serial {
		return fmt.Errorf("%w: %s of %s (serial %d) names another log key (%s) than the pinned one (%s), but this witness read serial %d before: an old index.json replayed, not a rotation; nothing was cosigned", ErrRollback, index.RootFile, o.Site, serial, key, pinned, f.serial)
	}
	return nil
}

// recordFollowed notes, before the state moves on (cosign), the key a
// rotation leaves (never to be followed back) and root's serial, when it
// is the highest read: so that a kill after it leaves nothing a replay
// could use.
func recordFollowed(dir string, root *signedRoot, rotatedFrom string) error {
	if root == nil {
		return nil
	}
	f, err := readFollowed(dir)
	if err != nil {
		return err
	}
	if rotatedFrom != "" && !slices.Contains(f.retired, rotatedFrom) {
		data := []byte(strings.Join(append(f.retired, rotatedFrom), "\n") + "\n")
		if err := atomicfile.WriteFile(filepath.Join(dir, stateRetired), data, 0o600); err != nil {
			return err
		}
	}
	if root.root.Serial > f.serial {
		return atomicfile.WriteFile(filepath.Join(dir, stateSerial), []byte(strconv.FormatInt(root.root.Serial, 10)+"\n"), 0o600)
	}
	return nil
}

// source is the transport o.Site is read through.
func (o Options) source() (transport.Transport, error) {
	if o.Source != nil {
		return o.Source, nil
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	return transport.New(o.Site, "", timeout, 0)
}

// readCheckpoint reads the log's checkpoint and opens it under
// res.LogKey; one that does not open says why it may not (a rotation
// being published, a key the witness has not followed).
func readCheckpoint(ctx context.Context, o Options, res *Result, fetch translog.Fetch, named func() (*index.Root, error)) ([]byte, translog.Checkpoint, error) {
	msg, err := fetch(ctx, translog.CheckpointPath, translog.MaxCheckpointSize)
	if err != nil {
		return nil, translog.Checkpoint{}, fmt.Errorf("read %s of %s: %w", translog.CheckpointPath, o.Site, err)
	}
	cp, err := translog.OpenCheckpoint(msg, res.LogKey)
	if err == nil {
		return msg, cp, nil
	}
	if res.RotatedFrom != "" {
		if _, oerr := translog.OpenCheckpoint(msg, res.RotatedFrom); oerr == nil {
			// index.json goes out before the checkpoint: a rotation
			// being published.
			return nil, translog.Checkpoint{}, fmt.Errorf("%w: %s of %s names the rotated log key %s, and its %s is still the old log's: the rotation is being published; run again once it is", ErrNotYet, index.RootFile, o.Site, res.LogKey, translog.CheckpointPath)
		}
	}
	if !res.Pinned {
		if r, _ := named(); r != nil && r.Log != nil && r.Log.Key != res.LogKey {
			how := "To follow a rotation, run with --registry-key (the registry's public keys you trust, the new one included): the witness follows the log key that index.json, verified under them, names, once the new log extends the tree it cosigned"
			if o.LogKey != "" {
				how = "To follow a rotation, drop --log-key: with --registry-key (the registry's public keys you trust, the new one included) the witness follows the log key that index.json, verified under them, names, once the new log extends the tree it cosigned"
			}
			return nil, translog.Checkpoint{}, fmt.Errorf("%w: %s of %s does not verify under the log key pinned in %s (%s), and its index.json names another (%s): the registry rotated its key, or someone replaced its log. %s", ErrLogKey, translog.CheckpointPath, o.Site, o.StateDir, res.LogKey, r.Log.Key, how)
		}
	}
	return nil, translog.Checkpoint{}, fmt.Errorf("%s of %s: %w", translog.CheckpointPath, o.Site, err)
}

// behindIndex refuses a checkpoint of fewer entries than the log
// index.json names (named: verified or not, used only to refuse), when
// that is the log cp is of (logKey: another log's size says nothing of
// this one's): a publish under way (index.json goes first), or an
// older checkpoint, genuinely signed, put back in its place. Cosigned,
// it would hold every witnessed client at that size, refusing each
// newer release (attackX F4). ErrNotYet: the witness cannot tell the
// two apart, and a run once the publish has ended cosigns.
func behindIndex(o Options, logKey string, cp translog.Checkpoint, named func() (*index.Root, error)) error {
	r, _ := named()
	if r == nil || r.Log == nil || r.Log.Key != logKey || cp.Tree.N >= r.Log.Size {
		return nil
	}
	return fmt.Errorf("%w: %s of %s is a tree of %d entries, and its %s names %d: a publish is under way (run again once it has ended), or an older checkpoint was put back in its place (publish the registry again); cosigning it would hold every witnessed client at %d entries", ErrNotYet, translog.CheckpointPath, o.Site, cp.Tree.N, index.RootFile, r.Log.Size, cp.Tree.N)
}

// extendsCosigned checks that cp extends the tree this witness cosigned
// last (a fork's evidence is kept, res.Evidence); it returns that
// checkpoint's bytes (nil on a first run). A rotation is followed only
// if the new log extends the tree cosigned under the old key: the state
// is read under that key.
func extendsCosigned(ctx context.Context, o Options, res *Result, cp translog.Checkpoint, msg []byte, fetch translog.Fetch) ([]byte, error) {
	stateKeys := []string{res.LogKey}
	if res.RotatedFrom != "" {
		// A run killed mid-rotation may have left the new checkpoint.
		stateKeys = []string{res.RotatedFrom, res.LogKey}
	}
	oldMsg, old, err := lastCosigned(o.StateDir, stateKeys...)
	if err != nil {
		return nil, err
	}
	res.Previous = old.Tree.N
	if oldMsg == nil {
		return nil, nil
	}
	if err := consistent(ctx, old, cp, fetch); err != nil {
		if errors.Is(err, ErrFork) {
			dir, werr := evidence(o.StateDir, oldMsg, msg, err)
			if werr != nil {
				return nil, errors.Join(err, fmt.Errorf("write the evidence: %w", werr))
			}
			res.Evidence = dir
		}
		return nil, err
	}
	return oldMsg, nil
}

// lockState makes the witness's state directory and locks it: one run
// at a time per state, as two would race on the last checkpoint. The
// lock holds until the returned file is closed.
func lockState(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := safefile.OpenLock(filepath.Join(dir, stateLock))
	if err != nil {
		return nil, fmt.Errorf("witness state %s: %w", dir, err)
	}
	if err := stale.Lock(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("witness state %s: %w", dir, err)
	}
	return lock, nil
}

// originMismatch is the error for a checkpoint of another log than the
// one root's registry names, after keeping the evidence (root, its
// signature, the checkpoint msg) in the state directory (res.Evidence).
func originMismatch(o Options, root *signedRoot, origin string, msg []byte, res *Result) error {
	err := fmt.Errorf("%w: %s of %s is of the log %q, and its index.json (signed by the registry's key) is of registry %q, whose log is %q: the registry serves another registry's checkpoint under the same log key", ErrOrigin, translog.CheckpointPath, o.Site, origin, root.root.Registry, translog.LogOrigin(root.root.Registry))
	dir, werr := keepEvidence(o.StateDir, "origin-", map[string][]byte{
		index.RootFile:                      root.data,
		index.RootFile + index.SignatureExt: root.sig,
		"checkpoint":                        msg,
		"reason.txt":                        []byte(err.Error() + "\n"),
	})
	if werr != nil {
		return errors.Join(err, fmt.Errorf("write the evidence: %w", werr))
	}
	res.Evidence = dir
	return err
}

// cosign writes the cosignature of the checkpoint msg (verified and
// proved consistent) to res.File under o.Out, then moves the state on.
func cosign(o Options, signer note.Signer, msg []byte, res *Result) error {
	co, err := translog.Cosign(msg, res.LogKey, signer)
	if err != nil {
		return err
	}
	rel := filepath.FromSlash(translog.WitnessPath(signer.Name()))
	res.File = filepath.Join(o.Out, rel)
	out, err := openOut(o.Out, rel)
	if err != nil {
		return err // nothing written, the state where it was
	}
	defer out.Close()
	// The state moves first: a cosignature published that the state does
	// not record would let a later run cosign a fork of it. The
	// checkpoint goes before the key it is signed by, and lastCosigned
	// reads a state a kill left between the two (a rotation's new
	// checkpoint beside the old key, or the other way round).
	if err := atomicfile.WriteFile(filepath.Join(o.StateDir, stateCheckpoint), msg, 0o600); err != nil {
		return err
	}
	if res.Pinned {
		if err := atomicfile.WriteFile(filepath.Join(o.StateDir, stateLogKey), []byte(res.LogKey+"\n"), 0o600); err != nil {
			return err
		}
	}
	return atomicfile.WriteFileIn(out, rel, co, 0o644)
}

// openOut opens out, which is often the registry's served directory
// (shared: a web root, a mounted bucket), as an os.Root (out itself may
// be a link: the path the user named), refusing a link on the way to rel
// (log, log/witness, the file: ErrOutLink) rather than writing behind
// one that someone planted there. The caller writes rel through it.
func openOut(out, rel string) (*os.Root, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(out)
	if err != nil {
		return nil, err
	}
	if link, err := safefile.LinkOnPath(root, rel, true, nil); err != nil || link != "" {
		root.Close()
		if err != nil {
			return nil, err
		}
		full := filepath.Join(out, link)
		return nil, fmt.Errorf("%w: %s is a symbolic link; the witness never writes through one: remove it (rm %s) and run again, after checking who planted it", ErrOutLink, full, full)
	}
	return root, nil
}

// signedRoot is the registry's index.json, its signature verified under
// Options.RegistryKey.
type signedRoot struct {
	data, sig []byte
	root      *index.Root
}

// readRoot reads index.json and verifies its signature.
func readRoot(ctx context.Context, o Options, tr transport.Transport, fetch translog.Fetch) (*signedRoot, error) {
	data, err := fetch(ctx, index.RootFile, index.MaxRootSize)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", index.RootFile, o.Site, err)
	}
	if err := walk.New(tr, o.RegistryKey).RootSignature(ctx, data, nil); err != nil {
		return nil, fmt.Errorf("%s of %s: %w", index.RootFile, o.Site, err)
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", index.RootFile, o.Site, err)
	}
	// Kept as evidence should the checkpoint be of another registry;
	// the digest-named signature is the one that verified when the live
	// one is missing.
	sig, err := fetch(ctx, index.RootFile+index.SignatureExt, sign.MaxBundleSize)
	if err != nil {
		sig, _ = fetch(ctx, index.RootSignaturePath(index.Digest(data)), sign.MaxBundleSize)
	}
	return &signedRoot{data: data, sig: sig, root: root}, nil
}

// logKey is the log's verifier key: given, pinned, or read from the
// registry's index.json on the first run (pinned then). root is
// index.json when its signature was verified: a log key it names other
// than the pinned one is a rotation (docs/SECURITY.md), returned with the
// pinned key as rotatedFrom and pinned anew once Run has checked that the
// new log extends the tree cosigned under the old key.
func logKey(o Options, root *signedRoot, named func() (*index.Root, error)) (key string, pin bool, rotatedFrom string, err error) {
	pinned, err := safefile.ReadFile(filepath.Join(o.StateDir, stateLogKey), 4<<10)
	switch {
	case err == nil:
		p := strings.TrimSpace(string(pinned))
		if o.LogKey != "" && o.LogKey != p {
			return "", false, "", fmt.Errorf("%w: --log-key %s, pinned %s (in %s): a new log needs a new state directory", ErrLogKey, o.LogKey, p, o.StateDir)
		}
		if root != nil && root.root.Log != nil && o.LogKey == "" && root.root.Log.Key != p {
			if _, err := note.NewVerifier(root.root.Log.Key); err != nil {
				return "", false, "", fmt.Errorf("%s of %s: log key %q: %v", index.RootFile, o.Site, root.root.Log.Key, err)
			}
			if err := followable(o, root, p); err != nil {
				return "", false, "", err
			}
			return root.root.Log.Key, true, p, nil
		}
		return p, false, "", nil
	case !errors.Is(err, os.ErrNotExist):
		return "", false, "", fmt.Errorf("witness state: %w", err)
	case o.LogKey != "":
		if _, err := note.NewVerifier(o.LogKey); err != nil {
			return "", false, "", fmt.Errorf("--log-key %q: %v (want the log.key of the registry's index.json)", o.LogKey, err)
		}
		return o.LogKey, true, "", nil
	}
	r, err := named()
	if err != nil {
		return "", false, "", err
	}
	if r.Log == nil {
		why := "the registry was built by a packgen older than the log: build it again with this one and publish it"
		if !r.Signed {
			why = "the registry is unsigned, and only a signed one keeps a log: build it with --key (packgen build --key registry.key) and publish it"
		}
		return "", false, "", fmt.Errorf("%w: %s of %s names no transparency log; %s, then witness it", ErrNoLog, index.RootFile, o.Site, why)
	}
	return r.Log.Key, true, "", nil
}

// indexRoot is the registry's index.json: root's when its signature
// verified, else read and parsed unchecked (a first run's log key, to
// be pinned; otherwise only to explain or refuse).
func indexRoot(ctx context.Context, o Options, root *signedRoot, fetch translog.Fetch) (*index.Root, error) {
	if root != nil {
		return root.root, nil
	}
	data, err := fetch(ctx, index.RootFile, index.MaxRootSize)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", index.RootFile, o.Site, err)
	}
	r, err := index.ParseRoot(data)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", index.RootFile, o.Site, err)
	}
	return r, nil
}

// lastCosigned reads the checkpoint cosigned last (nil: none yet). It is
// verified again: a state edited by hand must not steer the witness.
func lastCosigned(dir string, logKeys ...string) ([]byte, translog.Checkpoint, error) {
	f := filepath.Join(dir, stateCheckpoint)
	msg, err := safefile.ReadFile(f, translog.MaxCheckpointSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, translog.Checkpoint{}, nil
	}
	if err != nil {
		return nil, translog.Checkpoint{}, fmt.Errorf("witness state: %w", err)
	}
	var c translog.Checkpoint
	for _, k := range logKeys {
		if c, err = translog.OpenCheckpoint(msg, k); err == nil {
			return msg, c, nil
		}
	}
	return nil, translog.Checkpoint{}, fmt.Errorf("witness state %s: %w (remove the state directory only to start witnessing this log afresh)", f, err)
}

// consistent proves the new checkpoint extends the old one.
func consistent(ctx context.Context, old, cp translog.Checkpoint, fetch translog.Fetch) error {
	if old.Origin != cp.Origin {
		return fmt.Errorf("%w: the log's origin changed from %q to %q under the same key", ErrFork, old.Origin, cp.Origin)
	}
	switch {
	case cp.Tree.N < old.Tree.N:
		return fmt.Errorf("%w: %d entries (%s), %d were cosigned before (%s)", ErrRollback, cp.Tree.N, cp.Tree.Hash, old.Tree.N, old.Tree.Hash)
	case cp.Tree.N == old.Tree.N && cp.Tree.Hash != old.Tree.Hash:
		return fmt.Errorf("%w: two checkpoints of %d entries with different roots, %s cosigned before and %s now, both signed by the log's key", ErrFork, cp.Tree.N, old.Tree.Hash, cp.Tree.Hash)
	}
	err := translog.CheckConsistency(ctx, old.Tree, cp.Tree, fetch)
	if errors.Is(err, translog.ErrInconsistent) {
		return fmt.Errorf("%w: %v", ErrFork, err)
	}
	return err
}

// evidence keeps both signed checkpoints of a fork, and why, in a new
// directory of the state: each is signed by the log's key, so together
// they prove the log showed two histories.
func evidence(state string, before, after []byte, why error) (string, error) {
	return keepEvidence(state, "fork-", map[string][]byte{
		"cosigned-before": before,
		"seen-now":        after,
		"reason.txt":      []byte(why.Error() + "\n"),
	})
}

// keepEvidence writes files into a new directory PREFIX<unix time> of
// the state (a name taken already gets a suffix: two refusals in one
// second keep both).
func keepEvidence(state, prefix string, files map[string][]byte) (string, error) {
	base := filepath.Join(state, prefix+strconv.FormatInt(time.Now().UTC().Unix(), 10))
	dir := base
	for i := 1; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return "", err
		}
		dir = base + "-" + strconv.Itoa(i)
	}
	for name, b := range files {
		if b == nil {
			continue
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", err
		}
	}
	return dir, nil
}
