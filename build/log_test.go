package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/tlog"
)

// dirFetch reads a site directory the way index.FetchFunc does.
func dirFetch(dir string) translog.Fetch {
	return func(_ context.Context, p string, max int64) ([]byte, error) {
		d, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", p, index.ErrNotFound)
		}
		if int64(len(d)) > max {
			return nil, fmt.Errorf("%s: more than %d bytes", p, max)
		}
		return d, err
	}
}

// siteLog reads a built site's root, its log tree (checking the
// checkpoint against the root) and every release with its entry proved
// included.
func siteLog(t *testing.T, dir string) (tlog.Tree, map[string]*index.Release) {
	t.Helper()
	root := testutil.ReadRoot(t, dir)
	if root.Log == nil {
		t.Fatalf("%s: index.json names no log", dir)
	}
	msg, err := os.ReadFile(filepath.Join(dir, translog.CheckpointPath))
	must(t, err)
	c, err := translog.OpenCheckpoint(msg, root.Log.Key)
	must(t, err)
	if c.Tree.N != root.Log.Size || c.Tree.Hash.String() != root.Log.Hash || c.Origin != root.Registry {
		t.Fatalf("checkpoint %+v does not match the root's log %+v", c, root.Log)
	}
	rels := map[string]*index.Release{}
	seen := map[int64]bool{}
	fetch := dirFetch(dir)
	w := index.FetchFunc(fetch)
	// A build writes the height-4 tiles of the whole tree and says so.
	if root.Log.ProofTileHeight != translog.ProofTileHeight {
		t.Fatalf("%s: index.json's log %+v does not name the height-4 tiles", dir, root.Log)
	}
	must(t, translog.CheckProofTiles(context.Background(), c.Tree, fetch))
	small := translog.Reader{Height: translog.ProofHeight(root), Fetch: fetch}
	for _, name := range packNames(t, dir) {
		sd, err := os.ReadFile(filepath.Join(dir, "packs", name, index.RootFile))
		must(t, err)
		s, err := index.ParseShard(sd, name)
		must(t, err)
		for i := range s.Releases {
			r := &s.Releases[i]
			if r.Log == nil || seen[r.Log.Index] {
				t.Fatalf("%s@%s: log entry %+v missing or taken twice", name, r.Version, r.Log)
			}
			seen[r.Log.Index] = true
			e, err := translog.Entry{Name: name, Version: r.Version, SHA256: r.Archive.SHA256, Commit: r.Commit, KeyID: r.Log.KeyID}.Marshal()
			must(t, err)
			if err := translog.CheckInclusion(context.Background(), c.Tree, w, r.Log.Index, e); err != nil {
				t.Fatalf("%s@%s: %v", name, r.Version, err)
			}
			if err := small.CheckInclusion(context.Background(), c.Tree, r.Log.Index, e); err != nil {
				t.Fatalf("%s@%s from the height-4 tiles: %v", name, r.Version, err)
			}
			rels[name+"@"+r.Version] = r
		}
	}
	if int64(len(seen)) != c.Tree.N {
		t.Fatalf("%d releases, a log of %d", len(seen), c.Tree.N)
	}
	return c.Tree, rels
}

func packNames(t *testing.T, dir string) []string {
	es, err := os.ReadDir(filepath.Join(dir, "packs"))
	must(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// logFiles is every file under the site's log/, by path.
func logFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	testutil.EachFile(t, filepath.Join(dir, index.LogDir), func(rel string, data []byte) error {
		out[index.LogDir+"/"+rel] = string(data)
		return nil
	})
	return out
}

func TestLogAcrossBuilds(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "")
	writePack(t, r, "packs/prom-57.0.0", "prom", "57.0.0", "addon", "")
	commit(t, r, "one")
	s, _ := testKey(t)
	signed := func(o *Options) { o.Signer = s }
	out := filepath.Join(tmp, "out")
	res := built(t, r.Dir, out, signed)
	first, rels := siteLog(t, out)
	if first.N != 2 || res.Logged != 2 || rels["calico@3.27.0"].Log.Index != 0 || rels["prom@57.0.0"].Log.Index != 1 {
		t.Fatalf("first log: %+v, %d logged, %+v", first, res.Logged, rels)
	}
	before := logFiles(t, out)

	writePack(t, r, "packs/calico-3.28.0", "calico", "3.28.0", "cni", "")
	commit(t, r, "two")
	res = built(t, r.Dir, out, signed)
	second, rels := siteLog(t, out)
	if second.N != 3 || res.Logged != 1 || rels["calico@3.28.0"].Log.Index != 2 || rels["calico@3.27.0"].Log.Index != 0 {
		t.Fatalf("second log: %+v, %d logged", second, res.Logged)
	}
	if err := translog.CheckConsistency(context.Background(), first, second, dirFetch(out)); err != nil {
		t.Fatal(err)
	}
	after := logFiles(t, out)
	for p, b := range before {
		if index.Immutable(p) && after[p] != b {
			t.Errorf("%s changed", p)
		}
	}

	// A fresh build of the same history appends in publication order:
	// the very same log, byte for byte.
	fresh := filepath.Join(tmp, "fresh")
	built(t, r.Dir, fresh, signed)
	if got := logFiles(t, fresh); got[translog.CheckpointPath] != after[translog.CheckpointPath] {
		t.Fatalf("fresh build's checkpoint\n%s\nincremental's\n%s", got[translog.CheckpointPath], after[translog.CheckpointPath])
	}

	// Extending a published build over HTTP, in a fresh stage: the old
	// tiles are carried and checked, the log extended.
	writePack(t, r, "packs/prom-58.0.0", "prom", "58.0.0", "addon", "")
	commit(t, r, "three")
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()
	third := filepath.Join(tmp, "third")
	built(t, r.Dir, third, signed, func(o *Options) { o.Previous = srv.URL })
	tree, rels := siteLog(t, third)
	if tree.N != 4 || rels["prom@58.0.0"].Log.Index != 3 {
		t.Fatalf("third log: %+v", tree)
	}
	if err := translog.CheckConsistency(context.Background(), second, tree, dirFetch(third)); err != nil {
		t.Fatal(err)
	}

	// attackS F4: the anchor, a checkpoint kept outside the bucket (here
	// third's, 4 entries): the older generation out (3 entries) put back
	// at --previous is refused; one that extends the anchor builds.
	anchor, err := os.ReadFile(filepath.Join(third, filepath.FromSlash(translog.CheckpointPath)))
	must(t, err)
	if _, err := run(t, r.Dir, filepath.Join(tmp, "replayed"), signed, func(o *Options) { o.Previous, o.LogAnchor = srv.URL, anchor }); !errors.Is(err, ErrBehindAnchor) || !strings.Contains(err.Error(), "the anchor's tree has 4 entries, the previous build's 3") {
		t.Fatalf("an older generation than the anchor: %v, want ErrBehindAnchor", err)
	}
	older, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(translog.CheckpointPath)))
	must(t, err)
	built(t, r.Dir, filepath.Join(tmp, "anchored"), signed, func(o *Options) { o.Previous, o.LogAnchor = third, older })

	// Another key (a rotation, with the old one trusted): the log goes
	// on, new entries carry the new key's ID, the checkpoint the new log
	// key.
	s2, _ := testKey(t)
	own, err := s.PublicKeyPEM()
	must(t, err)
	trust, err := sign.NewVerifierSet(own)
	must(t, err)
	writePack(t, r, "packs/prom-59.0.0", "prom", "59.0.0", "addon", "")
	commit(t, r, "four")
	built(t, r.Dir, third, func(o *Options) { o.Signer, o.Trust = s2, nil; o.Trust = mustTrust(t, own, s2) })
	_ = trust
	tree4, rels := siteLog(t, third)
	if tree4.N != 5 || rels["prom@59.0.0"].Log.KeyID != s2.KeyID() || rels["prom@58.0.0"].Log.KeyID != s.KeyID() {
		t.Fatalf("after rotation: %+v %+v", tree4, rels["prom@59.0.0"].Log)
	}
}

func mustTrust(t *testing.T, pem []byte, s *sign.Signer) *sign.Verifier {
	t.Helper()
	p2, err := s.PublicKeyPEM()
	must(t, err)
	v, err := sign.NewVerifierSet(pem, p2)
	must(t, err)
	return v
}

// The previous build's log is attacker-controlled input like the rest of
// it: the build never extends (and signs) a log it cannot verify.
func TestAttackPreviousLog(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, f *attackFixture, site string)
	}{
		{"checkpoint signed by another key", func(t *testing.T, f *attackFixture, site string) {
			other, _ := testKey(t)
			skey, _, err := other.LogKey("test")
			must(t, err)
			sgn, err := noteSigner(skey)
			must(t, err)
			tree, _ := siteLog(t, site)
			msg, err := translog.SignCheckpoint(translog.Checkpoint{Origin: "test", Tree: tree}, sgn)
			must(t, err)
			must(t, os.WriteFile(filepath.Join(site, translog.CheckpointPath), msg, 0o644))
		}},
		{"checkpoint of a forked history, same key", func(t *testing.T, f *attackFixture, site string) {
			r, err := gitfixture.Init(filepath.Join(f.tmp, "fork-repo"))
			must(t, err)
			writePack(t, r, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "forked: true\n")
			commit(t, r, "fork")
			fork := filepath.Join(f.tmp, "fork")
			built(t, r.Dir, fork, f.signed)
			b, err := os.ReadFile(filepath.Join(fork, translog.CheckpointPath))
			must(t, err)
			must(t, os.WriteFile(filepath.Join(site, translog.CheckpointPath), b, 0o644))
		}},
		{"tile with a flipped byte", func(t *testing.T, f *attackFixture, site string) {
			p := filepath.Join(site, "log/tile/8/0/000.p/1")
			b, err := os.ReadFile(p)
			must(t, err)
			b[3] ^= 1
			must(t, os.WriteFile(p, b, 0o644))
		}},
		{"entry rewritten in its data tile", func(t *testing.T, f *attackFixture, site string) {
			p := filepath.Join(site, "log/tile/8/data/000.p/1")
			b, err := os.ReadFile(p)
			must(t, err)
			must(t, os.WriteFile(p, bytes.Replace(b, []byte("3.27.0"), []byte("3.27.9"), 1), 0o644))
		}},
		{"log removed", func(t *testing.T, f *attackFixture, site string) {
			must(t, os.RemoveAll(filepath.Join(site, index.LogDir)))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newAttackFixture(t)
			c.tamper(t, f, f.published)
			out, err := f.rebuildAgainst(t, f.published)
			if !errors.Is(err, ErrLog) {
				t.Fatalf("got %v, want ErrLog", err)
			}
			if _, serr := os.Stat(out); !errors.Is(serr, fs.ErrNotExist) {
				t.Fatalf("out written despite %v", err)
			}
			if !strings.Contains(err.Error(), f.published) && !strings.Contains(err.Error(), "http://") {
				t.Errorf("error does not say where: %v", err)
			}
		})
	}
}

// The checkpoint is written after index.json: a build or publish killed
// in between leaves it behind the index, which the next build accepts
// when the index's log extends it, and brings up to date.
func TestLogCheckpointBehindIndex(t *testing.T) {
	f := newAttackFixture(t)
	old, err := os.ReadFile(filepath.Join(f.published, translog.CheckpointPath))
	must(t, err)
	writePack(t, f.repo, "packs/calico-3.28.0", "calico", "3.28.0", "cni", "")
	commit(t, f.repo, "more")
	built(t, f.repo.Dir, f.published, f.signed)
	must(t, os.WriteFile(filepath.Join(f.published, translog.CheckpointPath), old, 0o644))
	out, err := f.rebuildAgainst(t, f.published)
	must(t, err)
	tree, _ := siteLog(t, out) // checks the new checkpoint against the index
	if tree.N != 2 {
		t.Fatalf("log of %d entries", tree.N)
	}
}

// A fresh stage over a previous build is a whole site: the partial tiles
// the append leaves as they are (level 1's edge changes only every 256
// entries) are carried too, not only the full ones.
func TestLogFreshStageCarriesPartials(t *testing.T) {
	tmp, r, _, signed := signedPacks(t, 257)
	first := filepath.Join(tmp, "first")
	built(t, r.Dir, first, signed)
	writePack(t, r, "packs/extra", "extra", "1.0.0", "cni", "")
	commit(t, r, "two")
	second := filepath.Join(tmp, "second")
	built(t, r.Dir, second, signed, func(o *Options) { o.Previous = first })
	tree, _ := siteLog(t, second)
	files := logFiles(t, second)
	for _, p := range translog.TilePaths(tree.N) {
		if _, ok := files[p]; !ok {
			t.Errorf("the fresh stage lacks %s", p)
		}
	}
	if _, ok := files["log/tile/8/1/000.p/1"]; !ok {
		t.Fatalf("the unchanged level-1 partial tile was not carried: %v", len(files))
	}
	for p := range files {
		if strings.Contains(p, ".p/") && !slices.Contains(translog.TilePaths(tree.N), p) {
			t.Errorf("the fresh stage carries the superseded %s", p)
		}
	}
}

// A witness's cosigned checkpoint is put into the site by its operator;
// a build staged afresh from that site keeps it (an in-place build never
// touches it), and ignores what cannot be a witness file.
func TestLogFreshStageCarriesWitnesses(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/a", "a", "1.0.0", "cni", "")
	commit(t, r, "one")
	s, _ := testKey(t)
	signed := func(o *Options) { o.Signer = s }
	first := filepath.Join(tmp, "first")
	built(t, r.Dir, first, signed)
	wdir := filepath.Join(first, "log", "witness")
	must(t, os.MkdirAll(filepath.Join(wdir, "a-dir"), 0o755))
	cosigned := []byte("cosigned checkpoint by w1\n")
	must(t, os.WriteFile(filepath.Join(wdir, "w1.example"), cosigned, 0o644))
	must(t, os.WriteFile(filepath.Join(wdir, "bad name"), []byte("x"), 0o644))
	writePack(t, r, "packs/b", "b", "2.0", "cni", "")
	commit(t, r, "two")
	second := filepath.Join(tmp, "second")
	built(t, r.Dir, second, signed, func(o *Options) { o.Previous = first })
	got, err := os.ReadFile(filepath.Join(second, "log", "witness", "w1.example"))
	if err != nil || !bytes.Equal(got, cosigned) {
		t.Fatalf("witness file in the fresh stage: %q, %v", got, err)
	}
	for _, p := range []string{"bad name", "a-dir"} {
		if _, err := os.Lstat(filepath.Join(second, "log", "witness", p)); err == nil {
			t.Errorf("carried %q, which cannot be a witness file", p)
		}
	}
}

// A log built by a packgen before the height-4 tiles gets all of them
// (computed from its verified height-8 tiles) from the next build that
// extends it, in place or staged afresh; an in-place build with nothing
// to append leaves it as it is.
func TestLogOlderSiteGetsProofTiles(t *testing.T) {
	// 40 releases: full and partial height-4 tiles at two levels.
	tmp, r, s, signed := signedPacks(t, 40)
	old := filepath.Join(tmp, "old")
	built(t, r.Dir, old, signed)
	testutil.WithoutProofTiles(t, old, s)
	// The older site reads as before, from its height-8 tiles.
	root := testutil.ReadRoot(t, old)
	if translog.ProofHeight(root) != translog.TileHeight {
		t.Fatalf("older site: proof height %d", translog.ProofHeight(root))
	}

	writePack(t, r, "packs/extra", "extra", "1.0.0", "cni", "")
	commit(t, r, "two")
	staged := filepath.Join(tmp, "staged")
	built(t, r.Dir, staged, signed, func(o *Options) { o.Previous = old })
	tree, _ := siteLog(t, staged) // every height-4 tile, checked
	built(t, r.Dir, old, signed)
	if again, _ := siteLog(t, old); again != tree {
		t.Fatalf("in place: %v, staged: %v", again, tree)
	}
	// Both hold the same log, byte for byte, and nothing superseded.
	a, b := logFiles(t, staged), logFiles(t, old)
	if !maps.Equal(a, b) {
		t.Fatalf("in place and staged logs differ: %d and %d files", len(b), len(a))
	}
	for p := range a {
		if p != translog.CheckpointPath && !slices.Contains(translog.TilePaths(tree.N), p) {
			t.Errorf("superseded %s kept", p)
		}
	}
}

// signedPacks commits n packs (p000, p001, …, each 1.0.0) to a new
// repository in one commit and returns it with a test key and the option
// that signs a build with it.
func signedPacks(t *testing.T, n int) (tmp string, r *gitfixture.Repo, s *sign.Signer, signed func(*Options)) {
	t.Helper()
	tmp, r = newRepo(t)
	for i := range n {
		writePack(t, r, fmt.Sprintf("packs/p%03d", i), fmt.Sprintf("p%03d", i), "1.0.0", "cni", "")
	}
	commit(t, r, "one")
	s, _ = testKey(t)
	return tmp, r, s, func(o *Options) { o.Signer = s }
}
