package realrepo

import (
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/chartrender"
)

// Charts render in the test process (Helm linked into the test binary
// only): the builds these tests make check every release's charts.
func init() { images.SetRenderer(chartrender.InProcess{}) }
