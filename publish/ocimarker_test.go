package publish

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
)

// TestOCIMarkerCannotHide: the air-gap marker is unsigned, so someone
// who may push the one `airgap` tag into a whole oci:// registry (no key,
// no right to delete) must not narrow what clients resolve to. A release
// it leaves out that is there is still chosen (one HEAD of its archive's
// blob, asked only because the marker leaves it out), with a warning
// that the marker is wrong. (attackR F3: calico@^1.0 resolved to the old
// 1.0.0, exit 0, while the signed 1.1.0 was there.)
func TestOCIMarkerCannotHide(t *testing.T) {
	reg, f := ociSetup(t, ocitest.Anonymous)
	f.pack("calico", "1.0.0", "a: 1\n")
	f.build(t)
	f.pack("calico", "1.1.0", "a: 2\n") // the fix
	f.build(t)
	f.pack("calico", "2.0.0", "a: 3\n")
	site := f.build(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	mustPublish(t, reg, f, site, dest)

	r := client.Registry{Name: "acme", URL: dest, Keys: []string{string(f.pub)}, PlainHTTP: true}
	state := t.TempDir()
	resolve := func(constraint string) (string, string, int) {
		t.Helper()
		var warn bytes.Buffer
		c, err := client.New(r, client.Options{CacheDir: t.TempDir(), StateDir: state, Warn: &warn})
		if err != nil {
			t.Fatal(err)
		}
		before := len(settledLog(reg))
		rel, err := c.Resolve(ctx, "calico", constraint, false)
		if err != nil {
			t.Fatal(err)
		}
		return rel.Version, strings.TrimSpace(warn.String()), len(settledLog(reg)) - before
	}
	_, _, whole := resolve("^1.0")

	// The attacker pushes a marker naming calico@1.0.0 only.
	marker, _ := index.NewAirgap(index.AirgapBundle{List: "sha256:" + strings.Repeat("0", 64), Releases: []index.AirgapRelease{{Name: "calico", Version: "1.0.0"}}}).Encode()
	m, err := ocimap.AirgapManifest(marker)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ocireg.Repository(ctx, reg.Host()+"/acme/packgen/index", ocireg.Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		idx.Blobs().Push(ctx, m.Layers[0], bytes.NewReader(marker)),
		idx.Blobs().Push(ctx, m.Config, bytes.NewReader(m.ConfigB)),
		idx.Manifests().PushReference(ctx, m.Desc, bytes.NewReader(m.Manifest), ocimap.AirgapTag),
	} {
		if err != nil && !strings.Contains(err.Error(), "exists") {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct{ constraint, want string }{
		{"^1.0", "1.1.0"},
		{"", "2.0.0"},
		{"1.1.0", "1.1.0"},
		{"1.0.0", "1.0.0"}, // what the marker names: no extra request
	} {
		v, w, n := resolve(tc.constraint)
		if v != tc.want {
			t.Errorf("calico@%q with a planted marker: %s, want %s (warning %q)", tc.constraint, v, tc.want, w)
		}
		if tc.want != "1.0.0" && !strings.Contains(w, "airgap.json says calico@"+tc.want+" is not here, but it is") {
			t.Errorf("calico@%q: warned %q, want the marker called wrong", tc.constraint, w)
		}
		// The marker is read on a whole registry too (one request);
		// leaving out a release that is there costs one HEAD more.
		if extra := 0; tc.want != "1.0.0" {
			extra = 1
			if n > whole+extra {
				t.Errorf("calico@%q: %d requests, a whole registry takes %d (+%d for the HEAD)", tc.constraint, n, whole, extra)
			}
		}
	}
}
