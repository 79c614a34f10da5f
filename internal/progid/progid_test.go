package progid

import (
	"errors"
	"fmt"
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
	exe := func() (string, error) { return exePath, nil }
	noExe := func() (string, error) { return "", errors.New("no executable") }
	gone := func() (string, error) { return exePath + ".gone", nil }
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
			// Its file named as it always was (the build record's and
			// the image cache's keys do not change).
			fi, err := os.Stat(exePath)
			if err != nil {
				t.Fatal(err)
			}
			if has := strings.HasSuffix(got, fmt.Sprintf(" exe=%s size=%d mtime=%d", exePath, fi.Size(), fi.ModTime().UnixNano())); has != tc.withExe {
				t.Fatalf("name %q: executable named %v, want %v", got, has, tc.withExe)
			}
			if !tc.withExe {
				if name(tc.info, noExe) != got || name(tc.info, gone) != got {
					t.Error("a pinned build's name depends on its executable")
				}
				return
			}
			if name(tc.info, noExe) != "" || name(tc.info, gone) != "" {
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

// TestFileID: a program file's name is its path, size and modification
// time: the same file is the same name; one rebuilt, touched or moved
// is another; no file is os.ErrNotExist. It names an unpinned packgen
// (Name) and the chart helper (images.Helper.Identity, site's image
// cache key).
func TestFileID(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "packgen-helm")
	if err := os.WriteFile(exe, []byte("v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := func() string {
		t.Helper()
		got, err := FileID(exe)
		if err != nil || !strings.HasPrefix(got, exe+" size=") {
			t.Fatalf("FileID = %q, %v; want it to begin with the path", got, err)
		}
		return got
	}
	first := id()
	for _, tc := range []struct {
		name   string
		change func() error
		same   bool
	}{
		{"the same file", func() error { return nil }, true},
		{"rebuilt", func() error { return os.WriteFile(exe, []byte("v22"), 0o755) }, false},
		{"touched", func() error {
			mt := time.Now().Add(time.Hour)
			return os.Chtimes(exe, mt, mt)
		}, false},
		{"moved", func() error {
			moved := filepath.Join(dir, "moved")
			err := os.Rename(exe, moved)
			exe = moved
			return err
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.change(); err != nil {
				t.Fatal(err)
			}
			if got := id(); (got == first) != tc.same {
				t.Errorf("FileID %q after, %q before: same = %v, want %v", got, first, got == first, tc.same)
			}
			first = id()
		})
	}
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	if got, err := FileID(exe); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FileID of no file = %q, %v, want not exist", got, err)
	}
}
