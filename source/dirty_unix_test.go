//go:build unix

package source

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/gitfixture"
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
	must(t, syscall.Mkfifo(filepath.Join(dir, "packs/app/untracked.fifo"), 0o644))
	must(t, r.Remove("packs/app/values.yaml"))
	must(t, syscall.Mkfifo(filepath.Join(dir, "packs/app/values.yaml"), 0o644))
	repo, err := Open(dir)
	must(t, err)
	done := make(chan struct{})
	var got []string
	go func() {
		defer close(done)
		got, err = repo.Dirty("packs")
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Dirty blocked on a FIFO")
	}
	must(t, err)
	if strings.Join(got, ",") != "packs/app/values.yaml" {
		t.Errorf("Dirty = %q, want the tracked file replaced by a FIFO", got)
	}
}
