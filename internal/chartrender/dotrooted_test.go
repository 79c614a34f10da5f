package chartrender

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/internal/testutil/tartest"
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
	filetest.Write(t, filepath.Join(parent, "c"), map[string]string{
		"Chart.yaml":             "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"values.yaml":            "image: nginx:1.0\n",
		"templates/deploy.yaml":  "image: {{ .Values.image }}\n",
		"templates/_helpers.tpl": "{{/* none */}}\n",
	})
	for _, tc := range []struct {
		name, dir, what string
		helm            bool // Helm's own loader reads it
	}{
		{"./c/Chart.yaml", parent, ".", false},                  // tar -C parent .
		{"./Chart.yaml", filepath.Join(parent, "c"), ".", true}, // tar -C c .
		{"c/Chart.yaml", parent, "c", true},                     // tar -C parent c
	} {
		out := filepath.Join(t.TempDir(), "c.tgz")
		if b, err := exec.Command(tarBin, "-C", tc.dir, "-czf", out, tc.what).CombinedOutput(); err != nil {
			t.Fatalf("%s: tar: %v\n%s", tc.name, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// What FORMAT.md says of each shape rests on this: Helm's
		// loader (`helm install x.tgz`) reads ./Chart.yaml and c/, and
		// finds no Chart.yaml in ./c/ (validation warns).
		if _, err := loader.LoadArchive(bytes.NewReader(data)); (err == nil) != tc.helm {
			t.Errorf("%s: Helm's loader: %v, want it to read the chart: %v", tc.name, err, tc.helm)
		}
		res := Render(&chartproto.Request{Archive: data, Values: []byte("c:\n  image: nginx:2.0\n"), Namespace: "ns"})
		if res.Err != nil || res.Chart != "c" || len(res.Manifests) != 1 || res.Manifests[0].Name != "c/templates/deploy.yaml" || string(res.Manifests[0].Data) != "image: nginx:2.0\n" {
			t.Errorf("%s: %+v (error %+v)", tc.name, res, res.Err)
		}
	}
}

// TestRenderRefusesAmbiguousArchives: the archives validation refuses
// because Helm's reader and validation would read different charts
// from them are refused here too, by the same rule
// (internal/chartshape), rather than rendered as the chart Helm's
// reader happens to find.
func TestRenderRefusesAmbiguousArchives(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tartest.Entry
		frag    string
	}{
		// Helm's reader dropped "." and "x" alike and rendered "evil"
		// 2.0.0 with b.yaml, while validation vouched for c 1.0.0.
		{"./ and bare names mixed", []tartest.Entry{
			tartest.File("./c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
			tartest.File("x/c/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 2.0.0\n"),
			tartest.File("x/c/templates/b.yaml", "kind: Secret\nimage: evil:1\n"),
		}, `are not both named with a leading "./"`},
		// Refused with its reason, not "Chart.yaml file is missing".
		{"second directory under ./", []tartest.Entry{
			tartest.Dir("./"),
			tartest.File("./c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
			tartest.File("./c/templates/a.yaml", "kind: ConfigMap\n"),
			tartest.File("./d/x", "x\n"),
		}, `entry "./d/x" lies outside the chart's directory c/`},
		// Helm's reader drops the first element whatever it is: d/'s
		// template would have been rendered as c's.
		{"second directory", []tartest.Entry{
			tartest.File("c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
			tartest.File("d/templates/b.yaml", "kind: Secret\n"),
		}, `entry "d/templates/b.yaml" lies outside`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Render(&chartproto.Request{Archive: tartest.TarGz(t, tc.entries...), Namespace: "ns"})
			if res.Err == nil || !strings.Contains(res.Err.Msg, tc.frag) || len(res.Manifests) != 0 || res.Chart == "evil" {
				t.Fatalf("got %+v (error %+v), want refused naming %s", res, res.Err, tc.frag)
			}
		})
	}
}
