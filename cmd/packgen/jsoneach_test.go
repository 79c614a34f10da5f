package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
)

// Item 8: every command with -o json, through the binary: stdout is one
// JSON object and nothing else, with a "warnings" list in the one
// problem shape holding every warning the command printed on stderr.
func TestEveryCommandJSON(t *testing.T) {
	b := newBinRunner(t)
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	key, pub := filepath.Join(b.Dir, "reg.key"), filepath.Join(b.Dir, "reg.pub")
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "reg"))
	site, unsigned := filepath.Join(b.Dir, "site"), filepath.Join(b.Dir, "unsigned")
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", site, "--refresh", "--key", key)
	archive := filepath.Join(site, "packs", "hello", "0.1.0", "hello-0.1.0.tar.gz")
	// A registry configured without a key: profile commands then need
	// --insecure-skip-verify, and warn that nothing is verified.
	b.want(0, nil, "registry", "add", "acme", site)
	prof := filepath.Join(b.Dir, "edge.yaml")
	if err := os.WriteFile(prof, []byte("name: edge\ncloudType: edge\nlayers:\n  - pack: hello\n    version: \"^0.1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(b.Dir, "edge.lock")
	broken := helloRepo(t, filepath.Join(b.Dir, "broken"))
	testutil.Must(t, broken.Write("packs/hello/pack.json", []byte(`{"name": "hello", "version": "0.2.0", "layer": "nope", "displayName": "Hello", "cloudTypes": ["all"]}`)))
	testutil.Commit(t, broken, "broken")

	other := filepath.Join(b.Dir, "other.pub")
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "other"))
	b.want(0, nil, "key", "generate", "--witness", "w1", "--prefix", filepath.Join(b.Dir, "w1"))

	down := testutil.FreeAddr(t) // a configured registry that is down
	type problem struct {
		File     *string `json:"file"`
		Severity string  `json:"severity"`
		Message  string  `json:"message"`
	}
	type jsonCase struct {
		args []string
		code int
		warn string // a warning the JSON must carry ("" = warnings must be [])
		// problems: a top-level "problems" list that must not be empty,
		// each in the problem shape with this severity.
		problems string
	}
	cases := []jsonCase{
		{args: []string{"validate", filepath.Join(repo.Dir, "packs")}},
		{args: []string{"images", filepath.Join(repo.Dir, "packs")}},
		{args: []string{"images", "hello@0.1.0", "--registry", "acme", "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"build", "--repo", repo.Dir, "--out", unsigned, "--refresh"}, warn: "UNSIGNED"},
		{args: []string{"publish", site, filepath.Join(b.Dir, "www"), "--dry-run"}, warn: "were not verified (publish was given no key)"},
		{args: []string{"publish", site, filepath.Join(b.Dir, "www"), "--source-key", pub}},
		{args: []string{"fetch", "hello", "--url", site, "-d", filepath.Join(b.Dir, "f1"), "--key", pub}},
		{args: []string{"fetch", "hello", "--url", site, "-d", filepath.Join(b.Dir, "f2"), "--insecure-skip-verify"}, warn: "NOT checked"},
		{args: []string{"list", "acme", "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"list", site}, warn: "read without a key"},
		{args: []string{"search", "hello", "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"search", "hello", "--url", site, "--key", pub}},
		{args: []string{"info", "hello", "--site", "acme", "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"info", "hello", "--site", site}, warn: "read without a key"},
		{args: []string{"verify", "--site", site, "--key", pub}},
		{args: []string{"verify", "--site", site, "--key", other}, code: 1, problems: "error"},
		{args: []string{"verify", "--site", site, "--insecure-skip-verify"}, warn: "not signatures"},
		{args: []string{"verify", archive, "--key", pub}},
		{args: []string{"log", "show", "hello", "--url", site, "--key", pub}},
		{args: []string{"log", "audit", site, "--repo", repo.Dir, "--key", pub}},
		{args: []string{"log", "witness", site, "--key", filepath.Join(b.Dir, "w1.key"), "--out", filepath.Join(b.Dir, "wout"), "--state", filepath.Join(b.Dir, "wstate")}},
		{args: []string{"registry", "list"}},
		// The commands that make things say what they made, for scripts.
		{args: []string{"key", "generate", "--prefix", filepath.Join(b.Dir, "k2")}},
		{args: []string{"key", "generate", "--witness", "w2", "--prefix", filepath.Join(b.Dir, "w2")}},
		{args: []string{"new", "made", "--layer", "addon", "--addon-type", "monitoring", "--version", "v2", "-d", filepath.Join(b.Dir, "new")}, warn: "not strict semver"},
		{args: []string{"registry", "add", "beta", site, "--key", pub}},
		{args: []string{"registry", "add", "gamma", site}, warn: "no --key given"},
		{args: []string{"registry", "remove", "gamma"}},
		// A configured registry that is down: search shows the others'
		// packs, exit 0, the one not searched in the warnings.
		{args: []string{"registry", "add", "down", "http://" + down, "--key", pub}, warn: "could not read"},
		{args: []string{"search", "hello", "--insecure-skip-verify"}, warn: "registry down: GET http://" + down + "/index.json"},
		{args: []string{"registry", "remove", "down"}},
		{args: []string{"version"}},
		{args: []string{"profile", "resolve", prof, "--partial", "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"profile", "outdated", prof, "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"profile", "fetch", lock, "-d", filepath.Join(b.Dir, "cluster"), "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"profile", "render", prof, "-d", filepath.Join(b.Dir, "rendered"), "--insecure-skip-verify"}, warn: "NOT"},
		// A check that fails with no report of its own still prints JSON
		// (docs/JSON.md): {"error", "problems", "warnings"}.
		{args: []string{"build", "--repo", broken.Dir, "--out", filepath.Join(b.Dir, "broken-site"), "--refresh"}, code: 1, problems: "error"},
		{args: []string{"info", "nosuch", "--site", site}, code: 1},
		// beta (added above) is site with its key: named, it is verified.
		{args: []string{"info", "hello", "--site", site}, warn: "it is configured as registry beta: name it (beta)"},
		{args: []string{"fetch", "nosuch@1", "--url", site, "--key", pub, "-d", filepath.Join(b.Dir, "f5")}, code: 1},
	}
	if _, ok := ocitest.FindTool("registry"); ok {
		reg := ocitest.Start(t, ocitest.Anonymous)
		base := "oci://" + reg.Host() + "/acme"
		cases = append(cases,
			jsonCase{args: []string{"publish", site, base, "--plain-http", "--dry-run"}, warn: "no --key"},
			jsonCase{args: []string{"publish", site, base, "--plain-http"}, warn: "no --key"},
			jsonCase{args: []string{"verify", "--site", base, "--plain-http", "--key", pub}},
			// The read commands take the OCI flags for an oci:// site or --url.
			jsonCase{args: []string{"list", base, "--plain-http"}, warn: "read without a key"},
			jsonCase{args: []string{"info", "hello", "--site", base, "--plain-http"}, warn: "read without a key"},
			jsonCase{args: []string{"search", "hello", "--url", base, "--plain-http", "--key", pub}},
			jsonCase{args: []string{"log", "show", "hello", "--url", base, "--plain-http", "--key", pub}},
			// --plain-http with --url oci://, as with an oci:// pack reference.
			jsonCase{args: []string{"fetch", "hello", "--url", base, "--plain-http", "--key", pub, "-d", filepath.Join(b.Dir, "f4")}},
			jsonCase{args: []string{"fetch", base + "/spectro-packs/archive/hello:0.1.0", "--plain-http", "-d", filepath.Join(b.Dir, "f3"), "--insecure-skip-verify"}, warn: "NOT verified"})
	} else {
		t.Log("no registry binary: publish/fetch oci:// -o json not checked here")
	}
	// What the making commands print, field by field (docs/JSON.md).
	var made struct {
		Private, Public, KeyID, Witness, Dir, Name, Version, Removed string
		Registry                                                     struct {
			Name, URL, SignedName string
			KeyIDs                []string
		}
	}
	for _, c := range []struct {
		args []string
		ok   func() bool
	}{
		{[]string{"key", "generate", "--prefix", filepath.Join(b.Dir, "k3")}, func() bool {
			return made.Private == filepath.Join(b.Dir, "k3.key") && made.Public == filepath.Join(b.Dir, "k3.pub") && len(made.KeyID) == 64
		}},
		{[]string{"new", "made2", "--layer", "addon", "-d", filepath.Join(b.Dir, "new")}, func() bool {
			return made.Dir == filepath.Join(b.Dir, "new", "made2-1.0.0") && made.Name == "made2" && made.Version == "1.0.0"
		}},
		{[]string{"registry", "add", "delta", site, "--key", pub}, func() bool {
			r := made.Registry
			return r.Name == "delta" && r.URL == site && r.SignedName == "repo" && len(r.KeyIDs) == 1 && len(r.KeyIDs[0]) == 64
		}},
		{[]string{"registry", "remove", "delta"}, func() bool { return made.Removed == "delta" }},
	} {
		made.Registry.KeyIDs = nil
		code, stdout, stderr := b.Run(nil, append(c.args, "-o", "json")...)
		if err := json.Unmarshal([]byte(stdout), &made); code != 0 || err != nil || !c.ok() {
			t.Errorf("packgen %s -o json: exit %d, %v\n%s%s", strings.Join(c.args, " "), code, err, stdout, stderr)
		}
	}

	for _, c := range cases {
		args := append(append([]string{}, c.args...), "-o", "json")
		code, stdout, stderr := b.Run(nil, args...)
		name := "packgen " + strings.Join(args, " ")
		if code != c.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, code, c.code, stdout, stderr)
			continue
		}
		// Not a terminal: a summary, never a line per file.
		if strings.HasPrefix(stderr, "uploaded ") || strings.Contains(stderr, "\nuploaded ") || strings.Contains(stderr, "would ") {
			t.Errorf("%s: a line per file on stderr:\n%s", name, stderr)
		}
		// One JSON object, with a "warnings" list of problems: no
		// command is an exception (docs/JSON.md, "Changes").
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Errorf("%s: stdout is not one JSON object: %v\n%s", name, err, stdout)
			continue
		}
		var ws []problem
		if err := json.Unmarshal(doc["warnings"], &ws); err != nil || ws == nil {
			t.Errorf("%s: \"warnings\" is not a list of problems (%v): %s", name, err, stdout)
			continue
		}
		found := c.warn == ""
		for _, p := range ws {
			if p.File == nil || p.Severity != "warning" || p.Message == "" {
				t.Errorf("%s: warning not in the problem shape: %+v", name, p)
			}
			if c.warn != "" && strings.Contains(p.Message, c.warn) {
				found = true
			}
		}
		if !found || c.warn == "" && len(ws) != 0 {
			t.Errorf("%s: warnings %s, want one with %q\nstderr: %s", name, doc["warnings"], c.warn, stderr)
		}
		if c.code == 1 && c.args[0] != "verify" {
			var msg string
			if err := json.Unmarshal(doc["error"], &msg); err != nil || msg == "" {
				t.Errorf("%s: exit 1 with no \"error\" in its JSON: %s", name, stdout)
			}
		}
		if c.problems != "" {
			var ps []problem
			if err := json.Unmarshal(doc["problems"], &ps); err != nil || len(ps) == 0 {
				t.Errorf("%s: \"problems\" is not a non-empty list (%v): %s", name, err, stdout)
			}
			for _, p := range ps {
				if p.File == nil || *p.File == "" || p.Severity != c.problems || p.Message == "" {
					t.Errorf("%s: problem not in the problem shape: %+v", name, p)
				}
			}
		}
		// Every warning line on stderr is in the JSON.
		for _, l := range strings.Split(stderr, "\n") {
			l = strings.TrimPrefix(strings.TrimSpace(l), "WARNING: ")
			if m, ok := strings.CutPrefix(l, "warning: "); ok || strings.HasPrefix(l, "--insecure") {
				if !ok {
					m = l
				}
				in := false
				for _, p := range ws {
					in = in || strings.Contains(m, p.Message)
				}
				if !in {
					t.Errorf("%s: stderr warning %q is not in the JSON %s", name, m, doc["warnings"])
				}
			}
		}
	}
}
