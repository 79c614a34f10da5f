package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildSinceFlag: --since reaches the build (a bad ref is refused,
// naming the flag) and a good one builds.
func TestBuildSinceFlag(t *testing.T) {
	dir := t.TempDir()
	repo := examplesRepo(t, filepath.Join(dir, "repo"))
	if code, _, stderr := run(t, "build", "--repo", repo.Dir, "--out", filepath.Join(dir, "bad"), "--no-site", "--since", "no-such-ref"); code == 0 || !strings.Contains(stderr, "--since") {
		t.Errorf("bad --since: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "build", "--repo", repo.Dir, "--out", filepath.Join(dir, "site"), "--no-site", "--since", "HEAD"); code != 0 {
		t.Errorf("--since HEAD: exit %d, %s", code, stderr)
	}
}
