package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
)

// ociBin makes a directory to put first on PATH for README flows against
// the loopback registry: packgen (the real binary), oras and cosign,
// each given --plain-http (cosign: --allow-http-registry
// --allow-insecure-registry) when an argument names the registry, as a
// user of a loopback registry would type them; real registries speak
// TLS and need none of it, so the README does not show them.
func ociBin(t *testing.T, bin, host string, tools ...string) string {
	dir := t.TempDir()
	wrap := func(name, real, flags string) {
		script := "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in *" + host + "*) exec " + real + " \"$@\" " + flags + ";; esac; done\nexec " + real + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wrap("packgen", bin, "--plain-http")
	for _, tool := range tools {
		flags := "--plain-http"
		if tool == "cosign" {
			flags = "--allow-http-registry --allow-insecure-registry"
		}
		wrap(tool, ocitest.Tool(t, tool), flags)
	}
	return dir
}

func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- "+marker+" -->\n```sh\n")
	if !ok {
		t.Fatalf("README has no %s block", marker)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

func readmeEnv(t *testing.T, path string, extra ...string) []string {
	home := filepath.Join(t.TempDir(), "home")
	os.MkdirAll(home, 0o755)
	return append(append(os.Environ(),
		"PATH="+path+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home, "XDG_CONFIG_HOME="+home+"/.config", "XDG_CACHE_HOME="+home+"/.cache", "XDG_STATE_HOME="+home+"/.state",
		"DOCKER_CONFIG="+home+"/.docker",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Pat Packer", "GIT_AUTHOR_EMAIL=pat@example.invalid", "GIT_COMMITTER_NAME=Pat Packer", "GIT_COMMITTER_EMAIL=pat@example.invalid",
		"SOURCE_DATE_EPOCH=",
	), extra...)
}

// needGit skips a test that runs the git CLI where there is none.
func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git binary (.ci/run installs it)")
	}
}

// cliAndBasicRegistry sets up a test of the real binary against an OCI
// registry behind htpasswd: it skips without git, and returns the binary,
// the registry, a work dir and the README's environment (key password
// "pw").
func cliAndBasicRegistry(t *testing.T) (bin string, reg *ocitest.Registry, tmp string, env []string) {
	t.Helper()
	needGit(t)
	bin = packgenBinary(t)
	reg = ocitest.Start(t, ocitest.Basic)
	tmp = t.TempDir()
	return bin, reg, tmp, readmeEnv(t, filepath.Dir(bin), "PACKGEN_PASSWORD=pw", "COSIGN_PASSWORD=")
}

func bash(t *testing.T, dir string, env []string, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-x", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return string(out)
}

// TestREADMEOCI runs the README's OCI flows line for line with the real
// binary, a real distribution registry, oras and cosign: "GitOps in five
// minutes" once more with the registry as BUCKET and REGISTRY_URL, and
// "Publish to Palette".
func TestREADMEOCI(t *testing.T) {
	needGit(t)
	bin := packgenBinary(t)
	t.Run("GitOps", func(t *testing.T) {
		reg := ocitest.Start(t, ocitest.Anonymous)
		tmp := t.TempDir()
		url := "oci://" + reg.Host() + "/acme"
		env := readmeEnv(t, ociBin(t, bin, reg.Host(), "oras"), "BUCKET="+url, "REGISTRY_URL="+url)
		out := bash(t, tmp, env, readmeBlock(t, "gitops-five-minutes"))
		for _, f := range []string{"hello/values.yaml", "hello-0.2/values.yaml"} {
			if _, err := os.Stat(filepath.Join(tmp, f)); err != nil {
				t.Errorf("fetched pack missing: %v\n%s", err, out)
			}
		}
		// What Palette lists: the two versions, nothing else.
		tags := bash(t, tmp, env, "oras repo tags "+reg.Host()+"/acme/spectro-packs/archive/hello")
		if got := strings.Fields(lastLines(tags, 2)); strings.Join(got, " ") != "0.1.0 0.2.0" {
			t.Errorf("tags of hello: %q", tags)
		}
		// Profiles resolve and fetch from the OCI registry too, and a
		// publish with nothing new says so in JSON.
		os.WriteFile(filepath.Join(tmp, "edge.yaml"), []byte("name: edge\ncloudType: edge\nlayers:\n  - pack: hello\n    version: \"^0.2\"\n    registry: acme\n"), 0o644)
		out = bash(t, tmp, env, `packgen profile resolve edge.yaml --partial && packgen profile fetch edge.lock -d cluster && cd packs-repo && packgen publish site "$BUCKET" -o json`)
		if _, err := os.Stat(filepath.Join(tmp, "cluster", "hello-0.2.0", "values.yaml")); err != nil {
			t.Errorf("profile fetch: %v\n%s", err, out)
		}
		if !strings.Contains(out, `"present": 2`) || !strings.Contains(out, `"pushed": []`) {
			t.Errorf("publish -o json with nothing new:\n%s", out)
		}
	})
	t.Run("Palette", func(t *testing.T) {
		reg := ocitest.Start(t, ocitest.Anonymous)
		tmp := t.TempDir()
		env := readmeEnv(t, ociBin(t, bin, reg.Host(), "oras", "cosign"), "OCI_REGISTRY="+reg.Host(), "PACKGEN_PASSWORD=a long password", "COSIGN_PASSWORD=")
		repo := filepath.Join(tmp, "packs-repo")
		bash(t, tmp, env, `git init -q -b main packs-repo && cd packs-repo && printf '%s\n' '*.key' /site/ > .gitignore && mkdir packs &&
packgen new hello --layer addon --addon-type "system app" --version 0.1.0 -d packs && git add . && git commit -qm hello`)
		out := bash(t, repo, env, readmeBlock(t, "publish-to-palette"))
		if os.Getenv("PACKGEN_DEBUG_README") != "" {
			t.Logf("%s", out)
		}
		if !strings.Contains(out, "1 release(s) pushed") || !strings.Contains(out, "Verified OK") && !strings.Contains(out, "The signatures were verified against the specified public key") {
			t.Errorf("publish or cosign verify said:\n%s", out)
		}
		if !strings.Contains(lastLines(strings.Split(out, "+ COSIGN_REPOSITORY")[0], 1), "0.1.0") {
			t.Errorf("oras repo tags did not list 0.1.0:\n%s", out)
		}
		// packgen list oci://… (given --plain-http by the wrapper, as a
		// user of a loopback registry types it) lists the pack.
		if _, list, _ := strings.Cut(out, "+ packgen list"); !strings.Contains(list, "hello") || !strings.Contains(list, "0.1.0") {
			t.Errorf("packgen list oci:// did not list hello 0.1.0:\n%s", out)
		}
	})
}

// lastLines returns the last n non-empty lines of out that are not
// bash -x traces.
func lastLines(out string, n int) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "+") {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n")
}

// TestPublishOCIErrors runs the real binary against a registry that needs
// credentials: without them the error names the reference and says how
// to log in; --username without its password is a usage error; an
// unreachable registry names the host.
func TestPublishOCIErrors(t *testing.T) {
	bin, reg, tmp, env := cliAndBasicRegistry(t)
	bash(t, tmp, env, `git init -q -b main r && cd r && mkdir packs && packgen new hello --layer addon --addon-type "system app" --version 0.1.0 -d packs && git add . && git commit -qm hello && packgen build --packs-dir packs --out ../site`)
	run := func(extra []string, args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = tmp, append(env, extra...)
		out, err := cmd.CombinedOutput()
		code := testutil.ExitCode(t, err)
		return code, string(out)
	}
	dest := "oci://" + reg.Host() + "/acme"
	if code, out := run(nil, "publish", "site", dest, "--plain-http"); code == 0 || !strings.Contains(out, reg.Host()+"/acme/") || !strings.Contains(out, "docker login") {
		t.Errorf("no credentials: exit %d\n%s", code, out)
	}
	if code, out := run([]string{"PACKGEN_OCI_PASSWORD="}, "publish", "site", dest, "--plain-http", "--username", "packgen"); code != 2 || !strings.Contains(out, "PACKGEN_OCI_PASSWORD") {
		t.Errorf("--username without password: exit %d\n%s", code, out)
	}
	if code, out := run([]string{"PACKGEN_OCI_PASSWORD=" + reg.Password}, "publish", "site", dest, "--plain-http", "--username", reg.Username); code != 0 || !strings.Contains(out, "1 release(s) pushed") {
		t.Errorf("with credentials: exit %d\n%s", code, out)
	}
	if code, out := run(nil, "publish", "site", "oci://127.0.0.1:1/acme", "--plain-http"); code != 3 || !strings.Contains(out, "127.0.0.1:1") {
		t.Errorf("unreachable: exit %d\n%s", code, out)
	}
	// A promotion verifies its source first: refused without a key to
	// verify it by (a usage error), done with its public key.
	bash(t, tmp, env, `packgen key generate --prefix k && cd r && packgen build --packs-dir packs --out ../signed --key ../k.key`)
	prom := []string{"PACKGEN_OCI_PASSWORD=" + reg.Password}
	dev, prod := "oci://"+reg.Host()+"/dev", "oci://"+reg.Host()+"/prod"
	if code, out := run(prom, "publish", "signed", dev, "--plain-http", "--username", reg.Username, "--key", "k.key"); code != 0 {
		t.Fatalf("publish to dev: exit %d\n%s", code, out)
	}
	if code, out := run(prom, "publish", dev, prod, "--plain-http", "--username", reg.Username); code != 2 || !strings.Contains(out, "--source-key") {
		t.Errorf("promotion without a key: exit %d\n%s", code, out)
	}
	if code, out := run(prom, "publish", dev, prod, "--plain-http", "--username", reg.Username, "--source-key", "k.pub"); code != 0 || !strings.Contains(out, "1 release(s) pushed") {
		t.Errorf("promotion with --source-key: exit %d\n%s", code, out)
	}
	// Another hello 0.1.0 (other content) in another registry's site,
	// published over this one: refused, exit 1, the refusal in JSON (the
	// document of every publish, with its warnings).
	bash(t, tmp, env, `cd r && echo "x: 1" >> packs/hello-0.1.0/values.yaml && git commit -qam changed && packgen build --packs-dir packs --out ../site2`)
	cmd := exec.Command(bin, "publish", "site2", dest, "--plain-http", "--username", reg.Username, "-o", "json", "--force")
	cmd.Dir, cmd.Env = tmp, append(env, "PACKGEN_OCI_PASSWORD="+reg.Password)
	stdout, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(ee.Stderr), "bump the version") || !strings.Contains(string(stdout), `"refused": [`) || !strings.Contains(string(stdout), `"version": "0.1.0"`) || !strings.Contains(string(stdout), `"warnings": [`) {
		t.Errorf("refusal: %v\n%s", err, stdout)
	}
}

// testOCICrashSafety SIGKILLs a real `packgen publish` of generation 2
// over generation 1 in an OCI registry when the registry has served k
// requests of it, for several k, and checks after each kill, with
// `packgen verify --site` of the registry, that it verifies whole (the
// old generation or the new one), that every tag of every pack names a
// release oras pulls, and that a rerun completes it.
func testOCICrashSafety(t *testing.T, bin string, f *publishFixture) {
	oras := ocitest.Tool(t, "oras")
	env := append(os.Environ(), "PACKGEN_PASSWORD=pw", "SOURCE_DATE_EPOCH=")
	pg := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, k := range []int{4, 12, 25, 40, 60} {
		reg := ocitest.Start(t, ocitest.Anonymous)
		dest := "oci://" + reg.Host() + "/acme"
		if out, err := pg("publish", f.site1, dest, "--plain-http", "--key", f.key); err != nil {
			t.Fatalf("publish generation 1: %v\n%s", err, out)
		}
		base := len(reg.AccessLog())
		cmd := exec.Command(bin, "publish", f.site2, dest, "--plain-http", "--key", f.key, "--jobs", "2")
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		killed := false
	wait:
		for {
			select {
			case <-done:
				break wait
			default:
			}
			if reg.Logged()-base >= k {
				cmd.Process.Kill()
				<-done
				killed = true
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		if !killed {
			t.Logf("k=%d: the publish ended before the kill", k)
		}
		if out, err := pg("verify", "--site", dest, "--plain-http", "--key", f.pub); err != nil {
			t.Fatalf("k=%d: verify after the kill: %v\n%s", k, err, out)
		}
		for _, pack := range []string{"alpha", "beta", "gamma", "delta"} {
			out, err := exec.Command(oras, "repo", "tags", "--plain-http", reg.Host()+"/acme/spectro-packs/archive/"+pack).CombinedOutput()
			if err != nil {
				continue // not pushed yet
			}
			for _, tag := range strings.Fields(string(out)) {
				if out, err := exec.Command(oras, "pull", "--plain-http", "-o", t.TempDir(), reg.Host()+"/acme/spectro-packs/archive/"+pack+":"+tag).CombinedOutput(); err != nil {
					t.Fatalf("k=%d: %s:%s is incomplete: %v\n%s", k, pack, tag, err, out)
				}
			}
		}
		if out, err := pg("publish", f.site2, dest, "--plain-http", "--key", f.key); err != nil {
			t.Fatalf("k=%d: rerun: %v\n%s", k, err, out)
		}
		if out, err := pg("verify", "--site", dest, "--plain-http", "--key", f.pub); err != nil || !strings.Contains(out, "0 problems") {
			t.Fatalf("k=%d: verify after the rerun: %v\n%s", k, err, out)
		}
	}
}
