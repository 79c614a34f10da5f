package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack/meta"
)

// noCreds points every credential source at an empty directory, so the
// machine's own docker login never takes part.
func noCreds(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker"))
	t.Setenv(ocireg.RegistryAuthFileEnv, "")
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
}

// vendorArchive packs examples/packs/DIR the way Palette's docs say:
// `tar -czvf NAME-VERSION.tar.gz PACK_FOLDER`, with the real tar.
func vendorArchive(t *testing.T, dir, packDir, file string) []byte {
	t.Helper()
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar binary")
	}
	src, _ := filepath.Abs("../examples/packs")
	out := filepath.Join(dir, file)
	if b, err := exec.Command(tarBin, "-C", src, "-czf", out, packDir).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func orasRun(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(ocitest.Tool(t, "oras"), args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("oras %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestFetchOCIPackPushedByOras: packs pushed with the real ORAS CLI, in
// the shape ORAS 1.0 writes (--image-spec v1.0, what Palette's docs
// require) and in 1.1's, into the real registry with basic auth, fetched
// and extracted; the unverified warning is loud; a configured registry
// with a key over the same base refuses it.
func TestFetchOCIPackPushedByOras(t *testing.T) {
	noCreds(t)
	reg := ocitest.Start(t, ocitest.Basic)
	dir := t.TempDir()
	archive := vendorArchive(t, dir, "falco-4.2.5", "falco-4.2.5.tar.gz")
	sum := sha256.Sum256(archive)
	base := reg.Host() + "/acme/spectro-packs/archive"
	orasRun(t, dir, reg.Password, "login", "--plain-http", "-u", reg.Username, "--password-stdin", reg.Host())
	orasRun(t, dir, "", "push", "--plain-http", "--image-spec", "v1.0", base+"/falco:4.2.5", "falco-4.2.5.tar.gz")
	orasRun(t, dir, "", "push", "--plain-http", base+"/falco:4.2.5-oras11", "falco-4.2.5.tar.gz")
	// The shape is the vendor's: check it with oras itself.
	var m ocispec.Manifest
	if err := json.Unmarshal([]byte(orasRun(t, dir, "", "manifest", "fetch", "--plain-http", base+"/falco:4.2.5")), &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != "application/vnd.unknown.config.v1+json" || len(m.Layers) != 1 || m.Layers[0].Annotations[ocispec.AnnotationTitle] != "falco-4.2.5.tar.gz" {
		t.Fatalf("oras pushed another shape: %+v", m)
	}
	os.RemoveAll(filepath.Join(dir, "docker")) // oras login wrote HOME/.docker

	ctx := context.Background()
	creds := ocireg.Options{PlainHTTP: true, Username: reg.Username, Password: reg.Password}
	for _, tag := range []string{"4.2.5", "4.2.5-oras11"} {
		t.Run(tag, func(t *testing.T) {
			var warn bytes.Buffer
			dest := filepath.Join(t.TempDir(), "out", "falco")
			res, err := FetchOCIPack(ctx, OCIPackOptions{Ref: "oci://" + base + "/falco:" + tag, Dest: dest, Registry: creds, Warn: &warn})
			if err != nil {
				t.Fatal(err)
			}
			if res.SHA256 != hex.EncodeToString(sum[:]) || res.Size != int64(len(archive)) || res.Name != "falco" || res.Version != tag || res.Verified {
				t.Errorf("result %+v", res)
			}
			want, _ := os.ReadFile("../examples/packs/falco-4.2.5/pack.json")
			got, err := os.ReadFile(filepath.Join(dest, "pack.json"))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("pack.json: %v\n%s", err, got)
			}
			if !strings.Contains(warn.String(), "NOT verified") || !strings.Contains(warn.String(), "nothing vouches") || !strings.Contains(warn.String(), res.Manifest) {
				t.Errorf("warning: %q", warn.String())
			}
			// The tag 4.2.5-oras11 is not pack.json's version: said.
			if mismatch := strings.Contains(warn.String(), "its pack.json says falco@4.2.5, its reference falco@"+tag); mismatch != (tag != "4.2.5") {
				t.Errorf("version mismatch warning %v: %q", mismatch, warn.String())
			}
			leftovers(t, filepath.Dir(dest), "falco")
		})
	}

	t.Run("credentials-from-docker-config", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("DOCKER_CONFIG", home)
		os.WriteFile(filepath.Join(home, "config.json"), fmt.Appendf(nil, `{"auths":{%q:{"username":%q,"password":%q}}}`, reg.Host(), reg.Username, reg.Password), 0o600)
		dest := filepath.Join(t.TempDir(), "falco")
		if _, err := FetchOCIPack(ctx, OCIPackOptions{Ref: "oci://" + base + "/falco:4.2.5", Dest: dest, Registry: ocireg.Options{PlainHTTP: true}, Warn: &bytes.Buffer{}}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("keyed-registry", func(t *testing.T) {
		before := len(reg.AccessLog())
		dest := filepath.Join(t.TempDir(), "falco")
		keyed := []Registry{
			{Name: "other", URL: "oci://" + reg.Host() + "/other", Keys: []string{"PEM"}},
			{Name: "acme", URL: "oci://" + reg.Host() + "/acme/", Keys: []string{"PEM"}},
		}
		_, err := FetchOCIPack(ctx, OCIPackOptions{Ref: "oci://" + base + "/falco:4.2.5", Dest: dest, Registry: creds, Configured: keyed, Warn: &bytes.Buffer{}})
		if !errors.Is(err, ErrKeyedRegistry) || !strings.Contains(err.Error(), "--insecure-skip-verify") || !strings.Contains(err.Error(), "--registry acme") {
			t.Fatalf("want ErrKeyedRegistry naming acme, got %v", err)
		}
		if _, serr := os.Lstat(dest); serr == nil {
			t.Error("dest written")
		}
		if n := len(reg.AccessLog()) - before; n != 0 {
			t.Errorf("%d requests made before refusing", n)
		}
		// Without a key, or under another base: not refused.
		for _, regs := range [][]Registry{{{Name: "acme", URL: "oci://" + reg.Host() + "/acme"}}, keyed[:1]} {
			if _, err := FetchOCIPack(ctx, OCIPackOptions{Ref: "oci://" + base + "/falco:4.2.5", Dest: filepath.Join(t.TempDir(), "f"), Registry: creds, Configured: regs, Warn: &bytes.Buffer{}}); err != nil {
				t.Errorf("%v: %v", regs, err)
			}
		}
		res, err := FetchOCIPack(ctx, OCIPackOptions{Ref: "oci://" + base + "/falco:4.2.5", Dest: dest, Registry: creds, Configured: keyed, InsecureSkipVerify: true, Warn: &bytes.Buffer{}})
		if err != nil || res.Files == 0 {
			t.Fatalf("--insecure-skip-verify: %v", err)
		}
	})
}

// leftovers fails if dir holds anything but the names given (a stage or
// a download left behind).
func leftovers(t *testing.T, dir string, keep ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		found := false
		for _, k := range keep {
			found = found || e.Name() == k
		}
		if !found {
			t.Errorf("left in %s: %s", dir, e.Name())
		}
	}
}

// tarGz makes a small pack archive in Go (one top-level folder, pack.json).
func tarGz(t *testing.T) []byte {
	t.Helper()
	es := []tartest.Entry{
		tartest.Dir("hello-pack/"),
		tartest.File("hello-pack/pack.json", `{"name":"hello","version":"1.0.0","layer":"addon","addonType":"system app","cloudTypes":["all"]}`),
		tartest.File("hello-pack/values.yaml", "pack:\n  namespace: hello\n"),
	}
	for _, e := range es {
		e.Header.ModTime = time.Unix(0, 0)
	}
	return tartest.TarGz(t, es...)
}

// hostile is a loopback server speaking just enough of the distribution
// API for one pack, with faults switched on by name.
type hostile struct {
	layer    []byte
	manifest []byte
	fault    string
	blobGets int
}

func newHostile(t *testing.T, fault string, edit func(*ocispec.Manifest)) (*hostile, string) {
	h := &hostile{layer: tarGz(t), fault: fault}
	cfg := []byte("{}")
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: "application/vnd.unknown.config.v1+json", Digest: digest.FromBytes(cfg), Size: 2},
		Layers: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(h.layer), Size: int64(len(h.layer)),
			Annotations: map[string]string{ocispec.AnnotationTitle: "hello-1.0.0.tar.gz"}}},
	}
	if edit != nil {
		edit(&m)
	}
	h.manifest, _ = json.Marshal(m)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, strings.TrimPrefix(srv.URL, "http://")
}

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const repo = "/v2/acme/spectro-packs/archive/hello/"
	md := digest.FromBytes(h.manifest)
	switch {
	case r.URL.Path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case h.fault == "forbidden":
		http.Error(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`, http.StatusForbidden)
	case r.URL.Path == repo+"manifests/1.0.0":
		w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
		w.Header().Set("Docker-Content-Digest", md.String())
		switch h.fault {
		case "manifest-wrong-digest":
			w.Header().Set("Docker-Content-Digest", digest.FromString("another manifest").String())
		case "manifest-endless":
			if r.Method == http.MethodHead {
				w.Header().Set("Content-Length", fmt.Sprint(len(h.manifest)))
				return
			}
			endless(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(h.manifest)))
		if r.Method == http.MethodGet {
			w.Write(h.manifest)
		}
	case strings.HasPrefix(r.URL.Path, repo+"blobs/"):
		h.blobGets++
		body := h.layer
		switch h.fault {
		case "blob-wrong-bytes":
			body = bytes.Clone(h.layer)
			body[len(body)/2] ^= 0xff
		case "blob-endless":
			endless(w, r)
			return
		case "blob-stall":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // then nothing, until the client gives up
			return
		case "blob-short":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:len(body)/2])
			return // the server closes the connection: fewer bytes than promised
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`))
	}
}

// endless streams data until the client goes away (no Content-Length).
func endless(w http.ResponseWriter, r *http.Request) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		w.(http.Flusher).Flush()
	}
}

// TestFetchOCIPackHostile: every fault of a registry that answers wrong
// bytes, endless data or a manifest that does not match its digest is a
// clear error naming the reference, and DEST is untouched: an existing
// one (with --force) keeps its content, a new one is never made.
func TestFetchOCIPackHostile(t *testing.T) {
	noCreds(t)
	cases := []struct {
		fault   string
		edit    func(*ocispec.Manifest)
		want    error
		msg     string
		noBlobs bool
	}{
		{fault: "", want: nil},
		{fault: "blob-wrong-bytes", want: ErrDigestMismatch, msg: "do not match the digest"},
		{fault: "blob-endless", want: ErrTooLarge, msg: "more bytes than the manifest states"},
		{fault: "blob-short", want: ErrDigestMismatch, msg: "fewer bytes"},
		{fault: "blob-stall", want: ocireg.ErrStalled, msg: "nothing received for"},
		{fault: "manifest-wrong-digest", want: ErrDigestMismatch, msg: "reading the manifest", noBlobs: true},
		{fault: "manifest-endless", want: nil, msg: "reading the manifest", noBlobs: true},
		{fault: "two-layers", edit: func(m *ocispec.Manifest) { m.Layers = append(m.Layers, m.Layers[0]) }, want: ErrNotORASPack, msg: "2 layers", noBlobs: true},
		{fault: "no-title", edit: func(m *ocispec.Manifest) { m.Layers[0].Annotations = nil }, want: ErrNotORASPack, msg: "NAME-VERSION.tar.gz", noBlobs: true},
		{fault: "image-layer", edit: func(m *ocispec.Manifest) { m.Layers[0].MediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip" }, want: ErrNotORASPack, msg: "layer media type", noBlobs: true},
		{fault: "huge-layer", edit: func(m *ocispec.Manifest) { m.Layers[0].Size = 1 << 40 }, want: ErrTooLarge, msg: "1099511627776 bytes", noBlobs: true},
		{fault: "bad-digest", edit: func(m *ocispec.Manifest) { m.Layers[0].Digest = "sha256:../../etc" }, want: ErrNotORASPack, msg: "not a valid sha256", noBlobs: true},
		{fault: "forbidden", want: ocireg.ErrForbidden, msg: "ask the registry's admin", noBlobs: true},
	}
	for _, tc := range cases {
		name := tc.fault
		if name == "" {
			name = "control"
		}
		t.Run(name, func(t *testing.T) {
			h, host := newHostile(t, tc.fault, tc.edit)
			ref := "oci://" + host + "/acme/spectro-packs/archive/hello:1.0.0"
			parent := t.TempDir()
			dest := filepath.Join(parent, "hello")
			os.MkdirAll(dest, 0o755)
			os.WriteFile(filepath.Join(dest, "mine.txt"), []byte("the user's own file"), 0o644)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var warn bytes.Buffer
			// Short where the registry is meant to go silent; elsewhere a
			// loaded machine's pause must not read as a stall.
			stall := 10 * time.Second
			if strings.HasSuffix(tc.fault, "-stall") {
				stall = 300 * time.Millisecond
			}
			ro := ocireg.Options{PlainHTTP: true, StallTimeout: stall}
			res, err := FetchOCIPack(ctx, OCIPackOptions{Ref: ref, Dest: dest, Force: true, Registry: ro, Warn: &warn})
			if tc.fault == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Files != 2 {
					t.Errorf("files: %d", res.Files)
				}
				if _, err := os.Stat(filepath.Join(dest, "mine.txt")); err == nil {
					t.Error("--force did not replace dest")
				}
				leftovers(t, parent, "hello")
				return
			}
			if err == nil {
				t.Fatal("fetched from a hostile registry")
			}
			t.Log(err)
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("want %v, got %v", tc.want, err)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(ref, "oci://")) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message lacks the reference or %q: %v", tc.msg, err)
			}
			if tc.noBlobs && h.blobGets != 0 {
				t.Errorf("%d blob requests after a bad manifest", h.blobGets)
			}
			got, rerr := os.ReadFile(filepath.Join(dest, "mine.txt"))
			if rerr != nil || string(got) != "the user's own file" {
				t.Errorf("dest touched: %q %v", got, rerr)
			}
			if ents, _ := os.ReadDir(dest); len(ents) != 1 {
				t.Errorf("dest holds %d entries", len(ents))
			}
			leftovers(t, parent, "hello")
			// A new dest is never made.
			fresh := filepath.Join(parent, "new")
			if _, err := FetchOCIPack(ctx, OCIPackOptions{Ref: ref, Dest: fresh, Registry: ro, Warn: &warn}); err == nil {
				t.Fatal("second fetch passed")
			}
			if _, err := os.Lstat(fresh); err == nil {
				t.Error("new dest made on failure")
			}
			leftovers(t, parent, "hello")
		})
	}
}

// TestFetchOCIPackFaults: unreachable, 401, 403 and 404 for the base
// path, each a clear error that names the reference and says what to do,
// with DEST never made.
func TestFetchOCIPackFaults(t *testing.T) {
	noCreds(t)
	anon := ocitest.Start(t, ocitest.Anonymous)
	basic := ocitest.Start(t, ocitest.Basic)
	tok := ocitest.Start(t, ocitest.Token)
	closed := testutil.FreeAddr(t)
	_, forbidden := newHostile(t, "forbidden", nil)
	cases := []struct {
		name, host string
		o          ocireg.Options
		want       error
		msgs       []string
	}{
		{"unreachable", closed, ocireg.Options{PlainHTTP: true}, ocireg.ErrUnreachable, []string{"did not answer", "check the host and port"}},
		{"401-no-credentials", basic.Host(), ocireg.Options{PlainHTTP: true}, ocireg.ErrUnauthorized, []string{"no credentials found", "docker login " + basic.Host(), "--username"}},
		{"401-wrong-password", basic.Host(), ocireg.Options{PlainHTTP: true, Username: basic.Username, Password: "nope"}, ocireg.ErrUnauthorized, []string{"were refused", "docker login"}},
		{"401-token-wrong-password", tok.Host(), ocireg.Options{PlainHTTP: true, Username: tok.Username, Password: "nope"}, ocireg.ErrUnauthorized, []string{"were refused", "docker login"}},
		{"401-token-anonymous", tok.Host(), ocireg.Options{PlainHTTP: true}, ocireg.ErrUnauthorized, []string{"no credentials found"}},
		{"403", forbidden, ocireg.Options{PlainHTTP: true}, ocireg.ErrForbidden, []string{"may not do this here", "ask the registry's admin"}},
		{"404-base-path", anon.Host(), ocireg.Options{PlainHTTP: true}, ocireg.ErrNotFound, []string{"check the registry, path, name and tag"}},
		{"404-base-path-authenticated", basic.Host(), ocireg.Options{PlainHTTP: true, Username: basic.Username, Password: basic.Password}, ocireg.ErrNotFound, []string{"HOST/BASE/spectro-packs/archive/NAME:VERSION"}},
		{"plain-http-remote", "registry.example.com", ocireg.Options{PlainHTTP: true}, ocireg.ErrPlainHTTP, []string{"loopback"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.host + "/acme/spectro-packs/archive/hello:1.0.0"
			dest := filepath.Join(t.TempDir(), "hello")
			_, err := FetchOCIPack(context.Background(), OCIPackOptions{Ref: "oci://" + ref, Dest: dest, Registry: tc.o, Warn: &bytes.Buffer{}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			t.Log(err)
			for _, m := range append(tc.msgs, ref) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message lacks %q: %v", m, err)
				}
			}
			if _, serr := os.Lstat(dest); serr == nil {
				t.Error("dest made")
			}
			leftovers(t, filepath.Dir(dest))
		})
	}
}

func TestParseOCIPackRef(t *testing.T) {
	for _, tc := range []struct {
		in, ref, name, version string
	}{
		{"oci://r.example.com/acme/spectro-packs/archive/hello:1.0.0", "r.example.com/acme/spectro-packs/archive/hello:1.0.0", "hello", "1.0.0"},
		{"127.0.0.1:5000/spectro-packs/archive/cni-calico:3.27.3", "127.0.0.1:5000/spectro-packs/archive/cni-calico:3.27.3", "cni-calico", "3.27.3"},
	} {
		ref, name, version, err := ParseOCIPackRef(tc.in)
		if err != nil || ref != tc.ref || name != tc.name || version != tc.version {
			t.Errorf("%s: %q %q %q %v", tc.in, ref, name, version, err)
		}
	}
	for _, bad := range []string{"oci://r.example.com/acme/hello", "oci://r.example.com/acme/Hello:1.0", "oci://r.example.com/a/hello@sha256:" + strings.Repeat("0", 64), "oci://", "oci:///x:1", "oci://r.example.com/a/hello:../x"} {
		if _, _, _, err := ParseOCIPackRef(bad); !errors.Is(err, ocireg.ErrReference) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// FuzzParseOCIPackRef: references come from the command line and from
// documents users paste; never a panic, and what passes is a pack name
// and a tag that are safe as a directory name.
func FuzzParseOCIPackRef(f *testing.F) {
	f.Add("oci://r.example.com/acme/spectro-packs/archive/hello:1.0.0")
	f.Add("oci://[::1]:5000/a/b:c")
	f.Fuzz(func(t *testing.T, s string) {
		_, name, version, err := ParseOCIPackRef(s)
		if err != nil {
			return
		}
		if !meta.ValidName(name) || version == "" || strings.ContainsAny(version, "/\\") || version == "." || version == ".." {
			t.Fatalf("%q gave name %q version %q", s, name, version)
		}
	})
}

// TestOrasLayerReference: the exact manifest ORAS v1.0.0 (the version
// Palette's docs require) wrote for hello-1.0.0.tar.gz passes the shape
// check, giving its layer.
func TestOrasLayerReference(t *testing.T) {
	data, err := os.ReadFile("testdata/oras-1.0.0-manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if d := digest.FromBytes(data); d != "sha256:9877ac504315a99ffbea15740fca2f2d7c9343b0488c59d1e2f29777e14a322d" {
		t.Fatalf("testdata changed: %s", d)
	}
	l, err := orasLayer(data, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if l.Size != 353 || l.Digest != "sha256:0ae16ac9dc6ef133f8eb21c956289d3bba03dc11030063b000f14f9d767d4431" || l.Annotations[ocispec.AnnotationTitle] != "hello-1.0.0.tar.gz" {
		t.Errorf("layer %+v", l)
	}
}

// FuzzOrasLayer: a manifest is outside input; never a panic, and what
// passes has one valid sha256 layer within the size bound.
func FuzzOrasLayer(f *testing.F) {
	if data, err := os.ReadFile("testdata/oras-1.0.0-manifest.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := orasLayer(data, 1<<20)
		if err != nil {
			return
		}
		if l.Size <= 0 || l.Size > 1<<20 || l.Digest.Validate() != nil || !strings.HasSuffix(l.Annotations[ocispec.AnnotationTitle], ".tar.gz") {
			t.Fatalf("passed: %+v", l)
		}
	})
}

// TestSafeRoot: the top-level folder check accepts exactly what its
// grammar, written here as one regexp, does: the bound on the length is
// where the two spellings could differ.
func TestSafeRoot(t *testing.T) {
	grammar := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}$`)
	for _, s := range []string{"", "a", "hello-pack", "falco-4.2.5", "_x", ".", "..", ".x", "-x", "+x", "x+y_z.1", "a/b", "a b", "é", "x\x00",
		strings.Repeat("a", 254), strings.Repeat("a", 255), strings.Repeat("a", 256), "a" + strings.Repeat(".", 254), "a" + strings.Repeat(".", 255)} {
		if got, want := safeRoot(s), grammar.MatchString(s); got != want {
			t.Errorf("safeRoot(%q) = %v, the grammar says %v", s, got, want)
		}
	}
}
