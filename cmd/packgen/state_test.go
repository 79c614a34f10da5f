package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/serve"
)

// What `packgen fetch` prints for releases the vendor retired with
// annotations.system_state, and for a pack of only pre-releases.
func TestFetchRetiredAndPrerelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	pg := testutil.NewRunner(t, tmp, testutil.Now()).Want
	repo, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, version, state string }{
		{"calico", "3.26.0", ""}, {"calico", "3.27.0", "deprecated"}, {"calico", "20.09.0", "deleted"},
		{"cilium", "1.16.0-rc.1", ""}, {"flannel", "0.1.0", "deleted"},
	} {
		testutil.WriteRetiredPack(t, repo, p.name, p.version, p.state)
	}
	if _, err := repo.Commit("packs"); err != nil {
		t.Fatal(err)
	}
	pg(0, "key", "generate", "--prefix", "reg")
	pg(0, "build", "--repo", "repo", "--out", "site", "--key", "reg.key")
	srv := httptest.NewServer(serve.Handler(filepath.Join(tmp, "site")))
	t.Cleanup(srv.Close)

	// info shows each release's state, and why, before anyone fetches.
	info, _ := pg(0, "info", "calico", "--site", srv.URL)
	for _, want := range []string{"latest 3.27.0 (deprecated)", "STATE", "3.26.0 ", " active ", "calico@20.09.0 is deleted (annotations.system_state)", "calico@3.27.0 is deprecated (annotations.system_state)"} {
		if !strings.Contains(info, want) {
			t.Errorf("info: no %q in\n%s", want, info)
		}
	}
	// A pack whose every version is deleted: info says so in list's words.
	if info, _ := pg(0, "info", "flannel", "--site", srv.URL); !strings.Contains(info, "layer cni, no live release (newest: 0.1.0, deleted)\n") || strings.Contains(info, "latest 0.1.0") {
		t.Errorf("info of a pack with no live release:\n%s", info)
	}
	// list and search mark a latest that is not active from the signed
	// bucket summaries alone (latestState), read verified or not: the
	// deprecated 3.27.0 (the deleted 20.09.0 is not calico's latest),
	// flannel's deleted 0.1.0 (its every version is deleted).
	pg(0, "registry", "add", "acme", srv.URL, "--key", "reg.pub")
	for _, args := range [][]string{{"list", srv.URL}, {"list", srv.URL, "--key", "reg.pub"}, {"list", "acme"}, {"search", ""}} {
		out, _ := pg(0, args...)
		if !strings.Contains(out, "3.27.0 (deprecated)") || !strings.Contains(out, "no live release (newest: 0.1.0, deleted)") || strings.Contains(out, "1.16.0-rc.1 (") || strings.Count(out, " (de") != 1 || strings.Count(out, "no live release") != 1 {
			t.Errorf("%v: not calico's 3.27.0 deprecated and flannel's 0.1.0 deleted alone:\n%s", args, out)
		}
	}
	list, _ := pg(0, "list", srv.URL, "-o", "json")
	var packs struct {
		Packs []struct{ Name, Latest, LatestState string }
	}
	if err := json.Unmarshal([]byte(list), &packs); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(packs.Packs), "[{calico 3.27.0 deprecated} {cilium 1.16.0-rc.1 } {flannel 0.1.0 deleted}]"; got != want {
		t.Errorf("list -o json: %s, want %s", got, want)
	}
	if strings.Count(list, `"latestState"`) != 2 {
		t.Errorf("list -o json: latestState is left out for an active latest:\n%s", list)
	}
	info, _ = pg(0, "info", "calico", "--site", srv.URL, "-o", "json")
	var doc struct {
		Pack struct {
			Releases []struct{ Version, State, StateWhy string }
		}
	}
	if err := json.Unmarshal([]byte(info), &doc); err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range doc.Pack.Releases {
		states = append(states, r.Version+" "+r.State+" "+r.StateWhy)
	}
	if got, want := strings.Join(states, "; "), "3.26.0 active ; 3.27.0 deprecated annotations.system_state; 20.09.0 deleted annotations.system_state"; got != want {
		t.Errorf("info -o json states: %s, want %s", got, want)
	}

	_, errs := pg(0, "fetch", "calico", "--url", srv.URL, "--key", "reg.pub", "-d", "got/latest")
	if !strings.Contains(errs, "warning: calico@3.27.0 is deprecated (annotations.system_state)") {
		t.Errorf("latest is the deprecated 3.27.0, not the deleted 20.09.0, with a warning; stderr:\n%s", errs)
	}
	_, errs = pg(0, "fetch", "calico@20.09.0", "--url", srv.URL, "--key", "reg.pub", "-d", "got/deleted")
	if !strings.Contains(errs, "warning: calico@20.09.0 is deleted") {
		t.Errorf("exact version of a deleted release: stderr:\n%s", errs)
	}
	// images NAME@VERSION resolves exact versions too, and says so.
	out, errs := pg(0, "images", "calico@20.09.0", "--url", srv.URL, "--key", "reg.pub", "-o", "json")
	if !strings.Contains(out, "calico@20.09.0 is deleted (annotations.system_state): its images are listed all the same") {
		t.Errorf("images of a deleted release: no warning in\n%s", out)
	}
	out, errs = pg(1, "fetch", "calico@>=20", "--url", srv.URL, "--key", "reg.pub", "-d", "got/range")
	if msg := out + errs; !strings.Contains(msg, "20.09.0 (deleted)") || strings.Contains(msg, "20.9.0") {
		t.Errorf("a range does not resolve a deleted release, and versions show as written:\n%s", msg)
	}
	out, errs = pg(1, "fetch", "cilium", "--url", srv.URL, "--key", "reg.pub", "-d", "got/cilium")
	if msg := out + errs; !strings.Contains(msg, "pass --pre") {
		t.Errorf("only pre-releases: %s", msg)
	}
	pg(0, "fetch", "cilium", "--pre", "--url", srv.URL, "--key", "reg.pub", "-d", "got/cilium")
}
