package source

import (
	"io/fs"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// sameInode: see worktree_stat_linux.go.
func sameInode(fi fs.FileInfo, e *index.Entry) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	if e.Inode != 0 && e.Inode != uint32(st.Ino) {
		return false
	}
	return sameTime(e.CreatedAt, time.Unix(st.Ctimespec.Unix()))
}
