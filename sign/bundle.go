package sign

import (
	"bytes"
	"encoding/json"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleMediaType is the Sigstore bundle version packgen writes.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// MaxBundleSize bounds bundle parsing.
const MaxBundleSize = 1 << 20

// Bundle renders the signature as a Sigstore bundle: a public-key hint and
// a message signature over the blob's SHA-256. There is no transparency
// log entry: verify with --insecure-ignore-tlog=true.
func (s *Signature) Bundle() ([]byte, error) {
	b := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: s.Hint}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: s.Digest[:]},
			Signature:     s.Raw,
		}},
	}
	raw, err := protojson.MarshalOptions{}.Marshal(b)
	if err != nil {
		return nil, err
	}
	// protojson varies white space on purpose; compact it so files are stable.
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// ParseBundle reads a bundle written by packgen or cosign and returns the
// message signature it carries.
func ParseBundle(data []byte) (*Signature, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle is larger than %d bytes", ErrBadSignature, MaxBundleSize)
	}
	var b protobundle.Bundle
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle: %v", ErrBadSignature, err)
	}
	switch b.GetMediaType() {
	case BundleMediaType, "application/vnd.dev.sigstore.bundle+json;version=0.3", "application/vnd.dev.sigstore.bundle+json;version=0.2", "application/vnd.dev.sigstore.bundle.v0.2+json":
	default:
		return nil, fmt.Errorf("%w: unsupported bundle media type %q", ErrBadSignature, b.GetMediaType())
	}
	ms := b.GetMessageSignature()
	if ms == nil {
		return nil, fmt.Errorf("%w: bundle holds no message signature", ErrBadSignature)
	}
	sig := &Signature{Raw: ms.GetSignature(), Hint: b.GetVerificationMaterial().GetPublicKey().GetHint()}
	if d := ms.GetMessageDigest(); d != nil {
		if d.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 || len(d.GetDigest()) != 32 {
			return nil, fmt.Errorf("%w: bundle digest is not SHA-256", ErrBadSignature)
		}
		copy(sig.Digest[:], d.GetDigest())
	}
	if len(sig.Raw) == 0 {
		return nil, fmt.Errorf("%w: bundle signature is empty", ErrBadSignature)
	}
	return sig, nil
}

// BundleCarries reports whether a Sigstore bundle's content carries the
// signature of a .sig file's content: the two files the build writes
// beside an archive hold one signature (the build's check of a previous
// build's, and verify --site's).
func BundleCarries(bundleData, sigData []byte) bool {
	b, err := ParseBundle(bundleData)
	if err != nil {
		return false
	}
	raw, err := DecodeSigFile(sigData)
	return err == nil && bytes.Equal(b.Raw, raw)
}
