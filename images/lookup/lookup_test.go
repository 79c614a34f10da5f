package lookup

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/images/ref"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
)

// noCredentials points docker's and podman's credential lookups at an
// empty directory, so the machine's logins do not leak into a test.
func noCredentials(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	return dir
}

// TestResolve asks the real distribution registry, seeded with small
// images, about images that exist, tags and repositories that do not,
// pinned digests, and a registry that is down: each image is one HEAD,
// and the dead registry is one error naming its images.
func TestResolve(t *testing.T) {
	noCredentials(t)
	reg := ocitest.Start(t, ocitest.Anonymous)
	h := reg.Host()
	app := reg.PushImage(t, "acme/app:1.0", "app-1.0")
	side := reg.PushImage(t, "acme/sidecar:v2", "sidecar")
	multi := reg.PushIndex(t, "acme/multi:3", "multi", "linux/amd64", "linux/arm64")
	dead := testutil.FreeAddr(t)
	zero := "sha256:" + strings.Repeat("0", 64)

	cases := []struct {
		image, digest string
		err           error
	}{
		{h + "/acme/app:1.0", app, nil},
		{h + "/acme/sidecar:v2", side, nil},
		{h + "/acme/app@" + app, app, nil},
		{h + "/acme/app:1.0@" + app, app, nil}, // tag and digest: the digest is asked
		{h + "/acme/multi:3", multi, nil},      // a multi-platform index: its own digest
		{h + "/acme/app:9.9", "", ErrMissing},
		{h + "/acme/nope:1.0", "", ErrMissing},
		{h + "/acme/app@" + zero, "", ErrMissing},
		{dead + "/acme/app:1.0", "", ErrRegistry},
		{dead + "/acme/other:2", "", ErrRegistry},
		{"Not A Ref", "", ref.ErrReference},
	}
	var ask []string
	for _, c := range cases {
		ask = append(ask, c.image)
	}
	before := reg.Requests("HEAD", "/manifests/")
	rep, err := Resolve(context.Background(), append(ask, ask[0]), Options{OCI: ocireg.Options{PlainHTTP: true}, Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(cases) {
		t.Fatalf("results: %d, want %d (duplicates dropped)", len(rep.Results), len(cases))
	}
	for i, c := range cases {
		r := rep.Results[i]
		if r.Digest != c.digest || (c.err == nil) != (r.Err == nil) || (c.err != nil && !errors.Is(r.Err, c.err)) {
			t.Errorf("%s: digest %q err %v, want %q %v", c.image, r.Digest, r.Err, c.digest, c.err)
		}
		if errors.Is(c.err, ErrMissing) && !strings.Contains(r.Err.Error(), "answered 404 Not Found: ") {
			t.Errorf("%s: the registry's answer is not said: %v", c.image, r.Err)
		}
	}
	for i := 0; i < 100 && reg.Requests("HEAD", "/manifests/")-before < 8; i++ {
		time.Sleep(20 * time.Millisecond) // the access log is read as the registry writes it
	}
	if got := reg.Requests("HEAD", "/manifests/") - before; got != 8 {
		t.Errorf("HEAD requests: %d, want 8 (one per image of the live registry)", got)
	}
	if len(rep.Registries) != 1 || rep.Registries[0].Host != dead || len(rep.Registries[0].Images) != 2 || !errors.Is(rep.Registries[0], ocireg.ErrUnreachable) {
		t.Fatalf("registry errors: %+v", rep.Registries)
	}
	msg := rep.Err().Error()
	if !strings.HasPrefix(msg, dead+": registry unreachable") || !strings.Contains(msg, "(2 images of "+dead+" not checked: "+dead+"/acme/app:1.0, "+dead+"/acme/other:2)") {
		t.Errorf("a dead registry is one error naming both images:\n%s", msg)
	}
	if d := rep.Digests(); len(d) != 5 || d[h+"/acme/app:1.0"] != app {
		t.Errorf("digests: %v", d)
	}
}

// TestResolveAuth: a registry that wants a login and gets none is one
// error that says how to log in; docker's config.json (what `docker
// login` writes) and --username are both used.
func TestResolveAuth(t *testing.T) {
	cfg := noCredentials(t)
	for _, mode := range []ocitest.Mode{ocitest.Basic, ocitest.Token} {
		t.Run(mode.String(), func(t *testing.T) {
			reg := ocitest.Start(t, mode)
			h := reg.Host()
			d1 := reg.PushImage(t, "team/a:1", "a")
			d2 := reg.PushImage(t, "team/b:1", "b")
			ask := []string{h + "/team/a:1", h + "/team/b:1", h + "/team/c:1"}
			o := Options{OCI: ocireg.Options{PlainHTTP: true}}
			os.Remove(filepath.Join(cfg, "config.json"))
			rep, err := Resolve(context.Background(), ask, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Registries) != 1 || !errors.Is(rep.Err(), ocireg.ErrUnauthorized) || len(rep.Registries[0].Images) != 3 ||
				!strings.Contains(rep.Err().Error(), "docker login "+h) || len(strings.Split(rep.Err().Error(), "\n")) != 1 {
				t.Fatalf("no login: %v", rep.Err())
			}

			auth := base64.StdEncoding.EncodeToString([]byte(ocitest.User + ":" + ocitest.Password))
			os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+h+`":{"auth":"`+auth+`"}}}`), 0o600)
			rep, err = Resolve(context.Background(), ask, o)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Results[0].Digest != d1 || rep.Results[1].Digest != d2 || !errors.Is(rep.Results[2].Err, ErrMissing) || len(rep.Registries) != 0 {
				t.Errorf("docker config: %+v", rep.Results)
			}

			os.Remove(filepath.Join(cfg, "config.json"))
			o.OCI.Username, o.OCI.Password = ocitest.User, "wrong"
			rep, _ = Resolve(context.Background(), ask, o)
			if !errors.Is(rep.Err(), ocireg.ErrUnauthorized) || !strings.Contains(rep.Err().Error(), "--username "+ocitest.User) {
				t.Errorf("wrong password: %v", rep.Err())
			}
		})
	}
}

// TestResolvePlainHTTPOnlyLoopback: --plain-http is used for loopback
// registries only; another registry is asked over https (and here, with
// no network, is one unreachable error).
func TestResolvePlainHTTPOnlyLoopback(t *testing.T) {
	noCredentials(t)
	if tg, err := parse("nginx"); err != nil || tg.host != "docker.io" || tg.repo != "library/nginx" || tg.ref != "latest" || Endpoint(tg.host) != "registry-1.docker.io" {
		t.Fatalf("parse nginx: %+v %v", tg, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Resolve(ctx, []string{"registry.invalid/a:1"}, Options{OCI: ocireg.Options{PlainHTTP: true}}); err == nil {
		t.Fatal("a cancelled context is an error")
	}
	rep, err := Resolve(context.Background(), []string{"registry.invalid/a:1", "registry.invalid/b:1"}, Options{OCI: ocireg.Options{PlainHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Registries) != 1 || errors.Is(rep.Err(), ocireg.ErrPlainHTTP) || !errors.Is(rep.Err(), ocireg.ErrUnreachable) {
		t.Errorf("registry.invalid: %v", rep.Err())
	}
}

// TestResolveOneRepositoryDenied: a token registry that refuses one
// repository (a private one) and serves the others: the refusal is that
// image's error, not the registry's, even when it is the first asked;
// when it refuses every image asked, it is one registry error.
func TestResolveOneRepositoryDenied(t *testing.T) {
	cfg := noCredentials(t)
	reg := ocitest.StartWith(t, ocitest.Config{Mode: ocitest.Token, Private: []string{"aaa/private"}})
	h := reg.Host()
	pub := reg.PushImage(t, "team/public:1", "public")
	auth := base64.StdEncoding.EncodeToString([]byte(ocitest.User + ":" + ocitest.Password))
	os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+h+`":{"auth":"`+auth+`"}}}`), 0o600)
	o := Options{OCI: ocireg.Options{PlainHTTP: true}}

	// Sorted by host then asked in order: the private one goes first.
	rep, err := Resolve(context.Background(), []string{h + "/aaa/private:1", h + "/team/public:1"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Registries) != 0 || rep.Results[1].Digest != pub || !errors.Is(rep.Results[0].Err, ErrImage) || !errors.Is(rep.Results[0].Err, ocireg.ErrUnauthorized) {
		t.Fatalf("one repository denied: registries %v, results %+v", rep.Registries, rep.Results)
	}
	if !strings.HasPrefix(rep.Results[0].Err.Error(), h+"/aaa/private:1: image cannot be checked: ") {
		t.Errorf("denial does not name the image first: %v", rep.Results[0].Err)
	}

	rep, err = Resolve(context.Background(), []string{h + "/aaa/private:1"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Registries) != 1 || !errors.Is(rep.Err(), ErrRegistry) || !errors.Is(rep.Err(), ocireg.ErrUnauthorized) {
		t.Errorf("every image denied: %v", rep.Err())
	}
}
