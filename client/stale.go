package client

import (
	"time"

	"github.com/packgen/packgen/internal/stale"
)

// StaleAfter is how old a partial download (.download-* in the cache) or
// an extraction directory (.packgen-extract-* beside DEST) must be before
// a later run removes it as left by a killed process (kill -9, OOM,
// power loss: nothing ran to clean up). Age alone is not enough: a live
// fetch holds a lock on each of its own (internal/stale), and a held one
// is never removed, however old (a slow download of a large pack).
const StaleAfter = 10 * time.Minute

// sweepStale removes what matches pattern in dir that is older than
// StaleAfter and not held by a live process; this is housekeeping, never
// a reason to fail a fetch.
func sweepStale(dir, pattern string, now time.Time) {
	stale.SweepOlder(dir, pattern, StaleAfter, now)
}
