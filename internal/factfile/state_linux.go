//go:build linux

package factfile

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// RacyWindow: a file changed this recently is not described. File
// times come from a coarse clock (a tick of a few ms), so a change made
// in the same tick as the one described would leave every field equal
// (git's "racily clean" entries); a file older than the window that
// changes after it was described gets a later ctime. Tests set it to 0.
var RacyWindow = 2 * time.Second

// State describes a regular file as it is on disk now: device, inode,
// size, and the modification and change times to the nanosecond, as
// git's index keeps them. A fact naming a State ("the file so described
// holds these bytes") lets a later run stat the file instead of reading
// it. "" when the file cannot be described so, or changed within
// RacyWindow.
//
// A write, truncate, rename, link or copy gives a later ctime, which no
// writer can set back. A store through a shared mmap does not while its
// page stays dirty (ext4: until writeback, dirty_expire 30 s): a local
// writer holding the file mapped edits it under an unchanged State
// (attackX F6). So a State-kept file is unread, not proven: nothing is
// signed from it (the facts name the SHA-256 read when it was
// vouched for), and verify --site and publish read the bytes.
func State(fi os.FileInfo) string {
	if fi == nil || !fi.Mode().IsRegular() {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	settled := time.Now().Add(-RacyWindow)
	if !time.Unix(st.Ctim.Sec, st.Ctim.Nsec).Before(settled) || !time.Unix(st.Mtim.Sec, st.Mtim.Nsec).Before(settled) {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d:%d.%d", st.Dev, st.Ino, fi.Size(), st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}
