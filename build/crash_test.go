package build

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
)

// crashJob is what the parent asks a packgen build process to build.
type crashJob struct {
	Repo, Out, Key string
	History        bool
	GeneratedAt    time.Time
}

// TestBuildSurvivesSIGKILL kills real build processes (the packgen
// binary: `packgen build`, the very code path users run) with SIGKILL at
// random points, again and again, over one --out dir. After every kill
// the out dir must be a complete, valid, signed registry: the previous
// one, or the new one whole. The binary is built without -race (a build
// under the race detector is ~7x slower, and 14 of them made this the
// slowest test of make test); this process's checks still run with it.
func TestBuildSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	testutil.SynthRepo(t, repo, synth.Spec{Packs: 4, Versions: 2, ChartSize: 4 << 10, Commits: 4, Seed: 3})
	k := testutil.NewKey(t)
	key := filepath.Join(dir, "k.key")
	os.WriteFile(key, k.Priv(t), 0o600)
	verifier := k.Verifier
	out := filepath.Join(dir, "site")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	bin := testutil.Binary(t)
	child := func(j crashJob) *exec.Cmd {
		cmd := exec.Command(bin, "build", "--repo", j.Repo, "--out", j.Out, "--key", j.Key, "--name", "crash",
			fmt.Sprintf("--history=%v", j.History), "--expires", "87600h", "-q")
		// The cache of the test's own, not the user's: the build writes
		// its facts there (verified archives, renders).
		cmd.Env = append(os.Environ(), "PACKGEN_PASSWORD="+testutil.Password, fmt.Sprintf("SOURCE_DATE_EPOCH=%d", j.GeneratedAt.Unix()),
			"XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
		return cmd
	}
	check := func(when string) *index.Root {
		t.Helper()
		rep, err := client.VerifySite(context.Background(), out, verifier)
		if err != nil {
			t.Fatalf("%s: out dir unreadable: %v", when, err)
		}
		if len(rep.Problems) != 0 || rep.Releases == 0 {
			t.Fatalf("%s: out dir corrupt: %d releases, problems %+v", when, rep.Releases, rep.Problems)
		}
		data, _ := os.ReadFile(filepath.Join(out, index.RootFile))
		root, err := index.ParseRoot(data)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		return root
	}

	// The first site: head releases only. Timing it sizes the kill window.
	start := time.Now()
	if o, err := child(crashJob{Repo: repo, Out: out, Key: key, GeneratedAt: base}).CombinedOutput(); err != nil {
		t.Fatalf("first build: %v\n%s", err, o)
	}
	full := time.Since(start)
	check("first build")
	// Time the two kinds of rebuild the loop runs, so kills land all
	// along them, up to the final rename of index.json and beyond.
	for i, history := range []bool{true, false} {
		start := time.Now()
		if o, err := child(crashJob{Repo: repo, Out: out, Key: key, History: history, GeneratedAt: base.Add(time.Duration(i+1) * time.Minute)}).CombinedOutput(); err != nil {
			t.Fatalf("rebuild: %v\n%s", err, o)
		}
		full = max(full, time.Since(start))
		check("rebuild")
	}

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("full build %v; kill seed %d", full.Round(time.Millisecond), seed)
	killed, finished := 0, 0
	// 10 trials in make test; `make killtest` runs 80 (PACKGEN_KILL_TRIALS).
	trials := envInt("PACKGEN_KILL_TRIALS", 10)
	for i := 1; i <= trials; i++ {
		// Every build differs from the last (history on/off, a new
		// generatedAt) so a finished one swaps in a new site.
		j := crashJob{Repo: repo, Out: out, Key: key, History: i%2 == 1, GeneratedAt: base.Add(time.Duration(i) * time.Hour)}
		cmd := child(j)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		after := time.Duration(rng.Int63n(int64(full) * 13 / 10))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("iteration %d: build failed on its own: %v", i, err)
			}
			finished++
		case <-time.After(after):
			cmd.Process.Signal(syscall.SIGKILL)
			if err := <-done; err == nil {
				finished++ // it finished just before the signal
			} else {
				killed++
			}
		}
		root := check(fmt.Sprintf("iteration %d (killed after %v)", i, after.Round(time.Millisecond)))
		if !root.GeneratedAt.Equal(base) && (root.GeneratedAt.Before(base) || root.GeneratedAt.After(j.GeneratedAt)) {
			t.Fatalf("iteration %d: index from an unknown build (%v)", i, root.GeneratedAt)
		}
	}
	t.Logf("%d builds killed, %d finished", killed, finished)
	// After all that, a build runs to completion over the debris.
	if o, err := child(crashJob{Repo: repo, Out: out, Key: key, History: true, GeneratedAt: base.Add(100 * time.Hour)}).CombinedOutput(); err != nil {
		t.Fatalf("build after the crashes: %v\n%s", err, o)
	}
	if root := check("final build"); !root.GeneratedAt.Equal(base.Add(100 * time.Hour)) {
		t.Fatalf("final build not in place: %v", root.GeneratedAt)
	}
	// and it cleared the debris: no stage of a killed build is left
	// beside the out dir, and no release file the index does not
	// reference is left in it (publish would upload it).
	if left, _ := filepath.Glob(filepath.Join(dir, ".packgen-build-*")); len(left) > 0 {
		t.Errorf("leftovers of killed builds: %v", left)
	}
	prev, err := loadPrevious(context.Background(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	referenced := map[string]bool{}
	for _, p := range prev.all() {
		for _, f := range []string{p.rel.Archive.Path, p.rel.Signature, p.rel.Bundle} {
			referenced[f] = true
		}
	}
	filepath.WalkDir(filepath.Join(out, "packs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		if strings.Contains(rel, ".tar.gz") && !referenced[rel] {
			t.Errorf("unreferenced release file left in the out dir: %s", rel)
		}
		return nil
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBinary() // what TestBuildSurvivesSIGKILL built
	os.Exit(code)
}
