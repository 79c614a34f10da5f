package ocireg

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
)

// isolate points every credential source at an empty temp dir, so the
// machine's own docker login never leaks into a test.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker"))
	t.Setenv(RegistryAuthFileEnv, "")
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	return dir
}

func authJSON(host, user, pass string) []byte {
	a := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, a))
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// roundTrip pushes a blob and a tagged manifest to ref and reads both
// back: every request the pack commands make (HEAD, GET, PUT, POST of
// blobs and manifests) goes through the auth flow once.
func roundTrip(ctx context.Context, ref string, o Options) error {
	repo, err := Repository(ctx, ref, o)
	if err != nil {
		return err
	}
	layer := []byte("packgen ocireg round trip " + ref)
	ld := content.NewDescriptorFromBytes("application/vnd.oci.image.layer.v1.tar", layer)
	if err := repo.Push(ctx, ld, bytes.NewReader(layer)); err != nil {
		return Wrap(ref, repo.Client, err)
	}
	md, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.packgen.test", oras.PackManifestOptions{Layers: []ocispec.Descriptor{ld}})
	if err != nil {
		return Wrap(ref, repo.Client, err)
	}
	if err := repo.Tag(ctx, md, "v1"); err != nil {
		return Wrap(ref, repo.Client, err)
	}
	got, err := repo.Resolve(ctx, "v1")
	if err != nil {
		return Wrap(ref, repo.Client, err)
	}
	if got.Digest != md.Digest {
		return fmt.Errorf("resolved %s, pushed %s", got.Digest, md.Digest)
	}
	b, err := content.FetchAll(ctx, repo, ld)
	if err != nil {
		return Wrap(ref, repo.Client, err)
	}
	if !bytes.Equal(b, layer) {
		return errors.New("layer bytes differ")
	}
	return nil
}

// TestCredentials runs every credential source against the real registry
// in its three modes.
func TestCredentials(t *testing.T) {
	ctx := context.Background()
	for _, c := range []ocitest.Config{{Mode: ocitest.Anonymous}, {Mode: ocitest.Basic}, {Mode: ocitest.Token}, {Mode: ocitest.Token, IssuerElsewhere: true}} {
		mode := c.Mode
		name := mode.String()
		if c.IssuerElsewhere {
			name += "-issuer-elsewhere"
		}
		t.Run(name, func(t *testing.T) {
			r := ocitest.StartWith(t, c)
			host := r.Host()
			ref := host + "/acme/spectro-packs/archive/hello"
			t.Run("none", func(t *testing.T) {
				isolate(t)
				err := roundTrip(ctx, ref, Options{PlainHTTP: true})
				if mode == ocitest.Anonymous {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("want ErrUnauthorized, got %v", err)
				}
				t.Log(err)
				for _, want := range []string{ref, "no credentials found", "docker login " + host, "--username", PasswordEnv} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("message lacks %q: %v", want, err)
					}
				}
			})
			if mode == ocitest.Anonymous {
				return
			}
			t.Run("username", func(t *testing.T) {
				isolate(t)
				if err := roundTrip(ctx, ref, Options{PlainHTTP: true, Username: r.Username, Password: r.Password}); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("wrong-password", func(t *testing.T) {
				isolate(t)
				err := roundTrip(ctx, ref, Options{PlainHTTP: true, Username: r.Username, Password: "wrong"})
				if !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("want ErrUnauthorized, got %v", err)
				}
				t.Log(err)
				for _, want := range []string{ref, "--username " + r.Username + " were refused", "docker login " + host} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("message lacks %q: %v", want, err)
					}
				}
				if strings.Contains(err.Error(), "wrong") && strings.Contains(err.Error(), "password wrong") {
					t.Errorf("message shows the password: %v", err)
				}
			})
			t.Run("docker-config", func(t *testing.T) {
				dir := isolate(t)
				writeFile(t, filepath.Join(dir, "docker", "config.json"), authJSON(host, r.Username, r.Password), 0o600)
				if err := roundTrip(ctx, ref, Options{PlainHTTP: true}); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("docker-config-home", func(t *testing.T) {
				dir := isolate(t)
				t.Setenv("DOCKER_CONFIG", "")
				writeFile(t, filepath.Join(dir, ".docker", "config.json"), authJSON(host, r.Username, r.Password), 0o600)
				if err := roundTrip(ctx, ref, Options{PlainHTTP: true}); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("docker-config-wrong", func(t *testing.T) {
				dir := isolate(t)
				cfg := filepath.Join(dir, "docker", "config.json")
				writeFile(t, cfg, authJSON(host, r.Username, "stale"), 0o600)
				err := roundTrip(ctx, ref, Options{PlainHTTP: true})
				if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), cfg) {
					t.Fatalf("want ErrUnauthorized naming %s, got %v", cfg, err)
				}
			})
			t.Run("credential-helper", func(t *testing.T) {
				dir := isolate(t)
				// A real docker-credential-* program speaking the
				// helper protocol: `get` reads the server on stdin.
				bin := filepath.Join(dir, "bin")
				log := filepath.Join(dir, "helper.log")
				script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" >> %s\nif [ \"$server\" = %q ]; then\n  printf '{\"ServerURL\":\"%%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}' \"$server\"\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n", log, host, r.Username, r.Password)
				writeFile(t, filepath.Join(bin, "docker-credential-packgentest"), []byte(script), 0o755)
				t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
				writeFile(t, filepath.Join(dir, "docker", "config.json"), []byte(fmt.Sprintf(`{"credHelpers":{%q:"packgentest"}}`, host)), 0o600)
				if err := roundTrip(ctx, ref, Options{PlainHTTP: true}); err != nil {
					t.Fatal(err)
				}
				got, _ := os.ReadFile(log)
				if strings.TrimSpace(string(got)) != host {
					t.Errorf("helper asked for %q, want exactly one lookup of %s", got, host)
				}
				// credsStore: the same helper for every registry.
				writeFile(t, filepath.Join(dir, "docker", "config.json"), []byte(`{"credsStore":"packgentest"}`), 0o600)
				if err := roundTrip(ctx, ref, Options{PlainHTTP: true}); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("podman-login", func(t *testing.T) {
				dir := isolate(t)
				// Where podman login writes, read without REGISTRY_AUTH_FILE.
				writeFile(t, filepath.Join(dir, "run", "containers", "auth.json"), authJSON(host, r.Username, r.Password), 0o600)
				if err := roundTrip(ctx, ref, Options{PlainHTTP: true}); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("registry-auth-file", func(t *testing.T) {
				dir := isolate(t)
				f := filepath.Join(dir, "containers", "auth.json")
				writeFile(t, f, authJSON(host, r.Username, r.Password), 0o600)
				// The docker config holds a stale password: podman's
				// file, when named, is read first.
				writeFile(t, filepath.Join(dir, "docker", "config.json"), authJSON(host, r.Username, "stale"), 0o600)
				t.Setenv(RegistryAuthFileEnv, f)
				if err := roundTrip(ctx, ref, Options{PlainHTTP: true}); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestPlainHTTPOnlyLoopback(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		ref string
		ok  bool
	}{
		{"127.0.0.1:5000/a/b", true},
		{"127.1.2.3:5000/a/b", true},
		{"localhost:5000/a/b", true},
		{"[::1]:5000/a/b", true},
		{"registry.example.com/a/b", false},
		{"10.0.0.1:5000/a/b", false},
		{"localhost.example.com/a/b", false},
		{"127.0.0.1.nip.io/a/b", false},
	} {
		_, err := Repository(ctx, tc.ref, Options{PlainHTTP: true})
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.ref, err)
		}
		if !tc.ok && (!errors.Is(err, ErrPlainHTTP) || !strings.Contains(err.Error(), "loopback")) {
			t.Errorf("%s: want ErrPlainHTTP, got %v", tc.ref, err)
		}
		if !tc.ok {
			if _, err := Registry(ctx, strings.SplitN(tc.ref, "/", 2)[0], Options{PlainHTTP: true}); !errors.Is(err, ErrPlainHTTP) {
				t.Errorf("Registry %s: want ErrPlainHTTP, got %v", tc.ref, err)
			}
		}
	}
	if _, err := Repository(ctx, "Not A Ref", Options{}); !errors.Is(err, ErrReference) {
		t.Errorf("bad reference: %v", err)
	}
	if _, err := Repository(ctx, "127.0.0.1:1/a", Options{CAFile: filepath.Join(t.TempDir(), "none.pem")}); !errors.Is(err, ErrCAFile) {
		t.Errorf("missing CA file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, notPEM, []byte("not a certificate"), 0o644)
	if _, err := Repository(ctx, "127.0.0.1:1/a", Options{CAFile: notPEM}); !errors.Is(err, ErrCAFile) || !strings.Contains(err.Error(), notPEM) {
		t.Errorf("CA file without PEM: %v", err)
	}
}

// TestRedirectDropsCredentials: a registry that sends blob GETs to
// storage on another port (another host:port, as S3 or a CDN would be)
// must not see the registry's credentials follow.
func TestRedirectDropsCredentials(t *testing.T) {
	isolate(t)
	blob := []byte("blob bytes from storage")
	d := digest.FromBytes(blob)
	var storageAuth, storageCookie []string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		storageAuth = append(storageAuth, r.Header.Get("Authorization"))
		storageCookie = append(storageCookie, r.Header.Get("Cookie"))
		w.Write(blob)
	}))
	defer storage.Close()
	var regAuth []string
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "alice" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		regAuth = append(regAuth, r.Header.Get("Authorization"))
		if r.URL.Path == "/v2/acme/hello/blobs/"+d.String() {
			http.Redirect(w, r, storage.URL+"/bucket/"+d.Encoded()+"?sig=x", http.StatusTemporaryRedirect)
			return
		}
		http.NotFound(w, r)
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	repo, err := Repository(context.Background(), host+"/acme/hello", Options{PlainHTTP: true, Username: "alice", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := repo.Fetch(context.Background(), ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(blob))})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("blob: %q %v", got, err)
	}
	if len(regAuth) == 0 || !strings.HasPrefix(regAuth[0], "Basic ") {
		t.Fatalf("the registry itself got no credentials: %q", regAuth)
	}
	if len(storageAuth) != 1 || storageAuth[0] != "" || storageCookie[0] != "" {
		t.Fatalf("storage on another port got Authorization %q Cookie %q", storageAuth, storageCookie)
	}
}

func TestIsLoopback(t *testing.T) {
	for h, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.1:80": true, "[::1]:5000": true, "::1": true, "LOCALHOST:1": true,
		"example.com": false, "[::2]:1": false, "": false, "0.0.0.0:5000": false,
	} {
		if got := IsLoopback(h); got != want {
			t.Errorf("IsLoopback(%q) = %v", h, got)
		}
	}
}

func TestWithEnvPassword(t *testing.T) {
	t.Setenv(PasswordEnv, "")
	if _, err := (Options{Username: "ci"}).WithEnvPassword(); !errors.Is(err, ErrNoPassword) || !strings.Contains(err.Error(), PasswordEnv) {
		t.Errorf("no password: %v", err)
	}
	t.Setenv(PasswordEnv, "from-env")
	if o, err := (Options{Username: "ci"}).WithEnvPassword(); err != nil || o.Password != "from-env" {
		t.Errorf("%+v %v", o, err)
	}
	if o, err := (Options{}).WithEnvPassword(); err != nil || o.Password != "" {
		t.Errorf("no username took the password: %+v %v", o, err)
	}
}

// TestTLSCAFile: a registry on https with a private CA is refused until
// --ca-file names the CA, then works with basic and token auth (the
// token issuer on https too).
func TestTLSCAFile(t *testing.T) {
	ctx := context.Background()
	for _, c := range []ocitest.Config{{Mode: ocitest.Basic, TLS: true}, {Mode: ocitest.Token, TLS: true}, {Mode: ocitest.Token, TLS: true, IssuerElsewhere: true}} {
		name := c.Mode.String()
		if c.IssuerElsewhere {
			name += "-issuer-elsewhere"
		}
		t.Run(name, func(t *testing.T) {
			isolate(t)
			r := ocitest.StartWith(t, c)
			ref := r.Host() + "/acme/spectro-packs/archive/hello"
			err := roundTrip(ctx, ref, Options{Username: r.Username, Password: r.Password})
			if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "--ca-file") || !strings.Contains(err.Error(), ref) {
				t.Fatalf("untrusted CA: want ErrUnreachable naming --ca-file, got %v", err)
			}
			if err := roundTrip(ctx, ref, Options{CAFile: r.CAFile, Username: r.Username, Password: r.Password}); err != nil {
				t.Fatal(err)
			}
			// https is not downgraded: --plain-http against it fails.
			if err := roundTrip(ctx, ref, Options{PlainHTTP: true, Username: r.Username, Password: r.Password}); err == nil {
				t.Fatal("plain http to an https registry worked")
			}
		})
	}
}

// TestPlainRegistryNeedsFlag: a loopback registry that speaks plain
// HTTP, reached without --plain-http (the README's local registry, a
// port-forward): the error names the flag and the sentinel, never only
// net/http's "server gave HTTP response to HTTPS client".
func TestPlainRegistryNeedsFlag(t *testing.T) {
	ctx := context.Background()
	isolate(t)
	r := ocitest.Start(t, ocitest.Anonymous)
	ref := r.Host() + "/acme/spectro-packs/archive/hello"
	err := roundTrip(ctx, ref, Options{})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), r.Host()+" speaks plain HTTP, not HTTPS: pass --plain-http") || !strings.Contains(err.Error(), ref) {
		t.Fatalf("plain registry without --plain-http: %v", err)
	}
	if err := roundTrip(ctx, ref, Options{PlainHTTP: true}); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryCatalog: Registry opens the registry itself with the same
// credentials (the catalog needs registry:catalog:* in token mode).
func TestRegistryCatalog(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []ocitest.Mode{ocitest.Basic, ocitest.Token} {
		t.Run(mode.String(), func(t *testing.T) {
			isolate(t)
			r := ocitest.Start(t, mode)
			o := Options{PlainHTTP: true, Username: r.Username, Password: r.Password}
			if err := roundTrip(ctx, r.Host()+"/acme/spectro-packs/archive/hello", o); err != nil {
				t.Fatal(err)
			}
			reg, err := Registry(ctx, r.Host(), o)
			if err != nil {
				t.Fatal(err)
			}
			var repos []string
			if err := reg.Repositories(ctx, "", func(rs []string) error { repos = append(repos, rs...); return nil }); err != nil {
				t.Fatal(Wrap(r.Host(), reg.Client, err))
			}
			if len(repos) != 1 || repos[0] != "acme/spectro-packs/archive/hello" {
				t.Errorf("catalog: %q", repos)
			}
			o.Password = "wrong"
			reg, _ = Registry(ctx, r.Host(), o)
			err = Wrap(r.Host(), reg.Client, reg.Repositories(ctx, "", func([]string) error { return nil }))
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "docker login "+r.Host()) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

// TestPlainHTTPStaysOnLoopback: a --plain-http registry on loopback names
// a plain-http host elsewhere, for a blob redirect or as its token realm
// (oras-go allows an http realm when the registry is http): refused
// before any byte or credential leaves the machine in clear.
func TestPlainHTTPStaysOnLoopback(t *testing.T) {
	isolate(t)
	blob := []byte("blob")
	d := digest.FromBytes(blob)
	for _, tc := range []struct{ name, auth, redirect string }{
		{"blob redirect", "", "http://storage.invalid/bucket/" + d.Encoded()},
		{"token realm", `Bearer realm="http://auth.invalid/token",service="reg"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.auth != "" && r.Header.Get("Authorization") == "" {
					w.Header().Set("WWW-Authenticate", tc.auth)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				if tc.redirect != "" {
					http.Redirect(w, r, tc.redirect, http.StatusTemporaryRedirect)
					return
				}
				http.NotFound(w, r)
			}))
			defer reg.Close()
			repo, err := Repository(context.Background(), strings.TrimPrefix(reg.URL, "http://")+"/acme/hello", Options{PlainHTTP: true, Username: "alice", Password: "s3cret"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = repo.Fetch(context.Background(), ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(blob))})
			if !errors.Is(err, ErrPlainHTTP) || !strings.Contains(err.Error(), ".invalid") {
				t.Fatalf("plain http off loopback: %v", err)
			}
		})
	}
}

// TestIsNotFound: a missing object is oras-go's errdef.ErrNotFound or
// the registry's 404 answer, however wrapped; other answers are not,
// even when their text holds "404" (a digest, a size).
func TestIsNotFound(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:5000/v2/acme/app/manifests/1.0")
	answer := func(code int) error {
		return &errcode.ErrorResponse{Method: http.MethodGet, URL: u, StatusCode: code}
	}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"errdef", fmt.Errorf("1.0: %w", errdef.ErrNotFound), true},
		{"404 answer", fmt.Errorf("resolve: %w", answer(http.StatusNotFound)), true},
		{"500 answer", answer(http.StatusInternalServerError), false},
		{"404 in the text", errors.New("sha256:4044…: 500 Internal Server Error"), false},
		{"nil", nil, false},
	} {
		if got := IsNotFound(c.err); got != c.want {
			t.Errorf("%s: IsNotFound(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

// TestClients: the repositories of one host share one client (its
// connections and its token cache), so a second repository costs no
// TLS handshake and no credential lookup; each works under token auth
// over TLS; another host gets its own client, and the checks of
// Repository (a bad reference, plain http off loopback) still hold.
func TestClients(t *testing.T) {
	ctx := context.Background()
	isolate(t)
	r := ocitest.StartWith(t, ocitest.Config{Mode: ocitest.Token, TLS: true})
	c := NewClients(Options{CAFile: r.CAFile, Username: r.Username, Password: r.Password})
	a, err := c.Repository(ctx, r.Host()+"/acme/packgen/index")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Repository(ctx, r.Host()+"/acme/spectro-packs/archive/hello:1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if a.Client != b.Client {
		t.Fatal("two repositories of one host got two clients")
	}
	if b.Reference.Reference != "1.0.0" || b.Reference.Repository != "acme/spectro-packs/archive/hello" {
		t.Fatalf("reference %+v", b.Reference)
	}
	for _, repo := range []*remote.Repository{a, b} {
		data := []byte("shared client " + repo.Reference.Repository)
		d := content.NewDescriptorFromBytes("application/octet-stream", data)
		if err := repo.Push(ctx, d, bytes.NewReader(data)); err != nil {
			t.Fatalf("push to %s: %v", repo.Reference, Wrap(repo.Reference.String(), repo.Client, err))
		}
		if ok, err := repo.Exists(ctx, d); err != nil || !ok {
			t.Fatalf("%s: exists %v %v", repo.Reference, ok, err)
		}
	}
	other, err := c.Repository(ctx, "localhost:1/acme/x")
	if err != nil {
		t.Fatal(err)
	}
	if other.Client == a.Client {
		t.Fatal("another host shares the client")
	}
	if _, err := c.Repository(ctx, "not a reference"); !errors.Is(err, ErrReference) {
		t.Fatalf("bad reference: %v", err)
	}
	if _, err := NewClients(Options{PlainHTTP: true}).Repository(ctx, "registry.example/acme/x"); !errors.Is(err, ErrPlainHTTP) {
		t.Fatalf("plain http off loopback: %v", err)
	}
}

// TestLimits: a registry that accepts and never answers, or answers
// 503 again and again, fails within the stall and overall limits (a
// silent one held a command for six minutes: a 60 s header wait, retried
// five times), with an error naming the reference, the host and the
// limit. Bounds are generous: what is asserted is the error's kind and
// that the limit, not the retries, decided.
func TestLimits(t *testing.T) {
	isolate(t)
	silent := testutil.SilentAddr(t)
	var busyHits atomic.Int32
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		busyHits.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	t.Cleanup(busy.Close)
	busyHost := strings.TrimPrefix(busy.URL, "http://")
	for _, tc := range []struct {
		name string
		host string
		o    Options
		want error
		msg  string
	}{
		{"silent, stall", silent, Options{PlainHTTP: true, StallTimeout: 300 * time.Millisecond}, ErrStalled, "nothing received for 300ms"},
		{"silent, timeout first", silent, Options{PlainHTTP: true, StallTimeout: time.Minute, Timeout: 400 * time.Millisecond}, ErrTimeout, "within the time limit of 400ms"},
		// oras-go's backoff alone would take ~7 s over its five retries.
		{"503s, retries within timeout", busyHost, Options{PlainHTTP: true, Timeout: 300 * time.Millisecond}, ErrTimeout, "within the time limit of 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ref := tc.host + "/acme/hello:1.0.0"
			repo, err := Repository(ctx, ref, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = repo.Resolve(ctx, "1.0.0")
			err = Wrap(ref, repo.Client, err)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("gave up after %v", d)
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrUnreachable) {
				t.Fatalf("want %v and %v, got %v", tc.want, ErrUnreachable, err)
			}
			for _, s := range []string{ref, tc.host + " ", tc.msg} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q: %v", s, err)
				}
			}
			// Only what the command has may be named.
			if strings.Contains(err.Error(), "--") {
				t.Errorf("error names a flag: %v", err)
			}
		})
	}
	if n := busyHits.Load(); n < 2 {
		t.Errorf("the busy registry was asked %d times: 503 is still retried within the timeout", n)
	}
}

// TestStallUpload: an upload whose body moves slowly but steadily is not
// a stall, though it takes longer than the stall timeout in all; nor is
// the registry's work on an upload sent whole (up to a minute, as
// before the stall covered the wait for headers).
func TestStallUpload(t *testing.T) {
	isolate(t)
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got.Store(n)
		time.Sleep(1500 * time.Millisecond) // storing it: past the stall timeout
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	repo, err := Repository(context.Background(), host+"/acme/hello", Options{PlainHTTP: true, StallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		// 12 × 100 ms: past the 1 s stall timeout in all, each gap a tenth
		// of it (a loaded machine's late wake-up is no stall)
		for range 12 {
			time.Sleep(100 * time.Millisecond)
			if _, err := pw.Write([]byte("chunk")); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/v2/acme/hello/blobs/uploads/x", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := repo.Client.Do(req)
	if err != nil {
		t.Fatalf("a moving upload failed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || got.Load() != 60 {
		t.Fatalf("status %d, %d bytes arrived; want 201, 60", resp.StatusCode, got.Load())
	}
}

// dialTimeoutErr is what net's dialer returns when its timeout runs out:
// a timeout that also matches context.DeadlineExceeded.
type dialTimeoutErr struct{}

func (dialTimeoutErr) Error() string   { return "i/o timeout" }
func (dialTimeoutErr) Timeout() bool   { return true }
func (dialTimeoutErr) Temporary() bool { return true }
func (dialTimeoutErr) Is(err error) bool {
	return err == context.DeadlineExceeded
}

// TestWrapRedactsQueries: an upload's URL carries its session token
// (distribution's _state), a redirect to storage its signature: Wrap
// drops the query of the failed request's URL, whether the transport
// failed (an interrupted publish: context canceled) or the registry
// answered with an error.
func TestWrapRedactsQueries(t *testing.T) {
	const upload = "http://127.0.0.1:5000/v2/acme/hello/blobs/uploads/0f3a?_state=c2VjcmV0&digest=sha256%3Aab"
	u, _ := url.Parse(upload)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"interrupted", fmt.Errorf("Put %q: %w", upload, &url.Error{Op: "Put", URL: upload, Err: context.Canceled})},
		{"answered", fmt.Errorf("push: %w", &errcode.ErrorResponse{Method: "PUT", URL: u, StatusCode: http.StatusBadRequest})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := Wrap("127.0.0.1:5000/acme/hello", nil, tc.err).Error()
			if strings.Contains(msg, "_state") || strings.Contains(msg, "c2VjcmV0") || !strings.Contains(msg, "/v2/acme/hello/blobs/uploads/0f3a?REDACTED") {
				t.Errorf("Wrap = %s", msg)
			}
		})
	}
}

// TestWrapTimeouts: a connect that timed out is the host's failure, not
// a limit to raise (ErrTimeout would have the CLI say "raise --timeout");
// the caller's own deadline is ErrTimeout.
func TestWrapTimeouts(t *testing.T) {
	ref := "127.0.0.1:9/acme/hello:1"
	for _, tc := range []struct {
		name    string
		err     error
		timeout bool
		msg     string
	}{
		{"dial", &url.Error{Op: "Head", URL: "http://127.0.0.1:9/v2/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: dialTimeoutErr{}}}, false, "did not accept a connection within 10s"},
		{"deadline", fmt.Errorf("Head: %w", context.DeadlineExceeded), true, "the time limit ran out before 127.0.0.1:9 answered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Wrap(ref, nil, tc.err)
			if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrTimeout) != tc.timeout || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Wrap = %v; want ErrUnreachable, ErrTimeout %v, saying %q", err, tc.timeout, tc.msg)
			}
		})
	}
}
