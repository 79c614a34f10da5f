//go:build unix

package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestChangedWorkTreeAsGitStages: an uncommitted pack is judged as
// `git add` would stage it. A review found the work-tree check read the
// directory its own way: a mode change passed (and failed once
// committed), a FIFO hung it, every file was read whole, ignored ones
// too.
func TestChangedWorkTreeAsGitStages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(t *testing.T, dir string)
		bumped  bool   // the error "changed but its version did not" expected
		missing string // a file the pack lists that the commit will not hold
	}{
		{name: "made executable", bumped: true, edit: func(t *testing.T, dir string) {
			testutil.Must(t, os.Chmod(filepath.Join(dir, "packs/app/values.yaml"), 0o755))
		}},
		{name: "an ignored file added", edit: func(t *testing.T, dir string) {
			testutil.Must(t, os.WriteFile(filepath.Join(dir, "packs/app/values.yaml.bak"), []byte("b"), 0o644))
		}},
		{name: "an ignored file the manifest lists", missing: "generated/app.yaml", edit: func(t *testing.T, dir string) {
			testutil.Must(t, os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.bak\ngenerated/\n"), 0o644))
			testutil.Must(t, os.MkdirAll(filepath.Join(dir, "packs/new/generated"), 0o755))
			testutil.Must(t, os.WriteFile(filepath.Join(dir, "packs/new/generated/app.yaml"), []byte("kind: ConfigMap\n"), 0o644))
			testutil.Must(t, os.WriteFile(filepath.Join(dir, "packs/new/pack.json"), testutil.PackJSON("new", "1.0.0", "addon", `, "kubeManifests": ["generated/app.yaml"]`), 0o644))
			testutil.Must(t, os.WriteFile(filepath.Join(dir, "packs/new/values.yaml"), []byte("pack:\n  namespace: new\n"), 0o644))
		}},
		{name: "a FIFO beside an edit", bumped: true, edit: func(t *testing.T, dir string) {
			filetest.FIFO(t, filepath.Join(dir, "packs/app/pipe"))
			testutil.Must(t, os.WriteFile(filepath.Join(dir, "packs/app/values.yaml"), []byte("pack:\n  namespace: app\nb: 2\n"), 0o644))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := gitfixture.Init(t.TempDir())
			testutil.Must(t, err)
			testutil.WritePack(t, r, "packs/app", "app", "1.0.0", "addon", "")
			testutil.Must(t, r.Write(".gitignore", []byte("*.bak\n")))
			base := testutil.Commit(t, r, "base")
			tc.edit(t, r.Dir)
			var rep *Report
			testutil.Must(t, filetest.Within(t, 20*time.Second, "validate --changed-since blocked", func() (err error) {
				rep, err = Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: "packs", Since: base})
				return err
			}))
			found := false
			for _, p := range rep.Problems {
				found = found || strings.Contains(p.Msg, "changed but its version did not")
			}
			if found != tc.bumped {
				t.Errorf("version-bump error %v, want %v: %+v", found, tc.bumped, rep.Problems)
			}
			if tc.missing != "" {
				missing := false
				for _, p := range rep.Problems {
					missing = missing || (strings.Contains(p.Msg, tc.missing) && strings.Contains(p.Msg, "does not exist"))
				}
				if !missing {
					t.Errorf("no error for %s, which .gitignore leaves out of the commit: %+v", tc.missing, rep.Problems)
				}
			}
		})
	}
}
