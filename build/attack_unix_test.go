//go:build unix

package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestPreviousSignatureFIFO: a FIFO planted where a release's signature
// was in the out dir does not hang the build (signature files are read
// as regular files only): the release, still in git, is signed again.
func TestPreviousSignatureFIFO(t *testing.T) {
	f := newAttackFixture(t)
	prev, err := loadPrevious(context.Background(), f.published, f.trust)
	must(t, err)
	sig := filepath.Join(f.published, filepath.FromSlash(prev.shards["calico"].Releases[0].Signature))
	must(t, os.Remove(sig))
	filetest.FIFO(t, sig)
	must(t, filetest.Within(t, 20*time.Second, "the build hung on a FIFO in place of a signature", func() error {
		_, err := run(t, f.repo.Dir, f.published, f.signed)
		return err
	}))
	if fi, err := os.Lstat(sig); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("signature not made again: %v %v", fi, err)
	}
}

// TestAttackFIFOArchiveInPlace: a FIFO planted in --out where a release's
// archive was makes the next in-place build fail or rebuild, never wait
// forever on the open (it checks the archive it keeps).
func TestAttackFIFOArchiveInPlace(t *testing.T) {
	_, r, _, out := builtCalico(t, "packs/calico", "1.0.0")
	a := filepath.Join(out, "packs/calico/1.0.0/calico-1.0.0.tar.gz")
	must(t, os.Remove(a))
	filetest.FIFO(t, a)
	writePack(t, r, "packs/prom", "prom", "1.0.0", "addon", "")
	commit(t, r, "two")
	done := make(chan error, 1)
	go func() { _, err := run(t, r.Dir, out); done <- err }()
	select {
	case err := <-done:
		if err != nil && !strings.Contains(err.Error(), "calico-1.0.0.tar.gz") {
			t.Errorf("the error does not name the FIFO: %v", err)
		}
	case <-time.After(30 * time.Second):
		if f, err := os.OpenFile(a, os.O_WRONLY, 0); err == nil { // unblock it
			f.Close()
		}
		<-done
		t.Fatal("the in-place build waited on a FIFO planted at a release archive")
	}
}
