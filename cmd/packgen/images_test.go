package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestImagesCommand drives the real binary on the examples and on the
// images package's messy test pack.
func TestImagesCommand(t *testing.T) {
	bin := packgenBinary(t)
	out, err := exec.Command(bin, "images", "../../examples/packs").CombinedOutput()
	if err != nil {
		t.Fatalf("images examples: %v\n%s", err, out)
	}
	for _, w := range []string{
		"calico@3.27.3 (../../examples/packs/calico-3.27.3)\n  docker.io/calico/cni:v3.27.3               declared, deployed",
		"registry.k8s.io/ingress-nginx/controller:v1.10.1  declared, deployed",
		"registry.k8s.io/kube-apiserver:v1.29.4           declared (no manifest or chart: the platform installs it)",
	} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "NOT") {
		t.Errorf("examples' content.images are not truthful:\n%s", out)
	}

	out, err = exec.Command(bin, "images", "../../images/testdata/packs", "-o", "json").Output()
	var doc struct {
		Packs    []images.Report `json:"packs"`
		Warnings []any           `json:"warnings"`
	}
	if err != nil || json.Unmarshal(out, &doc) != nil || len(doc.Packs) != 1 || doc.Packs[0].Pack != "webapp" || len(doc.Packs[0].Images) != 7 || doc.Warnings == nil || len(doc.Warnings) != 0 {
		t.Fatalf("json: %v\n%s", err, out)
	}

	out, err = exec.Command(bin, "images", "../../images/testdata/packs", "--why", "busybox:1.36").Output()
	want := "webapp@1.2.0 (../../images/testdata/packs/webapp-1.2.0)\n" +
		"  docker.io/library/busybox:1.36  declared, deployed\n" +
		"    declared values.yaml:7 \"docker.io/library/busybox:1.36\"\n" +
		"    chart charts/webapp webapp/templates/deployment.yaml Deployment/webapp spec.template.spec.initContainers[0].image (values charts.webapp.init.image) \"busybox:1.36\"\n"
	if err != nil || string(out) != want {
		t.Errorf("--why: %v\n%s\nwant\n%s", err, out, want)
	}

	cmd := exec.Command(bin, "validate", "../../images/testdata/packs", "-o", "github")
	out, _ = cmd.Output()
	if cmd.ProcessState.ExitCode() != 0 || !strings.Contains(string(out), "::warning file=../../images/testdata/packs/webapp-1.2.0/values.yaml,line=9::image docker.io/library/postgres:14 is declared in pack.content.images but no manifest or chart of the pack deploys it") {
		t.Errorf("validate: %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
	cmd = exec.Command(bin, "validate", "--strict", "../../images/testdata/packs")
	if out, _ := cmd.Output(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "1 pack, 0 errors, 4 warnings") {
		t.Errorf("validate --strict: %d\n%s", cmd.ProcessState.ExitCode(), out)
	}

	// A problem -o json lists (a templated reference without its
	// value) is a warning on stderr in text, not hidden behind "no images".
	tmpl := filepath.Join(t.TempDir(), "packs")
	if out, err := exec.Command(bin, "new", "tmpl", "--layer", "addon", "--addon-type", "system app", "--version", "1.0.0", "-d", tmpl).CombinedOutput(); err != nil {
		t.Fatalf("new: %v\n%s", err, out)
	}
	filetest.WriteFile(t, filepath.Join(tmpl, "tmpl-1.0.0", "manifests", "d.yaml"), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \"docker.io/library/nginx:{{ .Values.tag }}\"\n")
	cmd = exec.Command(bin, "images", filepath.Join(tmpl, "tmpl-1.0.0"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if want := `d.yaml: warning: image "docker.io/library/nginx:" in manifests/d.yaml does not parse`; err != nil || !strings.Contains(string(out), "no images") || !strings.Contains(stderr.String(), want) {
		t.Errorf("images of a templated reference: %v\nstdout:\n%s\nstderr:\n%s\nwant on stderr %q", err, out, stderr.String(), want)
	}

	// An error it reports (a declared reference that does not parse:
	// validate's error) exits 1, in text and in JSON, -q or not.
	filetest.WriteFile(t, filepath.Join(tmpl, "tmpl-1.0.0", "values.yaml"), "pack:\n  namespace: tmpl\n  content:\n    images:\n      - image: \"nginx:1 bad\"\n")
	for _, args := range [][]string{{}, {"-q"}, {"-o", "json"}} {
		cmd = exec.Command(bin, append([]string{"images", filepath.Join(tmpl, "tmpl-1.0.0")}, args...)...)
		stderr.Reset()
		cmd.Stderr = &stderr
		out, _ = cmd.Output()
		if want := `in values.yaml does not parse`; cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String()+string(out), want) {
			t.Errorf("images %v of a reference that does not parse: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1 and %q", args, cmd.ProcessState.ExitCode(), out, stderr.String(), want)
		}
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"images", "does-not-exist"}, 2, "does-not-exist does not exist"},
		// A pack's name as info and search show it: the release form named.
		{[]string{"images", "calico"}, 2, "calico does not exist: give a pack directory, a tree of packs, a PROFILE.lock, or a published release as NAME@VERSION (calico@1.2.3, calico@^1)"},
		{[]string{"images", "../../examples/packs", "--why", "Not A Ref"}, 2, "invalid image reference"},
		{[]string{"images", "../../examples/packs", "--why", "nginx:9"}, 1, "no pack names image nginx:9"},
	} {
		cmd := exec.Command(bin, tc.args...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != tc.code || !strings.Contains(string(out), tc.msg) {
			t.Errorf("%v: %d %s", tc.args, cmd.ProcessState.ExitCode(), out)
		}
	}
}

// TestImagesOfRelease reads a release from a built, signed registry,
// verified as fetch verifies it.
func TestImagesOfRelease(t *testing.T) {
	tmp := t.TempDir()
	cfg, pg := inProcess(t, tmp)
	os.WriteFile(cfg, []byte("registries: []\n"), 0o600)
	repo := examplesRepo(t, filepath.Join(tmp, "repo"))
	key, site := keyAndSite(tmp, repo.Dir, pg)

	out, _ := pg(0, "images", "ingress-nginx@4.10.1", "--url", site, "--key", key+".pub", "--sources")
	for _, w := range []string{
		"ingress-nginx@4.10.1 (ingress-nginx@4.10.1)\n  registry.k8s.io/ingress-nginx/controller:v1.10.1  declared, deployed\n",
		"chart charts/ingress-nginx-4.10.1.tgz ingress-nginx/templates/deployment.yaml Deployment/ingress-nginx-controller",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if _, errs := pg(1, "images", "ingress-nginy@4.10.1", "--url", site, "--key", key+".pub"); !strings.Contains(errs, "ingress-nginx") {
		t.Errorf("unknown pack: %s", errs)
	}
	// Signed by another key: refused before anything is read.
	pg(0, "key", "generate", "--prefix", filepath.Join(tmp, "other"))
	if _, errs := pg(1, "images", "calico@3.27.3", "--url", site, "--key", filepath.Join(tmp, "other.pub")); !strings.Contains(strings.ToLower(errs), "signature") {
		t.Errorf("wrong key: %s", errs)
	}
}
