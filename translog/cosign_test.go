package translog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func newWitness(t testing.TB, name, seed string) (note.Signer, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := GenerateWitnessKey(strings.NewReader(strings.Repeat(seed, 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewWitnessSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewWitnessVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v, vkey
}

// signedCheckpoint is a checkpoint of the log "acme" at size n (its hash
// that of the record leaf), signed by a fresh log key, and that key's
// verifier key.
func signedCheckpoint(t testing.TB, n int64, leaf string) (msg []byte, logV string) {
	t.Helper()
	logS, logV := newKey(t, "acme")
	msg, err := SignCheckpoint(Checkpoint{Origin: "acme", Tree: tlog.Tree{N: n, Hash: tlog.RecordHash([]byte(leaf))}}, logS)
	if err != nil {
		t.Fatal(err)
	}
	return msg, logV
}

func TestCosign(t *testing.T) {
	msg, logV := signedCheckpoint(t, 9, "x")
	ws, wv, _ := newWitness(t, "w1.example", "a")
	xs, xv, _ := newWitness(t, "w2.example", "b")
	co, err := Cosign(msg, logV, ws)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(co, msg) || bytes.Count(co, []byte("\n— ")) != 2 {
		t.Fatalf("want the log's note with one line added:\n%s", co)
	}
	// A plain ed25519 note verifier of the same key must not accept a
	// cosignature (cosignature/v1 signs another message).
	c, names, err := OpenCosigned(co, logV, []note.Verifier{wv, xv})
	if err != nil || c.Tree.N != 9 || len(names) != 1 || names[0] != "w1.example" {
		t.Fatalf("OpenCosigned = %v %v %v", c, names, err)
	}
	// The log's checkpoint alone still opens for log readers.
	if _, err := OpenCheckpoint(co, logV); err != nil {
		t.Fatal(err)
	}
	// An unknown witness's cosignature is ignored, not counted.
	co2, err := Cosign(msg, logV, xs)
	if err != nil {
		t.Fatal(err)
	}
	if _, names, err := OpenCosigned(co2, logV, []note.Verifier{wv}); err != nil || len(names) != 0 {
		t.Fatalf("unknown witness: %v %v", names, err)
	}

	for _, tc := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"text edited", bytes.Replace(co, []byte("\n9\n"), []byte("\n8\n"), 1), ErrCheckpoint},
		{"cosignature flipped", flipLastSig(co), ErrCosignature},
		{"only the witness", witnessOnly(t, ws, msg), ErrCheckpoint},
		{"too large", append(bytes.Repeat([]byte("x"), MaxCheckpointSize), co...), ErrCheckpoint},
	} {
		if _, _, err := OpenCosigned(tc.msg, logV, []note.Verifier{wv}); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Cosigning refuses what the log did not sign.
	if _, err := Cosign(witnessOnly(t, ws, msg), logV, ws); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("cosigned a checkpoint without the log's signature: %v", err)
	}
}

func flipLastSig(msg []byte) []byte {
	b := bytes.Clone(msg)
	i := bytes.LastIndex(b, []byte(" ")) + 12
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return b
}

func witnessOnly(t *testing.T, ws note.Signer, msg []byte) []byte {
	t.Helper()
	text := msg[:bytes.Index(msg, []byte("\n\n"))+1]
	b, err := note.Sign(&note.Note{Text: string(text)}, ws)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWitnessKeyNames(t *testing.T) {
	for _, n := range []string{"", "..", "a/b", "a b", "a+b", "é"} {
		if _, _, err := GenerateWitnessKey(strings.NewReader(strings.Repeat("k", 32)), n); err == nil {
			t.Errorf("name %q accepted", n)
		}
	}
	if _, err := NewWitnessVerifier("w+00000000+AAAA"); !errors.Is(err, ErrCosignature) {
		t.Errorf("bad vkey: %v", err)
	}
	// A key that is not a witness's private key says what it is instead.
	skey, vkey, err := GenerateWitnessKey(strings.NewReader(strings.Repeat("k", 32)), "w")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, key, want string }{
		{"garbage", "not a key", "packgen key generate --witness"},
		{"a registry's key", "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n", "never the registry's"},
		{"a registry's public key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "never the registry's"},
		{"the witness's public key", vkey, "give its private key (.key)"},
		{"a truncated private key", skey[:len(skey)-4], "packgen key generate --witness"},
	} {
		if _, err := NewWitnessSigner(tc.key); !errors.Is(err, ErrWitnessKey) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrWitnessKey and %q", tc.name, err, tc.want)
		}
	}
}

// Cosigned checkpoints come from anyone: only the log's signature opens
// one, the witnesses counted are those whose cosignature verifies, and
// what opens parses as the note's text.
func FuzzOpenCosigned(f *testing.F) {
	ws, wv, _ := newWitness(f, "w1", "a")
	msg, logV := signedCheckpoint(f, 7, "e")
	co, _ := Cosign(msg, logV, ws)
	f.Add(co)
	f.Add(msg)
	f.Add([]byte("acme\n7\n\n— w1 AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, names, err := OpenCosigned(b, logV, []note.Verifier{wv})
		if err != nil {
			return
		}
		if !bytes.HasPrefix(b, c.Text()) || len(names) > 1 {
			t.Fatalf("opened %q as %v by %v", b, c, names)
		}
	})
}

// TestCosignatureTime: a cosignature's time is read back (the real
// signer stamps its clock), and CheckCosignatureTime refuses one dated
// ahead beyond MaxCosignatureSkew, and one older than a maximum age when
// there is one, naming the witness, its time and the limit.
func TestCosignatureTime(t *testing.T) {
	msg, logV := signedCheckpoint(t, 3, "x")
	ws, wv, _ := newWitness(t, "w1.example", "a")
	before := time.Now().Add(-time.Second)
	co, err := Cosign(msg, logV, ws)
	if err != nil {
		t.Fatal(err)
	}
	_, cs, err := OpenCosignatures(co, logV, []note.Verifier{wv})
	if err != nil || len(cs) != 1 || cs[0].Witness != "w1.example" || cs[0].Time.Before(before.Truncate(time.Second)) || cs[0].Time.After(time.Now()) {
		t.Fatalf("OpenCosignatures = %+v %v", cs, err)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		at     time.Time
		maxAge time.Duration
		want   string // "" accepted, else in the error
	}{
		{"now", now, 0, ""},
		{"skew within 10m", now.Add(9 * time.Minute), 0, ""},
		{"11m ahead", now.Add(11 * time.Minute), 0, "w1.example cosigned at 2026-12-06T12:11:00Z, 11m0s ahead"},
		{"a year old, no limit", now.AddDate(-1, 0, 0), 0, ""},
		{"within max age", now.Add(-167 * time.Hour), 168 * time.Hour, ""},
		{"older than max age", now.Add(-169 * time.Hour), 168 * time.Hour, "older than the 168h0m0s allowed"},
		// What fnote reads from a timestamp of 2⁶⁴-1 and of 2⁶³-1 (the
		// latter overflows time.Time: it would pass for an old time).
		{"timestamp 2^64-1", time.Unix(-1, 0), 0, "a timestamp no clock gives"},
		{"timestamp 2^63-1", time.Unix(1<<63-1, 0), 0, "a timestamp no clock gives"},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), 0, "ahead"},
	} {
		err := CheckCosignatureTime(Cosignature{Witness: "w1.example", Time: tc.at}, now, tc.maxAge)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (!errors.Is(err, ErrCosignatureTime) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}
