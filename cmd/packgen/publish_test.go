package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/privkey"
	"github.com/packgen/packgen/internal/s3test"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/publish"
	"gopkg.in/yaml.v3"
)

// publishFixture is a signed pack repository with two generations built:
// site1, then site2 (built from site1: two bumps and two new packs).
type publishFixture struct {
	tmp, key, pub, site1, site2 string
}

// The fixture is made with the compiled binary: without the race
// detector, decrypting the key for each build costs milliseconds, not
// seconds.
func newPublishFixture(t *testing.T, bin string) *publishFixture {
	t.Helper()
	runner := &testutil.Runner{T: t, Bin: bin, Env: append(os.Environ(), "PACKGEN_PASSWORD="+testutil.Password, "SOURCE_DATE_EPOCH=")}
	pg := func(args ...string) (int, string, string) {
		if args[0] == "build" {
			// The fixture's commits are dated 2024: without a long
			// expiry the registry is expired, which verify reports.
			args = append(args, "--expires", "100000h")
		}
		return runner.Run(nil, args...)
	}
	tmp := t.TempDir()
	f := &publishFixture{tmp: tmp, key: filepath.Join(tmp, "reg.key"), pub: filepath.Join(tmp, "reg.pub"), site1: filepath.Join(tmp, "site1"), site2: filepath.Join(tmp, "site2")}
	if code, out, errs := pg("key", "generate", "--prefix", filepath.Join(tmp, "reg")); code != 0 {
		t.Fatalf("key generate: %s %s", out, errs)
	}
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, version, values string) {
		r.Write("packs/"+name+"/pack.json", []byte(fmt.Sprintf(`{"name": %q, "version": %q, "layer": "addon", "addonType": "monitoring", "displayName": "x", "cloudTypes": ["all"]}`, name, version)))
		r.Write("packs/"+name+"/values.yaml", []byte(values))
	}
	for _, n := range []string{"alpha", "beta", "gamma"} {
		write(n, "1.0.0", n+": 1\n")
	}
	r.Commit("gen1")
	if code, out, errs := pg("build", "--repo", r.Dir, "--out", f.site1, "--key", f.key, "--name", "crash"); code != 0 {
		t.Fatalf("build 1: %s %s", out, errs)
	}
	write("alpha", "1.1.0", "alpha: 2\n")
	write("beta", "2.0.0", "beta: 2\n")
	write("delta", "0.1.0", "delta: 1\n")
	write("epsilon", "0.1.0", "epsilon: 1\n")
	r.Commit("gen2")
	if code, out, errs := pg("build", "--repo", r.Dir, "--out", f.site2, "--previous", f.site1, "--key", f.key, "--name", "crash"); code != 0 {
		t.Fatalf("build 2: %s %s", out, errs)
	}
	return f
}

func siteSerial(t *testing.T, site string) int64 {
	t.Helper()
	return testutil.ReadRoot(t, site).Serial
}

func liveSerial(t *testing.T, base string) int64 {
	t.Helper()
	return testutil.FetchRoot(t, base).Serial
}

func testPublishCommand(t *testing.T, f *publishFixture) {
	srv := s3test.Start(t, "packs")
	dest := "s3://packs/reg"
	base := srv.URL() + "/reg"

	// Dry run against an empty bucket: lists, changes nothing.
	code, out, errs := run(t, "publish", f.site1, dest, "--endpoint", srv.Server.URL, "--dry-run")
	if code != 0 || !strings.Contains(out, "would upload index.json\n") || !strings.Contains(out, "dry run: ") || len(srv.PutOrder()) != 0 {
		t.Fatalf("dry run: %d %s %s", code, out, errs)
	}
	// The endpoint from AWS_ENDPOINT_URL, path style by default.
	t.Setenv("AWS_ENDPOINT_URL", srv.Server.URL)
	code, out, errs = run(t, "publish", f.site1, dest)
	if code != 0 || !strings.Contains(out, "published "+f.site1+" to s3://packs/reg: ") || !strings.Contains(out, ", first publish)") {
		t.Fatalf("publish: %d %s %s", code, out, errs)
	}
	if code, out, errs := run(t, "verify", "--site", base, "--key", f.pub); code != 0 {
		t.Fatalf("verify: %s %s", out, errs)
	}
	code, out, _ = run(t, "publish", f.site2, dest, "-o", "json")
	var res publish.Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Serial != siteSerial(t, f.site2) || res.RemoteSerial != siteSerial(t, f.site1) || res.Uploaded[len(res.Uploaded)-2] != "index.json" || res.Uploaded[len(res.Uploaded)-1] != "log/checkpoint" {
		t.Fatalf("json: %d %s", code, out)
	}

	// The next generation built without --key: no client holding the
	// registry's key would accept it.
	unsigned := filepath.Join(t.TempDir(), "unsigned")
	if code, out, errs := run(t, "build", "--repo", filepath.Join(f.tmp, "repo"), "--out", unsigned, "--name", "crash", "--expires", "100000h"); code != 0 {
		t.Fatalf("unsigned build: %s %s", out, errs)
	}
	// A page and the catalogue's manifest edited together between build
	// and publish: only the registry's public key tells.
	tampered := filepath.Join(t.TempDir(), "tampered")
	testutil.CopyDir(t, f.site2, tampered)
	testutil.EditCataloguePage(t, tampered, "packs/alpha/index.html", []byte("<script>evil()</script>"))
	other := filepath.Join(t.TempDir(), "other.pub")
	testutil.Must(t, os.WriteFile(other, testutil.NewKey(t).Pub, 0o644))
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unsigned over signed", []string{unsigned, dest, "--force"}, 1, "the site is unsigned (built without --key)"},
		{"page and manifest edited", []string{tampered, dest, "--source-key", f.pub}, 1, "the manifest or its signature was changed after the build; nothing was published"},
		{"source key of another registry", []string{f.site2, t.TempDir(), "--source-key", other}, 1, "index.json does not verify under --source-key"},
		{"source key missing", []string{f.site2, t.TempDir(), "--source-key", filepath.Join(f.tmp, "nope.pub")}, 2, "--source-key"},
		{"key for a directory", []string{f.site2, t.TempDir(), "--key", f.key, "--dry-run"}, 2, "--key is for oci://REGISTRY/BASE"},
		{"oci flags for s3", []string{f.site2, dest, "--plain-http", "--ca-file", "/nonexist.pem", "--username", "bob"}, 2, "--ca-file is for oci://REGISTRY/BASE; --plain-http is for oci://REGISTRY/BASE; --username is for oci://REGISTRY/BASE"},
		{"endpoint for oci", []string{f.site2, "oci://127.0.0.1:1/acme", "--endpoint", "http://x"}, 2, "--endpoint is for s3://BUCKET/PREFIX"},
		{"rollback", []string{f.site1, dest}, 1, "lower than the serial"},
		{"behind the log anchor", []string{f.site1, dest, "--force", "--log-anchor", filepath.Join(f.site2, "log", "checkpoint")}, 1, "the log does not extend the log anchor: the anchor's tree has"},
		{"no log anchor", []string{f.site2, dest, "--log-anchor", filepath.Join(f.tmp, "nope")}, 2, "--log-anchor: "},
		{"not a site", []string{t.TempDir(), dest}, 1, "build one with `packgen build --out "},
		{"bad url", []string{f.site2, "s3:///x"}, 2, "not an s3://BUCKET/PREFIX URL"},
		{"other scheme", []string{f.site2, "https://example.com/x"}, 2, "give oci://REGISTRY/BASE, s3://BUCKET/PREFIX"},
		{"bad endpoint", []string{f.site2, dest, "--endpoint", "127.0.0.1:1"}, 2, "not an http(s):// URL"},
		{"missing bucket", []string{f.site2, "s3://nope/x"}, 3, `bucket "nope" does not exist`},
		{"args", []string{f.site2}, 2, "accepts 2 arg"},
		{"output", []string{f.site2, dest, "-o", "yaml"}, 2, "unknown output format"},
	} {
		code, out, errs := run(t, append([]string{"publish"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, want %d; %s %s", c.name, code, c.code, out, errs)
		}
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if code, _, errs := run(t, "publish", f.site2, dest); code != 3 || !strings.Contains(errs, "refused the credentials (SignatureDoesNotMatch)") {
		t.Errorf("bad credentials: %d %s", code, errs)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	if code, _, errs := run(t, "publish", f.site1, dest, "--force"); code != 0 || liveSerial(t, base) != siteSerial(t, f.site1) {
		t.Errorf("--force rollback: %d %s", code, errs)
	}
	// A plain directory and file:// work the same way.
	dir := filepath.Join(t.TempDir(), "www")
	if code, _, errs := run(t, "publish", f.site2, "file://"+filepath.ToSlash(dir)); code != 0 {
		t.Fatalf("file://: %s", errs)
	}
	if code, out, _ := run(t, "publish", f.site2, dir, "--source-key", f.pub); code != 0 || !strings.Contains(out, " 0 uploaded") {
		t.Fatalf("dir republish: %s", out)
	}
}

// TestPublish drives publishing through the command in-process, through a
// real binary killed mid-publish, and through the README's walkthrough,
// sharing one compiled binary and one pair of built sites.
func TestPublish(t *testing.T) {
	bin := packgenBinary(t)
	f := newPublishFixture(t, bin)
	t.Run("Command", func(t *testing.T) { testPublishCommand(t, f) })
	t.Run("CrashSafety", func(t *testing.T) { testCrashSafety(t, bin, f) })
	t.Run("OCICrashSafety", func(t *testing.T) { testOCICrashSafety(t, bin, f) })
	t.Run("READMEGitOps", func(t *testing.T) { testREADMEGitOps(t, bin) })
	t.Run("Action", func(t *testing.T) { testAction(t, bin) })
}

// testCrashSafety kills a real `packgen publish` process (SIGKILL)
// at many points of uploading generation 2 over generation 1, and checks
// after each kill with `packgen verify --site`, over plain HTTP from the
// S3 server, that the registry verifies fully and serves generation 1 or
// generation 2. The server lives in the test process and survives the
// publisher's death, as a real store would.
func testCrashSafety(t *testing.T, bin string, f *publishFixture) {
	srv := s3test.Start(t, "packs")
	env := append(os.Environ(), "AWS_ENDPOINT_URL="+srv.Server.URL)
	start := time.Now()
	serial1, serial2 := siteSerial(t, f.site1), siteSerial(t, f.site2)
	ctx := context.Background()
	s3o := publish.S3Options{Endpoint: srv.Server.URL, PathStyle: true}

	// How many uploads generation 2 takes over generation 1.
	if _, err := publish.To(ctx, f.site1, "s3://packs/plan", publish.DestOptions{S3: s3o}, publish.Options{}); err != nil {
		t.Fatal(err)
	}
	plan, err := publish.To(ctx, f.site2, "s3://packs/plan", publish.DestOptions{S3: s3o}, publish.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	total := len(plan.Uploaded)
	if total < 10 {
		t.Fatalf("generation 2 uploads only %d files", total)
	}

	// After a kill the registry (every file clients read) verifies; the
	// catalogue's pages are mutable and switch one by one, so they may
	// not match the live signed manifest until a publish completes
	// (docs/FORMAT.md, "The catalogue's manifest"): those problems, and
	// none other, are allowed then, never after a completed publish.
	verify := func(base string, completed bool) {
		t.Helper()
		cmd := exec.Command(bin, "verify", "--site", base, "--key", f.pub, "-o", "json")
		cmd.Env = env
		out, err := cmd.Output()
		if err == nil {
			return
		}
		var rep struct{ Problems []struct{ File string } }
		if json.Unmarshal(out, &rep) != nil || len(rep.Problems) == 0 || completed {
			t.Fatalf("verify --site %s (completed %v): %v\n%s", base, completed, err, out)
		}
		for _, p := range rep.Problems {
			if k := index.KindOf(p.File); k != index.KindOther && k != index.KindCatalogue && k != index.KindCatalogueSignature {
				t.Fatalf("verify --site %s after the kill: a problem with %s, a registry file:\n%s", base, p.File, out)
			}
		}
	}
	var mu sync.Mutex
	var prefix string
	var victim *os.Process
	var seen int
	killAt := 0
	srv.OnPut = func(p string, _ int) {
		mu.Lock()
		defer mu.Unlock()
		if victim == nil || !strings.HasPrefix(p, "/packs/"+prefix+"/") {
			return
		}
		seen++
		if seen == killAt {
			victim.Kill() // SIGKILL: no cleanup, no deferred code
		}
	}
	outcomes := map[int64]int{}
	points := []int{1, 2, 3, total / 3, total / 2, total - 3, total - 2, total - 1, total}
	for _, n := range points {
		p := fmt.Sprintf("kill%d", n)
		if _, err := publish.To(ctx, f.site1, "s3://packs/"+p, publish.DestOptions{S3: s3o}, publish.Options{}); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "publish", f.site2, "s3://packs/"+p, "--jobs", "3")
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		// Started under the lock, so the server's hook sees the process.
		mu.Lock()
		prefix, seen, killAt = p, 0, n
		if err := cmd.Start(); err != nil {
			mu.Unlock()
			t.Fatal(err)
		}
		victim = cmd.Process
		mu.Unlock()
		err := cmd.Wait()
		mu.Lock()
		victim = nil
		mu.Unlock()
		if err == nil && n < total {
			t.Fatalf("publish finished although killed at upload %d of %d:\n%s", n, total, out.String())
		}
		base := srv.URL() + "/" + p
		verify(base, false)
		s := liveSerial(t, base)
		if s != serial1 && s != serial2 {
			t.Fatalf("after a kill at upload %d the remote serves serial %d, neither %d nor %d", n, s, serial1, serial2)
		}
		outcomes[s]++

		// Publishing again finishes the job, uploading only what is missing.
		srv.Reset()
		cmd = exec.Command(bin, "publish", f.site2, "s3://packs/"+p, "-o", "json")
		cmd.Env = env
		res, err := cmd.Output()
		if err != nil {
			t.Fatalf("resume after kill at %d: %v %s", n, err, res)
		}
		var r publish.Result
		json.Unmarshal(res, &r)
		if n > 3 && n < total && len(r.Uploaded) >= total {
			t.Errorf("resume after kill at %d re-uploaded %d of %d files", n, len(r.Uploaded), total)
		}
		verify(base, true)
		if s := liveSerial(t, base); s != serial2 {
			t.Fatalf("resumed publish serves serial %d", s)
		}
	}
	if outcomes[serial1] == 0 {
		t.Errorf("no kill left generation 1 live: %v", outcomes)
	}
	t.Logf("%d kill points over %d uploads: %d left generation 1, %d generation 2; %s", len(points), total, outcomes[serial1], outcomes[serial2], time.Since(start).Round(time.Millisecond))
}

// ghStep is a step of a GitHub workflow's job or of a composite action:
// the fields the tests read.
type ghStep struct {
	ID    string            `yaml:"id"`
	Name  string            `yaml:"name"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Uses  string            `yaml:"uses"`
	With  map[string]string `yaml:"with"`
	Env   map[string]string `yaml:"env"`
}

// ghWorkflow is what the tests read of a GitHub workflow file.
type ghWorkflow struct {
	On struct {
		Schedule []struct{ Cron string } `yaml:"schedule"`
	} `yaml:"on"`
	Jobs map[string]struct {
		Steps []ghStep `yaml:"steps"`
	} `yaml:"jobs"`
}

// readWorkflow reads and decodes the workflow file at p.
func readWorkflow(t *testing.T, p string) ghWorkflow {
	t.Helper()
	var wf ghWorkflow
	if err := yaml.Unmarshal(testutil.ReadFile(t, p), &wf); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return wf
}

// TestWorkflowsAndAction checks what actionlint cannot: action.yml's shape
// (actionlint lints workflows, not action metadata), and that every
// packgen command line in the workflows and the action names a real
// command with real flags, so the GitOps example cannot drift from the CLI.
func TestWorkflowsAndAction(t *testing.T) {
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
		Inputs      map[string]struct {
			Description string `yaml:"description"`
			Required    *bool  `yaml:"required"`
			Default     *string
		} `yaml:"inputs"`
		Outputs map[string]struct {
			Description string `yaml:"description"`
			Value       string `yaml:"value"`
		} `yaml:"outputs"`
		Runs struct {
			Using string   `yaml:"using"`
			Steps []ghStep `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if action.Name == "" || action.Description == "" || action.Runs.Using != "composite" || len(action.Runs.Steps) == 0 {
		t.Fatalf("action.yml needs name, description and composite steps: %+v", action)
	}
	ids := map[string]bool{}
	for i, s := range action.Runs.Steps {
		if (s.Run == "") == (s.Uses == "") || (s.Run != "" && s.Shell == "") {
			t.Errorf("action.yml step %d: a composite step needs run with shell, or uses", i)
		}
		ids[s.ID] = true
	}
	for name, in := range action.Inputs {
		if in.Description == "" {
			t.Errorf("action.yml input %s has no description", name)
		}
	}
	for _, m := range regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(string(data), -1) {
		if _, ok := action.Inputs[m[1]]; !ok {
			t.Errorf("action.yml uses undeclared input %s", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`steps\.([A-Za-z0-9_-]+)\.outputs`).FindAllStringSubmatch(string(data), -1) {
		if !ids[m[1]] {
			t.Errorf("action.yml refers to unknown step %s", m[1])
		}
	}

	files, _ := filepath.Glob("../../.github/workflows/*.yml")
	examples, _ := filepath.Glob("../../examples/gitops/.github/workflows/*.yml")
	if len(files) == 0 || len(examples) < 3 {
		t.Fatalf("workflows: %v %v", files, examples)
	}
	checked := 0
	for _, file := range append(files, examples...) {
		wf := readWorkflow(t, file)
		published := false
		for job, j := range wf.Jobs {
			var dests []string // where this job's publishes went, so far
			for _, s := range j.Steps {
				var lines []string
				if strings.HasPrefix(s.Uses, "packgen/packgen@") && s.With["args"] != "" {
					lines = append(lines, s.With["args"])
				}
				for _, l := range strings.Split(s.Run, "\n") {
					if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "packgen "); ok {
						lines = append(lines, rest)
					}
				}
				for _, l := range lines {
					if err := checkCommandLine(l); err != nil {
						t.Errorf("%s job %s: packgen %s: %v", filepath.Base(file), job, l, err)
					}
					checked++
					// A publish of the example's signed registry has its
					// signatures checked before anything goes out: under
					// --source-key (a tree of files: a bucket, the Pages
					// directory) or the signing key's public half (oci://).
					if f := strings.Fields(l); len(f) >= 3 && f[0] == "publish" && !slices.Contains(f, "--dry-run") {
						published = true
						dests = append(dests, f[2])
						if !slices.Contains(f, "--source-key") && !slices.Contains(f, "--key") {
							t.Errorf("%s job %s: packgen %s: publishes the signed registry without --source-key", filepath.Base(file), job, l)
						}
					}
				}
				// Pages serves only what a publish checked, never the
				// build's out dir as it lies (attackV F7: files added
				// beside the catalogue; the build record).
				if strings.HasPrefix(s.Uses, "actions/upload-pages-artifact@") && !slices.Contains(dests, s.With["path"]) {
					t.Errorf("%s job %s: the Pages artifact is %q, not what a packgen publish before it wrote (%q)", filepath.Base(file), job, s.With["path"], dests)
				}
			}
		}
		if strings.HasPrefix(filepath.Base(file), "publish-") && !published {
			t.Errorf("%s runs no packgen publish: none of its checks apply to what it serves", filepath.Base(file))
		}
	}
	if checked < 6 {
		t.Errorf("only %d packgen command lines found in the workflows", checked)
	}
	if code, out, _ := run(t, "validate", "--strict", "../../examples/gitops/packs"); code != 0 {
		t.Errorf("the GitOps example's packs: %s", out)
	}
}

// checkCommandLine resolves a packgen command line against the real
// command tree and checks each --flag exists there.
func checkCommandLine(line string) error {
	var args []string
	for _, f := range strings.Fields(line) {
		args = append(args, strings.Trim(f, `"'`))
	}
	g := &globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	cmd, rest, err := newRoot(g).Find(args)
	if err != nil {
		return err
	}
	if cmd.Parent() == nil {
		return fmt.Errorf("no such command %q", args[0])
	}
	for _, a := range rest {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if strings.HasPrefix(a, "--") && cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil {
			return fmt.Errorf("%s has no flag --%s", cmd.CommandPath(), name)
		}
	}
	return nil
}

// testREADMEGitOps runs the README's "GitOps in five minutes" block, line
// for line, with bash, the real binary on PATH, git, and an S3 server on
// loopback standing in for the bucket.
func testREADMEGitOps(t *testing.T, bin string) {
	needGit(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- gitops-five-minutes -->\n```sh\n")
	if !ok {
		t.Fatal("README has no gitops-five-minutes block")
	}
	block, _, _ = strings.Cut(block, "```")
	srv := s3test.Start(t, "my-packs")
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	os.MkdirAll(home, 0o755)
	env := append(os.Environ(),
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home, "XDG_CONFIG_HOME="+home+"/.config", "XDG_CACHE_HOME="+home+"/.cache", "XDG_STATE_HOME="+home+"/.state",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Pat Packer", "GIT_AUTHOR_EMAIL=pat@example.invalid", "GIT_COMMITTER_NAME=Pat Packer", "GIT_COMMITTER_EMAIL=pat@example.invalid",
		"AWS_ENDPOINT_URL="+srv.Server.URL,
		"BUCKET=s3://my-packs/registry", "REGISTRY_URL="+srv.URL()+"/registry",
		"SOURCE_DATE_EPOCH=",
	)
	cmd := exec.Command("bash", "-euo", "pipefail", "-x", "-c", block)
	cmd.Dir, cmd.Env = tmp, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README block failed: %v\n%s", err, out)
	}
	if os.Getenv("PACKGEN_DEBUG_README") != "" {
		t.Logf("%s", out)
	}
	if !strings.Contains(string(out), "1 pack, 0 errors") {
		t.Errorf("the PR check did not validate the new pack:\n%s", out)
	}
	for _, f := range []string{"hello/values.yaml", "hello-0.2/values.yaml"} {
		if _, err := os.Stat(filepath.Join(tmp, f)); err != nil {
			t.Errorf("fetched pack missing: %v\n%s", err, out)
		}
	}
	// Nothing secret or generated was committed, on any branch, ever
	// (issue 17 item 1): the private key, the site, its build record.
	git := exec.Command("git", "log", "--all", "--name-only", "--format=")
	git.Dir, git.Env = filepath.Join(tmp, "packs-repo"), env
	names, err := git.Output()
	if err != nil {
		t.Fatal(err)
	}
	committed := strings.Fields(string(names))
	if len(committed) == 0 {
		t.Fatal("no file committed")
	}
	for _, f := range committed {
		if strings.HasSuffix(f, ".key") || strings.HasPrefix(f, "site/") || strings.Contains(f, ".packgen-build") || strings.HasPrefix(f, "hello/") {
			t.Errorf("the README flow committed %s", f)
		}
	}
	if key, err := os.ReadFile(filepath.Join(tmp, "packs-repo", "registry.key")); err != nil || !privkey.IsPEM(key) {
		t.Errorf("registry.key is not where the README's later lines expect it: %v", err)
	}
	if s := liveSerial(t, srv.URL()+"/registry"); s == 0 {
		t.Error("nothing published")
	}
	// The CI lines after the flow run with the README's password export.
	var export string
	for _, l := range strings.Split(block, "\n") {
		if strings.HasPrefix(l, "export PACKGEN_PASSWORD=") {
			export, _, _ = strings.Cut(l, "#")
		}
	}
	attackPrevious(t, srv, filepath.Join(tmp, "packs-repo"), env, export)
}

// attackPrevious plays an attacker who can write the bucket but has no
// key, against the README's next CI build (`packgen build ... --previous
// "$REGISTRY_URL"`): the build must refuse, exit 1, and sign nothing.
func attackPrevious(t *testing.T, srv *s3test.Server, repo string, env []string, export string) {
	sh := func(script string) (string, int) {
		t.Helper()
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", export+"\n"+script)
		cmd.Dir, cmd.Env = repo, env
		out, err := cmd.CombinedOutput()
		code := testutil.ExitCode(t, err)
		return string(out), code
	}
	const ciBuild = `packgen build --packs-dir packs --out ci-site --key registry.key --previous "$REGISTRY_URL"`
	upload := func(dir string) {
		t.Helper()
		testutil.EachFile(t, dir, func(rel string, data []byte) error {
			srv.Tamper(t, "registry/"+rel, data)
			return nil
		})
	}
	published := filepath.Join(repo, "site")
	// First, as a third party would: the published registry is exactly
	// the repository (the rebuild check).
	if out, code := sh(`packgen verify --site "$REGISTRY_URL" --key registry.pub --repo .`); code != 0 || !strings.Contains(out, "compared with git and rebuilt, 0 problems") {
		t.Errorf("rebuild check of the published registry: exit %d\n%s", code, out)
	}

	// (b) an existing version's archive replaced in the bucket.
	archive := "packs/hello/0.1.0/hello-0.1.0.tar.gz"
	evil := testutil.Flipped(t, filepath.Join(published, archive))
	srv.Tamper(t, "registry/"+archive, evil)
	if out, code := sh(ciBuild); code != 1 || !strings.Contains(out, "digest mismatch") {
		t.Errorf("replaced archive: exit %d, want 1 (digest mismatch)\n%s", code, out)
	}
	upload(published)

	// (a) evil@6.6.6 added: the attacker builds a site of the packs plus
	// their own, unsigned, and uploads it over the registry.
	if out, code := sh(`git clone -q . ../evil-repo && cd ../evil-repo &&
packgen new evil --layer addon --addon-type security --version 6.6.6 -d packs >/dev/null &&
git add packs && git commit -qm evil &&
SOURCE_DATE_EPOCH=4102444800 packgen -q build --packs-dir packs --out ../evil-site --no-site`); code != 0 {
		t.Fatalf("attacker's build: %s", out)
	}
	upload(filepath.Join(filepath.Dir(repo), "evil-site"))
	if out, code := sh(ciBuild); code != 1 || !strings.Contains(out, "not signed by a trusted key") {
		t.Errorf("evil@6.6.6 beside the old signatures: exit %d, want 1 (not signed by a trusted key)\n%s", code, out)
	}
	// The same passed off as an unsigned registry: every signature gone.
	srv.Tamper(t, "registry/index.json.sig", nil)
	srv.Tamper(t, "registry/index.json.sigstore.json", nil)
	filepath.WalkDir(filepath.Join(published, "signatures"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(published, p)
			srv.Tamper(t, "registry/"+filepath.ToSlash(rel), nil)
		}
		return err
	})
	// The signed registry replaced by an unsigned one: the build will
	// not start a new log over it unasked (attackS F7) ...
	if out, code := sh(ciBuild); code != 2 || !strings.Contains(out, "would start a new transparency log") || !strings.Contains(out, "--new-log") || strings.Contains(out, "for usage") {
		t.Errorf("signing over an unsigned-looking registry: exit %d, want 2 (a new log, unasked; no usage footer)\n%s", code, out)
	}
	// ... and, told to, still signs nothing on its word.
	if out, code := sh(ciBuild + " --new-log"); code != 1 || !strings.Contains(out, "evil@6.6.6") || !strings.Contains(out, "will not sign it") {
		t.Errorf("evil@6.6.6 in an unsigned-looking registry: exit %d, want 1 (refused, not signed)\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(repo, "ci-site")); !os.IsNotExist(err) {
		t.Error("a refused build wrote its out dir")
	}
}

// testAction runs action.yml's step scripts with bash the way a runner
// does (the GitHub Actions environment contract: RUNNER_*, GITHUB_PATH,
// GITHUB_OUTPUT, inputs passed as env), installing from a loopback
// "release" that serves the real binary and its SHA256SUMS.
func testAction(t *testing.T, bin string) {
	if runtime.GOOS == "windows" {
		t.Skip("the action's scripts run in bash")
	}
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Runs struct {
			Steps []ghStep `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil || len(action.Runs.Steps) != 2 {
		t.Fatalf("action.yml: %v", err)
	}
	install, runStep := action.Runs.Steps[0].Run, action.Runs.Steps[1].Run
	binary, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	asset := "packgen-" + runtime.GOOS + "-" + runtime.GOARCH
	sum := sha256.Sum256(binary)
	var sumsMu sync.Mutex
	sums := hex.EncodeToString(sum[:]) + "  " + asset + "\n"
	release := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/packgen/packgen/releases/latest/download/" + asset:
			w.Write(binary)
		case "/packgen/packgen/releases/latest/download/SHA256SUMS":
			sumsMu.Lock()
			io.WriteString(w, sums)
			sumsMu.Unlock()
		default:
			http.NotFound(w, r)
		}
	}))
	defer release.Close()
	runnerOS := map[string]string{"linux": "Linux", "darwin": "macOS"}[runtime.GOOS]
	runnerArch := map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	if runnerOS == "" || runnerArch == "" {
		t.Skip("no GitHub runner for", runtime.GOOS, runtime.GOARCH)
	}
	tmp := t.TempDir()
	step := func(script string, env ...string) (string, error) {
		cmd := exec.Command("bash", "-e", "-c", script)
		cmd.Env = append(os.Environ(), append([]string{
			"RUNNER_OS=" + runnerOS, "RUNNER_ARCH=" + runnerArch, "RUNNER_TEMP=" + tmp,
			"GITHUB_PATH=" + filepath.Join(tmp, "path"), "GITHUB_OUTPUT=" + filepath.Join(tmp, "output"),
		}, env...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	installEnv := []string{"PACKGEN_VERSION=latest", "PACKGEN_INSTALL=release", "PACKGEN_REPO=packgen/packgen", "SERVER_URL=" + release.URL}
	if out, err := step(install, installEnv...); err != nil || !strings.Contains(out, "packgen version") {
		t.Fatalf("install step: %v\n%s", err, out)
	}
	output, _ := os.ReadFile(filepath.Join(tmp, "output"))
	path, ok := strings.CutPrefix(strings.TrimSpace(string(output)), "path=")
	if !ok {
		t.Fatalf("GITHUB_OUTPUT: %q", output)
	}
	if p, _ := os.ReadFile(filepath.Join(tmp, "path")); strings.TrimSpace(string(p)) != filepath.Dir(path) {
		t.Errorf("GITHUB_PATH: %q, binary at %s", p, path)
	}
	abs, _ := filepath.Abs("../../examples/gitops/packs")
	out, err := step(runStep, "PACKGEN_BIN="+path, `PACKGEN_ARGS=validate --strict "`+abs+`"`)
	if err != nil || !strings.Contains(out, "1 pack, 0 errors, 0 warnings") {
		t.Fatalf("run step: %v\n%s", err, out)
	}
	out, err = step(runStep, "PACKGEN_BIN="+path, `PACKGEN_ARGS=validate --format 'git hub'`)
	if err == nil || !strings.Contains(out, `unknown output format "git hub"`) {
		t.Fatalf("quoted argument: %v\n%s", err, out)
	}
	// A binary that does not match the release's checksums is refused.
	sumsMu.Lock()
	sums = strings.Repeat("0", 64) + "  " + asset + "\n"
	sumsMu.Unlock()
	if out, err := step(install, installEnv...); err == nil || !strings.Contains(out, "does not match the release's SHA256SUMS") {
		t.Fatalf("tampered release: %v\n%s", err, out)
	}
}
