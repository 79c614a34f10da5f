package chartrender

import (
	"bytes"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/packgen/packgen/internal/testutil/tartest"
)

// TestHelmSubchartShapes: what pack's TestSubchartShapes refuses rests
// on this: Helm's own loader, which unpacks charts/*.tgz as it loads
// a chart, reads a subchart packed as sub/ or ./ and fails on one
// rooted at ./sub/.
func TestHelmSubchartShapes(t *testing.T) {
	sub := map[string]string{"Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n", "templates/cm.yaml": "kind: ConfigMap\n"}
	for _, tc := range []struct {
		prefix string
		loads  bool
	}{{"sub/", true}, {"./", true}, {"./sub/", false}} {
		archive := tartest.TarGz(t,
			tartest.File("web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.2.0\n"),
			tartest.File("web/charts/sub-0.1.0.tgz", tartest.TarGz(t, tartest.Files(tc.prefix, sub)...)))
		c, err := loader.LoadArchive(bytes.NewReader(archive))
		switch {
		case tc.loads && (err != nil || len(c.Dependencies()) != 1 || c.Dependencies()[0].Name() != "sub"):
			t.Errorf("subchart packed as %s: %v", tc.prefix, err)
		case !tc.loads && (err == nil || !strings.Contains(err.Error(), "Chart.yaml file is missing")):
			t.Errorf("subchart packed as %s: Helm loaded it (%v)", tc.prefix, err)
		}
	}
}
