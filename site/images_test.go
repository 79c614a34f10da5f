package site

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack"
)

// TestImagesMatchPackgenImages: the Images section lists exactly what
// `packgen images` lists for the same release, on a messy pack: an
// unpacked chart with helpers and a custom resource, the real
// ingress-nginx chart archive, a templated CronJob manifest, a
// digest-pinned image, a declared image nothing deploys, non-ASCII
// text, and a .packignore'd file that names an image (not in the
// archive, so listed by neither). The catalogue skips validating the
// release again (images.Accepted); `packgen images` validates first.
func TestImagesMatchPackgenImages(t *testing.T) {
	src := t.TempDir()
	testutil.CopyDir(t, "../images/testdata/packs/webapp-1.2.0", src)
	testutil.CopyDir(t, "../examples/packs/ingress-nginx-4.10.1/charts", filepath.Join(src, "charts"))
	write := func(rel, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, rel), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".packignore", "scratch/\n")
	write("scratch/old.yaml", "kind: Pod\nspec:\n  containers:\n    - image: registry.example.com/ignored:1\n")
	write("manifests/grüße.yaml", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: grüße\n  annotations:\n    note: \"Grüße, 世界\"\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: init\n          image: registry.example.com/grüße-init:1.0\n      containers:\n        - name: agent\n          image: {{ .Values.image.repository }}:{{ .Values.image.tag }}\n")
	values := strings.Replace(mustRead(t, filepath.Join(src, "values.yaml")), "\nmanifests:\n", "\nmanifests:\n  grüße:\n    image:\n      repository: registry.example.com/agent\n      tag: \"2.0\"\n", 1)
	write("values.yaml", values)

	archive := filepath.Join(t.TempDir(), "webapp-1.2.0.tar.gz")
	testutil.Must(t, os.WriteFile(archive, testutil.PackArchive(t, src), 0o644))

	// What the catalogue shows.
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	a, err := pack.OpenArchive(f, pack.ArchiveLimits{MaxTotalSize: maxWholeArchive})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	got, err := findImages(a)
	if err != nil {
		t.Fatal(err)
	}
	if got.Note != "" {
		t.Fatalf("no images listed: %s", got.Note)
	}

	// `packgen images webapp@1.2.0` (a fetched archive) and `packgen
	// images DIR` (the pack's directory) on the same release.
	fetched, err := images.Archive(archive, "webapp@1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	fromArchive := viewOf(fetched)
	if !reflect.DeepEqual(got.Rows, fromArchive.Rows) || got.Declared != fromArchive.Declared || got.Deployed != fromArchive.Deployed ||
		got.Undeclared != fromArchive.Undeclared || got.Unused != fromArchive.Unused || got.NoRenders != fromArchive.NoRenders {
		t.Errorf("the catalogue lists\n%+v\n`packgen images webapp@1.2.0` lists\n%+v", got, fromArchive)
	}
	dir, err := images.Tree(os.DirFS(src), ".", "")
	if err != nil {
		t.Fatal(err)
	}
	// Warnings too: both name files relative to the pack.
	if fromDir := viewOf(dir); !reflect.DeepEqual(got, fromDir) {
		t.Errorf("the catalogue shows\n%+v\n`packgen images DIR` shows\n%+v", got, fromDir)
	}

	// The fixture is as messy as it says.
	want := map[string]string{
		"registry.k8s.io/ingress-nginx/controller": "", "docker.io/acme/backup:v0.9.0": "not declared",
		"registry.example.com/agent:2.0": "not declared",
		"docker.io/library/postgres:14":  "unused",
	}
	seen := map[string]bool{}
	for _, r := range got.Rows {
		for w, warn := range want {
			if r.Image == w || (len(r.Image) > len(w) && r.Image[:len(w)+1] == w+":") {
				seen[w] = true
				if r.Warn != warn && warn != "" {
					t.Errorf("%s: %q, want %q", r.Image, r.Warn, warn)
				}
			}
		}
		if r.Image == "registry.example.com/ignored:1" {
			t.Error("an ignored file's image is listed")
		}
	}
	for w := range want {
		if !seen[w] {
			t.Errorf("%s not listed: %+v", w, got.Rows)
		}
	}
	// A reference that does not parse is a warning, with its file.
	bad := false
	for _, w := range got.Warnings {
		bad = bad || strings.Contains(w, `"registry.example.com/grüße-init:1.0" in manifests/grüße.yaml does not parse`)
	}
	if !bad {
		t.Errorf("no warning for the non-ASCII reference: %q", got.Warnings)
	}
}

func mustRead(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// failingRenderer is a chart renderer whose helper died mid-render.
type failingRenderer struct{}

func (failingRenderer) Render(*chartproto.Request) (*chartproto.Result, error) {
	return nil, fmt.Errorf("%w: packgen-helm stopped while rendering: unexpected EOF", images.ErrRendererFailed)
}

// TestFindImagesFailsClosed: a chart renderer that dies or runs out of
// time (images.ErrRendererFailed) fails the build, as a missing one
// does, instead of leaving a note that the image cache would remember
// as the release's view; a release without charts needs no renderer.
func TestFindImagesFailsClosed(t *testing.T) {
	archive := testutil.PackArchive(t, "../images/testdata/packs/webapp-1.2.0")
	a, err := pack.OpenArchive(bytes.NewReader(archive), pack.ArchiveLimits{MaxTotalSize: maxWholeArchive})
	if err != nil {
		t.Fatal(err)
	}
	defer images.SetRenderer(failingRenderer{})()
	v, err := findImages(a)
	if !errors.Is(err, images.ErrRendererFailed) || v != nil {
		t.Fatalf("findImages = %+v, %v; want no view and ErrRendererFailed", v, err)
	}
}
