package gitsafe

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/privkey"
	"github.com/packgen/packgen/internal/testutil"
)

// The keys packgen writes and a PKCS#8 one are private keys to the rule
// gitsafe applies (privkey.IsPEM); a public key and prose are not.
func TestPrivateKeyRule(t *testing.T) {
	k := testutil.NewKey(t)
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"encrypted sigstore key", k.Priv(t), true},
		{"public key", k.Pub, false},
		{"pkcs8", []byte("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"), true},
		{"marker without armour", []byte("PRIVATE KEY-----"), false},
		{"prose", []byte("keep your private key safe"), false},
	} {
		if got := privkey.IsPEM(tc.data); got != tc.want {
			t.Errorf("%s: privkey.IsPEM = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A key file inside a work tree is refused unless git ignores it; a
// committed key is found, and a clean tree is remembered in the cache.
func TestKeysAndGit(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no global excludes file
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	r, err := gitfixture.Init(dir)
	testutil.Must(t, err)
	if err := CheckKeyOutside(filepath.Join(dir, "reg.key")); !errors.Is(err, ErrKeyInRepo) {
		t.Fatalf("key in a work tree: %v, want ErrKeyInRepo", err)
	}
	testutil.Must(t, os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.key\n"), 0o644))
	if err := CheckKeyOutside(filepath.Join(dir, "sub", "reg.key")); err != nil {
		t.Fatalf("ignored key refused: %v", err)
	}
	if err := CheckKeyOutside(filepath.Join(t.TempDir(), "reg.key")); err != nil {
		t.Fatalf("key outside git refused: %v", err)
	}

	cache := t.TempDir()
	testutil.Must(t, r.Write("README.md", []byte("hello\n")))
	clean := testutil.Commit(t, r, "clean")
	if found, err := TrackedPrivateKeys(r.Git(), clean, cache); err != nil || len(found) != 0 {
		t.Fatalf("clean commit: %v %v", found, err)
	}
	if marks, _ := os.ReadDir(filepath.Join(cache, "keycheck")); len(marks) != 1 {
		t.Fatalf("clean tree not remembered: %d marks", len(marks))
	}
	testutil.Must(t, r.Write("deploy/signing.pem", testutil.NewKey(t).Priv(t)))
	testutil.Must(t, r.Write("docs/key-rotation.md", []byte("-----BEGIN PUBLIC KEY-----\n")))
	leaked := testutil.Commit(t, r, "leak")
	found, err := TrackedPrivateKeys(r.Git(), leaked, cache)
	if err != nil || len(found) != 1 || found[0] != "deploy/signing.pem" {
		t.Fatalf("leaked key: %v %v", found, err)
	}
	if err := InRepoError(found, "HEAD"); !errors.Is(err, ErrKeyInRepo) {
		t.Fatalf("InRepoError: %v", err)
	}
}
