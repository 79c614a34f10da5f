package airgap

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/writeback"
	"github.com/packgen/packgen/publish"
)

// bundleTar is the bundle's tar, written while it is laid out. Entries
// are placed one after another (their header written, their room
// reserved), in the bundle's order: oci-layout and the blob
// directories; the images' configs and layers, image by image in the
// list's order, each at the first image that names it; then every
// staged blob (manifests, packs, index files, signatures, the list) by
// digest; index.json last. An image's blobs can be placed once its
// manifests and those of every image before it are read, so their
// downloads start while later images' manifests are still being read,
// instead of after all of them. The order depends on the content alone,
// never on which request finished first: the same inputs give the same
// bytes.
type bundleTar struct {
	f *os.File
	// staged opens a blob the stage holds, if it does: one an image
	// shares with a signature or pack is copied from there, not fetched
	// again.
	staged func(digest.Digest) (io.ReadCloser, bool)

	mu     sync.Mutex
	wake   *sync.Cond // a blob was queued, or closed was set
	end    int64      // where the next entry's header goes
	placed map[string]bool
	queue  []*tarEntry // placed image blobs not yet downloading, smallest first
	closed bool        // no more blobs will be queued
	blobs  int         // blob entries placed
}

// tarEntry is an entry of the bundle's tar, with where its bytes come
// from.
type tarEntry struct {
	name   string
	dir    bool
	size   int64
	data   []byte      // small files
	file   string      // a staged blob
	remote *directBlob // a blob fetched from its registry
	image  string      // the image that placed it, for errors
	off    int64       // where its content starts in the tar
}

// maxBundle bounds a bundle's size (4 EiB, beyond any disk), so that
// the offsets place adds up from the manifests' sizes cannot overflow;
// tarOverhead is more than an entry adds to its size (its header, a PAX
// record for a large size, padding, the end-of-archive blocks).
const (
	maxBundle   = 1 << 62
	tarOverhead = 64 << 10
)

// source names where an entry's bytes come from, for errors.
func (e *tarEntry) source() string {
	if e.remote != nil {
		return e.remote.repo.Reference.String() + "@" + e.remote.desc.Digest.String()
	}
	return e.name
}

// newBundleTar creates the tar at path (which must not exist) and
// places its first entries: oci-layout (layout, the file's bytes) and
// the blob directories.
func newBundleTar(path string, layout []byte, staged func(digest.Digest) (io.ReadCloser, bool)) (*bundleTar, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	t := &bundleTar{f: f, staged: staged, placed: map[string]bool{}}
	t.wake = sync.NewCond(&t.mu)
	first, err := t.place([]*tarEntry{
		{name: ocispec.ImageLayoutFile, size: int64(len(layout)), data: layout},
		{name: "blobs/", dir: true},
		{name: "blobs/sha256/", dir: true},
	})
	if err == nil {
		err = writeContent(context.Background(), f, first)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

// place lays entries out at the tar's end, skipping names placed
// already (a blob is stored once): it reserves their room (a full disk
// fails here, before their bytes are fetched), writes their headers
// (archive/tar's encoding) and queues the image blobs for download. It
// returns the entries placed, their off set.
func (t *bundleTar) place(entries []*tarEntry) ([]*tarEntry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	start, off := t.end, t.end
	var headers bytes.Buffer
	var placed []*tarEntry
	var biggest *tarEntry
	for _, e := range entries {
		if t.placed[e.name] {
			continue
		}
		// A size is a manifest's word (outside input): checked before
		// any sum, so none overflows and nothing is reserved for it.
		if e.size < 0 || e.size > maxBundle-off-tarOverhead {
			return nil, fmt.Errorf("%w: %s declares %d bytes: expected 0 to %d, what a bundle can hold beside the %d bytes placed before it", publish.ErrRegistry, e.source(), e.size, maxBundle-off-tarOverhead, off)
		}
		if biggest == nil || e.size > biggest.size {
			biggest = e
		}
		t.placed[e.name] = true
		h := &tar.Header{Name: e.name, Size: e.size, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if e.dir {
			h.Mode, h.Typeflag = 0o755, tar.TypeDir
		}
		n := headers.Len()
		if err := tar.NewWriter(&headers).WriteHeader(h); err != nil {
			return nil, err
		}
		off += int64(headers.Len() - n)
		e.off = off
		off += e.size + (512-e.size%512)%512
		placed = append(placed, e)
		if strings.HasPrefix(e.name, "blobs/sha256/") && !e.dir {
			t.blobs++
		}
	}
	if len(placed) == 0 {
		return nil, nil
	}
	if err := preallocate(t.f, start, off-start); err != nil { // zeros: padding included
		return nil, fmt.Errorf("the bundle needs %d bytes more (the biggest, %s, declares %d): %w", off-start, biggest.source(), biggest.size, err)
	}
	// The headers, each before its content: one write per header.
	hb := headers.Bytes()
	pos := start
	for _, e := range placed {
		n := e.off - pos
		if _, err := t.f.WriteAt(hb[:n], pos); err != nil {
			return nil, err
		}
		hb = hb[n:]
		pos = e.off + e.size + (512-e.size%512)%512
	}
	t.end = off
	for _, e := range placed {
		if e.remote != nil {
			t.queue = append(t.queue, e)
		}
	}
	// Biggest first: a big layer started last would download alone at
	// the end.
	slices.SortStableFunc(t.queue, func(a, b *tarEntry) int { return cmp.Compare(a.size, b.size) })
	t.wake.Broadcast()
	return placed, nil
}

// close says no more blobs will be queued: the downloads end once the
// queue is empty.
func (t *bundleTar) close() {
	t.mu.Lock()
	t.closed = true
	t.wake.Broadcast()
	t.mu.Unlock()
}

// next is the biggest queued blob, waiting for one; nil when closed and
// drained, or when ctx is done.
func (t *bundleTar) next(ctx context.Context) *tarEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.queue) == 0 && !t.closed && ctx.Err() == nil {
		t.wake.Wait()
	}
	if len(t.queue) == 0 || ctx.Err() != nil {
		return nil
	}
	e := t.queue[len(t.queue)-1]
	t.queue = t.queue[:len(t.queue)-1]
	return e
}

// download streams the queued blobs from their registries into their
// places, jobs at once, each checked against its digest, its write-back
// started as it is written (internal/writeback), until close and an
// empty queue. The first error stops the other downloads and is
// returned.
func (t *bundleTar) download(ctx context.Context, jobs int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		t.wake.Broadcast()
		t.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range jobs {
		wg.Go(func() {
			buf := make([]byte, copyBuf)
			for e := t.next(ctx); e != nil; e = t.next(ctx) {
				if err := t.fetch(ctx, e, buf); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// fetch writes one blob into its place, from the stage if it is staged
// (checked when it was), else from its registry, checked as it streams.
func (t *bundleTar) fetch(ctx context.Context, e *tarEntry, buf []byte) error {
	b := e.remote
	ref := b.repo.Reference.String() + "@" + b.desc.Digest.String()
	rc, ok := t.staged(b.desc.Digest)
	if !ok {
		var err error
		if rc, err = b.repo.Blobs().Fetch(ctx, b.desc); err != nil {
			return fmt.Errorf("image %s: fetch %s (%d bytes, as its manifest declares): %w", e.image, ref, b.desc.Size, ocireg.Wrap(ref, b.repo.Client, err))
		}
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, b.desc)
	w := writeback.At(t.f, e.off)
	if _, err := io.CopyBuffer(w, vr, buf); err != nil {
		return fmt.Errorf("image %s: fetch %s (%d bytes, as its manifest declares): %w", e.image, ref, b.desc.Size, ocireg.Wrap(ref, b.repo.Client, err))
	}
	if err := vr.Verify(); err != nil {
		return fmt.Errorf("%w: image %s: %s: %v", publish.ErrRegistry, e.image, ref, err)
	}
	w.Flush()
	return nil
}

// copyBuf is the size of each download's reads and writes into the
// bundle. io.Copy's 32 KiB made 7,700 writes for 240 MiB, each a trip
// through the file system's write path (and a time update of the
// file); 256 KiB makes an eighth of them, and cut the export's CPU by
// about a quarter (docs/PERFORMANCE.md). One buffer per download.
const copyBuf = 256 << 10

// finish places the staged blobs and index.json (staged: every image
// placed, the list stored) and writes them; once the downloads are done
// (wait) it ends the tar and syncs it. It returns the tar's size.
func (t *bundleTar) finish(ctx context.Context, staged func() ([]*tarEntry, error), wait func() error) (int64, error) {
	entries, err := staged()
	if err != nil {
		return 0, err
	}
	placed, err := t.place(entries)
	if err != nil {
		return 0, err
	}
	if err := writeContent(ctx, t.f, placed); err != nil {
		return 0, err
	}
	if err := wait(); err != nil {
		return 0, err
	}
	// The end-of-archive blocks: zeros.
	if err := preallocate(t.f, t.end, 2*512); err != nil {
		return 0, fmt.Errorf("the bundle needs %d bytes more: %w", 2*512, err)
	}
	if err := t.f.Sync(); err != nil {
		return 0, err
	}
	return t.end + 2*512, t.f.Close()
}

// writeContent writes the content of placed entries at hand (small
// files, staged blobs) into their places; others are left.
func writeContent(ctx context.Context, f *os.File, entries []*tarEntry) error {
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case e.data != nil:
			if _, err := f.WriteAt(e.data, e.off); err != nil {
				return err
			}
		case e.file != "":
			bf, err := os.Open(e.file)
			if err != nil {
				return err
			}
			n, err := io.Copy(io.NewOffsetWriter(f, e.off), bf)
			bf.Close()
			if err == nil && n != e.size {
				err = fmt.Errorf("%s changed while it was copied", e.file)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// grow makes f size bytes long if it is shorter (a sparse tail).
func grow(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() >= size {
		return err
	}
	return f.Truncate(size)
}
