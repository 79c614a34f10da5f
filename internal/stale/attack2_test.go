package stale

import (
	"os"
	"path/filepath"
	"testing"
)

const pattern = ".packgen-build-*"

// TestHoldAfterMkdirRaces is the race the build had: its stage made by
// os.MkdirTemp and held only afterwards. A concurrent run's Sweep in
// between (two builds whose out dirs share a parent) removes the fresh
// stage of a live build.
func TestHoldAfterMkdirRaces(t *testing.T) {
	parent := t.TempDir()
	stage, err := os.MkdirTemp(parent, pattern)
	must(t, err)
	Sweep(parent, pattern) // the other build, at the wrong moment
	if _, err := os.Stat(stage); !os.IsNotExist(err) {
		t.Skip("the window did not open: nothing to show")
	}
	t.Logf("removed %s before its owner could hold it: hence MkdirTemp", stage)
}

// TestMkdirTempNeverUnheld: at every point a Sweep can run (between the
// lock and the directory, and after), the new directory and its lock
// survive it.
func TestMkdirTempNeverUnheld(t *testing.T) {
	parent := t.TempDir()
	swept := 0
	beforeMkdir = func(dir string) {
		swept += len(Sweep(parent, pattern))
		if _, err := os.Stat(dir + LockSuffix); err != nil {
			t.Errorf("a sweep before the directory exists removed its lock: %v", err)
		}
	}
	defer func() { beforeMkdir = func(string) {} }()
	dir, release, err := MkdirTemp(parent, pattern)
	must(t, err)
	if swept += len(Sweep(parent, pattern)); swept != 0 {
		t.Errorf("sweeps removed %d entries of a live MkdirTemp", swept)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("MkdirTemp's directory after a sweep: %v", err)
	}
	if m, _ := filepath.Match(pattern, filepath.Base(dir)); !m {
		t.Errorf("%s does not match %s", dir, pattern)
	}
	release()
	// Released and left (a killed build's stage): the next sweep removes it.
	if got := Sweep(parent, pattern); len(got) != 1 || got[0] != dir {
		t.Errorf("sweep after release: %v, want [%s]", got, dir)
	}
	if _, err := os.Stat(dir + LockSuffix); !os.IsNotExist(err) {
		t.Errorf("lock file left: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
