package source

import (
	"io/fs"
	"syscall"
	"time"
)

// statIDs is the inode and ctime of a file, for sameInode.
func statIDs(fi fs.FileInfo) (ino uint64, ctime time.Time, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, time.Time{}, false
	}
	return st.Ino, time.Unix(st.Ctim.Unix()), true
}
