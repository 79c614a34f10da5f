package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ChildPIDs lists the pids of parent's child processes, zombies
// included, named comm (any name when comm is ""), from /proc; ok is
// false where there is no /proc to read.
func ChildPIDs(parent int, comm string) (pids []int, ok bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || comm != "" && !strings.HasSuffix(s[:i+1], " ("+comm+")") {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(parent) {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids, true
}
