package build

import (
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/chartrender"
)

// Charts render in the test process (Helm linked into the test binary
// only), as the build's image check needs them to.
func init() { images.SetRenderer(chartrender.InProcess{}) }
