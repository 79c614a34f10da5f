package validate

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
)

// TestChangedEachCommit: a rebase or fast-forward merge puts every commit
// of a pull request on the history the build walks. A version brought
// back with other content at one commit and removed (or restored) at the
// next fails `build --previous` after such a merge, yet HEAD holds no
// change: --each-commit judges each commit as HEAD and names the commit.
// The commits judged are those the build will publish: a branch's
// first-parent chain running through commits the base holds only
// through a merge's second parent (attackY Y-B) is judged down to the
// base's first-parent history; one running into a history the base does
// not share (attackY Y-D) is refused, with or without the flag.
func TestChangedEachCommit(t *testing.T) {
	invalid := func(layer string) func(*testing.T, *gitfixture.Repo) {
		return func(t *testing.T, r *gitfixture.Repo) {
			testutil.WritePack(t, r, "packs/njörd-0.1", "njord", "0.1.0", layer, "")
		}
	}
	addBomb := func(t *testing.T, r *gitfixture.Repo) {
		testutil.WritePack(t, r, "packs/bomb", "bomb", "1.0.0", "addon", "")
		testutil.Must(t, r.Write("packs/bomb/charts/c/Chart.yaml", []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")))
		testutil.Must(t, r.Write("packs/bomb/charts/c/templates/pod.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: {{ .Values.image | nosuch }}\n")))
	}
	removeBomb := func(t *testing.T, r *gitfixture.Repo) { testutil.Must(t, r.Remove("packs/bomb")) }
	ownWork := func(t *testing.T, r *gitfixture.Repo) { // no pack: merging the base never takes it for bomb renamed
		testutil.Must(t, r.Write("notes-pr.txt", []byte("the branch's own work\n")))
	}
	type want struct {
		at     int    // index of the commit named, -1 for HEAD's own problem
		has    string // in the message
		file   string
		errors int  // of the whole report
		chain  bool // the chain leaves the base's history at commit at: an error in either mode
		side   bool // a side branch does, at commit at, parent 2 of the commit has names
	}
	bombed := &want{at: 0, has: "chart does not render", file: "packs/bomb/charts/c/templates/pod.yaml", errors: 1}
	for _, tc := range []struct {
		name    string
		commits []func(*testing.T, *gitfixture.Repo) // after the base; the last is HEAD
		shape   string                               // how they reach HEAD (branched, below): "" on top of the base
		want    *want                                // nil: no error with or without --each-commit
		judged  int                                  // commits before HEAD judged
		added   int                                  // releases judged from a commit before HEAD without --each-commit: want holds then too
	}{{
		name: "brought back with other content, then removed",
		commits: []func(*testing.T, *gitfixture.Repo){
			readd("v1.0.0", "a: 2\n"),
			func(t *testing.T, r *gitfixture.Repo) { testutil.Must(t, r.Remove("packs/app-1.0.0")) },
		},
		want:   &want{at: 0, has: "was published from packs/app-1.0 (as \"1.0\") at commit ", file: "packs/app-1.0.0/pack.json", errors: 1},
		judged: 1,
	}, {
		name: "brought back with other content, then as it was",
		commits: []func(*testing.T, *gitfixture.Repo){
			readd("v1.0.0", "a: 2\n"),
			func(t *testing.T, r *gitfixture.Repo) {
				testutil.Must(t, r.Remove("packs/app-1.0.0"))
				readd("1.0", "a: 1\n")(t, r)
			},
		},
		want:   &want{at: 0, has: "was published from", file: "packs/app-1.0.0/pack.json", errors: 1},
		judged: 1,
	}, {
		name:    "an invalid pack a later commit fixes",
		commits: []func(*testing.T, *gitfixture.Repo){invalid("nope"), invalid("addon")},
		want:    &want{at: 0, has: `layer "nope"`, file: "packs/njörd-0.1/pack.json", errors: 1},
		judged:  1,
	}, {
		// HEAD reports it; the commit before is not named again.
		name: "an invalid pack HEAD still has",
		commits: []func(*testing.T, *gitfixture.Repo){invalid("nope"), func(t *testing.T, r *gitfixture.Repo) {
			testutil.WritePack(t, r, "packs/other-3", "other", "3.0.0", "addon", "")
		}},
		want:   &want{at: -1, has: `layer "nope"`, file: "packs/njörd-0.1/pack.json", errors: 1},
		judged: 1,
	}, {
		// attackV F4: the net change shows nothing, the build after a
		// fast-forward merge publishes bomb@1.0.0: judged without
		// --each-commit too, images included. The control of the
		// branched cases below.
		name:    "a release added and removed again",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, removeBomb},
		want:    bombed,
		judged:  1,
		added:   1,
	}, {
		// attackY Y-B: the base holds both commits only through its
		// merge's second parent; HEAD, the branch's merge of the base,
		// fast-forwards the base onto them. Both judged against the
		// base's first-parent history, HEAD not taken for CI's merge.
		name:    "a release added and removed again, on a branch the base merged",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, removeBomb},
		shape:   "merged, then merging the base",
		want:    bombed,
		judged:  2,
		added:   1,
	}, {
		name:    "a release added and removed again, on a branch the base merged, in CI's merge commit",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, removeBomb},
		shape:   "merged, then merging the base, in CI's merge commit",
		want:    bombed,
		judged:  2,
		added:   1,
	}, {
		// The reviewer's finding on fixF: the base merged a side branch
		// adding bomb with a resolution that dropped it (an evil merge);
		// the branch merged that side branch too, then removed bomb and
		// merged the base. The base holds the side branch's commit only
		// through its merge's second parent, so the branch's merge of
		// it, on the first-parent history after a fast-forward, adds
		// bomb there: judged against the base's first-parent history,
		// not against the side branch (nothing judged).
		name:    "a release added and removed again, through a side branch the base merged dropping it",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, ownWork, removeBomb},
		shape:   "a side branch the base merged dropping it, then merging the base",
		want:    &want{at: 2, has: "chart does not render", file: "packs/bomb/charts/c/templates/pod.yaml", errors: 1},
		judged:  3,
		added:   1,
	}, {
		// A rebase without --rebase-merges (GitHub's "Rebase and merge"
		// too) drops HEAD's merge of the side branch and replays the side
		// branch's commits onto the base: they are judged, before the
		// merge, against their merge base with the base; the side
		// branch's own merge lands nowhere, and is not.
		name:    "a release added and removed again, on a side branch the branch merged",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, removeBomb, ownWork},
		shape:   "a side branch the branch merged",
		want:    bombed,
		judged:  3,
		added:   1,
	}, {
		// The same side branch on an unrelated history: a rebase replays
		// its commits all the same, none can be judged against the base.
		name:    "a release added and removed again, on an unrelated side branch the branch merged",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, removeBomb, ownWork},
		shape:   "an unrelated side branch the branch merged",
		want:    &want{at: 1, has: `("merge side")`, errors: 1, chain: true, side: true},
	}, {
		// HEAD does not contain the base: no merge puts the commits the
		// base holds on its first-parent history (a rebase drops them).
		name: "a release added and removed again on a branch the base merged, HEAD behind the base",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, removeBomb, func(t *testing.T, r *gitfixture.Repo) {
			testutil.WritePack(t, r, "packs/other-3", "other", "3.0.0", "addon", "")
		}},
		shape: "merged, the last commit after",
	}, {
		// attackY Y-D: HEAD contains the base through its second parent
		// only; its first parent's history is unrelated to the base's.
		// Rebased onto the base, both commits land on its history.
		name:    "a release added and removed again, on an unrelated history",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, removeBomb},
		shape:   "unrelated, then merging the base",
		want:    &want{at: 1, has: `("merge main")`, errors: 1, chain: true}, // named as the first parent of HEAD
	}, {
		// The same without the merge: HEAD shares no history with the
		// base (it was a warning that the clone is too shallow).
		name:    "a release added and removed again, on an unrelated history, HEAD not merging the base",
		commits: []func(*testing.T, *gitfixture.Repo){addBomb, removeBomb},
		shape:   "unrelated",
		want:    &want{at: 1, has: "its last commit", errors: 1, chain: true},
	}, {
		name:    "HEAD is the base",
		commits: nil,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, base := historyRepo(t)
			var hashes []string
			if tc.shape == "" {
				for _, c := range tc.commits {
					c(t, r)
					hashes = append(hashes, testutil.Commit(t, r, "step"))
				}
			} else {
				base, hashes = branched(t, r, tc.shape, tc.commits)
			}
			for _, each := range []bool{false, true} {
				rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: base, Committed: true, EachCommit: each})
				testutil.Must(t, err)
				if !each && rep.Added != tc.added {
					t.Fatalf("judged %d releases HEAD lacks, want %d", rep.Added, tc.added)
				}
				if tc.want == nil || !each && tc.added == 0 && !tc.want.chain {
					if tc.want != nil && tc.want.at == -1 {
						continue // HEAD's own problem: checked below
					}
					if rep.Errors != 0 || rep.Commits != 0 && !each {
						t.Fatalf("each=%v: got %#v (%d commits), want no error", each, rep.Problems, rep.Commits)
					}
					if each && rep.Commits != tc.judged {
						t.Fatalf("judged %d commits before HEAD, want %d", rep.Commits, tc.judged)
					}
					continue
				}
				if each && rep.Commits != tc.judged {
					t.Fatalf("judged %d commits before HEAD, want %d", rep.Commits, tc.judged)
				}
				var got []meta.Problem
				for _, p := range rep.Problems {
					if p.Severity == meta.SevError {
						got = append(got, p)
					}
				}
				prefix, has := "", tc.want.has
				if tc.want.at >= 0 {
					prefix = "at commit " + index.ShortHash(hashes[tc.want.at]) + ` ("step"), before HEAD: `
				}
				if tc.want.side {
					prefix = "a side branch the pull request merges leaves " + base + "'s history at commit " + index.ShortHash(hashes[tc.want.at]) + ` ("step"), parent 2 of `
					has = tc.want.has + ": it shares no history with " + base + ", so what it and the commits below it add is not judged, and merged by rebase they land on " + base + "'s first-parent history, which the build publishes; rebase the branch onto " + base + " (git rebase " + base + ")"
				} else if tc.want.chain {
					prefix = "the pull request's first-parent chain leaves " + base + "'s history at commit " + index.ShortHash(hashes[tc.want.at]) + ` ("step"), `
					has = tc.want.has + ": it descends from no commit of " + base + "'s first-parent history, which the build publishes, so what it and the commits below it add is not judged, and merged by rebase or fast-forward they land on that history; rebase the branch onto " + base + " (git rebase " + base + ")"
				}
				if len(got) != tc.want.errors || got[0].File != tc.want.file || !strings.HasPrefix(got[0].Msg, prefix) ||
					!strings.Contains(got[0].Msg, has) || tc.want.at == -1 && strings.Contains(got[0].Msg, "at commit") {
					t.Fatalf("got %+v, want %d error at %s starting %q and saying %q", got, tc.want.errors, tc.want.file, prefix, has)
				}
			}
		})
	}
}

// branched makes commits (each then committed as "step") reach HEAD in
// shape, on branches of r, whose branch main is the base; it returns the
// base as --changed-since names it and the commits' hashes.
//
//   - "merged, then merging the base": on a branch the base merges
//     (--no-ff) after a commit of its own; HEAD is the branch's merge of
//     the base, which the base can fast-forward to.
//   - "merged, then merging the base, in CI's merge commit": HEAD is the
//     merge of that branch into the base, as CI checks it out.
//   - "merged, the last commit after": all but the last on a branch the
//     base merges; the last on that branch, behind the base.
//   - "a side branch the base merged dropping it, then merging the
//     base": the first commit on a side branch, which the base merges
//     (--no-ff) after a commit of its own, its resolution dropping what
//     the commit added (an evil merge); the second on the branch, from
//     the base before that; the branch's merge of the side branch
//     ("step", its hash after the second's); the third; HEAD is the
//     branch's merge of the base.
//   - "a side branch the branch merged": the first on a side branch,
//     the second on a branch of it that it merges (--no-ff), the third
//     on the branch; HEAD is the branch's merge of the side branch.
//   - "an unrelated side branch the branch merged": the same, the side
//     branch an orphan one (an empty tree first).
//   - "unrelated": on an orphan branch (an empty tree first), HEAD the
//     last.
//   - "unrelated, then merging the base": the same; HEAD is its merge of
//     the base (--allow-unrelated-histories).
func branched(t *testing.T, r *gitfixture.Repo, shape string, commits []func(*testing.T, *gitfixture.Repo)) (base string, hashes []string) {
	t.Helper()
	git := func(args ...string) string { return strings.TrimSpace(string(testutil.Git(t, r.Dir, args...))) }
	commit := func(c func(*testing.T, *gitfixture.Repo)) {
		c(t, r)
		git("add", "-A")
		git("commit", "-qm", "step")
		hashes = append(hashes, git("rev-parse", "HEAD"))
	}
	if strings.HasPrefix(shape, "unrelated") {
		git("checkout", "-q", "--orphan", "pr")
		git("rm", "-rqf", ".")
		for _, c := range commits {
			commit(c)
		}
		if shape != "unrelated" {
			git("merge", "-q", "--allow-unrelated-histories", "--no-ff", "-m", "merge main", "main")
		}
		return "main", hashes
	}
	switch shape {
	case "a side branch the branch merged", "an unrelated side branch the branch merged":
		if strings.HasPrefix(shape, "an unrelated") {
			git("checkout", "-q", "--orphan", "side")
			git("rm", "-rqf", ".")
		} else {
			git("checkout", "-qb", "side")
		}
		commit(commits[0])
		if strings.HasPrefix(shape, "an unrelated") {
			commit(commits[1])
		} else { // the second on a branch of the side branch, which merges it
			git("checkout", "-qb", "side2")
			commit(commits[1])
			git("checkout", "-q", "side")
			git("merge", "-q", "--no-ff", "-m", "merge side2", "side2")
		}
		git("checkout", "-qb", "pr", "main")
		commit(commits[2])
		git("merge", "-q", "--no-ff", "--allow-unrelated-histories", "-m", "merge side", "side")
		return "main", hashes
	case "a side branch the base merged dropping it, then merging the base":
		fork := git("rev-parse", "HEAD")
		git("checkout", "-qb", "side")
		commit(commits[0])
		git("checkout", "-q", "main")
		testutil.Must(t, r.Write("notes.txt", []byte("main's own work\n")))
		git("add", "-A")
		git("commit", "-qm", "main's own work")
		git("merge", "-q", "--no-ff", "--no-commit", "side")
		git("rm", "-rqf", "packs/bomb") // the resolution drops it
		git("commit", "-qm", "merge side")
		git("checkout", "-qb", "pr", fork)
		commit(commits[1])
		git("merge", "-q", "--no-ff", "-m", "step", "side")
		hashes = append(hashes, git("rev-parse", "HEAD"))
		commit(commits[2])
		git("merge", "-q", "--no-ff", "-m", "merge main", "main")
		return "main", hashes
	}
	git("checkout", "-qb", "pr")
	last := len(commits)
	if strings.HasSuffix(shape, "the last commit after") {
		last--
	}
	for _, c := range commits[:last] {
		commit(c)
	}
	git("checkout", "-q", "main")
	testutil.Must(t, r.Write("notes.txt", []byte("main's own work\n")))
	git("add", "-A")
	git("commit", "-qm", "main's own work")
	git("merge", "-q", "--no-ff", "-m", "merge pr", "pr")
	git("checkout", "-q", "pr")
	switch shape {
	case "merged, the last commit after":
		commit(commits[last])
	case "merged, then merging the base", "merged, then merging the base, in CI's merge commit":
		git("merge", "-q", "--no-ff", "-m", "merge main", "main")
		if strings.HasSuffix(shape, "in CI's merge commit") {
			git("checkout", "-q", "--detach", "main")
			git("merge", "-q", "--no-ff", "-m", "merge pr", "pr")
		}
	default:
		t.Fatalf("no shape %q", shape)
	}
	return "main", hashes
}

// TestChangedForkPoint: a branch behind its base is compared with where
// it forked, as `git diff main...HEAD` and chart-testing do. Compared with
// the base's tip, a pack the base bumped meanwhile looked like the branch
// taking its version down (an error on a pack the branch never touched);
// a version the base published meanwhile is still judged, by the
// history check. CI's merge commit contains the base: nothing changes.
func TestChangedForkPoint(t *testing.T) {
	r, err := gitfixture.Init(t.TempDir())
	testutil.Must(t, err)
	git := func(args ...string) string { return strings.TrimSpace(string(testutil.Git(t, r.Dir, args...))) }
	commit := func(msg string) string { git("add", "-A"); git("commit", "-qm", msg); return git("rev-parse", "HEAD") }
	testutil.WritePack(t, r, "packs/x", "x", "1.0.0", "addon", "a: 1\n")
	fork := commit("base")
	git("checkout", "-qb", "feature")
	testutil.WritePack(t, r, "packs/y-0.1", "y", "0.1.0", "addon", "")
	testutil.WritePack(t, r, "packs/z-a", "z", "0.1.0", "addon", "b: 2\n")
	commit("y and z")
	git("checkout", "-q", "-")
	testutil.WritePack(t, r, "packs/x", "x", "1.1.0", "addon", "a: 2\n") // bumped in place
	testutil.WritePack(t, r, "packs/z-0.1", "z", "0.1.0", "addon", "b: 1\n")
	commit("x bumped, z published")
	main := git("rev-parse", "HEAD")
	git("checkout", "-q", "feature")

	errorsOf := func(rep *Report) (out []string) {
		for _, p := range rep.Problems {
			if p.Severity == meta.SevError {
				out = append(out, p.File+": "+p.Msg)
			}
		}
		return out
	}
	rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: main, Committed: true})
	testutil.Must(t, err)
	got := errorsOf(rep)
	if rep.ForkPoint != fork || len(rep.Packs) != 2 || len(got) != 1 ||
		!strings.HasPrefix(got[0], "packs/z-a/pack.json: z@0.1.0 was published from packs/z-0.1 at commit "+index.ShortHash(main)) {
		t.Fatalf("fork point %s (want %s), packs %+v, errors %q: want y and z, one error: z published by the base", rep.ForkPoint, fork, rep.Packs, got)
	}

	// Uncommitted: the in-place rule compares with the fork point too.
	testutil.Must(t, r.Write("packs/x/values.yaml", []byte("a: 3\n")))
	rep, err = Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: main})
	testutil.Must(t, err)
	got = errorsOf(rep)
	if len(got) != 2 || !strings.Contains(strings.Join(got, "\n"), "packs/x/pack.json: the content of x@1.0.0 changed but its version did not (uncommitted changes: values.yaml; "+index.ShortHash(fork)+" has it published as is)") {
		t.Fatalf("errors %q: want z's and x's in-place change", got)
	}
	git("checkout", "--", "packs/x")

	// CI's merge of the branch into the base contains the base.
	git("checkout", "-q", "--detach", main)
	git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	rep, err = Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: main, Committed: true})
	testutil.Must(t, err)
	if got := errorsOf(rep); rep.ForkPoint != "" || len(rep.Packs) != 2 || len(got) != 1 {
		t.Fatalf("merge: fork point %q, packs %+v, errors %q: want no fork point, y and z, z's error", rep.ForkPoint, rep.Packs, got)
	}
}

// TestChangedEachCommitBranches: --each-commit finds the pull request's
// commits in CI's merge commit (its second parent's chain) and on a
// branch behind its base, and judges them against where they forked.
func TestChangedEachCommitBranches(t *testing.T) {
	r, _, _ := historyRepo(t)
	git := func(args ...string) string { return strings.TrimSpace(string(testutil.Git(t, r.Dir, args...))) }
	commit := func(msg string) string { git("add", "-A"); git("commit", "-qm", msg); return git("rev-parse", "HEAD") }
	git("checkout", "-qb", "pr")
	readd("v1.0.0", "a: 2\n")(t, r)
	c1 := commit("bring app 1.0 back")
	testutil.Must(t, r.Remove("packs/app-1.0.0"))
	testutil.WritePack(t, r, "packs/new", "new", "0.1.0", "addon", "")
	commit("remove it again")
	git("checkout", "-q", "-")
	testutil.WritePack(t, r, "packs/app-1.1.0", "app", "1.2.0", "addon", "a: 1\n") // bumped in place
	main := commit("app 1.2.0")
	git("checkout", "-q", "pr")

	check := func(name string) {
		t.Helper()
		for _, each := range []bool{false, true} {
			rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: main, Committed: true, EachCommit: each})
			testutil.Must(t, err)
			var got []string
			for _, p := range rep.Problems {
				if p.Severity == meta.SevError {
					got = append(got, p.File+": "+p.Msg)
				}
			}
			want := 0
			if each {
				want = 1
			}
			if len(got) != want || rep.Commits != want || each &&
				!strings.HasPrefix(got[0], `packs/app-1.0.0/pack.json: at commit `+index.ShortHash(c1)+` ("bring app 1.0 back"), before HEAD: app@v1.0.0 was published from packs/app-1.0`) {
				t.Fatalf("%s, each=%v: %d commits judged, errors %q; want %d error at the first commit", name, each, rep.Commits, got, want)
			}
		}
	}
	check("branch behind its base")
	git("checkout", "-q", "--detach", main)
	git("merge", "-q", "--no-ff", "-m", "merge pr", "pr")
	check("CI's merge commit")
}

// TestChangedEachCommitUpdatedBranch: a branch that merged its base in
// (GitHub's "Update branch") holds base commits only through that merge's
// second parent. --each-commit had walked on down the base's own history
// to the root, judging each base commit against a later fork point: a
// red check ("version went down") on every such pull request.
func TestChangedEachCommitUpdatedBranch(t *testing.T) {
	r, err := gitfixture.Init(t.TempDir())
	testutil.Must(t, err)
	git := func(args ...string) string { return strings.TrimSpace(string(testutil.Git(t, r.Dir, args...))) }
	commit := func(msg string) string { git("add", "-A"); git("commit", "-qm", msg); return git("rev-parse", "HEAD") }
	a := func(v string) { testutil.WritePack(t, r, "packs/a", "a", v, "addon", "v: "+v+"\n") }
	b := func(v string) { testutil.WritePack(t, r, "packs/b", "b", v, "addon", "v: "+v+"\n") }
	a("0.1.0")
	commit("base0")
	a("0.2.0")
	commit("a 0.2")
	a("0.3.0")
	commit("a 0.3")
	git("checkout", "-qb", "feat", "HEAD~2")
	b("0.1.0")
	commit("b 0.1")
	git("merge", "-q", "--no-edit", "main")
	b("0.2.0")
	commit("b 0.2")
	git("checkout", "-q", "main")
	a("0.4.0")
	main := commit("a 0.4")
	git("checkout", "-q", "feat")
	for _, head := range []string{"feat", "merge ref"} {
		if head == "merge ref" {
			git("checkout", "-q", "--detach", main)
			git("merge", "-q", "--no-ff", "-m", "merge feat", "feat")
		}
		rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: main, Committed: true, EachCommit: true})
		testutil.Must(t, err)
		if rep.Errors != 0 || rep.Commits != 2 {
			t.Errorf("%s: %d commits judged (want 2: b 0.1 and the merge of main), errors: %s", head, rep.Commits, rep.Problems.Error())
		}
	}
}

// TestChangedForkPointShallow: a clone too shallow to find where HEAD
// forked from its base says so: a pack the base changed may show as
// changed by the branch, and the commits below HEAD are not judged, in
// one problem (one cause, one piece of advice): a warning, an error with
// --each-commit.
func TestChangedForkPointShallow(t *testing.T) {
	r, err := gitfixture.Init(t.TempDir())
	testutil.Must(t, err)
	git := func(dir string, args ...string) string {
		return strings.TrimSpace(string(testutil.Git(t, dir, args...)))
	}
	commit := func(msg string) { git(r.Dir, "add", "-A"); git(r.Dir, "commit", "-qm", msg) }
	testutil.WritePack(t, r, "packs/a", "a", "0.1.0", "addon", "")
	commit("base")
	git(r.Dir, "checkout", "-qb", "feat")
	testutil.WritePack(t, r, "packs/b", "b", "0.1.0", "addon", "")
	commit("b")
	git(r.Dir, "checkout", "-q", "main")
	testutil.WritePack(t, r, "packs/a", "a", "0.2.0", "addon", "x: 1\n")
	commit("a 0.2")
	clone := filepath.Join(t.TempDir(), "clone")
	git(r.Dir, "clone", "-q", "--depth", "1", "--branch", "feat", "file://"+r.Dir, clone)
	git(clone, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
	for _, each := range []bool{false, true} {
		rep, err := Changed(context.Background(), ChangedOptions{Repo: clone, PacksDir: "packs", Since: "origin/main", Committed: true, EachCommit: each})
		testutil.Must(t, err)
		sev := meta.SevWarning
		if each {
			sev = meta.SevError
		}
		var shallow []meta.Problem
		for _, p := range rep.Problems {
			if strings.Contains(p.Msg, "git fetch --unshallow") {
				shallow = append(shallow, p)
			}
		}
		if len(shallow) != 1 || shallow[0].Severity != sev || shallow[0].File != "" ||
			!strings.Contains(shallow[0].Msg, "too shallow to find where it forked: compared with origin/main's tip") ||
			!strings.Contains(shallow[0].Msg, `the commits before HEAD were judged down to where the clone ends, not below: the commits below `+index.ShortHash(git(clone, "rev-parse", "HEAD"))+` ("b")`) {
			t.Errorf("each=%v: %+v, want one %s that the fork point is unknown and the commits below HEAD are not judged", each, shallow, sev)
		}
	}
}

// TestWithSides: the side branches' walk, on a stack of its own, gives
// what the recursion it replaced gave, commit for commit and in the same
// order (errors included), for every pair of commits of random
// histories with merges of two and three parents and unrelated roots;
// with a commit of them missing from a shallow clone, the range walk
// judges a part of what it judges in the whole clone, against the same
// forks, the rest below the cuts it names (shallowRange); and on a history of side branches merged into side branches, one
// inside the other, as deep as one likes, its calls do not pile up on
// the goroutine's stack (the recursion's grew with the depth, to Go's
// 1 GB limit, a crash on a pushed history).
func TestWithSides(t *testing.T) {
	when := func(i int) time.Time {
		return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	}
	var sides, offBase, cuts, ranges, alikeForks int
	for i := range 5 {
		// The last history is the second with every commit dated alike
		// (a script's): the walks' order is then the queue's alone.
		seed, alike := int64(i), false
		if i == 4 {
			seed, alike = 1, true
		}
		rng := rand.New(rand.NewSource(seed))
		dated := when
		if alike {
			dated = func(int) time.Time { return when(0) }
		}
		var spec strings.Builder
		const n = 20
		for i := range n {
			fmt.Fprintf(&spec, "c%d:", i)
			if i > 0 && rng.Intn(12) > 0 { // else an unrelated root
				fmt.Fprintf(&spec, " c%d", max(0, i-1-rng.Intn(3)))
				for k := 0; k < 2 && rng.Intn(3) == 0; k++ {
					fmt.Fprintf(&spec, " c%d", rng.Intn(i))
				}
			}
			spec.WriteString("\n")
		}
		s := &countingStorage{Storage: memory.NewStorage()}
		cs := commitGraph(t, s, spec.String(), dated)
		parents := map[plumbing.Hash][]plumbing.Hash{}
		for _, c := range cs {
			parents[c.Hash] = c.ParentHashes
		}
		for tn, tip := range cs {
			for bn, bc := range cs {
				hf := headFork{base: "main", head: tip, bc: bc}
				var chain []requestCommit // a first parent or two: the walk takes any chain
				for c := tip; len(chain) < int(seed%3) && len(c.ParentHashes) > 0; {
					p, err := c.Parent(0)
					testutil.Must(t, err)
					chain = append([]requestCommit{{c: p, fork: "chain"}}, chain...)
					c = p
				}
				got, _, gerr := hf.withSides(tip, chain)
				want, werr := withSidesRecursive(hf, tip, chain)
				if gerr != nil {
					offBase++
				} else if len(got) > len(chain) {
					sides++
				}
				if !sameSides(got, gerr, want, werr, bc, alike, &alikeForks) {
					t.Fatalf("seed %d (dated alike: %v), tip %s, base %s:\n%s\nthe recursion gave\n%s\nhistory:\n%s", seed, alike, tn, bn, sidesOf(got, gerr), sidesOf(want, werr), spec.String())
				}
				ranges += sameRange(t, hf, alike, &alikeForks)
				if m := cs[fmt.Sprintf("c%d", rng.Intn(n))]; m != tip && m != bc {
					cuts += shallowRange(t, s, hf, m, parents)
				}
			}
		}
	}

	if sides < 50 || offBase < 50 {
		t.Fatalf("%d pairs with side commits, %d with an unrelated side branch: the histories no longer tell", sides, offBase)
	}
	if cuts < 50 {
		t.Fatalf("%d ranges cut by a missing commit: the histories no longer tell", cuts)
	}
	if ranges < 50 {
		t.Fatalf("%d ranges of two commits or more: the histories no longer tell", ranges)
	}
	t.Logf("%d pairs with side commits, %d with an unrelated side branch, %d ranges cut, %d ranges of two commits or more; dated alike, %d commits judged against another of their merge bases than each one's own walk gives", sides, offBase, cuts, ranges, alikeForks)

	// Side branches merged into side branches, one inside the other (a
	// ladder): m_k merges x_k, a commit on r, into m_k-1; the base moved
	// on from r since. The depth is what shows the stack: the recursion
	// read a call deeper each level.
	const depth = 100
	var spec strings.Builder
	spec.WriteString("r:\nm0: r\n")
	for k := 1; k <= depth; k++ {
		fmt.Fprintf(&spec, "x%d: r\nm%d: m%d x%d\n", k, k, k-1, k)
	}
	spec.WriteString(baseOn("r", 20) + "head: b20 m" + fmt.Sprint(depth) + "\n")
	s := &countingStorage{Storage: memory.NewStorage()}
	cs := commitGraph(t, s, spec.String(), when)
	hf := headFork{base: "main", head: cs["head"], bc: cs["b20"]}
	got := sideReads(t, s, hf, depth+1)
	if got[0].c.Message != "m0" || got[1].c.Message != "x1" || got[depth].c.Message != "x"+fmt.Sprint(depth) {
		t.Fatalf("%s, want m0 then x1 to x%d", sidesOf(got, nil), depth)
	}
	s.frames = make([]uintptr, 1<<16)
	_, _, err := hf.withSides(cs["head"], nil)
	testutil.Must(t, err)
	t.Logf("deepest read: %d calls", s.deepest)
	if s.deepest > 50 {
		t.Fatalf("a read %d calls deep, on a history %d side branches deep: the walk recurses", s.deepest, depth)
	}
	s.deepest = 0
	_, err = withSidesRecursive(hf, cs["head"], nil)
	testutil.Must(t, err)
	t.Logf("deepest read of the recursion: %d calls", s.deepest)
	if s.deepest < depth {
		t.Fatalf("the recursion's deepest read was %d calls deep: the test no longer tells", s.deepest)
	}

	// One long side branch forked from r, merged by head (attackZ Z3).
	const long = 150
	spec.Reset()
	spec.WriteString("r:\ns0: r\n")
	for k := 1; k < long; k++ {
		fmt.Fprintf(&spec, "s%d: s%d\n", k, k-1)
	}
	spec.WriteString(baseOn("r", 20) + fmt.Sprintf("head: b20 s%d\n", long-1))
	s = &countingStorage{Storage: memory.NewStorage()}
	cs = commitGraph(t, s, spec.String(), when)
	sideReads(t, s, headFork{base: "main", head: cs["head"], bc: cs["b20"]}, long)
	// The same branch as the request's chain: CI's merge commit (head;
	// the chain's forks on b20's first parents) and the branch itself,
	// behind the base (merge bases).
	for _, head := range []string{"head", fmt.Sprintf("s%d", long-1)} {
		hf := headFork{base: "main", head: cs[head], bc: cs["b20"]}
		chainReads(t, s, hf, "HEAD "+head, long, func(n int) bool { return n == long-1 })
	}
	// A branch grown from a feature branch's commit the base holds only
	// through a merge's second parent (main merged the feature), that
	// then merges main: every commit of its chain reaches that commit,
	// which the first-parent paint does not follow (a reviewer's find:
	// each asked its own walk again, quadratic).
	spec.Reset()
	spec.WriteString("r:\nf0: r\nm1: r f0\n" + baseOn("m1", 20) + "s0: f0\n")
	for k := 1; k < long; k++ {
		fmt.Fprintf(&spec, "s%d: s%d\n", k, k-1)
	}
	fmt.Fprintf(&spec, "head: s%d b20\n", long-1)
	s = &countingStorage{Storage: memory.NewStorage()}
	cs = commitGraph(t, s, spec.String(), when)
	hf = headFork{base: "main", head: cs["head"], bc: cs["b20"]}
	chainReads(t, s, hf, "a branch from a second parent's commit", long, func(n int) bool { return n >= long })
}

// chainReads checks that the range walk of hf (HEAD, base) judges the
// commits it judges with each commit's own walk, as many as want says,
// from one walk: a few reads a commit of a chain about long commits,
// a tenth of what each commit's own walk reads.
func chainReads(t *testing.T, s *countingStorage, hf headFork, what string, long int, want func(n int) bool) {
	t.Helper()
	hf.readFork()
	s.reads = 0
	got, _, err := hf.requestCommits()
	testutil.Must(t, err)
	reads := s.reads
	hf.ownWalks = true
	s.reads = 0
	ref, _, err := hf.requestCommits()
	testutil.Must(t, err)
	if !want(len(got)) || sidesOf(got, nil) != sidesOf(ref, nil) {
		t.Fatalf("%s: %d commits:\n%s\neach walking on its own:\n%s", what, len(got), sidesOf(got, nil), sidesOf(ref, nil))
	}
	t.Logf("%s: %d commits of the chain: %d objects read, each walking on its own %d", what, len(got), reads, s.reads)
	if reads > 6*long+100 || s.reads < 10*reads {
		t.Fatalf("%s: %d commits of the chain: %d objects read, each walking on its own %d: want one walk", what, len(got), reads, s.reads)
	}
}

// baseOn is n commits b1 to bn of a base moving on from commit from, as
// commitGraph lines.
func baseOn(from string, n int) string {
	var b strings.Builder
	for k := 1; k <= n; k++ {
		fmt.Fprintf(&b, "b%d: %s\n", k, from)
		from = fmt.Sprintf("b%d", k)
	}
	return b.String()
}

// sideReads checks that withSides of hf (no chain below HEAD) gives
// want commits, as the recursion does, from one walk of the side
// branches and the base: each side commit's own walk to its fork, as the
// recursion asks mergeBases, reads every commit since the fork again
// (attackZ Z3: quadratic in a side branch's length).
func sideReads(t *testing.T, s *countingStorage, hf headFork, want int) []requestCommit {
	t.Helper()
	s.reads = 0
	got, _, err := hf.withSides(hf.head, nil)
	testutil.Must(t, err)
	reads := s.reads
	s.reads = 0
	ref, err := withSidesRecursive(hf, hf.head, nil)
	testutil.Must(t, err)
	if len(got) != want || sidesOf(got, nil) != sidesOf(ref, nil) {
		t.Fatalf("%d side commits, want %d:\n%s\nthe recursion gave\n%s", len(got), want, sidesOf(got, nil), sidesOf(ref, nil))
	}
	t.Logf("%d side commits: %d objects read, the recursion %d", len(got), reads, s.reads)
	if reads > 6*want+100 || s.reads < 10*reads { // a few reads a commit: the walk, the side walk's, a fork's each side branch
		t.Fatalf("%d side commits: %d objects read, the recursion %d: want one walk", len(got), reads, s.reads)
	}
	return got
}

// sameRange checks that the range walk of hf (HEAD, base) judges the
// commits, against the forks and in the order, it judges with each
// commit's fork from a walk of its own, as before forkWalk, and fails
// alike (sameSides). It says whether the range holds two commits or
// more.
func sameRange(t *testing.T, hf headFork, alike bool, alikeForks *int) int {
	t.Helper()
	hf.readFork()
	got, gcuts, gerr := hf.requestCommits()
	hf.ownWalks = true
	want, wcuts, werr := hf.requestCommits()
	if !sameSides(got, gerr, want, werr, hf.bc, alike, alikeForks) || len(gcuts)+len(wcuts) > 0 {
		t.Fatalf("HEAD %s, base %s: %s (%d cuts)\neach walking on its own: %s (%d cuts)", hf.head.Message, hf.bc.Message, sidesOf(got, gerr), len(gcuts), sidesOf(want, werr), len(wcuts))
	}
	if len(got) > 1 {
		return 1
	}
	return 0
}

// sameSides says whether got and want (and their errors) are the same:
// the same commits in the same order, each against the same fork; with
// every commit dated alike (alike), a fork may be another merge base
// with bc (counted in alikeForks): which of two merge bases dated alike
// is taken is the walk's order.
func sameSides(got []requestCommit, gerr error, want []requestCommit, werr error, bc *object.Commit, alike bool, alikeForks *int) bool {
	if sidesOf(got, gerr) == sidesOf(want, werr) {
		return true
	}
	if !alike || gerr != nil || werr != nil || len(got) != len(want) {
		return false
	}
	for i, rc := range got {
		if rc.c.Hash != want[i].c.Hash {
			return false
		}
		if rc.fork == want[i].fork {
			continue
		}
		bases, err := mergeBases(rc.c, bc)
		if err != nil || !slices.ContainsFunc(bases, func(b *object.Commit) bool { return b.Hash.String() == rc.fork }) {
			return false
		}
		*alikeForks++
	}
	return true
}

// shallowRange checks what the range walk of hf (HEAD, base) judges
// with commit m missing from a shallow clone, against what it judges
// in the whole one: a commit judged is judged against the same fork, in
// the same order, and a commit of the whole range not judged is below
// a cut (m, or a commit whose walk met m), never dropped silently. It
// says whether the range was cut.
func shallowRange(t *testing.T, s *countingStorage, hf headFork, m *object.Commit, parents map[plumbing.Hash][]plumbing.Hash) int {
	t.Helper()
	hf.readFork()
	whole, _, err := hf.requestCommits()
	if err != nil {
		return 0 // an unrelated history: refused in any clone
	}
	s.missing = map[plumbing.Hash]bool{m.Hash: true}
	defer func() { s.missing = nil }()
	hf.shallow, hf.mb, hf.mbErr = true, nil, nil
	hf.readFork()
	got, cuts, err := hf.requestCommits()
	if err != nil {
		t.Fatalf("HEAD %s, base %s, %s missing: %v", hf.head.Message, hf.bc.Message, m.Message, err)
	}
	below := func(c plumbing.Hash) bool { // c is an ancestor of a cut, or one
		var at []plumbing.Hash
		for _, ct := range cuts {
			if ct.c != nil && !ct.below {
				at = append(at, ct.c.Hash)
			} else if ct.c != nil {
				at = append(at, parents[ct.c.Hash]...)
			} else {
				at = append(at, ct.hash)
			}
		}
		seen := map[plumbing.Hash]bool{}
		for len(at) > 0 {
			h := at[len(at)-1]
			at = at[:len(at)-1]
			if h == c {
				return true
			}
			if !seen[h] {
				seen[h] = true
				at = append(at, parents[h]...)
			}
		}
		return false
	}
	i := 0
	for _, rc := range whole {
		if i < len(got) && got[i].c.Hash == rc.c.Hash {
			if got[i].fork != rc.fork {
				t.Fatalf("HEAD %s, base %s, %s missing: %s judged against %s, in the whole clone %s", hf.head.Message, hf.bc.Message, m.Message, rc.c.Message, got[i].fork, rc.fork)
			}
			i++
		} else if !below(rc.c.Hash) {
			t.Fatalf("HEAD %s, base %s, %s missing: %s dropped, below no cut of %v", hf.head.Message, hf.bc.Message, m.Message, rc.c.Message, cuts)
		}
	}
	if i != len(got) {
		t.Fatalf("HEAD %s, base %s, %s missing: judged %s, not in the whole clone's %s", hf.head.Message, hf.bc.Message, m.Message, sidesOf(got, nil), sidesOf(whole, nil))
	}
	if len(cuts) > 0 {
		return 1
	}
	return 0
}

// sidesOf is what withSides gave, a line of names (and forks) or its
// error.
func sidesOf(rcs []requestCommit, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, rc := range rcs {
		fmt.Fprintf(&b, "%s@%s ", rc.c.Message, rc.fork)
	}
	return b.String()
}

// withSidesRecursive is withSides as it was, a recursion: TestWithSides'
// reference.
func withSidesRecursive(hf headFork, tip *object.Commit, chain []requestCommit) ([]requestCommit, error) {
	seen := map[plumbing.Hash]bool{tip.Hash: true}
	for _, rc := range chain {
		seen[rc.c.Hash] = true
	}
	var out []requestCommit
	var side func(c, child *object.Commit, i int) error
	side = func(c, child *object.Commit, i int) error {
		if seen[c.Hash] {
			return nil
		}
		seen[c.Hash] = true
		bases, err := mergeBases(c, hf.bc)
		if err != nil {
			return err
		} else if len(bases) == 0 {
			return &offBaseError{c: c, child: child, side: true, parent: i, base: hf.base}
		}
		f := bases[0]
		if f.Hash == c.Hash {
			return nil
		}
		for j := range c.ParentHashes {
			p, err := c.Parent(j)
			if err != nil {
				return missingErr(c.ParentHashes[j], err)
			}
			if err := side(p, c, j); err != nil {
				return err
			}
		}
		if len(c.ParentHashes) < 2 {
			out = append(out, requestCommit{c: c, fork: f.Hash.String()})
		}
		return nil
	}
	merges := func(m *object.Commit) error {
		for i := 1; i < len(m.ParentHashes); i++ {
			p, err := m.Parent(i)
			if err != nil {
				return missingErr(m.ParentHashes[i], err)
			}
			if err := side(p, m, i); err != nil {
				return err
			}
		}
		return nil
	}
	for _, rc := range chain {
		if err := merges(rc.c); err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	if err := merges(tip); err != nil {
		return nil, err
	}
	return out, nil
}

// TestChangedShallowRange: in a shallow clone, the commits before HEAD
// are judged down to its edge, and those below it are named, with what
// to fetch: a warning, an error with --each-commit. Fetched one commit
// deep, CI's merge commit holds none of the request's commits (named:
// its second parent), and contains the base all the same. Fetched deeper
// than the request but not than the base's history since the request
// forked (a branch that merged the base in, "Update branch"), the
// commits after that merge are judged, an invalid release one adds and
// the next removes found; the commits before it, forked below the edge,
// are named. The whole clone judges both releases.
func TestChangedShallowRange(t *testing.T) {
	r, _, _ := historyRepo(t)
	git := func(dir string, args ...string) string {
		return strings.TrimSpace(string(testutil.Git(t, dir, args...)))
	}
	// Each commit a minute after the last, as in a real history: the
	// walks take the newest first, and at a clone's edge the order
	// decides whether the edge is met below the fork (equal or skewed
	// dates can cut higher than need be: more is named, nothing passes).
	date := r.Now
	tick := func() {
		date = date.Add(time.Minute)
		t.Setenv("GIT_COMMITTER_DATE", date.Format(time.RFC3339))
		t.Setenv("GIT_AUTHOR_DATE", date.Format(time.RFC3339))
	}
	commit := func(msg string) string {
		tick()
		git(r.Dir, "add", "-A")
		git(r.Dir, "commit", "-qm", msg)
		return git(r.Dir, "rev-parse", "HEAD")
	}
	bad := func(dir string) { testutil.WritePack(t, r, "packs/"+dir, dir, "1.0.0", "nope", "") }
	git(r.Dir, "checkout", "-qb", "pr")
	bad("bad1")
	p1 := commit("bad1 added")
	testutil.Must(t, r.Remove("packs/bad1"))
	p2 := commit("bad1 removed")
	git(r.Dir, "checkout", "-q", "main")
	for i := range 10 { // the base moves on, deeper than the clone
		testutil.Must(t, r.Write("notes.txt", []byte(fmt.Sprintf("main's work %d\n", i))))
		commit("main's work")
	}
	git(r.Dir, "checkout", "-q", "pr")
	tick()
	git(r.Dir, "merge", "-q", "--no-ff", "-m", "update branch", "main")
	bad("bad2")
	p3 := commit("bad2 added")
	testutil.Must(t, r.Remove("packs/bad2"))
	p4 := commit("bad2 removed")
	git(r.Dir, "checkout", "-q", "--detach", "main")
	tick()
	git(r.Dir, "merge", "-q", "--no-ff", "-m", "merge pr", "pr")
	git(r.Dir, "checkout", "-qb", "ci")

	for _, tc := range []struct {
		name   string
		branch string
		depth  int      // of the clone, 0: whole
		cut    string   // the commits named, "" for none
		bad    []string // the commits named by the invalid releases judged
		each   int      // commits judged with --each-commit
	}{
		{"CI's merge commit, one commit deep", "ci", 1, "commit " + index.ShortHash(p4) + ` (parent 2 of `, nil, 0},
		{"the branch, deeper than itself, not than the base", "pr", 7, "commit " + index.ShortHash(p2) + ` ("bad1 removed") and the commits below it, where it forked lying beyond the clone`, []string{p3}, 2},
		{"the branch, whole", "pr", 0, "", []string{p1, p3}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// As actions/checkout fetches the commit it checks out (the
			// request's branch not included), and the base beside it.
			clone := filepath.Join(t.TempDir(), "clone")
			depth := []string{}
			if tc.depth > 0 {
				depth = []string{"--depth", fmt.Sprint(tc.depth)}
			}
			git(r.Dir, append([]string{"clone", "-q", "--branch", tc.branch, "file://" + r.Dir, clone}, depth...)...)
			git(clone, append([]string{"fetch", "-q", "origin", "main:refs/remotes/origin/main"}, depth...)...)
			for _, each := range []bool{false, true} {
				rep, err := Changed(context.Background(), ChangedOptions{Repo: clone, PacksDir: "packs", Since: "origin/main", Committed: true, EachCommit: each})
				testutil.Must(t, err)
				var cuts []meta.Problem
				var bads []string
				for _, p := range rep.Problems {
					switch {
					case strings.Contains(p.Msg, "the clone is shallow: the commits before HEAD"):
						cuts = append(cuts, p)
					case strings.Contains(p.Msg, `layer "nope"`):
						at, _, _ := strings.Cut(strings.TrimPrefix(p.Msg, "at commit "), " ")
						bads = append(bads, at)
					case strings.Contains(p.Msg, "too shallow to find where it forked"):
						t.Errorf("each=%v: %s", each, p.Msg)
					}
				}
				sev := meta.SevWarning
				if each {
					sev = meta.SevError
				}
				if tc.cut == "" && len(cuts) != 0 || tc.cut != "" && (len(cuts) != 1 || cuts[0].Severity != sev || !strings.Contains(cuts[0].Msg, tc.cut) ||
					!strings.Contains(cuts[0].Msg, "git fetch --unshallow; in CI, actions/checkout with fetch-depth: 0")) {
					t.Errorf("each=%v: %+v, want a %s naming %q", each, cuts, sev, tc.cut)
				}
				var want []string
				for _, h := range tc.bad {
					want = append(want, index.ShortHash(h))
				}
				slices.Sort(bads)
				if slices.Sort(want); !slices.Equal(bads, want) {
					t.Errorf("each=%v: invalid releases judged at %q, want at %q", each, bads, want)
				}
				if each && rep.Commits != tc.each || !each && rep.Added != len(tc.bad) {
					t.Errorf("each=%v: %d commits judged, %d releases added, want %d, %d", each, rep.Commits, rep.Added, tc.each, len(tc.bad))
				}
			}
		})
	}
	// A whole repository lacking a commit of the request is not cut as
	// a shallow clone is: it is corrupt, and the check fails saying so
	// (the first walk, to HEAD's fork, meets it).
	git(r.Dir, "checkout", "-q", "pr")
	testutil.Must(t, os.Remove(filepath.Join(r.Dir, ".git", "objects", p1[:2], p1[2:])))
	for _, each := range []bool{false, true} {
		rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: "main", Committed: true, EachCommit: each})
		if msg := fmt.Sprint(err); rep != nil || !errors.Is(err, plumbing.ErrObjectNotFound) || !strings.Contains(msg, "where HEAD forked from main: object not found (the repository is not a shallow clone, so it is corrupt or partial") ||
			!strings.Contains(msg, "`git fsck` names what is missing") || strings.Contains(msg, "shallow clone?") {
			t.Errorf("each=%v: %v, want an error that the repository is corrupt", each, msg)
		}
	}
}
