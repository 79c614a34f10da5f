package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/profile/spec"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func TestSchemaMatchesParser(t *testing.T) {
	s := testutil.CompileSchema(t, "profile.schema.json", SchemaJSON)
	check := func(src string) error {
		var v any
		if err := yaml.Unmarshal([]byte(src), &v); err != nil {
			t.Fatal(err)
		}
		// Round-trip through JSON so the validator sees JSON types.
		b, _ := json.Marshal(v)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		return s.Validate(inst)
	}
	files, _ := filepath.Glob("../examples/profiles/*.yaml")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if err := check(string(data)); err != nil {
			t.Errorf("%s does not match the schema: %v", f, err)
		}
	}
	for _, bad := range []string{
		"name: a\ncloudType: aws\nlayers: []\n",
		"name: a\ncloudType: all\nlayers: [{pack: x, version: '1'}]\n",
		"name: a\ncloudType: aws\nextra: 1\nlayers: [{pack: x, version: '1'}]\n",
		"name: a\ncloudType: aws\nlayers: [{pack: x}]\n",
		"name: a\ncloudType: aws\nlayers: [{pack: x, version: '1', values: [1]}]\n",
	} {
		if check(bad) == nil {
			t.Errorf("schema accepts %q", bad)
		}
		if _, err := Parse("p.yaml", []byte(bad)); err == nil {
			t.Errorf("parser accepts %q", bad)
		}
	}
}

// rel builds a release for rule tests.
func rel(name, version, layer string, clouds []string, deps ...meta.Dependency) Resolved {
	return Resolved{Pack: name, Registry: "r", URL: "http://r", Release: &index.Release{Version: version, Layer: layer, CloudTypes: clouds, Dependencies: deps}}
}

func dep(name, layer, typ, min, max string) meta.Dependency {
	return meta.Dependency{PackName: name, Layer: meta.Layer(layer), Type: typ, MinVersion: min, MaxVersion: max}
}

func TestCheckRules(t *testing.T) {
	all := []string{"all"}
	base := []Resolved{
		rel("ubuntu", "22.4.4", "os", []string{"aws", "vsphere"}),
		rel("kubernetes", "1.29.4", "k8s", all, dep("ubuntu", "os", "required", "20.4.0", "")),
		rel("calico", "3.27.3", "cni", all, dep("kubernetes", "k8s", "required", "1.27.0", "1.30.99")),
		rel("csi-aws-ebs", "1.30.0", "csi", []string{"aws", "eks"}),
	}
	with := func(extra ...Resolved) []Resolved { return append(append([]Resolved{}, base...), extra...) }
	without := func(name string, extra ...Resolved) []Resolved {
		var out []Resolved
		for _, r := range base {
			if r.Pack != name {
				out = append(out, r)
			}
		}
		return append(out, extra...)
	}
	cases := []struct {
		name    string
		cloud   string
		layers  []Resolved
		partial bool
		want    []string // "rule: message fragment"
		warn    string
	}{
		{"valid", "aws", base, false, nil, ""},
		{"two cni", "aws", with(rel("cilium", "1.15.0", "cni", all)), false,
			[]string{RuleCoreConflict + ": both calico@3.27.3 and cilium@1.15.0 provide the cni layer"}, ""},
		{"three os", "aws", with(rel("rhel", "9.0.0", "os", all), rel("flatcar", "3.0.0", "os", all)), false,
			[]string{RuleCoreConflict + ": ubuntu@22.4.4, rhel@9.0.0 and flatcar@3.0.0 all provide the os layer"}, ""},
		{"missing csi", "aws", without("csi-aws-ebs"), false,
			[]string{RuleCoreMissing + ": no pack provides the csi layer"}, ""},
		{"missing csi partial", "aws", without("csi-aws-ebs"), true, nil, ""},
		{"cloud excluded", "azure", without("ubuntu"), true,
			[]string{RuleCloudType + ": csi-aws-ebs@1.30.0 supports cloud types aws, eks, not azure (the cloudType of profile p)"}, "kubernetes@1.29.4 requires ubuntu"},
		{"no cloud types", "aws", with(rel("x", "1.0.0", "addon", nil)), false, nil, "x@1.0.0 declares no cloudTypes"},
		{"required missing", "aws", with(rel("grafana", "1.2.0", "addon", all, dep("prometheus", "addon", "required", "57.0.0", "58.99.99"))), false,
			[]string{RuleRequired + ": grafana@1.2.0 requires prometheus 57.0.0 to 58.99.99, which the profile does not include"}, ""},
		{"required missing even partial", "aws", with(rel("grafana", "1.2.0", "addon", all, dep("prometheus", "addon", "required", "", ""))), true,
			[]string{RuleRequired + ": grafana@1.2.0 requires prometheus, which"}, ""},
		{"required core layer missing partial", "aws", without("ubuntu"), true, nil, "kubernetes@1.29.4 requires ubuntu >= 20.4.0 on the os layer, which this partial profile leaves out"},
		{"required core layer missing full", "aws", without("ubuntu"), false,
			[]string{RuleCoreMissing + ": no pack provides the os layer", RuleRequired + ": kubernetes@1.29.4 requires ubuntu >= 20.4.0"}, ""},
		{"version above max", "aws", append(without("kubernetes"), rel("kubernetes", "1.31.0", "k8s", all)), false,
			[]string{RuleVersionRange + ": calico@3.27.3 needs kubernetes 1.27.0 to 1.30.99, but the profile resolves kubernetes@1.31.0"}, ""},
		{"version max inclusive", "aws", append(without("kubernetes"), rel("kubernetes", "1.30.99", "k8s", all)), false, nil, ""},
		{"version min inclusive", "aws", append(without("kubernetes"), rel("kubernetes", "1.27.0", "k8s", all)), false, nil, ""},
		{"version below min", "aws", append(without("kubernetes"), rel("kubernetes", "1.26.9", "k8s", all)), false,
			[]string{RuleVersionRange + ": calico@3.27.3 needs kubernetes 1.27.0 to 1.30.99, but the profile resolves kubernetes@1.26.9"}, ""},
		{"optional absent", "aws", with(rel("ingress", "4.10.1", "addon", all, dep("metallb", "addon", "optional", "0.13.0", ""))), false, nil, ""},
		{"optional present too old", "aws", with(rel("ingress", "4.10.1", "addon", all, dep("metallb", "addon", "optional", "0.13.0", "")), rel("metallb", "0.12.0", "addon", all)), false,
			[]string{RuleVersionRange + ": ingress@4.10.1 needs metallb >= 0.13.0, but the profile resolves metallb@0.12.0 (constraints.dependencies type optional"}, ""},
		{"not supported present", "aws", with(rel("grafana", "1.2.0", "addon", all, dep("legacy", "addon", "notSupported", "", "")), rel("legacy", "2.0.0", "addon", all)), false,
			[]string{RuleNotSupported + ": grafana@1.2.0 does not support legacy, but the profile includes legacy@2.0.0"}, ""},
		{"not supported outside range", "aws", with(rel("grafana", "1.2.0", "addon", all, dep("legacy", "addon", "notSupported", "", "1.9.9")), rel("legacy", "2.0.0", "addon", all)), false, nil, ""},
		{"invalid notSupported range", "aws", with(rel("grafana", "1.2.0", "addon", all, dep("calico", "cni", "notSupported", "", "1.x.y.z"))), false,
			[]string{RuleVersionRange + ": grafana@1.2.0 has an invalid version range for calico"}, ""},
		{"invalid range", "aws", with(rel("grafana", "1.2.0", "addon", all, dep("calico", "cni", "required", "x.y", ""))), false,
			[]string{RuleVersionRange + ": grafana@1.2.0 has an invalid version range for calico"}, ""},
		{"all at once", "gcp", append(without("csi-aws-ebs"), rel("cilium", "1.15.0", "cni", []string{"aws"}), rel("grafana", "1.2.0", "addon", all, dep("prom", "addon", "required", "", ""))), false,
			[]string{RuleCoreConflict + ": both calico@3.27.3 and cilium@1.15.0", RuleCoreMissing + ": no pack provides the csi layer", RuleCloudType + ": ubuntu@22.4.4", RuleCloudType + ": cilium@1.15.0", RuleRequired + ": grafana@1.2.0 requires prom"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &Profile{Name: "p", CloudType: c.cloud}
			vs, warns := Check(p, c.layers, c.partial)
			var got []string
			for _, v := range vs {
				got = append(got, v.Rule+": "+v.Message)
				if v.Rule != RuleCoreMissing && len(v.Packs) == 0 {
					t.Errorf("violation names no pack: %v", v)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("violation %d:\n got %s\nwant %s", i, got[i], w)
				}
			}
			if c.warn != "" && !strings.Contains(strings.Join(warns, "\n"), c.warn) {
				t.Errorf("warnings %q lack %q", warns, c.warn)
			}
			if c.warn == "" && len(warns) > 0 {
				t.Errorf("unexpected warnings %q", warns)
			}
		})
	}
}

func TestRangeHint(t *testing.T) {
	shard := &index.Shard{Name: "prom"}
	for _, v := range []string{"57.0.3", "58.2.1", "59.0.0", "60.0.0-rc.1"} {
		shard.Releases = append(shard.Releases, index.Release{Version: v})
	}
	d := dep("prom", "addon", "required", "57.0.0", "58.99.99")
	for _, c := range []struct{ constraint, want string }{
		{">=57", `prom 58.2.1 is in range and matches ">=57"; pin it (version: "58.2.1")`},
		{"~57.0", `prom 57.0.3 is in range and matches "~57.0"`},
		{">=59", `prom 58.2.1 is in range but outside the profile's constraint ">=59"`},
	} {
		if got := rangeHint(shard, c.constraint, d); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %s", c.constraint, got)
		}
	}
	if got := rangeHint(shard, "*", dep("prom", "addon", "required", "70.0.0", "")); got != "no release of prom in its registry is in range" {
		t.Errorf("none: %s", got)
	}
}

// FuzzMergeValues: any values.yaml and any overrides merge or fail
// cleanly, and merging is deterministic.
// TestProblemIsPacks: profile and lock problems are meta.Problem (one
// diagnostic type): errors positioned with Line and Col, in JSON the same
// fields as validation's, rendered in messages without the severity.
func TestProblemIsPacks(t *testing.T) {
	_, err := Parse("p.yaml", []byte("name: a\ncloudType: aws\nlayers: []\n"))
	var pe *spec.ParseError
	if !errors.As(err, &pe) || len(pe.Problems) != 1 {
		t.Fatalf("want one problem, got %v", err)
	}
	var p meta.Problem = pe.Problems[0]
	if p.Severity != meta.SevError || p.Line != 3 || p.Col != 9 {
		t.Errorf("problem %+v", p)
	}
	b, _ := json.Marshal(p)
	if want := `{"file":"p.yaml","line":3,"col":9,"severity":"error","message":"layers is empty; a profile needs at least one layer"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	if got := err.Error(); got != "p.yaml:3:9: layers is empty; a profile needs at least one layer" {
		t.Errorf("message %q", got)
	}
}

// TestWarnfEscapes: profile warnings quote a lock's registry URL and a
// pack's words: a terminal sequence in them is shown, not obeyed.
func TestWarnfEscapes(t *testing.T) {
	var b strings.Builder
	(&Env{Warn: &b}).warnf("lock resolved from %s", "https://evil\x1b]0;x\x07/")
	if got := b.String(); got != "warning: lock resolved from https://evil\\x1b]0;x\\x07/\n" {
		t.Errorf("warned %q", got)
	}
}
