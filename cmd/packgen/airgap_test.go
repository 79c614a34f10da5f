package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
)

// TestREADMEAirgap runs the README's "Air-gapped sites" lines with the
// real binary: outside, against an upstream registry (real distribution
// registry) holding generated images (two cosign-signed with the real
// CLI) and the signed packs that deploy them; inside, with upstream
// stopped, into a second registry, then fetching the profile from it
// alone. Then the CLI's refusals and exit codes.
func TestREADMEAirgap(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git binary (.ci/run installs it)")
	}
	bin := packgenBinary(t)
	cosignKey, cosignPub := ocitest.CosignKeyPair(t)
	up := ocitest.Start(t, ocitest.Anonymous)
	up.Seed(t, []ocitest.SeedImage{
		{Repo: "acme/web", Tag: "2.0", Base: "alpine", Sign: true},
		{Repo: "library/busybox", Tag: "1.36", Base: "alpine"},
		{Repo: "acme/backup", Tag: "v0.9", Platforms: []string{"linux/amd64", "linux/arm64"}, Base: "alpine"},
		{Repo: "acme/agent", Tag: "3.0", Platforms: []string{"linux/amd64", "linux/arm64"}, Base: "debian", SignBundle: true},
	}, cosignKey)
	air := ocitest.Start(t, ocitest.Anonymous)

	// A packgen on PATH that talks plain HTTP to the two loopback
	// registries, as ociBin's does for one.
	wrapDir := t.TempDir()
	script := "#!/bin/sh\ncase \"$*\" in *" + up.Host() + "*|*" + air.Host() + "*|airgap\\ export*) exec " + bin + " \"$@\" --plain-http;; esac\nexec " + bin + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(wrapDir, "packgen"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	outside := t.TempDir()
	repo := filepath.Join(outside, "packs-repo")
	err := filepath.WalkDir("../../airgap/testdata/packs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("../../airgap/testdata", p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(repo, rel)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		return os.WriteFile(dst, bytes.ReplaceAll(data, []byte("UPSTREAM"), []byte(up.Host())), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	prof, _ := os.ReadFile("../../airgap/testdata/profile.yaml")
	os.WriteFile(filepath.Join(repo, "edge.yaml"), prof, 0o644)
	env := readmeEnv(t, wrapDir, "PACKGEN_PASSWORD=a long password", "COSIGN_PASSWORD=")
	bash(t, repo, env, `printf '%s\n' '*.key' /site/ > .gitignore && git init -q -b main && git add . && git commit -qm packs &&
packgen key generate --prefix registry && packgen build --packs-dir packs --out site --key registry.key &&
packgen publish site "oci://`+up.Host()+`/acme" --key registry.key &&
packgen registry add acme "oci://`+up.Host()+`/acme" --key registry.pub --plain-http`)
	out := bash(t, repo, env, readmeBlock(t, "airgap-export"))
	for _, want := range []string{up.Host() + "/acme/web:2.0", "wrote edge-bundle.tar: 2 packs, 4 images"} {
		if !strings.Contains(out, want) {
			t.Errorf("export flow: no %q in\n%s", want, out)
		}
	}

	// The export's JSON report (the bundle as an argument, -o the format).
	cmd := exec.Command(filepath.Join(wrapDir, "packgen"), "airgap", "export", "edge.lock", "again.tar", "-o", "json")
	cmd.Dir, cmd.Env = repo, env
	exported, err := cmd.Output()
	var rep struct {
		Output   string
		Digest   string
		Packs    []struct{ Name string }
		Images   []struct{ Image string }
		Warnings []struct{ Message string }
	}
	if err != nil || json.Unmarshal(exported, &rep) != nil || rep.Output != "again.tar" || len(rep.Packs) != 2 || len(rep.Images) != 4 || len(rep.Warnings) < 2 || !strings.Contains(rep.Warnings[0].Message, "maybe deployed") || !strings.Contains(string(exported), `"2 images carry no cosign signature (`) {
		t.Errorf("export -o json: %v\n%s", err, exported)
	}
	if a, b := testutil.SHA256File(t, filepath.Join(repo, "again.tar")), testutil.SHA256File(t, filepath.Join(repo, "edge-bundle.tar")); a != b {
		t.Error("the JSON export's bundle differs from the README's")
	}

	// A disk that fills during export, for real: the binary under a
	// file size limit (prlimit's RLIMIT_FSIZE: a write or fallocate past
	// it fails with EFBIG, and Go ignores SIGXFSZ), once while staging
	// (4 KiB: a pack archive does not fit) and once at the tar (half
	// the bundle). Each a clear error, exit 3, no bundle and no stage.
	if prlimit, err := exec.LookPath("prlimit"); err != nil {
		t.Log("no prlimit (util-linux): the full-disk export is not checked")
	} else {
		size := testutil.FileSize(t, filepath.Join(repo, "edge-bundle.tar"))
		full := t.TempDir()
		for _, limit := range []int64{4 << 10, size / 2} {
			cmd := exec.Command(prlimit, fmt.Sprintf("--fsize=%d", limit), filepath.Join(wrapDir, "packgen"), "airgap", "export", "edge.lock", filepath.Join(full, "edge-bundle.tar"))
			cmd.Dir, cmd.Env = repo, env
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "no space for the bundle: ") || !strings.Contains(string(out), "file too large") || !strings.Contains(string(out), "write the bundle to another disk") {
				t.Errorf("export under a %d-byte file size limit: %v\n%s", limit, err, out)
			}
			if es, _ := os.ReadDir(full); len(es) != 0 {
				t.Errorf("a full disk left %v", es)
			}
		}
	}

	// export --image-key: the packs' registry key is not the images'
	// signer's: refused (1), nothing written. Under the signer's key,
	// the unsigned busybox and backup are refused too (a key means
	// "must be signed", as for cosign verify --key), unless
	// --allow-unsigned-images.
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--image-key", "registry.pub"}, []string{"image signature does not verify"}},
		{[]string{"--image-key", cosignPub}, []string{"image carries no cosign signature: image " + up.Host() + "/library/busybox:1.36: ", "image " + up.Host() + "/acme/backup:v0.9: ", "--allow-unsigned-images"}},
	} {
		cmd = exec.Command(filepath.Join(wrapDir, "packgen"), append([]string{"airgap", "export", "edge.lock", "keyed.tar"}, c.args...)...)
		cmd.Dir, cmd.Env = repo, env
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || strings.Contains(string(out), "acme/web:2.0: --image-key") {
			t.Errorf("export %v: %v\n%s", c.args, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("export %v: no %q in\n%s", c.args, w, out)
			}
		}
		if _, err := os.Stat(filepath.Join(repo, "keyed.tar")); !os.IsNotExist(err) {
			t.Errorf("a refused export left keyed.tar (%v)", err)
		}
	}

	// Interrupted mid-export, the real binary: SIGINT once the stage
	// exists (the packs being read) and once its tar does (the images
	// being read and downloaded): exit 130, no bundle, no stage left.
	// SIGKILL leaves the stage (no process can remove it then): the
	// next export removes it and leaves its bundle alone.
	cut := t.TempDir()
	for _, c := range []struct {
		sig  os.Signal
		at   string // in the stage
		code int
	}{{os.Interrupt, "", 130}, {os.Interrupt, "bundle.tar", 130}, {os.Kill, "bundle.tar", -1}} {
		cmd := exec.Command(filepath.Join(wrapDir, "packgen"), "airgap", "export", "edge.lock", filepath.Join(cut, "b.tar"))
		var stderr bytes.Buffer
		cmd.Dir, cmd.Env, cmd.Stderr = repo, env, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for start := time.Now(); ; time.Sleep(time.Millisecond) {
			if m, _ := filepath.Glob(filepath.Join(cut, ".packgen-airgap-*", c.at)); len(m) != 0 {
				break
			}
			if time.Since(start) > time.Minute {
				cmd.Process.Kill()
				t.Fatalf("no stage after a minute\n%s", stderr.String())
			}
		}
		cmd.Process.Signal(c.sig)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != c.code || c.code > 0 && !strings.Contains(stderr.String(), "interrupted by SIGINT") {
			t.Errorf("%v at %q: exit %d, want %d\n%s", c.sig, c.at, code, c.code, stderr.String())
		}
		es, _ := os.ReadDir(cut)
		if c.sig == os.Kill {
			if len(es) == 0 {
				t.Error("SIGKILL left no stage: the next export's sweep is not tested")
			}
			break
		}
		if len(es) != 0 {
			t.Errorf("%v at %q left %v", c.sig, c.at, es)
		}
	}
	// Under -q (README: what -q keeps), the list digest alone on stdout:
	// what import --digest takes; the warnings stay on stderr. Under the
	// signer's key with --allow-unsigned-images: the same bundle, the
	// unsigned images a warning each.
	cmd = exec.Command(filepath.Join(wrapDir, "packgen"), "airgap", "export", "edge.lock", filepath.Join(cut, "b.tar"), "-q", "--image-key", cosignPub, "--allow-unsigned-images")
	cmd.Dir, cmd.Env = repo, env
	var qerr strings.Builder
	cmd.Stderr = &qerr
	if out, err := cmd.Output(); err != nil || string(out) != rep.Digest+"\n" || !strings.Contains(qerr.String(), "warning: image "+up.Host()+"/library/busybox:1.36 carries no cosign signature") {
		t.Fatalf("export -q after a killed one: %v\n%s\n%s", err, out, qerr.String())
	}
	if es, _ := os.ReadDir(cut); len(es) != 1 || es[0].Name() != "b.tar" || testutil.SHA256File(t, filepath.Join(cut, "b.tar")) != testutil.SHA256File(t, filepath.Join(repo, "edge-bundle.tar")) {
		t.Errorf("after a killed export and another: %v (the bundle alone, as the README's, expected)", es)
	}

	// Inside: another machine (its own config), upstream gone.
	up.Stop()
	inside := t.TempDir()
	for _, f := range []string{"edge-bundle.tar", "edge.lock", "registry.pub"} {
		data, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(inside, f), data, 0o644)
	}
	env = readmeEnv(t, wrapDir, "AIRGAP_REGISTRY="+air.Host())
	out = bash(t, inside, env, readmeBlock(t, "airgap-import"))
	swap := air.Host() + "/palette/spectro-images/" + strings.ReplaceAll(up.Host(), ":", "-")
	if !strings.Contains(out, up.Host()) || !strings.Contains(out, swap) || !strings.Contains(out, "2 packs, 4 images (0 already there)") {
		t.Errorf("import flow:\n%s", out)
	}
	for _, f := range []string{"cluster/web-1.0.0/values.yaml", "cluster/agent-2.1/manifests/agent.yaml"} {
		if _, err := os.Stat(filepath.Join(inside, f)); err != nil {
			t.Errorf("fetched from the air-gapped registry: %v\n%s", err, out)
		}
	}

	// JSON: the mapping, every image already there, the warnings list.
	runner := &testutil.Runner{T: t, Bin: filepath.Join(wrapDir, "packgen"), Dir: inside, Env: env}
	run := func(args ...string) (int, string, string) { return runner.Run(nil, args...) }
	dest := "oci://" + air.Host() + "/palette"
	code, stdout, stderr := run("airgap", "import", "edge-bundle.tar", dest, "--key", "registry.pub", "-o", "json")
	var doc struct {
		Mappings []struct{ From, To string }
		Images   []struct{ Present bool }
		Packs    []struct{ Ref string }
		Warnings []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); code != 0 || err != nil || len(doc.Mappings) != 1 || doc.Mappings[0].To != swap || len(doc.Images) != 4 || !doc.Images[0].Present || len(doc.Packs) != 2 || doc.Warnings == nil {
		t.Errorf("import -o json: exit %d (%v)\n%s\n%s", code, err, stdout, stderr)
	}

	// The air-gapped registry holds the exported releases only, under
	// the source's signed index (which also lists web 2.0 and v0.9, and
	// cache 1.0): list, info and verify --site read it as what it holds.
	code, stdout, stderr = run("list", "acme")
	if code != 0 || !strings.Contains(stdout, "web") || strings.Contains(stdout, "cache") || !strings.Contains(stderr, "is an air-gapped subset") {
		t.Errorf("list of the air-gapped registry: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run("info", "web", "--site", "acme"); code != 0 || strings.Contains(stdout, "v0.9") || !strings.Contains(stderr, "web@v0.9, web@2.0") {
		t.Errorf("info web: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := run("fetch", "cache@1.0", "-d", filepath.Join(inside, "cache"), "--registry", "acme"); code != 1 || !strings.Contains(stderr, "not in this air-gapped registry") {
		t.Errorf("fetch of a pack not exported: exit %d\n%s", code, stderr)
	}
	if code, stdout, _ := run("verify", "--site", "acme"); code != 1 || !strings.Contains(stdout, "Pass --subset") {
		t.Errorf("verify --site of the air-gapped registry: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := run("verify", "--site", "acme", "--subset", "-o", "json"); code != 0 || !strings.Contains(stdout, `"subset": {`) || !strings.Contains(stdout, `"releases": 3`) {
		t.Errorf("verify --site --subset: exit %d\n%s", code, stdout)
	}

	// --image-key: the images' signatures verify under the cosign key
	// that made them; under another key (the packs' registry key) the
	// import is refused, naming an image and its signature (1).
	// (Under -q: the image swap, which import exists to print, and the
	// warnings; no summary.)
	// An image with no signature under --image-key: refused (1), naming
	// it, unless --allow-unsigned-images.
	code, _, stderr = run("airgap", "import", "edge-bundle.tar", dest, "--key", "registry.pub", "--image-key", cosignPub)
	if code != 1 || !strings.Contains(stderr, "image carries no cosign signature: image "+up.Host()+"/library/busybox:1.36: ") || !strings.Contains(stderr, "--allow-unsigned-images") {
		t.Errorf("--image-key, unsigned images: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr = run("-q", "airgap", "import", "edge-bundle.tar", dest, "--key", "registry.pub", "--image-key", cosignPub, "--allow-unsigned-images")
	if code != 0 || !strings.Contains(stderr, "busybox:1.36 carries no cosign signature") {
		t.Errorf("--image-key of the image signer: exit %d\n%s", code, stderr)
	}
	if want := "image swap (original registry → air-gapped):\n  " + up.Host() + "  " + swap + "\n"; stdout != want {
		t.Errorf("import -q printed\n%q, want the image swap alone\n%q", stdout, want)
	}
	code, _, stderr = run("airgap", "import", "edge-bundle.tar", dest, "--key", "registry.pub", "--image-key", "registry.pub", "--image-key", "registry.pub")
	if code != 1 || !strings.Contains(stderr, "image signature does not verify: image "+up.Host()+"/acme/web:2.0: signature sha256-") || !strings.Contains(stderr, "no trusted key") {
		t.Errorf("--image-key of another key: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run("airgap", "import", "edge-bundle.tar", dest, "--key", "registry.pub", "--image-key", "edge.lock"); code != 2 || !strings.Contains(stderr, "--image-key") {
		t.Errorf("--image-key of no key: exit %d\n%s", code, stderr)
	}

	// Refusals: a damaged bundle (1), no key or -o json given as the
	// bundle (2), a registry that is down (3).
	data, _ := os.ReadFile(filepath.Join(inside, "edge-bundle.tar"))
	os.WriteFile(filepath.Join(inside, "cut.tar"), data[:len(data)/3], 0o644)
	if code, _, stderr := run("airgap", "import", "cut.tar", dest, "--key", "registry.pub"); code != 1 || !strings.Contains(stderr, "not an intact air-gap bundle") {
		t.Errorf("truncated bundle: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run("airgap", "import", "edge-bundle.tar", dest); code != 2 || !strings.Contains(stderr, "--key") {
		t.Errorf("no key: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run("airgap", "export", "edge.lock", "-o", "json"); code != 2 || !strings.Contains(stderr, "no bundle to write") {
		t.Errorf("export -o json without a bundle: exit %d\n%s", code, stderr)
	}
	// -o is the format, never the bundle (a tar named JSON once).
	for _, args := range [][]string{{"a.tar", "-o", "b.tar"}, {"-o", "JSON"}, {"-o", "b.tar"}} {
		if code, _, stderr := run(append([]string{"airgap", "export", "edge.lock"}, args...)...); code != 2 || !strings.Contains(stderr, "-o is the report's format (text or json); the bundle is the second argument") {
			t.Errorf("export %v: exit %d\n%s", args, code, stderr)
		}
	}
	if es, _ := filepath.Glob(filepath.Join(inside, "*")); len(es) != 5 {
		t.Errorf("a refused export wrote something: %v", es)
	}
	if code, _, stderr := run("airgap", "import", "edge-bundle.tar", dest, "--allow-unsigned-images", "--key", "registry.pub"); code != 2 || !strings.Contains(stderr, "--allow-unsigned-images goes with --image-key") {
		t.Errorf("--allow-unsigned-images alone: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run("airgap", "import", "edge-bundle.tar", "oci://127.0.0.1:1/palette", "--key", "registry.pub"); code != 3 || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Errorf("registry down: exit %d\n%s", code, stderr)
	}
}
