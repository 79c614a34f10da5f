package airgap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
)

// The air-gapped registry holds the source registry's signed index as it
// is (nobody there has the key to sign a smaller one), and of it only the
// files on the way to the bundled releases. The marker (index.AirgapFile,
// tagged ocimap.AirgapTag in the index repository) says which releases
// those are, so that list, search, info, fetch and verify --site show and
// use what is there and call the rest "not in the bundle", not missing.
// It is unsigned: readers use it to narrow what they offer, never to
// trust a byte (docs/SECURITY.md, "Air-gap bundles").

// pushMarker writes the marker before the index root: the bundles an
// earlier import recorded, and this one. A marker that does not read is
// replaced, with a warning.
func (im *importer) pushMarker(ctx context.Context) error {
	idx, err := ocireg.Repository(ctx, im.dest.Ref(im.dest.Repo(ocimap.IndexRepo)), im.o.OCI)
	if err != nil {
		return err
	}
	this := index.AirgapBundle{List: im.b.list.Digest.String()}
	for _, r := range im.sub.Releases {
		this.Releases = append(this.Releases, index.AirgapRelease{Name: r.Name, Version: r.Release.Version})
	}
	bundles := []index.AirgapBundle{}
	prev, err := readMarker(ctx, idx)
	switch {
	case err != nil:
		im.warn("%s:%s: the air-gap marker of an earlier import does not read (%v): replaced by this bundle's", idx.Reference, ocimap.AirgapTag, err)
	case prev != nil:
		for _, b := range prev.Bundles {
			if b.List != this.List {
				bundles = append(bundles, b)
			}
		}
	}
	data, err := index.NewAirgap(append(bundles, this)...).Encode()
	if err != nil {
		return err
	}
	if prev != nil {
		if old, err := prev.Encode(); err == nil && bytes.Equal(old, data) {
			return nil // the same bundle again: nothing to write
		}
	}
	m, err := ocimap.AirgapManifest(data)
	if err != nil {
		return err
	}
	ref := idx.Reference.String() + ":" + ocimap.AirgapTag
	if err := pushBlob(ctx, idx, m.Layers[0].Digest.String(), m.Layers[0], data); err != nil {
		return err
	}
	if err := pushBlob(ctx, idx, m.Config.Digest.String(), m.Config, m.ConfigB); err != nil {
		return err
	}
	if err := idx.Manifests().PushReference(ctx, m.Desc, bytes.NewReader(m.Manifest), ocimap.AirgapTag); err != nil {
		return fmt.Errorf("push %s: %w", ref, ocireg.Wrap(ref, idx.Client, err))
	}
	fmt.Fprintf(im.o.Log, "marked %s: an air-gapped subset of %d bundle(s)\n", ref, len(bundles)+1)
	return nil
}

// readMarker reads the marker an earlier import wrote (nil, nil: none).
func readMarker(ctx context.Context, idx *remote.Repository) (*index.Airgap, error) {
	desc, rc, err := idx.FetchReference(ctx, ocimap.AirgapTag)
	if ocireg.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, ocireg.Wrap(idx.Reference.String()+":"+ocimap.AirgapTag, idx.Client, err)
	}
	defer rc.Close()
	if desc.Size > 4<<20 {
		return nil, fmt.Errorf("a manifest of %d bytes", desc.Size)
	}
	mdata, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(mdata, &m); err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 || ocimap.Title(m.Layers[0]) != index.AirgapFile || m.Layers[0].Size > index.MaxAirgapSize {
		return nil, errors.New("not an air-gap marker's manifest")
	}
	l := m.Layers[0]
	data := l.Data
	if data == nil {
		if data, err = content.FetchAll(ctx, idx.Blobs(), l); err != nil {
			return nil, err
		}
	} else if int64(len(data)) != l.Size || digest.FromBytes(data) != l.Digest {
		return nil, errors.New("its embedded bytes do not match their descriptor")
	}
	return index.ParseAirgap(data)
}

// pushBlob pushes a small blob (what names it says what it is).
func pushBlob(ctx context.Context, repo *remote.Repository, what string, desc ocispec.Descriptor, data []byte) error {
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return fmt.Errorf("push %s@%s: %w", repo.Reference, what, ocireg.Wrap(repo.Reference.String()+"@"+what, repo.Client, err))
	}
	return nil
}
