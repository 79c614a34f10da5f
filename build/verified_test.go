package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/factfile"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
)

// TestRememberedFactsSeeChanges: with the verified set (the user's
// cache), a rebuild neither hashes a reused archive nor reads its
// signature files when a stat shows them as this machine proved them.
// A file changed since, in place (same inode, same size), must be
// checked again: a swapped .sig is not kept but signed anew, a flipped
// archive byte is refused.
func TestRememberedFactsSeeChanges(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("stat facts are described on Linux only")
	}
	old := factfile.RacyWindow
	factfile.RacyWindow = 0 // described at once; the sleeps below stand in for it
	t.Cleanup(func() { factfile.RacyWindow = old })
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	testutil.SynthRepo(t, repo, synth.Full(3, 2, 4<<10, 3, true))
	s, v := testKey(t)
	cache := filepath.Join(dir, "cache")
	out := filepath.Join(dir, "site")
	opts := func(o *Options) { o.Signer, o.Trust, o.VerifiedDir = s, v, cache }
	for range 2 { // the second rebuild describes what the first proved
		built(t, repo, out, opts)
	}
	facts, err := os.ReadFile(filepath.Join(cache, verifiedFormat))
	must(t, err)
	for _, kind := range []string{"\nstat ", "\nsigstat "} {
		if !strings.Contains(string(facts), kind) {
			t.Fatalf("no %q fact remembered after a rebuild:\n%s", strings.TrimSpace(kind), facts)
		}
	}
	prev, err := loadPrevious(t.Context(), out, v)
	must(t, err)
	var rels []index.Release
	for _, sh := range prev.shards {
		rels = append(rels, sh.Releases...)
	}
	if len(rels) < 2 {
		t.Fatalf("%d releases", len(rels))
	}
	a, b := rels[0], rels[1]
	file := func(p string) string { return filepath.Join(out, filepath.FromSlash(p)) }

	// Another release's valid signature written over a's, in place.
	time.Sleep(20 * time.Millisecond) // a later clock tick than the build's
	other, err := os.ReadFile(file(b.Signature))
	must(t, err)
	must(t, os.WriteFile(file(a.Signature), other, 0o644))
	built(t, repo, out, opts)
	sig, err := os.ReadFile(file(a.Signature))
	must(t, err)
	if !verifies(v, sig, file(a.Archive.Path), mustSum(t, a.Archive.SHA256)) {
		t.Errorf("%s: the swapped signature was kept, unread, on a remembered stat", a.Signature)
	}

	// One archive byte flipped in place.
	time.Sleep(20 * time.Millisecond)
	f, err := os.OpenFile(file(a.Archive.Path), os.O_RDWR, 0)
	must(t, err)
	c := make([]byte, 1)
	_, err = f.ReadAt(c, 100)
	must(t, err)
	c[0] ^= 1
	_, err = f.WriteAt(c, 100)
	must(t, err)
	must(t, f.Close())
	if _, err := run(t, repo, out, opts); !errors.Is(err, ErrTampered) {
		t.Errorf("archive changed in place after its stat was remembered: %v, want ErrTampered", err)
	}
}

// TestRacyFileNotDescribed: a file changed within factfile.RacyWindow is not
// described, so a change in the same clock tick cannot pass for it.
func TestRacyFileNotDescribed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	must(t, os.WriteFile(p, []byte("x"), 0o644))
	fi, err := os.Stat(p)
	must(t, err)
	if s := factfile.State(fi); s != "" {
		t.Errorf("a file written just now is described: %q", s)
	}
	if statFact(fi, strings.Repeat("0", 64)) != "" {
		t.Error("a stat fact for a file written just now")
	}
}

func mustSum(t *testing.T, hex string) [32]byte {
	t.Helper()
	sum, err := hexSum(hex)
	must(t, err)
	return sum
}

// TestLoadVerified: the facts a file holds are read back, the last one
// without its newline too; lines of no known shape are ignored.
func TestLoadVerified(t *testing.T) {
	sha, tree, key := strings.Repeat("a", 64), strings.Repeat("b", 40), "0123456789ab"
	facts := []string{
		sha + " " + tree,
		"sig " + key + " " + strings.Repeat("c", 64) + " " + sha,
		"stat " + sha + " 1:2:3:4.5:6.7",
		"sigstat " + key + " " + sha + " 1:2:3:4.5:6.7 -",
	}
	junk := []string{"", "stat", sha, "sig " + key, "sigstat " + strings.Repeat("x", 400)}
	for _, last := range []string{"\n", ""} {
		dir := t.TempDir()
		content := strings.Join(junk, "\n") + "\n" + strings.Join(facts, "\n") + last
		must(t, os.WriteFile(filepath.Join(dir, verifiedFormat), []byte(content), 0o644))
		v := loadVerified(dir)
		for _, f := range facts {
			if !v.hasFact(f) {
				t.Errorf("fact %q not read back (file ending %q)", f, last)
			}
		}
		for _, j := range junk {
			if v.hasFact(j) {
				t.Errorf("junk line %q read as a fact", j)
			}
		}
		if len(v.Known) != len(facts) {
			t.Errorf("%d facts read, want %d", len(v.Known), len(facts))
		}
	}
}
