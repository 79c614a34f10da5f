package witness

import (
	"context"
	"errors"
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
)

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
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	testutil.Must(t, err)
	testutil.WritePack(t, r, "packs/calico", "calico", "1.0.0", "addon", "a: 1\n")
	testutil.WritePack(t, r, "packs/metallb", "metallb", "v0.13", "addon", "b: 1\n")
	testutil.Commit(t, r, "one")
	oldKey, newKey, forgedKey := testutil.NewKey(t), testutil.NewKey(t), testutil.NewKey(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	build1 := func(name string, s *sign.Signer, trust *sign.Verifier, prev string, at time.Duration) string {
		t.Helper()
		out := filepath.Join(tmp, name)
		if _, err := build.Run(ctx, build.Options{Repo: r.Dir, Out: out, History: true, Registry: "acme", Signer: s, Trust: trust, Previous: prev, GeneratedAt: t0.Add(at)}); err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
		return out
	}
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

	res, err = run(v2, keys(oldKey, newKey))
	if err != nil || !res.Pinned || res.RotatedFrom != oldLog || res.LogKey == oldLog || res.Previous != 2 || res.Size != 3 {
		t.Fatalf("following the rotation: %+v %v", res, err)
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
	if len(kept) != 1 {
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
