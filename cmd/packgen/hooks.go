package main

import (
	"fmt"
	"github.com/packgen/packgen/internal/location"
	"os"
	"runtime/debug"
	"strings"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/site"
)

// siteHook writes the HTML catalogue into a staged build, reusing pages of
// the previous build's catalogue (a local directory: --previous, else
// --out) whose inputs did not change.
func siteHook(previous, out string) func(dir string, s *build.Snapshot) error {
	if previous == "" {
		previous = out
	}
	if l, err := location.Parse(previous); err != nil || !l.Local() {
		previous = "" // a published registry: nothing local to reuse
	} else {
		previous = l.Dir
	}
	return func(dir string, s *build.Snapshot) error {
		return site.WriteOptions(dir, s.Root, s.Shards, site.Options{Previous: previous})
	}
}

// loadSigner loads a signing key (file or env://VAR) for build.
func loadSigner(g *globalOptions, ref string) (build.Signer, error) {
	if l := sign.NewLazy(ref, passFunc(g)); l != nil {
		return l, nil
	}
	s, err := sign.LoadSignerRef(ref, passFunc(g))
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return s, nil
}

func passFunc(g *globalOptions) sign.PassFunc {
	in, _ := g.stdin.(*os.File)
	return sign.EnvOrPrompt(in, g.stderr)
}

// buildStamp identifies what shapes a build's output beyond its options:
// this program (its version and, for a build from a modified or unknown
// source tree, the executable file itself) and the signing key. A build
// records it so that building the same again can return at once; "" (no
// identity to be sure of) turns that off.
func buildStamp(signer build.Signer) string {
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
