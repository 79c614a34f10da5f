//go:build unix

package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/testutil"
)

// TestSiteFileSwappedAfterWalk: publish hashes the site's files, then
// uploads them; a file swapped between the two (index.json, uploaded
// last, replaced while the archives upload) is refused, never followed
// through a link, opened blocking, or read past the size hashed, and
// the destination gets no index.json.
func TestSiteFileSwappedAfterWalk(t *testing.T) {
	for _, tc := range []struct {
		name string
		swap func(t *testing.T, p string)
		want error
	}{
		{name: "link to a copy", want: ErrSiteChanged, swap: func(t *testing.T, p string) {
			cp := filepath.Join(filepath.Dir(p), "copy.json")
			testutil.Must(t, os.Rename(p, cp))
			testutil.Must(t, os.Symlink("copy.json", p))
		}},
		{name: "FIFO", want: safefile.ErrNotRegular, swap: func(t *testing.T, p string) {
			testutil.Must(t, os.Remove(p))
			testutil.Must(t, syscall.Mkfifo(p, 0o644))
		}},
		{name: "grown", want: ErrSiteChanged, swap: func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			testutil.Must(t, err)
			_, err = f.Write(make([]byte, 1<<20))
			testutil.Must(t, err)
			testutil.Must(t, f.Close())
		}},
		{name: "shrunk", want: ErrSiteChanged, swap: func(t *testing.T, p string) {
			testutil.Must(t, os.Truncate(p, 10))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, site := calicoSite(t)
			dest := filepath.Join(t.TempDir(), "remote")
			swapped := false
			target := &hooked{Target: DirTarget{Dir: dest}, before: func() {
				if !swapped {
					swapped = true
					tc.swap(t, filepath.Join(site, index.RootFile))
				}
			}}
			done := make(chan error, 1)
			go func() {
				_, err := Publish(context.Background(), site, target, Options{Jobs: 1})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("publish hangs on the swapped file")
			}
			if !swapped || !errors.Is(err, tc.want) {
				t.Fatalf("publish: %v (swapped %v), want %v", err, swapped, tc.want)
			}
			if _, err := os.Lstat(filepath.Join(dest, index.RootFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("index.json uploaded after it changed: %v", err)
			}
		})
	}
}
