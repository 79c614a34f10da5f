package progid

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestName: the build info names a released or clean VCS-stamped build;
// anything else is named by its executable too, so a rebuilt binary (a
// new mtime) or another one (another path) gets another name. A tarball
// build with no VCS stamp had shared one name across every rebuild, and
// the catalogue served image views its code had not found.
func TestName(t *testing.T) {
	exePath := filepath.Join(t.TempDir(), "packgen")
	if err := os.WriteFile(exePath, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	exe := func() (string, os.FileInfo, error) {
		fi, err := os.Stat(exePath)
		return exePath, fi, err
	}
	noExe := func() (string, os.FileInfo, error) { return "", nil, errors.New("no executable") }
	info := func(version string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/packgen/packgen", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	for _, tc := range []struct {
		name    string
		info    *debug.BuildInfo
		withExe bool
	}{
		{"go install of a release", info("v1.2.3"), false},
		{"clean VCS build", info("v0.0.0-20261206000000-abcdef012345", "vcs.revision", "abcdef0123456789", "vcs.modified", "false"), false},
		{"modified VCS build", info("v0.0.0-20261206000000-abcdef012345+dirty", "vcs.revision", "abcdef0123456789", "vcs.modified", "true"), true},
		{"tarball or -buildvcs=false", info("(devel)"), true},
		{"no main version", info(""), true},
		{"clean build, a dependency replaced by a directory", withDeps(info("v1.2.3"), &debug.Module{Path: "example.com/dep", Version: "v1.0.0", Replace: &debug.Module{Path: "../dep"}}), true},
		{"clean build, a dependency replaced by a version", withDeps(info("v1.2.3"), &debug.Module{Path: "example.com/dep", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1", Sum: "h1:x"}}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := name(tc.info, exe)
			if got == "" || !strings.Contains(got, "go1.26.0") {
				t.Fatalf("name %q", got)
			}
			if has := strings.Contains(got, "exe="+exePath); has != tc.withExe {
				t.Fatalf("name %q: executable named %v, want %v", got, has, tc.withExe)
			}
			if !tc.withExe {
				if name(tc.info, noExe) != got {
					t.Error("a pinned build's name depends on its executable")
				}
				return
			}
			if name(tc.info, noExe) != "" {
				t.Error("an unpinned build without its executable got a name")
			}
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(exePath, later, later); err != nil {
				t.Fatal(err)
			}
			if rebuilt := name(tc.info, exe); rebuilt == got {
				t.Errorf("a rebuilt executable kept the name %q", got)
			}
		})
	}
	// Another dependency version is another program.
	a := name(withDeps(info("v1.2.3"), &debug.Module{Path: "example.com/dep", Version: "v1.0.0", Sum: "h1:a"}), exe)
	b := name(withDeps(info("v1.2.3"), &debug.Module{Path: "example.com/dep", Version: "v1.0.1", Sum: "h1:b"}), exe)
	if a == b {
		t.Error("the dependencies' versions do not change the name")
	}
	if Name() != Name() {
		t.Error("Name differs between calls")
	}
}

func withDeps(bi *debug.BuildInfo, deps ...*debug.Module) *debug.BuildInfo {
	bi.Deps = deps
	return bi
}
