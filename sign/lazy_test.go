package sign

import (
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLazySigner checks that a key with its .pub beside it and the
// password in the environment is decrypted only to sign, that its
// identity and signature checks need no decryption (a wrong password
// does not stop them), and that a .pub of another key stops signing.
func TestLazy(t *testing.T) {
	dir := t.TempDir()
	keyPair := func(prefix, pw string) (string, string) {
		priv, pub, err := Generate(ECDSAP256, StaticPass([]byte(pw)))
		if err != nil {
			t.Fatal(err)
		}
		k, p := filepath.Join(dir, prefix+".key"), filepath.Join(dir, prefix+".pub")
		os.WriteFile(k, priv, 0o600)
		os.WriteFile(p, pub, 0o644)
		return k, p
	}
	key, _ := keyPair("registry", "pw")
	eager, err := LoadSignerRef(key, StaticPass([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(dir, "blob")
	os.WriteFile(blob, []byte("hello"), 0o644)
	sum := sha256.Sum256([]byte("hello"))

	t.Setenv("PACKGEN_PASSWORD", "wrong")
	if l := NewLazy("env://KEY", EnvOrPrompt(nil, nil)); l != nil {
		t.Fatal("env:// keys have no .pub: must load eagerly")
	}
	l := NewLazy(key, EnvOrPrompt(nil, nil))
	if l == nil {
		t.Fatal("expected a lazy signer")
	}
	if l.KeyID() != eager.KeyID() {
		t.Fatalf("key id %s, want %s", l.KeyID(), eager.KeyID())
	}
	sigName, _, err := eager.SignFile(blob, sum)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile(filepath.Join(dir, sigName))
	pub, _ := l.PublicKeyPEM()
	if v, err := LoadPublicKey(pub); err != nil || v.VerifyBlob(strings.NewReader("hello"), sig) != nil {
		t.Fatal("the lazy signer's public key does not verify the key's signature")
	}
	open := func() (io.ReadCloser, error) { return os.Open(blob) }
	if _, _, err := l.SignBlob(sum, open); err == nil {
		t.Fatal("a wrong password must fail when signing")
	}
	// Decrypting ahead (Prepare, twice) changes nothing of that: the
	// error comes with the first signature.
	l = NewLazy(key, EnvOrPrompt(nil, nil))
	l.Prepare()
	l.Prepare()
	if _, _, err := l.SignBlob(sum, open); err == nil {
		t.Fatal("a wrong password must fail when signing, after Prepare")
	}
	// Opens says so without signing (build --force).
	if err := NewLazy(key, EnvOrPrompt(nil, nil)).Opens(); !errors.Is(err, ErrKeyPassword) {
		t.Fatalf("Opens with a wrong password: %v, want ErrKeyPassword", err)
	}

	t.Setenv("PACKGEN_PASSWORD", "pw")
	l = NewLazy(key, EnvOrPrompt(nil, nil))
	l.Prepare() // signing waits for it, and decrypts once
	sig, _, err = l.SignBlob(sum, open)
	if err != nil {
		t.Fatal(err)
	}
	if !eager.Signed(blob, sum, sig) {
		t.Fatal("lazy signature does not verify")
	}

	// A .pub of another key beside it: signing refuses.
	_, data := plainPEM(t, ECDSAP256)
	os.WriteFile(filepath.Join(dir, "registry.pub"), data, 0o644)
	l = NewLazy(key, EnvOrPrompt(nil, nil))
	if _, _, err := l.SignBlob(sum, open); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Fatalf("mismatched .pub: %v", err)
	}

	// No password in the environment: eager (a prompt must come first).
	t.Setenv("COSIGN_PASSWORD", "") // restored after the test
	os.Unsetenv("PACKGEN_PASSWORD")
	os.Unsetenv("COSIGN_PASSWORD")
	if NewLazy(key, EnvOrPrompt(nil, nil)) != nil {
		t.Fatal("without a password in the environment the key must load eagerly")
	}
}
