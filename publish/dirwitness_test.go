package publish

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/witness"
)

// TestDirWitnessAndMarker: a directory (or S3) publish keeps the OCI
// publisher's rules for what others put into a registry (attackR F6): a
// witness's newer cosignature on the destination is not replaced by the
// site's older copy, a witness file that is not a cosigned checkpoint of
// this log is refused before anything is written, and an airgap.json in
// the site is never uploaded (only airgap import writes one).
func TestDirWitnessAndMarker(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	site1 := f.build(t)
	dst := filepath.Join(t.TempDir(), "www")
	if _, err := Publish(ctx, site1, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	wsk, _, err := translog.GenerateWitnessKey(rand.Reader, "w1.example")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cosign := func(site, out string) {
		t.Helper()
		loc, err := location.Parse(site)
		if err != nil {
			t.Fatal(err)
		}
		src, err := transport.Open(loc, transport.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := witness.Run(ctx, witness.Options{Site: site, Source: src, Key: wsk, RegistryKey: f.verifier(t), StateDir: state, Out: out}); err != nil {
			t.Fatalf("witness of %s: %v", site, err)
		}
	}
	p := translog.WitnessPath("w1.example")
	cosign(site1, site1) // the site's copy: one entry

	f.pack("metallb", "0.13.0", "b: 1\n")
	site2 := f.build(t) // staged from site1: carries its witness file as it is
	if _, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	cosign(dst, dst) // the witness writes its newer one into the served directory
	newer, err := os.ReadFile(filepath.Join(dst, p))
	if err != nil {
		t.Fatal(err)
	}
	older, err := os.ReadFile(filepath.Join(site2, p))
	if err != nil || bytes.Equal(older, newer) {
		t.Fatalf("the site's witness file should be the older one: %v", err)
	}

	// The same site published again, with a marker it picked up.
	if err := os.WriteFile(filepath.Join(site2, index.AirgapFile), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, p)); !bytes.Equal(got, newer) {
		t.Errorf("the witness's newer cosignature was replaced by the site's older copy")
	}
	if !slices.Contains(res.Kept, p) || slices.Contains(res.Uploaded, p) {
		t.Errorf("%s: uploaded %v, kept %v", p, res.Uploaded, res.Kept)
	}
	if _, err := os.Stat(filepath.Join(dst, index.AirgapFile)); err == nil || slices.Contains(res.Uploaded, index.AirgapFile) {
		t.Errorf("the site's %s was published", index.AirgapFile)
	}

	// A witness file that is not a cosigned checkpoint of this log:
	// refused, nothing written.
	if err := os.WriteFile(filepath.Join(site2, p), []byte("older cosignature\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dst, p)); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{}); !errors.Is(err, ErrWitnessFile) {
		t.Fatalf("a site with a witness file that is no checkpoint: %v, want ErrWitnessFile", err)
	}
	if _, err := os.Stat(filepath.Join(dst, p)); err == nil {
		t.Errorf("the refused witness file was written")
	}
}
