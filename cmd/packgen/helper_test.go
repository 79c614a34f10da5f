package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestChartRendererLookup: packgen finds packgen-helm beside itself
// through a symbolic link to it, and without one a pack with charts is
// an operational failure (exit 3) that says what to install, while a
// pack without charts needs none.
func TestChartRendererLookup(t *testing.T) {
	bin := packgenBinary(t)
	copyExe := func(src, dst string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(exe string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "PATH="+t.TempDir()) // nothing on PATH
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	const chart, noChart = "../../examples/packs/ingress-nginx-4.10.1", "../../examples/packs/kubernetes-1.29.4"

	alone := filepath.Join(t.TempDir(), "packgen")
	copyExe(bin, alone)
	for _, args := range [][]string{{"images", chart}, {"validate", chart}} {
		code, out := run(alone, args...)
		// Built in a clone (a VCS stamp) the hint is the clone's go
		// install; built elsewhere, the module's.
		if code != 3 || !strings.Contains(out, "needs packgen-helm") || !strings.Contains(out, "make build") || !strings.Contains(out, "go install ./cmd/...") && !strings.Contains(out, "go install github.com/packgen/packgen/cmd/...@") {
			t.Errorf("%v without packgen-helm: exit %d\n%s", args, code, out)
		}
	}
	if code, out := run(alone, "images", noChart); code != 0 {
		t.Errorf("a pack without charts: exit %d\n%s", code, out)
	}

	// A link to packgen elsewhere: the helper is looked up beside the
	// file the link names.
	link := filepath.Join(t.TempDir(), "packgen")
	if err := os.Symlink(bin, link); err != nil {
		t.Skip("no symbolic links:", err)
	}
	if code, out := run(link, "images", chart); code != 0 || !strings.Contains(out, "registry.k8s.io/ingress-nginx/controller:v1.10.1") {
		t.Errorf("through a link: exit %d\n%s", code, out)
	}
}
