//go:build unix

package publish

import (
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// statInfo is a file's fstat as exposed reads it.
type statInfo struct {
	mode fs.FileMode
	st   syscall.Stat_t
}

func (s statInfo) Name() string       { return "f" }
func (s statInfo) Size() int64        { return 0 }
func (s statInfo) Mode() fs.FileMode  { return s.mode }
func (s statInfo) ModTime() time.Time { return time.Time{} }
func (s statInfo) IsDir() bool        { return s.mode.IsDir() }
func (s statInfo) Sys() any           { return &s.st }

// TestExposed: a destination file someone else can change in place, who
// cannot change the directory it was published into, is exposed (and
// written again); where the directory grants as much (a mount showing
// every file as 0777 or another user's), a file publish writes would be
// too, and owner and mode say nothing. A directory on the way is exposed
// to whoever may rename in it: its owner, group or others where they
// may write it and no sticky bit keeps them to their own names.
func TestExposed(t *testing.T) {
	me, other := uint32(os.Geteuid()), uint32(os.Geteuid()+4242)
	file := func(mode fs.FileMode, uid uint32, links uint64) statInfo {
		s := statInfo{mode: mode, st: syscall.Stat_t{Uid: uid}}
		s.st.Nlink = 1
		if links > 1 {
			s.st.Nlink += 1
		}
		return s
	}
	dir := func(mode fs.FileMode, uid uint32) statInfo {
		return statInfo{mode: fs.ModeDir | mode, st: syscall.Stat_t{Uid: uid}}
	}
	// dirLinks is a directory below the top, with the links every
	// directory has (not a hard link).
	dirLinks := func(mode fs.FileMode, uid uint32) statInfo {
		s := dir(mode, uid)
		s.st.Nlink = 3
		return s
	}
	for _, c := range []struct {
		name    string
		fi, top statInfo
		want    string // in the reason; "" = not exposed
	}{
		{"publish's own", file(0o644, me, 1), dir(0o755, me), ""},
		{"hard link", file(0o644, me, 2), dir(0o755, me), "hard link"},
		{"another owner", file(0o644, other, 1), dir(0o755, me), "owned by uid"},
		{"anyone may write", file(0o666, me, 1), dir(0o755, me), "writable by group or others (mode 0666)"},
		{"group may write", file(0o664, me, 1), dir(0o755, me), "writable by group"},
		{"group may write, and the directory", file(0o664, me, 1), dir(0o775, me), ""},
		{"a mount showing 0777", file(0o777, me, 1), dir(0o777, me), ""},
		{"a mount showing every file another's", file(0o644, other, 1), dir(0o755, other), ""},
		{"a hard link on such a mount", file(0o644, other, 2), dir(0o755, other), "hard link"},
		{"a third user's file in another's top (root into www-data's web root)", file(0o644, other+1, 1), dir(0o755, other), "owned by uid"},
		{"a third user's directory in another's top", dirLinks(0o755, other+1), dir(0o755, other), "owned by uid"},
		{"a sticky directory grants nothing", file(0o666, me, 1), dir(0o777|fs.ModeSticky, me), "(mode 0666)"},
		{"a directory of publish's", dirLinks(0o755, me), dir(0o755, me), ""},
		{"a directory of another owner", dirLinks(0o755, other), dir(0o755, me), "owned by uid"},
		{"a directory anyone may rename in", dirLinks(0o777, me), dir(0o755, me), "without the sticky bit (mode 0777)"},
		{"a directory anyone may add names to, sticky", dirLinks(0o777|fs.ModeSticky, me), dir(0o755, me), ""},
		{"a directory group may rename in, and the top", dirLinks(0o775, me), dir(0o775, me), ""},
		{"a directory of another owner on a mount showing all so", dirLinks(0o755, other), dir(0o755, other), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := exposed(c.fi, c.top)
			if (got == "") != (c.want == "") || !strings.Contains(got, c.want) {
				t.Errorf("exposed %q, want %q", got, c.want)
			}
		})
	}
}
