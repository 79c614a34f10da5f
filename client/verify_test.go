package client

import (
	"testing"

	"github.com/packgen/packgen/internal/testutil"
)

// verify --site -o json: each problem is in the shape every -o json uses
// (pack/meta.Problem), and decodes back.
func TestSiteProblemJSON(t *testing.T) {
	for _, c := range []struct {
		p    SiteProblem
		want string
	}{
		{SiteProblem{Path: "index.json", Err: "index expired: expired at 2026-01-01T00:00:00Z"},
			`{"file":"index.json","severity":"error","message":"index expired: expired at 2026-01-01T00:00:00Z"}`},
		{SiteProblem{Path: "packs/a/1.0.0/a-1.0.0.tar.gz", Err: "digest mismatch"},
			`{"file":"packs/a/1.0.0/a-1.0.0.tar.gz","severity":"error","message":"digest mismatch"}`},
	} {
		testutil.JSONRoundTrip(t, c.p, c.want)
	}
}
