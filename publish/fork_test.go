package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
)

// TestPublishRefusesFork: a site signed by the live registry's own key
// whose log does not extend the live one (built from a replayed older
// generation at --previous, from a history that no longer holds a
// published release) is refused, even with --force, and nothing is
// written: every client that read the live registry would refuse it for
// ever (attackR F1).
func TestPublishRefusesFork(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	gen1 := f.build(t)
	f.pack("metallb", "0.13.0", "b: 1\n")
	live := f.build(t) // calico, metallb: a log of 2 entries

	// HEAD no longer holds metallb (a rewritten history, a moved packs
	// dir) and adds hello; the build reads the replayed generation 1.
	if err := os.RemoveAll(filepath.Join(f.repo.Dir, "packs", "metallb")); err != nil {
		t.Fatal(err)
	}
	f.pack("hello", "1.0.0", "c: 1\n")
	if _, err := f.repo.Commit("rewrite"); err != nil {
		t.Fatal(err)
	}
	forked := filepath.Join(f.tmp, "forked")
	if _, err := build.Run(ctx, build.Options{Repo: f.repo.Dir, Out: forked, Previous: gen1, Registry: "pub", Signer: f.signer, GeneratedAt: f.t0.Add(10 * time.Hour), Site: catalogue}); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "www")
	if _, err := Publish(ctx, live, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	before, err := DirTarget{Dir: dst}.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		_, err := Publish(ctx, forked, DirTarget{Dir: dst}, Options{Force: force})
		if !errors.Is(err, ErrFork) {
			t.Fatalf("force=%v: a site whose log forks the live one: %v", force, err)
		}
		for _, want := range []string{"2 entries", "--previous", "--force does not override"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("force=%v: the refusal lacks %q: %v", force, want, err)
			}
		}
	}
	after, err := DirTarget{Dir: dst}.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("a refused publish changed the destination: %d files, %d before", len(after), len(before))
	}
	for k, o := range before {
		if after[k] != o {
			t.Errorf("a refused publish changed %s", k)
		}
	}

	// A forced rollback to generation 1, whose log the live one extends,
	// is still the operator's choice (and the live generation is then
	// published again over it).
	if _, err := Publish(ctx, gen1, DirTarget{Dir: dst}, Options{Force: true}); err != nil {
		t.Fatalf("forced rollback to a prefix of the live log: %v", err)
	}
	if _, err := Publish(ctx, live, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatalf("the live generation again: %v", err)
	}
}
