package retire

import (
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack/meta"
)

// FuzzParse: retired.yaml comes from the repository (any contributor's
// pull request), and its entries go into the signed index. Parse never
// panics; every problem is at the file; an accepted file's entries are
// releases a registry can hold, each with a known state and a reason
// within the bound, none twice.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"calico:\n  3.27.10:\n    state: deprecated\n    reason: CVE-1\n",
		"calico:\n  \"3.27\": {state: Deleted, reason: \" broken upgrade \"}\n  v3.28.0: {state: deleted, reason: x}\n",
		"a: &x {1.0.0: {state: deleted, reason: r}}\nb: *x\n",
		"calico:\n  1.0.0: {state: gone, reason: x}\n",
		"calico: [1, 2]\n",
		"<<: {calico: {1.0.0: {state: deleted, reason: x}}}\n",
	} {
		f.Add([]byte(s))
	}
	const file = "packs/retired.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		l, ps := Parse(file, data)
		for _, p := range ps {
			if p.File != file {
				t.Fatalf("problem not at the file: %+v", p)
			}
		}
		if ps.HasErrors() {
			return
		}
		seen := map[string]bool{}
		for _, e := range l.Entries {
			id := meta.ReleaseID(e.Name, e.Version)
			if _, err := semver.NewVersion(e.Version); err != nil || !meta.ValidName(e.Name) || seen[id] {
				t.Fatalf("accepted entry %+v (seen: %v, version: %v)", e, seen[id], err)
			}
			seen[id] = true
			r := e.Retirement
			if (r.State != index.StateDeprecated && r.State != index.StateDeleted) || r.Reason == "" || len(r.Reason) > index.MaxReasonLen {
				t.Fatalf("accepted retirement %+v of %s", r, id)
			}
		}
	})
}
