package client

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// TestKeyRotation follows the rotation procedure of docs/SECURITY.md end
// to end: clients add the new key beside the old one, the registry is
// rebuilt with the new key, clients drop the old key. At every step every
// release stays fetchable, and the old key alone is refused at the end.
func TestKeyRotation(t *testing.T) {
	tmp := t.TempDir()
	repo, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	newKey := func() (*sign.Signer, string) {
		k := testutil.NewKey(t)
		return k.Signer, string(k.Pub)
	}
	oldSigner, oldPub := newKey()
	newSigner, newPub := newKey()
	site := filepath.Join(tmp, "site")
	gen := 0
	buildWith := func(s *sign.Signer) {
		t.Helper()
		gen++
		if _, err := repo.Commit(fmt.Sprintf("gen %d", gen)); err != nil {
			t.Fatal(err)
		}
		// The registry trusts both keys while it rotates (--previous-key).
		both, err := sign.NewVerifierSet([]byte(oldPub), []byte(newPub))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := build.Run(context.Background(), build.Options{Repo: repo.Dir, Out: site, History: true, Registry: "test", Signer: s, Trust: both, GeneratedAt: time.Now().Add(time.Duration(gen) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t)
	// cfg is registries.yaml as a user writes it: the original single
	// "key:" and the list "keys:" are both honoured.
	cfg := func(key string, keys ...string) Registry {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, "registries:\n  - name: test\n    url: %s\n", site)
		indent := func(pem string) string {
			return "      " + strings.ReplaceAll(strings.TrimSpace(pem), "\n", "\n      ") + "\n"
		}
		if key != "" {
			b.WriteString("    key: |\n" + indent(key))
		}
		if len(keys) > 0 {
			b.WriteString("    keys:\n")
			for _, k := range keys {
				b.WriteString("      - |\n  " + strings.ReplaceAll(indent(k), "\n      ", "\n        "))
			}
		}
		c, err := ParseConfig("registries.yaml", []byte(b.String()))
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		return c.Registries[0]
	}
	fetch := func(reg Registry, ref string) error {
		t.Helper()
		c, err := New(reg, Options{CacheDir: filepath.Join(t.TempDir(), "cache"), StateDir: e.state})
		if err != nil {
			t.Fatal(err)
		}
		name, cons, _ := ParseRef(ref)
		_, err = c.Fetch(context.Background(), FetchOptions{Name: name, Constraint: cons, Dest: filepath.Join(t.TempDir(), "d")})
		return err
	}
	must := func(step string, reg Registry, refs ...string) {
		t.Helper()
		for _, r := range refs {
			if err := fetch(reg, r); err != nil {
				t.Fatalf("%s: fetch %s: %v", step, r, err)
			}
		}
	}

	packFiles(repo, "packs/calico-1.0.0", "calico", "1.0.0")
	buildWith(oldSigner)
	must("0. signed with the old key", cfg(oldPub), "calico@1.0.0")

	// 1. Clients trust both keys; the registry is still signed by the old.
	both := cfg(oldPub, newPub)
	must("1. both keys trusted, old signature", both, "calico@1.0.0")

	// 2. The registry is rebuilt with the new key. The release carried
	// from before is re-signed: ARCHIVE.sig is always the current key's.
	packFiles(repo, "packs/calico-1.1.0", "calico", "1.1.0")
	buildWith(newSigner)
	must("2. both keys trusted, new signature", both, "calico@1.0.0", "calico@1.1.0")

	// 3. Clients drop the old key: every release still verifies.
	must("3. new key only", cfg("", newPub), "calico@1.0.0", "calico@1.1.0")

	// The old key alone no longer verifies the registry.
	if err := fetch(cfg(oldPub), "calico@1.1.0"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("old key after rotation: got %v, want ErrBadSignature", err)
	}
	// A rebuild with the new key changes nothing (re-signing happens once).
	resigned := filepath.Join(site, "packs", "calico", "1.0.0", "calico-1.0.0.tar.gz.sig")
	before := mustRead(t, resigned)
	buildWith(newSigner)
	if after := mustRead(t, resigned); string(after) != string(before) {
		t.Error("a rebuild with the same key re-signed again")
	}
	v, _ := sign.LoadPublicKey([]byte(newPub))
	rep, err := VerifySite(context.Background(), site, v)
	if err != nil || len(rep.Problems) != 0 {
		t.Fatalf("verify --site with the new key: %v %+v", err, rep)
	}
}
