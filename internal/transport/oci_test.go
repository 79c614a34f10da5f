package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oras.land/oras-go/v2/content"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
)

// TestOCISource reads site paths from a real registry: what is not there
// (or never kept in a registry) is index.ErrNotFound naming the
// reference, a content-addressed blob is found by its path alone and
// revalidated by digest, and bytes that do not match their digest are
// refused as ErrWrongBytes.
func TestOCISource(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Anonymous)
	ctx := context.Background()
	l, err := location.Parse("oci://" + reg.Host() + "/acme")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Open(l, Config{OCI: ocireg.Options{PlainHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"schemaVersion":1,"packs":[]}` + "\n")
	sha := index.Digest(data)
	for _, tc := range []struct{ path, names string }{
		{index.RootFile, "acme/packgen/index"},
		{index.BucketPath(sha), "acme/packgen/index"},
		{index.ArchivePath("calico", "3.27.0"), "acme/spectro-packs/archive/calico"},
		{index.ArchivePath("calico", "3.27.0") + ".sig", "acme/packgen/index"},
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
