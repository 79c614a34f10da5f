package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
)

// TestFetchOCICommand drives `packgen fetch oci://…` in-process against
// the real registry with basic auth and a pack pushed by the real oras
// CLI the vendor's way: the credential flags and environment, the
// warning, the exit codes, and the refusal under a keyed registry.
func TestFetchOCICommand(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, "docker"))
	t.Setenv(ocireg.RegistryAuthFileEnv, "")
	t.Setenv(ocireg.PasswordEnv, "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
	reg := ocitest.Start(t, ocitest.Basic)
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar binary")
	}
	dir := t.TempDir()
	src, _ := filepath.Abs("../../examples/packs")
	if out, err := exec.Command(tarBin, "-C", src, "-czf", filepath.Join(dir, "falco-4.2.5.tar.gz"), "falco-4.2.5").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	ref := reg.Host() + "/acme/spectro-packs/archive/falco:4.2.5"
	push := exec.Command(ocitest.Tool(t, "oras"), "push", "--plain-http", "--image-spec", "v1.0", "-u", reg.Username, "--password-stdin", ref, "falco-4.2.5.tar.gz")
	push.Dir, push.Stdin = dir, strings.NewReader(reg.Password)
	if out, err := push.CombinedOutput(); err != nil {
		t.Fatalf("oras push: %v\n%s", err, out)
	}
	dest := filepath.Join(t.TempDir(), "falco")

	// No credentials: exit 3 (could not do the work), the way out said.
	code, _, stderr := run(t, "fetch", "oci://"+ref, "-d", dest, "--plain-http")
	if code != exitFailure || !strings.Contains(stderr, "docker login "+reg.Host()) || !strings.Contains(stderr, ocireg.PasswordEnv) {
		t.Fatalf("no credentials: exit %d\n%s", code, stderr)
	}
	// --username without the password in the environment: usage.
	code, _, stderr = run(t, "fetch", "oci://"+ref, "-d", dest, "--plain-http", "--username", reg.Username)
	if code != exitUsage || !strings.Contains(stderr, ocireg.PasswordEnv) {
		t.Fatalf("no password: exit %d\n%s", code, stderr)
	}
	// Plain HTTP to a remote host: usage, before any request.
	code, _, stderr = run(t, "fetch", "oci://registry.example.com/acme/spectro-packs/archive/falco:4.2.5", "-d", dest, "--plain-http")
	if code != exitUsage || !strings.Contains(stderr, "loopback") {
		t.Fatalf("plain http remote: exit %d\n%s", code, stderr)
	}
	t.Setenv(ocireg.PasswordEnv, reg.Password)
	code, stdout, stderr := run(t, "fetch", "oci://"+ref, "-d", dest, "--plain-http", "--username", reg.Username)
	if code != 0 || !strings.Contains(stderr, "WARNING") || !strings.Contains(stderr, "nothing vouches") || !strings.Contains(stdout, "NOT verified") {
		t.Fatalf("fetch: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dest, "pack.json")); err != nil {
		t.Fatal(err)
	}
	// DEST exists: usage, untouched.
	code, _, stderr = run(t, "fetch", "oci://"+ref, "-d", dest, "--plain-http", "--username", reg.Username)
	if code != exitUsage || !strings.Contains(stderr, "--force") {
		t.Fatalf("dest exists: exit %d\n%s", code, stderr)
	}

	// A registry configured with a key over that base: refused (exit 1)
	// unless --insecure-skip-verify.
	cfg := filepath.Join(home, "config", "packgen", "registries.yaml")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.WriteFile(cfg, []byte("registries:\n  - name: acme\n    url: oci://"+reg.Host()+"/acme\n    key: |\n      -----BEGIN PUBLIC KEY-----\n      x\n      -----END PUBLIC KEY-----\n"), 0o600)
	dest2 := filepath.Join(t.TempDir(), "falco")
	code, _, stderr = run(t, "fetch", "oci://"+ref, "-d", dest2, "--plain-http", "--username", reg.Username)
	if code != exitBad || !strings.Contains(stderr, "--insecure-skip-verify") || !strings.Contains(stderr, "--registry acme") {
		t.Fatalf("keyed registry: exit %d\n%s", code, stderr)
	}
	if _, err := os.Lstat(dest2); err == nil {
		t.Fatal("dest written under a keyed registry")
	}
	code, stdout, stderr = run(t, "fetch", "oci://"+ref, "-d", dest2, "--plain-http", "--username", reg.Username, "--insecure-skip-verify", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"verified": false`) || !strings.Contains(stdout, "nothing vouches") {
		t.Fatalf("--insecure-skip-verify: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// --url with an oci:// reference is a usage error.
	code, _, _ = run(t, "fetch", "oci://"+ref, "--url", "http://127.0.0.1:1", "-d", dest2+"x")
	if code != exitUsage {
		t.Fatalf("--url with oci://: exit %d", code)
	}
}
