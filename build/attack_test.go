package build

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/sign"
)

// The previous build is attacker-controlled input: whoever can write the
// bucket, poison the CDN or sit on an http:// path has no key, but the
// build signs what it takes from the previous build. Each case below is
// an attack on `build --previous URL` that the build must refuse, with
// nothing written to --out.

// attackFixture is a victim repository with one pack, built and signed
// into published (what the bucket held before the attacker came).
type attackFixture struct {
	tmp       string
	repo      *gitfixture.Repo
	published string
	signer    *sign.Signer
	trust     *sign.Verifier
}

func newAttackFixture(t *testing.T) *attackFixture {
	t.Helper()
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "")
	commit(t, r, "calico")
	s, v := testKey(t)
	f := &attackFixture{tmp: tmp, repo: r, published: filepath.Join(tmp, "published"), signer: s, trust: v}
	built(t, r.Dir, f.published, f.signed)
	return f
}

func (f *attackFixture) signed(o *Options) { o.Signer, o.Trust = f.signer, f.trust }

// attackerSite builds, without the key, what an attacker would upload:
// the victim's packs plus the attacker's own (more), unsigned unless a
// mod gives it the attacker's own signer.
func (f *attackFixture) attackerSite(t *testing.T, more func(r *gitfixture.Repo), mod ...func(*Options)) string {
	t.Helper()
	r, err := gitfixture.Init(filepath.Join(f.tmp, "evil-repo"))
	must(t, err)
	writePack(t, r, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "")
	more(r)
	commit(t, r, "evil")
	site := filepath.Join(f.tmp, "evil-site")
	built(t, r.Dir, site, mod...)
	return site
}

// rebuildAgainst builds the victim repository, signed, with --previous
// pointing at site served over HTTP.
func (f *attackFixture) rebuildAgainst(t *testing.T, site string) (string, error) {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(site)))
	t.Cleanup(srv.Close)
	out := filepath.Join(f.tmp, "out")
	// NewLog: the operator was talked into a new log (ErrNewLog refuses
	// it otherwise); what is taken from the previous build is still checked.
	_, err := run(t, f.repo.Dir, out, f.signed, func(o *Options) { o.Previous, o.NewLog = srv.URL, true })
	return out, err
}

func evilPack(r *gitfixture.Repo) {
	r.Write("packs/evil-6.6.6/pack.json", packJSON("evil", "6.6.6", "addon", ""))
	r.Write("packs/evil-6.6.6/values.yaml", []byte("pack:\n  namespace: kube-system\n"))
	r.Write("packs/evil-6.6.6/manifests/admin.yaml", []byte("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: evil\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: ServiceAccount\n  name: default\n  namespace: default\n"))
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	must(t, err)
	must(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	must(t, os.WriteFile(dst, data, 0o644))
}

func refused(t *testing.T, out string, err error, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("build = %v, want %v", err, want)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("a refused build wrote %s", out)
	}
}

// TestAttackPreviousAddsRelease: the attacker adds evil@6.6.6 to the
// bucket. An index.json that no longer matches its signature is refused;
// one passed off as unsigned (every signature deleted) gets its
// unverifiable release refused, never signed.
func TestAttackPreviousAddsRelease(t *testing.T) {
	t.Run("signatures left in place", func(t *testing.T) {
		f := newAttackFixture(t)
		site := f.attackerSite(t, evilPack)
		copyFile(t, filepath.Join(f.published, "index.json.sig"), filepath.Join(site, "index.json.sig"))
		out, err := f.rebuildAgainst(t, site)
		refused(t, out, err, ErrUntrustedPrevious)
	})
	t.Run("passed off as unsigned", func(t *testing.T) {
		f := newAttackFixture(t)
		site := f.attackerSite(t, evilPack)
		out, err := f.rebuildAgainst(t, site)
		refused(t, out, err, ErrUnverifiedRelease)
		if !strings.Contains(err.Error(), "evil@6.6.6") {
			t.Errorf("error does not name the release: %v", err)
		}
	})
	t.Run("signed by the attacker's own key", func(t *testing.T) {
		f := newAttackFixture(t)
		evilKey, evilPub := testKey(t)
		site := f.attackerSite(t, evilPack, func(o *Options) { o.Signer, o.Trust = evilKey, evilPub })
		out, err := f.rebuildAgainst(t, site)
		refused(t, out, err, ErrUntrustedPrevious)
	})
}

// TestAttackPreviousReplacesArchive: the attacker replaces the archive of
// a published version, keeping the tree hash its shard records, and
// rewrites the digests up to index.json (dropping the signatures it
// cannot make). The archive no longer holds what git holds for that
// tree: refused, not "reused" and re-signed.
func TestAttackPreviousReplacesArchive(t *testing.T) {
	f := newAttackFixture(t)
	// The attacker's calico@3.27.0 carries a manifest; its shard is then
	// edited to claim the victim's git tree.
	site := f.attackerSite(t, func(r *gitfixture.Repo) {
		r.Write("packs/calico-3.27.0/manifests/admin.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: evil\n"))
	})
	prev, err := loadPrevious(context.Background(), f.published, f.trust)
	must(t, err)
	victimTree := prev.shards["calico"].Releases[0].Tree
	testutil.ForgeShard(t, site, "calico", func(s *index.Shard) { s.Releases[0].Tree = victimTree })
	out, err := f.rebuildAgainst(t, site)
	refused(t, out, err, ErrTampered)
	if !strings.Contains(err.Error(), "manifests/admin.yaml") {
		t.Errorf("error does not name the extra file: %v", err)
	}

	// The plain variant, the archive swapped under an intact signed
	// index, fails on its digest.
	f2 := newAttackFixture(t)
	a := filepath.Join(f2.published, filepath.FromSlash(prev.shards["calico"].Releases[0].Archive.Path))
	data, err := os.ReadFile(a)
	must(t, err)
	data[len(data)/2] ^= 0x40
	must(t, os.WriteFile(a, data, 0o644))
	out, err = f2.rebuildAgainst(t, f2.published)
	refused(t, out, err, index.ErrDigestMismatch)
}

// TestPreviousLocalArchiveCorrupt: a corrupted archive in the local out
// dir (the incremental case) is caught by its digest, not republished.
func TestPreviousLocalArchiveCorrupt(t *testing.T) {
	f := newAttackFixture(t)
	prev, err := loadPrevious(context.Background(), f.published, f.trust)
	must(t, err)
	a := filepath.Join(f.published, filepath.FromSlash(prev.shards["calico"].Releases[0].Archive.Path))
	data, err := os.ReadFile(a)
	must(t, err)
	data[len(data)-20] ^= 1
	must(t, os.WriteFile(a, data, 0o644))
	writePack(t, f.repo, "packs/calico-3.28.0", "calico", "3.28.0", "cni", "")
	commit(t, f.repo, "3.28")
	_, err = run(t, f.repo.Dir, f.published, f.signed)
	if !errors.Is(err, ErrTampered) {
		t.Fatalf("corrupt local archive: %v, want ErrTampered", err)
	}
}

// TestRotationKeepsCanonicalSignature: after a key change, every
// archive's ARCHIVE.sig is the new key's signature (what `cosign
// verify-blob --signature ARCHIVE.sig` and the docs name), and an
// unsigned first build gets them too once it is signed.
func TestRotationKeepsCanonicalSignature(t *testing.T) {
	f := newAttackFixture(t)
	newKey, newPub := testKey(t)
	both, err := sign.NewVerifierSet(pemOf(t, f.signer), pemOf(t, newKey))
	must(t, err)
	out := filepath.Join(f.tmp, "rotated")
	res := built(t, f.repo.Dir, out, func(o *Options) { o.Previous, o.Signer, o.Trust = f.published, newKey, both })
	checkCanonical(t, out, res, newPub)

	unsigned := filepath.Join(f.tmp, "unsigned")
	built(t, f.repo.Dir, unsigned)
	res = built(t, f.repo.Dir, unsigned, f.signed) // in place: no NewLog needed
	checkCanonical(t, unsigned, res, f.trust)
}

func checkCanonical(t *testing.T, site string, res *Result, v *sign.Verifier) {
	t.Helper()
	for _, s := range res.Shards {
		for _, r := range s.Releases {
			if r.Signature != r.Archive.Path+".sig" {
				t.Errorf("%s@%s: signature %s, want %s.sig", s.Name, r.Version, r.Signature, r.Archive.Path)
			}
			data, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(r.Archive.Path)))
			must(t, err)
			sig, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(r.Archive.Path+".sig")))
			must(t, err)
			if err := v.VerifyBlob(strings.NewReader(string(data)), sig); err != nil {
				t.Errorf("%s@%s: ARCHIVE.sig: %v", s.Name, r.Version, err)
			}
		}
	}
}

func pemOf(t *testing.T, s *sign.Signer) []byte {
	t.Helper()
	p, err := s.PublicKeyPEM()
	must(t, err)
	return p
}

// TestAttackPreviousRewritesRecord: the attacker leaves every archive
// alone but rewrites a release's record in the shard (a dependency, a
// display name, the annotations) and deletes the signatures so the
// registry looks unsigned. The archive is git's, so it is reused; the
// record is not: it is derived from git again, never signed as the
// bucket says.
func TestAttackPreviousRewritesRecord(t *testing.T) {
	f := newAttackFixture(t)
	site := filepath.Join(f.tmp, "tampered")
	_, err := run(t, f.repo.Dir, site) // the same packs, unsigned
	must(t, err)
	testutil.ForgeShard(t, site, "calico", func(s *index.Shard) {
		s.Releases[0].DisplayName = "Calico (trusted by your security team)"
		s.Releases[0].Annotations = map[string]string{"system_state": "deprecated"}
		s.Releases[0].Dependencies = append(s.Releases[0].Dependencies, meta.Dependency{PackName: "evil", Layer: "addon", Type: "required"})
	})
	srv := httptest.NewServer(http.FileServer(http.Dir(site)))
	t.Cleanup(srv.Close)
	out := filepath.Join(f.tmp, "out")
	res := built(t, f.repo.Dir, out, f.signed, func(o *Options) { o.Previous, o.NewLog = srv.URL, true })
	got := res.Shards[0].Releases[0]
	if got.DisplayName != "Pack calico" || len(got.Annotations) != 0 || len(got.Dependencies) != 0 {
		t.Fatalf("the bucket's record was signed: %+v", got)
	}
	if res.Reused != 1 {
		t.Errorf("reused %d, want the archive reused once checked", res.Reused)
	}
}
