package profile

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/witness"
)

// A profile resolved and fetched from a registry whose client requires a
// witness: every layer (each fetched on a fork of the registry's client,
// in parallel) is checked against the witness's cosignature, read once.
func TestProfileWithWitness(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	site := filepath.Join(reg.tmp, "site1")
	skey, vkey, err := translog.GenerateWitnessKey(rand.Reader, "w1")
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := translog.GenerateWitnessKey(rand.Reader, "w2")
	if _, err := witness.Run(ctx, witness.Options{Site: site, Key: skey, StateDir: t.TempDir(), Out: site}); err != nil {
		t.Fatal(err)
	}
	p, err := Load(filepath.Join(copyProfiles(t), "aws-prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env := func(quorum int, keys ...string) *Env {
		e := reg.env(t.TempDir())
		e.Registries[0].Witnesses, e.Registries[0].WitnessQuorum = keys, quorum
		return e
	}
	res, err := Resolve(ctx, p, env(1, vkey), ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(ctx, res.Lock, env(1, vkey, other), FetchOptions{Dest: filepath.Join(t.TempDir(), "d"), Jobs: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(ctx, res.Lock, env(2, vkey, other), FetchOptions{Dest: filepath.Join(t.TempDir(), "d"), Jobs: 4}); !errors.Is(err, client.ErrNotWitnessed) {
		t.Fatalf("two witnesses required, one signed: %v", err)
	}
}
