package publish

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/witness"
)

// cosignSite runs the witness of signing key wsk (its state in state)
// over the site at raw, read through a transport of config c opened for
// this run (a process reads one generation), trusting f's key; it
// writes the cosignature into out.
func cosignSite(t *testing.T, f *fixture, raw string, c transport.Config, wsk, state, out string) *witness.Result {
	t.Helper()
	loc, err := location.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	src, err := transport.Open(loc, c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := witness.Run(context.Background(), witness.Options{Site: raw, Source: src, Key: wsk, RegistryKey: f.verifier(t), StateDir: state, Out: out})
	if err != nil {
		t.Fatalf("witness of %s: %v", raw, err)
	}
	return res
}

// TestOCIWitness: witness cosignatures in a real registry. A witness
// cosigns the log read from the registry (oci://); publishing the site
// with its file pushes it under witness-NAME (the index is current, so
// that is all a publish does); a client requiring that witness fetches
// through OCI, one requiring another witness too is refused; the next
// build's publish (a new root) and --prune keep the tag; a site whose
// witness file is older than the registry's does not roll it back; a
// witness file of another log is refused before anything is pushed.
func TestOCIWitness(t *testing.T) {
	reg, f := ociSetup(t, ocitest.Anonymous)
	f.pack("calico", "3.27.3", "a: 1\n")
	f.pack("cilium", "1.15.0", "b: 1\n")
	site1 := f.build(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site1, dest)
	oo := ocireg.Options{PlainHTTP: true}

	wkey := func(name string) (string, string) {
		sk, vk, err := translog.GenerateWitnessKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		return sk, vk
	}
	w1s, w1v := wkey("w1.example")
	_, w2v := wkey("w2.example")
	state := t.TempDir()
	run := func(out string) *witness.Result {
		t.Helper()
		return cosignSite(t, f, dest, transport.Config{OCI: oo}, w1s, state, out)
	}
	res := run(site1)
	if res.Size != 2 {
		t.Fatalf("witness cosigned %d entries, want 2", res.Size)
	}
	p := translog.WitnessPath("w1.example")
	cos1, err := os.ReadFile(filepath.Join(site1, p))
	if err != nil {
		t.Fatal(err)
	}

	// The index is current: the publish pushes the witness file alone.
	// Requests are counted from the registry's access log, once settled
	// (the registry writes a line after its response).
	since := func(n int) (all, witness int) {
		log := reg.AccessLog()[n:]
		for _, l := range log {
			if strings.Contains(l, "witness-") {
				witness++
			}
		}
		return len(log), witness
	}
	n := len(reg.AccessLog())
	pub := mustPublish(t, reg, f, site1, dest)
	tagRef := reg.Host() + "/acme/packgen/index:witness-w1.example"
	if !slices.Contains(pub.Uploaded, tagRef) {
		t.Fatalf("publish uploaded %v, want %s", pub.Uploaded, tagRef)
	}
	all, wit := since(n)
	t.Logf("publish of a new witness file, index current: %d requests, %d to the witness tag", all, wit)
	n = len(reg.AccessLog())
	if pub = mustPublish(t, reg, f, site1, dest); len(pub.Uploaded) != 0 {
		t.Fatalf("a publish with nothing new uploaded %v", pub.Uploaded)
	}
	if all, wit := since(n); wit != 1 {
		t.Fatalf("a publish with the witness file there already: %d requests, %d to the witness tag (want 1)", all, wit)
	} else {
		t.Logf("publish with nothing new: %d requests, %d to the witness tag", all, wit)
	}
	idx, err := ocireg.Repository(ctx, reg.Host()+"/acme/packgen/index", oo)
	if err != nil {
		t.Fatal(err)
	}
	_, m, _, err := fetchManifest(ctx, idx, "witness-w1.example")
	if err != nil || len(m.Layers) != 1 || ocimap.Title(m.Layers[0]) != p || !bytes.Equal(m.Layers[0].Data, cos1) {
		t.Fatalf("witness manifest: %v %+v", err, m)
	}
	if ocimap.IsMetaManifest(m) {
		t.Fatal("a witness manifest has the shape of a meta manifest: prune would delete it if a meta tag named it")
	}

	fetch := func(quorum int, keys ...string) error {
		r := client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true, Witnesses: keys, WitnessQuorum: quorum}
		c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Fetch(ctx, client.FetchOptions{Name: "calico", Dest: filepath.Join(t.TempDir(), "out")})
		return err
	}
	n = len(reg.AccessLog())
	if err := fetch(0); err != nil {
		t.Fatalf("fetch without witnesses: %v", err)
	}
	plain, _ := since(n)
	n = len(reg.AccessLog())
	if err := fetch(1, w1v); err != nil {
		t.Fatalf("fetch with one witness that cosigned: %v", err)
	}
	// One more request per witness: its manifest, the file embedded.
	if all, wit := since(n); wit != 1 || all != plain+1 {
		t.Fatalf("a fetch with one witness: %d requests (%d to the witness tag), %d without", all, wit, plain)
	} else {
		t.Logf("cold fetch: %d requests without witnesses, %d with one", plain, all)
	}
	if err := fetch(2, w1v, w2v); !errors.Is(err, client.ErrNotWitnessed) || !strings.Contains(err.Error(), "w2.example: no cosigned checkpoint at log/witness/w2.example") {
		t.Fatalf("fetch with a witness that did not cosign: %v", err)
	}

	// A new generation (built from site1, carrying its witness file) and
	// --prune: the tag stays, and still counts for the old releases.
	f.pack("flannel", "0.24.0", "c: 1\n")
	site2 := f.build(t)
	res2, err := To(ctx, site2, dest, ociOptions(reg, true, f), Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res2.Deleted, tagRef) {
		t.Fatalf("prune deleted the witness tag: %v", res2.Deleted)
	}
	if _, _, _, err := fetchManifest(ctx, idx, "witness-w1.example"); err != nil {
		t.Fatalf("after publish --prune: %v", err)
	}
	if err := fetch(1, w1v); err != nil {
		t.Fatalf("fetch after a new generation: %v", err)
	}

	// The witness runs again (3 entries) and its file is published; a
	// publish of a site holding the older one keeps the newer.
	out := t.TempDir()
	if res := run(out); res.Size != 3 || res.Previous != 2 {
		t.Fatalf("second witness run: %+v", res)
	}
	cos2, err := os.ReadFile(filepath.Join(out, p))
	if err != nil {
		t.Fatal(err)
	}
	filetest.WriteFile(t, filepath.Join(site2, p), cos2)
	if pub := mustPublish(t, reg, f, site2, dest); !slices.Contains(pub.Uploaded, tagRef) {
		t.Fatalf("the newer cosignature was not pushed: %v", pub.Uploaded)
	}
	filetest.WriteFile(t, filepath.Join(site2, p), cos1)
	pub = mustPublish(t, reg, f, site2, dest)
	if slices.Contains(pub.Uploaded, tagRef) || !slices.Contains(pub.Kept, tagRef) {
		t.Fatalf("an older cosignature replaced a newer one: uploaded %v, kept %v", pub.Uploaded, pub.Kept)
	}
	if _, m, _, _ := fetchManifest(ctx, idx, "witness-w1.example"); !bytes.Equal(m.Layers[0].Data, cos2) {
		t.Fatal("the registry's witness file is not the newer one")
	}

	// A promotion to another base copies the witness tags it lists.
	prod := "oci://" + reg.Host() + "/prod"
	popts := ociOptions(reg, false, f)
	popts.OCI.Verify = f.verifier(t)
	popts.OCI.Source = func(loc location.Location) (transport.Transport, error) {
		return transport.Open(loc, transport.Config{OCI: oo})
	}
	if _, err := To(ctx, dest, prod, popts, Options{}); err != nil {
		t.Fatalf("promote %s to %s: %v", dest, prod, err)
	}
	pidx, err := ocireg.Repository(ctx, reg.Host()+"/prod/packgen/index", oo)
	if err != nil {
		t.Fatal(err)
	}
	if _, m, _, err := fetchManifest(ctx, pidx, "witness-w1.example"); err != nil || !bytes.Equal(m.Layers[0].Data, cos2) {
		t.Fatalf("promoted witness tag: %v", err)
	}

	// A witness file that is not a checkpoint of this log: refused,
	// nothing pushed.
	filetest.WriteFile(t, filepath.Join(site2, translog.WitnessPath("w9.example")), []byte("other\n3\nAAAA\n\n— other x\n"))
	_, err = To(ctx, site2, dest, ociOptions(reg, true, f), Options{})
	if !errors.Is(err, ErrWitnessFile) || !strings.Contains(err.Error(), "log/witness/w9.example") {
		t.Fatalf("a bad witness file: %v", err)
	}
	if _, _, _, err := fetchManifest(ctx, idx, "witness-w9.example"); !ocireg.IsNotFound(err) {
		t.Fatalf("a refused witness file was pushed: %v", err)
	}
}
