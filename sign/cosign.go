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
