package testutil

import (
	"testing"

	"github.com/packgen/packgen/sign"
)

// Password encrypts every test key (PACKGEN_PASSWORD for the binary).
const Password = "pw"

// Key is a fresh ECDSA P-256 signing key: its encrypted PEM, its public
// key, and both loaded.
type Key struct {
	Priv, Pub []byte
	Signer    *sign.Signer
	Verifier  *sign.Verifier
}

// NewKey generates a key encrypted with Password.
func NewKey(t testing.TB) *Key {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// GenerateKey is NewKey for callers without a testing.TB (a shared key
// made once with sync.OnceValues).
func GenerateKey() (*Key, error) {
	pass := sign.StaticPass([]byte(Password))
	priv, pub, err := sign.Generate(sign.ECDSAP256, pass)
	if err != nil {
		return nil, err
	}
	k := &Key{Priv: priv, Pub: pub}
	if k.Signer, err = sign.LoadSigner(priv, pass); err != nil {
		return nil, err
	}
	if k.Verifier, err = sign.LoadPublicKey(pub); err != nil {
		return nil, err
	}
	return k, nil
}
