package airgap

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/publish"
)

// TestMarkerReachable: an import after the source changed keeps, of the
// releases earlier imports recorded, those the new index still leads to
// (an unchanged pack, a pack this bundle carries) and drops, with a
// warning, those of a pack that changed at the source and is not in
// this bundle (its new shard is in neither the bundle nor the registry).
func TestMarkerReachable(t *testing.T) {
	ctx := context.Background()
	// Three packs in three different leaves (4 buckets for 3 packs), so
	// that a change to one leaves the others' nodes as they were.
	var names []string
	seen := map[int]bool{}
	for _, n := range []string{"web", "agent", "cache", "dns", "edge", "ingress", "backup", "mesh"} {
		if b := index.BucketOf(n, 2); !seen[b] && len(names) < 3 {
			seen[b] = true
			names = append(names, n)
		}
	}
	changed, carried, kept := names[0], names[1], names[2]
	tmp := t.TempDir()
	repo, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(dir, name, version string) {
		repo.Write("packs/"+dir+"/pack.json", []byte(`{"name": "`+name+`", "version": "`+version+`", "layer": "addon", "addonType": "monitoring", "displayName": "x", "cloudTypes": ["all"]}`))
		repo.Write("packs/"+dir+"/values.yaml", []byte("pack:\n  namespace: x\n"))
	}
	siteOf := func(out string, at time.Time) {
		if _, err := repo.Commit(out); err != nil {
			t.Fatal(err)
		}
		if _, err := build.Run(ctx, build.Options{Repo: repo.Dir, PacksDir: "packs", Out: filepath.Join(tmp, out), Registry: "acme", History: true, GeneratedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	write(changed+"-1.0", changed, "1.0")
	write(carried+"-v2", carried, "v2")
	write(kept+"-0.1.0", kept, "0.1.0")
	siteOf("before", time.Now())
	write(changed+"-1.1", changed, "1.1") // at the source, after the first import
	siteOf("after", time.Now().Add(time.Hour))

	// The registry as the first import left it: the whole first site
	// will do (what matters is what the new root's tree finds there).
	// This bundle: the second site's subset for the carried pack.
	open := func(dir string) transport.Transport {
		l, err := location.Parse(dir)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := transport.Open(l, transport.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	after := open(filepath.Join(tmp, "after"))
	sub, err := publish.ReadSubset(ctx, after, nil, map[string][]string{carried: {"v2"}})
	if err != nil {
		t.Fatal(err)
	}
	bundleDir := filepath.Join(tmp, "bundle")
	for p, data := range sub.Files {
		os.MkdirAll(filepath.Dir(filepath.Join(bundleDir, p)), 0o755)
		os.WriteFile(filepath.Join(bundleDir, p), data, 0o644)
	}
	var warnings []string
	im := &importer{o: ImportOptions{Dest: filepath.Join(tmp, "before")}, tr: open(bundleDir), sub: sub}
	im.warn = warner(&warnings, io.Discard)
	first := index.AirgapBundle{List: "sha256:" + strings.Repeat("1", 64), Manifest: []byte("manifest"), Listing: []byte("list"), Releases: []index.AirgapRelease{{Name: changed, Version: "1.0"}, {Name: carried, Version: "v2"}, {Name: kept, Version: "0.1.0"}}}
	this := index.AirgapBundle{List: "sha256:" + strings.Repeat("2", 64), Releases: []index.AirgapRelease{{Name: carried, Version: "v2"}}}

	got := im.reachable(ctx, []index.AirgapBundle{first}, this)
	if len(got) != 1 || len(got[0].Releases) != 2 || got[0].Releases[0].Name != carried || got[0].Releases[1].Name != kept {
		t.Errorf("kept %+v, want %s@v2 and %s@0.1.0", got, carried, kept)
	}
	if len(got) == 1 && (string(got[0].Manifest) != "manifest" || string(got[0].Listing) != "list") {
		t.Errorf("kept %+v without the list it carried: verify --site could not check it", got[0])
	}
	if w := strings.Join(warnings, "\n"); len(warnings) != 1 || !strings.Contains(w, changed+"@1.0, imported before") || !strings.Contains(w, "export it again") {
		t.Errorf("warnings %q", warnings)
	}

	// A review found an older bundle imported over a newer one rewrote
	// the marker (dropping what the newer bundle brought), and only then
	// was its root refused. It is refused before anything is pushed; the
	// same bundle again, a newer one and a first import pass.
	older, err := publish.ReadSubset(ctx, open(filepath.Join(tmp, "before")), nil, map[string][]string{carried: {"v2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dest string
		sub  *publish.Subset
		ok   bool
	}{
		{filepath.Join(tmp, "after"), older, false},
		{filepath.Join(tmp, "after"), sub, true},
		{filepath.Join(tmp, "before"), sub, true},
		{t.TempDir(), older, true},
	} {
		im := &importer{o: ImportOptions{Dest: tc.dest}, sub: tc.sub}
		err := im.checkLiveRoot(ctx)
		if tc.ok != (err == nil) || (err != nil && (!errors.Is(err, publish.ErrRollback) || !strings.Contains(err.Error(), "nothing pushed"))) {
			t.Errorf("bundle serial %d over %s: %v", tc.sub.Root.Serial, filepath.Base(tc.dest), err)
		}
	}
}

// TestWarnerEscapes: export's and import's warnings quote registries'
// errors and a bundle's names: shown on the terminal, not obeyed; the
// -o json list keeps the text (JSON escapes it).
func TestWarnerEscapes(t *testing.T) {
	var list []string
	var out strings.Builder
	warner(&list, &out)("%s: %v", "web@1.0", errors.New("500 \x1b[2J\r"))
	if got := out.String(); got != "warning: web@1.0: 500 \\x1b[2J\\r\n" || len(list) != 1 || list[0] != "web@1.0: 500 \x1b[2J\r" {
		t.Errorf("printed %q, listed %q", got, list)
	}
}
