package sign

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

const imageDigest = "sha256:9e09ea113caec8a0e562710b20dcca53f3e8a2d8db0447e611f2d30b776c8fe8"

// imageBundle is a Sigstore bundle shaped as cosign v3 signs an image: a
// DSSE envelope over an in-toto statement naming the subject digest,
// signed by s over the envelope's PAE.
func imageBundle(t testing.TB, s *Signer, payloadType, statement string) []byte {
	t.Helper()
	sig, err := s.Sign(bytes.NewReader(ssldsse.PAE(payloadType, []byte(statement))))
	if err != nil {
		t.Fatal(err)
	}
	b := &protobundle.Bundle{MediaType: BundleMediaType, Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
		Payload: []byte(statement), PayloadType: payloadType, Signatures: []*protodsse.Signature{{Sig: sig.Raw}},
	}}}
	data, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func statement(hex string) string {
	return `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + hex + `"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`
}

// TestCheckImageBundle: a cosign v3 image signature is bound to its
// image by the statement's subject, and verifies under the signer's key
// only (ECDSA and ed25519), never under another, nor once its payload
// changed.
func TestCheckImageBundle(t *testing.T) {
	ctx := context.Background()
	hex := strings.TrimPrefix(imageDigest, "sha256:")
	signers := map[string]*Signer{}
	verifiers := map[string]*Verifier{}
	for _, alg := range []string{"ecdsa", "ed25519", "other"} {
		signers[alg], verifiers[alg] = plainKey(t, alg == "ed25519")
	}
	good := imageBundle(t, signers["ecdsa"], InTotoPayloadType, statement(hex))
	// The same signature over another statement (a subject swapped).
	var b protobundle.Bundle
	if err := protojson.Unmarshal(good, &b); err != nil {
		t.Fatal(err)
	}
	b.GetDsseEnvelope().Payload = []byte(statement(strings.Repeat("0", 64)))
	tampered, err := protojson.Marshal(&b)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		bundle []byte
		digest string
		v      *Verifier
		want   string // "" = accepted
	}{
		{"bound, no key", good, imageDigest, nil, ""},
		{"ecdsa key", good, imageDigest, verifiers["ecdsa"], ""},
		{"ed25519 key", imageBundle(t, signers["ed25519"], InTotoPayloadType, statement(hex)), imageDigest, verifiers["ed25519"], ""},
		{"either of two keys", good, imageDigest, mustSet(t, verifiers["other"], verifiers["ecdsa"]), ""},
		{"another key", good, imageDigest, verifiers["other"], "no trusted key"},
		{"payload changed", tampered, "sha256:" + strings.Repeat("0", 64), verifiers["ecdsa"], "no trusted key"},
		{"another image", good, "sha256:" + strings.Repeat("0", 64), nil, "do not name sha256:000"},
		{"not in-toto", imageBundle(t, signers["ecdsa"], "text/plain", statement(hex)), imageDigest, nil, "payload type"},
		{"not a statement", imageBundle(t, signers["ecdsa"], InTotoPayloadType, "[1]"), imageDigest, nil, "not an in-toto statement"},
		{"a message signature", read(t, "blob.txt.sigstore.json"), imageDigest, nil, "no DSSE envelope"},
		{"not a bundle", []byte("{"), imageDigest, nil, "not a Sigstore bundle"},
	} {
		err := CheckImageBundle(ctx, c.bundle, c.digest, c.v)
		if c.want == "" && err != nil || c.want != "" && (!errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// plainKey is a fresh key pair, unencrypted (no scrypt: fast), loaded.
func plainKey(t *testing.T, ed bool) (*Signer, *Verifier) {
	t.Helper()
	alg := ECDSAP256
	if ed {
		alg = Ed25519
	}
	priv, pub := plainPEM(t, alg)
	s, err := LoadSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func mustSet(t *testing.T, vs ...*Verifier) *Verifier {
	out := &Verifier{}
	for _, v := range vs {
		out.keys = append(out.keys, v.keys...)
	}
	return out
}

// TestCheckCosignPayload: the legacy simple-signing payload binds to its
// manifest digest without a key.
func TestCheckCosignPayload(t *testing.T) {
	p, err := CosignPayload("registry.example/acme/web", imageDigest)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCosignPayload(p, imageDigest); err != nil {
		t.Error(err)
	}
	for _, c := range [][2]string{{string(p), "sha256:" + strings.Repeat("1", 64)}, {"{}", imageDigest}, {"[", imageDigest}} {
		if err := CheckCosignPayload([]byte(c[0]), c[1]); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s for %s: %v", c[0], c[1], err)
		}
	}
}

// FuzzCheckImageBundle: a bundle carried across the gap is outside
// input: parsed and checked, or refused; never a panic.
func FuzzCheckImageBundle(f *testing.F) {
	s, err := LoadSigner(cosignFixture(f, "cosign.key"), StaticPass([]byte("packgen-test")))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(imageBundle(f, s, InTotoPayloadType, statement(strings.TrimPrefix(imageDigest, "sha256:"))))
	f.Add(cosignFixture(f, "blob.txt.sigstore.json"))
	f.Add([]byte(`{"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"e30="}}`))
	v, err := LoadPublicKey(cosignFixture(f, "cosign.pub"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if CheckImageBundle(context.Background(), data, imageDigest, v) == nil && CheckImageBundle(context.Background(), data, imageDigest, nil) != nil {
			t.Fatal("verified under a key but not bound")
		}
	})
}
