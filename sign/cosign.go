package sign

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// SignManifest signs an OCI manifest the way `cosign sign --key` does: the
// payload is sigstore's simple-signing JSON naming repo (REGISTRY/REPO)
// and the manifest digest ("sha256:..."), signed like any blob. It returns
// the payload and the base64 signature for the layer annotation.
func (s *Signer) SignManifest(repo, manifestDigest string) (payloadJSON []byte, sigB64 string, err error) {
	d, err := name.NewDigest(repo+"@"+manifestDigest, name.StrictValidation)
	if err != nil {
		return nil, "", fmt.Errorf("sign %s@%s: %w", repo, manifestDigest, err)
	}
	payloadJSON, err = payload.Cosign{Image: d}.MarshalJSON()
	if err != nil {
		return nil, "", err
	}
	sig, err := s.Sign(bytes.NewReader(payloadJSON))
	if err != nil {
		return nil, "", err
	}
	return payloadJSON, base64.StdEncoding.EncodeToString(sig.Raw), nil
}

// MaxCosignPayload bounds a simple-signing payload read from a registry
// (cosign's are a few hundred bytes).
const MaxCosignPayload = 64 << 10

// VerifyManifest checks a cosign signature layer: the simple-signing
// payload must name manifestDigest and sigB64 (the layer's
// dev.cosignproject.cosign/signature annotation) must verify it under
// one of v's keys. The payload's docker-reference is not checked: a
// promoted release keeps the signature made where it was first
// published, as `cosign verify` accepts.
func (v *Verifier) VerifyManifest(payloadJSON []byte, sigB64, manifestDigest string) error {
	if err := CheckCosignPayload(payloadJSON, manifestDigest); err != nil {
		return err
	}
	return v.VerifyBlob(bytes.NewReader(payloadJSON), []byte(sigB64))
}

// CosignPayload is the simple-signing payload SignManifest signs for repo
// and manifestDigest: deterministic, so a publisher can recognise its own
// signature layer by digest without reading the payload back.
func CosignPayload(repo, manifestDigest string) ([]byte, error) {
	d, err := name.NewDigest(repo+"@"+manifestDigest, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", repo, manifestDigest, err)
	}
	return payload.Cosign{Image: d}.MarshalJSON()
}
