package build

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// TestSynthRepoBuilds checks the synthetic generator makes a repository
// that builds cleanly, with every version in history published.
func TestSynthRepoBuilds(t *testing.T) {
	dir := t.TempDir()
	spec := synth.Spec{Packs: 6, Versions: 3, ChartSize: 8 << 10, Commits: 20, Seed: 1}
	gen := testutil.SynthRepo(t, filepath.Join(dir, "repo"), spec)
	res, err := Run(context.Background(), Options{Repo: filepath.Join(dir, "repo"), Out: filepath.Join(dir, "site"), History: true, Registry: "synth"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Root.Releases != gen.Releases || res.Root.Packs != 6 || gen.Releases != 18 {
		t.Fatalf("built %d releases of %d packs, generated %d", res.Root.Releases, res.Root.Packs, gen.Releases)
	}
}

// BenchmarkBuildScale measures a cold build, a no-change rebuild and a
// rebuild after one new release on a large synthetic repository. Size it
// with SCALE_PACKS, SCALE_VERSIONS, SCALE_CHART (bytes), SCALE_COMMITS.
func BenchmarkBuildScale(b *testing.B) {
	spec := synth.Spec{
		Packs:     envInt("SCALE_PACKS", 200),
		Versions:  envInt("SCALE_VERSIONS", 2),
		ChartSize: envInt("SCALE_CHART", 2<<20),
		Commits:   envInt("SCALE_COMMITS", 300),
		Seed:      7,
	}
	dir := b.TempDir()
	repo := filepath.Join(dir, "repo")
	gen := testutil.SynthRepo(b, repo, spec)
	b.Logf("repository: %d packs, %d releases, %d commits, %d-byte charts", spec.Packs, gen.Releases, gen.Commits, spec.ChartSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, "site"+strconv.Itoa(i))
		res, err := Run(context.Background(), Options{Repo: repo, Out: out, History: true, Registry: "scale"})
		if err != nil {
			b.Fatal(err)
		}
		if res.Archived != gen.Releases {
			b.Fatalf("archived %d of %d", res.Archived, gen.Releases)
		}
	}
}

// BenchmarkRebuild measures the rebuilds that follow a cold build into
// the same out dir (updated in place): with no change, and after a
// commit that bumps one pack. Size it with SCALE_PACKS (default 300,
// five versions each, 20 KB charts, a packed repository).
func BenchmarkRebuild(b *testing.B) {
	spec := synth.Full(envInt("SCALE_PACKS", 300), 5, 20<<10, 100, true)
	dir := b.TempDir()
	repo := filepath.Join(dir, "repo")
	testutil.SynthRepo(b, repo, spec)
	out := filepath.Join(dir, "site")
	// VerifiedDir as packgen build sets it (the user's cache): reused
	// archives are checked by digest, not compared with git again.
	o := Options{Repo: repo, Out: out, History: true, Registry: "scale", VerifiedDir: filepath.Join(dir, "cache")}
	if _, err := Run(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	b.Run("no-change", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := Run(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			if res.Archived != 0 {
				b.Fatalf("archived %d", res.Archived)
			}
		}
	})
	bumps := 0 // across the sub-benchmark's rounds: every bump is new
	b.Run("one-pack-changed", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			bumps++
			if _, err := synth.Bump(repo, spec, bumps%spec.Packs, spec.Versions+bumps); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			res, err := Run(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			if res.Archived != 1 {
				b.Fatalf("archived %d", res.Archived)
			}
		}
	})
}
