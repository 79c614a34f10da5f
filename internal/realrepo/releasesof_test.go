package realrepo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/source"
)

// TestReleasesOfSmall: source.ReleasesOf, which `validate
// --changed-since` asks about the base's history, gives what the
// build's walk (source.Releases) gives on the realistic repository
// (merges, sibling and in-place versions, 2-part and v-prefixed
// versions, moved and deleted directories), for every id history held
// at once and for each deleted, moved, 2-part and v-prefixed one alone,
// at HEAD and at an older commit. source's own tests cover the rest
// (twins, nesting, Since, corrupt objects, shallow clones).
func TestReleasesOfSmall(t *testing.T) {
	r := small(t)
	ctx := context.Background()
	show := func(r source.Release) string {
		return fmt.Sprintf("%s@%s dir=%s commit=%s time=%s tree=%s content=%s:%s", r.Name, r.Version, r.Dir, r.Commit, r.Time, r.TreeHash, r.ContentCommit, r.ContentDir)
	}
	for _, ref := range []string{r.Head, r.Commits[len(r.Commits)/2].Hash} {
		o := source.Options{Ref: ref, PacksDir: r.PacksDir, History: true}
		repo, err := source.Open(r.Dir)
		if err != nil {
			t.Fatal(err)
		}
		full, err := repo.Releases(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, rel := range full.Releases {
			if rel.Name != "" {
				want[meta.ReleaseID(rel.Name, rel.Version)] = show(rel)
			}
		}
		all := append(slices.Sorted(func(yield func(string) bool) {
			for id := range want {
				if !yield(id) {
					return
				}
			}
		}), "pack-none@1.0.0")
		sets := [][]string{all}
		if ref == r.Head {
			for _, f := range []Feature{Deleted, Moved, TwoPartVersion, VPrefixVersion} {
				if len(r.Features[f]) == 0 {
					t.Errorf("Small has no %s", f)
				}
				for _, id := range r.Features[f] {
					name, version, _ := strings.Cut(id, "@")
					sets = append(sets, []string{meta.ReleaseID(name, version)})
				}
			}
		}
		for _, ids := range sets {
			got, err := repo.ReleasesOf(ctx, o, ids)
			if err != nil {
				t.Fatalf("%s %v: %v", ref, ids, err)
			}
			for _, id := range ids {
				g, ok := got[id]
				switch w, held := want[id]; {
				case ok != held:
					t.Errorf("%s: %s found %v, Releases %v", ref[:12], id, ok, held)
				case ok && show(g) != w:
					t.Errorf("%s: %s\n got  %s\n want %s", ref[:12], id, show(g), w)
				}
			}
			if len(got) > len(ids) {
				t.Errorf("%s: %d releases for %d ids", ref[:12], len(got), len(ids))
			}
		}
	}
}
