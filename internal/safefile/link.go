package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LinkOnPath returns the first symbolic link on the way to name inside
// root (name inside root, with the system's separators), or "" when
// there is none: each directory from the top down and, with self, name
// itself. It stops at the first that does not exist, since nothing
// below it can be a link yet. known, when not nil, remembers the
// directories found to be real (by name inside root), so that a caller
// checking many names Lstats each directory once.
//
// os.Root already keeps every path inside its directory, even through
// a link planted after this check. The check is for the directories
// packgen writes that others may write too (a shared web root, a GitOps
// checkout, the out dir): a planted link becomes an error naming it
// rather than a write through it, even one that points inside the root
// (index -> packs/x would put one site's files over another's).
func LinkOnPath(root *os.Root, name string, self bool, known map[string]bool) (string, error) {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(name)), "/")
	if !self {
		parts = parts[:len(parts)-1]
	}
	p := ""
	for i, part := range parts {
		p = filepath.Join(p, part)
		if known[p] {
			continue
		}
		info, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return p, nil
		}
		if known != nil && i < len(parts)-1 {
			known[p] = true
		}
	}
	return "", nil
}
