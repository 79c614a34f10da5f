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
)

// TestWitnessRefusesReplayedRotation: a witness given both registry keys
// (as a planned rotation says) followed a rotation that added no entry;
// the bucket (no key) then serves the old generation again. The witness
// must not follow it back to the retired log key (re-pinning it and
// filing a rotation that never happened, attackR F8), nor follow a
// rotation named by an index.json older than one it read before.
func TestWitnessRefusesReplayedRotation(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	testutil.Must(t, err)
	testutil.WritePack(t, r, "packs/calico", "calico", "1.0.0", "addon", "a: 1\n")
	testutil.Commit(t, r, "one")
	k1, k2, k3 := testutil.NewKey(t), testutil.NewKey(t), testutil.NewKey(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all, err := sign.NewVerifierSet(k1.Pub, k2.Pub, k3.Pub)
	testutil.Must(t, err)
	site := func(name string, k *testutil.Key, previous string, at time.Duration) string {
		out := filepath.Join(tmp, name)
		_, err := build.Run(ctx, build.Options{Repo: r.Dir, Out: out, History: true, Registry: "acme", Signer: k.Signer, Trust: all, Previous: previous, GeneratedAt: t0.Add(at), ExpiresIn: 10 * 365 * 24 * time.Hour})
		testutil.Must(t, err)
		return out
	}
	v1 := site("v1", k1, "", 0)
	v2 := site("v2", k2, v1, time.Hour) // a rotation, same commit: no new entry
	v3 := site("v3", k3, v2, 2*time.Hour)
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
