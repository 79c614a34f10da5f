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
