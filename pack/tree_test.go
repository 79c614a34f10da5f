package pack

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/packgen/packgen/pack/meta"
)

func treeFS(packs map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for dir, pj := range packs {
		m[dir+"/pack.json"] = &fstest.MapFile{Data: []byte(pj)}
		m[dir+"/values.yaml"] = &fstest.MapFile{Data: []byte("pack: {}\n")}
	}
	return m
}

func pj(name, version, layer, deps string) string {
	extra := ""
	if layer == "addon" {
		extra = `"addonType": "monitoring",`
	}
	if deps != "" {
		extra += `"constraints": {"dependencies": [` + deps + `]},`
	}
	return `{"name": "` + name + `", "version": "` + version + `", "layer": "` + layer + `", ` + extra + ` "displayName": "x", "cloudTypes": ["all"]}`
}

func TestCheckSet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		packs map[string]string
		sev   meta.Severity
		file  string
		msg   string
	}{
		{"duplicate", map[string]string{"a": pj("calico", "1.0.0", "cni", ""), "b": pj("calico", "1.0", "cni", "")}, meta.SevError, "t/b/pack.json", "calico@1.0 is defined twice: here and in t/a/pack.json (as 1.0.0)"},
		{"versions as written", map[string]string{
			"a": pj("x", "1.0.0", "addon", `{"packName": "ubuntu", "minVersion": "22.04.4", "type": "required"}`),
			"b": pj("ubuntu", "20.04", "os", ""), "c": pj("ubuntu", "v20.09.0", "os", "")}, meta.SevError, "t/a/pack.json", `no version of "ubuntu" satisfies >= 22.04.4 (repository has 20.04, v20.09.0)`},
		{"missing dependency", map[string]string{"a": pj("x", "1.0.0", "addon", `{"packName": "kubernetes", "type": "required"}`)}, meta.SevWarning, "t/a/pack.json", `required dependency "kubernetes" is not in this repository`},
		{"unsatisfiable", map[string]string{
			"a": pj("x", "1.0.0", "addon", `{"packName": "k8s", "minVersion": "1.30.0", "type": "required"}`),
			"b": pj("k8s", "1.28.0", "k8s", ""), "c": pj("k8s", "1.29.1", "k8s", "")}, meta.SevError, "t/a/pack.json", `no version of "k8s" satisfies >= 1.30.0 (repository has 1.28.0, 1.29.1)`},
		{"layer mismatch", map[string]string{
			"a": pj("x", "1.0.0", "addon", `{"packName": "k8s", "layer": "os", "type": "optional"}`),
			"b": pj("k8s", "1.28.0", "k8s", "")}, meta.SevError, "t/a/pack.json", `declared as layer "os" but t/b/pack.json says layer "k8s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ps, err := ValidateTree(treeFS(tc.packs), ".", Options{Prefix: "t"})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range ps {
				if p.Severity == tc.sev && p.File == tc.file && strings.Contains(p.Msg, tc.msg) {
					found = true
				} else if p.Severity == meta.SevError {
					t.Errorf("unexpected error %s", p)
				}
			}
			if !found {
				t.Errorf("want %s %s: %s; got\n%v", tc.sev, tc.file, tc.msg, ps)
			}
		})
	}
}

func TestFindPacksDoesNotDescend(t *testing.T) {
	m := treeFS(map[string]string{"packs/a-1": pj("a", "1.0.0", "os", ""), "packs/group/b-2": pj("b", "2.0.0", "os", "")})
	m["packs/a-1/nested/pack.json"] = &fstest.MapFile{Data: []byte("{}")}
	m["packs/.git/pack.json"] = &fstest.MapFile{Data: []byte("{}")}
	dirs, err := FindPacks(m, ".")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(dirs, ",") != "packs/a-1,packs/group/b-2" {
		t.Fatalf("got %v", dirs)
	}
}

// A dependency without type is an error of its own; the cross-pack
// warning about it must still read right ("dependencies[0]: dependency",
// not "dependencies[0]:  dependency").
func TestDependencyWithoutTypeMessages(t *testing.T) {
	_, ps, err := ValidateTree(treeFS(map[string]string{"a": pj("x", "1.0.0", "addon", `{"packName": "kubernetes"}`)}), ".", Options{Prefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var sawErr, sawWarn bool
	for _, p := range ps {
		if strings.Contains(p.Msg, "  ") {
			t.Errorf("double space: %q", p.Msg)
		}
		sawErr = sawErr || (p.Severity == meta.SevError && strings.Contains(p.Msg, "constraints.dependencies[0]: type is required"))
		sawWarn = sawWarn || (p.Severity == meta.SevWarning && strings.Contains(p.Msg, `constraints.dependencies[0]: dependency "kubernetes" is not in this repository`))
	}
	if !sawErr || !sawWarn {
		t.Errorf("want the type error and the missing-dependency warning, got\n%v", ps)
	}
}
