package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHelmInPackgen keeps Helm and Kubernetes' client libraries out of
// the packgen binary: their package initialisers cost every process
// about 20 ms at start (docs/PERFORMANCE.md), so charts render in
// packgen-helm, and only it (and tests) may import internal/chartrender
// (docs/ARCHITECTURE.md, "Import rules").
func TestNoHelmInPackgen(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to list imports with")
	}
	list := func(args ...string) string {
		cmd := exec.Command(goTool, append([]string{"list"}, args...)...)
		cmd.Dir = "../.."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	var bad []string
	for _, p := range strings.Fields(list("-deps", "./cmd/packgen")) {
		if strings.HasPrefix(p, "helm.sh/") || strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") || p == "github.com/packgen/packgen/internal/chartrender" {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		t.Errorf("cmd/packgen links %s: chart rendering belongs in cmd/packgen-helm (internal/chartrender)", strings.Join(bad, ", "))
	}
	// Only the helper imports internal/chartrender (tests aside).
	for _, line := range strings.Split(strings.TrimSpace(list("-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == "github.com/packgen/packgen/internal/chartrender" && f[0] != "github.com/packgen/packgen/cmd/packgen-helm" {
				t.Errorf("%s imports internal/chartrender: only cmd/packgen-helm and tests may", f[0])
			}
		}
	}
}
