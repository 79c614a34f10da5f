package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// eachAlgorithm runs f as a subtest per algorithm with a new key pair
// of it, the private key encrypted with the password "pw".
func eachAlgorithm(t *testing.T, f func(t *testing.T, alg Algorithm, priv, pub []byte)) {
	for _, alg := range []Algorithm{ECDSAP256, Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			priv, pub, err := Generate(alg, StaticPass([]byte("pw")))
			if err != nil {
				t.Fatal(err)
			}
			f(t, alg, priv, pub)
		})
	}
}

// plainPEM is a new key pair of alg, the private key a plain PKCS #8
// PEM (which LoadSigner reads too), for tests of what a key does rather
// than how it is stored: each encrypted one costs scrypt to make and
// again to load, seconds under the race detector.
func plainPEM(t testing.TB, alg Algorithm) (priv, pub []byte) {
	t.Helper()
	var k crypto.Signer
	var err error
	if alg == Ed25519 {
		_, k, err = ed25519.GenerateKey(rand.Reader)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if pub, err = cryptoutils.MarshalPublicKeyToPEM(k.Public()); err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pub
}

func TestRoundTrip(t *testing.T) {
	eachAlgorithm(t, func(t *testing.T, alg Algorithm, priv, pub []byte) {
		if !bytes.Contains(priv, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) {
			t.Fatalf("private key is not in the cosign format:\n%s", priv)
		}
		if _, err := LoadSigner(priv, StaticPass([]byte("wrong"))); err == nil || !strings.Contains(err.Error(), "wrong password") {
			t.Fatalf("wrong password: %v", err)
		}
		s, err := LoadSigner(priv, StaticPass([]byte("pw")))
		if err != nil {
			t.Fatal(err)
		}
		v, err := LoadPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		blob := []byte("index.json content")
		sig, err := s.Sign(bytes.NewReader(blob))
		if err != nil {
			t.Fatal(err)
		}
		if err := v.VerifyBlob(bytes.NewReader(blob), sig.SigFile()); err != nil {
			t.Fatalf("verify: %v", err)
		}
		bundle, err := sig.Bundle()
		if err != nil {
			t.Fatal(err)
		}
		if err := v.VerifyBundle(bytes.NewReader(blob), bundle); err != nil {
			t.Fatalf("verify bundle: %v", err)
		}
		tampered := append([]byte{}, blob...)
		tampered[0] ^= 1
		if err := v.VerifyBlob(bytes.NewReader(tampered), sig.SigFile()); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tampered blob: %v", err)
		}
		if err := v.VerifyBundle(bytes.NewReader(tampered), bundle); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tampered blob with bundle: %v", err)
		}
		badSig := append([]byte{}, sig.Raw...)
		badSig[len(badSig)/2] ^= 0xff
		bs := &Signature{Raw: badSig}
		if err := v.VerifyBlob(bytes.NewReader(blob), bs.SigFile()); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tampered signature: %v", err)
		}
		// By digest: an opener that fails is no verdict for a key that
		// reads the blob (ed25519), and never read by one that does not.
		sum := sha256.Sum256(blob)
		diskErr := errors.New("input/output error")
		failing := func() (io.ReadCloser, error) { return nil, diskErr }
		switch err := v.VerifyDigest(sum, failing, sig.Raw); {
		case alg == Ed25519 && (!errors.Is(err, diskErr) || errors.Is(err, ErrBadSignature)):
			t.Fatalf("ed25519, blob unreadable: %v, want the read error, not a bad signature", err)
		case alg != Ed25519 && err != nil:
			t.Fatalf("%s by digest: %v", alg, err)
		}
		if err := v.VerifyDigest(sha256.Sum256(tampered), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tampered)), nil }, sig.Raw); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tampered blob by digest: %v", err)
		}
		// Files on disk.
		dir := t.TempDir()
		file := filepath.Join(dir, "x.tar.gz")
		os.WriteFile(file, blob, 0o644)
		sigName, bundleName, err := s.SignFile(file, sha256.Sum256(blob))
		if err != nil {
			t.Fatal(err)
		}
		sigData, _ := os.ReadFile(filepath.Join(dir, sigName))
		bundleData, _ := os.ReadFile(filepath.Join(dir, bundleName))
		if err := v.VerifyBlob(bytes.NewReader(blob), sigData); err != nil {
			t.Fatal(err)
		}
		if err := v.VerifyBundle(bytes.NewReader(blob), bundleData); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKeyRotationSet(t *testing.T) {
	oldPriv, oldPub := plainPEM(t, ECDSAP256)
	_, newPub := plainPEM(t, ECDSAP256)
	_, otherPub := plainPEM(t, ECDSAP256)
	s, err := LoadSigner(oldPriv, nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := s.Sign(strings.NewReader("x"))
	set, err := NewVerifierSet(newPub, oldPub)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.VerifyBlob(strings.NewReader("x"), sig.SigFile()); err != nil {
		t.Fatalf("old key in the set must verify: %v", err)
	}
	only, _ := NewVerifierSet(otherPub)
	if err := only.VerifyBlob(strings.NewReader("x"), sig.SigFile()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("unrelated key: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	for name, data := range map[string]string{
		"empty":             "",
		"garbage":           "hello",
		"public as private": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"bad base64":        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
	} {
		if _, err := LoadSigner([]byte(data), StaticPass(nil)); err == nil {
			t.Errorf("%s: loaded", name)
		}
		if _, err := LoadPublicKey([]byte(data)); err == nil {
			t.Errorf("%s: loaded as public key", name)
		}
	}
	// The private key given where its public half is wanted (fetch
	// --key registry.key): said plainly, with what to give instead.
	priv, _, _ := Generate(ECDSAP256, StaticPass([]byte("pw")))
	for name, data := range map[string][]byte{
		"cosign private key": priv,
		"PKCS#8":             []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	} {
		_, err := LoadPublicKey(data)
		if !errors.Is(err, ErrNotPublicKey) || !strings.Contains(err.Error(), "this is a private key") || !strings.Contains(err.Error(), ".pub") {
			t.Errorf("%s as a public key: %v", name, err)
		}
	}
	if _, err := DecodeSigFile([]byte("not base64!")); !errors.Is(err, ErrBadSignature) {
		t.Error("bad base64 signature accepted")
	}
	if _, err := ParseBundle([]byte(`{"mediaType": "x"}`)); !errors.Is(err, ErrBadSignature) {
		t.Error("bad bundle accepted")
	}
	t.Setenv("PACKGEN_TEST_KEY", "")
	if _, err := LoadSignerRef("env://PACKGEN_TEST_KEY", nil); err == nil || !strings.Contains(err.Error(), "PACKGEN_TEST_KEY") {
		t.Errorf("empty env key: %v", err)
	}
}

func TestLoadFromEnvAndUnencrypted(t *testing.T) {
	priv, pub, _ := Generate(ECDSAP256, StaticPass([]byte("s3cret")))
	t.Setenv("PACKGEN_TEST_KEY", string(priv))
	t.Setenv("PACKGEN_PASSWORD", "s3cret")
	s, err := LoadSignerRef("env://PACKGEN_TEST_KEY", EnvOrPrompt(nil, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.PublicKeyPEM()
	if !bytes.Equal(p, pub) {
		t.Fatal("public key differs")
	}
}

func FuzzParse(f *testing.F) {
	_, pub := plainPEM(f, ECDSAP256)
	f.Add(pub)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"signature":"AA=="}}`))
	f.Add([]byte("MEUCIQ=="))
	f.Fuzz(func(t *testing.T, data []byte) {
		LoadPublicKey(data)
		LoadSigner(data, StaticPass([]byte("x")))
		DecodeSigFile(data)
		ParseBundle(data)
	})
}
