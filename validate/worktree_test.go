package validate

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
)

// TestChangedWorktreeTwins: `validate --changed-since` reading the work
// tree refuses a name@version two directories define, as the build of
// the commit would (source.Change.Twin on the committed path). A copied
// pack directory, untracked and not bumped, had passed with exit 0.
func TestChangedWorktreeTwins(t *testing.T) {
	const copyDir = "packs/dex-3.18-köpie" // non-ASCII, as users name copies
	for _, tc := range []struct {
		name      string
		committed func(r *gitfixture.Repo) // changes committed after base
		edit      func(r *gitfixture.Repo) // left uncommitted
		want      map[string]string        // pack.json → its twin ("" for no twin problem)
	}{{
		name: "copy untracked",
		edit: func(r *gitfixture.Repo) { testutil.Must(t, r.CopyDir(filepath.Join(r.Dir, "packs/dex-3.18"), copyDir)) },
		want: map[string]string{copyDir: "packs/dex-3.18"},
	}, {
		// 3.18.0 is 3.18 (2-part) to the build.
		name: "bump onto another directory's version",
		edit: func(r *gitfixture.Repo) {
			testutil.Must(t, r.Write("packs/dex-3.19/pack.json", testutil.PackJSON("dex", "3.18.0", "addon", "")))
		},
		want: map[string]string{"packs/dex-3.19": "packs/dex-3.18"},
	}, {
		name: "copy bumped",
		edit: func(r *gitfixture.Repo) {
			testutil.Must(t, r.CopyDir(filepath.Join(r.Dir, "packs/dex-3.18"), copyDir))
			testutil.Must(t, r.Write(copyDir+"/pack.json", testutil.PackJSON("dex", "3.18.1", "addon", "")))
		},
		want: map[string]string{copyDir: ""},
	}, {
		name: "renamed in the work tree",
		edit: func(r *gitfixture.Repo) {
			testutil.Must(t, r.CopyDir(filepath.Join(r.Dir, "packs/dex-3.18"), copyDir))
			testutil.Must(t, r.Remove("packs/dex-3.18"))
		},
		want: map[string]string{copyDir: ""},
	}, {
		// The committed copy's twin is judged as the work tree stands:
		// the original's uncommitted removal ends the duplicate.
		name: "committed copy, original removed uncommitted",
		committed: func(r *gitfixture.Repo) {
			testutil.Must(t, r.CopyDir(filepath.Join(r.Dir, "packs/dex-3.18"), copyDir))
		},
		edit: func(r *gitfixture.Repo) { testutil.Must(t, r.Remove("packs/dex-3.18")) },
		want: map[string]string{copyDir: ""},
	}, {
		name: "committed copy, the original still there",
		committed: func(r *gitfixture.Repo) {
			testutil.Must(t, r.CopyDir(filepath.Join(r.Dir, "packs/dex-3.18"), copyDir))
		},
		edit: func(r *gitfixture.Repo) {
			testutil.Must(t, r.Write("packs/dex-3.19/values.yaml", []byte("pack:\n  namespace: dex\nreplicas: 2\n")))
			testutil.Must(t, r.Write("packs/dex-3.19/pack.json", testutil.PackJSON("dex", "v3.19.1", "addon", "")))
		},
		want: map[string]string{copyDir: "packs/dex-3.18", "packs/dex-3.19": ""},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := gitfixture.Init(t.TempDir())
			testutil.Must(t, err)
			testutil.WritePack(t, r, "packs/dex-3.18", "dex", "3.18", "addon", "")
			testutil.WritePack(t, r, "packs/dex-3.19", "dex", "v3.19.0", "addon", "")
			testutil.WritePack(t, r, "packs/kube-prom", "kube-prom", "1.0.0", "addon", "")
			base := testutil.Commit(t, r, "base")
			if tc.committed != nil {
				tc.committed(r)
				testutil.Commit(t, r, "change")
			}
			tc.edit(r)
			rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: base})
			if err != nil {
				t.Fatal(err)
			}
			for dir, twin := range tc.want {
				var got []meta.Problem
				for _, p := range rep.Problems {
					if p.File == dir+"/pack.json" && strings.Contains(p.Msg, "is also defined by") {
						got = append(got, p)
					}
				}
				switch {
				case twin == "" && len(got) > 0:
					t.Errorf("%s: unexpected twin problem %+v", dir, got)
				case twin != "" && (len(got) != 1 || got[0].Severity != meta.SevError || got[0].Line != 3 ||
					!strings.Contains(got[0].Msg, " is also defined by "+twin+": ")):
					t.Errorf("%s: got %+v, want one error at line 3 naming %s; all: %+v", dir, got, twin, rep.Problems)
				}
			}
			if twins := countTwins(rep.Problems); twins != countWant(tc.want) {
				t.Errorf("%d twin problems, want %d: %+v", twins, countWant(tc.want), rep.Problems)
			}
		})
	}
}

func countTwins(ps []meta.Problem) int {
	n := 0
	for _, p := range ps {
		if strings.Contains(p.Msg, "is also defined by") {
			n++
		}
	}
	return n
}

func countWant(want map[string]string) int {
	n := 0
	for _, twin := range want {
		if twin != "" {
			n++
		}
	}
	return n
}
