package witness

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// logSite is a registry's log in a directory: tiles and the signed
// checkpoint, written by translog as the build writes them.
type logSite struct {
	dir    string
	signer note.Signer
	tree   tlog.Tree
}

func newLogSite(t *testing.T, skey string) *logSite {
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &logSite{dir: t.TempDir(), signer: s}
}

func (l *logSite) fetch(_ context.Context, p string, max int64) ([]byte, error) {
	return os.ReadFile(filepath.Join(l.dir, p))
}

func (l *logSite) put(p string, b []byte) error {
	f := filepath.Join(l.dir, p)
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		return err
	}
	return os.WriteFile(f, b, 0o644)
}

// newKeys makes a log's note keys (origin "acme-log") and the keys of
// the witness named witness.
func newKeys(t *testing.T, witness string) (logSkey, logVkey, wskey, wvkey string) {
	t.Helper()
	logSkey, logVkey, err := note.GenerateKey(rand.Reader, "acme-log")
	if err != nil {
		t.Fatal(err)
	}
	wskey, wvkey, err = translog.GenerateWitnessKey(rand.Reader, witness)
	if err != nil {
		t.Fatal(err)
	}
	return logSkey, logVkey, wskey, wvkey
}

// add appends n releases of pack name and publishes the new checkpoint.
func (l *logSite) add(t *testing.T, name string, n int) {
	t.Helper()
	var es [][]byte
	for i := range n {
		e, err := translog.Entry{Name: name, Version: fmt.Sprintf("1.%d.0", l.tree.N+int64(i)), SHA256: strings.Repeat("a", 64), Commit: strings.Repeat("c", 40), KeyID: strings.Repeat("b", 64)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	tree, err := translog.Append(context.Background(), l.tree, l.fetch, es, l.put)
	if err != nil {
		t.Fatal(err)
	}
	l.tree = tree
	msg, err := translog.SignCheckpoint(translog.Checkpoint{Origin: "acme", Tree: tree}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.put(translog.CheckpointPath, msg); err != nil {
		t.Fatal(err)
	}
}

func TestWitness(t *testing.T) {
	logSkey, logVkey, wskey, wvkey := newKeys(t, "w1.example")
	wv, _ := translog.NewWitnessVerifier(wvkey)
	state, out := t.TempDir(), t.TempDir()
	l := newLogSite(t, logSkey)
	l.add(t, "calico", 300)
	o := Options{Site: l.dir, Key: wskey, LogKey: logVkey, StateDir: state, Out: out}
	ctx := context.Background()

	check := func(want int64) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, "log", "witness", "w1.example"))
		if err != nil {
			t.Fatal(err)
		}
		c, names, err := translog.OpenCosigned(b, logVkey, []note.Verifier{wv})
		if err != nil || c.Tree.N != want || len(names) != 1 {
			t.Fatalf("cosigned %v by %v (%v), want %d entries by w1.example", c.Tree, names, err, want)
		}
	}
	res, err := Run(ctx, o)
	if err != nil || !res.Pinned || res.Size != 300 || res.Previous != 0 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	check(300)
	// The log grows: consistent, cosigned again; the pinned key is kept.
	l.add(t, "calico", 5)
	o.LogKey = ""
	if res, err = Run(ctx, o); err != nil || res.Pinned || res.Previous != 300 || res.Size != 305 {
		t.Fatalf("second run: %+v %v", res, err)
	}
	check(305)
	// Nothing new: cosigned again (a fresh timestamp).
	if _, err = Run(ctx, o); err != nil {
		t.Fatal(err)
	}

	// Another key for the same log: refused before anything is read.
	_, other, _ := note.GenerateKey(rand.Reader, "acme-log")
	if _, err := Run(ctx, Options{Site: l.dir, Key: wskey, LogKey: other, StateDir: state, Out: out}); !errors.Is(err, ErrLogKey) {
		t.Fatalf("another log key: %v", err)
	}

	// A fork: the same log key signs another history of the same size,
	// then a longer one that does not contain what was cosigned.
	fork := newLogSite(t, logSkey)
	fork.add(t, "calicox", 305)
	o.Site = fork.dir
	res, err = Run(ctx, o)
	if !errors.Is(err, ErrFork) || res == nil || res.Evidence == "" {
		t.Fatalf("same size, other root: %+v %v", res, err)
	}
	for _, f := range []string{"cosigned-before", "seen-now", "reason.txt"} {
		b, err := os.ReadFile(filepath.Join(res.Evidence, f))
		if err != nil || len(b) == 0 {
			t.Fatalf("evidence %s: %v", f, err)
		}
		if f != "reason.txt" {
			if _, err := translog.OpenCheckpoint(b, logVkey); err != nil {
				t.Errorf("evidence %s is not a checkpoint signed by the log: %v", f, err)
			}
		}
	}
	check(305) // the cosignature published before stays
	fork.add(t, "calicox", 10)
	if res, err = Run(ctx, o); !errors.Is(err, ErrFork) || res.Evidence == "" {
		t.Fatalf("longer fork: %+v %v", res, err)
	}
	// A truncated log (an old checkpoint replayed) is refused too.
	short := newLogSite(t, logSkey)
	short.add(t, "calico", 300)
	o.Site = short.dir
	if _, err = Run(ctx, o); !errors.Is(err, ErrRollback) {
		t.Fatalf("truncated: %v", err)
	}
	// The genuine log still extends what was cosigned.
	o.Site = l.dir
	l.add(t, "calico", 1)
	if res, err = Run(ctx, o); err != nil || res.Previous != 305 {
		t.Fatalf("after the refusals: %+v %v", res, err)
	}
	check(306)
}

// TestWitnessOutLinks: --out is the registry's served directory, often
// shared. A link planted at log/, log/witness/ or the cosignature itself
// is refused (ErrOutLink) with nothing written behind it and the state
// unmoved (the next run still pins the key); --out itself may be a link.
func TestWitnessOutLinks(t *testing.T) {
	logSkey, logVkey, wskey, _ := newKeys(t, "w1.example")
	l := newLogSite(t, logSkey)
	l.add(t, "calico", 3)
	ctx := context.Background()
	for _, at := range []string{"log", "log/witness", "log/witness/w1.example", ""} {
		t.Run("link at "+at, func(t *testing.T) {
			out, outside, state := filepath.Join(t.TempDir(), "public"), t.TempDir(), t.TempDir()
			os.MkdirAll(filepath.Join(out, "log", "witness"), 0o755)
			target := outside
			if at == "log/witness/w1.example" {
				target = filepath.Join(outside, "victim")
				os.WriteFile(target, []byte("secret"), 0o600)
			}
			if at == "" {
				os.RemoveAll(out)
			}
			os.RemoveAll(filepath.Join(out, filepath.FromSlash(at)))
			if err := os.Symlink(target, filepath.Join(out, filepath.FromSlash(at))); err != nil {
				t.Fatal(err)
			}
			res, err := Run(ctx, Options{Site: l.dir, Key: wskey, LogKey: logVkey, StateDir: state, Out: out})
			if at == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(outside, "log", "witness", "w1.example")); err != nil {
					t.Errorf("--out a link: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrOutLink) || !strings.Contains(err.Error(), filepath.Join(out, filepath.FromSlash(at))) {
				t.Fatalf("err = %v, want ErrOutLink naming %s (%+v)", err, at, res)
			}
			entries, _ := os.ReadDir(outside)
			if got, _ := os.ReadFile(filepath.Join(outside, "victim")); len(entries) > 1 || (len(entries) == 1 && string(got) != "secret") {
				t.Errorf("written behind the link: %v", entries)
			}
			for _, f := range []string{stateCheckpoint, stateLogKey} {
				if _, err := os.Stat(filepath.Join(state, f)); err == nil {
					t.Errorf("state moved: %s written", f)
				}
			}
		})
	}
}

func TestWitnessBadInput(t *testing.T) {
	logSkey, logVkey, wskey, _ := newKeys(t, "w1")
	l := newLogSite(t, logSkey)
	l.add(t, "calico", 3)
	ctx := context.Background()
	if _, err := Run(ctx, Options{Site: l.dir, Key: "junk", LogKey: logVkey, StateDir: t.TempDir(), Out: t.TempDir()}); !errors.Is(err, translog.ErrWitnessKey) {
		t.Errorf("bad witness key: %v", err)
	}
	// A checkpoint signed by another key is not cosigned, and nothing is written.
	_, otherV, _ := note.GenerateKey(rand.Reader, "acme-log")
	out := t.TempDir()
	if _, err := Run(ctx, Options{Site: l.dir, Key: wskey, LogKey: otherV, StateDir: t.TempDir(), Out: out}); !errors.Is(err, translog.ErrCheckpoint) {
		t.Errorf("checkpoint under another key: %v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("wrote %v after a refusal", ents)
	}
	// No index.json and no --log-key: nothing to pin.
	if _, err := Run(ctx, Options{Site: l.dir, Key: wskey, StateDir: t.TempDir(), Out: out}); err == nil || !strings.Contains(err.Error(), "index.json") {
		t.Errorf("no key to pin: %v", err)
	}
}

// siteBuilder makes an empty git repository at tmp/repo and returns it
// with a function that builds its signed site into tmp/NAME, generated
// at 2026-01-01 plus at, on the previous site prev ("" for none),
// trusting trust (nil: only the signer's key): the registry a key
// rotation test walks through.
func siteBuilder(t *testing.T, tmp string) (*gitfixture.Repo, func(name string, s *sign.Signer, trust *sign.Verifier, prev string, at time.Duration) string) {
	t.Helper()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	testutil.Must(t, err)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return r, func(name string, s *sign.Signer, trust *sign.Verifier, prev string, at time.Duration) string {
		t.Helper()
		out := filepath.Join(tmp, name)
		if _, err := build.Run(context.Background(), build.Options{Repo: r.Dir, Out: out, History: true, Registry: "acme", Signer: s, Trust: trust, Previous: prev, GeneratedAt: t0.Add(at), ExpiresIn: 10 * 365 * 24 * time.Hour}); err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
		return out
	}
}

// TestWitnessFollowsRotation: a registry rotates its key as
// docs/SECURITY.md says (the log key rotates with it, the log goes on).
// A witness given the registry's keys follows: it checks the new log
// extends the tree it cosigned under the old key, cosigns under the new
// one and pins it, keeping what it followed in its state. Without the
// registry's keys it refuses and says how to follow; a new log that
// does not extend the cosigned tree is refused whatever key signs it.
func TestWitnessFollowsRotation(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	r, build1 := siteBuilder(t, tmp)
	testutil.WritePack(t, r, "packs/calico", "calico", "1.0.0", "addon", "a: 1\n")
	testutil.WritePack(t, r, "packs/metallb", "metallb", "v0.13", "addon", "b: 1\n")
	testutil.Commit(t, r, "one")
	oldKey, newKey, forgedKey := testutil.NewKey(t), testutil.NewKey(t), testutil.NewKey(t)
	keys := func(ks ...*testutil.Key) *sign.Verifier {
		var pems [][]byte
		for _, k := range ks {
			pems = append(pems, k.Pub)
		}
		v, err := sign.NewVerifierSet(pems...)
		testutil.Must(t, err)
		return v
	}
	_, _, wskey, wvkey := newKeys(t, "w1.example")
	wv, err := translog.NewWitnessVerifier(wvkey)
	testutil.Must(t, err)
	state, out := filepath.Join(tmp, "state"), filepath.Join(tmp, "out")
	run := func(site string, reg *sign.Verifier) (*Result, error) {
		o := Options{Site: site, Key: wskey, StateDir: state, Out: out}
		if reg != nil {
			o.RegistryKey = reg
		}
		return Run(ctx, o)
	}

	v1 := build1("v1", oldKey.Signer, nil, "", 0)
	res, err := run(v1, keys(oldKey))
	if err != nil || !res.Pinned {
		t.Fatalf("first run: %+v %v", res, err)
	}
	oldLog := res.LogKey

	// The rotation: a release more, signed by the new key, extending
	// the log of the build verified under the old one.
	testutil.WritePack(t, r, "packs/falco", "falco", "4.2.5", "addon", "f: 1\n")
	testutil.Commit(t, r, "two")
	v2 := build1("v2", newKey.Signer, keys(oldKey, newKey), v1, time.Hour)

	// attackX F4: the same key's next build with the previous
	// checkpoint (genuinely signed, 2 entries) put back: refused, with
	// the registry's key or without (index.json read only to refuse),
	// never cosigned, which would hold witnessed clients at 2 entries.
	stale := filepath.Join(tmp, "stale")
	build1("stale", oldKey.Signer, nil, v1, 30*time.Minute)
	testutil.Must(t, os.WriteFile(filepath.Join(stale, translog.CheckpointPath), testutil.ReadFile(t, filepath.Join(v1, translog.CheckpointPath)), 0o644))
	for _, reg := range []*sign.Verifier{keys(oldKey), nil} {
		if res, err := run(stale, reg); !errors.Is(err, ErrNotYet) || !strings.Contains(err.Error(), "a tree of 2 entries, and its index.json names 3") || res == nil || res.Size != 2 {
			t.Fatalf("a checkpoint behind index.json (registry key %v): %+v %v", reg != nil, res, err)
		}
	}

	// Not given the registry's keys, the witness cannot tell a rotation
	// from a swapped log: refused, saying how to follow.
	if _, err := run(v2, nil); !errors.Is(err, ErrLogKey) || !strings.Contains(err.Error(), "--registry-key") || !strings.Contains(err.Error(), oldLog) {
		t.Fatalf("rotation without the registry's keys: %v", err)
	}
	// Given only the old registry key, the new index does not verify.
	if _, err := run(v2, keys(oldKey)); err == nil {
		t.Fatal("rotation verified under the old registry key alone")
	}
	if got, _ := os.ReadFile(filepath.Join(state, stateLogKey)); strings.TrimSpace(string(got)) != oldLog {
		t.Fatalf("a refused run moved the pinned key to %q", got)
	}

	// Mid-publish: the rotated index.json is out, the checkpoint is still
	// the old log's. Not yet: run again (the state does not move).
	lag := filepath.Join(tmp, "lag")
	testutil.CopyDir(t, v2, lag)
	testutil.Must(t, os.WriteFile(filepath.Join(lag, translog.CheckpointPath), testutil.ReadFile(t, filepath.Join(v1, translog.CheckpointPath)), 0o644))
	if _, err := run(lag, keys(oldKey, newKey)); !errors.Is(err, ErrNotYet) || !strings.Contains(err.Error(), "run again") {
		t.Fatalf("a rotation being published: %v", err)
	}
	// Without the registry's keys, the lagging index.json (read
	// unverified) names another log: its size says nothing of the
	// pinned log's checkpoint, the tree cosigned last, which is not
	// "behind" it.
	if res, err := run(lag, nil); err != nil || res.LogKey != oldLog || res.Size != 2 {
		t.Fatalf("the pinned log's checkpoint beside an index.json naming another log: %+v %v", res, err)
	}
	if got, _ := os.ReadFile(filepath.Join(state, stateLogKey)); strings.TrimSpace(string(got)) != oldLog {
		t.Fatalf("the run moved the pinned key to %q", got)
	}

	res, err = run(v2, keys(oldKey, newKey))
	if err != nil || !res.Pinned || res.RotatedFrom != oldLog || res.LogKey == oldLog || res.Previous != 2 || res.Size != 3 {
		t.Fatalf("following the rotation: %+v %v", res, err)
	}
	// A run killed between the state's two files (the new checkpoint
	// written, the old key still pinned) is finished by the next one.
	testutil.Must(t, os.WriteFile(filepath.Join(state, stateLogKey), []byte(oldLog+"\n"), 0o600))
	if res, err = run(v2, keys(oldKey, newKey)); err != nil || res.RotatedFrom != oldLog || res.Previous != 3 {
		t.Fatalf("after a run killed mid-rotation: %+v %v", res, err)
	}
	co, err := os.ReadFile(res.File)
	testutil.Must(t, err)
	if c, names, err := translog.OpenCosigned(co, res.LogKey, []note.Verifier{wv}); err != nil || c.Tree.N != 3 || len(names) != 1 {
		t.Fatalf("the cosignature after the rotation: %v %v %v", c, names, err)
	}
	if got, _ := os.ReadFile(filepath.Join(state, stateLogKey)); strings.TrimSpace(string(got)) != res.LogKey {
		t.Fatalf("pinned after the rotation: %q, want %q", got, res.LogKey)
	}
	kept, _ := filepath.Glob(filepath.Join(state, "rotation-*", "log.key.before"))
	if len(kept) != 2 {
		t.Fatalf("the rotation's record in the state: %v", kept)
	}
	newLog := res.LogKey
	// The next run under the new key is an ordinary one.
	if res, err = run(v2, keys(oldKey, newKey)); err != nil || res.Pinned || res.RotatedFrom != "" {
		t.Fatalf("after the rotation: %+v %v", res, err)
	}

	// A registry key that signs a log of its own (built afresh, not from
	// the published registry) is no rotation: its tree does not extend
	// what was cosigned.
	forged := build1("forged", forgedKey.Signer, nil, "", 2*time.Hour)
	_, err = run(forged, keys(oldKey, newKey, forgedKey))
	if !errors.Is(err, ErrFork) && !errors.Is(err, ErrRollback) {
		t.Fatalf("a new log that does not extend the cosigned tree: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(state, stateLogKey)); strings.TrimSpace(string(got)) != newLog {
		t.Fatalf("the refused log was pinned: %q", got)
	}
}

// TestWitnessRefusesReplayedRotation: a witness given both registry keys
// (as a planned rotation says) followed a rotation that added no entry;
// the bucket (no key) then serves the old generation again. The witness
// must not follow it back to the retired log key (re-pinning it and
// filing a rotation that never happened, attackR F8), nor follow a
// rotation named by an index.json older than one it read before.
func TestWitnessRefusesReplayedRotation(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	r, site := siteBuilder(t, tmp)
	testutil.WritePack(t, r, "packs/calico", "calico", "1.0.0", "addon", "a: 1\n")
	testutil.Commit(t, r, "one")
	k1, k2, k3 := testutil.NewKey(t), testutil.NewKey(t), testutil.NewKey(t)
	all, err := sign.NewVerifierSet(k1.Pub, k2.Pub, k3.Pub)
	testutil.Must(t, err)
	v1 := site("v1", k1.Signer, all, "", 0)
	v2 := site("v2", k2.Signer, all, v1, time.Hour) // a rotation, same commit: no new entry
	v3 := site("v3", k3.Signer, all, v2, 2*time.Hour)
	_, _, wskey, _ := newKeys(t, "w1.example")
	state, out := filepath.Join(tmp, "state"), filepath.Join(tmp, "out")
	run := func(site string) (*Result, error) {
		return Run(ctx, Options{Site: site, Key: wskey, StateDir: state, Out: out, RegistryKey: all})
	}
	pinned := func() string {
		b, _ := os.ReadFile(filepath.Join(state, stateLogKey))
		return strings.TrimSpace(string(b))
	}
	rotations := func() int { m, _ := filepath.Glob(filepath.Join(state, "rotation-*")); return len(m) }

	res, err := run(v1)
	testutil.Must(t, err)
	key1 := res.LogKey
	res, err = run(v2)
	testutil.Must(t, err)
	key2 := res.LogKey
	if res.RotatedFrom != key1 || rotations() != 1 {
		t.Fatalf("the genuine rotation: %+v, %d rotation dirs", res, rotations())
	}

	// The old generation replayed: refused, the pin and the audit trail
	// as they were.
	if _, err := run(v1); !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), "which this witness rotated away from") {
		t.Errorf("a replayed old index.json: %v", err)
	}
	if pinned() != key2 || rotations() != 1 {
		t.Errorf("after the replay: pinned the new key %v, %d rotation dirs (want 1)", pinned() == key2, rotations())
	}
	if _, err := run(v2); err != nil {
		t.Errorf("the genuine site again: %v", err)
	}

	// A rotation to a key never retired, named by an index.json older
	// than one read before (the state says a serial past v3's): refused too.
	testutil.Must(t, os.WriteFile(filepath.Join(state, stateSerial), []byte("9999999999\n"), 0o600))
	if _, err := run(v3); !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), "read serial 9999999999 before") {
		t.Errorf("a rotation named by an older index.json: %v", err)
	}
	testutil.Must(t, os.Remove(filepath.Join(state, stateSerial)))
	if res, err := run(v3); err != nil || res.RotatedFrom != key2 || pinned() != res.LogKey || rotations() != 2 {
		t.Errorf("the next genuine rotation: %+v %v", res, err)
	}
}
