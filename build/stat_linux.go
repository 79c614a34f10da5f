//go:build linux

package build

import (
	"fmt"
	"os"
	"syscall"
)

// fileState describes a file as it is on disk now: device, inode, size,
// and the modification and change times to the nanosecond (ctime cannot
// be set back by a writer), as git's index keeps them. "" when the file
// cannot be described so.
func fileState(fi os.FileInfo) string {
	if fi == nil || !fi.Mode().IsRegular() {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d:%d.%d", st.Dev, st.Ino, fi.Size(), st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}
