package pack

import (
	"bufio"
	"bytes"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// IgnoreFile is the per-pack exclusion list, in gitignore syntax.
const IgnoreFile = ".packignore"

// junkNames are editor and OS droppings that never belong in a pack.
var junkNames = map[string]bool{
	".DS_Store": true, "Thumbs.db": true, "desktop.ini": true, "__MACOSX": true,
	".git": true, ".svn": true, ".hg": true, ".idea": true, ".vscode": true,
}

// IsJunk reports whether a file or dir name is always left out of packs.
func IsJunk(name string) bool {
	if junkNames[name] {
		return true
	}
	return strings.HasPrefix(name, "._") || strings.HasSuffix(name, "~") ||
		(strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".swo")))
}

// Ignorer decides which paths of a pack are left out of validation and archives.
type Ignorer struct {
	m gitignore.Matcher
}

// ParseIgnore reads .packignore content. Blank lines and '#' comments are skipped.
func ParseIgnore(data []byte) *Ignorer {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \r\t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	if len(ps) == 0 {
		return &Ignorer{}
	}
	return &Ignorer{m: gitignore.NewMatcher(ps)}
}

// Ignored reports whether rel (slash-separated, relative to the pack root)
// is excluded, by junk rules or by .packignore.
func (ig *Ignorer) Ignored(rel string, isDir bool) bool {
	if IsJunk(path.Base(rel)) {
		return true
	}
	if ig == nil || ig.m == nil {
		return false
	}
	return ig.m.Match(strings.Split(rel, "/"), isDir)
}
