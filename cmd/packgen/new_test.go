package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestNewChartArchives: `packgen new --chart` with archives made by tar(1)
// as people make them. One rooted at "./" (./web/Chart.yaml) is
// scaffolded into a pack that validates (the chart renderer read no
// Chart.yaml in it, so new failed) with one warning: Helm's own loader
// cannot read that archive, so `helm install` of it would fail. One whose template fails is refused naming the archive given,
// not its copy in new's stage (packs/.packgen-new-NNN/charts/…, removed
// by then), and leaves nothing behind.
func TestNewChartArchives(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar(1)")
	}
	tmp := t.TempDir()
	chart := func(name, extra string) {
		filetest.Write(t, filepath.Join(tmp, "src", name), map[string]string{
			"Chart.yaml":            "apiVersion: v2\nname: " + name + "\nversion: 1.2.0\n",
			"values.yaml":           "image: nginx:1.27\n",
			"templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          image: {{ .Values.image }}\n" + extra,
		})
	}
	chart("web", "")
	chart("broken", "{{ fail \"the chart's own error\" }}\n")
	// broken alone, then "." holding web alone: ./web/Chart.yaml.
	for _, c := range [][]string{
		{"-C", filepath.Join(tmp, "src"), "-czf", filepath.Join(tmp, "broken-1.2.0.tgz"), "broken"},
		{"-C", filepath.Join(tmp, "src"), "-czf", filepath.Join(tmp, "dot-1.2.0.tgz"), "--exclude", "./broken", "."},
	} {
		if out, err := exec.Command(tarBin, c...).CombinedOutput(); err != nil {
			t.Fatalf("tar %v: %v\n%s", c, err, out)
		}
	}
	packs := filepath.Join(tmp, "packs")
	if code, _, errs := run(t, "new", "dot-web", "--layer", "addon", "--chart", filepath.Join(tmp, "dot-1.2.0.tgz"), "-d", packs); code != 0 {
		t.Fatalf("new with a ./-rooted chart: %d %s", code, errs)
	}
	if code, out, errs := run(t, "validate", packs); code != 0 || !strings.Contains(out, "1 pack, 0 errors, 1 warning") || !strings.Contains(out+errs, "Helm's own loader cannot read this archive: repack it with `helm package web`") {
		t.Fatalf("the scaffold does not validate with the one warning: %d %s %s", code, out, errs)
	}
	values, _ := os.ReadFile(filepath.Join(packs, "dot-web-1.0.0", "values.yaml"))
	if !strings.Contains(string(values), "- image: docker.io/library/nginx:1.27") {
		t.Errorf("the chart's image is not declared:\n%s", values)
	}

	given := filepath.Join(tmp, "broken-1.2.0.tgz")
	code, _, errs := run(t, "new", "bad", "--layer", "addon", "--chart", given, "-d", packs)
	if code != 1 || !strings.Contains(errs, given+": chart does not render") || !strings.Contains(errs, "the chart's own error") || strings.Contains(errs, ".packgen-new") {
		t.Errorf("a chart that does not render: %d %s", code, errs)
	}

	// A path typed wrong is a usage error (2); content read and found
	// bad is 1; nothing is left behind either way.
	notChart := filepath.Join(tmp, "notes.tgz")
	if err := os.WriteFile(notChart, []byte("not a chart\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"chart missing", []string{"--chart", filepath.Join(tmp, "nope-1.0.0.tgz")}, 2, "no such file"},
		{"chart is a directory", []string{"--chart", tmp}, 2, "is a directory: give the chart archive"},
		{"not a chart", []string{"--chart", notChart}, 1, notChart},
		{"manifests missing", []string{"--manifests", filepath.Join(tmp, "deploy")}, 2, "manifests:"},
		{"no manifests", []string{"--manifests", packs}, 1, "no .yaml files"},
		{"pack exists", []string{"--version", "1.0.0"}, 2, "dot-web-1.0.0 already exists"},
	} {
		name := "bad"
		if tc.name == "pack exists" {
			name = "dot-web"
		}
		code, _, errs := run(t, append([]string{"new", name, "--layer", "addon", "-d", packs}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%s: exit %d, want %d saying %q: %s", tc.name, code, tc.code, tc.msg, errs)
		}
	}
	entries, _ := os.ReadDir(packs)
	if len(entries) != 1 {
		t.Errorf("left in %s: %v", packs, entries)
	}
}
