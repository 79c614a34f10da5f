package publish

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/s3test"
)

// BenchmarkPublish measures a first publish of a 60-release registry to
// the S3 server on loopback (every file uploaded, 8 at a time) and a
// republish with nothing changed (listing, hashing, comparing), with the
// requests it sends the store.
func BenchmarkPublish(b *testing.B) {
	srv := s3test.Start(b, "bench")
	f := newFixture(b)
	for i := range 60 {
		f.pack(fmt.Sprintf("pack%02d", i), "1.0.0", fmt.Sprintf("v: %d\nblob: %q\n", i, strings.Repeat("x", 64<<10)))
	}
	site := f.build(b)
	ctx := context.Background()
	b.Run("first", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			t, err := NewS3(ctx, S3Options{Bucket: "bench", Prefix: fmt.Sprintf("first%d", i), Endpoint: srv.Server.URL, PathStyle: true})
			if err != nil {
				b.Fatal(err)
			}
			res, err := Publish(ctx, site, t, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(res.Uploaded)), "files/op")
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		t, err := NewS3(ctx, S3Options{Bucket: "bench", Prefix: "same", Endpoint: srv.Server.URL, PathStyle: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Publish(ctx, site, t, Options{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			srv.Reset()
			res, err := Publish(ctx, site, t, Options{})
			if err != nil || len(res.Uploaded) != 0 {
				b.Fatal(err, res.Uploaded)
			}
			c := srv.Requests()
			b.ReportMetric(float64(res.Unchanged), "files/op")
			b.ReportMetric(float64(c.List+c.Head+c.Get+c.Put+c.Delete+c.Other), "requests/op")
			b.ReportMetric(float64(c.Head), "heads/op")
			b.ReportMetric(float64(c.BytesDown), "bytes-down/op")
		}
	})
}

// BenchmarkPublishOCI measures publishing a 60-release registry to the
// real distribution registry on loopback: a first publish (every release
// pushed, signed, and the index), a republish with nothing new, and, for
// comparison, what the vendor's documentation does: one `oras push` per
// release archive (no signature, no index).
func BenchmarkPublishOCI(b *testing.B) {
	reg := ocitest.Start(b, ocitest.Anonymous)
	f := newFixture(b)
	for i := range 60 {
		f.pack(fmt.Sprintf("pack%02d", i), "1.0.0", fmt.Sprintf("v: %d\nblob: %q\n", i, strings.Repeat("x", 64<<10)))
	}
	site := f.build(b)
	ctx := context.Background()
	o := ocireg.Options{PlainHTTP: true}
	do := DestOptions{OCI: OCIOptions{Signer: f.signer, Repos: func(ref string) (*remote.Repository, error) { return ocireg.Repository(ctx, ref, o) }}}
	b.Run("first", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			before := len(reg.AccessLog())
			res, err := To(ctx, site, fmt.Sprintf("oci://%s/first%d", reg.Host(), i), do, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(res.Releases.Pushed)), "releases/op")
			b.ReportMetric(float64(len(reg.AccessLog())-before), "requests/op")
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		dest := "oci://" + reg.Host() + "/same"
		if _, err := To(ctx, site, dest, do, Options{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := To(ctx, site, dest, do, Options{})
			if err != nil || len(res.Releases.Pushed) != 0 {
				b.Fatal(err)
			}
		}
	})
	b.Run("oras-push-loop", func(b *testing.B) {
		bin := ocitest.Tool(b, "oras")
		archives, _ := filepath.Glob(filepath.Join(site, "packs", "*", "*", "*.tar.gz"))
		for i := 0; b.Loop(); i++ {
			for _, a := range archives {
				name := filepath.Base(filepath.Dir(filepath.Dir(a)))
				cmd := exec.Command(bin, "push", "--plain-http", fmt.Sprintf("%s/loop%d/spectro-packs/archive/%s:1.0.0", reg.Host(), i, name), filepath.Base(a))
				cmd.Dir = filepath.Dir(a)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
			}
			b.ReportMetric(float64(len(archives)), "releases/op")
		}
	})
}
