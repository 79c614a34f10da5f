// Package progid names the running packgen build, for what is recorded
// or cached on the strength of it: the build record (two builds of other
// code must never take each other's short cut) and the catalogue's image
// cache (a view found by other code must not be served as this one's).
//
// A released build (a module version, as `go install …@v1.2.3` makes) or
// one stamped with a clean VCS revision is named by its build info
// (dependencies included). Any other (a modified tree, a source tarball,
// a tree with no VCS stamp, a dependency replaced by a local directory)
// is named by its executable file as well: path, size and modification
// time, so rebuilding the binary changes its name.
package progid

import (
	"crypto/sha256"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
)

// Name is the running build's name; "" when it has none to be sure of
// (no build info, or an unpinned build whose executable cannot be
// found).
var Name = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return name(info, os.Executable)
})

// Pinned says whether the build info alone pins the running code (see
// the package doc); when not, files beside it built with it (the chart
// renderer) are to be named by their files too.
var Pinned = sync.OnceValue(func() bool {
	info, ok := debug.ReadBuildInfo()
	return ok && pinned(info)
})

// pinned: a released or clean VCS-stamped main module, and no
// dependency replaced by a directory (whose content no version names).
func pinned(info *debug.BuildInfo) bool {
	rev, modified := false, strings.HasSuffix(info.Main.Version, "+dirty")
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value != ""
		case "vcs.modified":
			modified = modified || s.Value == "true"
		}
	}
	for _, d := range info.Deps {
		if d.Replace != nil && (d.Replace.Version == "" || d.Replace.Version == "(devel)") {
			return false
		}
	}
	released := info.Main.Version != "" && info.Main.Version != "(devel)"
	return !modified && (rev || released)
}

// FileID names the program file at path: its path, size and
// modification time, so a rebuilt (or touched, or moved) file is
// another. The one name of an executable for what is cached on the
// strength of it: an unpinned packgen (Name) and the chart helper
// beside it, whose handshake's build ID cannot tell it rebuilt alone
// from an unpinned tree (images.Helper.Identity for the render facts,
// site's image cache key).
func FileID(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s size=%d mtime=%d", path, fi.Size(), fi.ModTime().UnixNano()), nil
}

// name builds Name from the build info (its dependencies' versions and
// sums included) and, when that does not pin the code, from the
// executable file at the path exe gives (FileID).
func name(info *debug.BuildInfo, exe func() (string, error)) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", info.Main.Path, info.Main.Version, info.GoVersion)
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.modified", "-ldflags", "-tags", "GOOS", "GOARCH", "GOAMD64", "CGO_ENABLED":
			fmt.Fprintf(&b, " %s=%s", s.Key, s.Value)
		}
	}
	deps := sha256.New()
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		fmt.Fprintf(deps, "%s %s %s\n", d.Path, d.Version, d.Sum)
	}
	fmt.Fprintf(&b, " deps=%x", deps.Sum(nil)[:8])
	if !pinned(info) {
		path, err := exe()
		if err != nil {
			return ""
		}
		file, err := FileID(path)
		if err != nil {
			return ""
		}
		b.WriteString(" exe=" + file)
	}
	return b.String()
}
