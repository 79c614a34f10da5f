//go:build unix

package publish

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// exposed says why someone other than this publish can change a
// destination file (fi) in place who cannot change the directory it
// was published into (top), "" when no one can: another name for its
// inode (a hard link whose other name its planter keeps after losing
// write access to the directory), another owner (who may chmod and
// write it), write permission for group or others. Owner and mode count
// only where top's do not already grant as much: on a mount that shows
// every file as another user's or as 0777 (NFS root squashing, some
// FUSE or SMB mounts), a file publish writes would be just as exposed
// and be written again on every publish, for nothing.
func exposed(fi, top fs.FileInfo) string {
	var why []string
	st, ok := fi.Sys().(*syscall.Stat_t)
	dir, dirOK := top.Sys().(*syscall.Stat_t)
	if ok && st.Nlink > 1 {
		why = append(why, fmt.Sprintf("a hard link (%d names for one file)", st.Nlink))
	}
	if uid := os.Geteuid(); ok && dirOK && int64(st.Uid) != int64(uid) && int64(dir.Uid) == int64(uid) {
		why = append(why, fmt.Sprintf("owned by uid %d, not this user (uid %d)", st.Uid, uid))
	}
	if p := fi.Mode().Perm(); p&0o022&^top.Mode().Perm() != 0 {
		why = append(why, fmt.Sprintf("writable by group or others (mode %04o)", p))
	}
	return strings.Join(why, ", ")
}
