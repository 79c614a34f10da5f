//go:build !linux && !darwin

package source

import (
	"io/fs"
	"time"
)

// statIDs: the system's stat data is not read here; size, mtime and
// mode decide, and the racy guard.
func statIDs(fs.FileInfo) (ino uint64, ctime time.Time, ok bool) { return 0, time.Time{}, false }
