package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
)

// TestReadCommandsOCIFlags: the commands a stranger tries first on a
// registry packgen publish wrote (list, info, search, images NAME@VERSION,
// log show, verify --site) take --plain-http, --ca-file and --username
// with $PACKGEN_OCI_PASSWORD for an oci:// location, as oras and helm do;
// without them each fails with the hint that names the flag; and the
// flags are refused (exit 2), never ignored, with a configured registry,
// a directory or a pack tree. Real binary, real distribution registries:
// anonymous on plain HTTP, anonymous on TLS from a fresh CA, htpasswd.
func TestReadCommandsOCIFlags(t *testing.T) {
	needGit(t)
	bin := packgenBinary(t)
	tmp := t.TempDir()
	env := readmeEnv(t, "", "PACKGEN_PASSWORD=pw")
	bash(t, tmp, env, bin+` key generate --prefix k &&
git init -q -b main r && cd r && mkdir packs &&
`+bin+` new hello --layer addon --addon-type "system app" --version 0.1.0 -d packs && git add . && git commit -qm hello &&
`+bin+` build --packs-dir packs --out ../site --key ../k.key`)
	runner := &testutil.Runner{T: t, Bin: bin, Dir: tmp, Env: env}

	plain := ocitest.Start(t, ocitest.Anonymous)
	tlsReg := ocitest.StartWith(t, ocitest.Config{Mode: ocitest.Anonymous, TLS: true})
	basic := ocitest.Start(t, ocitest.Basic)
	pw := []string{"PACKGEN_OCI_PASSWORD=" + ocitest.Password}
	for _, c := range []struct {
		name  string
		reg   *ocitest.Registry
		flags []string
		env   []string
		// hint is what a command run with only the flags in keep says.
		keep []string
		hint string
	}{
		{"plain", plain, []string{"--plain-http"}, nil, nil, "pass --plain-http"},
		{"tls", tlsReg, []string{"--ca-file", tlsReg.CAFile}, nil, nil, "pass --ca-file with the CA that signed it"},
		{"htpasswd", basic, []string{"--plain-http", "--username", ocitest.User}, pw, []string{"--plain-http"}, "pass --username with the password in PACKGEN_OCI_PASSWORD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := "oci://" + c.reg.Host() + "/acme"
			if code, out, errs := runner.Run(c.env, append([]string{"publish", "site", base, "--key", "k.key"}, c.flags...)...); code != 0 {
				t.Fatalf("publish: exit %d\n%s%s", code, out, errs)
			}
			for _, cmd := range []struct {
				args []string
				want string // in stdout
			}{
				{[]string{"list", base}, "hello"},
				{[]string{"info", "hello", "--site", base}, "0.1.0"},
				{[]string{"search", "hello", "--url", base, "--key", "k.pub"}, "hello"},
				{[]string{"images", "hello@0.1.0", "--url", base, "--key", "k.pub", "-o", "json"}, `"hello@0.1.0"`},
				{[]string{"log", "show", "hello", "--url", base, "--key", "k.pub"}, "hello@0.1.0"},
				{[]string{"verify", "--site", base, "--key", "k.pub"}, "0 problems"},
			} {
				code, out, errs := runner.Run(c.env, append(cmd.args, c.flags...)...)
				if code != 0 || !strings.Contains(out+errs, cmd.want) {
					t.Errorf("%s %s: exit %d, want 0 and %q\n%s%s", strings.Join(cmd.args, " "), strings.Join(c.flags, " "), code, cmd.want, out, errs)
				}
				// Without the flag: not reached, and told which flag.
				code, out, errs = runner.Run(nil, append(cmd.args, c.keep...)...)
				if code == 0 || code == 2 || !strings.Contains(errs, c.hint) {
					t.Errorf("%s without %s: exit %d, want a failure saying %q\n%s%s", strings.Join(cmd.args, " "), strings.Join(c.flags, " "), code, c.hint, out, errs)
				}
			}
			// Completion reads the --url registry with the flags too.
			args := append([]string{"__complete", "fetch", "--url", base, "--key", "k.pub"}, c.flags...)
			if code, out, errs := runner.Run(c.env, append(args, "he")...); code != 0 || !strings.Contains(out, "hello\n") {
				t.Errorf("completion of fetch --url %s: exit %d\n%s%s", base, code, out, errs)
			}
		})
	}

	// Where the flags cannot apply: exit 2, the flags named, nothing read.
	base := "oci://" + plain.Host() + "/acme"
	runner.Want(0, "registry", "add", "acme", base, "--key", "k.pub", "--plain-http")
	if err := os.WriteFile(filepath.Join(tmp, "p.lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	configured := "acme is a configured registry, which keeps its own"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "acme", "--plain-http"}, configured},
		{[]string{"info", "hello", "--site", "acme", "--ca-file", tlsReg.CAFile}, configured},
		{[]string{"search", "hello", "--registry", "acme", "--plain-http"}, configured},
		{[]string{"search", "hello", "--plain-http"}, "the configured registries keep their own"},
		{[]string{"images", "hello@0.1.0", "--registry", "acme", "--plain-http"}, configured},
		{[]string{"log", "show", "hello", "--registry", "acme", "--username", ocitest.User}, configured},
		{[]string{"verify", "--site", "acme", "--plain-http"}, configured},
		{[]string{"fetch", "hello", "--registry", "acme", "--plain-http"}, configured},
		{[]string{"list", "site", "--plain-http"}, "SITE site is not one"},
		{[]string{"info", "hello", "--site", "site", "--plain-http"}, "--site site is not one"},
		{[]string{"verify", "--site", "site", "--key", "k.pub", "--ca-file", tlsReg.CAFile}, "--site site is not one"},
		{[]string{"search", "hello", "--url", "site", "--key", "k.pub", "--plain-http"}, "--url site is not one"},
		{[]string{"images", "r/packs", "--plain-http"}, "r/packs is a pack directory or tree"},
		{[]string{"images", "p.lock", "--plain-http"}, "p.lock: a lock reads the registries it names"},
		{[]string{"log", "audit", "site", "--repo", "r", "--key", "k.pub", "--plain-http"}, "SITE site is not one"},
	} {
		_, errs := runner.Want(2, c.args...)
		if !strings.Contains(errs, "--plain-http, --ca-file and --username go with an oci:// location") || !strings.Contains(errs, c.want) {
			t.Errorf("%s: want the refusal naming %q, got\n%s", strings.Join(c.args, " "), c.want, errs)
		}
	}
	// The configured registry keeps its own --plain-http.
	if out, _ := runner.Want(0, "list", "acme"); !strings.Contains(out, "hello") {
		t.Errorf("list acme: %s", out)
	}
}
