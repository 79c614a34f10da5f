package translog

import (
	"bytes"
	"context"
	"maps"
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

// Tiles served by anyone: whatever bytes stand in for a tile, a proof
// never accepts an entry the signed tree does not hold, and the genuine
// entry is accepted only from the genuine tile.
func FuzzTile(f *testing.F) {
	s, tree := logOf(f, 300)
	// 300 = 256 + 44 = 18·16 + 12: tiles of both heights, full and at
	// the right edge.
	paths := []string{"log/tile/8/0/000", "log/tile/8/0/001.p/44", "log/tile/8/1/000.p/1", "log/tile/8/data/001.p/44",
		"log/tile/4/0/000", "log/tile/4/0/018.p/12", "log/tile/4/1/001.p/2", "log/tile/4/2/000.p/1"}
	for i, p := range paths {
		f.Add(uint8(i), s[p])
		f.Add(uint8(i), []byte{})
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		p := paths[int(which)%len(paths)]
		bad := maps.Clone(s)
		bad[p] = data
		same := bytes.Equal(data, s[p])
		r := Reader{Fetch: bad.fetch}
		if strings.HasPrefix(p, "log/tile/4/") {
			r.Height = ProofTileHeight
		}
		for _, i := range []int64{5, 299} {
			if err := r.CheckInclusion(context.Background(), tree, i, entry(int(i)+1)); err == nil {
				t.Fatalf("entry %d accepted as another's with %s = %x", i, p, data)
			}
			if err := r.CheckInclusion(context.Background(), tree, i, entry(int(i))); err == nil && !same && !strings.Contains(p, "data") && tileOnPath(p, i) {
				t.Fatalf("entry %d proved through a forged %s", i, p)
			}
		}
		_ = ReadEntries(context.Background(), tree, bad.fetch, 0, func(i int64, e []byte) error {
			if !bytes.Equal(e, entry(int(i))) {
				t.Fatalf("ReadEntries returned a forged entry %d", i)
			}
			return nil
		})
	})
}

// tileOnPath reports whether the proof of entry i reads tile p.
func tileOnPath(p string, i int64) bool {
	switch p {
	case "log/tile/8/0/000":
		return i < 256
	case "log/tile/4/0/000":
		return i < 16
	case "log/tile/8/0/001.p/44":
		return true // the right edge
	}
	return true
}
