package images

import (
	"errors"
	"os"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/packgen/packgen/pack"
)

// TestAccepted: a validated pack's report without validating again is
// Tree's, field for field (the testdata pack and the real ingress-nginx
// chart archive); a pack.json that does not parse is still refused.
func TestAccepted(t *testing.T) {
	for _, dir := range []string{"testdata/packs/webapp-1.2.0", "../examples/packs/ingress-nginx-4.10.1"} {
		fsys := os.DirFS(dir)
		want, err := Tree(fsys, ".", "shown")
		if err != nil || len(want) != 1 {
			t.Fatalf("%s: Tree: %v", dir, err)
		}
		got, err := Accepted(fsys, "shown")
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if !reflect.DeepEqual(got, want[0]) {
			t.Errorf("%s: Accepted\n%+v\nTree\n%+v", dir, got, want[0])
		}
	}
	_, err := Accepted(fstest.MapFS{"pack.json": {Data: []byte("{")}}, "bad")
	var ve *pack.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("a broken pack.json: %v", err)
	}
}
