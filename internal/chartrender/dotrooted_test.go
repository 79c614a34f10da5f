package chartrender

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/internal/chartproto"
)

// TestRenderDotRooted: chart archives made with tar(1) as people do,
// rooted at "./" (FORMAT.md accepts them, and real packs carry them),
// render like the same chart packed by `helm package`. Helm's reader
// took "." for the chart's directory and reported "Chart.yaml file is
// missing", so `validate`, `images` and the catalogue failed on packs
// that `build` published.
func TestRenderDotRooted(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar(1)")
	}
	parent := t.TempDir()
	for name, data := range map[string]string{
		"Chart.yaml":             "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"values.yaml":            "image: nginx:1.0\n",
		"templates/deploy.yaml":  "image: {{ .Values.image }}\n",
		"templates/_helpers.tpl": "{{/* none */}}\n",
	} {
		p := filepath.Join(parent, "c", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, dir, what string }{
		{"./c/Chart.yaml", parent, "."},                   // tar -C parent .
		{"./Chart.yaml", filepath.Join(parent, "c"), "."}, // tar -C c . (Helm's reader took it already)
		{"c/Chart.yaml", parent, "c"},                     // tar -C parent c
	} {
		out := filepath.Join(t.TempDir(), "c.tgz")
		if b, err := exec.Command(tarBin, "-C", tc.dir, "-czf", out, tc.what).CombinedOutput(); err != nil {
			t.Fatalf("%s: tar: %v\n%s", tc.name, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		res := Render(&chartproto.Request{Archive: data, Values: []byte("c:\n  image: nginx:2.0\n"), Namespace: "ns"})
		if res.Err != nil || res.Chart != "c" || len(res.Manifests) != 1 || res.Manifests[0].Name != "c/templates/deploy.yaml" || string(res.Manifests[0].Data) != "image: nginx:2.0\n" {
			t.Errorf("%s: %+v (error %+v)", tc.name, res, res.Err)
		}
	}
}
