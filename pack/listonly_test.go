package pack

import (
	"os"
	"reflect"
	"testing"
)

// TestLoadListOnly: ListOnly gives the Pack a full Load gives (files
// after .packignore, manifest, version) and skips the content checks.
func TestLoadListOnly(t *testing.T) {
	for _, dir := range []string{"../examples/packs/ingress-nginx-4.10.1", "../images/testdata/packs/webapp-1.2.0"} {
		full, probs := Load(os.DirFS(dir), ".", Options{})
		if probs.HasErrors() {
			t.Fatalf("%s: %v", dir, probs)
		}
		list, probs := Load(os.DirFS(dir), ".", Options{ListOnly: true})
		if len(probs) != 0 || !reflect.DeepEqual(full, list) {
			t.Errorf("%s: ListOnly %+v (%v), want %+v", dir, list, probs, full)
		}
	}
	// values.yaml is not read: a broken one is not reported.
	dir := t.TempDir()
	os.WriteFile(dir+"/pack.json", []byte(`{"name":"p","version":"1.0.0","layer":"addon","addonType":"monitoring","cloudTypes":["all"]}`), 0o644)
	os.WriteFile(dir+"/values.yaml", []byte("a: [\n"), 0o644)
	os.WriteFile(dir+"/.packignore", []byte("junk\n"), 0o644)
	os.WriteFile(dir+"/junk", []byte("x"), 0o644)
	p, probs := Load(os.DirFS(dir), ".", Options{ListOnly: true})
	if probs.HasErrors() || p.Manifest == nil || p.Has("junk") || !p.Has("values.yaml") {
		t.Errorf("ListOnly: %+v %v", p, probs)
	}
	if _, probs := Load(os.DirFS(dir), ".", Options{}); !probs.HasErrors() {
		t.Error("a full Load does not report the broken values.yaml")
	}
}
