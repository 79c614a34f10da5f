// Command gen regenerates the binary files of the example packs:
// go run ./examples/gen/cmd
package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/packgen/packgen/examples/gen"
)

func main() {
	outs := gen.Outputs("examples")
	names := slices.Sorted(maps.Keys(outs))
	for _, n := range names {
		data, err := outs[n]()
		if err == nil {
			p := filepath.Join("examples", filepath.FromSlash(n))
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, data, 0o644)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", n, err)
			os.Exit(1)
		}
		fmt.Println("wrote", n)
	}
}
