package rebuild

import (
	"encoding/json"
	"testing"
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
		got, err := json.Marshal(c.p)
		if err != nil || string(got) != c.want {
			t.Errorf("%+v: %v\n got %s\nwant %s", c.p, err, got, c.want)
			continue
		}
		var back Problem
		if err := json.Unmarshal(got, &back); err != nil || back != c.p {
			t.Errorf("%s decodes to %+v (%v)", got, back, err)
		}
	}
}
