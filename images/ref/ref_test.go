package ref

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ in, want string }{
		{"nginx", "docker.io/library/nginx:latest"},
		{"nginx:1.25", "docker.io/library/nginx:1.25"},
		{"docker.io/nginx:1.25", "docker.io/library/nginx:1.25"},
		{"index.docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25"},
		{"bitnami/redis:7.2.4", "docker.io/bitnami/redis:7.2.4"},
		{"registry.k8s.io/ingress-nginx/controller:v1.10.1", "registry.k8s.io/ingress-nginx/controller:v1.10.1"},
		{"localhost:5000/app", "localhost:5000/app:latest"},
		{"localhost:5000/app:v2", "localhost:5000/app:v2"},
		{"quay.io/a/b@" + d, "quay.io/a/b@" + d},
		{"quay.io/a/b:v1.2.3@" + d, "quay.io/a/b:v1.2.3@" + d},
		{"nginx@" + d, "docker.io/library/nginx@" + d},
		{"  ghcr.io/x/y:1 ", "ghcr.io/x/y:1"},
	} {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "upper/Case:1", "a:b:c", "nginx@sha256:short", "x y", "http://x/y", ":tag", "a//b"} {
		if got, err := Normalize(bad); !errors.Is(err, ErrReference) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrReference", bad, got, err)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"nginx", "docker.io/library/nginx:1.25", "quay.io/a/b:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "localhost:5000/a", "a@b", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			if !errors.Is(err, ErrReference) {
				t.Fatalf("error without ErrReference: %v", err)
			}
			return
		}
		// Canonical forms are fixed points.
		if again, err := Normalize(n); err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, then %q, %v", s, n, again, err)
		}
	})
}
