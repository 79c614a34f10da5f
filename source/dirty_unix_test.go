//go:build unix

package source

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestDirtyFIFO: a FIFO under the packs dir, untracked or where a
// tracked file was, is never opened (an open would block the build
// until a writer came): the tracked file reads as deleted, the FIFO as
// nothing git would track.
func TestDirtyFIFO(t *testing.T) {
	dir := t.TempDir()
	r, err := gitfixture.Init(dir)
	must(t, err)
	must(t, r.Write("packs/app/pack.json", []byte(`{"name":"app","version":"1.0.0"}`)))
	must(t, r.Write("packs/app/values.yaml", []byte("a: 1\n")))
	_, err = r.Commit("one")
	must(t, err)
	filetest.FIFO(t, filepath.Join(dir, "packs/app/untracked.fifo"))
	must(t, r.Remove("packs/app/values.yaml"))
	filetest.FIFO(t, filepath.Join(dir, "packs/app/values.yaml"))
	repo, err := Open(dir)
	must(t, err)
	var got []string
	must(t, filetest.Within(t, 10*time.Second, "Dirty blocked on a FIFO", func() (err error) {
		got, err = repo.Dirty("packs")
		return err
	}))
	if strings.Join(got, ",") != "packs/app/values.yaml" {
		t.Errorf("Dirty = %q, want the tracked file replaced by a FIFO", got)
	}
}
