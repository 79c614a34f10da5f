package sign

import (
	"bytes"
	"crypto"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// The transparency log's checkpoints are signed notes (sumdb/note), and
// note signatures are ed25519 while a registry key may be ECDSA P-256.
// So the log has its own ed25519 key, derived from the registry's private
// key with HKDF-SHA256 (over its PKCS#8 DER, with a salt naming this use):
// no second secret to keep, the same registry key always gives the same
// log key (so rebuilding gives identical checkpoints), rotating the
// registry key rotates the log key, and an ed25519 registry key never
// signs two formats. Clients learn the log's public key from index.json,
// which the registry key signs (see docs/SECURITY.md).
const logKeySalt = "packgen transparency log key v1"

func logSeed(priv crypto.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("derive log key: %w", err)
	}
	return hkdf.Key(sha256.New, der, []byte(logKeySalt), "ed25519 seed", 32)
}

// LogKey returns the note signer key and verifier key of the registry's
// transparency log, named name (a note key name: no spaces, no '+').
func (s *Signer) LogKey(name string) (skey, vkey string, err error) {
	// GenerateKey reads exactly the 32-byte ed25519 seed from its reader:
	// the derived seed makes it deterministic, and note keeps the encoding.
	skey, vkey, err = note.GenerateKey(bytes.NewReader(s.logSeed), name)
	if err == nil {
		_, err = note.NewSigner(skey) // GenerateKey does not check the name
	}
	if err != nil {
		return "", "", fmt.Errorf("log key %q: %w", name, err)
	}
	return skey, vkey, nil
}

// LogKey decrypts the key on first use and derives the log key (see
// Signer.LogKey).
func (l *Lazy) LogKey(name string) (string, string, error) {
	s, err := l.signer()
	if err != nil {
		return "", "", err
	}
	return s.LogKey(name)
}
