//go:build unix

package publish

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/s3test"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/testutil"
)

// TestSiteFileSwappedAfterWalk: publish hashes the site's files, then
// uploads them; a file swapped between the two (index.json, uploaded
// last, replaced while the archives upload, or while it is read for its
// own upload) is refused, never followed through a link, opened
// blocking, read past the size hashed, or uploaded with other bytes of
// the same size, and neither destination (a directory, a bucket) gets
// an index.json, nor a directory a temporary file. An upload tried
// again after a store refused the conditional write reads the file
// again from its start, checked anew.
func TestSiteFileSwappedAfterWalk(t *testing.T) {
	srv := s3test.Start(t, "packs")
	_, built := calicoSite(t)
	for _, tc := range []struct {
		name string
		swap func(t *testing.T, p string)
		// pass: 0 swaps before the first upload; n swaps index.json
		// half way through the n-th read of its body from the start.
		pass int
		// unconditional: the destination reads half of a conditional
		// write's body, then says it cannot write conditionally, so
		// publish rewinds the file and writes it again without.
		unconditional bool
		only          string // the one destination to run on ("": both)
		want          error
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
		{name: "same size", want: ErrSiteChanged, swap: sameSizeSwap},
		// The directory's write; the SDK's first read, which hashes
		// the body to sign it.
		{name: "same size, while read", pass: 1, want: ErrSiteChanged, swap: sameSizeSwap},
		// The SDK's second read sends the body: the request is cut
		// short, and the store keeps nothing.
		{name: "same size, while sent", pass: 2, only: "s3", want: ErrSiteChanged, swap: sameSizeSwap},
		{name: "same size, written again unconditionally", pass: 2, unconditional: true, want: ErrSiteChanged, swap: sameSizeSwap},
		{name: "unchanged, written again unconditionally", unconditional: true},
	} {
		for _, dest := range []string{"dir", "s3"} {
			if tc.only != "" && tc.only != dest {
				continue
			}
			t.Run(tc.name+"/"+dest, func(t *testing.T) {
				site := filepath.Join(t.TempDir(), "site")
				testutil.CopyDir(t, built, site)
				remote := filepath.Join(t.TempDir(), "remote")
				var target Target = DirTarget{Dir: remote}
				if dest == "s3" {
					target = newS3(t, srv, strings.NewReplacer(" ", "-", ",", "").Replace(tc.name))
				}
				if tc.unconditional {
					target = &unconditional{Target: target}
				}
				swapped := tc.swap == nil
				swap := func() {
					if !swapped {
						swapped = true
						tc.swap(t, filepath.Join(site, index.RootFile))
					}
				}
				if tc.pass == 0 {
					target = &hooked{Target: target, before: swap}
				} else {
					target = &swapRead{Target: target, pass: tc.pass, swap: swap}
				}
				want, err := os.ReadFile(filepath.Join(site, index.RootFile))
				testutil.Must(t, err)
				done := make(chan error, 1)
				go func() {
					_, err := Publish(context.Background(), site, target, Options{Jobs: 1})
					done <- err
				}()
				select {
				case err = <-done:
				case <-time.After(30 * time.Second):
					t.Fatal("publish hangs on the swapped file")
				}
				if !swapped || !errors.Is(err, tc.want) {
					t.Fatalf("publish: %v (swapped %v), want %v", err, swapped, tc.want)
				}
				if tc.want == ErrSiteChanged && !strings.HasPrefix(err.Error(), ErrSiteChanged.Error()+": index.json") {
					// siteReader's refusal in its own words, found in
					// the SDK's error around it (put).
					t.Errorf("publish: %v, want the refusal in publish's words", err)
				}
				if tc.want == nil {
					rc, err := target.Get(context.Background(), index.RootFile)
					testutil.Must(t, err)
					got, err := io.ReadAll(rc)
					rc.Close()
					testutil.Must(t, err)
					if !bytes.Equal(got, want) {
						t.Errorf("index.json published as %d other bytes, want the site's %d", len(got), len(want))
					}
					return
				}
				if _, err := target.Stat(context.Background(), index.RootFile); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("index.json uploaded after it changed: %v", err)
				}
				if dest == "dir" {
					entries, _ := os.ReadDir(remote)
					for _, e := range entries {
						if atomicfile.IsTempName(e.Name()) {
							t.Errorf("a failed upload left %s in the directory", e.Name())
						}
					}
				}
			})
		}
	}
}

// sameSizeSwap writes other bytes of the same size into p, in place.
func sameSizeSwap(t *testing.T, p string) {
	data, err := os.ReadFile(p)
	testutil.Must(t, err)
	data[len(data)/2] ^= 1
	testutil.Must(t, os.WriteFile(p, data, 0o644))
}

// unconditional is a store without conditional writes that reads half
// of such a write's body before it says so (errUnconditional).
type unconditional struct{ Target }

func (u *unconditional) Put(ctx context.Context, key string, body io.ReadSeeker, info PutInfo) error {
	if info.IfMatch != "" || info.IfAbsent {
		if _, err := io.CopyN(io.Discard, body, info.Size/2); err != nil {
			return err
		}
		return errUnconditional
	}
	return u.Target.Put(ctx, key, body, info)
}

// swapRead calls swap once index.json's body is half read in the
// pass-th read of it from the start (in any of its uploads), 100 bytes
// at a time.
type swapRead struct {
	Target
	pass, passes int
	swap         func()
}

func (s *swapRead) Put(ctx context.Context, key string, body io.ReadSeeker, info PutInfo) error {
	if key == index.RootFile {
		body = &swapReader{ReadSeeker: body, s: s, size: info.Size}
	}
	return s.Target.Put(ctx, key, body, info)
}

type swapReader struct {
	io.ReadSeeker
	s    *swapRead
	size int64
}

func (r *swapReader) Read(p []byte) (int, error) {
	pos, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if pos == 0 {
		r.s.passes++
	}
	if r.s.passes == r.s.pass && pos >= r.size/4 {
		r.s.swap() // sameSizeSwap changes a byte at the half
	}
	return r.ReadSeeker.Read(p[:min(len(p), 100)])
}
