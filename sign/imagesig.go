package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
)

// Container image signatures made by others (cosign), as an air-gap
// bundle carries them: the checks that bind a signature to the image
// manifest it is found beside, and, given keys, its verification.

// InTotoPayloadType is the DSSE payload type of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

// CheckCosignPayload checks that a simple-signing payload (cosign's
// legacy signature layer) is a cosign container image signature of
// manifestDigest, without a key: the digest binding alone.
func CheckCosignPayload(payloadJSON []byte, manifestDigest string) error {
	if len(payloadJSON) > MaxCosignPayload {
		return fmt.Errorf("%w: a cosign payload of %d bytes", ErrBadSignature, len(payloadJSON))
	}
	var p payload.SimpleContainerImage
	if err := json.Unmarshal(payloadJSON, &p); err != nil {
		return fmt.Errorf("%w: not a cosign simple-signing payload: %v", ErrBadSignature, err)
	}
	if p.Critical.Type != payload.CosignSignatureType || p.Critical.Image.DockerManifestDigest != manifestDigest {
		return fmt.Errorf("%w: the cosign payload signs %q (type %q), not %s", ErrBadSignature, p.Critical.Image.DockerManifestDigest, p.Critical.Type, manifestDigest)
	}
	return nil
}

// CheckImageBundle checks a Sigstore bundle that signs a container image
// as cosign v3 does (a DSSE envelope over an in-toto statement, attached
// to the image as an OCI referrer): one of the statement's subjects must
// be manifestDigest ("sha256:HEX"), and with v the envelope's signature
// must verify under one of v's keys (go-securesystemslib's DSSE verifier,
// over the envelope's PAE). Without v only the binding is checked.
func CheckImageBundle(ctx context.Context, data []byte, manifestDigest string, v *Verifier) error {
	if len(data) > MaxBundleSize {
		return fmt.Errorf("%w: bundle is larger than %d bytes", ErrBadSignature, MaxBundleSize)
	}
	var b protobundle.Bundle
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &b); err != nil {
		return fmt.Errorf("%w: not a Sigstore bundle: %v", ErrBadSignature, err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return fmt.Errorf("%w: the bundle holds no DSSE envelope (cosign signs an image with one)", ErrBadSignature)
	}
	if env.GetPayloadType() != InTotoPayloadType {
		return fmt.Errorf("%w: DSSE payload type %q, not %s", ErrBadSignature, env.GetPayloadType(), InTotoPayloadType)
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(env.GetPayload(), &st); err != nil {
		return fmt.Errorf("%w: the DSSE payload is not an in-toto statement: %v", ErrBadSignature, err)
	}
	alg, hex, _ := strings.Cut(manifestDigest, ":")
	var named []string
	bound := false
	for _, s := range st.Subject {
		for a, h := range s.Digest {
			named = append(named, a+":"+h)
			bound = bound || a == alg && h == hex
		}
	}
	if !bound {
		return fmt.Errorf("%w: the statement's subjects %v do not name %s", ErrBadSignature, named, manifestDigest)
	}
	if v == nil {
		return nil
	}
	e := &ssldsse.Envelope{PayloadType: env.GetPayloadType(), Payload: base64.StdEncoding.EncodeToString(env.GetPayload())}
	for _, s := range env.GetSignatures() {
		e.Signatures = append(e.Signatures, ssldsse.Signature{KeyID: s.GetKeyid(), Sig: base64.StdEncoding.EncodeToString(s.GetSig())})
	}
	var vs []ssldsse.Verifier
	for _, k := range v.keys {
		vs = append(vs, &sigdsse.VerifierAdapter{SignatureVerifier: k.v, Pub: k.pub})
	}
	ev, err := ssldsse.NewEnvelopeVerifier(vs...)
	if err != nil {
		return err
	}
	if _, err := ev.Verify(ctx, e); err != nil {
		return fmt.Errorf("%w: no trusted key (%s) verifies the DSSE envelope: %v", ErrBadSignature, strings.Join(v.KeyIDs(), ", "), err)
	}
	return nil
}
