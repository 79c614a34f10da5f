package validate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
)

// TestChangedPacksDir: a --packs-dir that names no directory is a usage
// error, never "nothing changed": a typo validated no pack and passed.
// Spellings of the real directory find the changed pack.
func TestChangedPacksDir(t *testing.T) {
	for _, tc := range []struct {
		name      string
		packsDir  string
		committed bool
		change    func(r *gitfixture.Repo) // after base; committed unless the case says not
		wantErr   string                   // "" for a report with the changed pack
	}{
		{name: "typo", packsDir: "pakcs", wantErr: "--packs-dir pakcs: no such directory in the repository at HEAD or "},
		{name: "typo committed", packsDir: "pakcs", committed: true, wantErr: "--packs-dir pakcs: no such directory"},
		{name: "dot-slash and trailing slash", packsDir: "./packs/"},
		{name: "nested spelling", packsDir: "packs/../packs"},
		// It exists, but holds no pack: the wrong directory passed too.
		{name: "a directory without packs", packsDir: "docs", committed: true, wantErr: "no pack found under docs at HEAD or "},
		{name: "a file at HEAD", packsDir: "README", committed: true, wantErr: "--packs-dir README: a file at HEAD, not a directory"},
		{name: "a file in the work tree", packsDir: "packs",
			change: func(r *gitfixture.Repo) {
				testutil.Must(t, os.RemoveAll(filepath.Join(r.Dir, "packs")))
				testutil.Must(t, r.Write("packs", []byte("oops\n")))
			},
			wantErr: "--packs-dir packs: a file in the work tree, not a directory"},
		{name: "a link in the work tree", packsDir: "packs",
			change: func(r *gitfixture.Repo) {
				testutil.Must(t, os.Rename(filepath.Join(r.Dir, "packs"), filepath.Join(r.Dir, "elsewhere")))
				testutil.Must(t, os.Symlink("elsewhere", filepath.Join(r.Dir, "packs")))
			},
			wantErr: "--packs-dir packs: a symbolic link in the work tree, not a directory"},
		{name: "new directory, uncommitted", packsDir: "more",
			change: func(r *gitfixture.Repo) {
				testutil.WritePack(t, r, "more/dex-3.20", "dex", "3.20.0", "addon", "")
			}},
		{name: "removed by the change", packsDir: "packs", committed: true,
			change: func(r *gitfixture.Repo) { testutil.Must(t, r.Remove("packs")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := gitfixture.Init(t.TempDir())
			testutil.Must(t, err)
			testutil.Must(t, r.Write("README", []byte("packs live in packs/\n")))
			testutil.Must(t, r.Write("docs/ünïcode.md", []byte("# docs\n")))
			testutil.WritePack(t, r, "packs/dex-3.18", "dex", "3.18", "addon", "")
			base := testutil.Commit(t, r, "base")
			if tc.change != nil {
				tc.change(r)
			} else {
				testutil.WritePack(t, r, "packs/dex-3.19", "dex", "3.19.0", "addon", "")
			}
			if tc.committed {
				testutil.Commit(t, r, "change")
			}
			rep, err := Changed(context.Background(), ChangedOptions{Repo: r.Dir, PacksDir: tc.packsDir, Since: base, Committed: tc.committed})
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInput saying %q", err, tc.wantErr)
				}
				return
			}
			testutil.Must(t, err)
			if tc.name == "removed by the change" {
				if len(rep.Packs) != 0 || len(rep.Problems) != 0 {
					t.Fatalf("removal: got packs %+v problems %+v, want none", rep.Packs, rep.Problems)
				}
				return
			}
			if len(rep.Packs) != 1 || len(rep.Problems) != 0 {
				t.Fatalf("got packs %+v problems %#v, want the one changed pack", rep.Packs, rep.Problems)
			}
		})
	}
}
