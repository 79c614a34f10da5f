package synth

import (
	"archive/tar"
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/internal/testutil/tartest"
)

func TestFullSpec(t *testing.T) {
	for _, tc := range []struct {
		packs, versions, per, commits int
	}{
		{10, 5, 100, 1}, // 40 bumps in one commit
		{10, 5, 7, 6},   // 40 bumps, 7 a commit
		{10, 1, 100, 0}, // nothing to bump
		{1000, 5, 100, 40},
	} {
		s := Full(tc.packs, tc.versions, 1, tc.per, true)
		if s.Commits != tc.commits {
			t.Errorf("Full(%d, %d, per %d): %d commits, want %d", tc.packs, tc.versions, tc.per, s.Commits, tc.commits)
		}
	}
}

// TestGenerate checks the repository is real git with the promised
// commits, layout and files, that ChartFor and WriteCharts reproduce the
// committed charts byte for byte, and that Bump adds one commit.
func TestGenerate(t *testing.T) {
	for _, inPlace := range []bool{true, false} {
		t.Run(map[bool]string{true: "in-place", false: "siblings"}[inPlace], func(t *testing.T) {
			dir := t.TempDir()
			spec := Full(5, 3, 20<<10, 4, inPlace)
			spec.Packed = inPlace // both storage layouts
			res, err := Generate(filepath.Join(dir, "repo"), spec)
			if err != nil {
				t.Fatal(err)
			}
			packs, _ := filepath.Glob(filepath.Join(dir, "repo", "objects", "pack", "*.pack"))
			loose, _ := filepath.Glob(filepath.Join(dir, "repo", "objects", "[0-9a-f][0-9a-f]"))
			if spec.Packed && (len(packs) != 1 || len(loose) != 0) || !spec.Packed && (len(packs) != 0 || len(loose) == 0) {
				t.Fatalf("packed %v: %d packfiles, %d loose object dirs", spec.Packed, len(packs), len(loose))
			}
			if res.Releases != 15 || res.Commits != 1+3 || len(res.Versions) != 5 {
				t.Fatalf("releases %d, commits %d, versions %v", res.Releases, res.Commits, res.Versions)
			}
			for i, v := range res.Versions {
				if v != 3 {
					t.Fatalf("pack %d has %d versions", i, v)
				}
			}
			repo, err := git.PlainOpen(filepath.Join(dir, "repo"))
			if err != nil {
				t.Fatal(err)
			}
			ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
			if err != nil || ref.Hash().String() != res.Head {
				t.Fatalf("main = %v (%v), want %s", ref, err, res.Head)
			}
			commits := 0
			for c, _ := repo.CommitObject(ref.Hash()); c != nil; {
				commits++
				if c.NumParents() == 0 {
					break
				}
				c, _ = c.Parent(0)
			}
			if commits != res.Commits {
				t.Fatalf("history has %d commits, want %d", commits, res.Commits)
			}
			head, _ := repo.CommitObject(ref.Hash())
			tree, _ := head.Tree()
			dirs := map[string]bool{}
			tree.Files().ForEach(func(f *object.File) error {
				dirs[filepath.Dir(filepath.Dir(f.Name))] = true
				return nil
			})
			wantDirs := 5
			last := "pack-0002"
			if !inPlace {
				wantDirs = 15
				last = "pack-0002-1.2.0"
			}
			packsTree, _ := tree.Tree("packs")
			if len(packsTree.Entries) != wantDirs {
				t.Fatalf("%d pack dirs at head, want %d", len(packsTree.Entries), wantDirs)
			}
			for file, minSize := range map[string]int{"values.yaml": 2000, "pack.json": 100, "manifests/a.yaml": 50, "charts/pack-0002-1.2.0.tgz": 19 << 10} {
				f, err := tree.File("packs/" + last + "/" + file)
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				if f.Size < int64(minSize) {
					t.Errorf("%s is %d bytes, want at least %d", file, f.Size, minSize)
				}
			}
			f, _ := tree.File("packs/" + last + "/charts/pack-0002-1.2.0.tgz")
			committed, _ := f.Contents()
			chart, err := ChartFor(spec, 2, 2)
			if err != nil || !bytes.Equal(chart, []byte(committed)) {
				t.Fatalf("ChartFor differs from the committed chart (%v)", err)
			}
			if meta := chartYAML(t, chart); !strings.HasPrefix(meta, "apiVersion: v2\nname: pack-0002\ndescription: ") || !strings.Contains(meta, "\nversion: 1.2.0\n") {
				t.Fatalf("Chart.yaml = %q", meta)
			}

			n, err := WriteCharts(filepath.Join(dir, "charts"), spec, res)
			if err != nil || n != 15 {
				t.Fatalf("WriteCharts: %d, %v", n, err)
			}
			written, err := os.ReadFile(filepath.Join(dir, "charts", "pack-0002-1.2.0.tgz"))
			if err != nil || !bytes.Equal(written, chart) {
				t.Fatalf("written chart differs (%v)", err)
			}

			h, err := Bump(filepath.Join(dir, "repo"), spec, 1, 3)
			if err != nil {
				t.Fatal(err)
			}
			c, err := repo.CommitObject(plumbing.NewHash(h))
			if err != nil || c.NumParents() != 1 || c.ParentHashes[0].String() != res.Head {
				t.Fatalf("bump commit %v: %v", c, err)
			}
			bt, _ := c.Tree()
			bumped := "packs/pack-0001/pack.json"
			if !inPlace {
				bumped = "packs/pack-0001-1.3.0/pack.json"
			}
			pj, err := bt.File(bumped)
			if err != nil {
				t.Fatal(err)
			}
			if s, _ := pj.Contents(); !bytes.Contains([]byte(s), []byte(`"version": "1.3.0"`)) {
				t.Fatalf("bumped pack.json: %s", s)
			}
		})
	}
}

func chartYAML(t *testing.T, chart []byte) string {
	t.Helper()
	var found []byte
	tartest.Each(t, chart, func(h *tar.Header, body []byte) {
		if h.Name == "pack-0002/Chart.yaml" && found == nil {
			found = body
		}
	})
	if found == nil {
		t.Fatal("no Chart.yaml")
	}
	return string(found)
}

// TestChart checks that a generated chart is the size asked for and
// shaped like a packaged real chart: text that a loader has to inflate
// and parse, not a blob.
func TestChart(t *testing.T) {
	for _, tc := range []struct {
		size            int
		minText, maxBin int // bytes of text files unpacked; bytes of binary payload
	}{
		{size: 8 << 10, minText: 20 << 10},
		{size: 20 << 10, minText: 70 << 10},
		{size: 2 << 20, minText: 1 << 20, maxBin: 2 << 20},
	} {
		a, err := Chart("pack-0001", "1.2.0", tc.size, rand.New(rand.NewSource(1)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Chart("pack-0001", "1.2.0", tc.size, rand.New(rand.NewSource(1)))
		if !bytes.Equal(a, b) {
			t.Fatalf("size %d: the same seed made two different charts", tc.size)
		}
		if d := len(a) - tc.size; d < -tc.size/10 || d > tc.size/10 {
			t.Errorf("size %d: chart is %d bytes, want within 10%%", tc.size, len(a))
		}
		text, bin := 0, 0
		files := map[string]bool{}
		tartest.Each(t, a, func(h *tar.Header, _ []byte) {
			files[h.Name] = true
			if strings.HasSuffix(h.Name, ".bin") {
				bin += int(h.Size)
			} else {
				text += int(h.Size)
			}
		})
		for _, want := range []string{"Chart.yaml", "values.yaml", "templates/deployment.yaml", "templates/_helpers.tpl", "crds/pack-0001.yaml"} {
			if !files["pack-0001/"+want] {
				t.Errorf("size %d: no %s in %v", tc.size, want, files)
			}
		}
		if text < tc.minText || bin > tc.maxBin {
			t.Errorf("size %d: %d bytes of text (want ≥ %d), %d of binary (want ≤ %d)", tc.size, text, tc.minText, bin, tc.maxBin)
		}
	}
}
