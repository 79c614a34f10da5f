package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/source"
)

// writeChartPack writes pack name@1.0.0 at packs/NAME-1.0.0 with an
// unpacked chart c whose pod template is tmpl, and values (appended to
// the pack's namespace).
func writeChartPack(t *testing.T, r *gitfixture.Repo, name, values, tmpl string) {
	t.Helper()
	writeChartPackVersion(t, r, name, "1.0.0", values, tmpl)
}

func writeChartPackVersion(t *testing.T, r *gitfixture.Repo, name, version, values, tmpl string) {
	t.Helper()
	dir := "packs/" + name + "-" + version
	writePack(t, r, dir, name, version, "addon", values)
	must(t, r.Write(dir+"/charts/c/Chart.yaml", []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")))
	must(t, r.Write(dir+"/charts/c/templates/pod.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: "+tmpl+"\n")))
}

// TestBuildRefusesWhatValidateRefuses: the build applies validate's image
// check to every release it archives: a chart that does not render and
// an image reference that does not parse are errors there (exit 1, or
// skipped with --skip-invalid), never a signed release.
func TestBuildRefusesWhatValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, values, tmpl, want string
	}{
		{"chart does not render", "", "{{ .Values.image | nosuch }}", `packs/ch-1.0.0/charts/c/templates/pod.yaml:8: error: packs/ch-1.0.0/charts/c: chart does not render`},
		{"declared image does not parse", "  content:\n    images:\n      - image: \"nginx:1 bad\"\n", "nginx:1.25", `packs/ch-1.0.0/values.yaml:5: error: image "nginx:1 bad" in values.yaml does not parse`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp, r := newRepo(t)
			writePack(t, r, "packs/good", "good", "1.0.0", "cni", "")
			writeChartPack(t, r, "ch", tc.values, tc.tmpl)
			commit(t, r, "one")
			_, err := run(t, r.Dir, filepath.Join(tmp, "site"))
			var inv *InvalidError
			if !errors.As(err, &inv) || len(inv.Releases) != 1 || inv.Releases[0] != "ch@1.0.0" {
				t.Fatalf("want an InvalidError naming ch@1.0.0, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error lacks validate's problem %q:\n%v", tc.want, err)
			}
			res := skipsOne(t, r.Dir, filepath.Join(tmp, "skipped"))
			if res.Root.Packs != 1 || versionsOf(t, res, "ch") != nil {
				t.Errorf("skip-invalid published %d packs, ch %v", res.Root.Packs, versionsOf(t, res, "ch"))
			}
		})
	}
}

// TestBuildImagesForCatalogue: the images the build found in a release
// it archived are handed to the catalogue (Snapshot.Images, by archive
// digest), so its page renders no chart again; only the highest
// version's, the one the catalogue lists (a cold build held thousands).
func TestBuildImagesForCatalogue(t *testing.T) {
	tmp, r := newRepo(t)
	writeChartPackVersion(t, r, "ch", "1.1.0", "charts:\n  c:\n    image: busybox:1.37\n", "{{ .Values.image }}")
	writeChartPack(t, r, "ch", "charts:\n  c:\n    image: busybox:1.36\n", "{{ .Values.image }}")
	commit(t, r, "one")
	res := built(t, r.Dir, filepath.Join(tmp, "site"))
	rel := res.Shards[0].Latest()
	rep := res.Images[rel.Archive.SHA256]
	if rep == nil || rel.Version != "1.1.0" || len(res.Images) != 1 {
		t.Fatalf("image reports: %d, none for %s", len(res.Images), rel.Archive.Path)
	}
	if len(rep.Images) != 1 || rep.Images[0].Image != "docker.io/library/busybox:1.37" || rep.Renders != 1 || rep.Dir != "." {
		t.Errorf("report = %+v", rep)
	}
}

// noRenderer is a machine without packgen-helm.
type noRenderer struct{}

func (noRenderer) Render(*chartproto.Request) (*chartproto.Result, error) {
	return nil, fmt.Errorf("%w: packgen-helm not found", images.ErrNoChartRenderer)
}

// dyingRenderer is a helper that died mid-render.
type dyingRenderer struct{}

func (dyingRenderer) Render(*chartproto.Request) (*chartproto.Result, error) {
	return nil, fmt.Errorf("%w: packgen-helm stopped while rendering", images.ErrRendererFailed)
}

// runawayRenderer is a chart past the helper's time bound, as
// images.Helper words it.
type runawayRenderer struct{}

func (runawayRenderer) Render(*chartproto.Request) (*chartproto.Result, error) {
	return nil, fmt.Errorf("%w: %w: rendering takes longer than 30s", images.ErrRendererFailed, images.ErrChartLimit)
}

// TestBuildChartPastLimits (attackS F5): a chart that runs the renderer
// past its time or memory bound is its release's error (exit 1), so
// --skip-invalid leaves that release out and builds the rest; and, as a
// loaded machine times out too, the build writes no record that would
// skip it again on the next build of the commit.
func TestBuildChartPastLimits(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/good", "good", "1.0.0", "cni", "")
	writeChartPack(t, r, "ch", "", "nginx:1.25")
	commit(t, r, "one")
	defer images.SetRenderer(runawayRenderer{})()
	_, err := run(t, r.Dir, filepath.Join(tmp, "strict"))
	var inv *InvalidError
	if !errors.As(err, &inv) || len(inv.Releases) != 1 || !strings.Contains(inv.Problems.Error(), "rendering takes longer than 30s") {
		t.Fatalf("err = %v, want the release invalid for its chart", err)
	}
	out := filepath.Join(tmp, "site")
	res, err := run(t, r.Dir, out, func(o *Options) { o.SkipInvalid, o.Stamp = true, "test" })
	must(t, err)
	if res.Skipped != 1 || res.Root.Releases != 1 || !strings.Contains(res.Problems.Error(), "rendering takes longer than 30s") {
		t.Errorf("skipped %d, %d releases built, problems %v: want the chart's release left out and good built", res.Skipped, res.Root.Releases, res.Problems)
	}
	if _, err := os.Stat(filepath.Join(out, StampFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the build recorded itself (%v): the next build of this commit would not render the chart again", err)
	}
}

// TestBuildWithoutRenderer: a release with a chart and no chart renderer
// (or one that died) fails the build as it fails validate: the machine's
// fault, never an invalid release that --skip-invalid would leave out;
// a release without charts needs none.
func TestBuildWithoutRenderer(t *testing.T) {
	for _, rr := range []images.Renderer{noRenderer{}, dyingRenderer{}} {
		t.Run(fmt.Sprintf("%T", rr), func(t *testing.T) {
			tmp, r := newRepo(t)
			writePack(t, r, "packs/good", "good", "1.0.0", "cni", "")
			commit(t, r, "one")
			defer images.SetRenderer(rr)()
			built(t, r.Dir, filepath.Join(tmp, "nocharts"))
			writeChartPack(t, r, "ch", "", "nginx:1.25")
			commit(t, r, "two")
			_, err := run(t, r.Dir, filepath.Join(tmp, "site"), func(o *Options) { o.SkipInvalid = true })
			var inv *InvalidError
			if !errors.Is(err, images.ErrNoChartRenderer) && !errors.Is(err, images.ErrRendererFailed) || errors.As(err, &inv) {
				t.Fatalf("err = %v, want the renderer's error", err)
			}
		})
	}
}

// TestBuildRendersChartsInHistory (attackV F4): the image check renders
// the charts of every release the build archives, one only in history
// too: a pull request that adds a release whose chart does not render
// and removes it in a later commit passes validate --changed-since (its
// net change), and merged fast-forward puts both commits on main.
func TestBuildRendersChartsInHistory(t *testing.T) {
	tmp, r := newRepo(t)
	writeChartPack(t, r, "ch", "", "{{ .Values.image | nosuch }}")
	commit(t, r, "add ch 1.0.0")
	must(t, r.Remove("packs/ch-1.0.0"))
	writeChartPackVersion(t, r, "ch", "1.1.0", "charts:\n  c:\n    image: busybox:1.37\n", "{{ .Values.image }}")
	commit(t, r, "ch 1.1.0 instead")
	_, err := run(t, r.Dir, filepath.Join(tmp, "site"))
	var inv *InvalidError
	if !errors.As(err, &inv) || len(inv.Releases) != 1 || inv.Releases[0] != "ch@1.0.0" {
		t.Fatalf("want an InvalidError naming ch@1.0.0, only in history, got %v", err)
	}
	if want := "packs/ch-1.0.0/charts/c/templates/pod.yaml:8: error: packs/ch-1.0.0/charts/c: chart does not render"; !strings.Contains(err.Error(), want) {
		t.Errorf("error lacks validate's problem %q:\n%v", want, err)
	}
}

// TestCheckReleaseDropsKept: the Pack checkRelease hands on to the
// archive writer holds nothing of what Load kept for the image check
// (a chart's tar, the rendered manifests): a parallel job would hold it
// while it compresses and signs.
func TestCheckReleaseDropsKept(t *testing.T) {
	const chart = "charts/ingress-nginx-4.10.1.tgz"
	fsys := os.DirFS("../examples/packs/ingress-nginx-4.10.1")
	if p, _ := pack.Load(fsys, ".", pack.Options{Keep: true}); p == nil {
		t.Fatal("no pack")
	} else if gz, _ := p.KeptChart(chart); gz == nil {
		t.Fatal("Load with Keep kept no chart: nothing to drop")
	}
	p, probs, found, refused, err := checkRelease(fsys, source.Release{Dir: "packs/ingress-nginx"}, images.NewMemo(images.DefaultMemoBytes))
	if refused || err != nil || found == nil {
		t.Fatalf("refused %v, %v: %v", refused, err, probs)
	}
	if gz, _ := p.KeptChart(chart); gz != nil {
		t.Errorf("the checked Pack still holds the chart's tar (%d bytes)", len(gz))
	}
}
