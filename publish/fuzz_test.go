package publish

import (
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
		u := "s3://" + b
		if p != "" {
			u += "/" + p
		}
		b2, p2, err := ParseS3URL(u)
		if err != nil || b2 != b || p2 != p {
			t.Fatalf("%q → %q %q does not round-trip: %q %q %v", s, b, p, b2, p2, err)
		}
	})
}
