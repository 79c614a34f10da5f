package pack

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestValuesAndManifests: one read of values.yaml gives what Values and
// RenderManifests give apart, errors included.
func TestValuesAndManifests(t *testing.T) {
	broken := func(values, manifest string) string {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "manifests"), 0o755)
		os.WriteFile(filepath.Join(dir, "pack.json"), []byte(`{"name":"p","version":"1.0.0","layer":"addon","addonType":"monitoring","cloudTypes":["all"]}`), 0o644)
		os.WriteFile(filepath.Join(dir, "values.yaml"), []byte(values), 0o644)
		os.WriteFile(filepath.Join(dir, "manifests", "a.yaml"), []byte(manifest), 0o644)
		return dir
	}
	for _, tc := range []struct {
		name, dir string
		wantErr   bool
	}{
		{"templated manifest", "../images/testdata/packs/webapp-1.2.0", false},
		{"plain manifest", "../examples/packs/calico-3.27.3", false},
		{"no manifests", "../examples/packs/ubuntu-22.4.4", false},
		{"values.yaml does not parse", broken("a: [\n", "kind: ConfigMap\n"), true},
		{"values.yaml is a list", broken("- a\n", "kind: ConfigMap\n"), true},
		{"a template does not parse", broken("pack: {}\n", "kind: {{ .Values.x\n"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, probs := Load(os.DirFS(tc.dir), ".", Options{ListOnly: true})
			if probs.HasErrors() {
				t.Fatal(probs)
			}
			doc, vals, ms, err := ValuesAndManifests(p, Limits{})
			wantDoc, wantVals, verr := Values(p, Limits{})
			wantMs, merr := RenderManifests(p, Limits{})
			if werr := firstOf(verr, merr); (err != nil) != tc.wantErr || (err != nil && err.Error() != werr.Error()) {
				t.Fatalf("error %v, want %v", err, werr)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(doc, wantDoc) || !reflect.DeepEqual(vals, wantVals) || !reflect.DeepEqual(ms, wantMs) {
				t.Errorf("got %v %v %+v, want %v %v %+v", doc, vals, ms, wantDoc, wantVals, wantMs)
			}
			if len(ms) != len(manifestPaths(p)) {
				t.Errorf("%d manifests rendered, want %d", len(ms), len(manifestPaths(p)))
			}
		})
	}
}

func firstOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
