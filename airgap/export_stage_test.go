package airgap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
)

// TestStageStore: the stage checks what it stores, keeps small blobs in
// memory and big ones in files, and lists the index.json oras-go's
// content/oci store writes for the same pushes and tags (sorted).
func TestStageStore(t *testing.T) {
	ctx := context.Background()
	s := newTestStage(t)
	root := t.TempDir()
	layout, err := oci.NewWithContext(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	layout.AutoSaveIndex = false
	blob := func(mediaType, data string) (ocispec.Descriptor, []byte) {
		return content.NewDescriptorFromBytes(mediaType, []byte(data)), []byte(data)
	}
	config, configB := blob(ocispec.MediaTypeImageConfig, `{"architecture":"amd64"}`)
	big := bytes.Repeat([]byte("x"), maxInMemory+1)
	bigD := content.NewDescriptorFromBytes(ocispec.MediaTypeImageLayer, big)
	man, manB := blob(ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"config":{"digest":"`+config.Digest.String()+`"}}`)
	child, childB := blob(ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"child":true}`)
	child.Platform = &ocispec.Platform{OS: "linux", Architecture: "arm64"}
	man.Annotations = map[string]string{"org.example": "kept"}
	for _, p := range []struct {
		d    ocispec.Descriptor
		data []byte
	}{{config, configB}, {bigD, big}, {man, manB}, {child, childB}} {
		for _, st := range []content.Pusher{s, layout} {
			if err := st.Push(ctx, p.d, bytes.NewReader(p.data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tag := range []string{"acme/web:2.0", "acme/web:latest"} {
		for _, st := range []interface {
			Tag(context.Context, ocispec.Descriptor, string) error
		}{s, layout} {
			if err := st.Tag(ctx, man, tag); err != nil {
				t.Fatal(err)
			}
		}
	}

	// What is refused, each as oras-go's stores refuse it.
	other, otherB := blob(ocispec.MediaTypeImageConfig, `{"architecture":"arm64"}`)
	wrong := other
	wrong.Size++
	for name, c := range map[string]struct {
		err  error
		want error
	}{
		"again":            {s.Push(ctx, config, bytes.NewReader(configB)), errdef.ErrAlreadyExists},
		"size lies":        {s.Push(ctx, wrong, bytes.NewReader(otherB)), io.ErrUnexpectedEOF},
		"digest lies":      {s.Push(ctx, mustDesc(config, "sha256:"+strings.Repeat("0", 64)), bytes.NewReader(configB)), content.ErrMismatchedDigest},
		"big digest lies":  {s.Push(ctx, mustDesc(bigD, "sha256:"+strings.Repeat("1", 64)), bytes.NewReader(big)), content.ErrMismatchedDigest},
		"tag of no blob":   {s.Tag(ctx, mustDesc(config, "sha256:"+strings.Repeat("2", 64)), "x:1"), errdef.ErrNotFound},
		"empty reference":  {s.Tag(ctx, man, ""), errdef.ErrInvalidReference},
		"resolve unknown":  {func() error { _, err := s.Resolve(ctx, "nope:1"); return err }(), errdef.ErrNotFound},
		"fetch not staged": {func() error { _, err := s.Fetch(ctx, mustDesc(config, "sha256:"+strings.Repeat("3", 64))); return err }(), errdef.ErrNotFound},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", name, c.err, c.want)
		}
	}
	if s.blobs[bigD.Digest].file == "" || s.blobs[config.Digest].file != "" || s.blobs[man.Digest].file != "" {
		t.Errorf("in files: big %q, config %q, manifest %q (only the big blob should be)", s.blobs[bigD.Digest].file, s.blobs[config.Digest].file, s.blobs[man.Digest].file)
	}
	if data, err := content.FetchAll(ctx, s, bigD); err != nil || !bytes.Equal(data, big) {
		t.Errorf("the big blob read back: %v", err)
	}
	if d, err := s.Resolve(ctx, "acme/web:latest"); err != nil || d.Digest != man.Digest {
		t.Errorf("resolve: %v %v", d, err)
	}
	if ingest, _ := filepath.Glob(filepath.Join(s.dir, "blobs", "sha256", ".ingest-*")); len(ingest) != 0 {
		t.Errorf("temporary files left: %v", ingest)
	}

	// index.json: the same as oras-go's for the same pushes and tags.
	entries, err := s.entries()
	if err != nil {
		t.Fatal(err)
	}
	got := entries[len(entries)-1]
	if got.name != ocispec.ImageIndexFile || len(entries) != 5 {
		t.Fatalf("entries end with %s, %d of them", got.name, len(entries))
	}
	if err := layout.SaveIndex(); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, ocispec.ImageIndexFile))
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(want, &idx); err != nil {
		t.Fatal(err)
	}
	sortIndex(&idx)
	if want, _ = json.Marshal(idx); !bytes.Equal(got.data, want) {
		t.Errorf("index.json\n%s\nwant (oras-go's, sorted)\n%s", got.data, want)
	}
}

// mustDesc is d with another digest.
func mustDesc(d ocispec.Descriptor, dg string) ocispec.Descriptor {
	d.Digest = digest.Digest(dg)
	return d
}
