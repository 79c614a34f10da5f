package source

import (
	"io/fs"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// sameInode compares what git's stat check compares beyond size and
// mtime: an edit that puts the mtime back (touch -r, cp -p, an archive
// restored over the file) still changes the ctime, and a file replaced
// by another changes the inode. Fields the index does not hold (0) are
// not compared; nanoseconds only when the index has them.
func sameInode(fi fs.FileInfo, e *index.Entry) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	if e.Inode != 0 && e.Inode != uint32(st.Ino) {
		return false
	}
	return sameTime(e.CreatedAt, time.Unix(st.Ctim.Unix()))
}
