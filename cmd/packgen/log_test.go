package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/serve"
)

// log show and log audit over real HTTP on loopback, against the example
// packs' repository.
func TestLogShowAudit(t *testing.T) {
	tmp := t.TempDir()
	for k, v := range map[string]string{"PACKGEN_PASSWORD": "pw", "XDG_CONFIG_HOME": tmp + "/config", "XDG_CACHE_HOME": tmp + "/cache", "XDG_STATE_HOME": tmp + "/state", "SOURCE_DATE_EPOCH": fmt.Sprint(time.Now().Unix())} {
		t.Setenv(k, v)
	}
	repo := examplesRepo(t, filepath.Join(tmp, "repo"))
	key, site := filepath.Join(tmp, "reg"), filepath.Join(tmp, "site")
	if code, out, errs := run(t, "key", "generate", "--prefix", key); code != 0 {
		t.Fatalf("key generate: %s %s", out, errs)
	}
	if code, out, errs := run(t, "build", "--repo", repo.Dir, "--out", site, "--key", key+".key"); code != 0 {
		t.Fatalf("build: %s %s", out, errs)
	}
	srv := httptest.NewServer(serve.Handler(site))
	defer srv.Close()

	code, out, errs := run(t, "log", "show", "calico", "--url", srv.URL, "--key", key+".pub")
	if code != 0 || !strings.Contains(out, "calico@3.27.3\tsha256:") || !strings.Contains(errs+out, "calico: 1 entry of 10 in the log") {
		t.Fatalf("log show: %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = run(t, "log", "show", "calico", "--url", srv.URL, "--key", key+".pub", "-o", "json")
	var shown struct {
		Size    int64 `json:"logSize"`
		Entries []struct {
			Index   int64  `json:"index"`
			Name    string `json:"name"`
			Version string `json:"version"`
			SHA256  string `json:"sha256"`
		} `json:"entries"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown.Size != 10 || len(shown.Entries) == 0 || shown.Entries[0].Name != "calico" || len(shown.Entries[0].SHA256) != 64 {
		t.Fatalf("log show -o json: %d %s", code, out)
	}
	code, out, errs = run(t, "log", "audit", srv.URL, "--repo", repo.Dir, "--key", key+".pub")
	if code != 0 || !strings.Contains(out+errs, "10 log entries replayed") || !strings.Contains(out+errs, "0 problems") {
		t.Fatalf("log audit: %d\n%s\n%s", code, out, errs)
	}
	// Against another history (the registry is not this repository's):
	// the repository lacks the built commit, said once (not once per
	// entry). Exit 1, not 2: a registry built from commits its public
	// repository never had reads the same, and is what audit catches.
	other := anotherHistory(t, filepath.Join(tmp, "other"))
	code, out, errs = run(t, "log", "audit", srv.URL, "--repo", other.Dir, "--key", key+".pub")
	if code != 1 || strings.Count(out, "does not contain that commit") != 1 || !strings.Contains(out, "another repository") || !strings.Contains(out, "git fetch") || strings.Contains(out, "not on the first-parent history") {
		t.Fatalf("audit against another history: %d\n%s\n%s", code, out, errs)
	}
	// A pack the log has never seen: not found, as in fetch and info.
	if code, out, errs = run(t, "log", "show", "nosuch", "--url", srv.URL, "--key", key+".pub"); code != 1 || !strings.Contains(errs, `pack "nosuch" is not in registry `+srv.URL) {
		t.Fatalf("log show nosuch: %d\n%s\n%s", code, out, errs)
	}
}
