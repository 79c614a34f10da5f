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
// only where top's do not already grant as much (an owner other than
// top's): on a mount that shows
// every file as another user's or as 0777 (NFS root squashing, some
// FUSE or SMB mounts), a file publish writes would be just as exposed
// and be written again on every publish, for nothing.
//
// For a directory on the way to such a file (fi a directory) the same
// rule says who can rename a file of theirs over one publish left
// there: its owner, and group or others where they may write it, unless
// its sticky bit keeps them to their own names. A directory's links say
// nothing (every directory has several).
func exposed(fi, top fs.FileInfo) string {
	var why []string
	st, ok := fi.Sys().(*syscall.Stat_t)
	dir, dirOK := top.Sys().(*syscall.Stat_t)
	if ok && st.Nlink > 1 && !fi.IsDir() {
		why = append(why, fmt.Sprintf("a hard link (%d names for one file)", st.Nlink))
	}
	// Owned by neither this user nor top's owner: top's owner may do
	// anything below it anyway (a mount showing every file as theirs, a
	// web root of the server's user that root publishes into), anyone
	// else only what they were given.
	if uid := os.Geteuid(); ok && dirOK && int64(st.Uid) != int64(uid) && st.Uid != dir.Uid {
		why = append(why, fmt.Sprintf("owned by uid %d, neither this user (uid %d) nor the directory's owner (uid %d)", st.Uid, uid, dir.Uid))
	}
	sticky := fi.IsDir() && fi.Mode()&fs.ModeSticky != 0
	if p := fi.Mode().Perm(); p&0o022&^granted(top) != 0 && !sticky {
		w := "writable by group or others"
		if fi.IsDir() {
			w += " without the sticky bit"
		}
		why = append(why, fmt.Sprintf("%s (mode %04o)", w, p))
	}
	return strings.Join(why, ", ")
}

// granted is the write permission for group and others that top's mode
// already gives to all below it: none where its sticky bit is set, which
// is a permission someone chose (others may add names there, not
// replace this user's), never how a mount shows every file.
func granted(top fs.FileInfo) fs.FileMode {
	if top.Mode()&fs.ModeSticky != 0 {
		return 0
	}
	return top.Mode().Perm() & 0o022
}
