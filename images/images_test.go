package images

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
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
		if p.Severity != meta.SevWarning {
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
		name     string
		fs       fstest.MapFS
		err      error
		msg      string
		template string
		line     int
		at       string // the problem's file:line in validation
	}{
		{"template fails", chart("{{ fail \"no\" }}"), ErrChart, "p/charts/c: chart does not render: template c/templates/deployment.yaml, line 1: execution error at (c/templates/deployment.yaml:1:3): no",
			"c/templates/deployment.yaml", 1, "p/charts/c/templates/deployment.yaml:1"},
		{"nil value on line 3", chart("kind: Pod\nmetadata:\n  name: {{ .Values.a.b }}\n"), ErrChart, "template c/templates/deployment.yaml, line 3: c/templates/deployment.yaml:3:18 executing \"c/templates/deployment.yaml\" at <.Values.a.b>: nil pointer",
			"c/templates/deployment.yaml", 3, "p/charts/c/templates/deployment.yaml:3"},
		{"parse error", chart("a: 1\nb: {{ nosuchfunc }}\n"), ErrChart, "line 2: parse error at (c/templates/deployment.yaml:2)",
			"c/templates/deployment.yaml", 2, "p/charts/c/templates/deployment.yaml:2"},
		{"include of a missing template", chart("{{ include \"missing\" . }}"), ErrChart, "c/templates/deployment.yaml", "c/templates/deployment.yaml", 1, ""},
		{"renders bad YAML", chart("a: 1\nb: 2\nc: [\n"), ErrChart, "template c/templates/deployment.yaml, line 3: c/templates/deployment.yaml renders to invalid YAML",
			"c/templates/deployment.yaml", 3, "p/charts/c/templates/deployment.yaml:3"},
		{"chart without name", fstest.MapFS{
			"p/pack.json":           {Data: []byte(packJSON)},
			"p/values.yaml":         {Data: []byte("a: 1\n")},
			"p/charts/c/Chart.yaml": {Data: []byte("apiVersion: v2\nversion: 0.1.0\n")},
		}, ErrChart, "p/charts/c: chart does not render", "", 0, "p/charts/c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := findIn(t, tc.fs, "p")
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v containing %q", err, tc.err, tc.msg)
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.File != "p/charts/c" || fe.Template != tc.template || fe.Line != tc.line {
				t.Fatalf("error fields %+v, want chart p/charts/c, template %q, line %d", fe, tc.template, tc.line)
			}
			if tc.at == "" {
				return
			}
			p, _ := pack.Load(tc.fs, "p", pack.Options{Prefix: "p"})
			ps := CheckPack(p, "p", nil)
			if len(ps) != 1 || ps[0].Position() != tc.at || ps[0].Severity != meta.SevError {
				t.Errorf("validation problem %v, want one error at %s", ps, tc.at)
			}
		})
	}

	// A chart archive: the problem is at the archive, its message names
	// template and line.
	tgz := tartest.TarGz(t, tartest.Files("", map[string]string{"c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n", "c/templates/x.yaml": "a: 1\n{{ fail \"broken\" }}\n"})...)
	afs := fstest.MapFS{
		"p/pack.json":          {Data: []byte(packJSON)},
		"p/values.yaml":        {Data: []byte("a: 1\n")},
		"p/charts/c-0.1.0.tgz": {Data: tgz},
	}
	_, err := findIn(t, afs, "p")
	var fe *Error
	if !errors.As(err, &fe) || fe.File != "p/charts/c-0.1.0.tgz" || fe.Template != "c/templates/x.yaml" || fe.Line != 2 || fe.At != "" {
		t.Errorf("archive: %+v", err)
	}
	ap, _ := pack.Load(afs, "p", pack.Options{Prefix: "p"})
	if ps := CheckPack(ap, "p", nil); len(ps) != 1 || ps[0].Position() != "p/charts/c-0.1.0.tgz" || !strings.Contains(ps[0].Msg, "template c/templates/x.yaml, line 2: execution error") {
		t.Errorf("archive problem: %v", ps)
	}

	// An image a chart template writes that does not parse: a warning
	// naming the template and its line.
	for tpl, want := range map[string]string{
		"    - image: x//y\n":           `image "x//y" in c/templates/deployment.yaml:6 does not parse`,
		"    - image: {{ \"x//y\" }}\n": `image "x//y" in c/templates/deployment.yaml (line 6 of its output: a template action wrote it) does not parse`,
	} {
		r, err := findIn(t, chart("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n"+tpl), "p")
		if err != nil {
			t.Fatal(err)
		}
		if ps := r.Check(); len(ps) < 1 || !strings.Contains(ps[0].String(), want) {
			t.Errorf("chart image that does not parse: %v", ps)
		}
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

// TestWriteTextEscapes: a report's fields come from a pack (its
// directory, a chart's image and template names) and a profile: printed
// as text, a terminal sequence in any of them is shown, not obeyed.
func TestWriteTextEscapes(t *testing.T) {
	const evil = "x\x1b]0;owned\x07\r"
	r := &Report{Pack: "p", Version: "1.0.0", Dir: "packs/" + evil, Overrides: "profile" + evil, Renders: 1,
		Images: []Image{{Image: "img" + evil, Sources: []Source{{Kind: "chart", File: "charts/" + evil + ".tgz"}}}}}
	var b strings.Builder
	if err := WriteText(&b, []*Report{r}, true); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.ContainsAny(out, "\x1b\x07\r") || strings.Count(out, `x\x1b]0;owned\x07\r`) != 4 {
		t.Errorf("WriteText printed outside text raw:\n%q", out)
	}
}
