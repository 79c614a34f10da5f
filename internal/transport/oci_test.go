package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
)

// openAcme opens oci://REGISTRY/acme on reg as a source, over plain HTTP.
func openAcme(t *testing.T, reg *ocitest.Registry) Transport {
	t.Helper()
	l, err := location.Parse("oci://" + reg.Host() + "/acme")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Open(l, Config{OCI: ocireg.Options{PlainHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestOCISource reads site paths from a real registry: what is not there
// (or never kept in a registry) is index.ErrNotFound naming the
// reference, a content-addressed blob is found by its path alone and
// revalidated by digest, and bytes that do not match their digest are
// refused as ErrWrongBytes.
func TestOCISource(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Anonymous)
	ctx := context.Background()
	tr := openAcme(t, reg)
	data := []byte(`{"schemaVersion":1,"packs":[]}` + "\n")
	sha := index.Digest(data)
	for _, tc := range []struct{ path, names string }{
		{index.RootFile, "acme/packgen/index"},
		{index.BucketPath(sha), "acme/packgen/index"},
		{index.ArchivePath("calico", "3.27.0"), "acme/spectro-packs/archive/calico"},
		{index.ArchivePath("calico", "3.27.0") + ".sig", "acme/packgen/index"},
		{"log/checkpoint", "acme/packgen/index"},
		{"log/tile/8/0/000", "acme/packgen/index"},
		{"log/tile/8/0/000.p/3", "acme/packgen/index"},
		{"log/tile/5/0/000", "not kept in OCI registries"},
		{"index.html", "not kept in OCI registries"},
	} {
		_, err := tr.Get(ctx, tc.path, "")
		if !errors.Is(err, index.ErrNotFound) || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%s: %v", tc.path, err)
		}
	}

	repo, err := ocireg.Repository(ctx, reg.Host()+"/acme/"+ocimap.IndexRepo, ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	desc := content.NewDescriptorFromBytes(ocimap.FileMediaType, data)
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	resp, err := tr.Get(ctx, index.BucketPath(sha), "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, data) || resp.ETag != "sha256:"+sha || resp.Size != int64(len(data)) {
		t.Fatalf("bucket: %q %v %+v", got, err, resp)
	}
	if resp, err := tr.Get(ctx, index.BucketPath(sha), "sha256:"+sha); err != nil || !resp.NotModified {
		t.Fatalf("revalidation: %+v %v", resp, err)
	}

	// The registry's storage altered: other bytes of the same length.
	blob := filepath.Join(reg.Dir, "docker/registry/v2/blobs/sha256", sha[:2], sha, "data")
	os.WriteFile(blob, bytes.ToUpper(data), 0o644)
	resp, err = tr.Get(ctx, index.BucketPath(sha), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, ErrWrongBytes) || !strings.Contains(err.Error(), "acme/packgen/index@sha256:"+sha) {
		t.Fatalf("altered blob: %v", err)
	}
}

// TestOCIRootOnce: a client asks for index.json and index.json.sig at
// once; both are layers of the root manifest, which is read with one
// request, not one per caller.
func TestOCIRootOnce(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Anonymous)
	ctx := context.Background()
	repo, err := ocireg.Repository(ctx, reg.Host()+"/acme/"+ocimap.IndexRepo, ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{index.RootFile: []byte(`{"root":1}`), index.RootFile + ".sig": []byte("signature")}
	var layers []ocispec.Descriptor
	for _, p := range []string{index.RootFile, index.RootFile + ".sig"} {
		d := ocimap.File(p, files[p])
		if err := repo.Blobs().Push(ctx, d, bytes.NewReader(files[p])); err != nil {
			t.Fatal(err)
		}
		layers = append(layers, d)
	}
	m, err := ocimap.FilesManifest(layers, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Blobs().Push(ctx, m.Config, bytes.NewReader(m.ConfigB)); err != nil {
		t.Fatal(err)
	}
	if err := repo.Manifests().PushReference(ctx, m.Desc, bytes.NewReader(m.Manifest), ocimap.RootTag); err != nil {
		t.Fatal(err)
	}

	tr := openAcme(t, reg)
	before := reg.Requests("GET", "/manifests/"+ocimap.RootTag)
	var wg sync.WaitGroup
	for p, want := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := tr.Get(ctx, p, "")
			if err != nil {
				t.Error(p, err)
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %q %v, want %q", p, got, err, want)
			}
		}()
	}
	wg.Wait()
	// The registry logs a request after its response: wait for the
	// line of the (one) root manifest read.
	deadline := time.Now().Add(5 * time.Second)
	for reg.Requests("GET", "/manifests/"+ocimap.RootTag)-before < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := reg.Requests("GET", "/manifests/"+ocimap.RootTag) - before; n != 1 {
		t.Fatalf("the root manifest was read %d times for index.json and index.json.sig, want once", n)
	}
}

// TestOCISourceLimits: an oci:// source obeys the limits an http(s) one
// does (Config.Stall and Config.Timeout; it once ignored both and waited
// out six 60 s header timeouts), with the same sentinels, and the root's
// files asked for at once (index.json and its signature) share one
// failure instead of each waiting out the stall in turn.
func TestOCISourceLimits(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	var conns sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns.Add(1)
			go func() { defer conns.Done(); <-done; c.Close() }() // silent until the test ends
		}
	}()
	t.Cleanup(func() { l.Close(); close(done); conns.Wait() })
	for _, tc := range []struct {
		name string
		c    Config
		want error
	}{
		{"stall", Config{Stall: 300 * time.Millisecond, Timeout: time.Minute}, ErrStalled},
		{"timeout", Config{Stall: time.Minute, Timeout: 300 * time.Millisecond}, ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := location.Parse("oci://" + l.Addr().String() + "/acme")
			if err != nil {
				t.Fatal(err)
			}
			tc.c.OCI = ocireg.Options{PlainHTTP: true}
			tr, err := Open(loc, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			before := accepted.Load()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, p := range []string{index.RootFile, index.RootFile + ".sig"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = tr.Get(context.Background(), p, "")
				}()
			}
			wg.Wait()
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("gave up after %v", d)
			}
			for _, err := range errs {
				if !errors.Is(err, tc.want) || !errors.Is(err, ocireg.ErrUnreachable) || !strings.Contains(err.Error(), l.Addr().String()+"/acme/packgen/index") {
					t.Errorf("want %v naming the index repository, got %v", tc.want, err)
				}
			}
			if n := accepted.Load() - before; n != 1 {
				t.Errorf("%d connections for the root's two files, want 1 (one failure shared)", n)
			}
		})
	}
}

// TestOCIArchiveSaysTag: a release archive is read by its tag, which
// anyone who may push can move; the response says so (Mismatch names the
// tag and what to do), for the caller that finds bytes other than the
// index pins. A stranger's report: `build --previous oci://…` over a
// moved tag said only "digest mismatch: packs/hello/0.1.0/…".
func TestOCIArchiveSaysTag(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Anonymous)
	ctx := context.Background()
	tr := openAcme(t, reg)
	repo, err := ocireg.Repository(ctx, reg.Host()+"/acme/"+ocimap.ArchiveRepo+"/hello", ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("evil: true\n")
	m, err := ocimap.ArchiveManifest(index.Digest(data), int64(len(data)), "hello-0.1.0.tar.gz", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		d ocispec.Descriptor
		b []byte
	}{{m.Layers[0], data}, {m.Config, m.ConfigB}} {
		if err := repo.Blobs().Push(ctx, b.d, bytes.NewReader(b.b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := repo.PushReference(ctx, m.Desc, bytes.NewReader(m.Manifest), "0.1.0"); err != nil {
		t.Fatal(err)
	}
	resp, err := tr.Get(ctx, index.ArchivePath("hello", "0.1.0"), "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, want := range []string{"read as the release tag " + reg.Host() + "/acme/spectro-packs/archive/hello:0.1.0", "someone else wrote the registry", "packgen verify --site oci://" + reg.Host() + "/acme", "oras tag"} {
		if !strings.Contains(resp.Mismatch, want) {
			t.Errorf("Mismatch %q lacks %q", resp.Mismatch, want)
		}
	}
}
