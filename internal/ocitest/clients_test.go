package ocitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOtherClients: the registry in token mode, with our issuer, works
// for the independent clients the OCI tests use: the oras CLI (login,
// push, manifest fetch) and cosign (sign and verify through the same
// docker config), so a failure in their tests is theirs, not the helper's.
func TestOtherClients(t *testing.T) {
	oras, cosign := Tool(t, "oras"), Tool(t, "cosign")
	r := Start(t, Token)
	dir := t.TempDir()
	env := append(os.Environ(), "HOME="+dir, "DOCKER_CONFIG="+filepath.Join(dir, "docker"), "COSIGN_PASSWORD=", "SIGSTORE_NO_CACHE=true", "TUF_ROOT="+filepath.Join(dir, "tuf"))
	run := func(stdin, bin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	os.WriteFile(filepath.Join(dir, "hello-1.0.0.tar.gz"), []byte("not really a tar.gz"), 0o644)
	ref := r.Host() + "/acme/spectro-packs/archive/hello"
	run(r.Password, oras, "login", "--plain-http", "-u", r.Username, "--password-stdin", r.Host())
	run("", oras, "push", "--plain-http", ref+":1.0.0", "hello-1.0.0.tar.gz")
	dg := strings.TrimSpace(run("", oras, "resolve", "--plain-http", ref+":1.0.0"))
	run("", cosign, "generate-key-pair")
	run("", cosign, "sign", "--key", "cosign.key", "--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "--allow-insecure-registry", "--yes", ref+"@"+dg)
	out := run("", cosign, "verify", "--key", "cosign.pub", "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", ref+":1.0.0")
	if !strings.Contains(out, dg) {
		t.Errorf("cosign verify did not name %s:\n%s", dg, out)
	}
	if r.Tokens() == 0 {
		t.Error("no token issued: the clients did not go through the issuer")
	}
}
