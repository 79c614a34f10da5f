package profile

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack"
)

// falcoArchive is examples/packs/falco-4.2.5's values.yaml and
// schema.yaml in a release archive, opened.
func falcoArchive(t *testing.T) *pack.Archive {
	t.Helper()
	data := tartest.TarGz(t, tartest.Files("falco/", map[string][]byte{
		"pack.json":   testutil.ReadFile(t, "../examples/packs/falco-4.2.5/pack.json"),
		"values.yaml": testutil.ReadFile(t, "../examples/packs/falco-4.2.5/values.yaml"),
		"schema.yaml": testutil.ReadFile(t, "../examples/packs/falco-4.2.5/schema.yaml"),
	})...)
	a, err := pack.OpenArchive(bytes.NewReader(data), pack.ArchiveLimits{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestCheckOverrides: an override that breaks the pack's schema.yaml is
// a violation at its line in the profile; a key values.yaml lacks, a
// warning (with the near key when there is one).
func TestCheckOverrides(t *testing.T) {
	a := falcoArchive(t)
	for _, tc := range []struct {
		name, values string
		errs, warns  []string
	}{
		{"valid", "manifests:\n  falco-rules:\n    driver: kmod\n    output:\n      json: false\n", nil, nil},
		{"the finding", "manifests:\n  falco-rules:\n    driver: \"bogus\"\n    output:\n      json: \"yes\"\n    drvier: kmod\n",
			[]string{`p.yaml:9:19: falco: values manifests.falco-rules.driver "bogus" is not one of modern_ebpf, ebpf, kmod (the pack's schema.yaml) [rule values-schema]`,
				`p.yaml:11:19: falco: values manifests.falco-rules.output.json must be a boolean (true or false), found the scalar "yes"`},
			[]string{`p.yaml:12:11: falco: values manifests.falco-rules.drvier: the pack's values.yaml has no such key; did you mean driver?`}},
		{"required emptied", "manifests:\n  falco-rules:\n    driver: \"\"\n", []string{`p.yaml:9:19: falco: values manifests.falco-rules.driver is required`}, nil},
		{"a new subtree: one warning", "extra:\n  a: 1\n  b: 2\n", nil, []string{`p.yaml:7:7: falco: values extra: the pack's values.yaml has no such key (a typo?)`}},
		{"a mapping made a scalar", "manifests:\n  falco-rules:\n    output: \"off\"\n", nil,
			[]string{`p.yaml:9:11: falco: values manifests.falco-rules.output: replaces the pack's mapping (json, webhook) with the scalar "off", dropping its keys: mis-indented?`}},
		{"a scalar made a mapping", "manifests:\n  falco-rules:\n    driver:\n      kmod: true\n", []string{`must be a string, found a mapping`},
			[]string{`p.yaml:9:11: falco: values manifests.falco-rules.driver: replaces the pack's scalar "modern_ebpf" with a mapping: mis-indented?`}},
		{"null deletes: no warning", "manifests:\n  falco-rules:\n    output: null\n", nil, nil},
		{"a url of the wrong type", "manifests:\n  falco-rules:\n    output:\n      webhook:\n        url: [a]\n", []string{`must be a string, found a list`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := strings.TrimSuffix(strings.ReplaceAll("\n"+tc.values, "\n", "\n      "), "      ")
			src := "name: p\ncloudType: aws\nlayers:\n  - pack: falco\n    version: \"*\"\n    values:" + values
			p, err := Parse("p.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			vs, warns := checkOverrides(p, p.Layer("falco"), a)
			if len(vs) != len(tc.errs) || len(warns) != len(tc.warns) {
				t.Fatalf("violations %v\nwarnings %v", vs, warns)
			}
			for i, w := range tc.errs {
				if !strings.Contains(vs[i].String(), w) || vs[i].Rule != RuleValuesSchema {
					t.Errorf("violation %q, want %q", vs[i], w)
				}
			}
			for i, w := range tc.warns {
				if !strings.Contains(warns[i], w) {
					t.Errorf("warning %q, want %q", warns[i], w)
				}
			}
		})
	}
}

// TestCheckOverridesChartDefaults: below charts.NAME, a key of chart
// NAME's own values.yaml is no typo (stranger5 finding 5: packgen new
// --chart writes "charts: {mychart: {}}", and overriding the chart's
// replicas warned), for a chart archive (its Chart.yaml's name, not the
// file's) and an unpacked chart alike; a real typo there still warns,
// naming both files, with the chart's near key.
func TestCheckOverridesChartDefaults(t *testing.T) {
	chart := tartest.TarGz(t, tartest.Files("mychart/", map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: mychart\nversion: 0.1.0\n",
		"values.yaml": "replicas: 1\nimage:\n  repository: a\n  tag: \"1\"\n",
	})...)
	data := tartest.TarGz(t, tartest.Files("falco/", map[string][]byte{
		"pack.json":                   testutil.ReadFile(t, "../examples/packs/falco-4.2.5/pack.json"),
		"values.yaml":                 []byte("pack:\n  namespace: x\ncharts:\n  mychart:\n    # Values passed to the mychart chart.\n    {}\n"),
		"charts/mychart-0.1.0.tgz":    chart,
		"charts/unpacked/Chart.yaml":  []byte("apiVersion: v2\nname: other\nversion: 1.0.0\n"),
		"charts/unpacked/values.yaml": []byte("service:\n  port: 80\n"),
	})...)
	a, err := pack.OpenArchive(bytes.NewReader(data), pack.ArchiveLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, values string
		warns        []string
	}{
		{"the chart's own keys", "charts:\n  mychart:\n    replicas: 3\n    image:\n      tag: \"2\"\n  other:\n    service:\n      port: 8080\n", nil},
		{"a typo below a chart", "charts:\n  mychart:\n    replicsa: 3\n    image:\n      tga: \"2\"\n",
			[]string{"p.yaml:9:11: falco: values charts.mychart.replicsa: neither the pack's values.yaml nor chart mychart's has such a key; did you mean replicas?",
				"p.yaml:11:13: falco: values charts.mychart.image.tga: neither the pack's values.yaml nor chart mychart's has such a key; did you mean tag?"}},
		{"no such chart", "charts:\n  nochart:\n    replicas: 3\n", []string{"p.yaml:8:9: falco: values charts.nochart: the pack's values.yaml has no such key; did you mean mychart?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := strings.TrimSuffix(strings.ReplaceAll("\n"+tc.values, "\n", "\n      "), "      ")
			p, err := Parse("p.yaml", []byte("name: p\ncloudType: aws\nlayers:\n  - pack: falco\n    version: \"*\"\n    values:"+values))
			if err != nil {
				t.Fatal(err)
			}
			vs, warns := checkOverrides(p, p.Layer("falco"), a)
			if len(vs) != 0 || len(warns) != len(tc.warns) {
				t.Fatalf("violations %v\nwarnings %q", vs, warns)
			}
			for i, w := range tc.warns {
				if !strings.Contains(warns[i], w) {
					t.Errorf("warning %q, want %q", warns[i], w)
				}
			}
		})
	}
}

// TestOverridesCheckedEndToEnd: Resolve and Render refuse overrides that
// break the pack's schema.yaml, and render warns of a typo key.
func TestOverridesCheckedEndToEnd(t *testing.T) {
	ctx := context.Background()
	r, state := newRegistry(t), t.TempDir()
	dir := t.TempDir()
	bad, err := Parse(filepath.Join(dir, "fal.yaml"), []byte("name: fal\ncloudType: aws\nlayers:\n  - pack: falco\n    version: \"4.2.5\"\n    values:\n      manifests:\n        falco-rules:\n          driver: \"bogus\"\n          output:\n            json: \"yes\"\n          drvier: kmod\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(ctx, bad, r.env(state), ResolveOptions{Partial: true})
	var re *ResolveError
	if !errors.As(err, &re) || len(re.Violations) != 2 || !strings.Contains(err.Error(), "fal.yaml:9:19: falco: values manifests.falco-rules.driver \"bogus\" is not one of") {
		t.Fatalf("resolve: %v", err)
	}
	// A lock of good overrides, rendered with the bad ones (the profile
	// edited since): refused too, nothing written; the typo warned of.
	good, _ := Parse(bad.File, []byte("name: fal\ncloudType: aws\nlayers:\n  - pack: falco\n    version: \"4.2.5\"\n"))
	res, err := Resolve(ctx, good, r.env(state), ResolveOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	env := r.env(state)
	var warn bytes.Buffer
	env.Warn = &warn
	out := filepath.Join(dir, "out")
	if _, err := Render(ctx, bad, res.Lock, env, out, false); !errors.As(err, &re) || len(re.Violations) != 2 {
		t.Errorf("render: %v", err)
	}
	if !strings.Contains(warn.String(), "fal.yaml:12:11: falco: values manifests.falco-rules.drvier: the pack's values.yaml has no such key; did you mean driver?") {
		t.Errorf("render's warnings: %s", warn.String())
	}
	if m, _ := filepath.Glob(filepath.Join(out, "values", "*")); len(m) != 0 {
		t.Errorf("a refused render wrote %v", m)
	}
}
