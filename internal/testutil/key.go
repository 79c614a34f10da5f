package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/packgen/packgen/sign"
)

// Password encrypts every test key (PACKGEN_PASSWORD for the binary).
const Password = "pw"

// Key is a fresh ECDSA P-256 signing key: its public key, and both
// loaded.
type Key struct {
	Pub      []byte
	Signer   *sign.Signer
	Verifier *sign.Verifier

	priv      *ecdsa.PrivateKey
	encrypted func() ([]byte, error)
}

// NewKey generates a key.
func NewKey(t testing.TB) *Key {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// GenerateKey is NewKey for callers without a testing.TB (a shared key
// made once with sync.OnceValues). The signer is loaded from the key's
// plain PKCS #8 PEM: the encrypted PEM a packgen key file holds costs
// scrypt twice (encrypting, then decrypting to load it), about 3 s
// under the race detector, and most tests never write the key out.
func GenerateKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	k := &Key{priv: priv}
	if k.Signer, err = sign.LoadSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil); err != nil {
		return nil, err
	}
	if k.Pub, err = cryptoutils.MarshalPublicKeyToPEM(priv.Public()); err != nil {
		return nil, err
	}
	if k.Verifier, err = sign.LoadPublicKey(k.Pub); err != nil {
		return nil, err
	}
	k.encrypted = sync.OnceValues(func() ([]byte, error) {
		der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(k.priv, sign.StaticPass([]byte(Password)))
		if err != nil {
			return nil, err
		}
		return cryptoutils.PEMEncode(cryptoutils.EncryptedSigstorePrivateKeyPEMType, der), nil
	})
	return k, nil
}

// Priv is the private key as `packgen key generate` writes it: a PEM
// encrypted with Password (made on first use, once).
func (k *Key) Priv(t testing.TB) []byte {
	t.Helper()
	b, err := k.encrypted()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
