package client

import (
	"os"
	"path/filepath"
	"time"

	"github.com/packgen/packgen/internal/safefile"
)

// StaleAfter is how old a partial download (.download-* in the cache) or
// an extraction directory (.packgen-extract-* beside DEST) must be before
// a later run removes it as left by a killed process (kill -9, OOM,
// power loss: nothing ran to clean up). Age alone is not enough: a live
// fetch holds a lock on each of its own, and a locked one is never
// removed, however old (a slow download of a large pack).
const StaleAfter = 10 * time.Minute

// sweepStale removes what matches pattern in dir that is older than
// StaleAfter and not locked by a live process. Only regular files and
// directories are considered (what packgen makes); errors are ignored:
// this is housekeeping, never a reason to fail a fetch.
func sweepStale(dir, pattern string, now time.Time) {
	matches, _ := filepath.Glob(filepath.Join(dir, pattern))
	for _, m := range matches {
		info, err := os.Lstat(m)
		if err != nil || now.Sub(info.ModTime()) < StaleAfter || !(info.IsDir() || info.Mode().IsRegular()) {
			continue
		}
		f, err := safefile.OpenAny(m)
		if err != nil {
			continue
		}
		if tryLockFile(f) {
			if info.IsDir() {
				os.RemoveAll(m)
			} else {
				os.Remove(m)
			}
			unlockFile(f)
		}
		f.Close()
	}
}

// holdLock opens path and locks it for as long as the caller keeps the
// returned file open, so sweepStale leaves it alone; nil if it cannot
// (the sweep then relies on age alone).
func holdLock(path string) *os.File {
	f, err := safefile.OpenAny(path)
	if err != nil {
		return nil
	}
	if !tryLockFile(f) {
		f.Close()
		return nil
	}
	return f
}
