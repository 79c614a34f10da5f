package images

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/packgen/packgen/pack"
)

// findIn loads the pack at dir of fsys (it must validate) and finds its images.
func findIn(t *testing.T, fsys fstest.MapFS, dir string) (*Report, error) {
	t.Helper()
	p, ps := pack.Load(fsys, dir, pack.Options{Prefix: dir})
	if ps.HasErrors() {
		t.Fatalf("pack does not load: %v", ps)
	}
	return Find(p, Options{Display: dir})
}

func TestFindTestdata(t *testing.T) {
	rs, err := Tree(os.DirFS("testdata/packs"), ".", "testdata/packs")
	if err != nil || len(rs) != 1 {
		t.Fatalf("Tree: %v, %d reports", err, len(rs))
	}
	r := rs[0]
	if r.Pack != "webapp" || r.Version != "1.2.0" || r.Dir != "testdata/packs/webapp-1.2.0" {
		t.Errorf("report names %s@%s in %s", r.Pack, r.Version, r.Dir)
	}
	const exporter = "quay.io/prometheuscommunity/postgres-exporter@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	want := map[string]string{
		"docker.io/acme/backup:v0.9.0":    "deployed, NOT DECLARED",       // a templated CronJob's container
		"docker.io/library/busybox:1.36":  "declared, deployed",           // an initContainer, short name
		"docker.io/library/postgres:14":   "declared, NOT DEPLOYED",       // the chart's default, overridden by the pack
		"docker.io/library/postgres:15.6": "deployed, NOT DECLARED",       // the pack's charts.webapp value
		"ghcr.io/acme/prober:v1.0.0":      "maybe deployed, not declared", // repository+tag in a custom resource
		"ghcr.io/acme/webapp:v2.3.1":      "declared, deployed",           // tag | default .Chart.AppVersion
		exporter:                          "deployed, NOT DECLARED",       // digest-pinned
	}
	got := map[string]string{}
	for _, im := range r.Images {
		got[im.Image] = im.State()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: state %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("images %v, want %d", got, len(want))
	}
	srcs := map[string]Source{}
	for _, im := range r.Images {
		for _, s := range im.Sources {
			if s.Kind != Declared {
				srcs[im.Image] = s
			}
		}
	}
	if s := srcs["docker.io/acme/backup:v0.9.0"]; s.Kind != Manifest || s.File != "manifests/backup.yaml" || s.Object != "CronJob/backup" || s.Field != "spec.jobTemplate.spec.template.spec.containers[0].image" {
		t.Errorf("backup source %+v", s)
	}
	if s := srcs["docker.io/library/busybox:1.36"]; s.Kind != Chart || s.File != "charts/webapp" || s.Template != "webapp/templates/deployment.yaml" || s.Field != "spec.template.spec.initContainers[0].image" || s.Values != "charts.webapp.init.image" || s.Written != "busybox:1.36" {
		t.Errorf("busybox source %+v", s)
	}
	if s := srcs["ghcr.io/acme/prober:v1.0.0"]; !s.Maybe || s.Line != 24 || s.Template != "webapp/templates/db.yaml" {
		t.Errorf("prober source %+v", s)
	}

	ps := r.Check()
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, p.String())
		if p.Severity != pack.SevWarning {
			t.Errorf("not a warning: %s", p)
		}
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{
		"testdata/packs/webapp-1.2.0/manifests/backup.yaml: warning: image docker.io/acme/backup:v0.9.0 is deployed",
		"testdata/packs/webapp-1.2.0/values.yaml:4: warning: image docker.io/library/postgres:15.6 is deployed (chart charts/webapp webapp/templates/db.yaml",
		"an air-gapped install will miss it; add `- image: docker.io/library/postgres:15.6`",
		"testdata/packs/webapp-1.2.0/values.yaml:9: warning: image docker.io/library/postgres:14 is declared in pack.content.images but no manifest or chart of the pack deploys it",
		"image " + exporter + " is deployed",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("problems lack %q:\n%s", w, all)
		}
	}
	if len(ps) != 4 || strings.Contains(all, "prober") {
		t.Errorf("want 4 warnings, none for the maybe:\n%s", all)
	}

	why, err := Why(rs, "busybox:1.36")
	if err != nil || len(why) != 1 || len(why[0].Images) != 1 || len(why[0].Images[0].Sources) != 2 {
		t.Errorf("Why(busybox:1.36) = %+v, %v", why, err)
	}
	if _, err := Why(rs, "Bad Ref"); !errors.Is(err, ErrReference) {
		t.Errorf("Why(bad) = %v", err)
	}
}

// The example ingress-nginx pack holds a chart archive (the real chart).
func TestFindChartArchive(t *testing.T) {
	rs, err := Tree(os.DirFS("../examples/packs/ingress-nginx-4.10.1"), ".", "ingress")
	if err != nil || len(rs) != 1 {
		t.Fatalf("Tree: %v", err)
	}
	var found bool
	for _, im := range rs[0].Images {
		if im.Image == "registry.k8s.io/ingress-nginx/controller:v1.10.1" && im.Deployed && im.Declared {
			found = true
			for _, s := range im.Sources {
				if s.Kind == Chart && (s.File != "charts/ingress-nginx-4.10.1.tgz" || s.Object != "Deployment/ingress-nginx-controller") {
					t.Errorf("source %+v", s)
				}
			}
		}
	}
	if !found {
		t.Errorf("controller image not found deployed and declared: %+v", rs[0].Images)
	}
}

const packJSON = `{"name": "p", "version": "1.0.0", "layer": "addon", "addonType": "system app", "cloudTypes": ["all"]}`

func TestFindBadInput(t *testing.T) {
	chart := func(tpl string) fstest.MapFS {
		return fstest.MapFS{
			"p/pack.json":                          {Data: []byte(packJSON)},
			"p/values.yaml":                        {Data: []byte("pack:\n  content:\n    images:\n      - image: a/b:1\n")},
			"p/charts/c/Chart.yaml":                {Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
			"p/charts/c/templates/deployment.yaml": {Data: []byte(tpl)},
		}
	}
	for _, tc := range []struct {
		name string
		fs   fstest.MapFS
		err  error
		msg  string
	}{
		{"template fails", chart("{{ fail \"no\" }}"), ErrChart, "p/charts/c: chart does not render: execution error at (c/templates/deployment.yaml:1:3): no"},
		{"include of a missing template", chart("{{ include \"missing\" . }}"), ErrChart, "c/templates/deployment.yaml"},
		{"renders bad YAML", chart("a: [\n"), ErrChart, "c/templates/deployment.yaml renders to invalid YAML"},
		{"chart without name", fstest.MapFS{
			"p/pack.json":           {Data: []byte(packJSON)},
			"p/values.yaml":         {Data: []byte("a: 1\n")},
			"p/charts/c/Chart.yaml": {Data: []byte("apiVersion: v2\nversion: 0.1.0\n")},
		}, ErrChart, "p/charts/c: chart does not render"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := findIn(t, tc.fs, "p")
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v containing %q", err, tc.err, tc.msg)
			}
		})
	}

	// A declared reference that does not parse is an error at its line;
	// a deployed one a warning; pack.content.images of the wrong shape too.
	r, err := findIn(t, fstest.MapFS{
		"p/pack.json":          {Data: []byte(packJSON)},
		"p/values.yaml":        {Data: []byte("pack:\n  content:\n    images:\n      - image: Bad Ref\n      - name: x\n      - nginx\n")},
		"p/manifests/pod.yaml": {Data: []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n    - image: x//y\n    - image: nginx:latest\n")},
	}, "p")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range r.Check() {
		got = append(got, p.String())
	}
	want := []string{
		`p/manifests/pod.yaml:6: warning: image "x//y" in manifests/pod.yaml does not parse`,
		`p/values.yaml:4: error: image "Bad Ref" in values.yaml does not parse`,
		`p/values.yaml:5: error: pack.content.images entry must be`,
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

// A pack with neither manifests nor charts (the Kubernetes layer) has
// its declared images installed by the platform: no warning.
func TestCheckNothingRendered(t *testing.T) {
	rs, err := Tree(os.DirFS("../examples/packs/kubernetes-1.29.4"), ".", "k8s")
	if err != nil || len(rs) != 1 {
		t.Fatalf("Tree: %v", err)
	}
	if rs[0].Renders != 0 || len(rs[0].Images) != 4 {
		t.Fatalf("renders %d, images %+v", rs[0].Renders, rs[0].Images)
	}
	if ps := rs[0].Check(); len(ps) != 0 {
		t.Errorf("warnings: %v", ps)
	}
}
