package publish

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/witness"
)

// TestAttackOCIWitnessReplayedCheckpoint: whoever can push to the
// registry puts the log's own signed checkpoint (genuine, of more
// entries than the witness cosigned, but cosigned by nobody) under
// witness-w1. A publish must not keep it as "the witness published a
// newer one": that would drop the witness's real cosignature at every
// publish until the witness caught up, while saying all is well. It
// holds no line named w1, so it is replaced. (A line named w1 forged
// on it is not caught: the publisher holds no witness key; clients
// check the cosignature.)
func TestAttackOCIWitnessReplayedCheckpoint(t *testing.T) {
	reg, f := ociSetup(t, ocitest.Anonymous)
	ctx := context.Background()
	f.pack("calico", "3.27.3", "a: 1\n")
	site := f.build(t)
	skey, _, err := translog.GenerateWitnessKey(rand.Reader, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := witness.Run(ctx, witness.Options{Site: site, Key: skey, StateDir: t.TempDir(), Out: site}); err != nil {
		t.Fatal(err)
	}
	f.pack("cilium", "1.15.0", "b: 1\n")
	site2 := f.build(t) // carries w1's cosignature of the first log
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site2, dest)
	plain, err := os.ReadFile(filepath.Join(site2, translog.CheckpointPath))
	if err != nil {
		t.Fatal(err)
	}
	p := translog.WitnessPath("w1")
	m, err := ocimap.WitnessManifest(p, plain)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ocireg.Repository(ctx, reg.Host()+"/acme/packgen/index", ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := pushNew(ctx, idx, m.Layers[0], plain); err != nil {
		t.Fatal(err)
	}
	if err := pushManifest(ctx, idx, m, "witness-w1"); err != nil {
		t.Fatal(err)
	}
	tagRef := reg.Host() + "/acme/packgen/index:witness-w1"
	pub := mustPublish(t, reg, f, site2, dest)
	if slices.Contains(pub.Kept, tagRef) || !slices.Contains(pub.Uploaded, tagRef) {
		t.Fatalf("a replayed plain checkpoint under the witness tag: kept %v, uploaded %v", pub.Kept, pub.Uploaded)
	}
	cos, _ := os.ReadFile(filepath.Join(site2, p))
	if _, lm, _, err := fetchManifest(ctx, idx, "witness-w1"); err != nil || string(lm.Layers[0].Data) != string(cos) {
		t.Fatalf("the witness tag does not hold w1's cosignature: %v", err)
	}
}
