package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestFetchProcess: one P, and GOGC=400 unless the environment sets GOGC
// or GOMEMLIMIT (then the user's setting stands).
func TestFetchProcess(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(100) })
	for _, tc := range []struct {
		gogc, memlimit string
		want           int
	}{
		{"", "", fetchGOGC},
		{"50", "", 100},
		{"", "1GiB", 100},
	} {
		t.Setenv("GOGC", tc.gogc)
		t.Setenv("GOMEMLIMIT", tc.memlimit)
		debug.SetGCPercent(100)
		fetchProcess()
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("GOGC=%q GOMEMLIMIT=%q: GC percent %d, want %d", tc.gogc, tc.memlimit, got, tc.want)
		}
		if n := runtime.GOMAXPROCS(0); n != 1 {
			t.Errorf("GOMAXPROCS %d after fetchProcess", n)
		}
	}
}
