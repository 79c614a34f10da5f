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
// destination file in place (a directory target's), "" when no one can:
// another name for its inode (a hard link whose other name its planter
// keeps after losing write access to the directory), another owner
// (who may chmod and write it), write permission for group or others.
func exposed(fi fs.FileInfo) string {
	var why []string
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if st.Nlink > 1 {
			why = append(why, fmt.Sprintf("a hard link (%d names for one file)", st.Nlink))
		}
		if uid := os.Geteuid(); int64(st.Uid) != int64(uid) {
			why = append(why, fmt.Sprintf("owned by uid %d, not this user (uid %d)", st.Uid, uid))
		}
	}
	if p := fi.Mode().Perm(); p&0o022 != 0 {
		why = append(why, fmt.Sprintf("writable by group or others (mode %04o)", p))
	}
	return strings.Join(why, ", ")
}
