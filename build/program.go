package build

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
)

// ProgramStamp identifies what shapes a build's output beyond its
// options, for Options.Stamp: this program (version, its release version
// or "", and, for a build from a modified or unknown source tree, the
// executable file itself) and the signing key. A build records it so
// that building the same again can return at once; "" (no identity to be
// sure of) turns that off.
func ProgramStamp(version string, signer Signer) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "packgen %s %s %s", version, info.Main.Version, info.GoVersion)
	trusted := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			fmt.Fprintf(&b, " rev=%s", s.Value)
			trusted = true
		case "vcs.modified":
			fmt.Fprintf(&b, " modified=%s", s.Value)
			trusted = trusted && s.Value == "false"
		case "-ldflags", "-tags", "GOOS", "GOARCH":
			fmt.Fprintf(&b, " %s=%s", s.Key, s.Value)
		}
	}
	if version == "" && !trusted {
		// A development build: the file itself tells builds apart.
		exe, err := os.Executable()
		if err != nil {
			return ""
		}
		fi, err := os.Stat(exe)
		if err != nil {
			return ""
		}
		fmt.Fprintf(&b, " exe=%s size=%d mtime=%d", exe, fi.Size(), fi.ModTime().UnixNano())
	}
	if signer != nil {
		fmt.Fprintf(&b, " key=%s", signer.KeyID())
	}
	return b.String()
}
