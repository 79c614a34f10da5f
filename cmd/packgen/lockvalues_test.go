package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/profile"
	"github.com/packgen/packgen/serve"
)

// TestLockImagesFollowOverrides: every consumer of a lock lists, pins,
// checks and bundles the images the profile deploys — each pack's
// values.yaml merged with the profile's overrides, as `profile render`
// writes it — not the pack's defaults: a private mirror in
// pack.content.images and in a templated manifest's value, a chart's
// image.repository and tag. End to end through the binary, against the
// real distribution registry.
func TestLockImagesFollowOverrides(t *testing.T) {
	tmp, pg, oci := imageRunner(t)
	h := oci.Host()
	oci.PushImage(t, "acme/web:1.0", "web")
	side := oci.PushImage(t, "acme/sidecar:1", "sidecar")
	mirrorWeb := oci.PushImage(t, "mirror/web:9.9", "web, mirrored")
	api := oci.PushImage(t, "acme/api:2.0", "api")
	mirrorAPI := oci.PushImage(t, "mirror/api:3.0", "api 3, mirrored")

	repo := imagePacks(t, tmp, h)
	testutil.Commit(t, repo, "packs")
	key, site := keyAndSite(tmp, repo.Dir, pg)
	srv := httptest.NewServer(serve.Handler(site))
	defer srv.Close()
	pg(0, "registry", "add", "local", srv.URL, "--key", key+".pub")

	// web: a private mirror, declared and in the manifest's value; api:
	// the chart's image moved to the mirror and a new tag (its declared
	// list left alone: declared, not deployed).
	prof := filepath.Join(tmp, "apps.yaml")
	testutil.Must(t, os.WriteFile(prof, []byte("name: apps\ncloudType: aws\nlayers:\n  - pack: web\n    version: \"^1\"\n    values:\n      pack:\n        content:\n          images:\n            - image: "+h+"/mirror/web:9.9\n      manifests:\n        web:\n          image: "+h+"/mirror/web:9.9\n  - pack: api\n    version: \"^2\"\n    values:\n      charts:\n        api:\n          image:\n            repository: "+h+"/mirror/api\n            tag: \"3.0\"\n"), 0o644))
	pg(0, "profile", "resolve", prof, "--partial", "--pin-images", "--plain-http")
	lockPath := filepath.Join(tmp, "apps.lock")
	lock, err := profile.LoadLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := lock.Find("web").Images; len(got) != 1 || got[h+"/mirror/web:9.9"] != mirrorWeb {
		t.Errorf("--pin-images: web pins %v, want only %s/mirror/web:9.9", got, h)
	}
	if got := lock.Find("api").Images; len(got) != 3 || got[h+"/mirror/api:3.0"] != mirrorAPI || got[h+"/acme/api:2.0"] != api || got[h+"/acme/sidecar:1"] != side {
		t.Errorf("--pin-images: api pins %v, want the mirror's 3.0, the declared 2.0 and the sidecar", got)
	}

	// images LOCK: what deploys, and from which profile's overrides.
	out, _ := pg(0, "images", lockPath, "-o", "json")
	var doc struct{ Packs []images.Report }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Packs) != 2 {
		t.Fatalf("images lock: %v\n%s", err, out)
	}
	state := map[string]string{}
	for _, r := range doc.Packs {
		if r.Overrides != prof {
			t.Errorf("%s: overrides %q, want %q", r.Pack, r.Overrides, prof)
		}
		for _, im := range r.Images {
			state[r.Pack+" "+im.Image] = im.State()
		}
	}
	want := map[string]string{
		"web " + h + "/mirror/web:9.9": "declared, deployed",
		"api " + h + "/acme/api:2.0":   "declared, NOT DEPLOYED",
		"api " + h + "/mirror/api:3.0": "deployed, NOT DECLARED",
		"api " + h + "/acme/sidecar:1": "declared, deployed",
	}
	if len(state) != len(want) {
		t.Errorf("images lock: %v, want %v", state, want)
	}
	for k, v := range want {
		if state[k] != v {
			t.Errorf("images lock: %s is %q, want %q (all: %v)", k, state[k], v, state)
		}
	}
	if out, _ := pg(0, "images", lockPath); !strings.Contains(out, "web@1.0.0 (web@1.0.0, values with the overrides of "+prof+")") {
		t.Errorf("images lock (text) does not say the overrides apply:\n%s", out)
	}

	// fetch --check-images: the pins are those of the deployed images.
	pg(0, "profile", "fetch", lockPath, "-d", filepath.Join(tmp, "cluster"), "--check-images", "--plain-http")

	// airgap export: the mirror's images are bundled, the defaults not.
	out, _ = pg(0, "airgap", "export", lockPath, filepath.Join(tmp, "b.tar"), "-o", "json", "--plain-http")
	var rep struct{ Images []struct{ Image string } }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	var got []string
	for _, im := range rep.Images {
		got = append(got, im.Image)
	}
	if strings.Join(got, " ") != h+"/acme/api:2.0 "+h+"/acme/sidecar:1 "+h+"/mirror/api:3.0 "+h+"/mirror/web:9.9" {
		t.Errorf("airgap export bundled %v", got)
	}

	// Without the profile the lock cannot say what deploys: refused.
	testutil.Must(t, os.Rename(prof, prof+".away"))
	for _, args := range [][]string{
		{"images", lockPath},
		{"profile", "fetch", lockPath, "-d", filepath.Join(tmp, "c2"), "--check-images", "--plain-http"},
		{"airgap", "export", lockPath, filepath.Join(tmp, "c.tar"), "--plain-http"},
	} {
		if _, errs := pg(2, args...); !strings.Contains(errs, "names profile file apps.yaml") || !strings.Contains(errs, "does not exist") {
			t.Errorf("%v without the profile: %s", args, errs)
		}
	}
}
