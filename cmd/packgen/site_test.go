package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildCatalogue: build writes the HTML catalogue, a rebuild of the
// same commit reuses it byte for byte, and --no-site leaves it out.
func TestBuildCatalogue(t *testing.T) {
	tmp := t.TempDir()
	repo := examplesRepo(t, filepath.Join(tmp, "repo"))
	out := filepath.Join(tmp, "site")
	cache := filepath.Join(tmp, "cache")
	t.Setenv("XDG_CACHE_HOME", cache)
	build := func(extra ...string) {
		t.Helper()
		// The fixture's commit is dated 2024: without a long expiry the
		// index would be expired, which build refuses.
		args := append([]string{"build", "--repo", repo.Dir, "--out", out, "-q", "--expires", "100000h"}, extra...)
		if code, stdout, errs := run(t, args...); code != 0 {
			t.Fatalf("build %v: exit %d\n%s%s", extra, code, stdout, errs)
		}
	}
	catalogue := []string{"index.html", "catalog.json", "assets/app.js", "assets/catalog.js", "assets/style.css", "packs/calico/index.html", "packs/prometheus-operator/index.html", "packs/lb-metallb/logo.png"}

	build()
	first := map[string]string{}
	for _, f := range catalogue {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatalf("catalogue file missing: %v", err)
		}
		first[f] = string(b)
	}
	if !strings.Contains(first["packs/prometheus-operator/index.html"], "packgen fetch prometheus-operator@58.2.1") {
		t.Error("pack page without fetch snippet")
	}
	// The images its chart deploys, found by rendering it, and remembered
	// by archive digest in the user's cache.
	if !strings.Contains(first["packs/prometheus-operator/index.html"], `<code class="img">quay.io/prometheus-operator/prometheus-operator:v0.73.2</code>`) {
		t.Error("pack page without the image its chart deploys")
	}
	if fi, err := os.Stat(filepath.Join(cache, "packgen", "catalogue-images-v1.txt")); err != nil || fi.Size() == 0 {
		t.Errorf("no image cache in the user's cache dir: %v", err)
	}

	build() // reuses the pages of the build in --out
	for _, f := range catalogue {
		if b, _ := os.ReadFile(filepath.Join(out, f)); string(b) != first[f] {
			t.Errorf("%s changed on a rebuild of the same commit", f)
		}
	}

	build("--no-site")
	if _, err := os.Stat(filepath.Join(out, "index.json")); err != nil {
		t.Fatal(err)
	}
	for _, f := range catalogue {
		if _, err := os.Stat(filepath.Join(out, f)); !os.IsNotExist(err) {
			t.Errorf("--no-site: %s written (%v)", f, err)
		}
	}
}
