package sign

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const fixtures = "testdata/cosign"

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Keys, signatures and bundles made by the real cosign load and verify.
func TestCosignFixtures(t *testing.T) {
	s, err := LoadSigner(read(t, "cosign.key"), StaticPass([]byte("packgen-test")))
	if err != nil {
		t.Fatalf("cosign's encrypted key: %v", err)
	}
	pub, _ := s.PublicKeyPEM()
	if !bytes.Equal(pub, read(t, "cosign.pub")) {
		t.Fatal("public key derived from cosign.key differs from cosign.pub")
	}
	v, err := LoadPublicKey(read(t, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	blob := read(t, "blob.txt")
	if err := v.VerifyBlob(bytes.NewReader(blob), read(t, "blob.txt.sig")); err != nil {
		t.Fatalf("cosign .sig: %v", err)
	}
	bundle := read(t, "blob.txt.sigstore.json")
	if err := v.VerifyBundle(bytes.NewReader(blob), bundle); err != nil {
		t.Fatalf("cosign bundle: %v", err)
	}
	// The bundle packgen writes for the same signature is cosign's, byte for byte.
	parsed, err := ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Hint != s.hint {
		t.Errorf("key hint: cosign %s, packgen %s", parsed.Hint, s.hint)
	}
	again, err := (&Signature{Raw: parsed.Raw, Digest: sha256.Sum256(blob), Hint: s.hint}).Bundle()
	if err != nil {
		t.Fatal(err)
	}
	if string(bytes.TrimSpace(again)) != string(bytes.TrimSpace(bundle)) {
		t.Errorf("bundle shape differs:\npackgen %s\ncosign  %s", again, bundle)
	}
	// The .sig packgen writes has cosign's shape: one line of standard base64.
	if raw, _ := DecodeSigFile(read(t, "blob.txt.sig")); string((&Signature{Raw: raw}).SigFile()) != strings.TrimSpace(string(read(t, "blob.txt.sig"))) {
		t.Error(".sig shape differs from cosign's")
	}
}

// Files packgen made that the real cosign verified (see make-fixtures.sh).
func TestPackgenFixturesStillVerify(t *testing.T) {
	if _, err := LoadSigner(read(t, "packgen.key"), StaticPass([]byte("packgen-test"))); err != nil {
		t.Fatal(err)
	}
	v, err := LoadPublicKey(read(t, "packgen.pub"))
	if err != nil {
		t.Fatal(err)
	}
	blob := read(t, "packgen-blob.txt")
	if err := v.VerifyBlob(bytes.NewReader(blob), read(t, "packgen-blob.txt.sig")); err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyBundle(bytes.NewReader(blob), read(t, "packgen-blob.txt.sigstore.json")); err != nil {
		t.Fatal(err)
	}
}

// TestCosignInterop asks a real cosign binary to verify fresh packgen
// signatures, when one is available ($COSIGN_BIN or cosign on PATH).
func TestCosignInterop(t *testing.T) {
	bin := os.Getenv("COSIGN_BIN")
	if bin == "" {
		bin, _ = exec.LookPath("cosign")
	}
	if bin == "" {
		t.Skip("no cosign binary (set COSIGN_BIN); the checked-in fixtures above were verified by cosign v3.1.3")
	}
	dir := t.TempDir()
	priv, pub, err := Generate(ECDSAP256, StaticPass([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "k.pub"), pub, 0o644)
	s, _ := LoadSigner(priv, StaticPass([]byte("pw")))
	blob := []byte("fresh blob\n")
	file := filepath.Join(dir, "b")
	os.WriteFile(file, blob, 0o644)
	if _, _, err := s.SignFile(file, sha256.Sum256(blob)); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"verify-blob", "--key", "k.pub", "--signature", "b.sig", "--insecure-ignore-tlog=true", "b"},
		{"verify-blob", "--key", "k.pub", "--bundle", "b.sigstore.json", "--insecure-ignore-tlog=true", "b"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verified OK") {
			t.Errorf("cosign %v: %v\n%s", args, err, out)
		}
	}
}

// VerifyManifest accepts a cosign signature of the given manifest under
// the key, and nothing else.
func TestVerifyManifest(t *testing.T) {
	s, err := LoadSigner(read(t, "cosign.key"), StaticPass([]byte("packgen-test")))
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadPublicKey(read(t, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	p1, s1, err := s.SignManifest("127.0.0.1:5000/acme/spectro-packs/archive/hello", d1)
	if err != nil {
		t.Fatal(err)
	}
	p2, s2, _ := s.SignManifest("127.0.0.1:5000/acme/spectro-packs/archive/hello", d2)
	for _, tc := range []struct {
		name    string
		payload []byte
		sig     string
		ok      bool
	}{
		{"its signature", p1, s1, true},
		{"another manifest's payload and signature", p2, s2, false},
		{"the payload changed", bytes.Replace(p1, []byte("hello"), []byte("hellp"), 1), s1, false},
		{"another payload's signature", p1, s2, false},
		{"not JSON", []byte("x"), s1, false},
		{"no signature", p1, "", false},
		{"too large", append(p1, bytes.Repeat([]byte(" "), MaxCosignPayload)...), s1, false},
	} {
		err := v.VerifyManifest(tc.payload, tc.sig, d1)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadSignature)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
