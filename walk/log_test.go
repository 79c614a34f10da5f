package walk

import (
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/translog"
)

// Log proofs read the height-4 tiles only when the signed root names
// them and the source holds them; otherwise the height-8 tiles every log
// has.
func TestLogReaderHeight(t *testing.T) {
	all := func(int) bool { return true }
	only8 := func(h int) bool { return h == translog.TileHeight }
	for _, c := range []struct {
		name  string
		root  int // the root's log.proofTileHeight
		holds func(int) bool
		want  int
	}{
		{"named, source holds them", translog.ProofTileHeight, all, translog.ProofTileHeight},
		{"named, OCI source", translog.ProofTileHeight, only8, translog.TileHeight},
		{"named, source unknown", translog.ProofTileHeight, nil, translog.TileHeight},
		{"not named (an older packgen's site)", 0, all, translog.TileHeight},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := &index.Root{Log: &index.LogRef{Size: 1, ProofTileHeight: c.root}}
			if got := (&Walker{HoldsTileHeight: c.holds}).LogReader(root).Height; got != c.want {
				t.Fatalf("height %d, want %d", got, c.want)
			}
		})
	}
}
