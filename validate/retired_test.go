package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
)

// TestRetirementFile: the PR check judges packs/retired.yaml when the
// change touched it (committed, or in the work tree): its syntax, and
// that each entry names a release of HEAD's history (an in-place bump
// keeps the old version published); validate DIR checks its syntax; a
// pack.json whose only change is system_state is told about the file.
func TestRetirementFile(t *testing.T) {
	r, err := gitfixture.Init(t.TempDir())
	testutil.Must(t, err)
	testutil.WritePack(t, r, "packs/app", "app", "1.0.0", "addon", "")
	testutil.Commit(t, r, "app 1.0.0")
	testutil.WritePack(t, r, "packs/app", "app", "1.1.0", "addon", "")
	base := testutil.Commit(t, r, "app 1.1.0 in place")
	changed := func(committed bool) string {
		t.Helper()
		rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: base, Committed: committed})
		testutil.Must(t, err)
		var s []string
		for _, p := range rep.Problems {
			s = append(s, p.String())
		}
		return strings.Join(s, "\n")
	}
	if got := changed(false); got != "" {
		t.Fatalf("no change: %s", got)
	}
	file := filepath.Join(r.Dir, "packs", "retired.yaml")
	prev := "" // what HEAD's file gives, before the step's commit
	for _, tc := range []struct{ file, want string }{
		{"app:\n  1.0.0: {state: deleted, reason: CVE-1}\n  \"1.1\": {state: deprecated, reason: slow}\n", ""},
		{"app:\n  1.0.0: {state: deleted, reason: CVE-1}\n  1.2.0: {state: deprecated, reason: slow}\n",
			"packs/retired.yaml:3:3: error: app@1.2.0 is not a release in the history of HEAD under the packs directory"},
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
		rep, err := Dirs([]string{filepath.Join(r.Dir, "packs")})
		testutil.Must(t, err)
		syntax := strings.Contains(tc.want, "state")
		if got := len(rep.Problems) > 0; got != syntax {
			t.Errorf("validate DIR %q: %v", tc.file, rep.Problems)
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
