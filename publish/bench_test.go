package publish

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/s3test"
)

// BenchmarkPublish measures a first publish of a 60-release registry to
// the S3 server on loopback (every file uploaded, 8 at a time) and a
// republish with nothing changed (listing, hashing, comparing).
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
			res, err := Publish(ctx, site, t, Options{})
			if err != nil || len(res.Uploaded) != 0 {
				b.Fatal(err, res.Uploaded)
			}
			b.ReportMetric(float64(res.Unchanged), "files/op")
		}
	})
}
