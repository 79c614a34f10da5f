package gen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed binaries must be exactly what the generator makes, so
// anyone can rebuild and audit them.
func TestCommittedFilesAreReproducible(t *testing.T) {
	for rel, make := range Outputs("..") {
		want, err := make()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(rel)))
		if err != nil {
			t.Fatalf("%s: %v (run `go run ./examples/gen/cmd`)", rel, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator makes: run `go run ./examples/gen/cmd`", rel)
		}
		again, _ := make()
		if !bytes.Equal(again, want) {
			t.Errorf("%s: generator is not deterministic", rel)
		}
	}
}
