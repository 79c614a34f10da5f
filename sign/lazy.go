package sign

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Lazy is a signer that decrypts its private key only when something
// needs signing. Decryption (scrypt, by the cosign key format) costs
// about 0.15 s of CPU and 64 MiB, the largest part of a rebuild that
// changes nothing or one pack. A build still needs the key's identity
// before that (to tell whether the registry is already signed by it), so
// the public key is read from the .pub file beside the key, as `packgen
// key generate` and `cosign generate-key-pair` write it; signing refuses
// to go on if the private key turns out not to match it.
type Lazy struct {
	load   func() (*Signer, error)
	pubPEM []byte
	id     string
	pubf   string

	once sync.Once
	s    *Signer
	err  error
}

// NewLazy returns a lazy signer for the key file ref when that is safe
// to defer: a key file with its .pub beside it and the password in the
// environment (a prompt in the middle of a build would be worse than the
// cost). Otherwise it returns nil: load the key with LoadSignerRef.
func NewLazy(ref string, pf PassFunc) *Lazy {
	if strings.HasPrefix(ref, "env://") || !strings.HasSuffix(ref, ".key") {
		return nil
	}
	env := false
	for _, name := range PasswordEnv {
		if _, ok := os.LookupEnv(name); ok {
			env = true
		}
	}
	if !env {
		return nil
	}
	pubf := strings.TrimSuffix(ref, ".key") + ".pub"
	pem, err := ReadKeyFile(pubf)
	if err != nil {
		return nil
	}
	v, err := LoadPublicKey(pem)
	if err != nil || len(v.KeyIDs()) != 1 {
		return nil
	}
	return &Lazy{load: func() (*Signer, error) { return LoadSignerRef(ref, pf) }, pubPEM: pem, id: v.KeyIDs()[0], pubf: pubf}
}

func (l *Lazy) signer() (*Signer, error) {
	l.once.Do(func() {
		l.s, l.err = l.load()
		if l.err == nil && l.s.KeyID() != l.id {
			l.err = fmt.Errorf("%s does not belong to the private key beside it (key %s, not %s): regenerate it from the key, or remove it", l.pubf, shortID(l.s.KeyID()), shortID(l.id))
		}
	})
	return l.s, l.err
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// SignBlob decrypts the key on first use and signs (see Signer.SignBlob).
func (l *Lazy) SignBlob(sum [32]byte, open func() (io.ReadCloser, error)) ([]byte, []byte, error) {
	s, err := l.signer()
	if err != nil {
		return nil, nil, err
	}
	return s.SignBlob(sum, open)
}

// Prepare starts decrypting the key in the background, so a build that
// will sign overlaps the scrypt with its other work; SignBlob then waits
// for it (or does it) once.
func (l *Lazy) Prepare() { go l.signer() }

// Opens decrypts the key if it is not yet (waiting for Prepare's) and
// returns why it cannot sign: a wrong password, or a .pub beside it that
// is not its own.
func (l *Lazy) Opens() error {
	_, err := l.signer()
	return err
}

// KeyID is the public key's ID, known without decrypting.
func (l *Lazy) KeyID() string { return l.id }

// PublicKeyPEM is the public key beside the private one.
func (l *Lazy) PublicKeyPEM() ([]byte, error) { return l.pubPEM, nil }

// SignManifest decrypts the key on first use and signs an OCI manifest
// (see Signer.SignManifest): a publish with nothing to sign never
// decrypts.
func (l *Lazy) SignManifest(repo, manifestDigest string) ([]byte, string, error) {
	s, err := l.signer()
	if err != nil {
		return nil, "", err
	}
	return s.SignManifest(repo, manifestDigest)
}
