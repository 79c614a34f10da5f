package translog

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/packgen/packgen/index"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Witnesses. A witness is an independent party that checks the log only
// grows (each checkpoint it sees is consistent with the last one it
// cosigned) and then adds its cosignature to the log's checkpoint: a note
// signature in the C2SP tlog-cosignature "cosignature/v1" form (a
// timestamped ed25519 signature, transparency-dev/formats' note package).
// A cosigned checkpoint is the log's signed checkpoint with the
// witness's signature line after the log's, published in the site at
// WitnessPath(name): a client that requires witnesses reads one such file
// per witness it trusts (docs/FORMAT.md "Witness cosignatures").

// WitnessDir holds one cosigned checkpoint per witness.
const WitnessDir = index.LogWitnessDir

// ErrCosignature: a witness key or cosigned checkpoint that does not
// parse or verify.
var ErrCosignature = errors.New("bad witness cosignature")

// ErrWitnessKey: a witness private key that is not one (another kind
// of key, such as the registry's own).
var ErrWitnessKey = errors.New("not a witness private key")

// ErrCosignatureTime: a cosignature dated in the future beyond
// MaxCosignatureSkew, or older than the reader's maximum age.
var ErrCosignatureTime = errors.New("witness cosignature out of date")

// MaxCosignatureSkew is how far in the future a cosignature's time may
// be: clocks drift, but a witness signs with its own clock at the time
// it checked the log, so a time further ahead is a broken or forged
// clock, and a time ahead would defeat a maximum age.
const MaxCosignatureSkew = 10 * time.Minute

// WitnessPath is the site path of the checkpoint cosigned by witness
// name (a note key name: no spaces or '+'; '/' and dot names are refused
// by ValidWitnessName).
func WitnessPath(name string) string { return WitnessDir + "/" + name }

// MaxWitnessName bounds a witness's name: "witness-" + NAME must be an
// OCI tag (at most 128 characters) for registries in an OCI registry.
const MaxWitnessName = 120

// ValidWitnessName reports whether name can be a witness key's name, a
// file name under WitnessDir and, prefixed, an OCI tag.
func ValidWitnessName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > MaxWitnessName {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// GenerateWitnessKey makes a witness key pair named name: skey in note's
// private key form (ed25519), vkey its cosignature/v1 verifier key
// (algorithm 0x04, so a verifier never mistakes a cosignature for a
// plain ed25519 note signature).
func GenerateWitnessKey(rand io.Reader, name string) (skey, vkey string, err error) {
	if !ValidWitnessName(name) {
		return "", "", fmt.Errorf("%w: witness name %q: use letters, digits, '-', '_' and '.', at most %d (it is also a file name and an OCI tag)", ErrCosignature, name, MaxWitnessName)
	}
	skey, vkey, err = note.GenerateKey(rand, name)
	if err != nil {
		return "", "", err
	}
	vkey, err = fnote.VKeyToCosignatureV1(vkey)
	return skey, vkey, err
}

// NewWitnessSigner reads a witness's private key (GenerateWitnessKey).
// The keys a witness is most likely given by mistake are named: a PEM
// key (a registry's, whose cosignature would prove nothing: a witness
// is another party) and a witness's public key.
func NewWitnessSigner(skey string) (note.Signer, error) {
	const want = "want the PRIVATE+KEY+NAME+... line of the .key packgen key generate --witness NAME writes"
	if strings.Contains(skey, "-----BEGIN ") {
		return nil, fmt.Errorf("%w: it is a PEM key, as packgen key generate writes for a registry; a witness cosigns with its own key, never the registry's (a registry vouching for its own log proves nothing): make one with packgen key generate --witness NAME and give its .key", ErrWitnessKey)
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		if _, verr := NewWitnessVerifier(skey); verr == nil {
			return nil, fmt.Errorf("%w: it is a witness's public key (.pub): give its private key (.key)", ErrWitnessKey)
		}
		return nil, fmt.Errorf("%w: %v (%s)", ErrWitnessKey, err, want)
	}
	if !ValidWitnessName(s.Name()) {
		return nil, fmt.Errorf("%w: witness name %q: use letters, digits, '-', '_' and '.'", ErrWitnessKey, s.Name())
	}
	return s, nil
}

// NewWitnessVerifier reads a witness's public key (NAME+HASH+BASE64).
func NewWitnessVerifier(vkey string) (note.Verifier, error) {
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: witness key %q: %v (want the NAME+HASH+KEY line of a witness's .pub)", ErrCosignature, vkey, err)
	}
	if !ValidWitnessName(v.Name()) {
		return nil, fmt.Errorf("%w: witness name %q: use letters, digits, '-', '_' and '.'", ErrCosignature, v.Name())
	}
	return v, nil
}

// Cosign verifies msg, the log's signed checkpoint, under the log's
// verifier key and returns it with the witness's cosignature added after
// the log's signature (other signatures are dropped). The caller has
// proved the checkpoint consistent with the last one it cosigned.
func Cosign(msg []byte, logVkey string, s note.Signer) ([]byte, error) {
	n, err := openNote(msg, logVkey, nil)
	if err != nil {
		return nil, err
	}
	if _, err := ParseCheckpoint([]byte(n.Text)); err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, s)
}

// OpenCosigned verifies a cosigned checkpoint: the log's signature (an
// error without it), and the cosignatures of the witnesses ws. It returns
// the checkpoint and the names of the witnesses of ws that cosigned it,
// each once. Signatures by keys not in ws are ignored; a signature by a
// key of ws that does not verify is an error.
func OpenCosigned(msg []byte, logVkey string, ws []note.Verifier) (Checkpoint, []string, error) {
	c, cs, err := OpenCosignatures(msg, logVkey, ws)
	var names []string
	for _, x := range cs {
		names = append(names, x.Witness)
	}
	return c, names, err
}

// Cosignature is one verified witness cosignature: who and when (the
// time the witness signed, by its clock).
type Cosignature struct {
	Witness string
	Time    time.Time
}

// OpenCosignatures is OpenCosigned returning each witness's cosignature
// with its time (the first one of a witness that signed twice).
func OpenCosignatures(msg []byte, logVkey string, ws []note.Verifier) (Checkpoint, []Cosignature, error) {
	n, err := openNote(msg, logVkey, ws)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, nil, err
	}
	var out []Cosignature
	var names []string
	for _, sig := range n.Sigs {
		for _, w := range ws {
			if sig.Name != w.Name() || sig.Hash != w.KeyHash() || slices.Contains(names, w.Name()) {
				continue
			}
			t, err := fnote.CoSigV1Timestamp(sig)
			if err != nil {
				return Checkpoint{}, nil, fmt.Errorf("%w: the time of witness %s's cosignature: %v", ErrCosignature, w.Name(), err)
			}
			names = append(names, w.Name())
			out = append(out, Cosignature{Witness: w.Name(), Time: t.UTC()})
		}
	}
	return c, out, nil
}

// CheckCosignatureTime refuses a cosignature dated more than
// MaxCosignatureSkew after now, or, when maxAge > 0, signed more than
// maxAge before now (ErrCosignatureTime, naming the witness, its time
// and the limit). It also refuses one dated before 1970: a
// cosignature/v1 time is unsigned seconds, so such a time is one of 2⁶³
// or more read as negative (or overflowing time.Time), which would
// otherwise pass for an old time, never for the future it is.
func CheckCosignatureTime(c Cosignature, now time.Time, maxAge time.Duration) error {
	switch {
	case c.Time.Before(time.Unix(0, 0)):
		return fmt.Errorf("%w: witness %s cosigned at %s, a timestamp no clock gives (2^63 seconds or more, or before 1970): the witness is broken or its key misused", ErrCosignatureTime, c.Witness, c.Time.UTC().Format(time.RFC3339))
	case c.Time.After(now.Add(MaxCosignatureSkew)):
		return fmt.Errorf("%w: witness %s cosigned at %s, %s ahead of this machine's clock (%s); at most %s ahead is allowed: the witness's clock (or this one) is wrong", ErrCosignatureTime, c.Witness, c.Time.UTC().Format(time.RFC3339), c.Time.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), MaxCosignatureSkew)
	case maxAge > 0 && now.Sub(c.Time) > maxAge:
		return fmt.Errorf("%w: witness %s cosigned at %s, %s ago, older than the %s allowed (--witness-max-age): the witness has not run since, or its cosignature was not published", ErrCosignatureTime, c.Witness, c.Time.UTC().Format(time.RFC3339), now.Sub(c.Time).Round(time.Second), maxAge)
	}
	return nil
}

// openNote opens msg with the log key and ws, and requires the log's
// signature among those that verified.
func openNote(msg []byte, logVkey string, ws []note.Verifier) (*note.Note, error) {
	if len(msg) > MaxCheckpointSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrCheckpoint, len(msg), MaxCheckpointSize)
	}
	lv, err := note.NewVerifier(logVkey)
	if err != nil {
		return nil, fmt.Errorf("%w: log key %q: %v", ErrCheckpoint, logVkey, err)
	}
	for _, w := range ws {
		if w.Name() == lv.Name() && w.KeyHash() == lv.KeyHash() {
			return nil, fmt.Errorf("%w: witness key %s is the log's own key", ErrCosignature, w.Name())
		}
	}
	n, err := note.Open(msg, note.VerifierList(append([]note.Verifier{lv}, ws...)...))
	if err != nil {
		var inv *note.InvalidSignatureError
		if errors.As(err, &inv) && inv.Name != lv.Name() {
			return nil, fmt.Errorf("%w: the signature of witness %s does not verify", ErrCosignature, inv.Name)
		}
		return nil, fmt.Errorf("%w: not signed by the log key %s: %v", ErrCheckpoint, lv.Name(), err)
	}
	for _, sig := range n.Sigs {
		if sig.Name == lv.Name() && sig.Hash == lv.KeyHash() {
			return n, nil
		}
	}
	return nil, fmt.Errorf("%w: not signed by the log key %s (only by witnesses)", ErrCheckpoint, lv.Name())
}
