package source

import (
	"context"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
)

func TestChanges(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/same", "same", "1.0.0")
	writePack(t, r, "packs/edited", "edited", "1.0.0")
	writePack(t, r, "packs/bumped", "bumped", "1.0.0")
	writePack(t, r, "packs/down", "down", "2.0.0")
	writePack(t, r, "packs/moved", "moved", "1.0.0")
	writePack(t, r, "packs/calico-1.0", "calico", "1.0")
	writePack(t, r, "other/outside", "outside", "1.0.0")
	writePack(t, r, "packs/web-0.9.0", "web", "0.9.0")
	writePack(t, r, "packs/web-1.0", "web", "1.0")
	writePack(t, r, "packs/many", "many", "1.0.0")
	must(t, r.Write("packs/many/manifests/c.yaml", []byte("c: 1\n")))
	writePack(t, r, "packs/stated", "stated", "1.0.0")
	writePack(t, r, "packs/stated-more", "more", "1.0.0")
	base := commit(t, r, "base")
	// Retiring a published release in its pack.json: the retirement
	// file is the way, unless more than system_state changed.
	deprecated := `,
  "annotations": {"system_state": "deprecated"}`
	must(t, r.Write("packs/stated/pack.json", testutil.PackJSON("stated", "1.0.0", "cni", deprecated)))
	must(t, r.Write("packs/stated-more/pack.json", testutil.PackJSON("more", "1.0.0", "cni", deprecated)))
	must(t, r.Write("packs/stated-more/values.yaml", []byte("d: 4\n")))
	// Files outside pack.json changed, edited, added and removed: named,
	// a few, then how many more.
	for _, f := range []string{"README.md", "manifests/a.yaml", "manifests/b.yaml", "values.yaml"} {
		must(t, r.Write("packs/many/"+f, []byte("x: 2\n")))
	}
	must(t, r.Remove("packs/many/manifests/c.yaml"))

	must(t, r.Write("packs/edited/values.yaml", []byte("a: 1\n")))
	writePack(t, r, "packs/bumped", "bumped", "1.1.0")
	must(t, r.Write("packs/bumped/values.yaml", []byte("a: 1\n")))
	writePack(t, r, "packs/down", "down", "1.9.0")
	must(t, r.Remove("packs/moved"))
	writePack(t, r, "packs/moved-here", "moved", "1.0.0") // same tree, new place: fine
	writePack(t, r, "packs/calico-1.0.0", "calico", "1.0.0")
	must(t, r.Write("packs/calico-1.0.0/values.yaml", []byte("b: 2\n"))) // copied, not bumped (1.0 = 1.0.0)
	writePack(t, r, "packs/new", "new", "0.1.0")
	must(t, r.Write("other/outside/values.yaml", []byte("c: 3\n"))) // outside --packs-dir
	// A copy of a pack directory, content and all, not bumped: the build
	// at head refuses same@1.0.0 in two directories, so must the check.
	writePack(t, r, "packs/same-copy", "same", "1.0.0")
	// A bump onto a version another directory holds (1.0 is 1.0.0).
	writePack(t, r, "packs/web-0.9.0", "web", "1.0.0")
	commit(t, r, "change")

	repo := openRepo(t, r.Dir)
	changes, err := repo.Changes(context.Background(), base, "HEAD", "packs/")
	must(t, err)
	got := map[string]string{}
	var dirs []string
	for _, c := range changes {
		dirs = append(dirs, c.Dir)
		got[c.Dir] = c.VersionProblem()
	}
	if strings.Join(dirs, " ") != "packs/bumped packs/calico-1.0.0 packs/down packs/edited packs/many packs/moved-here packs/new packs/same-copy packs/stated packs/stated-more packs/web-0.9.0" {
		t.Fatalf("changed dirs: %v", dirs)
	}
	for dir, want := range map[string]string{
		"packs/bumped":       "",
		"packs/calico-1.0.0": "calico@1.0.0 already exists in packs/calico-1.0 with other content",
		"packs/down":         "version went down from 2.0.0 to 1.9.0",
		"packs/edited":       "the content of edited@1.0.0 changed but its version did not (changed: values.yaml):",
		"packs/many":         "the content of many@1.0.0 changed but its version did not (changed: README.md, manifests/a.yaml, manifests/b.yaml and 2 more):",
		"packs/moved-here":   "",
		"packs/new":          "",
		"packs/same-copy":    "same@1.0.0 is also defined by packs/same: a version is one directory, and the build refuses two; bump \"version\" in this pack.json (e.g. to 1.0.1)",
		"packs/web-0.9.0":    "web@1.0.0 is also defined by packs/web-1.0",
		"packs/stated":       "the annotations.system_state of stated@1.0.0 changed: published versions are immutable; to deprecate or delete a published release, leave its pack.json as published and add it to packs/retired.yaml (stated: {1.0.0: {state: deprecated, reason: why}}",
		"packs/stated-more":  "the content of more@1.0.0 changed but its version did not (changed: pack.json, values.yaml)",
	} {
		if want == "" && got[dir] != "" || !strings.Contains(got[dir], want) {
			t.Errorf("%s: %q, want %q", dir, got[dir], want)
		}
	}
	if changes[0].Release.Name != "bumped" || changes[0].Release.Version != "1.1.0" || changes[0].Release.TreeHash == "" {
		t.Errorf("release of a change: %+v", changes[0].Release)
	}
	if c, err := repo.Changes(context.Background(), "HEAD", "HEAD", "packs"); err != nil || len(c) != 0 {
		t.Errorf("no change: %v %v", c, err)
	}
	if _, err := repo.Changes(context.Background(), "origin/main", "HEAD", "packs"); err == nil || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Errorf("missing base ref: %v", err)
	}
}

// TestPackIDs: the release each pack directory defines at a ref, keyed
// as the build keys releases (1.0 is 1.0.0), only under the packs dir.
func TestPackIDs(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/calico-1.0", "calico", "1.0")
	writePack(t, r, "packs/nested/web", "web", "v2.1.0")
	writePack(t, r, "other/outside", "outside", "1.0.0")
	must(t, r.Write("packs/broken/pack.json", []byte("{")))
	commit(t, r, "base")
	ids, err := openRepo(t, r.Dir).PackIDs("HEAD", "packs/")
	must(t, err)
	want := map[string]string{"packs/calico-1.0": "calico@1.0.0", "packs/nested/web": "web@2.1.0"}
	if len(ids) != len(want) {
		t.Fatalf("got %v, want %v", ids, want)
	}
	for d, id := range want {
		if ids[d] != id {
			t.Errorf("%s: got %q, want %q", d, ids[d], id)
		}
	}
	if _, err := openRepo(t, r.Dir).PackIDs("no-such-ref", "packs"); err == nil {
		t.Error("an unknown ref: no error")
	}
}
