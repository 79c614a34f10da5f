package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// otherKey is a second signing key, made once for the tests that need
// one beside testKey (a key costs a second or more under the race
// detector).
var otherKey = sync.OnceValues(testutil.GenerateKey)

// TestPublishKeyChange: a site the live registry's clients would refuse
// (unsigned, or signed by another key without a rotation from the live
// one) is refused before anything is written, even with Force; a
// rotation built with the old key trusted, the same key, and a first
// signature over an unsigned registry publish.
func TestPublishKeyChange(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	signedSite := f.build(t)
	other, err := otherKey()
	if err != nil {
		t.Fatal(err)
	}
	f.pack("metallb", "0.13.0", "b: 1\n")
	if _, err := f.repo.Commit("c2"); err != nil {
		t.Fatal(err)
	}
	built := map[string]string{}
	site := func(name string, o build.Options) string {
		if built[name] != "" {
			return built[name]
		}
		out := filepath.Join(f.tmp, name)
		if o.Out != "" {
			// Built over a copy of the site o.Out: signed over unsigned
			// or back, a build stages a fresh tree, so none of the old
			// root signatures stays beside an unsigned index.json (which
			// publish refuses, as verify --site does: walk.RootStep).
			testutil.CopyDir(t, o.Out, out)
		}
		o.Repo, o.Out, o.History, o.Registry = f.repo.Dir, out, true, "pub"
		o.GeneratedAt = f.t0.Add(48 * time.Hour)
		if _, err := build.Run(ctx, o); err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
		built[name] = o.Out
		return o.Out
	}
	both, err := sign.NewVerifierSet(f.pub, other.Pub)
	if err != nil {
		t.Fatal(err)
	}
	// The live registry of every case but the last two is the signed one.
	unsignedLive := filepath.Join(f.tmp, "unsigned-live")
	if _, err := build.Run(ctx, build.Options{Repo: f.repo.Dir, Out: unsignedLive, Registry: "pub", GeneratedAt: f.t0}); err != nil {
		t.Fatal(err)
	}
	// A signed registry built by a packgen before transparency logs: a
	// signer without the log key (build.Signer alone) signs no log.
	noLogLive := filepath.Join(f.tmp, "nolog-live")
	if _, err := build.Run(ctx, build.Options{Repo: f.repo.Dir, Out: noLogLive, Registry: "pub", GeneratedAt: f.t0, Signer: struct{ build.Signer }{f.signer}}); err != nil {
		t.Fatal(err)
	}
	ownID, otherID := f.signer.KeyID(), other.Signer.KeyID()
	for _, tc := range []struct {
		name  string
		live  string
		site  func() string
		force bool
		want  []string // substrings of the refusal; nil: published
	}{
		{"unsigned", signedSite, func() string { return site("unsigned", build.Options{Out: signedSite, Previous: unsignedLive}) }, false,
			[]string{"signed with key " + ownID, "the site is unsigned", "rebuild the site with --key"}},
		{"unsigned-force", signedSite, func() string { return site("unsigned", build.Options{Out: signedSite, Previous: unsignedLive}) }, true,
			[]string{"the site is unsigned"}},
		{"other-key", signedSite, func() string { return site("other", build.Options{Signer: other.Signer}) }, true,
			[]string{"signed with key " + ownID, "signed with key " + otherID, "records no rotation", "--previous-key OLD.pub"}},
		{"same-key", signedSite, func() string {
			return site("same", build.Options{Signer: f.signer, Trust: f.verifier(t), Previous: signedSite})
		}, false, nil},
		{"rotation", signedSite, func() string {
			return site("rotated", build.Options{Signer: other.Signer, Trust: both, Previous: signedSite})
		}, false, nil},
		{"rotation-from-no-log", noLogLive, func() string {
			return site("rotated-nolog", build.Options{Signer: other.Signer, Trust: both, Previous: noLogLive, NewLog: true})
		}, true, []string{"signed with key " + ownID, "has no transparency log", "First build with the live key", "at another location"}},
		{"first-signature", unsignedLive, func() string {
			return site("signed-over-unsigned", build.Options{Out: unsignedLive, Signer: other.Signer})
		}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := DirTarget{Dir: filepath.Join(t.TempDir(), "live")}
			if _, err := Publish(ctx, tc.live, dst, Options{}); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dst.Dir, "index.json"))
			_, err := Publish(ctx, tc.site(), dst, Options{Force: tc.force})
			after, _ := os.ReadFile(filepath.Join(dst.Dir, "index.json"))
			if tc.want == nil {
				if err != nil || bytes.Equal(before, after) {
					t.Fatalf("not published: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrKeyChange) {
				t.Fatalf("want ErrKeyChange, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal does not say %q: %v", w, err)
				}
			}
			if !bytes.Equal(before, after) {
				t.Error("the live index.json changed")
			}
			if objs, _ := dst.List(ctx); len(objs) != countFiles(t, tc.live) {
				t.Errorf("the refused publish wrote files: %d on the destination, %d in the live site", len(objs), countFiles(t, tc.live))
			}
		})
	}

	// A rotation: the key check (is it one?) and the fork check (does the
	// log extend the live one?) share one answer, the site's tiles read
	// once.
	rootOf := func(dir string) *index.Root {
		r, err := index.ParseRoot(mustRead(t, filepath.Join(dir, index.RootFile)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rotated := site("rotated", build.Options{Signer: other.Signer, Trust: both, Previous: signedSite})
	src, err := os.OpenRoot(rotated)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	reads := 0
	counted := func(ctx context.Context, p string, max int64) ([]byte, error) {
		reads++
		return siteFetch(src)(ctx, p, max)
	}
	siteRoot, liveRoot := rootOf(rotated), rootOf(signedSite)
	ext := newLogExtension(siteRoot, liveRoot, counted)
	if err := checkKey(ctx, siteRoot, signer{true, otherID}, liveRoot, signer{true, ownID}, ext, DirTarget{}); err != nil {
		t.Fatal(err)
	}
	keyReads := reads
	if err := checkLog(ctx, ext, nil, false, DirTarget{}); err != nil {
		t.Fatal(err)
	}
	if keyReads == 0 || reads != keyReads {
		t.Errorf("the key check read %d site log files, the fork check %d more: want one reading", keyReads, reads-keyReads)
	}
}

// TestRotateFromNoLog follows the refusal's advice for a registry
// without a log: a build with the live key starts the log, and the
// rotation from it then publishes.
func TestRotateFromNoLog(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	if _, err := f.repo.Commit("c1"); err != nil {
		t.Fatal(err)
	}
	other, err := otherKey()
	if err != nil {
		t.Fatal(err)
	}
	both, err := sign.NewVerifierSet(f.pub, other.Pub)
	if err != nil {
		t.Fatal(err)
	}
	dst := DirTarget{Dir: filepath.Join(t.TempDir(), "live")}
	for i, o := range []build.Options{
		{Signer: struct{ build.Signer }{f.signer}},
		{Signer: f.signer, Trust: f.verifier(t), Previous: dst.Dir, NewLog: true}, // a pre-log registry's first log
		{Signer: other.Signer, Trust: both, Previous: dst.Dir},
	} {
		o.Repo, o.Out, o.History, o.Registry = f.repo.Dir, filepath.Join(f.tmp, fmt.Sprint("step", i)), true, "pub"
		o.GeneratedAt = f.t0.Add(time.Duration(i) * time.Hour)
		if _, err := build.Run(ctx, o); err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		if _, err := Publish(ctx, o.Out, dst, Options{}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	files, err := walk(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

// TestCheckNewerSaysSigning: two indexes of one serial that differ in
// their signing say so, not only that their content differs.
func TestCheckNewerSaysSigning(t *testing.T) {
	log := func(key string) *index.LogRef { return &index.LogRef{Size: 1, Key: key} }
	for _, tc := range []struct {
		name       string
		site, live index.Root
		want       string
	}{
		{"site-unsigned", index.Root{}, index.Root{Signed: true}, "the live index is signed, the site is not"},
		{"live-unsigned", index.Root{Signed: true}, index.Root{}, "the site is signed, the live index is not"},
		{"other-key", index.Root{Signed: true, Log: log("a")}, index.Root{Signed: true, Log: log("b")}, "signed with different keys"},
		{"same-key", index.Root{Signed: true, Log: log("a")}, index.Root{Signed: true, Log: log("a")}, "(built from an unknown commit and an unknown commit)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.site.Serial, tc.live.Serial = 7, 7
			err := checkNewer(&tc.site, []byte("a"), &tc.live, []byte("b"), DirTarget{Dir: "live"})
			if !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want ErrRollback saying %q, got %v", tc.want, err)
			}
		})
	}
}
