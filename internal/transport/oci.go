package transport

// The oci source: a registry site read from an OCI registry that packgen
// published to (oci://REGISTRY/BASE). Site paths map to registry objects
// as internal/ocimap says; the walker then checks everything as it does
// for a static site (the root's signature, every file against its
// parent's digest), so this file only has to find the bytes, and it
// refuses bytes that do not match the descriptor the registry itself
// gave (ErrWrongBytes), naming the reference.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/translog"
)

// ErrWrongBytes marks a registry that sent content other than the digest
// it named (a broken or hostile registry or proxy).
var ErrWrongBytes = errors.New("the registry sent content that does not match its digest")

// maxOCIManifest bounds a manifest read (distribution's own limit is 4 MiB).
const maxOCIManifest = 4 << 20

func init() { Register("oci", openOCI) }

func openOCI(l location.Location, c Config) (Transport, error) {
	loc, err := ocimap.ParseLocation(l.Raw)
	if err != nil {
		return nil, fmt.Errorf("registry URL %q: %w", l.Raw, err)
	}
	t := &ociTransport{loc: loc, opts: c.OCI}
	// The same limits as an http(s) source: a stall, and each request
	// (retries and the body included) within the overall timeout.
	if t.opts.StallTimeout <= 0 {
		t.opts.StallTimeout = c.Stall
	}
	if t.opts.Timeout <= 0 {
		t.opts.Timeout = c.Timeout
		if t.opts.Timeout <= 0 {
			t.opts.Timeout = defaultTimeout
		}
	}
	if t.opts.Password == "" && c.Token != "" && t.opts.Username != "" {
		t.opts.Password = c.Token
	}
	// The index repository and the packs' share one connection and one
	// token cache.
	t.clients = ocireg.NewClients(t.opts)
	return t, nil
}

type ociTransport struct {
	loc     ocimap.Location
	opts    ocireg.Options
	clients *ocireg.Clients

	mu    sync.Mutex
	repos map[string]*remote.Repository
	// rootMu is held while the root manifest is read: a client asks for
	// index.json and index.json.sig at once, and both are its layers.
	rootMu sync.Mutex
	root   *ocispec.Manifest // the root manifest, read once: one generation per transport
	// rootErr is why the root manifest could not be read, once.
	rootErr error
	// groups are the log's tile groups read so far (title → digests):
	// the tiles of one proof are asked for at once, one per level, so
	// each group is read once, and groups of different levels in
	// parallel.
	groupMu sync.Mutex
	groups  map[string]*tileGroup
}

type tileGroup struct {
	once sync.Once
	data []byte
	err  error
}

func (t *ociTransport) String() string { return t.loc.String() }

func (t *ociTransport) repo(ctx context.Context, name string) (*remote.Repository, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.repos[name]; ok {
		return r, nil
	}
	r, err := t.clients.Repository(ctx, t.loc.Ref(name))
	if err != nil {
		return nil, err
	}
	if t.repos == nil {
		t.repos = map[string]*remote.Repository{}
	}
	t.repos[name] = r
	return r, nil
}

// Get opens the registry object a site path maps to.
func (t *ociTransport) Get(ctx context.Context, p, etag string) (*Response, error) {
	kind, sum, name, version, archive := ocimap.Where(p)
	idx, err := t.repo(ctx, t.loc.Repo(ocimap.IndexRepo))
	if err != nil {
		return nil, err
	}
	switch kind {
	case ocimap.RootFile:
		m, err := t.rootManifest(ctx, idx)
		if err != nil {
			return nil, err
		}
		return t.layer(ctx, idx, ocimap.RootTag, m, p, etag)
	case ocimap.Addressed:
		ref := "sha256:" + sum
		if etag == ref {
			return &Response{NotModified: true, ETag: etag}, nil
		}
		desc, rc, err := idx.Blobs().FetchReference(ctx, ref)
		if err != nil {
			return nil, t.fail(idx, ref, p, err)
		}
		return t.body(idx, desc, rc), nil
	case ocimap.Archive:
		return t.getArchive(ctx, p, name, version, etag)
	case ocimap.LogTile:
		return t.getLogTile(ctx, idx, p, etag)
	case ocimap.ArchiveSigs:
		return t.getArchiveSigs(ctx, idx, p, archive, etag)
	case ocimap.WitnessFile:
		return t.getWitness(ctx, idx, p, name, etag)
	case ocimap.AirgapFile:
		return t.getAirgap(ctx, idx, p, etag)
	}
	return nil, fmt.Errorf("%s%s: %w (not kept in OCI registries)", t.loc, "/"+p, index.ErrNotFound)
}

// getArchive opens a release archive: the one layer of the release
// manifest tagged by its version in the pack's repository.
func (t *ociTransport) getArchive(ctx context.Context, p, name, version, etag string) (*Response, error) {
	tag, err := ocimap.Tag(version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, index.ErrNotFound)
	}
	repo, err := t.repo(ctx, t.loc.PackRepo(name))
	if err != nil {
		return nil, err
	}
	m, err := t.manifest(ctx, repo, tag, p)
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Errorf("%s:%s: %w: %d layers, a pack has one", repo.Reference, tag, ErrWrongBytes, len(m.Layers))
	}
	resp, err := t.blob(ctx, repo, m.Layers[0], p, etag)
	if resp != nil {
		// Read by tag, which anyone who may push can move: bytes the
		// index does not pin are the tag's, not the index's, fault.
		resp.Mismatch = fmt.Sprintf("read as the release tag %s:%s (its layer %s), which does not hold the archive the registry's index pins: the tag was moved to other content since packgen published it (an `oras push`, another tool: someone else wrote the registry), or the index read is another registry's. `packgen verify --site %s` names every release that does not verify; restore the tag to the release's manifest (`oras tag %s@DIGEST %s`, DIGEST the manifest packgen pushed, if the registry still holds it) and try again", repo.Reference, tag, m.Layers[0].Digest, t.loc, repo.Reference, tag)
	}
	return resp, err
}

// getLogTile opens a log tile: the blob its tile group (named by the
// root manifest) lists in its slot.
func (t *ociTransport) getLogTile(ctx context.Context, idx *remote.Repository, p, etag string) (*Response, error) {
	m, err := t.rootManifest(ctx, idx)
	if err != nil {
		return nil, err
	}
	title, slot, _ := ocimap.LogTileSlot(p)
	g, err := t.group(ctx, idx, m, title, p)
	if err != nil {
		return nil, err
	}
	d, ok := ocimap.LogGroupDigest(g, slot)
	if !ok {
		return nil, fmt.Errorf("%s:%s has no %s in its tile group %s: %w", idx.Reference, ocimap.RootTag, p, title, index.ErrNotFound)
	}
	if etag == d.String() {
		return &Response{NotModified: true, ETag: etag}, nil
	}
	desc, rc, err := idx.Blobs().FetchReference(ctx, d.String())
	if err != nil {
		return nil, t.fail(idx, d.String(), p, err)
	}
	if desc.Digest != d {
		rc.Close()
		return nil, fmt.Errorf("%s@%s: %w: the registry answered %s", idx.Reference, d, ErrWrongBytes, desc.Digest)
	}
	return t.body(idx, desc, rc), nil
}

// getArchiveSigs opens an archive's signature file: an annotation of the
// manifest tagged for the archive (or, in the older layout, its layer).
func (t *ociTransport) getArchiveSigs(ctx context.Context, idx *remote.Repository, p, archive, etag string) (*Response, error) {
	tag := ocimap.SigTag(archive)
	m, err := t.manifest(ctx, idx, tag, p)
	if err != nil {
		return nil, err
	}
	data, layer, found, err := ocimap.SigFile(m, p)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s:%s: %w: %v", idx.Reference, tag, ErrWrongBytes, err)
	case !found:
		return nil, fmt.Errorf("%s:%s has no %s: %w", idx.Reference, tag, p, index.ErrNotFound)
	case layer != nil: // the layout before annotations
		return t.blob(ctx, idx, *layer, p, etag)
	}
	return inMemory(data, etag), nil
}

// getWitness opens a witness's cosigned checkpoint: the one layer of the
// manifest tagged for the witness, read on each call (it is mutable, and
// published apart from the root's generations).
func (t *ociTransport) getWitness(ctx context.Context, idx *remote.Repository, p, name, etag string) (*Response, error) {
	tag, err := ocimap.WitnessTag(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", p, index.ErrNotFound, err)
	}
	m, err := t.manifest(ctx, idx, tag, p)
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 || ocimap.Title(m.Layers[0]) != p {
		return nil, fmt.Errorf("%s:%s: %w: a witness manifest has one layer titled %s", idx.Reference, tag, ErrWrongBytes, p)
	}
	if n := m.Layers[0].Size; n > translog.MaxCheckpointSize {
		// Said before any request for it: a cosigned checkpoint is small.
		return nil, fmt.Errorf("%s:%s: %w: its layer %s announces %d bytes, a cosigned checkpoint has at most %d", idx.Reference, tag, index.ErrTooLarge, p, n, translog.MaxCheckpointSize)
	}
	return t.layer(ctx, idx, tag, m, p, etag)
}

// getAirgap opens an air-gapped subset's marker: the one layer of the
// manifest tagged AirgapTag (written by airgap import, apart from the
// root's generations).
func (t *ociTransport) getAirgap(ctx context.Context, idx *remote.Repository, p, etag string) (*Response, error) {
	m, err := t.manifest(ctx, idx, ocimap.AirgapTag, p)
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 || ocimap.Title(m.Layers[0]) != p {
		return nil, fmt.Errorf("%s:%s: %w: the air-gap marker's manifest has one layer titled %s", idx.Reference, ocimap.AirgapTag, ErrWrongBytes, p)
	}
	if n := m.Layers[0].Size; n > index.MaxAirgapSize {
		return nil, fmt.Errorf("%s:%s: %w: its layer %s announces %d bytes, at most %d", idx.Reference, ocimap.AirgapTag, index.ErrTooLarge, p, n, index.MaxAirgapSize)
	}
	return t.layer(ctx, idx, ocimap.AirgapTag, m, p, etag)
}

// GetPinned opens a release archive as the blob its shard pins, in the
// pack's repository: one request, where Get reads the release manifest
// first. Anything else goes through Get.
func (t *ociTransport) GetPinned(ctx context.Context, ref index.FileRef) (*Response, error) {
	repo, desc, err := t.archiveBlob(ctx, ref)
	if repo == nil && err == nil {
		return t.Get(ctx, ref.Path, "")
	}
	if err != nil {
		return nil, err
	}
	return t.blob(ctx, repo, desc, ref.Path, "")
}

// StatPinned asks for a release archive's blob by the digest its shard
// pins, in the pack's repository (one HEAD); of anything else it cannot
// tell (ok false).
func (t *ociTransport) StatPinned(ctx context.Context, ref index.FileRef) (ok bool, err error) {
	repo, desc, err := t.archiveBlob(ctx, ref)
	if repo == nil || err != nil {
		return err != nil, err
	}
	if _, err := repo.Blobs().Resolve(ctx, desc.Digest.String()); err != nil {
		return true, t.fail(repo, desc.Digest.String(), ref.Path, err)
	}
	return true, nil
}

// archiveBlob is the repository and descriptor of the blob a release
// archive's pin names; no repository (and no error) for a path that is
// not an archive.
func (t *ociTransport) archiveBlob(ctx context.Context, ref index.FileRef) (*remote.Repository, ocispec.Descriptor, error) {
	kind, _, name, _, _ := ocimap.Where(ref.Path)
	if kind != ocimap.Archive {
		return nil, ocispec.Descriptor{}, nil
	}
	d, err := digest.Parse("sha256:" + ref.SHA256)
	if err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%s: %w: %v", ref.Path, index.ErrDigestMismatch, err)
	}
	repo, err := t.repo(ctx, t.loc.PackRepo(name))
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	return repo, ocispec.Descriptor{MediaType: ocimap.LayerMediaType, Digest: d, Size: ref.Size}, nil
}

// inMemory is a file the transport already holds (an annotation), its
// digest its ETag.
func inMemory(data []byte, etag string) *Response {
	tag := digest.FromBytes(data).String()
	if etag != "" && etag == tag {
		return &Response{NotModified: true, ETag: etag}
	}
	return &Response{Body: io.NopCloser(bytes.NewReader(data)), Size: int64(len(data)), ETag: tag}
}

// rootManifest reads the root manifest once per transport, so that
// index.json and its signatures come from one generation (and a second
// concurrent caller waits for the first's request instead of its own).
func (t *ociTransport) rootManifest(ctx context.Context, idx *remote.Repository) (*ocispec.Manifest, error) {
	t.rootMu.Lock()
	defer t.rootMu.Unlock()
	if t.root != nil || t.rootErr != nil {
		return t.root, t.rootErr
	}
	m, err := t.manifest(ctx, idx, ocimap.RootTag, index.RootFile)
	if err != nil {
		// The registry's failure (not the caller's own cancellation) is
		// every root file's: index.json.sig, asked for beside index.json,
		// must not wait out the same stall again.
		if ctx.Err() == nil {
			t.rootErr = err
		}
		return nil, err
	}
	t.root = m
	return m, nil
}

// group reads the log's tile group titled title, a layer of the root
// manifest m, once per transport.
func (t *ociTransport) group(ctx context.Context, idx *remote.Repository, m *ocispec.Manifest, title, p string) ([]byte, error) {
	t.groupMu.Lock()
	g, ok := t.groups[title]
	if !ok {
		if t.groups == nil {
			t.groups = map[string]*tileGroup{}
		}
		g = &tileGroup{}
		t.groups[title] = g
	}
	t.groupMu.Unlock()
	g.once.Do(func() { g.data, g.err = t.readGroup(ctx, idx, m, title, p) })
	return g.data, g.err
}

func (t *ociTransport) readGroup(ctx context.Context, idx *remote.Repository, m *ocispec.Manifest, title, p string) ([]byte, error) {
	for _, l := range m.Layers {
		if ocimap.Title(l) != title || l.MediaType != ocimap.LogGroupMediaType {
			continue
		}
		if l.Size > ocimap.MaxLogGroup {
			return nil, fmt.Errorf("%s@%s (tile group %s): %w (%d bytes)", idx.Reference, l.Digest, title, index.ErrTooLarge, l.Size)
		}
		// A small group travels in the root manifest, checked against its
		// descriptor.
		if data, ok, err := ocimap.EmbeddedData(l); err != nil {
			return nil, fmt.Errorf("%s:%s (tile group %s): %w: %v", idx.Reference, ocimap.RootTag, title, ErrWrongBytes, err)
		} else if ok {
			return data, nil
		}
		resp, err := t.blob(ctx, idx, l, p, "")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		g, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("read the tile group %s (for %s): %w", title, p, err)
		}
		return g, nil
	}
	return nil, fmt.Errorf("%s:%s has no tile group %s (for %s): %w", idx.Reference, ocimap.RootTag, title, p, index.ErrNotFound)
}

// manifest reads a manifest by tag, checked against the digest the
// registry names for it.
func (t *ociTransport) manifest(ctx context.Context, repo *remote.Repository, tag, p string) (*ocispec.Manifest, error) {
	desc, rc, err := repo.FetchReference(ctx, tag)
	if err != nil {
		return nil, t.fail(repo, tag, p, err)
	}
	defer rc.Close()
	if desc.Size > maxOCIManifest {
		return nil, fmt.Errorf("%s:%s: %w (a manifest of %d bytes)", repo.Reference, tag, index.ErrTooLarge, desc.Size)
	}
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("%s:%s: %w: %v; the registry or a proxy in front of it is broken or tampered with", repo.Reference, tag, ErrWrongBytes, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s:%s: %w: not an OCI manifest: %v", repo.Reference, tag, ErrWrongBytes, err)
	}
	return &m, nil
}

// layer opens the layer of m titled p: from the manifest itself when
// its content is embedded (checked against the descriptor), else as a
// blob.
func (t *ociTransport) layer(ctx context.Context, repo *remote.Repository, tag string, m *ocispec.Manifest, p, etag string) (*Response, error) {
	for _, l := range m.Layers {
		if ocimap.Title(l) != p {
			continue
		}
		data, ok, err := ocimap.EmbeddedData(l)
		if err != nil {
			return nil, fmt.Errorf("%s:%s (for %s): %w: %v", repo.Reference, tag, p, ErrWrongBytes, err)
		}
		if ok {
			if etag != "" && etag == l.Digest.String() {
				return &Response{NotModified: true, ETag: etag}, nil
			}
			return &Response{Body: io.NopCloser(bytes.NewReader(data)), Size: l.Size, ETag: l.Digest.String()}, nil
		}
		return t.blob(ctx, repo, l, p, etag)
	}
	return nil, fmt.Errorf("%s:%s has no %s: %w", repo.Reference, tag, p, index.ErrNotFound)
}

// blob opens a blob known by its descriptor; its digest is its ETag.
func (t *ociTransport) blob(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, p, etag string) (*Response, error) {
	if etag != "" && etag == desc.Digest.String() {
		return &Response{NotModified: true, ETag: etag}, nil
	}
	rc, err := repo.Blobs().Fetch(ctx, desc)
	if err != nil {
		return nil, t.fail(repo, desc.Digest.String(), p, err)
	}
	return t.body(repo, desc, rc), nil
}

func (t *ociTransport) body(repo *remote.Repository, desc ocispec.Descriptor, rc io.ReadCloser) *Response {
	return &Response{Body: &verifiedBody{rc: rc, vr: content.NewVerifyReader(rc, desc), what: repo.Reference.String() + "@" + desc.Digest.String()}, Size: desc.Size, ETag: desc.Digest.String()}
}

// fail turns a registry error into the transport's: a missing object is
// index.ErrNotFound, naming the reference and the site path it stands for.
func (t *ociTransport) fail(repo *remote.Repository, ref, p string, err error) error {
	err = ocireg.Wrap(repo.Reference.String()+refSep(ref)+ref, repo.Client, err)
	if errors.Is(err, errdef.ErrNotFound) || errors.Is(err, ocireg.ErrNotFound) {
		return fmt.Errorf("%s (for %s): %w: %w", repo.Reference, p, index.ErrNotFound, err)
	}
	return fmt.Errorf("read %s (for %s): %w", repo.Reference, p, err)
}

func refSep(ref string) string {
	if len(ref) > 7 && ref[:7] == "sha256:" {
		return "@"
	}
	return ":"
}

// verifiedBody streams a blob and fails instead of ending when the
// bytes do not match the descriptor (more, fewer or other bytes).
type verifiedBody struct {
	rc   io.ReadCloser
	vr   *content.VerifyReader
	what string
}

func (b *verifiedBody) Read(p []byte) (int, error) {
	n, err := b.vr.Read(p)
	if err == io.EOF {
		if verr := b.vr.Verify(); verr != nil {
			return n, fmt.Errorf("%s: %w: %v", b.what, ErrWrongBytes, verr)
		}
	} else if err != nil && !errors.Is(err, context.Canceled) {
		if errors.Is(err, content.ErrTrailingData) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, fmt.Errorf("%s: %w: %v", b.what, ErrWrongBytes, err)
		}
	}
	return n, err
}

func (b *verifiedBody) Close() error { return b.rc.Close() }

// HoldsTileHeight: an OCI registry holds the log's height-8 tiles only
// (publish maps no other): its readers prove from those.
func (t *ociTransport) HoldsTileHeight(h int) bool { return h == translog.TileHeight }
