package location

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, scheme, dir, host string
		bad                   bool
	}{
		{in: "site", scheme: "file", dir: "site"},
		{in: "/srv/site", scheme: "file", dir: "/srv/site"},
		{in: "file:///srv/site", scheme: "file", dir: filepath.FromSlash("/srv/site")},
		{in: "file://localhost/srv/site", scheme: "file", dir: filepath.FromSlash("/srv/site")},
		{in: "https://packs.acme.example/r", scheme: "https", host: "packs.acme.example"},
		{in: "HTTP://127.0.0.1:8080", scheme: "http", host: "127.0.0.1:8080"},
		{in: "s3://bucket/prefix", scheme: "s3", host: "bucket"},
		{in: "oci://registry.example/base", scheme: "oci", host: "registry.example"},
		{in: "", bad: true},
		{in: "file://host/x", bad: true},
		{in: "file://", bad: true},
		{in: "file:///x?y", bad: true},
		{in: "://x", bad: true},
		{in: "http://a b/", bad: true},
		// A slash missing: a URL meant, not ./s3:/b/x.
		{in: "s3:/b/x", bad: true},
		{in: "OCI:/registry.example/base", bad: true},
		{in: "https:", bad: true},
		{in: "s3:bucket", scheme: "file", dir: "s3:bucket"},
		{in: "file:/srv/site", scheme: "file", dir: filepath.FromSlash("/srv/site")},
		{in: "packs:v2/site", scheme: "file", dir: "packs:v2/site"},
	} {
		l, err := Parse(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrLocation) {
				t.Errorf("%q: %+v, %v; want ErrLocation", tc.in, l, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if l.Scheme != tc.scheme || l.Dir != tc.dir || (l.URL != nil && l.URL.Host != tc.host) || l.Local() != (tc.dir != "") {
			t.Errorf("%q: %+v", tc.in, l)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"site", "file:///x", "https://h/p", "s3://b/p", "oci://r/b", "x://", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Parse(s)
		if err != nil {
			return
		}
		if l.Local() == (l.URL != nil) {
			t.Fatalf("%q: local %v and URL %v", s, l.Local(), l.URL)
		}
		if l.Local() && l.Dir == "" {
			t.Fatalf("%q: local without a directory", s)
		}
	})
}
