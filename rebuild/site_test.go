package rebuild

import (
	"testing"

	"github.com/packgen/packgen/internal/testutil"
)

// verify --site --repo -o json: each problem is the release and a
// problem in the shape every -o json uses (pack/meta.Problem).
func TestProblemJSON(t *testing.T) {
	for _, c := range []struct {
		p    Problem
		want string
	}{
		{Problem{Pack: "calico", Version: "3.27.3", Path: "packs/calico/3.27.3/calico-3.27.3.tar.gz", Msg: "not the archive git builds"},
			`{"pack":"calico","version":"3.27.3","file":"packs/calico/3.27.3/calico-3.27.3.tar.gz","severity":"error","message":"not the archive git builds"}`},
		{Problem{Pack: "a", Version: "1.0.0", Path: "a/values.yaml", Msg: "differs from git"},
			`{"pack":"a","version":"1.0.0","file":"a/values.yaml","severity":"error","message":"differs from git"}`},
	} {
		testutil.JSONRoundTrip(t, c.p, c.want)
	}
}
