package airgap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/publish"
)

// exportImages runs the image half of Export (the manifests, the tar's
// layout and downloads, the signature checks, the list, the rename) for
// images alone: what an image registry serves reaches export there.
func exportImages(ctx context.Context, t *testing.T, out string, o ExportOptions, refs ...string) (*ExportResult, error) {
	t.Helper()
	o.Output = out
	o.OCI = plainHTTP
	setDefaults(&o.Log, &o.Warn, &o.Now, &o.Jobs, 8)
	e := &exporter{o: o, res: &ExportResult{Output: out, Warnings: []string{}}}
	e.warn = warner(&e.res.Warnings, o.Warn)
	cleanup, err := e.makeStage()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	e.list = &List{SchemaVersion: ListVersion, Profile: "attack", Packs: []Pack{}, Images: []Image{}}
	e.needs = map[string][]string{}
	for _, r := range refs {
		e.needs[r] = []string{"p@1.0.0"}
	}
	err = e.writeBundle(ctx)
	if err == nil {
		err = e.finish(ctx)
	}
	err = noSpace(err, out)
	if err != nil {
		return nil, err
	}
	return e.res, nil
}

// crafted pushes raw manifest bytes (an attacker's) to the registry.
type crafted struct {
	t   *testing.T
	reg *ocitest.Registry
}

func (c crafted) blob(repo string, data []byte) ocispec.Descriptor {
	c.t.Helper()
	d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageLayer, data)
	if err := repoOf(c.t, c.reg.Host()+"/"+repo).Blobs().Push(context.Background(), d, bytes.NewReader(data)); err != nil {
		c.t.Fatal(err)
	}
	return d
}

func (c crafted) manifest(repo, tag, mediaType string, v any) ocispec.Descriptor {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	d := content.NewDescriptorFromBytes(mediaType, data)
	r := repoOf(c.t, c.reg.Host()+"/"+repo)
	if tag == "" {
		err = r.Manifests().Push(context.Background(), d, bytes.NewReader(data))
	} else {
		err = r.Manifests().PushReference(context.Background(), d, bytes.NewReader(data), tag)
	}
	if err != nil {
		c.t.Fatalf("push %s: %v", repo, err)
	}
	return d
}

func image(config ocispec.Descriptor, layers ...ocispec.Descriptor) ocispec.Manifest {
	return ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: layers}
}

// TestAttackDeclaredSizes: a manifest's sizes are an upstream
// registry's word. One that is negative, too big for any bundle, that
// overflows summed with the others, more than the disk holds, or that
// lies about the bytes served is refused with an error naming the image
// and the blob; nothing is reserved for what is refused before it is
// placed, nothing is left in the output's directory, and nothing of an
// impossible size is fetched.
func TestAttackDeclaredSizes(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.Start(t, ocitest.Anonymous)
	c := crafted{t, reg}
	cfg := c.blob("x/y", []byte(`{"architecture":"amd64","os":"linux"}`))
	cfg.MediaType = ocispec.MediaTypeImageConfig
	l := c.blob("x/y", []byte("layer"))
	l2 := c.blob("x/y", []byte("other layer"))
	sized := func(d ocispec.Descriptor, n int64) ocispec.Descriptor { d.Size = n; return d }
	for _, tc := range []struct {
		name   string
		layers []ocispec.Descriptor
		want   error
		says   []string // besides the image
		fetch  bool     // the lie shows only in the download
	}{
		{"negative", []ocispec.Descriptor{sized(l, -5)}, publish.ErrRegistry, []string{l.Digest.String(), "size -5", "0 or more"}, false},
		{"negative-config", nil, publish.ErrRegistry, []string{cfg.Digest.String(), "size -1"}, false},
		{"two-to-62", []ocispec.Descriptor{sized(l, 1<<62)}, publish.ErrRegistry, []string{"x/y@" + l.Digest.String(), "declares 4611686018427387904 bytes", "expected 0 to"}, false},
		{"max-int64", []ocispec.Descriptor{sized(l, math.MaxInt64)}, publish.ErrRegistry, []string{"x/y@" + l.Digest.String(), "declares 9223372036854775807 bytes"}, false},
		{"sum-overflows", []ocispec.Descriptor{sized(l, 1<<61), sized(l2, 1<<61)}, publish.ErrRegistry, []string{"x/y@" + l2.Digest.String(), "declares 2305843009213693952 bytes"}, false},
		{"past-the-disk", []ocispec.Descriptor{sized(l, 1<<52)}, ErrNoSpace, []string{"x/y@" + l.Digest.String(), "declares 4503599627370496"}, false},
		{"bigger-than-served", []ocispec.Descriptor{sized(l, 1<<20)}, nil, []string{"x/y@" + l.Digest.String(), "Content-Length"}, true},
		{"smaller-than-served", []ocispec.Descriptor{sized(l, 2)}, nil, []string{"x/y@" + l.Digest.String(), "Content-Length"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := cfg
			if tc.name == "negative-config" {
				config = sized(cfg, -1)
			}
			crafted{t, reg}.manifest("x/y", tc.name, ocispec.MediaTypeImageManifest, image(config, tc.layers...))
			dir := t.TempDir()
			mark := len(settledLog(reg))
			ref := reg.Host() + "/x/y:" + tc.name
			_, err := exportImages(ctx, t, filepath.Join(dir, "b.tar"), ExportOptions{}, ref)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			for _, s := range append(tc.says, "image "+ref) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%v: does not say %q", err, s)
				}
			}
			assertOnly(t, dir)
			blobGETs := 0
			for _, line := range settledLog(reg)[mark:] {
				if m := imageRequest.FindStringSubmatch(line); m != nil && m[1] == "GET" && m[3] == "blobs" {
					blobGETs++
				}
			}
			if !tc.fetch && blobGETs != 0 {
				t.Errorf("%d blobs fetched for a size refused up front", blobGETs)
			}
		})
	}
}
