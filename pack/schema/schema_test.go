package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/packgen/packgen/internal/testutil"
)

func instance(t *testing.T, data string) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// matchSchema validates every file glob names against the schema; it
// fails when there are fewer than min of them (what they are: what).
func matchSchema(t *testing.T, glob string, min int, what string) {
	t.Helper()
	s := testutil.CompileSchema(t, "pack.schema.json", PackJSON)
	files, _ := filepath.Glob(glob)
	if len(files) < min {
		t.Fatalf("found %d %s", len(files), what)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(instance(t, string(data))); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestExamplePacksMatchSchema(t *testing.T) {
	matchSchema(t, "../../examples/packs/*/pack.json", 8, "example packs")
}

// The fixtures of real shapes (constraints.resources, kubeVersion, a
// `v`-prefixed 2-part version) match the schema too.
func TestGoodFixturesMatchSchema(t *testing.T) {
	matchSchema(t, "../testdata/good/*/pack.json", 2, "fixtures")
}

func TestInvalidManifestsFailSchema(t *testing.T) {
	s := testutil.CompileSchema(t, "pack.schema.json", PackJSON)
	base := map[string]any{"name": "demo", "version": "1.0.0", "layer": "addon", "addonType": "monitoring", "cloudTypes": []string{"all"}}
	enc := func(mod func(m map[string]any)) string {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		mod(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	if err := s.Validate(instance(t, enc(func(map[string]any) {}))); err != nil {
		t.Fatalf("base is invalid: %v", err)
	}
	for name, mod := range map[string]func(m map[string]any){
		"missing name":      func(m map[string]any) { delete(m, "name") },
		"missing version":   func(m map[string]any) { delete(m, "version") },
		"uppercase name":    func(m map[string]any) { m["name"] = "Demo" },
		"long name":         func(m map[string]any) { m["name"] = strings.Repeat("a", 64) },
		"bad layer":         func(m map[string]any) { m["layer"] = "app" },
		"addon no type":     func(m map[string]any) { delete(m, "addonType") },
		"addon empty type":  func(m map[string]any) { m["addonType"] = "" },
		"version word":      func(m map[string]any) { m["version"] = "latest" },
		"cloudTypes string": func(m map[string]any) { m["cloudTypes"] = "all" },
		"annotation number": func(m map[string]any) { m["annotations"] = map[string]any{"a": 1} },
		"absolute chart":    func(m map[string]any) { m["charts"] = []string{"/etc/passwd"} },
		"escaping manifest": func(m map[string]any) { m["kubeManifests"] = []string{"../x.yaml"} },
		"dep bad type": func(m map[string]any) {
			m["constraints"] = map[string]any{"dependencies": []any{map[string]any{"packName": "k", "type": "needed"}}}
		},
		"900 KB displayName": func(m map[string]any) { m["displayName"] = strings.Repeat("x", 900<<10) },
		"long annotation":    func(m map[string]any) { m["annotations"] = map[string]any{"a": strings.Repeat("v", 4097)} },
		"resource bad type": func(m map[string]any) {
			m["constraints"] = map[string]any{"resources": []any{map[string]any{"type": "gpu", "minLimit": 1}}}
		},
		"resource fractional": func(m map[string]any) {
			m["constraints"] = map[string]any{"resources": []any{map[string]any{"type": "cpu", "minLimit": 0.5}}}
		},
		"resource bad scheduleType": func(m map[string]any) {
			m["constraints"] = map[string]any{"resources": []any{map[string]any{"type": "cpu", "components": []any{map[string]any{"scheduleType": "gpu"}}}}}
		},
		"dep no packName": func(m map[string]any) {
			m["constraints"] = map[string]any{"dependencies": []any{map[string]any{"type": "required"}}}
		},
	} {
		if err := s.Validate(instance(t, enc(mod))); err == nil {
			t.Errorf("%s: accepted by the schema", name)
		}
	}
}
