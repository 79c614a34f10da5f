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
