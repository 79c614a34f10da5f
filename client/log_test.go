package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/note"
)

// otherHistory builds, with the registry's own key (whoever holds it: a
// compromised CI, an insider), a registry named like f's from another
// history holding the given calico versions, dated after f's builds so
// its serial is higher and the serial check alone accepts it.
func otherHistory(t *testing.T, f *fixture, versions ...string) string {
	t.Helper()
	dir := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		packFiles(r, "packs/calico-"+v, "calico", v)
	}
	if _, err := r.Commit("other"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "site")
	_, err = build.Run(context.Background(), build.Options{Repo: r.Dir, Out: out, History: true, Registry: "test", Signer: f.signer, GeneratedAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLogForkRefused(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name  string
		site  func(t *testing.T) string
		in    string // what the error must say
		fetch string
	}{
		// 9 entries seen; then a log of 12 that does not contain them.
		{"fork served later", func(t *testing.T) string {
			return otherHistory(t, f, "1.0.0", "1.2.0", "1.2.5", "1.10.0", "2.0.0-rc.1", "3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0", "3.6.0")
		}, "does not extend", "calico"},
		// The same size, another history: every entry rewritten.
		{"rewritten history, same size", func(t *testing.T) string {
			return otherHistory(t, f, "1.0.0", "1.2.0", "1.2.5", "1.10.0", "2.0.0-rc.1", "3.0.0", "3.1.0", "3.2.0", "3.3.0")
		}, "forked or rewritten", "calico"},
		{"truncated log", func(t *testing.T) string {
			return otherHistory(t, f, "1.0.0", "1.2.0")
		}, "truncated", "calico"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, f.sites[1])
			e := newEnv(t)
			dest := filepath.Join(t.TempDir(), "pack")
			if _, err := e.client(t, srv.URL, f.pub).Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest}); err != nil {
				t.Fatal(err)
			}
			state, err := os.ReadFile(filepath.Join(e.state, "serials.json"))
			if err != nil || !strings.Contains(string(state), `"logSize": 9`) {
				t.Fatalf("state does not record the log: %s %v", state, err)
			}
			srv.setDir(c.site(t))
			_, err = e.client(t, srv.URL, f.pub).Fetch(context.Background(), FetchOptions{Name: c.fetch, Dest: dest + "2"})
			if !errors.Is(err, ErrLogInconsistent) || !strings.Contains(err.Error(), c.in) {
				t.Fatalf("got %v, want ErrLogInconsistent saying %q", err, c.in)
			}
			if _, serr := os.Stat(dest + "2"); serr == nil {
				t.Fatal("installed from a forked log")
			}
			after, _ := os.ReadFile(filepath.Join(e.state, "serials.json"))
			if string(after) != string(state) {
				t.Fatalf("state changed by a refused fetch:\n%s", after)
			}
			// The genuine registry still works for this machine.
			srv.setDir(f.sites[1])
			if _, err := e.client(t, srv.URL, f.pub).Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest + "3"}); err != nil {
				t.Fatalf("genuine registry after the fork: %v", err)
			}
		})
	}
}

// A log that grows is accepted, proved consistent, and recorded.
func TestLogGrowsAccepted(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.sites[0])
	e := newEnv(t)
	dest := filepath.Join(t.TempDir(), "pack")
	if _, err := e.client(t, srv.URL, f.pub).Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest}); err != nil {
		t.Fatal(err)
	}
	srv.setDir(f.sites[1])
	c := e.client(t, srv.URL, f.pub)
	if _, err := c.Fetch(context.Background(), FetchOptions{Name: "falco", Dest: dest + "2"}); err != nil {
		t.Fatal(err)
	}
	tiles := 0
	for _, p := range c.Requests {
		if strings.HasPrefix(p, "log/") {
			tiles++
		}
	}
	// One tile for the consistency proof, the same one (cached) for the
	// inclusion proof.
	if tiles != 1 {
		t.Errorf("read %d log tiles: %v", tiles, c.Requests)
	}
	state, _ := os.ReadFile(filepath.Join(e.state, "serials.json"))
	if !strings.Contains(string(state), `"logSize": 9`) {
		t.Fatalf("state: %s", state)
	}
}

// A flipped byte in a tile the fetch proves from is refused; the fetch
// proves from the height-4 tiles when index.json says the site has them,
// from the height-8 ones otherwise (a registry built by an older
// packgen); verify --site checks both.
func TestLogTileTampered(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name    string
		older   bool // built by a packgen before the height-4 tiles
		tile    string
		fetchOK bool
	}{
		{"height-4 tile", false, "log/tile/4/0/000.p/9", false},
		{"height-8 tile, not read by the fetch", false, "log/tile/8/0/000.p/9", true},
		{"height-8 tile of an older registry", true, "log/tile/8/0/000.p/9", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			site := f.latest(t)
			if c.older {
				testutil.WithoutProofTiles(t, site, f.signer)
			}
			testutil.Flip(t, filepath.Join(site, filepath.FromSlash(c.tile)))
			srv := newServer(t, site)
			e := newEnv(t)
			dest := filepath.Join(t.TempDir(), "pack")
			_, err := e.client(t, srv.URL, f.pub).Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
			if c.fetchOK {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if !errors.Is(err, ErrLogTile) {
					t.Fatalf("got %v, want ErrLogTile", err)
				}
				if _, serr := os.Stat(dest); serr == nil {
					t.Fatal("installed despite a bad tile")
				}
				checkCache(t, e.cache)
			}
			rep, err := VerifySite(context.Background(), site, mustVerifier(t, f.pub))
			if err != nil || !hasProblem(rep, "log", "") {
				t.Fatalf("verify --site: %v %+v", err, rep)
			}
		})
	}
}

// verify --site checks the whole log: the checkpoint under the log key,
// each entry against its release.
func TestVerifySiteLog(t *testing.T) {
	f := newFixture(t)
	rep, err := VerifySite(context.Background(), f.sites[1], mustVerifier(t, f.pub))
	if err != nil || len(rep.Problems) != 0 {
		t.Fatalf("genuine: %v %+v", err, rep)
	}
	for _, c := range []struct {
		name   string
		tamper func(site string)
		path   string
	}{
		// The newer build's checkpoint beside the older index: ahead of
		// the index it follows (publish never leaves one so).
		{"checkpoint ahead of the index", func(site string) {
			b, _ := os.ReadFile(filepath.Join(site, translog.CheckpointPath))
			os.RemoveAll(site)
			testutil.CopyDir(t, f.sites[0], site)
			os.WriteFile(filepath.Join(site, translog.CheckpointPath), b, 0o644)
		}, translog.CheckpointPath},
		// The older build's checkpoint beside the newer index: a lagging
		// one the index's log extends is fine; one signed by another
		// key is not.
		{"checkpoint signed by another key", func(site string) {
			other, _, err := sign.Generate(sign.Ed25519, sign.StaticPass([]byte("pw")))
			if err != nil {
				t.Fatal(err)
			}
			s, err := sign.LoadSigner(other, sign.StaticPass([]byte("pw")))
			if err != nil {
				t.Fatal(err)
			}
			skey, _, _ := s.LogKey("test")
			ns, _ := note.NewSigner(skey)
			b, _ := os.ReadFile(filepath.Join(site, translog.CheckpointPath))
			c, err := translog.ParseCheckpoint(b[:bytes.Index(b, []byte("\n\n"))+1])
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := translog.SignCheckpoint(c, ns)
			os.WriteFile(filepath.Join(site, translog.CheckpointPath), msg, 0o644)
		}, translog.CheckpointPath},
		{"entry rewritten in its data tile", func(site string) {
			p := filepath.Join(site, "log/tile/8/data/000.p/9")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "version 1.2.5", "version 1.2.6", 1)), 0o644)
		}, "log"},
	} {
		t.Run(c.name, func(t *testing.T) {
			site := f.latest(t)
			c.tamper(site)
			rep, err := VerifySite(context.Background(), site, mustVerifier(t, f.pub))
			if err != nil || !hasProblem(rep, c.path, "") {
				t.Fatalf("%v %+v", err, rep)
			}
		})
	}
}

func hasProblem(rep *SiteReport, path, msg string) bool {
	for _, p := range rep.Problems {
		if p.Path == path && strings.Contains(p.Err, msg) {
			return true
		}
	}
	return false
}

func mustVerifier(t *testing.T, pub []byte) *sign.Verifier {
	t.Helper()
	v, err := sign.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Full log tiles never change: once a proof has checked them they are
// kept in the cache, and the next fetch downloads only the right edge. A
// damaged cached tile is fetched again, never a failed fetch. The same
// with the height-4 tiles and, for a registry built by an older packgen,
// the height-8 ones.
func TestLogFullTilesCached(t *testing.T) {
	f := emptyFixture(t)
	for i := 0; i < 260; i++ {
		packFiles(f.repo, fmt.Sprintf("packs/many-%d", i), "many", fmt.Sprintf("1.%d.0", i))
	}
	f.commitAndBuild(t, "many")
	for _, c := range []struct {
		name  string
		older bool
		full  string // the full tile holding entries 3, 5 and 7
	}{
		{"height 4", false, "log/tile/4/0/000"},
		{"height 8, older registry", true, "log/tile/8/0/000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			site := f.latest(t)
			if c.older {
				testutil.WithoutProofTiles(t, site, f.signer)
			}
			srv := newServer(t, site)
			e := newEnv(t)
			logReads := func(c *Client) (n []string) {
				for _, p := range c.Requests {
					if strings.HasPrefix(p, "log/") {
						n = append(n, p)
					}
				}
				return n
			}
			fetch := func(v string) *Client {
				t.Helper()
				c := e.client(t, srv.URL, f.pub)
				if _, err := c.Fetch(context.Background(), FetchOptions{Name: "many", Constraint: "=" + v, Dest: filepath.Join(t.TempDir(), "d")}); err != nil {
					t.Fatal(err)
				}
				return c
			}
			first := logReads(fetch("1.3.0"))
			if !slices.Contains(first, c.full) {
				t.Fatalf("first fetch read %v", first)
			}
			for _, p := range first {
				if !strings.HasPrefix(p, path.Dir(path.Dir(c.full))+"/") {
					t.Fatalf("first fetch read %s: tiles of another height", p)
				}
			}
			again := logReads(fetch("1.5.0"))
			if slices.Contains(again, c.full) || len(again) == 0 {
				t.Fatalf("second fetch read %v: the full tile again, or not the right edge", again)
			}
			// A damaged cached tile: read again from the registry.
			var cached string
			filepath.WalkDir(e.cache, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, filepath.FromSlash(strings.TrimPrefix(c.full, "log/"))) {
					cached = p
				}
				return nil
			})
			if cached == "" {
				t.Fatal("the full tile is not in the cache")
			}
			testutil.Flip(t, cached)
			third := logReads(fetch("1.7.0"))
			if !slices.Contains(third, c.full) {
				t.Fatalf("damaged cached tile not fetched again: %v", third)
			}
		})
	}
}
