package build

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
)

// The three choices of verifyRoot (the walker's root step, RootSigned,
// as a build reads its previous build), one table each, on real builds
// of the attack fixture's repository with the previous build served
// over HTTP.

// serveSite serves site, answering status for the paths in fail.
func serveSite(t *testing.T, site string, fail map[string]int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if code, ok := fail[strings.TrimPrefix(req.URL.Path, "/")]; ok {
			http.Error(w, http.StatusText(code), code)
			return
		}
		http.FileServer(http.Dir(site)).ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// forgedName is the display name an attacker writes into calico's shard.
const forgedName = "Calico (trusted by your security team)"

// TestPreviousUnsigned (a): a previous build that signs nothing is read,
// not refused, but only an unsigned build takes its records as they are;
// a signing build derives them from git again and refuses a release git
// does not hold. A signature that cannot be read is not "unsigned".
func TestPreviousUnsigned(t *testing.T) {
	f := newAttackFixture(t)
	unsigned := filepath.Join(f.tmp, "unsigned")
	built(t, f.repo.Dir, unsigned)
	testutil.ForgeShard(t, unsigned, "calico", func(s *index.Shard) { s.Releases[0].DisplayName = forgedName })
	withEvil := f.attackerSite(t, evilPack)
	for _, tc := range []struct {
		name     string
		site     string
		fail     map[string]int
		signing  bool
		keepLog  bool   // signing without NewLog
		readFail bool   // the build fails reading the previous build
		wantErr  error  // nil: the build succeeds
		wantName string // calico's display name in the result
	}{
		{name: "unsigned build vouches for it", site: unsigned, wantName: forgedName},
		{name: "signing build derives records from git", site: unsigned, signing: true, wantName: "Pack calico"},
		// attackS F7: a bucket writer replaces the signed registry with
		// an unsigned build of the public repository; without --new-log
		// the owner's build refuses to start a new log over it.
		{name: "signing build without NewLog refuses a new log", site: unsigned, signing: true, keepLog: true, wantErr: ErrNewLog},
		{name: "signing build refuses a release git does not hold", site: withEvil, signing: true, wantErr: ErrUnverifiedRelease},
		{name: "unreadable index.json.sig is not unsigned", site: unsigned, signing: true, fail: map[string]int{index.RootFile + index.SignatureExt: http.StatusServiceUnavailable}, readFail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			res, err := run(t, f.repo.Dir, out, func(o *Options) {
				o.Previous = serveSite(t, tc.site, tc.fail)
				if tc.signing {
					f.signed(o)
					o.NewLog = !tc.keepLog
				}
			})
			if tc.readFail {
				// The failed read is an error of its own, neither a
				// verdict on the previous build nor "unsigned".
				if err == nil || errors.Is(err, ErrUntrustedPrevious) || errors.Is(err, ErrUnverifiedRelease) || !strings.Contains(err.Error(), "read signature of index.json") {
					t.Fatalf("build = %v, want the read failure", err)
				}
				if _, serr := os.Stat(out); !os.IsNotExist(serr) {
					t.Errorf("a failed build wrote %s", out)
				}
				return
			}
			if tc.wantErr != nil {
				refused(t, out, err, tc.wantErr)
				return
			}
			must(t, err)
			if got := releaseOf(res, "calico", "3.27.0"); got == nil || got.DisplayName != tc.wantName {
				t.Fatalf("calico@3.27.0 = %+v, want display name %q", got, tc.wantName)
			}
			if res.Reused != 1 || res.Archived != 0 {
				t.Errorf("reused %d, archived %d: want the checked archive reused", res.Reused, res.Archived)
			}
		})
	}
}

// TestPreviousKeylessTamperCheck (b): a build without a key verifies no
// signature, but an index.json without a signature for its bytes in a
// registry that signs index.json was changed after signing: refused,
// without a key. And a previous build whose index says it is signed is
// refused to a build without a key (ErrSignedPrevious): clients with the
// registry's key would refuse what it writes.
func TestPreviousKeylessTamperCheck(t *testing.T) {
	f := newAttackFixture(t)
	forged := filepath.Join(f.tmp, "forged")
	testutil.CopyDir(t, f.published, forged)
	testutil.ForgeShard(t, forged, "calico", func(s *index.Shard) { s.Releases[0].DisplayName = forgedName })
	stripped := filepath.Join(f.tmp, "stripped")
	testutil.CopyDir(t, forged, stripped)
	stripRootSignatures(t, stripped)
	// What an attacker writes to pass it off as unsigned: the root says
	// so too (the last row, on stripped itself).
	passOff := func() { testutil.EditRoot(t, stripped, func(r *index.Root) { r.Signed = false }) }
	for _, tc := range []struct {
		name     string
		site     string
		edit     func() // before the build (rows run in order)
		wantErr  error
		why      string // what the refusal says
		wantName string
	}{
		{name: "signed, intact", site: f.published, wantErr: ErrSignedPrevious, why: "is a signed registry, and this build has no --key"},
		{name: "changed after signing, signatures left", site: forged, wantErr: ErrUntrustedPrevious, why: "modified after signing"},
		{name: "changed, every signature removed", site: stripped, wantErr: ErrSignedPrevious, why: "pass --key"},
		{name: "changed, signatures removed, passed off as unsigned", site: stripped, edit: passOff, wantName: forgedName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.edit != nil {
				tc.edit()
			}
			out := filepath.Join(t.TempDir(), "out")
			res, err := run(t, f.repo.Dir, out, func(o *Options) { o.Previous = serveSite(t, tc.site, nil) })
			if tc.wantErr != nil {
				refused(t, out, err, tc.wantErr)
				if !strings.Contains(err.Error(), tc.why) {
					t.Errorf("error does not say why (%q): %v", tc.why, err)
				}
				return
			}
			must(t, err)
			if got := releaseOf(res, "calico", "3.27.0"); got == nil || got.DisplayName != tc.wantName {
				t.Fatalf("calico@3.27.0 = %+v, want display name %q", got, tc.wantName)
			}
		})
	}
}

// TestPreviousDigestNamedSignature (c): the signature named by
// index.json's digest decides, as in verify --site: a stale
// index.json.sig (what it holds while a publish switches generations)
// does not matter, and a missing digest-named signature is refused even
// when index.json.sig verifies.
func TestPreviousDigestNamedSignature(t *testing.T) {
	f := newAttackFixture(t)
	prev, err := loadPrevious(t.Context(), f.published, f.trust)
	must(t, err)
	if !prev.signed {
		t.Fatal("the fixture's build does not verify")
	}
	named := index.RootSignaturePath(prev.rootDigest)
	archiveSig := prev.shards["calico"].Releases[0].Signature
	stale := filepath.Join(f.tmp, "stale")
	testutil.CopyDir(t, f.published, stale)
	// A signature by the registry's key over other bytes.
	copyFile(t, filepath.Join(stale, filepath.FromSlash(archiveSig)), filepath.Join(stale, index.RootFile+index.SignatureExt))
	noNamed := filepath.Join(f.tmp, "no-named")
	testutil.CopyDir(t, f.published, noNamed)
	must(t, os.Remove(filepath.Join(noNamed, filepath.FromSlash(named))))
	otherBytes := filepath.Join(f.tmp, "other-bytes")
	testutil.CopyDir(t, f.published, otherBytes)
	copyFile(t, filepath.Join(otherBytes, filepath.FromSlash(archiveSig)), filepath.Join(otherBytes, filepath.FromSlash(named)))
	for _, tc := range []struct {
		name    string
		site    string
		wantErr error
		why     string
	}{
		{name: "stale index.json.sig, digest-named verifies", site: stale},
		{name: "digest-named missing, index.json.sig verifies", site: noNamed, wantErr: ErrUntrustedPrevious, why: "missing, though index.json.sig signs index.json"},
		{name: "digest-named signs other bytes", site: otherBytes, wantErr: ErrUntrustedPrevious, why: "--previous-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := loadPrevious(t.Context(), tc.site, f.trust)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("loadPrevious = %v, want %v saying %q", err, tc.wantErr, tc.why)
				}
				out := filepath.Join(t.TempDir(), "out")
				_, err = run(t, f.repo.Dir, out, f.signed, func(o *Options) { o.Previous = serveSite(t, tc.site, nil) })
				refused(t, out, err, tc.wantErr)
				return
			}
			must(t, err)
			if !p.signed {
				t.Fatal("previous build not taken as signed")
			}
			out := filepath.Join(t.TempDir(), "out")
			res := built(t, f.repo.Dir, out, f.signed, func(o *Options) { o.Previous = serveSite(t, tc.site, nil) })
			if res.Reused != 1 {
				t.Errorf("reused %d, want the signed previous build's release reused", res.Reused)
			}
		})
	}
}
