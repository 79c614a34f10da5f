package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/gitsafe"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// TestCheckInputs: each input CheckInputs refuses, with its sentinel,
// and what it lets through (what Run reports itself), on a real
// repository and real previous builds (a directory, over HTTP).
func TestCheckInputs(t *testing.T) {
	// site is dated by its commit (2024) and a year's expiry: expired, as
	// an older generation replayed at --previous is (attackR F1).
	tmp, r, clean, site := builtCalico(t, "packs/calico-3.27.0", "3.27.0")
	live := filepath.Join(tmp, "live")
	built(t, r.Dir, live, func(o *Options) { o.GeneratedAt = time.Now() })
	// A second repository whose latest commit holds a private key.
	keyed, err := gitfixture.Init(filepath.Join(tmp, "keyed"))
	must(t, err)
	writePack(t, keyed, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "")
	must(t, keyed.Write("ci/registry.key", testutil.NewKey(t).Priv(t)))
	commit(t, keyed, "oops")
	srv := httptest.NewServer(http.FileServer(http.Dir(live)))
	expired := httptest.NewServer(http.FileServer(http.Dir(site)))
	t.Cleanup(expired.Close)
	t.Cleanup(srv.Close)
	empty := t.TempDir()
	now := time.Now()

	for _, tc := range []struct {
		name     string
		o        Options
		optional bool
		want     error  // nil: accepted
		msg      string // what the error says
		expires  bool   // the expiry is known (the commit was read)
	}{
		{name: "clean", o: Options{Repo: r.Dir, PacksDir: "packs"}, expires: true},
		{name: "no repository: Run reports it", o: Options{Repo: filepath.Join(tmp, "nope")}},
		{name: "unknown ref", o: Options{Repo: r.Dir, Ref: "no-such-branch"}, want: ErrInput, msg: "--ref no-such-branch: no such branch, tag or commit"},
		{name: "unknown commit", o: Options{Repo: r.Dir, Ref: strings.Repeat("ab", 20)}, want: ErrInput, msg: "git branch -a"},
		{name: "unknown since", o: Options{Repo: r.Dir, Since: "v0.9"}, want: ErrInput, msg: "--since v0.9: no such branch, tag or commit"},
		{name: "since by commit", o: Options{Repo: r.Dir, Since: clean}, expires: true},
		{name: "ref by commit", o: Options{Repo: r.Dir, Ref: clean}, expires: true},
		{name: "private key committed", o: Options{Repo: keyed.Dir}, want: gitsafe.ErrKeyInRepo, msg: "ci/registry.key"},
		{name: "born expired", o: Options{Repo: r.Dir, GeneratedAt: now.Add(-48 * time.Hour), ExpiresIn: 24 * time.Hour}, want: ErrIndexExpired, msg: "--refresh", expires: true},
		{name: "packs dir mistyped", o: Options{Repo: r.Dir, PacksDir: "pack"}, want: ErrInput, msg: "--packs-dir pack: no such directory", expires: true},
		{name: "packs dir is a file", o: Options{Repo: r.Dir, PacksDir: "packs/calico-3.27.0/pack.json"}, want: ErrInput, expires: true},
		{name: "packs dir ./packs/", o: Options{Repo: r.Dir, PacksDir: "./packs/"}, expires: true},
		{name: "previous: a built registry", o: Options{Repo: r.Dir, Previous: live}, expires: true},
		{name: "previous: expired", o: Options{Repo: r.Dir, Previous: site}, want: ErrExpiredPrevious, msg: "expired at 2025-01-01", expires: true},
		{name: "previous: expired, over HTTP", o: Options{Repo: r.Dir, Previous: expired.URL}, want: ErrExpiredPrevious, msg: "Point --previous at the live registry", expires: true},
		{name: "previous optional: expired", o: Options{Repo: r.Dir, Previous: site}, optional: true, want: ErrExpiredPrevious, expires: true},
		{name: "previous: expired, in place (re-dated)", o: Options{Repo: r.Dir, Previous: site, Out: site}, expires: true},
		{name: "previous: over HTTP", o: Options{Repo: r.Dir, Previous: srv.URL}, expires: true},
		{name: "previous: no index.json", o: Options{Repo: r.Dir, Previous: empty}, want: ErrNotRegistry, msg: "--previous-optional", expires: true},
		{name: "previous: 404 over HTTP", o: Options{Repo: r.Dir, Previous: srv.URL + "/nothing-here"}, want: ErrNotRegistry, expires: true},
		{name: "previous optional: no index.json", o: Options{Repo: r.Dir, Previous: empty}, optional: true, expires: true},
		{name: "previous: unknown scheme", o: Options{Repo: r.Dir, Previous: "ftp://example.invalid/packs"}, want: ErrInput, msg: "--previous", expires: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			if o.GeneratedAt.IsZero() {
				o.GeneratedAt = now
			}
			if o.ExpiresIn == 0 {
				o.ExpiresIn = 24 * time.Hour
			}
			at, err := CheckInputs(context.Background(), o, tc.optional)
			if tc.want == nil && err != nil {
				t.Fatalf("CheckInputs: %v", err)
			}
			if tc.want != nil && (!errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg)) {
				t.Fatalf("CheckInputs = %v, want %v saying %q", err, tc.want, tc.msg)
			}
			if want := o.GeneratedAt.UTC().Truncate(time.Second).Add(o.ExpiresIn); tc.expires && !at.Equal(want) {
				t.Errorf("expires at %v, want %v", at, want)
			} else if !tc.expires && !at.IsZero() {
				t.Errorf("expires at %v, want zero", at)
			}
		})
	}

	// attackS F8: a server between CI and the registry answers
	// CheckInputs' read of index.json with the live generation and every
	// later request with the expired one. Run judges the index.json it
	// verifies and builds on, so library callers are covered too.
	t.Run("previous: fresh first, expired after (Run checks its own read)", func(t *testing.T) {
		var roots atomic.Int32
		fresh, stale := http.FileServer(http.Dir(live)), http.FileServer(http.Dir(site))
		flip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/index.json" && roots.Add(1) == 1 {
				fresh.ServeHTTP(w, req)
				return
			}
			stale.ServeHTTP(w, req)
		}))
		t.Cleanup(flip.Close)
		o := Options{Repo: r.Dir, Previous: flip.URL, GeneratedAt: now, ExpiresIn: 24 * time.Hour}
		if _, err := CheckInputs(t.Context(), o, false); err != nil {
			t.Fatalf("CheckInputs on the fresh answer: %v", err)
		}
		_, err := run(t, r.Dir, filepath.Join(tmp, "flipped"), func(b *Options) { b.Previous, b.GeneratedAt, b.Clock = flip.URL, now, nil })
		if !errors.Is(err, ErrExpiredPrevious) || !strings.Contains(err.Error(), "expired at 2025-01-01") {
			t.Fatalf("Run on the expired answer = %v, want ErrExpiredPrevious", err)
		}
		if n := roots.Load(); n != 2 {
			t.Errorf("index.json read %d times, want 2 (CheckInputs, Run)", n)
		}
		if _, err := os.Stat(filepath.Join(tmp, "flipped")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a refused build left its out dir: %v", err)
		}
	})
}

// TestTrustedKeys: the keys a build trusts are its own public half and
// the --previous-key files, each of which verifies what its key signed;
// a file that is no public key is ErrKeyFile, naming it.
func TestTrustedKeys(t *testing.T) {
	tmp := t.TempDir()
	own, old := testutil.NewKey(t), testutil.NewKey(t)
	oldPub := filepath.Join(tmp, "old.pub")
	must(t, os.WriteFile(oldPub, old.Pub, 0o644))
	garbage := filepath.Join(tmp, "garbage.pub")
	must(t, os.WriteFile(garbage, []byte("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"), 0o644))
	private := filepath.Join(tmp, "old.key")
	must(t, os.WriteFile(private, old.Priv(t), 0o600))
	blob := []byte("index.json")
	sigBy := func(k *testutil.Key) []byte {
		t.Helper()
		sig, _, err := k.Signer.SignBlob(sha256.Sum256(blob), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil })
		must(t, err)
		return sig
	}
	ownSig, oldSig := sigBy(own), sigBy(old)

	for _, tc := range []struct {
		name     string
		signer   Signer
		files    []string
		none     bool     // nil verifier
		verifies [][]byte // signatures it must accept
		refuses  [][]byte // and refuse
		want     error
		msg      string
	}{
		{name: "no key, no files", none: true},
		{name: "own key", signer: own.Signer, verifies: [][]byte{ownSig}, refuses: [][]byte{oldSig}},
		{name: "previous key only", files: []string{oldPub}, verifies: [][]byte{oldSig}, refuses: [][]byte{ownSig}},
		{name: "own and previous", signer: own.Signer, files: []string{oldPub}, verifies: [][]byte{ownSig, oldSig}},
		{name: "missing file", files: []string{filepath.Join(tmp, "nope.pub")}, want: ErrKeyFile, msg: "--previous-key " + filepath.Join(tmp, "nope.pub")},
		{name: "not a key", signer: own.Signer, files: []string{garbage}, want: ErrKeyFile, msg: "garbage.pub"},
		{name: "a private key", files: []string{private}, want: ErrKeyFile, msg: "old.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := TrustedKeys(tc.signer, tc.files)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("TrustedKeys = %v, want %v naming %q", err, tc.want, tc.msg)
				}
				return
			}
			must(t, err)
			if tc.none != (v == nil) {
				t.Fatalf("verifier %v, want nil: %v", v, tc.none)
			}
			for _, s := range tc.verifies {
				if err := v.VerifyBlob(bytes.NewReader(blob), s); err != nil {
					t.Errorf("a trusted key's signature: %v", err)
				}
			}
			for _, s := range tc.refuses {
				if err := v.VerifyBlob(bytes.NewReader(blob), s); !errors.Is(err, sign.ErrBadSignature) {
					t.Errorf("an untrusted key's signature: %v", err)
				}
			}
		})
	}
}

// TestUncommittedPacks: the uncommitted changes a build of the commit
// leaves out are those inside pack directories, without what packgen
// writes itself (the out dir, a --previous dir, staging dirs).
func TestUncommittedPacks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, r *gitfixture.Repo)
		own   []string // relative to the repository
		packs string
		want  []string
	}{
		{name: "clean", packs: "packs"},
		{name: "edited values", packs: "packs", edit: func(t *testing.T, r *gitfixture.Repo) {
			must(t, r.Write("packs/calico-3.27.0/values.yaml", []byte("pack:\n  namespace: calico-system\n")))
		}, want: []string{"packs/calico-3.27.0/values.yaml"}},
		{name: "new pack, sibling version, non-ASCII file", packs: "packs", edit: func(t *testing.T, r *gitfixture.Repo) {
			writePack(t, r, "packs/calico-3.28.0", "calico", "3.28.0", "cni", "")
			must(t, r.Write("packs/calico-3.27.0/manifests/régle.yaml", []byte("kind: ConfigMap\n")))
		}, want: []string{"packs/calico-3.27.0/manifests/régle.yaml", "packs/calico-3.28.0/pack.json", "packs/calico-3.28.0/values.yaml"}},
		{name: "removed pack.json", packs: "packs", edit: func(t *testing.T, r *gitfixture.Repo) {
			must(t, r.Remove("packs/calico-3.27.0/pack.json"))
		}, want: []string{"packs/calico-3.27.0/pack.json"}},
		{name: "outside pack dirs: not built", packs: "packs", edit: func(t *testing.T, r *gitfixture.Repo) {
			must(t, r.Write("packs/README.md", []byte("# packs\n")))
			must(t, r.Write("docs/x.md", []byte("x\n")))
		}},
		{name: "other packs dir", packs: "docs", edit: func(t *testing.T, r *gitfixture.Repo) {
			must(t, r.Write("packs/calico-3.27.0/values.yaml", []byte("x: 1\n")))
		}},
		{name: "packgen's own dirs", packs: "packs", own: []string{"packs/calico-3.27.0/out", "packs/calico-3.27.0/prev", "https://example.invalid/packs"}, edit: func(t *testing.T, r *gitfixture.Repo) {
			for _, f := range []string{"out/index.json", "prev/index.json", ".packgen-build-123/index.json"} {
				must(t, r.Write("packs/calico-3.27.0/"+f, []byte("{}")))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := gitfixture.Init(filepath.Join(t.TempDir(), "repo"))
			must(t, err)
			writePack(t, r, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "")
			commit(t, r, "calico")
			if tc.edit != nil {
				tc.edit(t, r)
			}
			var own []string
			for _, d := range tc.own {
				if !strings.Contains(d, "://") {
					d = filepath.Join(r.Dir, filepath.FromSlash(d))
				}
				own = append(own, d)
			}
			if got, err := UncommittedPacks(r.Dir, tc.packs, own...); err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("UncommittedPacks = %q, want %q", got, tc.want)
			}
		})
	}
	if got, err := UncommittedPacks(filepath.Join(t.TempDir(), "nope"), "packs"); got != nil || err != nil {
		t.Errorf("no repository: %q, want nil", got)
	}
}
