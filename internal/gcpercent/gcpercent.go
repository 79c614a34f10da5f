// Package gcpercent is packgen's one rule for changing the garbage
// collector's percentage in a phase whose allocations it knows (a fetch,
// the catalogue): the user's GOGC or GOMEMLIMIT wins.
package gcpercent

import (
	"os"
	"runtime/debug"
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
