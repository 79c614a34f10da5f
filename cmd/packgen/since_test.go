package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBuildSinceFlag: --since reaches the build (a bad ref is refused,
// naming the flag) and a good one builds.
func TestBuildSinceFlag(t *testing.T) {
	dir := t.TempDir()
	repo := examplesRepo(t, filepath.Join(dir, "repo"))
	// The fixture's commit is dated 2024: a default expiry is long past.
	t.Setenv("SOURCE_DATE_EPOCH", fmt.Sprint(time.Now().Unix()))
	if code, _, stderr := run(t, "build", "--repo", repo.Dir, "--out", filepath.Join(dir, "bad"), "--no-site", "--since", "no-such-ref"); code == 0 || !strings.Contains(stderr, "--since") {
		t.Errorf("bad --since: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "build", "--repo", repo.Dir, "--out", filepath.Join(dir, "site"), "--no-site", "--since", "HEAD"); code != 0 {
		t.Errorf("--since HEAD: exit %d, %s", code, stderr)
	}
}
