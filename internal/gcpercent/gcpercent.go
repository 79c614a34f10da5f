// Package gcpercent is packgen's one rule for changing the garbage
// collector's percentage in a phase whose allocations it knows (a fetch,
// the catalogue): the user's GOGC or GOMEMLIMIT wins.
package gcpercent

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// Set sets the GC percentage to percent and returns what restores the
// one before, unless the environment sets GOGC or GOMEMLIMIT: then it
// changes nothing and restore does nothing.
func Set(percent int) (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(percent)
	return func() { debug.SetGCPercent(old) }
}

// SetUnderPeak is Set, with the heap also held under what the process
// has mapped so far (a soft memory limit, restored after): the phase may
// trade memory for fewer collections, but never past the peak the
// process already reached, whatever it finds live when it starts.
func SetUnderPeak(percent int) (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	old := debug.SetGCPercent(percent)
	oldLimit := debug.SetMemoryLimit(-1)
	if s[0].Value.Kind() == metrics.KindUint64 {
		if mapped := int64(s[0].Value.Uint64()); mapped > 0 && mapped < oldLimit {
			debug.SetMemoryLimit(mapped)
		}
	}
	return func() {
		debug.SetGCPercent(old)
		debug.SetMemoryLimit(oldLimit)
	}
}
