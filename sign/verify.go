package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// MaxSigFileSize bounds .sig parsing.
const MaxSigFileSize = 16 << 10

// Verifier checks signatures against one or more public keys: any key may
// match, which is how a registry rotates keys without breaking clients.
type Verifier struct {
	keys []key
}

type key struct {
	v   signature.Verifier
	pub crypto.PublicKey
	ed  bool
	id  string
}

// LoadPublicKey parses one public key PEM.
func LoadPublicKey(pemBytes []byte) (*Verifier, error) {
	return NewVerifierSet(pemBytes)
}

// MaxKeyFileSize bounds a key file: a PEM is well under a kilobyte, a
// file of several a few.
const MaxKeyFileSize = 64 << 10

// ReadKeyFile reads a key file: a regular file (never a FIFO, which would
// hang, nor a device like /dev/zero, which never ends) of at most
// MaxKeyFileSize bytes.
func ReadKeyFile(path string) ([]byte, error) {
	return safefile.ReadFile(path, MaxKeyFileSize)
}

// LoadPublicKeyFile reads a public key PEM file.
func LoadPublicKeyFile(path string) (*Verifier, error) {
	data, err := ReadKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	v, err := LoadPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// NewVerifierSet accepts any of several public key PEMs.
func NewVerifierSet(pems ...[]byte) (*Verifier, error) {
	if len(pems) == 0 {
		return nil, errors.New("no public key given")
	}
	vs := &Verifier{}
	for _, p := range pems {
		if !bytes.Contains(p, []byte("-----BEGIN PUBLIC KEY-----")) {
			if bytes.Contains(p, []byte("PRIVATE KEY-----")) {
				return nil, errmark.New(ErrNotPublicKey, "this is a private key: verifying needs its public half, the .pub file beside it (packgen key generate writes PREFIX.key and PREFIX.pub); keep the private key out of clients")
			}
			return nil, errmark.New(ErrNotPublicKey, "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)")
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		k := key{pub: pub, id: KeyID(pub)}
		switch pk := pub.(type) {
		case *ecdsa.PublicKey:
			k.v, err = signature.LoadECDSAVerifier(pk, crypto.SHA256)
		case ed25519.PublicKey:
			k.v, err = signature.LoadED25519Verifier(pk)
			k.ed = true
		default:
			return nil, fmt.Errorf("unsupported public key type %T (use ECDSA P-256 or ed25519)", pub)
		}
		if err != nil {
			return nil, err
		}
		vs.keys = append(vs.keys, k)
	}
	return vs, nil
}

// KeyIDs lists the key IDs of the set.
func (v *Verifier) KeyIDs() []string {
	var ids []string
	for _, k := range v.keys {
		ids = append(ids, k.id)
	}
	return ids
}

// DecodeSigFile parses the content of a .sig file (base64, white space allowed).
func DecodeSigFile(data []byte) ([]byte, error) {
	if len(data) > MaxSigFileSize {
		return nil, fmt.Errorf("%w: signature file is larger than %d bytes", ErrBadSignature, MaxSigFileSize)
	}
	s := strings.TrimSpace(string(data))
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64: %v", ErrBadSignature, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: signature is empty", ErrBadSignature)
	}
	return raw, nil
}

// VerifyDigest checks a raw signature over a blob known by its SHA-256.
// open re-reads the blob when a key type (ed25519) signs the whole message;
// it may be nil when the caller has only the digest.
func (v *Verifier) VerifyDigest(sum [32]byte, open func() (io.ReadCloser, error), raw []byte) error {
	var readErr error
	for _, k := range v.keys {
		var err error
		if k.ed {
			if open == nil {
				err = errors.New("ed25519 needs the blob")
			} else {
				err = verifyEd(k, sum, open, raw)
			}
		} else {
			err = k.v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(nil), options.WithDigest(sum[:]), options.WithCryptoSignerOpts(crypto.SHA256))
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, errReadBlob) {
			readErr = err
		}
	}
	if readErr != nil {
		// No verdict: an ed25519 key could not read what it signs (a
		// disk or network failure is not a bad signature).
		return readErr
	}
	return fmt.Errorf("%w: no trusted key (%s) verifies it", ErrBadSignature, strings.Join(v.KeyIDs(), ", "))
}

// errReadBlob marks a blob an ed25519 key could not read to check it.
var errReadBlob = errors.New("cannot read the signed blob to check its ed25519 signature")

func verifyEd(k key, sum [32]byte, open func() (io.ReadCloser, error), raw []byte) error {
	rc, err := open()
	if err != nil {
		return fmt.Errorf("%w: %w", errReadBlob, err)
	}
	defer rc.Close()
	msg, err := io.ReadAll(io.LimitReader(rc, MaxEd25519Message+1))
	if err != nil {
		return fmt.Errorf("%w: %w", errReadBlob, err)
	}
	if len(msg) > MaxEd25519Message || sha256.Sum256(msg) != sum {
		return errors.New("blob changed")
	}
	return k.v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(msg))
}

// VerifyBlob reads a blob and checks a .sig file's content against it.
func (v *Verifier) VerifyBlob(r io.Reader, sigFile []byte) error {
	raw, err := DecodeSigFile(sigFile)
	if err != nil {
		return err
	}
	return v.verifyRead(r, raw, [32]byte{})
}

// VerifyBundle checks a Sigstore bundle against a blob: the bundle's
// digest must be the blob's SHA-256 and its signature must verify.
func (v *Verifier) VerifyBundle(r io.Reader, bundle []byte) error {
	sig, err := ParseBundle(bundle)
	if err != nil {
		return err
	}
	return v.verifyRead(r, sig.Raw, sig.Digest)
}

// verifyRead reads the blob r (whole only if an ed25519 key needs the
// message) and checks the raw signature against it; a non-zero digest
// (a bundle's) must be the blob's SHA-256.
func (v *Verifier) verifyRead(r io.Reader, raw []byte, digest [32]byte) error {
	msg, sum, err := readForVerify(r, v.needsMessage())
	if err != nil {
		return err
	}
	if digest != ([32]byte{}) && digest != sum {
		return fmt.Errorf("%w: the bundle is for another blob (digest mismatch)", ErrBadSignature)
	}
	return v.VerifyDigest(sum, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(msg)), nil }, raw)
}

func (v *Verifier) needsMessage() bool {
	for _, k := range v.keys {
		if k.ed {
			return true
		}
	}
	return false
}

// readForVerify hashes r, keeping the message only when a key needs it.
func readForVerify(r io.Reader, keep bool) ([]byte, [32]byte, error) {
	var sum [32]byte
	if keep {
		msg, err := io.ReadAll(io.LimitReader(r, MaxEd25519Message+1))
		if err != nil {
			return nil, sum, err
		}
		return msg, sha256.Sum256(msg), nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, sum, err
	}
	copy(sum[:], h.Sum(nil))
	return nil, sum, nil
}
