// Package sign manages registry keys and signs and verifies blobs, on
// sigstore/sigstore, in formats cosign reads and writes:
//
//   - Private keys are PKCS#8 DER encrypted with go-securesystemslib's
//     scrypt + NaCl secretbox scheme, PEM type "ENCRYPTED SIGSTORE PRIVATE
//     KEY" (cosign's older "ENCRYPTED COSIGN PRIVATE KEY" loads too), so
//     keys move both ways between cosign and packgen. Unencrypted PKCS#8
//     and SEC 1 PEM keys load as well, for CI secrets.
//   - Public keys are PKIX "PUBLIC KEY" PEM.
//   - A ".sig" file is the standard base64 of the ASN.1 signature, exactly
//     what `cosign sign-blob` writes and `cosign verify-blob --key pub.pem
//     --signature x.sig --insecure-ignore-tlog=true x` checks. ECDSA keys
//     sign the blob's SHA-256; ed25519 keys sign the whole blob (so they
//     need it in memory: use them for small blobs such as index.json).
//   - A ".sigstore.json" file is a Sigstore bundle v0.3 (protobuf-specs
//     types, protojson encoding) with a public-key hint and a message
//     signature; the hint is the standard base64 of the SHA-256 of the
//     public key's PKIX DER, as sigstore-go's key signer writes it.
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
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// ErrBadSignature marks a signature that does not verify.
var ErrBadSignature = errors.New("bad signature")

// ErrKeyPassword: the private key's password is missing or wrong, the
// user's to set (a usage error, whichever command needed the key).
var ErrKeyPassword = errors.New("private key password missing or wrong")

// ErrNotPrivateKey: what was given as the private key is not one (a
// public key, often: registry.pub for registry.key).
var ErrNotPrivateKey = errors.New("not a private key")

// ErrNotPublicKey: what was given as a public key is not one (a private
// key, the easy mistake with registry.key beside registry.pub, or not a
// PEM at all).
var ErrNotPublicKey = errors.New("not a public key")

// Algorithm is a key type packgen can generate.
type Algorithm string

const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	Ed25519   Algorithm = "ed25519"
)

// MaxEd25519Message bounds what an ed25519 key signs or verifies, since it
// needs the whole message in memory.
const MaxEd25519Message = 64 << 20

// PassFunc returns the key password; confirm asks twice when creating.
type PassFunc = cryptoutils.PassFunc

// StaticPass returns a PassFunc for a fixed password.
func StaticPass(pw []byte) PassFunc { return func(bool) ([]byte, error) { return pw, nil } }

// Generate makes a key pair and returns the encrypted private key PEM and
// the public key PEM.
func Generate(alg Algorithm, pf PassFunc) (privPEM, pubPEM []byte, err error) {
	var priv crypto.Signer
	switch alg {
	case ECDSAP256, "":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, nil, fmt.Errorf("unknown key algorithm %q (want %s or %s)", alg, ECDSAP256, Ed25519)
	}
	if err != nil {
		return nil, nil, err
	}
	der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(priv, pf)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt private key: %w", err)
	}
	pubPEM, err = cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return cryptoutils.PEMEncode(cryptoutils.EncryptedSigstorePrivateKeyPEMType, der), pubPEM, nil
}

// Signer signs blobs with one private key.
type Signer struct {
	sv   signature.SignerVerifier
	pub  crypto.PublicKey
	hint string
	ed   bool
	// logSeed is the seed of the log key (logkey.go), derived from the
	// private key when it is loaded.
	logSeed []byte
	// self verifies the signer's own signatures (Signed), made once.
	selfOnce sync.Once
	self     *Verifier
}

// LoadSigner parses a private key PEM (encrypted or not).
func LoadSigner(privPEM []byte, pf PassFunc) (*Signer, error) {
	if !bytes.Contains(privPEM, []byte("-----BEGIN ")) {
		return nil, errmark.New(ErrNotPrivateKey, "not a PEM private key (expected -----BEGIN ... PRIVATE KEY-----)")
	}
	if bytes.Contains(privPEM, []byte("-----BEGIN PUBLIC KEY-----")) && !bytes.Contains(privPEM, []byte("PRIVATE KEY-----")) {
		return nil, errmark.New(ErrNotPrivateKey, "this is a public key: signing needs the private key, the .key file beside it (packgen key generate writes PREFIX.key and PREFIX.pub)")
	}
	if !bytes.Contains(privPEM, []byte("ENCRYPTED")) {
		pf = nil
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(privPEM, pf)
	if err != nil {
		if strings.Contains(err.Error(), "decryption failed") {
			return nil, errmark.New(ErrKeyPassword, "cannot decrypt the private key: wrong password (set PACKGEN_PASSWORD or COSIGN_PASSWORD)")
		}
		return nil, fmt.Errorf("load private key: %w", err)
	}
	var s Signer
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		s.sv, err = signature.LoadECDSASignerVerifier(k, crypto.SHA256)
		s.pub = k.Public()
	case ed25519.PrivateKey:
		s.sv, err = signature.LoadED25519SignerVerifier(k)
		s.pub, s.ed = k.Public(), true
	default:
		return nil, fmt.Errorf("unsupported private key type %T (use ECDSA P-256 or ed25519)", key)
	}
	if err != nil {
		return nil, err
	}
	if s.hint, err = hint(s.pub); err != nil {
		return nil, err
	}
	if s.logSeed, err = logSeed(key); err != nil {
		return nil, err
	}
	return &s, nil
}

// LoadSignerRef loads a private key from a file path or from "env://VAR",
// an environment variable holding the PEM (for CI secrets).
func LoadSignerRef(ref string, pf PassFunc) (*Signer, error) {
	var data []byte
	if v, ok := strings.CutPrefix(ref, "env://"); ok {
		data = []byte(os.Getenv(v))
		if len(data) == 0 {
			return nil, fmt.Errorf("environment variable %s is empty or unset: it must hold the private key PEM", v)
		}
	} else {
		var err error
		if data, err = ReadKeyFile(ref); err != nil {
			return nil, fmt.Errorf("read private key: %w", err)
		}
	}
	s, err := LoadSigner(data, pf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return s, nil
}

// PublicKeyPEM returns the signer's public key as PEM.
func (s *Signer) PublicKeyPEM() ([]byte, error) { return cryptoutils.MarshalPublicKeyToPEM(s.pub) }

// Signature is a signature over one blob.
type Signature struct {
	Raw    []byte   // ASN.1 (ECDSA) or raw (ed25519) signature
	Digest [32]byte // SHA-256 of the blob
	Hint   string   // public key hint for the bundle
}

// SigFile is the content of the .sig file: base64 of the signature.
func (s *Signature) SigFile() []byte {
	return []byte(base64.StdEncoding.EncodeToString(s.Raw))
}

// SignDigest signs a blob by its SHA-256, without reading it. Only ECDSA
// keys can: ed25519 signs the message itself.
func (s *Signer) SignDigest(sum [32]byte) (*Signature, error) {
	if s.ed {
		return nil, errors.New("ed25519 keys sign the whole blob, not its digest")
	}
	raw, err := s.sv.SignMessage(bytes.NewReader(nil), options.WithDigest(sum[:]), options.WithCryptoSignerOpts(crypto.SHA256))
	if err != nil {
		return nil, err
	}
	return &Signature{Raw: raw, Digest: sum, Hint: s.hint}, nil
}

// Sign signs a blob read from r (streamed for ECDSA).
func (s *Signer) Sign(r io.Reader) (*Signature, error) {
	if s.ed {
		msg, err := io.ReadAll(io.LimitReader(r, MaxEd25519Message+1))
		if err != nil {
			return nil, err
		}
		if len(msg) > MaxEd25519Message {
			return nil, fmt.Errorf("blob is larger than %d bytes: sign it with an ECDSA key", MaxEd25519Message)
		}
		raw, err := s.sv.SignMessage(bytes.NewReader(msg))
		if err != nil {
			return nil, err
		}
		return &Signature{Raw: raw, Digest: sha256.Sum256(msg), Hint: s.hint}, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return s.SignDigest(sum)
}

// SignFile signs the file at path whose SHA-256 the caller already knows
// (re-reading it only for ed25519) and writes path.sig and
// path.sigstore.json beside it atomically, returning their base names.
func (s *Signer) SignFile(path string, sum [32]byte) (sigName, bundleName string, err error) {
	return s.SignFileTo(path, sum, writeAtomic)
}

// SignFileTo is SignFile writing the two files with write, for a caller
// that needs no temp file and rename per file (a build writing into a
// fresh staging dir).
func (s *Signer) SignFileTo(path string, sum [32]byte, write func(file string, data []byte) error) (sigName, bundleName string, err error) {
	sig, bundle, err := s.SignBlob(sum, func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return "", "", err
	}
	if err := write(path+SigExt, sig); err != nil {
		return "", "", err
	}
	if err := write(path+BundleExt, bundle); err != nil {
		return "", "", err
	}
	base := filepath.Base(path)
	return base + SigExt, base + BundleExt, nil
}

// SignBlob signs the blob whose SHA-256 is sum and returns the content
// of its .sig file and of its Sigstore bundle; the caller names and
// writes them. open reads the blob, for ed25519 keys only (they sign the
// message itself).
func (s *Signer) SignBlob(sum [32]byte, open func() (io.ReadCloser, error)) (sigFile, bundle []byte, err error) {
	var sig *Signature
	if s.ed {
		f, err := open()
		if err != nil {
			return nil, nil, err
		}
		sig, err = s.Sign(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		if sig.Digest != sum {
			return nil, nil, fmt.Errorf("the blob's SHA-256 is %x, not the %x it was to be signed as", sig.Digest, sum)
		}
	} else if sig, err = s.SignDigest(sum); err != nil {
		return nil, nil, err
	}
	bundle, err = sig.Bundle()
	if err != nil {
		return nil, nil, err
	}
	return sig.SigFile(), bundle, nil
}

// File name suffixes of signatures.
const (
	SigExt    = ".sig"
	BundleExt = ".sigstore.json"
)

func writeAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}

func hint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// KeyID is the hex SHA-256 of a public key's PKIX DER, for display.
func KeyID(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// KeyID is the hex SHA-256 of the signer's public key.
func (s *Signer) KeyID() string { return KeyID(s.pub) }

// Prepare does nothing: the key is already decrypted (see Lazy.Prepare).
func (s *Signer) Prepare() {}

// Opens is nil: the key is already decrypted (see Lazy.Opens).
func (s *Signer) Opens() error { return nil }

// Signed reports whether sigFile (a .sig file's content) is this signer's
// signature over the file at path, whose SHA-256 is sum. Builds use it to
// find releases signed by a previous key after a key rotation.
func (s *Signer) Signed(path string, sum [32]byte, sigFile []byte) bool {
	s.selfOnce.Do(func() {
		if pub, err := s.PublicKeyPEM(); err == nil {
			s.self, _ = LoadPublicKey(pub)
		}
	})
	v := s.self
	if v == nil {
		return false
	}
	raw, err := DecodeSigFile(sigFile)
	if err != nil {
		return false
	}
	return v.VerifyDigest(sum, func() (io.ReadCloser, error) { return os.Open(path) }, raw) == nil
}
