package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/source"
)

// TestRetirementFile: the PR check judges packs/retired.yaml when the
// change touched it (committed, or in the work tree): its syntax, and
// that each entry names a release of HEAD's history (an in-place bump
// keeps the old version published); validate DIR checks it the same way
// (the build's check and words); a pack.json whose only change is
// system_state is told about the file.
func TestRetirementFile(t *testing.T) {
	r, base := appInPlace(t, "1.1.0", "")
	changed := func(committed bool) string {
		t.Helper()
		rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: base, Committed: committed})
		testutil.Must(t, err)
		return problemsText(rep.Problems)
	}
	if got := changed(false); got != "" {
		t.Fatalf("no change: %s", got)
	}
	file := filepath.Join(r.Dir, "packs", "retired.yaml")
	prev := "" // what HEAD's file gives, before the step's commit
	for _, tc := range []struct{ file, want string }{
		{"app:\n  1.0.0: {state: deleted, reason: CVE-1}\n  \"1.1\": {state: deprecated, reason: slow}\n", ""},
		{"app:\n  1.0.0: {state: deleted, reason: CVE-1}\n  1.2.0: {state: deprecated, reason: slow}\n",
			"packs/retired.yaml:3:3: error: app@1.2.0 is not a release of this registry"},
		{"app:\n  1.0.0: {state: gone, reason: x}\n", `packs/retired.yaml:2:18: error: state "gone": want deprecated`},
	} {
		testutil.Must(t, os.WriteFile(file, []byte(tc.file), 0o644))
		if got := changed(false); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("work tree %q: %q, want %q", tc.file, got, tc.want)
		}
		if got := changed(true); (prev == "") != (got == "") || !strings.Contains(got, prev) {
			t.Errorf("committed only, the file uncommitted: %q, want HEAD's %q", got, prev)
		}
		prev = tc.want
		testutil.Commit(t, r, "retire")
		if got := changed(true); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("committed %q: %q, want %q", tc.file, got, tc.want)
		}
		// validate DIR checks the entries too, against the releases of
		// the directory and of its history (app@1.0.0 was bumped in
		// place), with the build's check and words.
		rep, err := Dirs([]string{filepath.Join(r.Dir, "packs")})
		testutil.Must(t, err)
		if got := problemsText(rep.Problems); (tc.want == "") != (got == "") || !strings.Contains(got, strings.TrimPrefix(tc.want, "packs/")) {
			t.Errorf("validate DIR %q: %q, want %q", tc.file, got, tc.want)
		}
	}

	// Handing a release back (attackS F2): un-retiring it, or making a
	// deleted one deprecated, passes every other check; it is a warning
	// naming the release and the reason it was retired for.
	testutil.Must(t, os.WriteFile(file, []byte("app:\n  1.0.0: {state: deleted, reason: CVE-1}\n  \"1.1\": {state: deprecated, reason: slow}\n"), 0o644))
	base = testutil.Commit(t, r, "retire again")
	for _, tc := range []struct {
		file string // "" removes it
		want []string
	}{
		{"", []string{"packs/retired.yaml: warning: this change un-retires app@1.0.0, deleted since base for: CVE-1; clients use it again",
			"packs/retired.yaml: warning: this change un-retires app@1.1, deprecated since base for: slow"}},
		{"app:\n  1.0.0: {state: deprecated, reason: fixed upstream}\n", []string{
			"packs/retired.yaml:2:3: warning: this change makes app@1.0.0 deprecated, deleted since base for: CVE-1; ranges resolve to it again",
			"un-retires app@1.1, deprecated since base for: slow"}},
		{"app:\n  1.0.0: {state: deleted, reason: \"CVE-1, see 1.1.0\"}\n  \"1.1.0\": {state: deleted, reason: slow}\n", nil},
	} {
		if tc.file == "" {
			testutil.Must(t, os.Remove(file))
		} else {
			testutil.Must(t, os.WriteFile(file, []byte(tc.file), 0o644))
		}
		got := changed(false)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: no %q in\n%s", tc.file, w, got)
			}
		}
		if strings.Count(got, "\n")+1 != len(tc.want) && (got != "" || len(tc.want) != 0) {
			t.Errorf("%q: want %d problems, got\n%s", tc.file, len(tc.want), got)
		}
	}

	// system_state edited in the published 1.1.0's pack.json, uncommitted.
	testutil.Must(t, os.WriteFile(filepath.Join(r.Dir, "packs/app/pack.json"), testutil.PackJSON("app", "1.1.0", "addon", `, "annotations": {"system_state": "deprecated"}`), 0o644))
	if got := changed(false); !strings.Contains(got, "the annotations.system_state of app@1.1.0 changed (uncommitted; ") ||
		!strings.Contains(got, "add it to packs/retired.yaml (app: {1.1.0: {state: deprecated, reason: why}}") {
		t.Errorf("system_state in pack.json: %s", got)
	}
}

// problemsText is the problems as validate prints them, one a line.
func problemsText(ps meta.Problems) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, "\n")
}

// TestDirsRetiredOutsideGit: plain validate checks the retirement
// file's entries against the releases of the git history only inside a
// work tree: a copy outside git (no history) is checked for syntax. In
// git it also gives the build's warning (no --previous) of a version of
// the directory the history holds with two contents, on its pack.json;
// bumping the version on disk clears it, so --strict is not failed for
// ever. Outside git, no warning.
func TestDirsRetiredOutsideGit(t *testing.T) {
	r, _ := appInPlace(t, "1.0.0", "replicas: 2\n")
	testutil.Must(t, r.Write("packs/retired.yaml", []byte("app:\n  0.9.0: {state: deleted, reason: CVE-1}\n")))
	testutil.Commit(t, r, "edit without a bump, retire a release never made")
	packs := filepath.Join(r.Dir, "packs")
	rep, err := Dirs([]string{packs})
	testutil.Must(t, err)
	if got := problemsText(rep.Problems); rep.Errors != 1 || rep.Warnings != 1 || !strings.Contains(got, "retired.yaml:2:3: error: app@0.9.0 is not a release of this registry") ||
		!strings.Contains(got, filepath.ToSlash(packs)+"/app/pack.json: warning: app@1.0.0 was edited without a version bump: commit ") {
		t.Errorf("in git: %d errors, %d warnings, want 1 and 1:\n%s", rep.Errors, rep.Warnings, got)
	}
	// The edit warning's walk of history, which reads every release,
	// answers the entries the directory does not hold (app@1.0.0 once
	// 1.0.1 is on disk) too: no second walk (hist.walks counts those).
	repo, err := source.Open(r.Dir)
	testutil.Must(t, err)
	hist := newPublished(repo, "HEAD", "packs")
	l, _ := retire.Parse("packs/retired.yaml", []byte("app:\n  0.9.0: {state: deleted, reason: CVE-1}\n  1.0.0: {state: deleted, reason: CVE-2}\n"))
	ps, err := dirChecks(context.Background(), hist, map[string]string{"app@1.0.1": "packs/app"}, l)
	testutil.Must(t, err)
	if got := problemsText(ps); len(ps) != 1 || hist.walks != 0 || !strings.Contains(got, "app@0.9.0 is not a release") {
		t.Errorf("one walk: %d walks after the edit check's, want 0; problems (want app@0.9.0's alone):\n%s", hist.walks, got)
	}
	copyDir := filepath.Join(t.TempDir(), "packs")
	testutil.Must(t, os.CopyFS(copyDir, os.DirFS(packs)))
	testutil.WritePack(t, r, "packs/app", "app", "1.0.1", "addon", "replicas: 2\n")
	rep, err = Dirs([]string{packs})
	testutil.Must(t, err)
	if rep.Warnings != 0 {
		t.Errorf("bumped on disk: %s", problemsText(rep.Problems))
	}
	rep, err = Dirs([]string{copyDir})
	testutil.Must(t, err)
	if len(rep.Problems) != 0 {
		t.Errorf("outside git: %s", problemsText(rep.Problems))
	}
}

// appInPlace commits app 1.0.0 in packs/app, then app at version with
// values in the same directory; it returns the repository and the
// second commit.
func appInPlace(t *testing.T, version, values string) (*gitfixture.Repo, string) {
	t.Helper()
	r, err := gitfixture.Init(t.TempDir())
	testutil.Must(t, err)
	testutil.WritePack(t, r, "packs/app", "app", "1.0.0", "addon", "")
	testutil.Commit(t, r, "app 1.0.0")
	testutil.WritePack(t, r, "packs/app", "app", version, "addon", values)
	return r, testutil.Commit(t, r, "app "+version+" in place")
}
