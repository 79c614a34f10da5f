package source

import (
	"io/fs"
	"syscall"
	"time"
)

// statIDs is the inode of a file, for sameInode; no ctime: go-git's
// index writer on BSD and macOS stores the access time where git keeps
// the ctime, so an index go-git wrote would never match.
func statIDs(fi fs.FileInfo) (ino uint64, ctime time.Time, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, time.Time{}, false
	}
	return st.Ino, time.Time{}, true
}
