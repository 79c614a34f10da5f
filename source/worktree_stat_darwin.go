package source

import (
	"io/fs"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// sameInode: see worktree_stat_linux.go. The inode only: go-git's
// index writer on BSD and macOS stores the access time where git keeps
// the ctime, so an index go-git wrote would never match.
func sameInode(fi fs.FileInfo, e *index.Entry) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	return e.Inode == 0 || e.Inode == uint32(st.Ino)
}
