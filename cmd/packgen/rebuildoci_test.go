package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
)

// TestRebuildChecksOCI: `verify --site oci://… --repo` and `log audit
// oci://… --repo` reach the registry as every other command does (plain
// HTTP on loopback, --username with $PACKGEN_OCI_PASSWORD), with the
// real binary, against the real distribution registry behind htpasswd,
// after a real `packgen publish … oci://`. log audit reads the root
// manifest and index.json once for all its checks.
func TestRebuildChecksOCI(t *testing.T) {
	bin, reg, tmp, env := cliAndBasicRegistry(t)
	// Two releases of one pack: 0.1.0, then bumped in place.
	bash(t, tmp, env, `git init -q -b main r && cd r && mkdir packs &&
packgen new hello --layer addon --addon-type "system app" --version 0.1.0 -d packs && git add . && git commit -qm hello &&
sed -i 's/"version": "0.1.0"/"version": "0.2.0"/' packs/hello-0.1.0/pack.json && git commit -qam bump &&
packgen key generate --prefix ../k && packgen build --packs-dir packs --out ../site --key ../k.key`)
	runner := &testutil.Runner{T: t, Bin: bin, Dir: tmp, Env: env}
	run := func(creds bool, args ...string) (int, string, string) {
		t.Helper()
		if creds {
			return runner.Run([]string{"PACKGEN_OCI_PASSWORD=" + reg.Password}, append(args, "--plain-http", "--username", reg.Username)...)
		}
		return runner.Run(nil, append(args, "--plain-http")...)
	}
	dest := "oci://" + reg.Host() + "/acme"
	if code, out, errs := run(true, "publish", "site", dest, "--key", "k.key"); code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs := run(true, "verify", "--site", dest, "--repo", "r", "--key", "k.pub")
	if code != 0 || !strings.Contains(out+errs, "2 releases compared with git and rebuilt, 0 problems") {
		t.Fatalf("verify --site --repo: exit %d\n%s%s", code, out, errs)
	}
	// How often the root manifest and index.json (its layer, by digest,
	// when not embedded)
	// were served (200: a 401 challenge before serves nothing).
	data, err := os.ReadFile(filepath.Join(tmp, "site", index.RootFile))
	if err != nil {
		t.Fatal(err)
	}
	rootReads := func() (n int, lines []string) {
		for _, l := range reg.AccessLog() {
			if strings.Contains(l, `"GET /v2/acme/packgen/index/manifests/root `) || strings.Contains(l, `"GET /v2/acme/packgen/index/blobs/sha256:`+index.Digest(data)+` `) {
				lines = append(lines, l)
				if strings.Contains(l, `" 200 `) {
					n++
				}
			}
		}
		return n, lines
	}
	before, _ := rootReads()
	code, out, errs = run(true, "log", "audit", dest, "--repo", "r", "--key", "k.pub", "-o", "json")
	var audit struct {
		Site    struct{ Releases int }  `json:"site"`
		Rebuild struct{ Releases int }  `json:"rebuild"`
		Log     struct{ Entries int64 } `json:"log"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &audit) != nil || audit.Site.Releases != 2 || audit.Rebuild.Releases != 2 || audit.Log.Entries != 2 {
		t.Fatalf("log audit: exit %d\n%s%s", code, out, errs)
	}
	// index.json travels in the root manifest (its descriptor's data),
	// so one read of the root serves both.
	if n, lines := rootReads(); n-before != 1 {
		t.Errorf("log audit read the root manifest and index.json %d times, want one read of the root:\n%s", n-before, strings.Join(lines, "\n"))
	}

	// A history that is not the registry's: both checks find it (exit 1).
	bash(t, tmp, env, `git init -q -b main other && cd other && echo x > x && git add . && git commit -qm other`)
	if code, out, errs := run(true, "verify", "--site", dest, "--repo", "other", "--key", "k.pub"); code != 1 || !strings.Contains(out, "index.json: the registry was built from commit") || !strings.Contains(out, "release not in the repository") {
		t.Errorf("verify --site against another repository: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run(true, "log", "audit", dest, "--repo", "other", "--key", "k.pub"); code != 1 || strings.Count(out, "does not contain that commit") != 1 {
		t.Errorf("log audit against another repository: exit %d\n%s%s", code, out, errs)
	}
	// Without credentials the registry refuses, and the error says so.
	for _, args := range [][]string{{"verify", "--site", dest, "--repo", "r", "--key", "k.pub"}, {"log", "audit", dest, "--repo", "r", "--key", "k.pub"}} {
		if code, out, errs := run(false, args...); code == 0 || !strings.Contains(out+errs, reg.Host()) || !strings.Contains(out+errs, "login") {
			t.Errorf("%s without credentials: exit %d\n%s%s", args[0], code, out, errs)
		}
	}
}
