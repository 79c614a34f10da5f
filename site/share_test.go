//go:build unix

package site

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	gensynth "github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCatalogueShare measures the catalogue's share of a cold build of
// 5,000 releases (1,000 packs × 5 versions, with history, as the
// benchmark table builds them): at most 15%, of wall time on an idle
// machine; the check is on CPU time, which other load disturbs less (the
// catalogue runs after every release is done, so the process's CPU time
// during it is its own). It takes a minute, so it
// runs only with PACKGEN_SITE_SHARE=1 (PACKGEN_SITE_SHARE_REPO reuses a
// repository written by `bench/cmd/gen -packs 1000 -versions 5`).
func TestCatalogueShare(t *testing.T) {
	if os.Getenv("PACKGEN_SITE_SHARE") != "1" {
		t.Skip("set PACKGEN_SITE_SHARE=1 to measure the catalogue's share of a 5,000-release build")
	}
	repo := os.Getenv("PACKGEN_SITE_SHARE_REPO")
	if repo == "" {
		repo = filepath.Join(t.TempDir(), "repo")
		testutil.SynthRepo(t, repo, gensynth.Full(1000, 5, 20<<10, 100, true))
	}
	out := filepath.Join(t.TempDir(), "site")
	var site, siteCPU time.Duration
	start, startCPU := time.Now(), cpuTime(t)
	res, err := build.Run(context.Background(), build.Options{
		Repo: repo, PacksDir: "packs", Out: out, History: true, Registry: "bench",
		Site: func(dir string, s *build.Snapshot) error {
			t0, c0 := time.Now(), cpuTime(t)
			defer func() { site, siteCPU = time.Since(t0), cpuTime(t)-c0 }()
			return BuildHook(out, out)(dir, s) // as packgen build writes it
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	total, totalCPU := time.Since(start), cpuTime(t)-startCPU
	share := siteCPU.Seconds() / totalCPU.Seconds()
	t.Logf("%d releases: build %v (CPU %v), catalogue %v (CPU %v): %.1f%% of the wall time, %.1f%% of the CPU",
		res.Archived+res.Reused, total.Round(time.Millisecond), totalCPU.Round(time.Millisecond), site.Round(time.Millisecond), siteCPU.Round(time.Millisecond),
		100*site.Seconds()/total.Seconds(), 100*share)
	if share > 0.15 {
		t.Errorf("the catalogue takes %.1f%% of the cold build's CPU, more than 15%%", 100*share)
	}
}
