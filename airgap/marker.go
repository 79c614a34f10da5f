package airgap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/transport"
	sitewalk "github.com/packgen/packgen/walk"
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
	this := index.AirgapBundle{List: im.b.list.Digest.String(), Manifest: im.b.listManifest, Listing: im.b.listData}
	for _, r := range im.sub.Releases {
		this.Releases = append(this.Releases, index.AirgapRelease{Name: r.Name, Version: r.Release.Version})
	}
	bundles := []index.AirgapBundle{}
	prev, err := im.readMarker(ctx)
	switch {
	case err != nil:
		im.warn("%s:%s: the air-gap marker of an earlier import does not read (%v): replaced by this bundle's", idx.Reference, ocimap.AirgapTag, err)
	case prev != nil:
		for _, b := range im.reachable(ctx, prev.Bundles, this) {
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
		return ocireg.Doing("push", ref, idx.Client, err)
	}
	fmt.Fprintf(im.o.Log, "marked %s: an air-gapped subset of %d bundle(s)\n", ref, len(bundles)+1)
	return nil
}

// reachable keeps, of the releases earlier imports recorded, those the
// index being imported still leads to, through this bundle's files or
// those the registry holds: a pack that changed at the source since its
// import, and is not in this bundle, has a new shard the registry lacks,
// so under the new root its releases there are unreachable, and the
// marker must not claim them. A release it cannot tell about (the
// registry not answering) is kept: verify --site reports a claimed
// release that is not there.
func (im *importer) reachable(ctx context.Context, prev []index.AirgapBundle, this index.AirgapBundle) []index.AirgapBundle {
	dest, err := im.destination()
	if err != nil {
		im.warn("cannot read %s to check the releases earlier imports put there (%v): the marker keeps them", im.o.Dest, err)
		return prev
	}
	fromBundle, fromDest := sitewalk.New(im.tr, nil), sitewalk.New(dest, nil)
	get := func(ref index.FileRef) ([]byte, error) {
		data, err := fromBundle.Pinned(ctx, ref)
		if errors.Is(err, index.ErrNotFound) {
			data, err = fromDest.Pinned(ctx, ref)
		}
		return data, err
	}
	carried := map[string]bool{}
	for _, r := range this.Releases {
		carried[r.Name+"@"+r.Version] = true
	}
	type lookup struct {
		shard *index.Shard
		err   error
	}
	shards := map[string]lookup{}
	shardOf := func(name string) lookup {
		if l, ok := shards[name]; ok {
			return l
		}
		var l lookup
		leaf, err := index.LeafOf(im.sub.Root, name, get)
		if err == nil {
			if sum := leaf.Find(name); sum == nil {
				err = fmt.Errorf("pack %s: %w", name, index.ErrNotFound)
			} else if data, gerr := get(sum.Shard); gerr != nil {
				err = gerr
			} else {
				l.shard, err = index.ParseShard(data, name)
			}
		}
		l.err = err
		shards[name] = l
		return l
	}
	var out []index.AirgapBundle
	for _, b := range prev {
		kept := b
		kept.Releases = []index.AirgapRelease{}
		for _, r := range b.Releases {
			if carried[r.Name+"@"+r.Version] {
				kept.Releases = append(kept.Releases, r)
				continue
			}
			l := shardOf(r.Name)
			switch {
			case l.err != nil && !errors.Is(l.err, index.ErrNotFound):
				kept.Releases = append(kept.Releases, r) // cannot tell: kept
			case l.err == nil && slices.ContainsFunc(l.shard.Releases, func(x index.Release) bool { return x.Version == r.Version }):
				kept.Releases = append(kept.Releases, r)
			default:
				im.warn("%s@%s, imported before (bundle %s), is no longer reachable under the index imported now: %s changed at the source since, and this bundle does not carry it; export it again to use it here", r.Name, r.Version, b.List, r.Name)
			}
		}
		if len(kept.Releases) > 0 {
			out = append(out, kept)
		}
	}
	return out
}

// readMarker reads the marker an earlier import wrote (nil, nil: none),
// as clients read it (the OCI transport checks the manifest's shape and
// the layer's bytes).
func (im *importer) readMarker(ctx context.Context) (*index.Airgap, error) {
	dest, err := im.destination()
	if err != nil {
		return nil, err
	}
	return index.ReadAirgap(ctx, transport.Fetch(dest))
}

// pushBlob pushes a small blob (what names it says what it is).
func pushBlob(ctx context.Context, repo *remote.Repository, what string, desc ocispec.Descriptor, data []byte) error {
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocireg.Doing("push", repo.Reference.String()+"@"+what, repo.Client, err)
	}
	return nil
}
