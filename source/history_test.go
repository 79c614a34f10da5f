package source

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
)

// pastDuplicates makes a history where calico@1.0.0 is defined by two
// directories in two past commits and by one before them, and
// cilium@2.0.0 only ever by two; HEAD is clean.
func pastDuplicates(t *testing.T) (r *gitfixture.Repo, c []string) {
	r = newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0")
	c = append(c, commit(t, r, "calico 1.0.0"))
	writePack(t, r, "packs/b", "calico", "1.0") // the same version
	writePack(t, r, "packs/x", "cilium", "2.0.0")
	writePack(t, r, "packs/y", "cilium", "2.0.0")
	c = append(c, commit(t, r, "duplicates"))
	must(t, r.Write("README.md", []byte("still there\n")))
	c = append(c, commit(t, r, "readme"))
	must(t, r.Remove("packs/b"))
	must(t, r.Remove("packs/y"))
	must(t, r.Remove("packs/x"))
	writePack(t, r, "packs/a", "calico", "1.1.0")
	c = append(c, commit(t, r, "fixed"))
	return r, c
}

func TestPastDuplicateIsWarning(t *testing.T) {
	r, c := pastDuplicates(t)
	res := releases(t, r.Dir, Options{History: true})
	if got := ids(res); got != "calico@1.0.0=packs/a calico@1.1.0=packs/a" {
		t.Fatalf("releases: %s", got)
	}
	if res.Releases[0].Commit != c[0] {
		t.Errorf("calico@1.0.0 taken from %s, want %s, the newest commit where one dir defines it", res.Releases[0].Commit[:12], c[0][:12])
	}
	if len(res.Warnings) != 2 {
		t.Fatalf("warnings: %v", res.Warnings)
	}
	for i, want := range []string{
		"calico@1.0.0 is defined by more than one directory (packs/a, packs/b) in 2 commits, " + c[2][:12] + " (newest) to " + c[1][:12] + " of the history, not at the ref: taken from commit " + c[0][:12] + " (packs/a)",
		"cilium@2.0.0 is defined by more than one directory (packs/x, packs/y) in 2 commits, " + c[2][:12] + " (newest) to " + c[1][:12] + " of the history, not at the ref: left out",
	} {
		if !strings.Contains(res.Warnings[i].Msg, want) {
			t.Errorf("warning %d = %s\nwant it to say %s", i, res.Warnings[i], want)
		}
	}
	// Deterministic: the same walk again gives the same.
	again := releases(t, r.Dir, Options{History: true})
	if ids(again) != ids(res) || fmt.Sprint(again.Warnings) != fmt.Sprint(res.Warnings) {
		t.Errorf("second walk: %s %v", ids(again), again.Warnings)
	}
	// At the ref itself it stays an error.
	repo := openRepo(t, r.Dir)
	if _, err := repo.Releases(context.Background(), Options{Ref: c[2], History: true}); !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), "keep one, or bump the version") {
		t.Errorf("duplicate at the ref: %v", err)
	}
}

func TestSince(t *testing.T) {
	r, c := pastDuplicates(t)
	for _, tc := range []struct {
		name, since, want string
		warnings          int
	}{
		{"from the duplicates on: calico@1.0.0 never alone", c[1], "calico@1.1.0=packs/a", 2},
		{"from after them", c[3][:10], "calico@1.1.0=packs/a", 0},
		{"the root: whole history", c[0], "calico@1.0.0=packs/a calico@1.1.0=packs/a", 2},
		{"a ref", "main~1", "calico@1.1.0=packs/a", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := releases(t, r.Dir, Options{History: true, Since: tc.since})
			if got := ids(res); got != tc.want || len(res.Warnings) != tc.warnings {
				t.Errorf("since %s: %s, %d warnings %v; want %s, %d", tc.since, got, len(res.Warnings), res.Warnings, tc.want, tc.warnings)
			}
		})
	}
	// A commit off the first-parent history, a bad ref, and no history.
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git binary not installed")
	}
	testutil.Git(t, r.Dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "off")
	off := testutil.RevParse(t, r.Dir, "HEAD")
	testutil.Git(t, r.Dir, "reset", "-q", "--hard", c[3])
	repo := openRepo(t, r.Dir)
	for since, want := range map[string]string{
		off:       "is not on the first-parent history of HEAD",
		"no-such": `since: resolve ref "no-such"`,
	} {
		if _, err := repo.Releases(context.Background(), Options{History: true, Since: since}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("since %s: %v, want %q", since, err, want)
		}
	}
	if _, err := repo.Releases(context.Background(), Options{Since: c[1]}); err == nil || !strings.Contains(err.Error(), "history is off") {
		t.Errorf("since without history: %v", err)
	}
}

// TestFirstCommit: a release's FirstCommit is the oldest commit where
// its name@version existed, while Commit stays the newest holding it.
func TestFirstCommit(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0")
	c0 := commit(t, r, "calico 1.0.0")
	writePack(t, r, "packs/a", "calico", "1.1.0")
	added := commit(t, r, "calico 1.1.0")
	must(t, r.Write("README.md", []byte("x\n")))
	commit(t, r, "readme")
	must(t, r.Write("packs/a/values.yaml", []byte("pack: {edited: true}\n"))) // same version, new content
	commit(t, r, "edit")
	writePack(t, r, "packs/b", "other", "1.0.0")
	head := commit(t, r, "other pack")

	var heard []Release
	res := releases(t, r.Dir, Options{History: true, Found: func(rel Release) { heard = append(heard, rel) }})
	if got := ids(res); got != "calico@1.0.0=packs/a calico@1.1.0=packs/a other@1.0.0=packs/b" {
		t.Fatalf("releases: %s", got)
	}
	want := map[string][2]string{ // version: commit, first commit
		"1.0.0": {c0, c0},
		"1.1.0": {head, added},
	}
	for _, rel := range res.Releases[:2] {
		w := want[rel.Version]
		if rel.Commit != w[0] || rel.FirstCommit != w[1] {
			t.Errorf("calico@%s: commit %s first %s, want %s first %s", rel.Version, rel.Commit[:8], rel.FirstCommit[:8], w[0][:8], w[1][:8])
		}
	}
	repo := openRepo(t, r.Dir)
	co, err := repo.Git().CommitObject(plumbing.NewHash(added))
	must(t, err)
	if !res.Releases[1].FirstTime.Equal(co.Committer.When) || res.Releases[1].FirstTime.Equal(res.Releases[1].Time) {
		t.Errorf("first time %v, time %v, want first %v", res.Releases[1].FirstTime, res.Releases[1].Time, co.Committer.When)
	}
	if other := res.Releases[2]; other.FirstCommit != head || !other.FirstTime.Equal(other.Time) {
		t.Errorf("other: first %s at %v", other.FirstCommit[:8], other.FirstTime)
	}
	if len(heard) != 3 {
		t.Errorf("Found heard %d releases", len(heard))
	}
	// Without history: the ref's commit.
	for _, rel := range releases(t, r.Dir, Options{}).Releases {
		if rel.FirstCommit != head || rel.Commit != head || !rel.FirstTime.Equal(rel.Time) {
			t.Errorf("no history, %s@%s: commit %s first %s", rel.Name, rel.Version, rel.Commit[:8], rel.FirstCommit[:8])
		}
	}
	// Since bounds it: the walk does not see older commits.
	if rel := releases(t, r.Dir, Options{History: true, Since: head}).Releases[0]; rel.Version != "1.1.0" || rel.FirstCommit != head {
		t.Errorf("since head: %s first %s", rel.Version, rel.FirstCommit[:8])
	}
}
