package validate

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/source"
)

// TestChangedHistory: a version whose directory was removed stays
// published (build --history), so bringing it back with other content
// fails the build after the merge. `validate --changed-since` had let it
// through, committed or not; the same content brought back is fine.
func TestChangedHistory(t *testing.T) {
	for _, tc := range []struct {
		name      string
		committed bool
		change    func(t *testing.T, r *gitfixture.Repo)
		want      string // the pack.json the error is at; "" for none
		opts      func(o *ChangedOptions, base string)
	}{
		{name: "re-added changed, committed", committed: true, change: readd("v1.0.0", "a: 2\n"), want: "packs/app-1.0.0"},
		// The registry's build does not publish history (--history=false),
		// or only from the base on (--since): nothing to contradict.
		{name: "re-added changed, registry built without history", committed: true, change: readd("v1.0.0", "a: 2\n"),
			opts: func(o *ChangedOptions, _ string) { o.NoHistory = true }},
		{name: "re-added changed, registry built since the base", committed: true, change: readd("v1.0.0", "a: 2\n"),
			opts: func(o *ChangedOptions, base string) { o.HistorySince = base }},
		{name: "re-added changed, uncommitted", change: readd("v1.0.0", "a: 2\n"), want: "packs/app-1.0.0"},
		{name: "re-added as it was, committed", committed: true, change: readd("1.0", "a: 1\n")},
		{name: "re-added as it was, uncommitted", change: readd("1.0", "a: 1\n")},
		{name: "a version history never had", committed: true, change: func(t *testing.T, r *gitfixture.Repo) {
			testutil.WritePack(t, r, "packs/app-1.2.0", "app", "1.2.0", "addon", "a: 3\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, first, base := historyRepo(t)
			tc.change(t, r)
			if tc.committed {
				testutil.Commit(t, r, "change")
			}
			o := ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: base}
			if tc.opts != nil {
				tc.opts(&o, base)
			}
			rep, err := Changed(context.Background(), o)
			testutil.Must(t, err)
			var got []meta.Problem
			for _, p := range rep.Problems {
				if strings.Contains(p.Msg, "was published from") {
					got = append(got, p)
				}
			}
			if tc.want == "" {
				if len(got) > 0 {
					t.Fatalf("unexpected: %+v", got)
				}
				return
			}
			want := `app@v1.0.0 was published from packs/app-1.0 (as "1.0") at commit ` + index.ShortHash(first) + " with other content"
			if len(got) != 1 || got[0].File != tc.want+"/pack.json" || got[0].Line != 3 || got[0].Severity != meta.SevError ||
				!strings.Contains(got[0].Msg, want) || !strings.Contains(got[0].Msg, "(e.g. 1.0.1)") {
				t.Fatalf("got %+v, want one error at %s/pack.json:3 saying %q; all: %+v", got, tc.want, want, rep.Problems)
			}
		})
	}
}

// TestChangedHistoryShallow: a shallow clone cannot tell what history
// published; the check says so instead of passing in silence.
func TestChangedHistoryShallow(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git(1)")
	}
	r, _, base := historyRepo(t)
	readd("v1.0.0", "a: 2\n")(t, r)
	testutil.Commit(t, r, "change")
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command(gitBin, "clone", "-q", "--depth", "2", "file://"+r.Dir, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	rep, err := Changed(context.Background(), ChangedOptions{Repo: clone, PacksDir: "packs", Since: base, Committed: true})
	testutil.Must(t, err)
	for _, p := range rep.Problems {
		if p.File == "packs/app-1.0.0/pack.json" && p.Severity == meta.SevWarning && strings.Contains(p.Msg, "the clone is shallow") {
			return
		}
	}
	t.Fatalf("no shallow-clone warning: %+v", rep.Problems)
}

// historyRepo commits app 1.0 (2-part) and other, then removes app 1.0
// and adds app 1.1.0: the base, whose history alone holds app@1.0.0.
func historyRepo(t *testing.T) (r *gitfixture.Repo, first, base string) {
	r, err := gitfixture.Init(t.TempDir())
	testutil.Must(t, err)
	testutil.WritePack(t, r, "packs/app-1.0", "app", "1.0", "addon", "a: 1\n")
	testutil.WritePack(t, r, "packs/other", "other", "2.0.0", "addon", "")
	first = testutil.Commit(t, r, "one")
	testutil.Must(t, r.Remove("packs/app-1.0"))
	testutil.WritePack(t, r, "packs/app-1.1.0", "app", "1.1.0", "addon", "a: 1\n")
	return r, first, testutil.Commit(t, r, "two")
}

// readd writes app at version v back, in packs/app-1.0.0 (or, for the
// very content it had, its old directory), with values.
func readd(v, values string) func(*testing.T, *gitfixture.Repo) {
	return func(t *testing.T, r *gitfixture.Repo) {
		dir := "packs/app-1.0.0"
		if v == "1.0" {
			dir = "packs/app-1.0"
		}
		testutil.WritePack(t, r, dir, "app", v, "addon", values)
	}
}

// TestChangedHistorySeveral: a change bringing back two versions, one
// with other content and one as it was, and defining a new one, committed
// and not, gets one error, from one walk of the history.
func TestChangedHistorySeveral(t *testing.T) {
	r, first, _ := historyRepo(t)
	testutil.Must(t, r.Remove("packs/other"))
	testutil.Commit(t, r, "other removed")
	base2 := testutil.Commit(t, r, "empty")
	readd("v1.0.0", "a: 2\n")(t, r)                                          // other content
	testutil.WritePack(t, r, "packs/other-2", "other", "2.0.0", "addon", "") // as it was, elsewhere
	testutil.WritePack(t, r, "packs/new", "new", "0.1.0", "addon", "")
	testutil.Commit(t, r, "change")
	testutil.WritePack(t, r, "packs/new-2", "new", "0.2.0", "addon", "") // uncommitted
	rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: base2})
	testutil.Must(t, err)
	var got []string
	for _, p := range rep.Problems {
		if strings.Contains(p.Msg, "was published from") {
			got = append(got, p.File+": "+p.Msg)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "packs/app-1.0.0/pack.json: app@v1.0.0 was published from packs/app-1.0 (as \"1.0\") at commit "+index.ShortHash(first)) {
		t.Fatalf("got %q", got)
	}

	repo, err := source.Open(r.Dir)
	testutil.Must(t, err)
	h := newPublished(repo, base2, "packs")
	for _, id := range [][2]string{{"app", "v1.0.0"}, {"other", "2.0.0"}, {"new", "0.1.0"}, {"new", "0.2.0"}} {
		h.want(id[0], id[1])
	}
	for _, id := range [][2]string{{"app", "1.0"}, {"other", "2.0"}, {"new", "0.1.0"}, {"new", "0.2"}} {
		rel, err := h.find(context.Background(), id[0], id[1])
		testutil.Must(t, err)
		if (rel != nil) != (id[0] != "new") {
			t.Errorf("%s@%s: %+v", id[0], id[1], rel)
		}
	}
	if h.walks != 1 {
		t.Errorf("%d walks of history, want 1", h.walks)
	}
	if _, err := h.find(context.Background(), "app", "7.0.0"); err != nil || h.walks != 2 {
		t.Errorf("an id not wanted first: %v, %d walks, want 2", err, h.walks)
	}
}
