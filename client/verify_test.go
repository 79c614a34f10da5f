package client

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// verify --site -o json: each problem is in the shape every -o json uses
// (pack/meta.Problem), and decodes back.
func TestSiteProblemJSON(t *testing.T) {
	for _, c := range []struct {
		p    SiteProblem
		want string
	}{
		{SiteProblem{Path: "index.json", Err: "index expired: expired at 2026-01-01T00:00:00Z"},
			`{"file":"index.json","severity":"error","message":"index expired: expired at 2026-01-01T00:00:00Z"}`},
		{SiteProblem{Path: "packs/a/1.0.0/a-1.0.0.tar.gz", Err: "digest mismatch"},
			`{"file":"packs/a/1.0.0/a-1.0.0.tar.gz","severity":"error","message":"digest mismatch"}`},
	} {
		testutil.JSONRoundTrip(t, c.p, c.want)
	}
}

// TestVerifySiteLiveSignature: a signed site whose live index.json.sig
// (or bundle) is missing or signs something else fails no client (they
// verify the signature named by index.json's digest), but the
// documented `cosign verify-blob --signature index.json.sig` cannot
// pass: a warning naming the file, never silence, never a problem.
func TestVerifySiteLiveSignature(t *testing.T) {
	f := newFixture(t)
	v := mustVerifier(t, f.pub)
	_, otherPub, err := sign.Generate(sign.ECDSAP256, sign.StaticPass([]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	other := mustVerifier(t, otherPub)
	sig, bundle := index.RootFile+index.SignatureExt, index.RootFile+index.BundleExt
	for _, tc := range []struct {
		name   string
		tamper func(site string)
		file   string // "": no warning
		msg    string
		// keyless: what the warning says without a key (""; msg): the
		// copies are compared with what they copy, which needs none.
		keyless string
	}{
		{"as built", func(string) {}, "", "", ""},
		{"index.json.sig missing", func(site string) { os.Remove(filepath.Join(site, sig)) }, sig, "missing", ""},
		{"bundle missing", func(site string) { os.Remove(filepath.Join(site, bundle)) }, bundle, "missing", ""},
		{"index.json.sig of an archive", func(site string) {
			data, err := os.ReadFile(filepath.Join(site, "packs/calico/1.0.0/calico-1.0.0.tar.gz.sig"))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(site, sig), data, 0o644)
		}, sig, "does not sign index.json", "not a copy of signatures/"},
		// attackX F4: a junk bundle fails `cosign verify-blob --bundle`.
		{"bundle of an archive", func(site string) {
			testutil.Must(t, os.WriteFile(filepath.Join(site, bundle), testutil.ReadFile(t, filepath.Join(site, "packs/calico/1.0.0/calico-1.0.0.tar.gz.sigstore.json")), 0o644))
		}, bundle, "not a Sigstore bundle carrying the signature in index.json.sig", ""},
		// Over sign.MaxSigFileSize, within sign.MaxBundleSize: publish
		// accepts it (walk's BundleOf), so verify warns of nothing.
		{"bundle over 16 KiB", func(site string) {
			p := filepath.Join(site, bundle)
			testutil.Must(t, os.WriteFile(p, append(bytes.Repeat([]byte(" "), int(sign.MaxSigFileSize)), testutil.ReadFile(t, p)...), 0o644))
		}, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := filepath.Join(t.TempDir(), "site")
			testutil.CopyDir(t, f.sites[1], site)
			tc.tamper(site)
			for _, loc := range []string{site, newServer(t, site).URL} {
				// Another key: the root's signature is the problem, not
				// a warning that index.json.sig does not sign it (a
				// missing file is missing whatever the key).
				if rep, err := VerifySite(context.Background(), loc, other); err != nil || len(rep.Problems) == 0 || (tc.msg != "missing" && len(rep.Warnings) != 0) {
					t.Errorf("%s, another key: %v, problems %+v, warnings %+v", loc, err, rep.Problems, rep.Warnings)
				}
				for _, key := range []*sign.Verifier{v, nil} {
					msg := tc.msg
					if key == nil && tc.keyless != "" {
						msg = tc.keyless
					}
					rep, err := VerifySite(context.Background(), loc, key)
					if err != nil || len(rep.Problems) != 0 {
						t.Fatalf("%s, key %v: %v, problems %+v", loc, key != nil, err, rep.Problems)
					}
					switch {
					case tc.file == "" && len(rep.Warnings) != 0:
						t.Errorf("%s, key %v: warnings %+v", loc, key != nil, rep.Warnings)
					case tc.file != "" && (len(rep.Warnings) != 1 || rep.Warnings[0].Path != tc.file || !strings.Contains(rep.Warnings[0].Err, msg)):
						t.Errorf("%s, key %v: warnings %+v, want one on %s saying %q", loc, key != nil, rep.Warnings, tc.file, msg)
					}
				}
			}
		})
	}
}

// TestVerifySiteArchiveBundle: the signed shard names each release's
// Sigstore bundle (FORMAT.md, Shard: "bundle") beside its .sig. Clients
// verify the .sig, but the bundle is a file of the registry the index
// lists (publish refuses a site without it): verify --site reports one
// missing, or one that carries another signature, as a problem on that
// file saying what to do. It once said nothing.
func TestVerifySiteArchiveBundle(t *testing.T) {
	f := newFixture(t)
	v := mustVerifier(t, f.pub)
	const bundle = "packs/calico/1.0.0/calico-1.0.0.tar.gz.sigstore.json"
	for _, tc := range []struct {
		name   string
		tamper func(site string)
		msg    string // "": no problem
	}{
		{"as built", func(string) {}, ""},
		{"missing", func(site string) { testutil.Must(t, os.Remove(filepath.Join(site, bundle))) }, "the signed shard lists it as the Sigstore bundle of calico-1.0.0.tar.gz"},
		{"another release's", func(site string) {
			data := testutil.ReadFile(t, filepath.Join(site, "packs/calico/1.2.0/calico-1.2.0.tar.gz.sigstore.json"))
			testutil.Must(t, os.WriteFile(filepath.Join(site, bundle), data, 0o644))
		}, "not a Sigstore bundle carrying the signature in calico-1.0.0.tar.gz.sig"},
		// A .sig that does not verify is its own problem, not also its
		// bundle's: the bundle is compared only with a .sig that verified.
		{"the .sig another release's", func(site string) {
			data := testutil.ReadFile(t, filepath.Join(site, "packs/calico/1.2.0/calico-1.2.0.tar.gz.sig"))
			testutil.Must(t, os.WriteFile(filepath.Join(site, "packs/calico/1.0.0/calico-1.0.0.tar.gz.sig"), data, 0o644))
		}, "bad signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := filepath.Join(t.TempDir(), "site")
			testutil.CopyDir(t, f.sites[1], site)
			tc.tamper(site)
			// Without a key the bundle is compared with the .sig all the
			// same (as publish without one compares them): a .sig of
			// another release is then its bundle's problem.
			for _, key := range []*sign.Verifier{v, nil} {
				want, msg, advice := bundle, tc.msg, "publish the site again"
				if strings.Contains(tc.name, ".sig") {
					if key != nil {
						want, advice = "packs/calico/1.0.0/calico-1.0.0.tar.gz", ""
					} else {
						msg = "not a Sigstore bundle carrying the signature in calico-1.0.0.tar.gz.sig"
					}
				}
				for _, loc := range []string{site, newServer(t, site).URL} {
					rep, err := VerifySite(context.Background(), loc, key)
					if err != nil {
						t.Fatal(err)
					}
					switch {
					case msg == "" && len(rep.AllProblems()) != 0:
						t.Errorf("%s (key %t): problems %+v", loc, key != nil, rep.AllProblems())
					case msg != "" && (len(rep.AllProblems()) != 1 || rep.Problems[0].Path != want || !strings.Contains(rep.Problems[0].Err, msg) || !strings.Contains(rep.Problems[0].Err, advice)):
						t.Errorf("%s (key %t): problems %+v, want one on %s saying %q", loc, key != nil, rep.AllProblems(), want, msg)
					}
				}
			}
		})
	}
}
