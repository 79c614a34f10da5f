package publish

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseS3URL: destinations come from the command line and CI
// variables; parsing never panics, and what it accepts is a bucket and a
// clean prefix that round-trip.
func FuzzParseS3URL(f *testing.F) {
	for _, s := range []string{"s3://b", "s3://b/p/q/", "s3://b//x", "s3://b/../x", "s3://u@b/x", "s3://b/x?y", "s3:/b", "s3://b/%2e%2e/x", "file:///x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, p, err := ParseS3URL(s)
		if err != nil {
			return
		}
		if b == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
			t.Fatalf("%q → bucket %q prefix %q", s, b, p)
		}
		for _, part := range strings.Split(p, "/") {
			if p != "" && (part == "." || part == "..") {
				t.Fatalf("%q → prefix %q has a dot segment", s, p)
			}
		}
		// Written back as a URL: a prefix may hold what a URL escapes
		// (an S3 key may have "#" or "?": s3://b/%23 is prefix "#").
		u := (&url.URL{Scheme: "s3", Host: b, Path: "/" + p}).String()
		b2, p2, err := ParseS3URL(u)
		if err != nil || b2 != b || p2 != p {
			t.Fatalf("%q → %q %q does not round-trip: %q %q %v", s, b, p, b2, p2, err)
		}
	})
}

func TestParseS3URL(t *testing.T) {
	for _, c := range []struct {
		in, bucket, prefix, err string
	}{
		{in: "s3://b", bucket: "b"},
		{in: "s3://b/p/q/", bucket: "b", prefix: "p/q"},
		{in: "s3://b/r%C3%A9g", bucket: "b", prefix: "rég"},
		{in: "s3://b//x", err: "empty, . or .. segment"},
		{in: "s3://b/%2e%2e/x", err: "empty, . or .. segment"},
		{in: "s3://b/x%00y", err: "control character"},
		{in: "s3://b/x%0Ay", err: "control character"},
		{in: "s3://u@b/x", err: "not an s3://BUCKET/PREFIX URL"},
		{in: "https://b/x", err: "not an s3://BUCKET/PREFIX URL"},
	} {
		b, p, err := ParseS3URL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || b != c.bucket || p != c.prefix {
			t.Errorf("%s: %q %q %v, want %q %q", c.in, b, p, err, c.bucket, c.prefix)
		}
	}
}
