package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/serve"
)

// TestProfileCommands drives packgen profile in-process against a signed
// registry built by packgen build from examples/packs and served on
// loopback: exit codes, text and JSON output, positions in errors.
func TestProfileCommands(t *testing.T) {
	tmp := t.TempDir()
	cfg, pg := inProcess(t, tmp)
	repo := examplesRepo(t, filepath.Join(tmp, "repo"))
	key, site := keyAndSite(tmp, repo.Dir, pg)
	srv := httptest.NewServer(serve.Handler(site))
	defer srv.Close()

	profiles := filepath.Join(tmp, "profiles")
	os.MkdirAll(profiles, 0o755)
	for _, f := range []string{"aws-prod.yaml", "vsphere-edge-addons.yaml"} {
		data, err := os.ReadFile("../../examples/profiles/" + f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(profiles, f), data, 0o644)
	}
	aws := filepath.Join(profiles, "aws-prod.yaml")
	// A --config that does not exist is a mistake (issue 17 item 4); an
	// empty one has no registry.
	if _, errs := pg(2, "profile", "resolve", aws); !strings.Contains(errs, "no such file") {
		t.Errorf("missing --config: %s", errs)
	}
	os.WriteFile(cfg, []byte("registries: []\n"), 0o600)
	if _, errs := pg(2, "profile", "resolve", aws); !strings.Contains(errs, "no registry configured") {
		t.Errorf("no registry: %s", errs)
	}
	pg(0, "registry", "add", "e2e", srv.URL, "--key", key+".pub")

	out, _ := pg(0, "profile", "resolve", aws)
	lockPath := filepath.Join(profiles, "aws-prod.lock")
	if !strings.Contains(out, "resolved profile aws-prod (aws): 8 layers -> "+lockPath) || !strings.Contains(out, "calico               3.27.3  cni") || !strings.Contains(out, "verified") {
		t.Errorf("resolve:\n%s", out)
	}
	lock1, _ := os.ReadFile(lockPath)
	out, _ = pg(0, "profile", "resolve", aws, "-o", "json", "--lock", filepath.Join(tmp, "other.lock"))
	var rr struct {
		Layers []struct{ Pack, Version, Registry string }
	}
	if err := json.Unmarshal([]byte(out), &rr); err != nil || len(rr.Layers) != 8 || rr.Layers[4].Version != "58.2.1" {
		t.Errorf("resolve json: %v %s", err, out)
	}
	lock2, _ := os.ReadFile(filepath.Join(tmp, "other.lock"))
	if strings.Replace(string(lock2), `"file": "profiles/aws-prod.yaml"`, `"file": "aws-prod.yaml"`, 1) != string(lock1) {
		t.Errorf("locks differ beyond the profile path:\n%s\n%s", lock1, lock2)
	}

	part := filepath.Join(profiles, "vsphere-edge-addons.yaml")
	_, errs := pg(1, "profile", "resolve", part)
	if !strings.Contains(errs, "no pack provides the k8s layer") || !strings.Contains(errs, "or resolve with --partial") {
		t.Errorf("partial without --partial: %s", errs)
	}
	out, _ = pg(1, "profile", "resolve", part, "-o", "json")
	var refused struct {
		Violations []struct{ Rule string }
	}
	if json.Unmarshal([]byte(out), &refused) != nil || len(refused.Violations) != 5 || refused.Violations[0].Rule != "core-layer-missing" {
		t.Errorf("refused json: %s", out)
	}
	_, errs = pg(0, "profile", "resolve", part, "--partial")
	if !strings.Contains(errs, "warning: prometheus-operator@57.0.3 requires kubernetes >= 1.25.0 on the k8s layer") {
		t.Errorf("partial warning: %s", errs)
	}

	bad := filepath.Join(profiles, "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\ncloudType: aws\nlayers:\n  - pack: calico\n    verison: ^3\n"), 0o644)
	if _, errs := pg(1, "profile", "resolve", bad); !strings.Contains(errs, bad+`:5:5: layers[0]: unknown field "verison"`) || !strings.Contains(errs, bad+":4:5: layers[0]: version is required") {
		t.Errorf("invalid profile: %s", errs)
	}

	if _, errs := pg(2, "profile", "resolve", filepath.Join(tmp, "missing.yaml")); !strings.Contains(errs, "no such file") {
		t.Errorf("missing profile: %s", errs)
	}
	dest := filepath.Join(tmp, "cluster")
	if _, errs := pg(2, "profile", "fetch", lockPath); !strings.Contains(errs, "--dest") {
		t.Errorf("fetch without -d: %s", errs)
	}
	out, _ = pg(0, "profile", "fetch", lockPath, "-d", dest)
	if !strings.Contains(out, "fetched profile aws-prod: 8 layers into "+dest) {
		t.Errorf("fetch: %s", out)
	}
	pg(2, "profile", "fetch", lockPath, "-d", dest)
	out, _ = pg(0, "profile", "fetch", lockPath, "-d", dest, "--force", "-o", "json")
	var fr struct {
		Layers []struct {
			Pack     string
			Files    int
			Verified bool
		}
	}
	if json.Unmarshal([]byte(out), &fr) != nil || len(fr.Layers) != 8 || !fr.Layers[2].Verified || fr.Layers[2].Files == 0 {
		t.Errorf("fetch json: %s", out)
	}

	out, _ = pg(0, "profile", "render", lockPath, "-d", filepath.Join(tmp, "r"))
	if !strings.Contains(out, filepath.Join(tmp, "r", "values", "calico.yaml")+" (calico@3.27.3, with overrides)") {
		t.Errorf("render: %s", out)
	}
	pg(0, "profile", "render", aws, "-d", filepath.Join(tmp, "r2"), "-o", "json")
	a, _ := os.ReadFile(filepath.Join(tmp, "r", "values", "kubernetes.yaml"))
	b, _ := os.ReadFile(filepath.Join(tmp, "r2", "values", "kubernetes.yaml"))
	if string(a) != string(b) || !strings.Contains(string(a), `podCIDR: "100.64.0.0/16"`) {
		t.Errorf("render from lock and from profile differ or lack the override:\n%s\n%s", a, b)
	}
	// -o json: a warning at a line of the profile has it as the
	// problem's file, line and col, not in its message (stranger5
	// finding 6), from resolve and render alike.
	awsData, _ := os.ReadFile(aws)
	typoKey := filepath.Join(profiles, "typo-key.yaml")
	os.WriteFile(typoKey, bytes.Replace(awsData, []byte("podCIDR:"), []byte("podCIDRR:"), 1), 0o644)
	for _, args := range [][]string{{"resolve", typoKey}, {"render", typoKey, "-d", filepath.Join(tmp, "typo-key")}} {
		out, _ := pg(0, append([]string{"profile"}, append(args, "-o", "json")...)...)
		var doc struct{ Warnings meta.Problems }
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Warnings) != 1 {
			t.Fatalf("%s -o json: %v\n%s", args[0], err, out)
		}
		if w := doc.Warnings[0]; w.File != typoKey || w.Line != 15 || w.Col != 9 || w.Msg != "kubernetes: values pack.podCIDRR: the pack's values.yaml has no such key; did you mean podCIDR?" {
			t.Errorf("%s -o json: warning %+v", args[0], w)
		}
	}
	// -q (README: what -q keeps): the lock, the directory and the files
	// are the results, so the tables restating them go; warnings stay.
	for _, tc := range []struct {
		args []string
		warn string // on stderr; "" none
	}{
		{[]string{"profile", "resolve", aws, "--lock", filepath.Join(tmp, "q.lock")}, ""},
		{[]string{"profile", "resolve", part, "--partial", "--lock", filepath.Join(tmp, "q-part.lock")}, "warning: prometheus-operator@57.0.3 requires kubernetes"},
		{[]string{"profile", "fetch", lockPath, "-d", filepath.Join(tmp, "q-cluster")}, ""},
		{[]string{"profile", "render", lockPath, "-d", filepath.Join(tmp, "q-render")}, ""},
	} {
		out, errs := pg(0, append([]string{"-q"}, tc.args...)...)
		if out != "" || (tc.warn == "") != (errs == "") || !strings.Contains(errs, tc.warn) {
			t.Errorf("-q %s: stdout %q, stderr %q (want warning %q)", strings.Join(tc.args[:2], " "), out, errs, tc.warn)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "q-render", "values", "calico.yaml")); err != nil {
		t.Errorf("render -q: %v", err)
	}

	if _, errs := pg(2, "profile", "render", bad, "-d", tmp); !strings.Contains(errs, "run packgen profile resolve") {
		t.Errorf("render without lock: %s", errs)
	}

	out, _ = pg(0, "profile", "outdated", aws)
	if !strings.Contains(out, "PACK") || !strings.Contains(out, "calico               e2e       ^3.27") {
		t.Errorf("outdated:\n%s", out)
	}
	out, _ = pg(0, "profile", "outdated", aws, "-o", "json", "--exit-code")
	if !strings.Contains(out, `"outdated": 0`) {
		t.Errorf("outdated json: %s", out)
	}

	// Publish calico 3.27.9: outdated shows it, and --exit-code fails.
	for _, f := range []string{"pack.json", "values.yaml", "manifests/calico.yaml"} {
		data := mustReadFile(t, "../../examples/packs/calico-3.27.3/"+f)
		repo.Write("packs/calico-3.27.9/"+f, []byte(strings.Replace(string(data), `"3.27.3"`, `"3.27.9"`, 1)))
	}
	// And retire the locked 3.27.3 (a CVE): outdated says so first, and
	// fetching the lock fails unless --allow-deleted.
	// The update offered, 3.27.9, is deprecated itself: the NOTE says so.
	repo.Write("retired.yaml", []byte("calico:\n  3.27.3: {state: deleted, reason: CVE-2026-0001}\n  3.27.9: {state: deprecated, reason: slow}\n")) // no --packs-dir: at the root
	if _, err := repo.Commit("calico 3.27.9"); err != nil {
		t.Fatal(err)
	}
	pg(0, "build", "--repo", repo.Dir, "--out", site, "--key", key+".key", "--no-site")
	out, _ = pg(1, "profile", "outdated", aws, "--exit-code")
	if !strings.Contains(out, "3.27.3  3.27.9  3.27.9  deleted (retired: CVE-2026-0001); update available: 3.27.9 is deprecated (retired: slow)") {
		t.Errorf("outdated after publishing:\n%s", out)
	}
	if _, errs := pg(1, "profile", "fetch", lockPath, "-d", filepath.Join(tmp, "c-deleted")); !strings.Contains(errs, "calico@3.27.3 is deleted (retired: CVE-2026-0001)") || !strings.Contains(errs, "--allow-deleted") {
		t.Errorf("fetch of a deleted locked release: %s", errs)
	}
	// render and images read a lock as fetch does: refused (exit 1)
	// unless --allow-deleted.
	for _, args := range [][]string{{"profile", "render", lockPath, "-d", filepath.Join(tmp, "r-deleted")}, {"images", lockPath}} {
		if _, errs := pg(1, args...); !strings.Contains(errs, "calico@3.27.3 is deleted (retired: CVE-2026-0001)") || !strings.Contains(errs, "--allow-deleted") {
			t.Errorf("%s of a deleted locked release: %s", strings.Join(args[:len(args)-1], " "), errs)
		}
	}
	if _, errs := pg(0, "profile", "render", lockPath, "-d", filepath.Join(tmp, "r-deleted"), "--allow-deleted"); !strings.Contains(errs, "DELETED RELEASE IN USE: calico@3.27.3") {
		t.Errorf("render --allow-deleted: %s", errs)
	}
	out, _ = pg(0, "profile", "fetch", lockPath, "-d", filepath.Join(tmp, "c-allowed"), "--allow-deleted", "-o", "json")
	if !strings.Contains(out, `"state": "deleted",
      "stateWhy": "retired: CVE-2026-0001"`) || !strings.Contains(out, "DELETED RELEASE IN USE: calico@3.27.3") {
		t.Errorf("fetch --allow-deleted -o json:\n%s", out)
	}
	// --exit-code passed with nothing to compare: no lock, another
	// profile's lock, a pack in no registry.
	other := filepath.Join(profiles, "other.yaml")
	os.WriteFile(other, []byte("name: other\ncloudType: aws\nlayers:\n  - pack: calico\n    version: ^3\n  - pack: calicoo\n    version: ^3\n"), 0o644)
	if _, errs := pg(2, "profile", "outdated", other, "--exit-code"); !strings.Contains(errs, "has no lock") {
		t.Errorf("outdated --exit-code without a lock: %s", errs)
	}
	if _, errs := pg(2, "profile", "outdated", other, "--lock", lockPath); !strings.Contains(errs, `is the lock of profile "`) {
		t.Errorf("outdated with another profile's lock: %s", errs)
	}
	if _, errs := pg(0, "profile", "outdated", other); !strings.Contains(errs, "calicoo: in no registry the profile reads") {
		t.Errorf("outdated of a pack in no registry: %s", errs)
	}
	// A registry name mistyped in a layer is the user's to fix: 2, not 3.
	typo := filepath.Join(profiles, "typo.yaml")
	os.WriteFile(typo, []byte("name: typo\ncloudType: aws\nlayers:\n  - pack: calico\n    version: ^3\n    registry: e2ee\n"), 0o644)
	if _, errs := pg(2, "profile", "resolve", typo, "--partial"); !strings.Contains(errs, `registry "e2ee" is not configured`) {
		t.Errorf("resolve with a mistyped registry: %s", errs)
	}

	// A stale lock is reported; tampering with the lock is refused.
	os.WriteFile(aws, append(mustReadFile(t, aws), "# edit\n"...), 0o644)
	if _, errs := pg(0, "profile", "fetch", lockPath, "-d", filepath.Join(tmp, "c2"), "--allow-deleted"); !strings.Contains(errs, "the lock is stale") {
		t.Errorf("stale: %s", errs)
	}
	os.WriteFile(lockPath, []byte(strings.Replace(string(lock1), "\"version\": \"3.27.3\"", "\"version\": \"3.27.4\"", 1)), 0o644)
	if _, errs := pg(1, "profile", "fetch", lockPath, "-d", filepath.Join(tmp, "c3")); !strings.Contains(errs, `archive.path "packs/calico/3.27.3/calico-3.27.3.tar.gz" must be`) {
		t.Errorf("tampered lock: %s", errs)
	}

	for _, sub := range []string{"", "resolve", "fetch", "outdated", "render", "schema"} {
		if code, out, _ := run(t, "profile", sub, "--help"); code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("profile %s --help has no examples", sub)
		}
	}
	if out, _ := pg(0, "profile", "schema"); !json.Valid([]byte(out)) {
		t.Error("schema is not JSON")
	}
	if code, out, _ := run(t, "__complete", "profile", "fetch", ""); code != 0 || !strings.Contains(out, "lock") {
		t.Errorf("completion: %s", out)
	}
}

var mustReadFile = testutil.ReadFile
