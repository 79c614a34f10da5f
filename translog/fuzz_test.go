package translog

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// An accepted checkpoint re-encodes to the very bytes it was read from.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("acme\n3\n" + tlog.RecordHash(nil).String() + "\n"))
	f.Add([]byte("acme\n0\n" + tlog.Hash{}.String() + "\n"))
	f.Add([]byte("acme\n1\nAAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Text(), b) {
			t.Fatalf("accepted %q, re-encodes as %q", b, c.Text())
		}
	})
}

// A signed note: only the log key's signature over the exact text opens
// it, and what opens parses as a checkpoint.
func FuzzOpenCheckpoint(f *testing.F) {
	skey, vkey, err := note.GenerateKey(strings.NewReader(strings.Repeat("k", 32)), "acme")
	if err != nil {
		f.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	msg, _ := SignCheckpoint(Checkpoint{Origin: "acme", Tree: tlog.Tree{N: 7, Hash: tlog.RecordHash([]byte("e"))}}, s)
	f.Add(msg)
	f.Add([]byte("acme\n7\n\n— acme AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := OpenCheckpoint(b, vkey)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(b, c.Text()) {
			t.Fatalf("opened a checkpoint whose text is not the note's: %q", b)
		}
	})
}

// An accepted entry re-encodes to its bytes; bundles never yield more or
// fewer entries than asked, nor one over the bound.
func FuzzParseEntry(f *testing.F) {
	e, _ := Entry{Name: "calico", Version: "3.27.3", SHA256: strings.Repeat("a", 64), Commit: strings.Repeat("c", 40), KeyID: strings.Repeat("b", 64)}.Marshal()
	f.Add(e)
	f.Add(encodeBundle([][]byte{e, e}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, err := ParseEntry(b); err == nil {
			again, err := got.Marshal()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("accepted %q, re-encodes as %q (%v)", b, again, err)
			}
		}
		for want := 0; want <= 3; want++ {
			es, err := ParseBundle(b, want)
			if err != nil {
				continue
			}
			if len(es) != want || !bytes.Equal(encodeBundle(es), b) {
				t.Fatalf("bundle %q as %d entries: %d", b, want, len(es))
			}
		}
	})
}
