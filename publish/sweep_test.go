package publish

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestPruneSweepsOnlyOwnTemps: --prune removes what killed publishes
// left only in the directories a publish of the site writes, and only
// files named as packgen names its temporary files; another tool's
// ".tmp-*" files (in .git/, in its own directory, at the top) stay
// (attackR F2: the sweep walked the whole destination).
func TestPruneSweepsOnlyOwnTemps(t *testing.T) {
	_, site := calicoSite(t)
	dst := filepath.Join(t.TempDir(), "www")
	ctx := context.Background()
	if _, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{ // path: a killed publish's, to be removed
		".git/.tmp-objects-pack":       false,
		".git/objects/.tmp-123":        false, // packgen's name, not packgen's directory
		"blog/.tmp-draft.md":           false,
		"blog/.tmp-42":                 false,
		".tmp-notes.txt":               false,
		"index/.tmp-Upper":             false,
		"packs/calico/.tmp-3w5e11264s": true,
		"index/.tmp-123":               true,
		".tmp-9z":                      true,
	}
	old := time.Now().Add(-2 * time.Hour)
	for k := range files {
		p := filepath.Join(dst, filepath.FromSlash(k))
		filetest.WriteFile(t, p, "x\n")
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	for k, ours := range files {
		_, err := os.Stat(filepath.Join(dst, filepath.FromSlash(k)))
		if gone := os.IsNotExist(err); gone != ours || slices.Contains(res.Deleted, k) != ours {
			t.Errorf("%s: removed %v (deleted %v), want %v", k, gone, res.Deleted, ours)
		}
	}
}
