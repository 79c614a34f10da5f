package translog

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func newKey(t testing.TB, name string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

func TestCheckpointSignOpen(t *testing.T) {
	s, vkey := newKey(t, "acme")
	other, otherKey := newKey(t, "acme")
	c := Checkpoint{Origin: "acme", Tree: tlog.Tree{N: 42, Hash: tlog.RecordHash([]byte("x"))}}
	msg, err := SignCheckpoint(c, s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, []byte("acme\n42\n"+c.Tree.Hash.String()+"\n\n— acme ")) {
		t.Fatalf("not a C2SP checkpoint note:\n%s", msg)
	}
	got, err := OpenCheckpoint(msg, vkey)
	if err != nil || got != c {
		t.Fatalf("open: %v %v", got, err)
	}
	// A checkpoint signed by another key (same name) is refused.
	forged, _ := SignCheckpoint(c, other)
	if _, err := OpenCheckpoint(forged, vkey); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("other key: %v", err)
	}
	// Cosigned by a witness beside the log key: still the log's.
	both, _ := note.Sign(&note.Note{Text: string(c.Text())}, s, other)
	if _, err := OpenCheckpoint(both, vkey); err != nil {
		t.Fatalf("with a cosignature: %v", err)
	}
	if _, err := OpenCheckpoint(both, otherKey); err != nil {
		t.Fatalf("the witness's: %v", err)
	}
	// A changed size under the signature.
	bad := bytes.Replace(msg, []byte("\n42\n"), []byte("\n43\n"), 1)
	if _, err := OpenCheckpoint(bad, vkey); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("changed size: %v", err)
	}
}

func TestParseCheckpointRejects(t *testing.T) {
	h := tlog.RecordHash(nil).String()
	for name, text := range map[string]string{
		"empty":         "",
		"no newline":    "acme\n1\n" + h,
		"extension":     "acme\n1\n" + h + "\nextra\n",
		"negative":      "acme\n-1\n" + h + "\n",
		"leading zero":  "acme\n01\n" + h + "\n",
		"plus":          "acme\n+1\n" + h + "\n",
		"short hash":    "acme\n1\nAAAA\n",
		"empty origin":  "\n1\n" + h + "\n",
		"spaced origin": " acme\n1\n" + h + "\n",
	} {
		if _, err := ParseCheckpoint([]byte(text)); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	e := Entry{Name: "calico", Version: "v3.27.3", SHA256: strings.Repeat("a", 64), Commit: strings.Repeat("c", 40), KeyID: strings.Repeat("b", 64)}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "packgen release v1\nname calico\nversion v3.27.3\narchive sha256:" + e.SHA256 + "\ncommit " + e.Commit + "\nkey " + e.KeyID + "\n"
	if string(b) != want {
		t.Fatalf("got\n%s", b)
	}
	if got, err := ParseEntry(b); err != nil || got != e {
		t.Fatalf("parse: %v %v", got, err)
	}
	for name, bad := range map[string]Entry{
		"space in version": {Name: "calico", Version: "3 4", SHA256: e.SHA256, Commit: e.Commit, KeyID: e.KeyID},
		"upper hex":        {Name: "calico", Version: "1", SHA256: strings.Repeat("A", 64), Commit: e.Commit, KeyID: e.KeyID},
		"newline in name":  {Name: "a\nname x", Version: "1", SHA256: e.SHA256, Commit: e.Commit, KeyID: e.KeyID},
		"no key":           {Name: "calico", Version: "1", SHA256: e.SHA256, Commit: e.Commit},
	} {
		if _, err := bad.Marshal(); !errors.Is(err, ErrEntry) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, text := range map[string]string{
		"crlf":       strings.ReplaceAll(want, "\n", "\r\n"),
		"extra line": want + "x\n",
		"reordered":  strings.Replace(want, "name calico\nversion v3.27.3", "version v3.27.3\nname calico", 1),
	} {
		if _, err := ParseEntry([]byte(text)); !errors.Is(err, ErrEntry) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
