//go:build unix

package build

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
	must(t, syscall.Mkfifo(sig, 0o644))
	done := make(chan error, 1)
	go func() { _, err := run(t, f.repo.Dir, f.published, f.signed); done <- err }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the build hung on a FIFO in place of a signature")
	}
	if fi, err := os.Lstat(sig); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("signature not made again: %v %v", fi, err)
	}
}
