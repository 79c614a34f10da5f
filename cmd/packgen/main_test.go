package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/validate"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBinary()
	os.Exit(code)
}

// packgenBinary returns the real packgen binary, built once.
func packgenBinary(t *testing.T) string { return testutil.Binary(t) }

// examplesRepo makes a git repository at dir whose one commit holds
// examples/packs under packs/.
func examplesRepo(t *testing.T, dir string) *gitfixture.Repo {
	t.Helper()
	return examplesCommit(t, dir, "packs", nil)
}

// anotherHistory makes a git repository at dir whose one commit holds
// examples/packs and a README: the packs of examplesRepo in a history
// of its own, as a fork or an unrelated repository has them.
func anotherHistory(t *testing.T, dir string) *gitfixture.Repo {
	t.Helper()
	return examplesCommit(t, dir, "another history", map[string]string{"README.md": "another history\n"})
}

// examplesCommit makes a git repository at dir whose one commit, msg,
// holds examples/packs under packs/ and the files extra.
func examplesCommit(t *testing.T, dir, msg string, extra map[string]string) *gitfixture.Repo {
	t.Helper()
	repo, err := gitfixture.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../examples/packs")
	testutil.Must(t, repo.CopyDir(abs, "packs"))
	for rel, data := range extra {
		testutil.Must(t, repo.Write(rel, []byte(data)))
	}
	if _, err := repo.Commit(msg); err != nil {
		t.Fatal(err)
	}
	return repo
}

// run executes packgen in-process.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// inProcess points packgen run in-process (run) at tmp: the test key's
// password, cache and state below tmp, SOURCE_DATE_EPOCH now. It returns
// the registries file it passes as --config (tmp/registries.yaml, not
// written) and pg, which runs packgen with it and fails the test unless
// the exit code is want.
func inProcess(t *testing.T, tmp string) (cfg string, pg func(want int, args ...string) (string, string)) {
	t.Setenv("PACKGEN_PASSWORD", "pw")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(tmp, "cache"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(tmp, "state"))
	t.Setenv("SOURCE_DATE_EPOCH", fmt.Sprint(time.Now().Unix()))
	cfg = filepath.Join(tmp, "registries.yaml")
	return cfg, func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errs := run(t, append(args, "--config", cfg)...)
		if code != want {
			t.Fatalf("packgen %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, out, errs)
		}
		return out, errs
	}
}

// keyAndSite generates a registry key tmp/reg and builds the repository
// at repoDir, signed with it, into tmp/site (no catalogue) through pg; it
// returns the key's prefix and the site.
func keyAndSite(tmp, repoDir string, pg func(int, ...string) (string, string)) (key, site string) {
	key = filepath.Join(tmp, "reg")
	pg(0, "key", "generate", "--prefix", key)
	site = filepath.Join(tmp, "site")
	pg(0, "build", "--repo", repoDir, "--out", site, "--key", key+".key", "--no-site")
	return key, site
}

func TestValidateCommand(t *testing.T) {
	// A copy outside git: inside this repository, plain validate also
	// warns of the examples' versions its history edited without a bump
	// (validate/dirgit.go), which a shallow checkout cannot see.
	examples := filepath.Join(t.TempDir(), "packs")
	if err := os.CopyFS(examples, os.DirFS("../../examples/packs")); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "validate", examples)
	// Packs counted as build counts them (two versions of one pack are
	// one pack), with the directories read.
	if code != 0 || !strings.Contains(out, "9 packs in 10 directories, 0 errors, 0 warnings") {
		t.Fatalf("examples: %d %s", code, out)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "pack.json"), []byte("{\n  \"name\": \"x\",\n  \"version\": \"1.0.0\",\n  \"layer\": \"nope\"\n}\n"), 0o644)
	os.WriteFile(filepath.Join(bad, "values.yaml"), []byte("a: 1\n"), 0o644)
	code, out, _ = run(t, "validate", bad)
	if code != 1 || !strings.Contains(out, filepath.ToSlash(bad)+"/pack.json:4:12: error: layer \"nope\"") {
		t.Fatalf("invalid: %d %s", code, out)
	}
	code, out, _ = run(t, "validate", bad, "-o", "json")
	var rep validate.Report
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || rep.Errors != 1 || rep.Problems[len(rep.Problems)-1].Line != 4 || rep.Packs[0].Name != "x" {
		t.Fatalf("json: %d %s", code, out)
	}
	if code, _, errs := run(t, "validate", t.TempDir()); code != 2 || !strings.Contains(errs, "no pack found") {
		t.Fatalf("empty dir: %d %s", code, errs)
	}
	if code, _, _ := run(t, "validate", "--strict", examples); code != 0 {
		t.Fatal("strict on clean examples")
	}
}

func TestMisc(t *testing.T) {
	if code, out, _ := run(t, "--version"); code != 0 || !strings.HasPrefix(out, "packgen version ") {
		t.Errorf("--version: %d %q", code, out)
	}
	if code, out, _ := run(t, "schema"); code != 0 || !json.Valid([]byte(out)) {
		t.Errorf("schema: %d", code)
	}
	if code, _, errs := run(t, "validate", "--bogus"); code != 2 || !strings.Contains(errs, "unknown flag") {
		t.Errorf("unknown flag: %d %s", code, errs)
	}
	if code, _, _ := run(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: %d", code)
	}
	if code, out, _ := run(t, "completion", "bash"); code != 0 || !strings.Contains(out, "packgen") {
		t.Errorf("completion: %d", code)
	}
	for _, cmd := range []string{"validate", "build", "fetch", "verify", "serve", "new", "registry", "key", "list", "info", "search", "schema"} {
		if code, out, _ := run(t, cmd, "--help"); code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help has no examples", cmd)
		}
	}
}

func TestNewCommand(t *testing.T) {
	dir := t.TempDir()
	for _, layer := range []string{"os", "k8s", "cni", "csi", "addon"} {
		code, out, errs := run(t, "new", "my-"+layer, "--layer", layer, "-d", dir)
		if code != 0 {
			t.Fatalf("new %s: %s %s", layer, out, errs)
		}
	}
	code, _, errs := run(t, "new", "with-chart", "--layer", "addon", "--chart", "../../examples/packs/ingress-nginx-4.10.1/charts/ingress-nginx-4.10.1.tgz", "-d", dir)
	if code != 0 {
		t.Fatal(errs)
	}
	code, _, errs = run(t, "new", "with-manifests", "--layer", "cni", "--manifests", "../../examples/packs/calico-3.27.3/manifests", "-d", dir)
	if code != 0 {
		t.Fatal(errs)
	}
	if code, out, _ := run(t, "validate", "--strict", dir); code != 0 || !strings.Contains(out, "7 packs, 0 errors, 0 warnings") {
		t.Fatalf("scaffolds do not validate clean: %s", out)
	}
	if code, _, errs := run(t, "new", "my-os", "--layer", "os", "-d", dir); code != 2 || !strings.Contains(errs, "already exists") {
		t.Errorf("overwrite: %d %s", code, errs)
	}
	// --strict fails on a warning and says why "0 errors" exits 1, in
	// the plural's words (stranger5 findings 12).
	if code, _, errs := run(t, "new", "loose", "--layer", "addon", "--version", "v2", "-d", dir); code != 0 {
		t.Fatal(errs)
	}
	if code, out, _ := run(t, "validate", "--strict", dir); code != 1 || !strings.Contains(out, "8 packs, 0 errors, 1 warning (--strict: warnings count as errors)") {
		t.Errorf("--strict with a warning: exit %d\n%s", code, out)
	}
}

// TestEndToEnd drives the real binary: key, build from a git repo, serve on
// loopback, registry add, fetch, verify, and checks exit codes and that no
// Go panic ever reaches the user.
func TestEndToEnd(t *testing.T) {
	tmp := t.TempDir()
	r := testutil.NewRunner(t, tmp, testutil.Now())
	pg := func(want int, args ...string) string {
		t.Helper()
		out, errs := r.Want(want, args...)
		return out + errs
	}
	examplesRepo(t, filepath.Join(tmp, "repo"))
	pg(0, "key", "generate", "--prefix", "reg")
	out := pg(0, "build", "--repo", "repo", "--out", "site", "--key", "reg.key")
	if !strings.Contains(out, "10 releases (10 archived") {
		t.Fatalf("build: %s", out)
	}
	// The example packs' registry is exactly the repository: every
	// archive's files are git's, and rebuilt it is the same bytes.
	if out := pg(0, "verify", "--site", "site", "--key", "reg.pub", "--repo", "repo"); !strings.Contains(out, "10 releases compared with git and rebuilt, 0 problems") {
		t.Fatalf("rebuild check: %s", out)
	}
	// Building the same again takes the recorded short cut; --force not.
	if out := pg(0, "build", "--repo", "repo", "--out", "site", "--key", "reg.key"); !strings.Contains(out, "nothing to do") || !strings.Contains(out, "10 releases (0 archived, 10 reused") {
		t.Fatalf("second build: %s", out)
	}
	if out := pg(0, "build", "--repo", "repo", "--out", "site", "--key", "reg.key", "--force"); strings.Contains(out, "nothing to do") || !strings.Contains(out, "10 releases (0 archived, 10 reused") {
		t.Fatalf("build --force: %s", out)
	}
	// Not when a catalogue file in the out dir changed (attackS F1b: a
	// CI cache or a shared dir edits assets/app.js, which runs on every
	// page whatever the CSP; F1: a page planted in the out dir, its CSP
	// removed): the build runs and writes them again.
	appJS, page := filepath.Join(tmp, "site/assets/app.js"), filepath.Join(tmp, "site/packs/falco/index.html")
	genuineJS, genuinePage := testutil.ReadFile(t, appJS), testutil.ReadFile(t, page)
	testutil.Must(t, os.WriteFile(appJS, append(bytes.Clone(genuineJS), `document.title="PWNED"`...), 0o644))
	testutil.Must(t, os.WriteFile(page, bytes.Replace(genuinePage, []byte("<body>"), []byte("<body><script>document.title='PWNED'</script>"), 1), 0o644))
	if out := pg(0, "build", "--repo", "repo", "--out", "site", "--key", "reg.key"); strings.Contains(out, "nothing to do") || !strings.Contains(out, "site/assets/app.js holds bytes packgen did not write there") {
		t.Fatalf("build after assets/app.js changed: %s", out)
	}
	if !bytes.Equal(testutil.ReadFile(t, appJS), genuineJS) || !bytes.Equal(testutil.ReadFile(t, page), genuinePage) {
		t.Fatal("the build kept a changed assets/app.js or a planted page")
	}
	if out := pg(0, "build", "--repo", "repo", "--out", "site", "--key", "reg.key"); !strings.Contains(out, "nothing to do") {
		t.Fatalf("build after the catalogue was written again: %s", out)
	}
	// Uncommitted edits are not built, and the build says so.
	if err := os.WriteFile(filepath.Join(tmp, "repo/packs/calico-3.27.3/values.yaml.new"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := pg(0, "build", "--repo", "repo", "--out", "site", "--key", "reg.key"); !strings.Contains(out, "warning: 1 uncommitted change(s)") {
		t.Fatalf("build with an uncommitted file: %s", out)
	}
	os.Remove(filepath.Join(tmp, "repo/packs/calico-3.27.3/values.yaml.new"))
	addr := freePort(t)
	srv := exec.Command(r.Bin, "serve", "site", "--addr", addr)
	srv.Dir, srv.Env = tmp, r.Env
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	url := "http://" + addr
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal("server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, err := http.Get(url + "/" + build.StampFile); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the build record is served: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	pg(0, "registry", "add", "e2e", url, "--key", "reg.pub")
	if out := pg(0, "registry", "list", "-o", "json"); !strings.Contains(out, `"name": "e2e"`) {
		t.Fatalf("registry list: %s", out)
	}
	out = pg(0, "fetch", "calico@^3.27", "-d", "got/calico", "-o", "json")
	var res struct{ Version, Dest string }
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &res); err != nil || res.Version != "3.27.3" {
		t.Fatalf("fetch: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, "got/calico/manifests/calico.yaml")); err != nil {
		t.Fatal(err)
	}
	if out := pg(1, "fetch", "calico@^9"); !strings.Contains(out, "available: 3.27.3") {
		t.Fatalf("missing version: %s", out)
	}
	pg(2, "fetch", "calico", "-d", "got/calico") // exists
	pg(0, "verify", "--site", url, "--key", "reg.pub")
	pg(0, "verify", "site/packs/falco/4.2.5/falco-4.2.5.tar.gz", "--key", "reg.pub")
	pg(0, "verify", "site/packs/falco/4.2.5/falco-4.2.5.tar.gz", "--key", "reg.pub", "--signature", "site/packs/falco/4.2.5/falco-4.2.5.tar.gz.sigstore.json")
	pg(0, "search", "monitoring")
	pg(0, "info", "prometheus-operator", "--site", url)

	// Tamper with an archive: verify and fetch refuse it, exit 1.
	arch := filepath.Join(tmp, "site/packs/falco/4.2.5/falco-4.2.5.tar.gz")
	data, _ := os.ReadFile(arch)
	data[len(data)/2] ^= 1
	os.WriteFile(arch, data, 0o644)
	if out := pg(1, "verify", "--site", url, "--key", "reg.pub"); !strings.Contains(out, "falco-4.2.5.tar.gz: digest mismatch") {
		t.Fatalf("verify --site after tampering: %s", out)
	}
	pg(1, "fetch", "falco", "-d", "got/falco")
	if _, err := os.Stat(filepath.Join(tmp, "got/falco")); !os.IsNotExist(err) {
		t.Fatal("DEST created by a failed fetch")
	}
	pg(1, "verify", arch, "--key", "reg.pub")
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var _ = context.Background

func TestValidateChangedSince(t *testing.T) {
	r, err := gitfixture.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	write := func(dir, version, values string) {
		r.Write(dir+"/pack.json", []byte(fmt.Sprintf(`{"name": %q, "version": %q, "layer": "cni", "displayName": "x", "cloudTypes": ["all"]}`, filepath.Base(dir), version)))
		r.Write(dir+"/values.yaml", []byte(values))
	}
	write("packs/a", "1.0.0", "a: 1\n")
	write("packs/b", "1.0.0", "b: 1\n")
	write("packs/c", "2.0.0", "c: 1\n")
	base, _ := r.Commit("base")
	write("packs/a", "1.0.0", "a: 2\n") // changed, no bump
	write("packs/b", "1.1.0", "b: 2\n") // bumped: fine
	write("packs/c", "1.9.0", "c: 1\n") // went down
	write("packs/d", "0.1.0", "d: [\n") // new and broken
	// Copied to start a new version, but not bumped.
	write("packs/b-copy", "1.0.0", "b: 3\n")
	r.Write("packs/b-copy/pack.json", []byte(`{"name": "b", "version": "1.0.0", "layer": "cni", "displayName": "x", "cloudTypes": ["all"]}`))
	r.Commit("change")
	code, out, errs := run(t, "validate", "--repo", r.Dir, "--changed-since", base)
	if code != 1 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{
		"5 pack(s) changed since",
		"packs/a/pack.json:1:26: error: the content of a@1.0.0 changed but its version did not",
		"packs/c/pack.json:1:26: error: version went down from 2.0.0 to 1.9.0",
		"packs/b-copy/pack.json:1:26: error: b@1.0.0 already exists in packs/b with other content",
		"packs/d/values.yaml:2: error: invalid YAML",
		"4 packs in 5 directories, 4 errors",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "packs/b/pack.json: error") {
		t.Errorf("bumped pack reported: %s", out)
	}
	code, out, _ = run(t, "validate", "--repo", r.Dir, "--changed-since", base, "--format", "github")
	if code != 1 || !strings.Contains(out, "::error file=packs/a/pack.json,line=1,col=26::the content of a@1.0.0 changed") || !strings.Contains(out, "::error file=packs/d/values.yaml,line=2::invalid YAML") {
		t.Errorf("github annotations: %s", out)
	}
	if code, _, errs := run(t, "validate", "--repo", r.Dir, "--changed-since", "no-such-ref"); code == 0 || !strings.Contains(errs, "fetch-depth: 0") {
		t.Errorf("bad ref: %d %s", code, errs)
	}
	if code, out, _ := run(t, "validate", "--repo", r.Dir, "--changed-since", "HEAD"); code != 0 || !strings.Contains(out, "0 pack(s) changed") {
		t.Errorf("no change: %d %s", code, out)
	}
	// cp -r packs/a packs/a-copy, not committed and not bumped: the
	// build of the commit would refuse a@1.0.0 in two directories.
	if err := r.CopyDir(filepath.Join(r.Dir, "packs", "a"), "packs/a-copy"); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, "validate", "--repo", r.Dir, "--changed-since", "HEAD"); code != 1 || !strings.Contains(out, "packs/a-copy/pack.json:1:26: error: a@1.0.0 is also defined by packs/a: ") {
		t.Errorf("untracked copy: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, "validate", "--repo", r.Dir, "--changed-since", "HEAD", "--committed"); code != 0 {
		t.Errorf("untracked copy, --committed: exit %d\n%s", code, out)
	}
}
