package build

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack"
)

// The published shard keeps every documented pack.json field of a pack
// as real repositories write it (`v`-prefixed 2-part version, templated
// manifests, a ./-rooted chart archive, constraints.resources).
func TestBuildKeepsPackJSONFields(t *testing.T) {
	tmp, r := newRepo(t)
	must(t, r.CopyDir("../pack/testdata/good/agent-v2.1", "packs/agent-v2.1"))
	must(t, r.CopyDir("../pack/testdata/good/hello-universe-1.2.0", "packs/hello-universe-1.2.0"))
	commit(t, r, "real shapes")
	out := filepath.Join(tmp, "site")
	res := built(t, r.Dir, out)

	data, err := os.ReadFile(filepath.Join(out, "packs", "agent", "index.json"))
	must(t, err)
	sh, err := index.ParseShard(data, "agent")
	must(t, err)
	if len(sh.Releases) != 1 {
		t.Fatalf("releases %v", sh.Versions())
	}
	got := sh.Releases[0]
	m, ps := pack.ParseManifest("pack.json", mustRead(t, "../pack/testdata/good/agent-v2.1/pack.json"))
	if ps.HasErrors() {
		t.Fatal(ps.Error())
	}
	want := index.Release{
		Version: "v2.1", Layer: "addon", DisplayName: "Agent", AddonType: "monitoring", AddonSubType: "metrics",
		CloudTypes: []string{"aws", "vsphere", "edge-native"}, Group: "Monitoring", EOL: "2027-01-31", KubeVersion: ">= 1.27.0 < 1.31.0",
		Charts: []string{"charts/agent-2.1.0.tgz"}, KubeManifests: []string{"manifests/agent.yaml", "manifests/rbac.yml"},
		Dependencies: m.Dependencies(), Resources: m.Resources(),
	}
	if len(want.Resources) != 3 || want.Resources[0].MinLimit != 2000 || want.Resources[0].Components[0].ScheduleType != "all" {
		t.Fatalf("fixture resources parsed as %+v", want.Resources)
	}
	got.Archive, got.Signature, got.Bundle, got.Commit, got.Tree, got.Dir = index.FileRef{}, "", "", "", "", ""
	want.Created = got.Created
	if !reflect.DeepEqual(got, want) {
		t.Errorf("shard release:\n got %+v\nwant %+v", got, want)
	}
	if len(res.Shards) != 2 {
		t.Errorf("built %d packs", len(res.Shards))
	}
}

var mustRead = testutil.ReadFile
