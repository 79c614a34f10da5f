package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/ocitest"
)

// Item 8: every command with -o json, through the binary: stdout is one
// JSON document and nothing else, and where the command warned on
// stderr the warnings are in it, in the one problem shape.
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

	type problem struct {
		File     *string `json:"file"`
		Severity string  `json:"severity"`
		Message  string  `json:"message"`
	}
	cases := []struct {
		args []string
		code int
		warn string // a warning the JSON must carry ("" = warnings must be [])
		list bool   // the document is a list (no warnings field)
	}{
		{args: []string{"validate", "--repo", repo.Dir}},
		{args: []string{"build", "--repo", repo.Dir, "--out", unsigned, "--refresh"}, warn: "UNSIGNED"},
		{args: []string{"publish", site, filepath.Join(b.Dir, "www"), "--dry-run"}},
		{args: []string{"publish", site, filepath.Join(b.Dir, "www")}},
		{args: []string{"fetch", "hello", "--url", site, "-d", filepath.Join(b.Dir, "f1"), "--key", pub}},
		{args: []string{"fetch", "hello", "--url", site, "-d", filepath.Join(b.Dir, "f2"), "--insecure-skip-verify"}, warn: "NOT checked"},
		{args: []string{"list", "acme", "--insecure-skip-verify"}, list: true},
		{args: []string{"search", "hello", "--insecure-skip-verify"}, list: true},
		{args: []string{"info", "hello", "--site", "acme", "--insecure-skip-verify"}},
		{args: []string{"verify", "--site", site, "--key", pub}},
		{args: []string{"verify", archive, "--key", pub}},
		{args: []string{"registry", "list"}, list: true},
		{args: []string{"version"}},
		{args: []string{"profile", "resolve", prof, "--partial", "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"profile", "outdated", prof, "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"profile", "fetch", lock, "-d", filepath.Join(b.Dir, "cluster"), "--insecure-skip-verify"}, warn: "NOT"},
		{args: []string{"profile", "render", prof, "-d", filepath.Join(b.Dir, "rendered"), "--insecure-skip-verify"}, warn: "NOT"},
	}
	if _, ok := ocitest.FindTool("registry"); ok {
		reg := ocitest.Start(t, ocitest.Anonymous)
		base := "oci://" + reg.Host() + "/acme"
		cases = append(cases,
			struct {
				args []string
				code int
				warn string
				list bool
			}{args: []string{"publish", site, base, "--plain-http", "--dry-run"}, warn: "no --key"},
			struct {
				args []string
				code int
				warn string
				list bool
			}{args: []string{"publish", site, base, "--plain-http"}, warn: "no --key"},
			struct {
				args []string
				code int
				warn string
				list bool
			}{args: []string{"fetch", base + "/spectro-packs/archive/hello:0.1.0", "--plain-http", "-d", filepath.Join(b.Dir, "f3"), "--insecure-skip-verify"}, warn: "NOT verified"})
	} else {
		t.Log("no registry binary: publish/fetch oci:// -o json not checked here")
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
		var doc any
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Errorf("%s: stdout is not one JSON document: %v\n%s", name, err, stdout)
			continue
		}
		if c.list {
			if _, ok := doc.([]any); !ok {
				t.Errorf("%s: not a JSON list: %s", name, stdout)
			}
			continue
		}
		var w struct {
			Warnings json.RawMessage `json:"warnings"`
		}
		json.Unmarshal([]byte(stdout), &w)
		if c.args[0] == "validate" || c.args[0] == "verify" || c.args[0] == "info" || c.args[0] == "version" {
			// validate's "warnings" is a count; verify, info and version
			// have none to carry (their stderr must then be quiet).
			if c.args[0] != "validate" && strings.Contains(strings.ToLower(stderr), "warning") && !strings.Contains(stderr, "--insecure-skip-verify") {
				t.Errorf("%s: warned on stderr with nowhere in the JSON for it: %s", name, stderr)
			}
			continue
		}
		var ws []problem
		if err := json.Unmarshal(w.Warnings, &ws); err != nil || ws == nil {
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
			t.Errorf("%s: warnings %s, want one with %q\nstderr: %s", name, w.Warnings, c.warn, stderr)
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
					t.Errorf("%s: stderr warning %q is not in the JSON %s", name, m, w.Warnings)
				}
			}
		}
	}
}
