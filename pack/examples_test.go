package pack_test

import (
	"os"
	"testing"

	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

// Every example pack must validate with no error and no warning: they are
// what new users copy.
func TestExamplePacksValidateClean(t *testing.T) {
	loaded, problems, err := pack.ValidateTree(os.DirFS("../examples/packs"), ".", pack.Options{Prefix: "examples/packs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) < 8 {
		t.Fatalf("only %d example packs", len(loaded))
	}
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	layers := map[meta.Layer]bool{}
	for _, l := range loaded {
		layers[l.Pack.Manifest.Layer] = true
	}
	for _, l := range meta.Layers {
		if !layers[l] {
			t.Errorf("no example pack of layer %s", l)
		}
	}
}
