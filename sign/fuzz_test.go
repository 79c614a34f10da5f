package sign

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Seeds for these targets live in testdata/fuzz/<target>/ (keys and
// signatures written by packgen and by real cosign) and f.Add below.

func cosignFixture(f *testing.F, name string) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", "cosign", name))
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzLoadPublicKey: any PEM-ish input is parsed or refused, never a panic.
func FuzzLoadPublicKey(f *testing.F) {
	f.Add(cosignFixture(f, "cosign.pub"))
	f.Add(cosignFixture(f, "packgen.pub"))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := LoadPublicKey(data)
		if err == nil && len(v.KeyIDs()) != 1 {
			t.Fatalf("one PEM gave %d keys", len(v.KeyIDs()))
		}
	})
}

// FuzzLoadSigner: encrypted and plain private key PEMs. The password is
// wrong for encrypted inputs, so only plain keys reach signing; each
// encrypted seed costs a full scrypt, so keep those few (one here).
func FuzzLoadSigner(f *testing.F) {
	f.Add(cosignFixture(f, "packgen.key"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadSigner(data, StaticPass([]byte("wrong")))
		if err != nil {
			return
		}
		sig, err := s.Sign(bytes.NewReader([]byte("x")))
		if err != nil {
			t.Fatalf("loaded signer cannot sign: %v", err)
		}
		pub, _ := s.PublicKeyPEM()
		v, err := LoadPublicKey(pub)
		if err != nil {
			t.Fatalf("signer's own public key: %v", err)
		}
		if err := v.VerifyBlob(bytes.NewReader([]byte("x")), sig.SigFile()); err != nil {
			t.Fatalf("own signature does not verify: %v", err)
		}
	})
}

// FuzzVerifyBlob: a fuzzed .sig file never verifies a message it was not
// made for, and garbage is refused cleanly.
func FuzzVerifyBlob(f *testing.F) {
	pub := cosignFixture(f, "packgen.pub")
	blob := cosignFixture(f, "packgen-blob.txt")
	good := cosignFixture(f, "packgen-blob.txt.sig")
	v, err := LoadPublicKey(pub)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, blob)
	f.Add(cosignFixture(f, "blob.txt.sig"), blob)
	f.Add([]byte("MEUCIQ=="), []byte("x"))
	f.Fuzz(func(t *testing.T, sig, msg []byte) {
		err := v.VerifyBlob(bytes.NewReader(msg), sig)
		if err == nil && !bytes.Equal(msg, blob) {
			// ECDSA signatures are malleable (s and n-s), so a different
			// sig may verify, but never for a different message.
			t.Fatalf("signature verified a message it was not made for: %q", msg)
		}
		if _, err := DecodeSigFile(sig); err == nil {
			_ = v.VerifyDigest(sha256.Sum256(msg), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(msg)), nil }, sig)
		}
	})
}

// FuzzParseBundle: Sigstore bundles from cosign or an attacker.
func FuzzParseBundle(f *testing.F) {
	f.Add(cosignFixture(f, "blob.txt.sigstore.json"))
	f.Add(cosignFixture(f, "packgen-blob.txt.sigstore.json"))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"signature":"AA=="}}`))
	v, err := LoadPublicKey(cosignFixture(f, "packgen.pub"))
	if err != nil {
		f.Fatal(err)
	}
	blob := cosignFixture(f, "packgen-blob.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := ParseBundle(data)
		if err != nil {
			return
		}
		if len(sig.Raw) == 0 {
			t.Fatal("empty signature accepted")
		}
		_ = v.VerifyBundle(bytes.NewReader(blob), data)
	})
}
