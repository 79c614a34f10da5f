package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/serve"
	"github.com/packgen/packgen/validate"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// A new user's first hour (issue 17): each item through the real binary,
// where the user meets it.

// binRunner runs the compiled packgen in dir with extra environment.
type binRunner struct {
	*testutil.Runner
	t *testing.T
}

func newBinRunner(t *testing.T) *binRunner {
	t.Helper()
	// Each test has its own directories and passes its environment to
	// the process: they run side by side (most of their time is waiting).
	t.Parallel()
	return &binRunner{Runner: testutil.NewRunner(t, t.TempDir(), ""), t: t}
}

// want runs packgen, wants exit code and each of the texts in its output.
func (b *binRunner) want(code int, texts []string, args ...string) string {
	b.t.Helper()
	got, out, errs := b.Run(nil, args...)
	if got != code {
		b.t.Errorf("packgen %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errs)
	}
	for _, s := range texts {
		if !strings.Contains(out+errs, s) {
			b.t.Errorf("packgen %s: output lacks %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), s, out, errs)
		}
	}
	return out + errs
}

func helloRepo(t *testing.T, dir string) *gitfixture.Repo {
	return onePackRepo(t, dir, "hello", "0.1.0", "Hello")
}

// worldRepo is a repository of one pack, world 2.0.0.
func worldRepo(t *testing.T, dir string) *gitfixture.Repo {
	return onePackRepo(t, dir, "world", "2.0.0", "World")
}

// onePackRepo is a repository of one add-on pack, committed.
func onePackRepo(t *testing.T, dir, name, version, display string) *gitfixture.Repo {
	t.Helper()
	r, err := gitfixture.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Write("packs/"+name+"/pack.json", []byte(fmt.Sprintf(`{"name": %q, "version": %q, "layer": "addon", "addonType": "monitoring", "displayName": %q, "cloudTypes": ["all"]}`, name, version, display)))
	r.Write("packs/"+name+"/values.yaml", []byte(name+": 1\n"))
	if _, err := r.Commit(name); err != nil {
		t.Fatal(err)
	}
	return r
}

// Item 1: the private key stays out of git.
func TestFirstHourKeyOutOfGit(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	b.Dir = repo.Dir
	out := b.want(2, []string{"not git-ignored", "--force", ".gitignore"}, "key", "generate", "--prefix", "registry")
	if _, err := os.Stat(filepath.Join(repo.Dir, "registry.key")); !os.IsNotExist(err) {
		t.Errorf("a refused key generate wrote the key: %v\n%s", err, out)
	}
	// In a subdirectory, the work tree is still found.
	os.MkdirAll(filepath.Join(repo.Dir, "ci"), 0o755)
	b.want(2, []string{"not git-ignored"}, "key", "generate", "--prefix", "ci/registry")
	// Ignored (by a pattern, or by a parent directory): written.
	os.WriteFile(filepath.Join(repo.Dir, ".gitignore"), []byte("*.key\n/secrets/\n"), 0o644)
	b.want(0, []string{"Private key written to registry.key"}, "key", "generate", "--prefix", "registry")
	os.MkdirAll(filepath.Join(repo.Dir, "secrets"), 0o755)
	b.want(0, nil, "key", "generate", "--prefix", "secrets/ci", "--ed25519")
	// Outside any work tree, and --force: written.
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(t.TempDir(), "outside"))
	os.Remove(filepath.Join(repo.Dir, ".gitignore"))
	b.want(0, nil, "key", "generate", "--prefix", "forced", "--force")

	// A private key committed anyway (named like a key, or not at the
	// repository's root): build refuses, names the file, signs nothing.
	// (A second repository: the fixture commits its whole work tree.)
	key, _ := os.ReadFile(filepath.Join(repo.Dir, "forced.key"))
	pub, _ := os.ReadFile(filepath.Join(repo.Dir, "forced.pub"))
	os.WriteFile(filepath.Join(b.Dir, "..", "forced.key"), key, 0o600)
	repo = helloRepo(t, filepath.Join(b.Dir, "..", "repo2"))
	b.Dir = repo.Dir
	repo.Write("deploy/signing.key", key)
	repo.Commit("oops")
	site := filepath.Join(b.Dir, "..", "site")
	b.want(1, []string{"deploy/signing.key", "private key", "git rm --cached", "rotate"}, "build", "--out", site, "--key", "../forced.key", "--expires", "100000h")
	if _, err := os.Stat(site); !os.IsNotExist(err) {
		t.Error("a refused build wrote the site")
	}
	// A public key or a file merely mentioning keys is no reason to refuse.
	repo.Remove("deploy/signing.key")
	repo.Write("keys/registry.pub", pub)
	repo.Commit("public key")
	b.want(0, []string{"built "}, "build", "--out", site, "--expires", "100000h")
}

// Item 2: build prints the expiry, refuses an expired index, warns a
// week before; publish refuses an expired site; --refresh re-dates.
func TestFirstHourExpiry(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo")) // dated 2024
	site := filepath.Join(b.Dir, "site")
	b.want(1, []string{"would expire at 2025-01-01", "--refresh"}, "build", "--repo", repo.Dir, "--out", site)
	if _, err := os.Stat(site); !os.IsNotExist(err) {
		t.Error("a refused build wrote the site")
	}
	out := b.want(0, []string{"index.json expires " + time.Now().UTC().AddDate(1, 0, 0).Format("2006-01-02")}, "build", "--repo", repo.Dir, "--out", site, "--refresh")
	if strings.Contains(out, "warning: index.json expires") {
		t.Errorf("a year-long index warned:\n%s", out)
	}
	// A year from now, said as the --expires default is (365 days), not a
	// day short because a second has passed.
	year := time.Now().AddDate(1, 0, 0).Sub(time.Now()).Round(24*time.Hour) / (24 * time.Hour)
	if want := fmt.Sprintf("(in %d days)", year); !strings.Contains(out, want) {
		t.Errorf("build output lacks %q:\n%s", want, out)
	}
	serial := siteSerial(t, site)
	time.Sleep(1100 * time.Millisecond) // serials are seconds
	// The scheduled refresh of the example workflows: nothing re-archived,
	// only the index re-dated and re-signed with a new serial.
	code, stdout, errs := b.Run(nil, "build", "--repo", repo.Dir, "--out", site, "--refresh", "-o", "json")
	var refreshed struct{ Archived, Reused int }
	if code != 0 || json.Unmarshal([]byte(stdout), &refreshed) != nil || refreshed.Archived != 0 || refreshed.Reused != 1 {
		t.Errorf("refresh: exit %d %s %s", code, stdout, errs)
	}
	if s := siteSerial(t, site); s <= serial {
		t.Errorf("--refresh kept serial %d (was %d)", s, serial)
	}

	// Within a week: a warning, in text and in JSON.
	now := fmt.Sprint(time.Now().Unix())
	code, stdout, errs = b.Run([]string{"SOURCE_DATE_EPOCH=" + now}, "build", "--repo", repo.Dir, "--out", site, "--expires", "72h")
	if code != 0 || !strings.Contains(errs, "warning: index.json expires in 2 days") && !strings.Contains(errs, "warning: index.json expires in 3 days") {
		t.Errorf("72h expiry: exit %d\n%s%s", code, stdout, errs)
	}
	code, stdout, _ = b.Run([]string{"SOURCE_DATE_EPOCH=" + now}, "build", "--repo", repo.Dir, "--out", site, "--expires", "72h", "-o", "json", "--force")
	var res struct {
		Expires  time.Time `json:"expires"`
		Signed   bool      `json:"signed"`
		Warnings []struct {
			File, Severity, Message string
		} `json:"warnings"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.Expires.IsZero() || res.Signed {
		t.Fatalf("build -o json: exit %d %s", code, stdout)
	}
	var msgs []string
	for _, w := range res.Warnings {
		msgs = append(msgs, w.Message)
	}
	if all := strings.Join(msgs, "\n"); !strings.Contains(all, "UNSIGNED") || !strings.Contains(all, "index.json expires in") {
		t.Errorf("build -o json warnings lack UNSIGNED or the expiry: %s", stdout)
	}
	b.want(0, []string{"warning: index.json expires in"}, "publish", site, filepath.Join(b.Dir, "www"))

	// Expired by the time it is published: refused, nothing uploaded.
	b.Run([]string{"SOURCE_DATE_EPOCH=" + fmt.Sprint(time.Now().Unix())}, "build", "--repo", repo.Dir, "--out", site, "--expires", "2s")
	time.Sleep(2500 * time.Millisecond)
	www := filepath.Join(b.Dir, "www2")
	b.want(1, []string{"expired at", "packgen build --refresh"}, "publish", site, www)
	if _, err := os.Stat(www); !os.IsNotExist(err) {
		t.Error("an expired site was published")
	}
	// The client refuses it too (verify --site reports expiry).
	b.want(1, []string{"expired"}, "verify", "--site", site, "--insecure-skip-verify")
}

// Item 3: no key, no unverified content, unless asked for by name.
func TestFirstHourNoKeyRefused(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	site := filepath.Join(b.Dir, "site")
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "reg"))
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", site, "--refresh", "--key", filepath.Join(b.Dir, "reg.key"), "--no-site")
	srv := httptest.NewServer(serve.Handler(site))
	defer srv.Close()

	hint := []string{"no public key", "--insecure-skip-verify", "packgen key generate"}
	b.want(2, append(hint, "--key registry.pub"), "fetch", "hello", "--url", srv.URL, "-d", "got1")
	b.want(2, hint, "verify", "--site", srv.URL)
	if _, err := os.Stat(filepath.Join(b.Dir, "got1")); !os.IsNotExist(err) {
		t.Error("a refused fetch extracted")
	}
	b.want(0, []string{"NOT signature-verified"}, "fetch", "hello", "--url", srv.URL, "-d", "got2", "--insecure-skip-verify")
	b.want(0, []string{"0 problems", "not signatures"}, "verify", "--site", srv.URL, "--insecure-skip-verify")
	b.want(0, []string{"fetched hello@0.1.0 from " + srv.URL + " into got3", ", verified)"}, "fetch", "hello", "--url", srv.URL, "-d", "got3", "--key", filepath.Join(b.Dir, "reg.pub"))
	// A configured registry without a key: the same refusal, naming the
	// command that adds the key.
	b.want(0, []string{"warning: no --key"}, "registry", "add", "nokey", srv.URL)
	b.want(2, []string{"packgen registry add nokey " + srv.URL + " --key registry.pub"}, "fetch", "hello", "-d", "got4")
	b.want(2, []string{"no public key"}, "search", "hello")
	b.want(2, []string{"packgen registry add nokey " + srv.URL + " --key registry.pub", "--insecure-skip-verify"}, "verify", "--site", "nokey")
	b.want(0, []string{"nokey: 1 pack, 1 release,", "0 problems"}, "verify", "--site", "nokey", "--insecure-skip-verify")
}

// Item 4: typos fail instead of succeeding.
func TestFirstHourTypos(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	site := filepath.Join(b.Dir, "site")
	b.want(2, []string{"--packs-dir pakcs: no such directory"}, "build", "--repo", repo.Dir, "--packs-dir", "pakcs", "--out", site, "--refresh")
	// The PR check with the typo had validated nothing and passed.
	b.want(2, []string{"--packs-dir pakcs: no such directory"}, "validate", "--repo", repo.Dir, "--packs-dir", "pakcs", "--changed-since", "HEAD")
	b.want(2, []string{"--ref mian: no such branch, tag or commit", "git branch -a"}, "build", "--repo", repo.Dir, "--ref", "mian", "--out", site, "--refresh")
	b.want(2, []string{"--history and --since go with --changed-since"}, "validate", "--since", "HEAD", filepath.Join(repo.Dir, "packs"))
	// Ignored alone, they let a broken HEAD pass `validate packs --committed`.
	for _, f := range [][]string{{"--committed"}, {"--each-commit"}, {"--repo", repo.Dir}, {"--packs-dir", "packs"}} {
		b.want(2, []string{f[0] + " goes with --changed-since REF", "packgen validate packs"}, append([]string{"validate", filepath.Join(repo.Dir, "packs")}, f...)...)
	}
	b.want(2, []string{"--since nosuch: no such branch, tag or commit"}, "validate", "--repo", repo.Dir, "--packs-dir", "packs", "--changed-since", "HEAD", "--since", "nosuch")
	b.want(2, []string{"--since bounds the history --history=false turns off"}, "validate", "--repo", repo.Dir, "--packs-dir", "packs", "--changed-since", "HEAD", "--since", "HEAD", "--history=false")
	// A ref past the first commit: go-git's bare "EOF" was all it said, exit 3.
	b.want(2, []string{"--ref HEAD~9: the history ends before that"}, "build", "--repo", repo.Dir, "--ref", "HEAD~9", "--out", site, "--refresh")
	b.want(2, []string{"--changed-since HEAD~9: the history ends before that"}, "validate", "--repo", repo.Dir, "--packs-dir", "packs", "--changed-since", "HEAD~9")
	empty, err := gitfixture.Init(filepath.Join(b.Dir, "empty"))
	testutil.Must(t, err)
	b.want(2, []string{"has no commits yet"}, "build", "--repo", empty.Dir, "--out", site, "--refresh")
	// A directory that exists but holds no pack built an empty registry
	// and passed the PR check.
	testutil.Must(t, repo.Write("docs/guide.md", []byte("# guide\n")))
	testutil.Commit(t, repo, "docs")
	b.want(2, []string{"no pack found under docs at HEAD"}, "build", "--repo", repo.Dir, "--packs-dir", "docs", "--out", site, "--refresh")
	b.want(2, []string{"no pack found under docs at HEAD or HEAD~1"}, "validate", "--repo", repo.Dir, "--packs-dir", "docs", "--changed-since", "HEAD~1")
	b.want(0, []string{"1 pack, 1 release ("}, "build", "--repo", repo.Dir, "--packs-dir", "packs/", "--out", site, "--refresh")

	// --previous that is not a registry: a directory, a URL answering 404.
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	for _, prev := range []string{filepath.Join(b.Dir, "no-such-site"), srv.URL + "/registry"} {
		b.want(1, []string{"has no index.json", "--previous-optional"}, "build", "--repo", repo.Dir, "--out", filepath.Join(b.Dir, "s2"), "--previous", prev, "--refresh")
		b.want(0, []string{"built "}, "build", "--repo", repo.Dir, "--out", filepath.Join(b.Dir, "s2"), "--previous", prev, "--previous-optional", "--refresh", "--force")
	}

	// registry add: neither URL nor directory; a relative directory.
	b.want(2, []string{"neither a URL nor an existing directory", "https://packs.acme.example"}, "registry", "add", "bad", "packs.acme.example")
	// cobra's completion command printed help for an unknown shell, exit 0.
	b.want(2, []string{`unknown command "tcsh" for "packgen completion"`}, "completion", "tcsh")
	// A path is not a host (https:///nope), a scheme needs both slashes.
	b.want(2, []string{"/nope: no such directory: give the directory of a built site"}, "registry", "add", "bad", "/nope")
	b.want(2, []string{`did you mean s3://bucket/x?`}, "registry", "add", "bad", "s3:/bucket/x")
	b.want(2, []string{`did you mean s3://bucket/x?`}, "publish", site, "s3:/bucket/x")
	// A stranger's reports: a registry URL to a directory (with the
	// oci:// options the source needs), a URL as --out, and a publish
	// into the repository (its prune deleted a pack's logo): usage errors.
	b.want(2, []string{"SITE oci://127.0.0.1:1/acme is a registry URL (oci://)", "only to oci://REGISTRY/BASE"}, "publish", "oci://127.0.0.1:1/acme", filepath.Join(b.Dir, "mirror"), "--plain-http")
	b.want(2, []string{"--out oci://127.0.0.1:1/acme is a URL, not a local directory", "`packgen publish site oci://127.0.0.1:1/acme`"}, "build", "--repo", repo.Dir, "--out", "oci://127.0.0.1:1/acme", "--refresh")
	b.want(2, []string{"holds pack sources (", "Nothing was written"}, "publish", site, repo.Dir, "--prune")
	b.want(0, nil, "registry", "add", "local", "site")
	cfg := filepath.Join(b.Dir, "config", "packgen", "registries.yaml")
	if got := registryURLs(t, cfg)["local"]; got != site {
		t.Errorf("registry add local site stored %q, want %q", got, site)
	}
	if _, ok := registryURLs(t, cfg)["bad"]; ok {
		t.Error("a refused registry was stored")
	}
	// --config that does not exist: an error for readers, created by add.
	missing := filepath.Join(b.Dir, "missing.yaml")
	b.want(2, []string{"--config " + missing + ": no such file"}, "registry", "list", "--config", missing)
	b.want(2, []string{"no such file"}, "fetch", "hello", "--config", missing)
	b.want(0, nil, "registry", "add", "local", site, "--config", missing)
	b.want(0, []string{"local"}, "registry", "list", "--config", missing)
	// The YAML decoder's Go-speak does not reach the user.
	os.WriteFile(missing, []byte("registries:\n  - name: a\n    uri: https://x\n"), 0o600)
	out := b.want(2, []string{`line 3: unknown field "uri" in a registry (known: name, url, keys, key, tokenEnv, signedName, plainHTTP, caFile, witnesses, witnessQuorum, witnessMaxAge)`}, "registry", "list", "--config", missing)
	if strings.Contains(out, "client.Registry") {
		t.Errorf("Go type names in a user's error: %s", out)
	}
	// A bad config is no wrong command line: exit 2 without the usage
	// footer, naming the file, the line (of registries[i] too) and what
	// to do, in every command that reads it.
	for _, c := range []struct {
		config string
		args   []string
		want   string
	}{
		{"registries:\n  - name: a\n    uri: https://x\n", []string{"registry", "list"}, missing + `: line 3: unknown field "uri"`},
		{"registries:\n  - name: a\n    url: https://x\n  - name: B c\n    url: https://y\n", []string{"fetch", "hello"}, missing + `: line 4: registries[1]: registry name "B c" must be`},
	} {
		os.WriteFile(missing, []byte(c.config), 0o600)
		out := b.want(2, []string{c.want, ": edit " + missing + " to fix it (packgen registry add NAME URL"}, append(c.args, "--config", missing)...)
		if strings.Contains(out, "for usage") {
			t.Errorf("%v: a bad config printed the usage footer:\n%s", c.args, out)
		}
	}
}

// registryURLs reads the config the way a user would see it.
func registryURLs(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Registries []struct{ Name, URL string } `yaml:"registries"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range c.Registries {
		m[r.Name] = r.URL
	}
	return m
}

// Item 6: `packgen version`, one meaning per short flag, -q.
func TestFirstHourVersionAndFlags(t *testing.T) {
	b := newBinRunner(t)
	out := b.want(0, []string{"packgen ", "go:", "github.com/go-git/go-git/v5 v5.", "github.com/sigstore/sigstore v1."}, "version")
	if strings.Contains(out, "(devel)") {
		t.Errorf("version: %s", out)
	}
	code, stdout, _ := b.Run(nil, "version", "-o", "json")
	var v versionInfo
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || v.Version == "" || !strings.HasPrefix(v.GoVersion, "go1.") || v.Modules["github.com/go-git/go-git/v5"] == "" || v.Modules["github.com/sigstore/sigstore"] == "" {
		t.Errorf("version -o json: exit %d %s", code, stdout)
	}
	// The chart renderer beside the binary, of its build; none on an
	// empty PATH beside a binary alone.
	if cr := v.ChartRenderer; !cr.OK || cr.Path != filepath.Join(filepath.Dir(b.Bin), "packgen-helm") || cr.Build == "" || cr.Protocol == 0 {
		t.Errorf("version -o json: chartRenderer %+v", cr)
	}
	b.want(0, []string{"renderer: " + filepath.Join(filepath.Dir(b.Bin), "packgen-helm") + " (this build)"}, "version")
	alone := filepath.Join(t.TempDir(), "packgen")
	if data, err := os.ReadFile(b.Bin); err != nil || os.WriteFile(alone, data, 0o755) != nil {
		t.Fatal(err)
	}
	lone := &binRunner{Runner: &testutil.Runner{T: t, Bin: alone, Dir: b.Dir, Env: append(b.Env, "PATH="+t.TempDir())}, t: t}
	lone.want(0, []string{"renderer: none usable: no chart renderer: rendering a chart needs packgen-helm", "make build"}, "version")
	// new --chart without the renderer: the machine's failure (exit 3),
	// as validate and images say, not the chart's (1).
	chart := filepath.Join(t.TempDir(), "web-1.2.0.tgz")
	if err := os.WriteFile(chart, tartest.TarGz(t, tartest.Files("web/", map[string]string{"Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.2.0\n", "templates/cm.yaml": "kind: ConfigMap\n"})...), 0o644); err != nil {
		t.Fatal(err)
	}
	lone.want(3, []string{"no chart renderer"}, "new", "web", "--layer", "addon", "--chart", chart, "-d", t.TempDir())

	// Each short flag means one thing in every command: -d is the
	// directory written into, and --dest names it everywhere.
	g := &globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	longs := map[string]map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Shorthand == "" {
				return
			}
			if f.Shorthand == "o" && c.Flags().Lookup("format") != f {
				t.Errorf("%s: -o is --%s, and --format is not the same flag", c.CommandPath(), f.Name)
			}
			if f.Shorthand == "d" {
				if c.Flags().Lookup("dest") != c.Flags().ShorthandLookup("d") {
					t.Errorf("%s: -d is --%s, and --dest is not the same flag", c.CommandPath(), f.Name)
				}
				return
			}
			if longs[f.Shorthand] == nil {
				longs[f.Shorthand] = map[string]bool{}
			}
			longs[f.Shorthand][f.Name] = true
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRoot(g)
	root.InitDefaultHelpFlag()
	walk(root)
	for short, names := range longs {
		if len(names) > 1 {
			t.Errorf("-%s means %v", short, names)
		}
	}
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	if code, stdout, errs := b.Run(nil, "-q", "build", "--repo", repo.Dir, "--dest", filepath.Join(b.Dir, "site"), "--refresh"); code != 0 || stdout != "" || !strings.Contains(errs, "warning: the registry is UNSIGNED") {
		// -q drops summaries, never a warning (as publish -q keeps its).
		t.Errorf("-q build: exit %d, printed %q, warned %q", code, stdout, errs)
	}
	if _, err := os.Stat(filepath.Join(b.Dir, "site", "index.json")); err != nil {
		t.Errorf("build --dest: %v", err)
	}
}

// Item 7: one situation, one exit code; the usage footer only on usage
// errors, naming the subcommand.
func TestFirstHourExitCodes(t *testing.T) {
	b := newBinRunner(t)
	empty := filepath.Join(b.Dir, "empty")
	os.MkdirAll(empty, 0o755)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "reg"))
	pub := filepath.Join(b.Dir, "reg.pub")
	// A directory without index.json: exit 1 everywhere.
	for _, args := range [][]string{
		{"fetch", "hello", "--url", empty, "--key", pub},
		{"list", empty},
		{"info", "hello", "--site", empty},
		{"verify", "--site", empty, "--key", pub},
		{"publish", empty, filepath.Join(b.Dir, "www")},
		{"build", "--repo", repo.Dir, "--out", filepath.Join(b.Dir, "s"), "--previous", empty, "--refresh"},
	} {
		code, out, errs := b.Run(nil, args...)
		if code != 1 {
			t.Errorf("packgen %s on a directory without index.json: exit %d, want 1\n%s%s", strings.Join(args, " "), code, out, errs)
		}
		if strings.Contains(errs, "--help' for usage") {
			t.Errorf("packgen %s: usage footer on a non-usage error:\n%s", strings.Join(args, " "), errs)
		}
	}
	// A --repo in no git repository is what the user typed: exit 2 in
	// every command that reads one (it was 3, as if git had failed).
	signed := filepath.Join(b.Dir, "signed")
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", signed, "--key", filepath.Join(b.Dir, "reg.key"), "--refresh")
	// A security refusal lifted by a flag (no --key over a signed
	// registry, attackS F7's --new-log): exit 2, the refusal saying
	// what to do; the usage footer would send the user to --help.
	if out := b.want(2, []string{"is a signed registry, and this build has no --key", "pass --key"}, "build", "--repo", repo.Dir, "--out", filepath.Join(b.Dir, "s-nokey"), "--previous", signed, "--refresh"); strings.Contains(out, "for usage") {
		t.Errorf("build over a signed registry without --key: the usage footer on a refusal:\n%s", out)
	}
	for _, args := range [][]string{
		{"build", "--repo", empty, "--out", filepath.Join(b.Dir, "s2")},
		{"validate", "--changed-since", "HEAD~1", "--repo", empty},
		{"verify", "--site", signed, "--repo", empty, "--key", pub},
	} {
		if code, out, errs := b.Run(nil, args...); code != 2 || !strings.Contains(errs, empty+" is not inside a git repository") {
			t.Errorf("packgen %s: exit %d, want 2 naming the directory\n%s%s", strings.Join(args, " "), code, out, errs)
		}
	}
	// A registry that accepts and never answers: oci:// obeys the limits
	// given as http(s) does (it once ran for minutes past them), exit 3,
	// the error naming the registry and the limit, the hint the flag.
	silent := testutil.SilentAddr(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"list", "oci://" + silent + "/x", "--plain-http", "--stall-timeout", "1s"}, []string{silent + "/x/packgen/index", "nothing received for 1s", "raise --stall-timeout (now 1s)"}},
		{[]string{"fetch", "hello", "--url", "oci://" + silent + "/x", "--key", pub, "--plain-http", "--timeout", "1s", "-d", filepath.Join(b.Dir, "never")}, []string{silent + " did not finish", "time limit of 1s", "raise --timeout (now 1s)"}},
		{[]string{"list", "http://" + silent, "--stall-timeout", "1s"}, []string{silent, "nothing received for 1s", "raise --stall-timeout (now 1s)"}},
	} {
		start := time.Now()
		b.want(3, c.want, c.args...)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("packgen %s: gave up after %v", strings.Join(c.args, " "), d)
		}
	}
	// An unsigned archive (no .sig beside it): not verified, exit 1.
	site := filepath.Join(b.Dir, "site")
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", site, "--refresh", "--no-site")
	archive := filepath.Join(site, "packs", "hello", "0.1.0", "hello-0.1.0.tar.gz")
	b.want(1, []string{"no " + archive + ".sig beside it"}, "verify", archive, "--key", pub)
	// An explicitly named signature that does not exist: a usage error.
	b.want(2, []string{"signature"}, "verify", archive, "--key", pub, "--signature", filepath.Join(b.Dir, "nope.sig"))
	// The key's password missing or wrong, or the public key given for
	// the private one: the user's to fix, exit 2 in every command, and
	// said plainly (never the PEM library's "unknown private key PEM file
	// type"). A wrong password is found mid-build, when the key is first
	// needed: still 2, and nothing written.
	saved := b.Env
	b.Env = nil
	for _, e := range saved {
		if !strings.HasPrefix(e, "PACKGEN_PASSWORD=") && !strings.HasPrefix(e, "COSIGN_PASSWORD=") {
			b.Env = append(b.Env, e)
		}
	}
	b.want(2, []string{"no key password: set PACKGEN_PASSWORD"}, "key", "generate", "--prefix", filepath.Join(b.Dir, "nopw"))
	b.want(2, []string{"no key password: set PACKGEN_PASSWORD"}, "build", "--repo", repo.Dir, "--out", filepath.Join(b.Dir, "s-nopw"), "--refresh", "--key", filepath.Join(b.Dir, "reg.key"))
	b.Env = saved
	signedOut := filepath.Join(b.Dir, "s-signed")
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", signedOut, "--no-site", "--expires", "87600h", "--key", filepath.Join(b.Dir, "reg.key"))
	b.Env = append(b.Env, "PACKGEN_PASSWORD=wrong")
	b.want(2, []string{"wrong password (set PACKGEN_PASSWORD"}, "build", "--repo", repo.Dir, "--out", filepath.Join(b.Dir, "s-wrong"), "--refresh", "--key", filepath.Join(b.Dir, "reg.key"))
	// --force goes through every step, opening the key although nothing
	// is signed again (stranger5 finding 4); the no-change short cut
	// signs nothing and does not decrypt it (README).
	b.want(2, []string{"wrong password (set PACKGEN_PASSWORD"}, "build", "--repo", repo.Dir, "--out", signedOut, "--no-site", "--expires", "87600h", "--key", filepath.Join(b.Dir, "reg.key"), "--force")
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", signedOut, "--no-site", "--expires", "87600h", "--key", filepath.Join(b.Dir, "reg.key"))
	b.Env = saved
	out := b.want(2, []string{pub + ": this is a public key: signing needs the private key"}, "build", "--repo", repo.Dir, "--out", filepath.Join(b.Dir, "s-pub"), "--refresh", "--key", pub)
	if strings.Contains(out, "PEM file type") {
		t.Errorf("library wording reached the user:\n%s", out)
	}
	// The reverse: the private key where the public one is wanted, in
	// every command that reads a registry's key: a usage error naming
	// the file, never exit 3 under the registry's name.
	priv := filepath.Join(b.Dir, "reg.key")
	for _, args := range [][]string{
		{"fetch", "hello", "--url", site, "--key", priv},
		{"search", "hello", "--url", site, "--key", priv},
		{"images", "hello@0.1.0", "--url", site, "--key", priv},
		{"log", "show", "hello", "--url", site, "--key", priv},
		{"verify", "--site", site, "--key", pub, "--key", priv},
		{"registry", "add", "x", site, "--key", priv},
		{"airgap", "import", filepath.Join(b.Dir, "none.tar"), "oci://127.0.0.1:1/x", "--key", priv},
	} {
		b.want(2, []string{"--key " + priv + ": this is a private key", "the .pub file beside it"}, args...)
	}
	for _, s := range []string{"s-nopw", "s-wrong", "s-pub"} {
		if _, err := os.Stat(filepath.Join(b.Dir, s, "index.json")); !os.IsNotExist(err) {
			t.Errorf("a build refused for its key wrote %s", s)
		}
	}
	// The OCI flags where they cannot apply: refused, never ignored.
	b.want(2, []string{"--plain-http, --ca-file and --username go with an oci:// location given on the command line", "--url " + site + " is not one"}, "fetch", "hello", "--url", site, "--key", pub, "--plain-http")
	b.want(2, []string{"the configured registries keep their own", "packgen registry add NAME oci://"}, "fetch", "hello", "--ca-file", pub)
	// Usage errors: exit 2 and the subcommand's help named.
	b.want(2, []string{"Run 'packgen fetch --help' for usage."}, "fetch")
	b.want(2, []string{"--site is required (a configured registry's name, a built directory or a registry URL)", "Run 'packgen info --help'"}, "info", "hello")
	b.want(2, []string{"Run 'packgen registry add --help' for usage."}, "registry", "add", "x")
	b.want(2, []string{"Run 'packgen --help' for usage."}, "frobnicate")

	// A stranger's report: `build -d packs` in the repository swapped the
	// packs, uncommitted work included, for the site, and `--out .git`
	// the repository. Refused (exit 2), nothing touched; and publish and
	// serve, given the packs, no longer say to build into them.
	b.Dir = repo.Dir
	wip := filepath.Join(repo.Dir, "packs", "wip", "pack.json")
	os.MkdirAll(filepath.Dir(wip), 0o755)
	os.WriteFile(wip, []byte("{}"), 0o644)
	b.want(2, []string{"--out packs holds hello/, wip/, which a site packgen builds never holds", "It holds packs (packs/hello/pack.json): -d/--out is where the site goes, --packs-dir where the packs are", "Run 'packgen build --help'"}, "build", "-d", "packs", "--refresh")
	b.want(2, []string{"--out packs is (or holds) the packs directory --packs-dir packs"}, "build", "--packs-dir", "packs", "-d", "packs", "--refresh")
	b.want(2, []string{"--out .git is the repository's git directory"}, "build", "--out", ".git", "--refresh")
	b.want(2, []string{"--out . is (or holds) the repository's work tree"}, "build", "--out", ".", "--refresh")
	if _, err := os.Stat(wip); err != nil {
		t.Errorf("uncommitted work after the refused builds: %v", err)
	}
	if _, err := os.Stat(filepath.Join(repo.Dir, "packs", "index.json")); !os.IsNotExist(err) {
		t.Errorf("a refused build wrote into the packs: %v", err)
	}
	hint := "packs holds packs, the build's input (packs/hello/pack.json): build them with `packgen build --packs-dir packs --out site` and use site"
	b.want(1, []string{hint}, "publish", "packs", filepath.Join(b.Dir, "www"))
	b.want(2, []string{hint}, "serve", "packs")
}

// Item 8: every -o json is JSON, warnings included.
func TestFirstHourJSON(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "reg"))
	site := filepath.Join(b.Dir, "site")
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", site, "--refresh", "--no-site", "--key", filepath.Join(b.Dir, "reg.key"))
	archive := filepath.Join(site, "packs", "hello", "0.1.0", "hello-0.1.0.tar.gz")
	type verified struct {
		Archive, Signature, Error string
		Verified                  bool
	}
	code, stdout, _ := b.Run(nil, "verify", archive, "--key", filepath.Join(b.Dir, "reg.pub"), "-o", "json")
	var v verified
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || !v.Verified || v.Signature != archive+".sig" {
		t.Errorf("verify ARCHIVE -o json: exit %d %q", code, stdout)
	}
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "other"))
	code, stdout, _ = b.Run(nil, "verify", archive, "--key", filepath.Join(b.Dir, "other.pub"), "-o", "json")
	v = verified{}
	if code != 1 || json.Unmarshal([]byte(stdout), &v) != nil || v.Verified || v.Error == "" {
		t.Errorf("verify ARCHIVE -o json, wrong key: exit %d %q", code, stdout)
	}
	// fetch -o json carries the client's warnings.
	var fetched struct {
		Verified bool
		Warnings []struct{ Severity, Message string }
	}
	code, stdout, _ = b.Run(nil, "fetch", "hello", "--url", site, "-d", "f1", "--insecure-skip-verify", "-o", "json")
	if code != 0 || json.Unmarshal([]byte(stdout), &fetched) != nil || fetched.Verified || len(fetched.Warnings) == 0 || !strings.Contains(fetched.Warnings[0].Message, "NOT checked") || fetched.Warnings[0].Severity != "warning" {
		t.Errorf("fetch --insecure-skip-verify -o json: exit %d %s", code, stdout)
	}
	code, stdout, _ = b.Run(nil, "fetch", "hello", "--url", site, "-d", "f2", "--key", filepath.Join(b.Dir, "reg.pub"), "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"warnings": []`) || !strings.Contains(stdout, `"verified": true`) {
		t.Errorf("fetch -o json: exit %d %s", code, stdout)
	}
	code, stdout, _ = b.Run(nil, "publish", site, filepath.Join(b.Dir, "www"), "-o", "json")
	var p struct {
		Uploaded []string        `json:"uploaded"`
		Warnings json.RawMessage `json:"warnings"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &p) != nil || len(p.Uploaded) == 0 || string(p.Warnings) != "[]" {
		t.Errorf("publish -o json: exit %d %s", code, stdout)
	}
}

// Item 9: new accepts what validate accepts, makes the parent, says
// which add-on type it chose.
func TestFirstHourNew(t *testing.T) {
	b := newBinRunner(t)
	b.want(0, []string{"created packs/os/ubuntu-custom-22.04.4", `version "22.04.4" is not strict semver; it is read as 22.4.4`}, "new", "ubuntu-custom", "--layer", "os", "--version", "22.04.4", "-d", "packs/os")
	b.want(0, []string{"created packs/hello-1.0", `addonType: "system app"`}, "new", "hello", "--layer", "addon", "--version", "1.0", "--dest", "packs")
	out := b.want(0, []string{"created packs/mon-1.0.0"}, "new", "mon", "--layer", "addon", "--addon-type", "monitoring", "-d", "packs")
	if strings.Contains(out, "addonType:") {
		t.Errorf("new said it chose an add-on type it was given:\n%s", out)
	}
	b.want(0, []string{"3 packs, 0 errors, 2 warnings"}, "validate", "packs")
	b.want(2, []string{"not a semantic version"}, "new", "bad", "--layer", "addon", "--version", "one")
}

// Item 14: make test names what it skipped for lack of a tool, and CI
// fails when a tool it must have is missing. The script is run as make
// runs it, on a PATH with only bash: nothing is found but what is
// found by absolute path.
func TestFirstHourTestTools(t *testing.T) {
	bashPath, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := t.TempDir()
	os.Symlink(bashPath, filepath.Join(bin, "bash"))
	script, _ := filepath.Abs("../../scripts/test-tools.sh")
	sh := func(env ...string) (int, string) {
		cmd := exec.Command(bashPath, append([]string{script}, env[0])...)
		cmd.Env = append([]string{"PATH=" + bin, "PACKGEN_CHROMIUM=", "COSIGN_BIN="}, env[1:]...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return code, string(out)
	}
	if code, out := sh("summary"); code != 0 || !strings.Contains(out, "SKIPPED for lack of a tool") || !strings.Contains(out, "cosign: sign.TestCosignInterop") || !strings.Contains(out, "git: ") {
		t.Errorf("summary without tools: exit %d\n%s", code, out)
	}
	if code, out := sh("check", "CI=true"); code != 1 || !strings.Contains(out, "CI must run every test") || !strings.Contains(out, "missing: git gcc") {
		t.Errorf("CI check without tools: exit %d\n%s", code, out)
	}
	if code, out := sh("check"); code != 0 || out != "" {
		t.Errorf("check outside CI: exit %d\n%s", code, out)
	}
	// Every tool there (stand-ins on PATH): nothing skipped.
	for _, name := range []string{"git", "gcc", "chromium", "cosign", "registry", "oras"} {
		os.Symlink(bashPath, filepath.Join(bin, name))
	}
	if code, out := sh("check", "CI=true"); code != 0 {
		t.Errorf("CI check with every tool: exit %d\n%s", code, out)
	}
	if code, out := sh("summary"); code != 0 || !strings.Contains(out, "no test skipped") {
		t.Errorf("summary with every tool: exit %d\n%s", code, out)
	}
	// make test runs both.
	mk, _ := os.ReadFile("../../Makefile")
	if !strings.Contains(string(mk), "test: test-tools-check ") || !strings.Contains(string(mk), "./scripts/test-tools.sh summary") {
		t.Error("make test does not run scripts/test-tools.sh check and summary")
	}
}

// Item 13: `make demo`'s closing hints work when pasted into another
// shell, in another directory, after the demo's server has stopped.
func TestDemoHintsWork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	bin := packgenBinary(t)
	tmp := t.TempDir()
	_, port, _ := net.SplitHostPort(testutil.FreeAddr(t))
	cmd := exec.Command("bash", "scripts/demo.sh")
	cmd.Dir = "../.."
	// (The demo sets its own XDG_* directories; XDG_CACHE_HOME left alone
	// keeps Go's build cache for its `go run`.)
	cmd.Env = append(os.Environ(), "PG="+bin, "DEMO="+filepath.Join(tmp, "demo"), "PORT="+port, "PACKGEN_PASSWORD=demo")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	_, hints, ok := strings.Cut(string(out), "Next (")
	if !ok {
		t.Fatalf("no hints:\n%s", out)
	}
	var lines []string
	for _, l := range strings.Split(hints, "\n")[1:] {
		if strings.HasPrefix(l, "  ") && !strings.Contains(l, " serve ") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) < 4 {
		t.Fatalf("hints: %q", lines)
	}
	// Pasted elsewhere: another directory, a home without any config.
	sh := exec.Command("bash", "-euo", "pipefail", "-c", strings.Join(lines, "\n"))
	sh.Dir = t.TempDir()
	sh.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME=", "XDG_CACHE_HOME=", "XDG_STATE_HOME=")
	got, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("pasted hints failed: %v\n%s\n%s", err, strings.Join(lines, "\n"), got)
	}
	// The validate hint reads the demo's own repository, whose history is
	// one commit: a stranger's first validate warns of nothing (this
	// repository's examples/packs, edited in packgen's history, would).
	for _, want := range []string{"fetched prometheus-operator@57.", "verified)", "demo ", "0 errors, 0 warnings"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("pasted hints: no %q in\n%s", want, got)
		}
	}
}

// Item 10: the uncommitted-changes warning counts the user's edits only:
// not packgen's own out dir, and not at all when a --ref is built.
func TestFirstHourDirtyWarning(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	b.Dir = repo.Dir
	const warn = "uncommitted change"
	for i := 0; i < 2; i++ { // the second build finds the first's site in the work tree
		if out := b.want(0, []string{"built "}, "build", "--out", "site", "--refresh", "--force"); strings.Contains(out, warn) {
			t.Errorf("build %d warned about its own output:\n%s", i, out)
		}
	}
	// Files beside the packs are not built: no warning either.
	os.WriteFile(filepath.Join(repo.Dir, ".gitignore"), []byte("*.key\n"), 0o644)
	os.WriteFile(filepath.Join(repo.Dir, "packs", "NOTES.md"), []byte("notes\n"), 0o644)
	if out := b.want(0, nil, "build", "--out", "site", "--refresh", "--force"); strings.Contains(out, warn) {
		t.Errorf("build warned about files outside any pack:\n%s", out)
	}
	os.WriteFile(filepath.Join(repo.Dir, "packs", "hello", "values.yaml"), []byte("hello: 2\n"), 0o644)
	b.want(0, []string{warn + "(s) in pack directories", "packs/hello/values.yaml"}, "build", "--out", "site", "--refresh", "--force")
	if out := b.want(0, []string{"built "}, "build", "--out", "site", "--refresh", "--force", "--ref", "main"); strings.Contains(out, warn) {
		t.Errorf("build --ref main warned about the work tree:\n%s", out)
	}
}

// Item 10: on a terminal, publish shows one counter line, not a line per
// file; warnings still get their own line.
func TestPublishProgressLines(t *testing.T) {
	var out bytes.Buffer
	p := &progressLines{bar: counterLine{w: &out}, counter: true}
	for i := 0; i < 500; i++ {
		fmt.Fprintf(p, "uploaded packs/x/%d.tar.gz\n", i)
	}
	fmt.Fprintf(p, "warning: s3 has no conditional writes; publishes must not overlap\ndel")
	fmt.Fprintf(p, "eted index/old.json\n")
	p.done()
	s := out.String()
	if strings.Count(s, "\n") != 1 || !strings.Contains(s, "warning: s3 has no conditional writes") || !strings.Contains(s, "500 uploaded, 1 deleted") || strings.Contains(s, "packs/x/") {
		t.Errorf("progress output: %q", s)
	}
	var nilBar *progressLines
	nilBar.done() // no counter: nothing to end

	// Not a terminal: no counter, no line per file; warnings and notes
	// keep their line, and warnings reach -o json. -q keeps warnings only.
	for _, quiet := range []bool{false, true} {
		out.Reset()
		warns := &warnLines{}
		p = &progressLines{bar: counterLine{w: &out}, quiet: quiet, warns: warns}
		fmt.Fprintf(p, "uploaded a.tar.gz\nnote: kept 1\nwould push x:1.0 (sha256:ab)\nwarning: no --key: unsigned\ndeleted b\n")
		p.done()
		want := "note: kept 1\nwarning: no --key: unsigned\n"
		if quiet {
			want = "warning: no --key: unsigned\n"
		}
		if ps := warns.problems(); out.String() != want || len(ps) != 1 || ps[0].Msg != "no --key: unsigned" {
			t.Errorf("quiet=%v: output %q, warnings %+v", quiet, out.String(), ps)
		}
	}
}

// TestWarnLinesPositions: -o json splits a warning's position off when it
// is at a line of a file the command names (a profile's overrides), and
// leaves any other line whole (an image "host:5000/a:1: …" is no file).
func TestWarnLinesPositions(t *testing.T) {
	w := &warnLines{}
	w.at("/p/edge.yaml")
	fmt.Fprint(w, "warning: /p/edge.yaml:9:7: api: values x: no such key\nwarning: /p/edge.yaml:4: layer\nwarning: /p/edge.yaml:x:1: odd\nwarning: /p/edge.yaml: whole file\nwarning: host:5000/a:1: image\n")
	want := meta.Problems{
		{File: "/p/edge.yaml", Line: 9, Col: 7, Severity: meta.SevWarning, Msg: "api: values x: no such key"},
		{File: "/p/edge.yaml", Line: 4, Severity: meta.SevWarning, Msg: "layer"},
		{Severity: meta.SevWarning, Msg: "/p/edge.yaml:x:1: odd"},
		{Severity: meta.SevWarning, Msg: "/p/edge.yaml: whole file"},
		{Severity: meta.SevWarning, Msg: "host:5000/a:1: image"},
	}
	if got := w.problems(); !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%+v\nwant\n%+v", got, want)
	}
}

// Item 11: `validate --changed-since` judges what is about to be
// committed (the work tree); --committed judges HEAD only.
func TestFirstHourChangedSinceWorktree(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	b.Dir = repo.Dir
	b.want(0, []string{"0 pack(s) changed since HEAD"}, "validate", "--changed-since", "HEAD")
	// An edit of a published version, not committed yet.
	os.WriteFile(filepath.Join(repo.Dir, "packs", "hello", "values.yaml"), []byte("hello: 2\n"), 0o644)
	b.want(1, []string{"packs/hello/pack.json:", "the content of hello@0.1.0 changed but its version did not", "uncommitted"}, "validate", "--changed-since", "HEAD")
	b.want(0, []string{"0 pack(s) changed since HEAD"}, "validate", "--changed-since", "HEAD", "--committed")
	code, stdout, _ := b.Run(nil, "validate", "--changed-since", "HEAD", "-o", "json")
	var rep validate.Report
	if code != 1 || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Errors != 1 || len(rep.Packs) != 1 || rep.Packs[0].Name != "hello" {
		t.Errorf("-o json: exit %d %s", code, stdout)
	}
	os.WriteFile(filepath.Join(repo.Dir, "packs", "hello", "values.yaml"), []byte("hello: 1\n"), 0o644)
	// A new pack, broken, not committed: its problems, with file and line.
	os.MkdirAll(filepath.Join(repo.Dir, "packs", "broken"), 0o755)
	os.WriteFile(filepath.Join(repo.Dir, "packs", "broken", "pack.json"), []byte("{\n  \"name\": \"broken\",\n  \"version\": \"1.0.0\",\n  \"layer\": \"nope\"\n}\n"), 0o644)
	os.WriteFile(filepath.Join(repo.Dir, "packs", "broken", "values.yaml"), []byte("a: 1\n"), 0o644)
	b.want(1, []string{`packs/broken/pack.json:4:12: error: layer "nope"`, "1 with uncommitted changes"}, "validate", "--changed-since", "HEAD", "--packs-dir", "packs")
	b.want(0, nil, "validate", "--changed-since", "HEAD", "--committed")
	// Fixed: a new version is fine.
	os.WriteFile(filepath.Join(repo.Dir, "packs", "broken", "pack.json"), []byte(`{"name": "broken", "version": "1.0.0", "layer": "addon", "addonType": "monitoring", "displayName": "B", "cloudTypes": ["all"]}`), 0o644)
	b.want(0, []string{"1 pack(s) changed since HEAD (1 with uncommitted changes"}, "validate", "--changed-since", "HEAD")
}

// Item 12: a registry first built unsigned, then signed, has the
// ARCHIVE.sig the docs name for every archive (`packgen verify ARCHIVE
// --key` and `cosign verify-blob --signature ARCHIVE.sig` read it).
func TestFirstHourSignedAfterUnsigned(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	site := filepath.Join(b.Dir, "site")
	b.want(0, []string{"UNSIGNED"}, "build", "--repo", repo.Dir, "--out", site, "--refresh")
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "reg"))
	b.want(0, []string{"1 reused"}, "build", "--repo", repo.Dir, "--out", site, "--refresh", "--key", filepath.Join(b.Dir, "reg.key"))
	archive := filepath.Join(site, "packs", "hello", "0.1.0", "hello-0.1.0.tar.gz")
	b.want(0, []string{"signature verified (" + archive + ".sig)"}, "verify", archive, "--key", filepath.Join(b.Dir, "reg.pub"))
	b.want(0, []string{"0 problems"}, "verify", "--site", site, "--key", filepath.Join(b.Dir, "reg.pub"))
	// The docs' other reader of ARCHIVE.sig, the real cosign.
	t.Run("cosign", func(t *testing.T) {
		cosign := ocitest.Tool(t, "cosign")
		cmd := exec.Command(cosign, "verify-blob", "--key", filepath.Join(b.Dir, "reg.pub"), "--signature", archive+".sig", "--insecure-ignore-tlog=true", archive)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verified OK") {
			t.Errorf("cosign verify-blob --signature ARCHIVE.sig: %v\n%s", err, out)
		}
	})
}

// Item 5: several configured registries are searched in order; a typo
// gets a "did you mean"; completion offers pack names and versions.
func TestFirstHourRegistries(t *testing.T) {
	b := newBinRunner(t)
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "reg"))
	key, pub := filepath.Join(b.Dir, "reg.key"), filepath.Join(b.Dir, "reg.pub")
	hello := helloRepo(t, filepath.Join(b.Dir, "hello-repo"))
	world := worldRepo(t, filepath.Join(b.Dir, "world-repo"))
	b.want(0, nil, "build", "--repo", hello.Dir, "--out", filepath.Join(b.Dir, "a"), "--key", key, "--refresh", "--no-site", "--name", "alpha")
	b.want(0, nil, "build", "--repo", world.Dir, "--out", filepath.Join(b.Dir, "b"), "--key", key, "--refresh", "--no-site", "--name", "beta")
	b.want(0, nil, "registry", "add", "alpha", filepath.Join(b.Dir, "a"), "--key", pub)
	b.want(0, nil, "registry", "add", "beta", filepath.Join(b.Dir, "b"), "--key", pub)

	b.want(0, []string{"fetched world@2.0.0 from beta", "verified"}, "fetch", "world", "-d", "w")
	b.want(0, []string{"fetched hello@0.1.0 from alpha"}, "fetch", "hello", "-d", "h")
	// The sentinel's own text ("not found: ") is not the user's message.
	b.want(1, []string{"packgen: wrold in none of the 2 configured registries:\n  pack \"wrold\" is not in registry alpha\n", "did you mean world?"}, "fetch", "wrold", "-d", "x")
	b.want(1, []string{`packgen: pack "wrld" is not in registry beta; did you mean world?`}, "fetch", "wrld", "--registry", "beta", "-d", "x")
	b.want(1, []string{`packgen: pack hello has no version matching ^9 (available: 0.1.0)`}, "fetch", "hello@^9", "--registry", "alpha", "-d", "x")
	if out := b.want(1, nil, "fetch", "zzzzzz", "-d", "x"); strings.Contains(out, "did you mean") {
		t.Errorf("a suggestion for a name near none:\n%s", out)
	}
	// A registry that fails verification stops the search: its failure is
	// not a reason to take another registry's pack of that name.
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "other"))
	b.want(0, nil, "registry", "add", "alpha", filepath.Join(b.Dir, "a"), "--key", filepath.Join(b.Dir, "other.pub"), "--signed-name", "alpha")
	// The wrong key without --signed-name: the index was read and refused,
	// which is said as such (not "could not read"), with what to do.
	out := b.want(0, []string{"does not verify under the given key(s)", "bad signature", "every fetch from gamma fails", "ask its owner for its public key"}, "registry", "add", "gamma", filepath.Join(b.Dir, "a"), "--key", filepath.Join(b.Dir, "other.pub"))
	if strings.Contains(out, "could not read") {
		t.Errorf("a refused signature reported as unreadable:\n%s", out)
	}
	b.want(0, nil, "registry", "remove", "gamma")
	b.want(1, []string{"alpha"}, "fetch", "world", "-d", "w2")
	if _, err := os.Stat(filepath.Join(b.Dir, "w2")); !os.IsNotExist(err) {
		t.Error("fetch fell through to the next registry after a verification failure")
	}
	b.want(0, nil, "registry", "add", "alpha", filepath.Join(b.Dir, "a"), "--key", pub)

	// log show of a pack the log never had: a typo, not "0 entries".
	b.want(0, []string{"world: 1 entry of 1 in the log"}, "log", "show", "world", "--registry", "beta")
	b.want(1, []string{`pack "wrld" is not in registry beta: its transparency log has no entry for it; did you mean world?`}, "log", "show", "wrld", "--registry", "beta")
	b.want(1, []string{`pack "wrld" is not in registry ` + filepath.Join(b.Dir, "b") + `: its transparency`}, "log", "show", "wrld", "--url", filepath.Join(b.Dir, "b"), "--key", pub)

	// list and info take a configured registry's name the same way.
	b.want(0, []string{"world", "2.0.0"}, "list", "beta")
	// list reads a URL or directory verified with --key, as fetch --url
	// (stranger5 finding 9), and takes fetch's --registry and --url.
	srvB := httptest.NewServer(serve.Handler(filepath.Join(b.Dir, "b")))
	defer srvB.Close()
	for _, args := range [][]string{{srvB.URL, "--key", pub}, {"--url", srvB.URL, "--key", pub, "-o", "json"}, {filepath.Join(b.Dir, "b"), "--key", pub}, {"--registry", "beta"}} {
		if out := b.want(0, []string{"world", "2.0.0"}, append([]string{"list"}, args...)...); strings.Contains(out, "without a key") || strings.Contains(out, "warning: ") || strings.Contains(out, `"message"`) {
			t.Errorf("list %v read unverified:\n%s", args, out)
		}
	}
	b.want(0, []string{"world", "read without a key"}, "list", srvB.URL)
	b.want(1, []string{"bad signature"}, "list", srvB.URL, "--key", filepath.Join(b.Dir, "other.pub"))
	b.want(2, []string{"--key goes with SITE DIR|URL: registry beta has its keys in the config"}, "list", "beta", "--key", pub)
	b.want(2, []string{"give the registry once: SITE, --registry or --url"}, "list", "beta", "--url", srvB.URL)
	b.want(2, []string{"--registry " + srvB.URL + " is not a configured registry"}, "list", "--registry", srvB.URL)
	b.want(2, []string{"no registry to list"}, "list")
	b.want(0, []string{"world (World)", "2.0.0"}, "info", "world", "--site", "beta")
	// info too: --key reads a URL or directory verified, and fetch's
	// --registry and --url name the registry instead of --site.
	for _, args := range [][]string{{"--site", srvB.URL, "--key", pub}, {"--url", srvB.URL, "--key", pub, "-o", "json"}, {"--site", filepath.Join(b.Dir, "b"), "--key", pub}, {"--registry", "beta"}} {
		if out := b.want(0, []string{"world", "2.0.0"}, append([]string{"info", "world"}, args...)...); strings.Contains(out, "without a key") || strings.Contains(out, "warning: ") || strings.Contains(out, `"message"`) {
			t.Errorf("info %v read unverified:\n%s", args, out)
		}
	}
	b.want(1, []string{"bad signature"}, "info", "world", "--site", srvB.URL, "--key", filepath.Join(b.Dir, "other.pub"))
	b.want(2, []string{"--key goes with --site DIR|URL: registry beta has its keys in the config"}, "info", "world", "--site", "beta", "--key", pub)
	b.want(2, []string{"give the registry once: --site, --registry or --url"}, "info", "world", "--site", "beta", "--url", srvB.URL)
	b.want(0, []string{"beta: 1 pack, 1 release,", "0 problems"}, "verify", "--site", "beta")
	b.want(2, []string{"--key goes with --site DIR|URL: registry beta has its keys in the config"}, "verify", "--site", "beta", "--key", pub)
	b.want(1, []string{"did you mean world?"}, "info", "wrld", "--site", "beta")
	// The same timeouts in every command that downloads.
	g := &globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	for _, path := range [][]string{{"fetch"}, {"list"}, {"info"}, {"search"}, {"profile", "resolve"}, {"profile", "fetch"}, {"profile", "outdated"}} {
		c, _, err := newRoot(g).Find(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"timeout", "stall-timeout"} {
			if c.Flags().Lookup(f) == nil {
				t.Errorf("%s has no --%s", c.CommandPath(), f)
			}
		}
	}

	// Completion, as the shell asks for it.
	b.want(0, []string{"hello\n"}, "__complete", "fetch", "he")
	b.want(0, []string{"hello@0.1.0\n"}, "__complete", "fetch", "hello@")
	if out := b.want(0, []string{"world\n", "hello\n"}, "__complete", "fetch", ""); strings.Contains(out, "@") {
		t.Errorf("names completion offered versions:\n%s", out)
	}
}

// Item 10: the build's counter names its phase and is cleared before the
// summary.
func TestBuildProgressPhases(t *testing.T) {
	var out bytes.Buffer
	bar := &counterLine{w: &out}
	update := buildProgress(bar)
	update(1, 3)
	update(2, 5) // the history walk found more
	update(5, 5)
	bar.end()
	s := out.String()
	for _, want := range []string{"1/3 releases: walking history, validating and archiving", "5/5 releases: writing the index, signatures and catalogue"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in %q", want, s)
		}
	}
	if !strings.HasSuffix(s, "\r\033[K") || strings.Contains(s, "\n") {
		t.Errorf("the counter is not cleared for the summary: %q", s)
	}
	var none *counterLine
	none.end()
}

// The README's `packgen publish site s3://my-packs/registry` on a machine
// without AWS credentials: one line saying what to set, not the SDK's
// own stderr logging or its chain of attempts. The instance metadata
// service is a local one refusing tokens, as off EC2 behind a proxy,
// which makes the SDK log "falling back to IMDSv1".
func TestFirstHourS3NoCredentials(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	site := filepath.Join(b.Dir, "site")
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", site, "--refresh", "--no-site")
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer imds.Close()
	none := filepath.Join(b.Dir, "none")
	env := []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_WEB_IDENTITY_TOKEN_FILE=",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=",
		"AWS_EC2_METADATA_DISABLED=", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL, "AWS_REGION=us-east-1"}
	code, stdout, errs := b.Run(env, "publish", site, "s3://my-packs/registry", "--dry-run")
	if code != 3 || stdout != "" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	want := "packgen: list s3://my-packs/registry: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
	if !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 || strings.Contains(errs, "operation error") || strings.Contains(errs, "IMDS") {
		t.Errorf("stderr is not one line saying what to set:\n%s", errs)
	}
}

// Item 5: completion offers pack names and versions from the cached index
// when the registry cannot be reached: the demo's hints run after its
// server has stopped, and a laptop goes offline.
func TestFirstHourCompletionOffline(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	site := filepath.Join(b.Dir, "site")
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "reg"))
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", site, "--refresh", "--no-site", "--key", filepath.Join(b.Dir, "reg.key"))
	srv := httptest.NewServer(serve.Handler(site))
	b.want(0, nil, "registry", "add", "acme", srv.URL, "--key", filepath.Join(b.Dir, "reg.pub"))
	b.want(0, []string{"hello\n"}, "__complete", "fetch", "he")
	b.want(0, []string{"hello@0.1.0\n"}, "__complete", "fetch", "hello@")
	srv.Close()
	// Unreachable now: said once, without net/http's `Get "URL": ` again.
	if out := b.want(3, []string{"packgen: registry acme: GET " + srv.URL + "/index.json: dial tcp ", "connection refused"}, "list", "acme"); strings.Contains(out, `Get "`) {
		t.Errorf("the URL twice:\n%s", out)
	}
	b.want(0, []string{"hello\n"}, "__complete", "fetch", "he")
	b.want(0, []string{"hello@0.1.0\n"}, "__complete", "fetch", "hello@")
	// A cache planted with other bytes is a miss, not a suggestion.
	metas, _ := filepath.Glob(filepath.Join(b.Dir, "cache", "packgen", "meta", "*.json"))
	if len(metas) == 0 {
		t.Fatal("nothing cached")
	}
	for _, m := range metas {
		os.WriteFile(m, []byte(`{"tampered": true}`), 0o644)
	}
	if out := b.want(0, nil, "__complete", "fetch", "he"); strings.Contains(out, "hello") {
		t.Errorf("completion offered names from tampered cache files:\n%s", out)
	}
}

// Item 2: every example publish workflow re-signs a quiet registry on a
// schedule, well inside the index's year and the week of warning: a
// schedule trigger, and on it a `packgen build` with --refresh.
func TestFirstHourWorkflowsRefresh(t *testing.T) {
	files, _ := filepath.Glob("../../examples/gitops/.github/workflows/publish-*.yml")
	if len(files) < 3 {
		t.Fatalf("publish workflows: %v", files)
	}
	for _, f := range files {
		wf := readWorkflow(t, f)
		if len(wf.On.Schedule) == 0 {
			t.Errorf("%s: no schedule: a quiet registry expires a year after its last commit", f)
		}
		for _, c := range wf.On.Schedule {
			// Weekly or more often: minute hour day-of-month month day-of-week.
			if fields := strings.Fields(c.Cron); len(fields) != 5 || fields[2] != "*" || fields[3] != "*" {
				t.Errorf("%s: cron %q is not at least weekly", f, c.Cron)
			}
		}
		refreshed := false
		for _, job := range wf.Jobs {
			for _, s := range job.Steps {
				if !strings.Contains(s.Run, "packgen build") {
					continue
				}
				run := s.Run
				for k, v := range s.Env {
					run = strings.ReplaceAll(run, "$"+k, v)
				}
				if strings.Contains(run, "github.event_name == 'schedule' && '--refresh'") {
					refreshed = true
				}
			}
		}
		if !refreshed {
			t.Errorf("%s: its build does not pass --refresh on the schedule", f)
		}
	}
}
