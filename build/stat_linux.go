//go:build linux

package build

import (
	"fmt"
	"os"
	"syscall"
)

// statFact names "the file f, as it is on disk now, holds the archive
// with SHA-256 sha" in the verified set: device, inode, size, and the
// modification and change times to the nanosecond (ctime cannot be set
// back by a writer). "" when the file cannot be described so.
func statFact(f *os.File, sha string) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("stat %s %d:%d:%d:%d.%d:%d.%d", sha, st.Dev, st.Ino, fi.Size(), st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}
