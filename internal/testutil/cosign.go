package testutil

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// CosignAt cosigns msg, a checkpoint signed by the log key logVkey, with
// the witness key skey (packgen key generate --witness) as if at time at:
// transparency-dev/formats' signer always uses the clock, and tests of
// cosignature times need one in the future or the past. The signature is
// C2SP cosignature/v1 (ed25519 over "cosignature/v1\ntime T\n" and the
// note text, encoded as timestamp || signature); the tests that use it
// check it verifies under formats' own verifier.
func CosignAt(tb testing.TB, msg []byte, logVkey, skey string, at time.Time) []byte {
	tb.Helper()
	real, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		tb.Fatal(err)
	}
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5) // PRIVATE+KEY+NAME+HASH+BASE64 (which may hold '+')
	if len(parts) != 5 {
		tb.Fatalf("witness key: %d fields", len(parts))
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		tb.Fatalf("witness key: %v", err)
	}
	lv, err := note.NewVerifier(logVkey)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(lv))
	if err != nil {
		tb.Fatal(err)
	}
	s := &timedSigner{Signer: real, key: ed25519.NewKeyFromSeed(raw[1:]), at: at}
	out, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, s)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// timedSigner is formats' cosignature signer (its name and key hash)
// signing as if at at.
type timedSigner struct {
	*fnote.Signer
	key ed25519.PrivateKey
	at  time.Time
}

func (s *timedSigner) Sign(msg []byte) ([]byte, error) {
	t := uint64(s.at.Unix())
	sig := binary.BigEndian.AppendUint64(nil, t)
	return append(sig, ed25519.Sign(s.key, fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, msg))...), nil
}
