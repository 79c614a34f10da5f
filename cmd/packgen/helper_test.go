package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
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

// TestInterruptStopsChartRenderer: SIGINT to packgen alone (a kill, not
// a terminal's Ctrl-C, which signals the helper too) ends a command
// busy rendering a runaway chart at once, helper included, rather than
// at the end of the signal grace.
func TestInterruptStopsChartRenderer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := packgenBinary(t)
	dir := t.TempDir()
	filetest.Write(t, dir, map[string]string{
		"pack.json":                     `{"name": "p", "version": "1.0.0", "layer": "addon", "addonType": "system app", "cloudTypes": ["all"]}`,
		"values.yaml":                   "a: 1\n",
		"charts/c/Chart.yaml":           "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"charts/c/templates/spin.yaml":  "{{- range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n",
		"charts/c/templates/other.yaml": "a: 1\n",
	})
	cmd := exec.Command(bin, "images", dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	helpers := func() []int { pids, _ := testutil.ChildPIDs(cmd.Process.Pid, "packgen-helm"); return pids }
	for deadline := time.Now().Add(30 * time.Second); len(helpers()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no packgen-helm started\n%s", out.String())
		}
	}
	busy := helpers()
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if d := time.Since(start); d >= signalGrace/2 {
		t.Errorf("packgen took %v to stop after SIGINT", d)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitSIGINT || !strings.Contains(out.String(), "interrupted by SIGINT") {
		t.Errorf("exit %d, want %d\n%s", code, exitSIGINT, out.String())
	}
	for _, pid := range busy {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
				break
			}
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("packgen-helm %d still runs after packgen stopped", pid)
			}
		}
	}
}

// TestChartMemoryLimit: a chart that makes Helm allocate without end,
// run by the real binaries with PACKGEN_HELM_MEMORY=256MiB: `packgen
// images` exits 1 naming the pack's chart, the limit and the variable;
// `packgen validate` reports it as an error on the chart's directory
// (exit 1); a value of the variable that does not parse is exit 3
// naming it.
func TestChartMemoryLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the helper's memory is bounded on Linux only")
	}
	bin := packgenBinary(t)
	dir := filepath.Join(t.TempDir(), "p")
	filetest.Write(t, dir, map[string]string{
		"pack.json":                 `{"name": "p", "version": "1.0.0", "layer": "addon", "addonType": "system app", "cloudTypes": ["all"]}`,
		"values.yaml":               "a: 1\n",
		"charts/c/Chart.yaml":       "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"charts/c/templates/a.yaml": `{{ range until 1000 }}{{ repeat 100000000 "x" }}{{ end }}`,
	})
	run := func(env string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "PACKGEN_HELM_MEMORY="+env)
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	const said = "charts/c: chart does not render: packgen-helm ran out of memory rendering the chart: it may use 256 MiB ($PACKGEN_HELM_MEMORY)"
	if code, out := run("256MiB", "images", dir); code != 1 || !strings.Contains(out, dir+"/"+said) || !strings.Contains(out, "raise the limit with PACKGEN_HELM_MEMORY") {
		t.Errorf("images: exit %d\n%s", code, out)
	}
	if code, out := run("256MiB", "validate", dir); code != 1 || !strings.Contains(out, "p/charts/c: error: chart does not render: packgen-helm ran out of memory") {
		t.Errorf("validate: exit %d\n%s", code, out)
	}
	if code, out := run("lots", "images", dir); code != 3 || !strings.Contains(out, `$PACKGEN_HELM_MEMORY="lots": want a size such as 2GiB`) {
		t.Errorf("a bad PACKGEN_HELM_MEMORY: exit %d\n%s", code, out)
	}
}
