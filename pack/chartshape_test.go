package pack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack/meta"
)

// TestChartArchiveShapes: validation accepts the archive shapes Helm or
// the renderer reads as one chart (internal/chartshape), warns about
// the one Helm's own loader cannot read, and refuses archives whose
// names Helm and validation could read as different charts. The
// accepted shapes are made by tar(1) as people make them.
func TestChartArchiveShapes(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar(1)")
	}
	parent := t.TempDir()
	filetest.Write(t, parent, map[string]string{
		"c/Chart.yaml":           "apiVersion: v2\nname: c\nversion: 1.0.0\n",
		"c/templates/a.yaml":     "kind: ConfigMap\n",
		"stray/d/x":              "x\n",
		"stray/x/c/Chart.yaml":   "apiVersion: v2\nname: evil\nversion: 2.0.0\n",
		"stray/x/c/templates/b":  "kind: Secret\n",
		"other/c/Chart.yaml":     "apiVersion: v2\nname: c\nversion: 1.0.0\n",
		"other/c/templates/a.ym": "kind: ConfigMap\n",
	})
	// tar(1) run in dir on what.
	realTar := func(dir string, what ...string) []byte {
		out := filepath.Join(t.TempDir(), "c.tgz")
		args := append([]string{"-C", filepath.Join(parent, dir), "-czf", out}, what...)
		if b, err := exec.Command(tarBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("tar %v: %v\n%s", args, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	const file = "charts/c-1.0.0.tgz"
	for _, tc := range []struct {
		name    string
		archive func() []byte
		warning string // the one warning on file, if any
		err     string // the one error on file, if any
	}{
		{"helm package shape", func() []byte { return realTar(".", "c") }, "", ""},
		{"rooted at ./ inside the chart", func() []byte { return realTar("c", ".") }, "", ""},
		{"rooted at ./ above the chart", func() []byte { return realTar("other", ".") },
			"Helm's own loader cannot read this archive: repack it with `helm package c` (or `tar -C PARENT -czf x.tgz c`)", ""},
		// The review's first archive: validation read c@1.0.0 with x/… as
		// stray files while the renderer, like Helm, read "evil" 2.0.0.
		{"./ and bare names mixed", func() []byte {
			return tartest.TarGz(t,
				tartest.File("./c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
				tartest.File("x/c/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 2.0.0\n"),
				tartest.File("x/c/templates/b.yaml", "kind: Secret\n"))
		}, "", `entry "./c/Chart.yaml" and entry "x/c/Chart.yaml" are not both named with a leading "./"`},
		// The same made by tar(1): ./c/… then stray/x/c/… named bare.
		{"./ and bare names mixed, by tar", func() []byte { return realTar(".", "./c", "stray/x") }, "", `are not both named with a leading "./"`},
		// The review's second: validation accepted, the renderer said
		// "Chart.yaml file is missing".
		{"second top-level directory under ./", func() []byte { return realTar("stray/..", "./c", "./stray/d") }, "", `entry "./stray/d/" lies outside the chart's directory c/`},
		{"second top-level directory", func() []byte { return realTar(".", "c", "stray/d") }, "", `entry "stray/d/" lies outside the chart's directory c/`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := baseFS()
			m["pack.json"].Data = []byte(withField(`  "charts": ["` + file + `"],`))
			m[file] = &fstest.MapFile{Data: tc.archive()}
			_, ps := Load(m, ".", Options{})
			var errs, warns []meta.Problem
			for _, p := range ps {
				if p.File != file {
					continue
				}
				if p.Severity == meta.SevError {
					errs = append(errs, p)
				} else {
					warns = append(warns, p)
				}
			}
			if tc.err == "" && len(errs) > 0 {
				t.Fatalf("refused: %v", errs)
			}
			if tc.err != "" && (len(errs) != 1 || !strings.Contains(errs[0].Msg, tc.err) || !strings.Contains(errs[0].Msg, "helm package")) {
				t.Fatalf("errors %v, want one naming %s and saying how to repack", errs, tc.err)
			}
			if tc.warning == "" && len(warns) > 0 {
				t.Fatalf("warned: %v", warns)
			}
			if tc.warning != "" && (len(warns) != 1 || !strings.Contains(warns[0].Msg, tc.warning)) {
				t.Fatalf("warnings %v, want one saying %s", warns, tc.warning)
			}
		})
	}
}
