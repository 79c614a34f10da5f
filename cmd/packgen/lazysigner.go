package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/sign"
)

// lazySigner defers decrypting the private key until something needs
// signing. Decryption (scrypt, by the cosign key format) costs about
// 0.15 s of CPU and 64 MiB, the largest part of a rebuild that changes
// nothing or one pack. The build still needs the key's identity before
// that (to tell whether the registry is already signed by it), so the
// public key is read from the .pub file beside the key, as `packgen key
// generate` and `cosign generate-key-pair` write it; signing refuses to
// go on if the private key turns out not to match it.
type lazySigner struct {
	load func() (*sign.Signer, error)
	pub  *sign.Verifier
	id   string
	pubf string

	once sync.Once
	s    *sign.Signer
	err  error
}

// newLazySigner returns a lazy signer for the key file ref when that is
// safe to defer: a key file with its .pub beside it and the password in
// the environment (a prompt in the middle of a build would be worse
// than the cost). Otherwise it returns nil.
func newLazySigner(ref string, pf sign.PassFunc) *lazySigner {
	if strings.HasPrefix(ref, "env://") || !strings.HasSuffix(ref, ".key") {
		return nil
	}
	env := false
	for _, name := range sign.PasswordEnv {
		if _, ok := os.LookupEnv(name); ok {
			env = true
		}
	}
	pubf := strings.TrimSuffix(ref, ".key") + ".pub"
	if !env {
		return nil
	}
	v, err := sign.LoadPublicKeyFile(pubf)
	if err != nil || len(v.KeyIDs()) != 1 {
		return nil
	}
	return &lazySigner{load: func() (*sign.Signer, error) { return sign.LoadSignerRef(ref, pf) }, pub: v, id: v.KeyIDs()[0], pubf: pubf}
}

func (l *lazySigner) signer() (*sign.Signer, error) {
	l.once.Do(func() {
		l.s, l.err = l.load()
		if l.err == nil && l.s.KeyID() != l.id {
			l.err = fmt.Errorf("%s does not belong to the private key beside it (key %s, not %s): regenerate it from the key, or remove it", l.pubf, short(l.s.KeyID()), short(l.id))
		}
	})
	return l.s, l.err
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// SignFile decrypts the key on first use and signs.
func (l *lazySigner) SignFile(file string, sum [32]byte) (string, string, error) {
	s, err := l.signer()
	if err != nil {
		return "", "", err
	}
	return s.SignFile(file, sum)
}

// SignFileTo decrypts the key on first use and signs.
func (l *lazySigner) SignFileTo(file string, sum [32]byte, write func(string, []byte) error) (string, string, error) {
	s, err := l.signer()
	if err != nil {
		return "", "", err
	}
	return s.SignFileTo(file, sum, write)
}

// Signed checks a signature with the public key, without decrypting.
func (l *lazySigner) Signed(path string, sum [32]byte, sigFile []byte) bool {
	raw, err := sign.DecodeSigFile(sigFile)
	if err != nil {
		return false
	}
	return l.pub.VerifyDigest(sum, func() (io.ReadCloser, error) { return os.Open(path) }, raw) == nil
}

// KeyID is the public key's ID.
func (l *lazySigner) KeyID() string { return l.id }

// PublicKeyPEM is the public key beside the private one.
func (l *lazySigner) PublicKeyPEM() ([]byte, error) { return safefile.ReadFile(l.pubf, 64<<10) }
