package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Git runs git(1) in dir and returns its standard output, failing the
// test with its standard error. It commits as a fixed identity and reads
// no system or user configuration, so a developer's settings change
// nothing. Tests that need git itself (merges, branches, shallow
// clones) use it; the rest build repositories with gitfixture.
func Git(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=packgen test", "GIT_AUTHOR_EMAIL=test@packgen.invalid",
		"GIT_COMMITTER_NAME=packgen test", "GIT_COMMITTER_EMAIL=test@packgen.invalid")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}
