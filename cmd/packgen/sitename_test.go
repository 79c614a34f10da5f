package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSiteNameOrDirectory (stranger4 S6, S18): a SITE that is both a
// configured registry's name and a directory here reads the configured,
// verified registry and says so (./NAME reads the directory), in list,
// info and verify alike; a SITE that is neither says so, naming the
// configured registries.
func TestSiteNameOrDirectory(t *testing.T) {
	b := newBinRunner(t)
	top := b.Dir
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(top, "reg"))
	key, pub := filepath.Join(top, "reg.key"), filepath.Join(top, "reg.pub")
	hello := helloRepo(t, filepath.Join(top, "hello-repo"))
	world := worldRepo(t, filepath.Join(top, "world-repo"))
	verified := filepath.Join(top, "a")
	b.want(0, nil, "build", "--repo", hello.Dir, "--out", verified, "--key", key, "--refresh", "--no-site")
	// An unsigned site of other packs, in a directory named as the registry.
	if err := os.Mkdir(filepath.Join(top, "shadow"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.want(0, nil, "build", "--repo", world.Dir, "--out", filepath.Join(top, "shadow", "repo"), "--refresh", "--no-site")
	b.want(0, nil, "registry", "add", "repo", verified, "--key", pub)

	// One registry: info needs no --site (as fetch); NAME@latest is the
	// newest; a capitalised name says the lowercase one.
	b.want(0, []string{"hello (Hello)"}, "info", "hello")
	b.want(0, []string{"fetched hello@0.1.0 from repo"}, "fetch", "hello@latest", "-d", filepath.Join(top, "h"))
	b.want(2, []string{`"Hello" is not a pack name`, "did you mean hello@^0.1?"}, "fetch", "Hello@^0.1", "-d", filepath.Join(top, "h2"))

	b.Dir = filepath.Join(top, "shadow")
	clash := "warning: repo is both a configured registry (" + verified + ") and a directory here: reading the configured registry; write ./repo to read the directory"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "repo"}, "hello"},
		{[]string{"list", "repo", "-o", "json"}, `"name": "hello"`},
		{[]string{"info", "hello", "--site", "repo"}, "hello (Hello)"},
		{[]string{"verify", "--site", "repo"}, "repo: 1 pack, 1 release"},
		{[]string{"verify", "--site", "repo", "-o", "json"}, `"releases": 1`},
	} {
		out := b.want(0, []string{c.want, clash}, c.args...)
		if strings.Contains(out, "world") {
			t.Errorf("%v read the directory:\n%s", c.args, out)
		}
	}
	// In -o json, the clash is one of the warnings.
	if out := b.want(0, nil, "list", "repo", "-o", "json"); !strings.Contains(out, `"message": "repo is both a configured registry`) {
		t.Errorf("no clash in list -o json's warnings:\n%s", out)
	}
	// Completion (S19): SITE and --site offer the configured names and
	// the directories here; info NAME the packs, of --site's registry.
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"list", ""}, []string{"repo\n", "repo/\n", ":4\n"}},
		{[]string{"list", "./r"}, []string{"./repo/\n", ":6\n"}},
		{[]string{"info", "x", "--site", "re"}, []string{"repo\n", "repo/\n"}},
		{[]string{"verify", "--site", ""}, []string{"repo\n", "repo/\n"}},
		{[]string{"info", "he"}, []string{"hello\n"}},
		{[]string{"info", "--site", "repo", ""}, []string{"hello\n"}},
		{[]string{"info", "--site", "./repo", ""}, []string{"world\n"}},
		{[]string{"log", "show", "he"}, []string{"hello\n"}},
	} {
		b.want(0, c.want, append([]string{"__complete"}, c.args...)...)
	}
	// ./repo is the directory, read without a key, with no clash.
	for _, args := range [][]string{{"list", "./repo"}, {"info", "world", "--site", "./repo"}} {
		if out := b.want(0, []string{"world", "read without a key"}, args...); strings.Contains(out, "both a configured registry") {
			t.Errorf("%v: a clash for ./repo:\n%s", args, out)
		}
	}
	// The configured registry's own directory under its name: one
	// registry, no clash.
	b.Dir = top
	b.want(0, nil, "registry", "add", "a", verified, "--key", pub)
	if out := b.want(0, []string{"hello"}, "list", "a"); strings.Contains(out, "both a configured registry") || strings.Contains(out, "without a key") {
		t.Errorf("a registry's own directory read as a clash or unverified:\n%s", out)
	}

	b.want(2, []string{"--site is required: several registries are configured (a, repo)"}, "info", "hello")

	// Neither a registry nor a directory: a usage error naming the
	// configured ones, nothing read.
	neither := "acme is neither a configured registry (configured: a, repo) nor a directory"
	b.want(2, []string{"packgen: " + neither}, "list", "acme")
	b.want(2, []string{"packgen: --site " + neither}, "info", "hello", "--site", "acme")
	b.want(2, []string{"packgen: --site " + neither}, "verify", "--site", "acme")
}
