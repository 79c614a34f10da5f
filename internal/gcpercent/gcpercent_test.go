package gcpercent

import (
	"runtime/debug"
	"testing"
)

// TestSet: the percentage is set and restored after, and GOGC or
// GOMEMLIMIT in the environment leave the user's setting alone.
func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name, env, value string
		want             int
	}{
		{"default", "", "", 300},
		{"GOGC set", "GOGC", "150", 77},
		{"GOMEMLIMIT set", "GOMEMLIMIT", "1GiB", 77},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(tc.env, tc.value)
			}
			before := debug.SetGCPercent(77)
			defer debug.SetGCPercent(before)
			restore := Set(300)
			if got := debug.SetGCPercent(-1); got != tc.want {
				t.Errorf("GC percent after Set(300): %d, want %d", got, tc.want)
			}
			debug.SetGCPercent(tc.want)
			restore()
			if got := debug.SetGCPercent(77); got != 77 {
				t.Errorf("GC percent after restore: %d, want 77 restored", got)
			}
		})
	}
}

// TestSetUnderPeak: the percentage and a memory limit at what the
// process has mapped are set and both restored after; GOGC or
// GOMEMLIMIT in the environment leave the user's settings alone.
func TestSetUnderPeak(t *testing.T) {
	for _, tc := range []struct {
		name, env, value string
		want             int
		limited          bool
	}{
		{"default", "", "", 300, true},
		{"GOGC set", "GOGC", "150", 77, false},
		{"GOMEMLIMIT set", "GOMEMLIMIT", "1GiB", 77, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(tc.env, tc.value)
			}
			before := debug.SetGCPercent(77)
			defer debug.SetGCPercent(before)
			limitBefore := debug.SetMemoryLimit(-1)
			restore := SetUnderPeak(300)
			limit := debug.SetMemoryLimit(-1)
			if got := debug.SetGCPercent(-1); got != tc.want {
				t.Errorf("GC percent after SetUnderPeak(300): %d, want %d", got, tc.want)
			}
			debug.SetGCPercent(tc.want)
			if got := limit < limitBefore && limit > 0; got != tc.limited {
				t.Errorf("memory limit %d (before %d): limited %v, want %v", limit, limitBefore, got, tc.limited)
			}
			restore()
			if got := debug.SetGCPercent(77); got != 77 {
				t.Errorf("GC percent after restore: %d, want 77 restored", got)
			}
			if got := debug.SetMemoryLimit(-1); got != limitBefore {
				t.Errorf("memory limit after restore: %d, want %d", got, limitBefore)
			}
		})
	}
}
