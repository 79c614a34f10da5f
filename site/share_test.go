package site

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	gensynth "github.com/packgen/packgen/internal/synth"
)

// TestCatalogueShare measures the catalogue's share of a cold build of
// 5,000 releases (1,000 packs × 5 versions, with history, as the
// benchmark table builds them): at most 15%. It takes a minute, so it
// runs only with PACKGEN_SITE_SHARE=1 (PACKGEN_SITE_SHARE_REPO reuses a
// repository written by `bench/cmd/gen -packs 1000 -versions 5`).
func TestCatalogueShare(t *testing.T) {
	if os.Getenv("PACKGEN_SITE_SHARE") != "1" {
		t.Skip("set PACKGEN_SITE_SHARE=1 to measure the catalogue's share of a 5,000-release build")
	}
	repo := os.Getenv("PACKGEN_SITE_SHARE_REPO")
	if repo == "" {
		repo = filepath.Join(t.TempDir(), "repo")
		if _, err := gensynth.Generate(repo, gensynth.Full(1000, 5, 20<<10, 100, true)); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "site")
	var site time.Duration
	start := time.Now()
	res, err := build.Run(context.Background(), build.Options{
		Repo: repo, PacksDir: "packs", Out: out, History: true, Registry: "bench",
		Site: func(dir string, s *build.Snapshot) error {
			t0 := time.Now()
			defer func() { site = time.Since(t0) }()
			return WriteOptions(dir, s.Root, s.Shards, Options{Previous: out})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	share := site.Seconds() / total.Seconds()
	t.Logf("%d releases: build %v, catalogue %v (%.1f%%)", res.Archived+res.Reused, total.Round(time.Millisecond), site.Round(time.Millisecond), 100*share)
	if share > 0.15 {
		t.Errorf("the catalogue takes %.1f%% of the cold build, more than 15%%", 100*share)
	}
}
