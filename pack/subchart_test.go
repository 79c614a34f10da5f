package pack

import (
	"bytes"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil/tartest"
)

// TestSubchartShapes: a subchart archive in the chart's charts/ rooted
// at ./NAME/ is refused with a message that says how to repack it;
// Helm's loader cannot unpack it (internal/chartrender's
// TestHelmSubchartShapes), and its own error ("Chart.yaml file is
// missing") does not say why. Other shapes, and archives elsewhere in
// the chart, pass.
func TestSubchartShapes(t *testing.T) {
	sub := map[string]string{"Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n", "templates/cm.yaml": "kind: ConfigMap\n"}
	packaged := tartest.TarGz(t, tartest.Files("sub/", sub)...)
	dotRoot := tartest.TarGz(t, tartest.Files("./", sub)...)
	dotDir := tartest.TarGz(t, tartest.Files("./sub/", sub)...)
	parent := func(prefix, at string, subchart []byte) []byte {
		return tartest.TarGz(t,
			tartest.File(prefix+"Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.2.0\n"),
			tartest.File(prefix+"templates/d.yaml", "kind: Deployment\n"),
			tartest.File(prefix+at, subchart))
	}
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string // "" accepted
	}{
		{"packaged subchart", parent("web/", "charts/sub-0.1.0.tgz", packaged), ""},
		{"./Chart.yaml subchart", parent("web/", "charts/sub-0.1.0.tgz", dotRoot), ""},
		{"./sub/ subchart", parent("web/", "charts/sub-0.1.0.tgz", dotDir), "subchart web/charts/sub-0.1.0.tgz is rooted at ./sub/"},
		{"./sub/ subchart, .tar.gz", parent("web/", "charts/sub.tar.gz", dotDir), "subchart web/charts/sub.tar.gz is rooted at ./sub/"},
		{"./sub/ subchart of a ./-rooted chart", parent("./", "charts/sub-0.1.0.tgz", dotDir), "subchart charts/sub-0.1.0.tgz is rooted at ./sub/"},
		{"./sub/ archive outside charts/", parent("web/", "files/sub-0.1.0.tgz", dotDir), ""},
		{"./sub/ archive in a subchart's directory", parent("web/", "charts/sub/charts/x.tgz", dotDir), ""},
		{"not an archive in charts/", parent("web/", "charts/broken.tgz", []byte("not gzip")), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, version, _, err := inspectChart(bytes.NewReader(tc.archive))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && (name != "web" || version != "1.2.0"):
				t.Fatalf("read as %s@%s", name, version)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "helm package sub")):
				t.Fatalf("got %v, want an error saying %q and how to repack", err, tc.want)
			}
		})
	}
}

// TestSubchartBounds: reading a subchart's names spends the chart's own
// budgets. A review found a 56 KB chart of fifty small archives that
// each unpack to 500 MiB costing 9.5 s of CPU in validate; the bytes
// and entries a subchart unpacks now count against the chart's 512 MiB
// and 10,000 entries.
func TestSubchartBounds(t *testing.T) {
	zeros := tartest.TarGz(t, tartest.File("./sub/Chart.yaml", "name: sub\nversion: 0.1.0\n"), tartest.File("./sub/big", make([]byte, 2<<20)))
	budget, entries := int64(1<<20), 0
	if _, err := subchartLayout(bytes.NewReader(zeros), &budget, &entries); err == nil || !strings.Contains(err.Error(), "its subcharts counted") {
		t.Errorf("2 MiB unpacked within a 1 MiB budget: %v", err)
	}
	budget, entries = 4<<20, 0
	l, err := subchartLayout(bytes.NewReader(zeros), &budget, &entries)
	if err != nil || l.Dir != "sub" || budget > 2<<20 || budget < 1<<20 || entries != 2 {
		t.Errorf("within budget: %+v %v, budget left %d, entries %d", l, err, budget, entries)
	}
	budget, entries = 4<<20, maxChartEntries-1
	if _, err := subchartLayout(bytes.NewReader(zeros), &budget, &entries); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("entries over the chart's bound: %v", err)
	}
	// A subchart packaged as NAME/ is not read past its first name.
	packaged := tartest.TarGz(t, tartest.File("sub/Chart.yaml", "name: sub\n"), tartest.File("sub/big", make([]byte, 2<<20)))
	budget, entries = 1<<20, 0
	if l, err := subchartLayout(bytes.NewReader(packaged), &budget, &entries); err != nil || l.Shape != 0 || entries != 1 {
		t.Errorf("packaged subchart: %+v %v, entries %d", l, err, entries)
	}
}
