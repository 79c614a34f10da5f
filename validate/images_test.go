package validate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/images/lookup"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
)

// TestCheckImages validates packs whose declared images live in the
// real distribution registry (seeded here) and in one that is down:
// a missing image is an error at each values.yaml line that declares
// it, the dead registry one error for its two images, and the digests
// of the rest are listed.
func TestCheckImages(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := ocitest.Start(t, ocitest.Anonymous)
	h := reg.Host()
	api := reg.PushImage(t, "acme/api:1.0", "api")
	dead := testutil.FreeAddr(t)

	tree := t.TempDir()
	write := func(dir, name, images string) {
		os.MkdirAll(filepath.Join(tree, dir), 0o755)
		os.WriteFile(filepath.Join(tree, dir, "pack.json"), testutil.PackJSON(name, "1.0.0", "addon", ""), 0o644)
		os.WriteFile(filepath.Join(tree, dir, "values.yaml"), []byte("pack:\n  content:\n    images:\n"+images), 0o644)
	}
	write("api-1.0.0", "api", "      - image: "+h+"/acme/api:1.0\n      - image: "+h+"/acme/api:1.1\n")
	write("worker-1.0.0", "worker", "      - image: "+dead+"/acme/worker:2\n      - image: "+h+"/acme/api:1.1\n      - image: "+dead+"/acme/cron:2\n")

	// Without the flag nothing is asked.
	rep, err := Dirs([]string{tree})
	if err != nil || rep.Errors != 0 || rep.Images != nil || reg.Requests("HEAD", "") != 0 {
		t.Fatalf("without --check-images: %v %v %d", err, rep.Problems, reg.Requests("HEAD", ""))
	}

	rep, err = DirsWith(context.Background(), []string{tree}, Options{CheckImages: true, Lookup: lookup.Options{OCI: ocireg.Options{PlainHTTP: true}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		tree + "/api-1.0.0/values.yaml:5: error: pack api@1.0.0: declared image " + h + "/acme/api:1.1 does not exist",
		tree + "/worker-1.0.0/values.yaml:4: error: cannot check the declared images of registry " + dead + ": " + dead + ": registry unreachable",
		tree + "/worker-1.0.0/values.yaml:5: error: pack worker@1.0.0: declared image " + h + "/acme/api:1.1 does not exist",
	}
	if len(rep.Problems) != len(want) || rep.Errors != 3 {
		t.Fatalf("problems:\n%v", rep.Problems)
	}
	for i, w := range want {
		if got := rep.Problems[i].String(); !strings.HasPrefix(got, w) {
			t.Errorf("problem %d:\n%s\nwant prefix\n%s", i, got, w)
		}
	}
	if m := rep.Problems[1].Msg; !strings.Contains(m, "(2 images of "+dead+" not checked: "+dead+"/acme/cron:2, "+dead+"/acme/worker:2)") {
		t.Errorf("registry error does not name both images: %s", m)
	}
	if len(rep.Images) != 1 || rep.Images[0] != (ImageDigest{h + "/acme/api:1.0", api}) {
		t.Errorf("digests: %+v", rep.Images)
	}
	for i := 0; i < 100 && reg.Requests("HEAD", "/manifests/") < 2; i++ {
		time.Sleep(20 * time.Millisecond) // the access log is read as the registry writes it
	}
	if n := reg.Requests("HEAD", "/manifests/"); n != 2 {
		t.Errorf("HEAD requests %d, want 2 (one per distinct image)", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DirsWith(ctx, []string{tree}, Options{CheckImages: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
