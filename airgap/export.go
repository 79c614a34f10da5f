package airgap

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/internal/writeback"
	"github.com/packgen/packgen/profile"
	"github.com/packgen/packgen/publish"
	"github.com/packgen/packgen/sign"
	sitewalk "github.com/packgen/packgen/walk"
)

// ExportOptions say what to export and how.
type ExportOptions struct {
	Lock *profile.Lock
	// Env gives the configured registries the lock names (with their
	// keys) and client options.
	Env *profile.Env
	// Output is the bundle's path: written to a temporary file beside it
	// and renamed into place only when complete.
	Output string
	// Platform ("os/arch[/variant]") narrows multi-arch images to one
	// manifest; "" keeps image indexes whole.
	Platform string
	// OCI reaches the images' registries (credentials as every OCI tool
	// finds them).
	OCI ocireg.Options
	// ImageKeys, when set, are cosign public keys every signature of an
	// image must verify under (one of them), checked as copied: an
	// image whose signatures do not is not exported. Signatures are
	// always checked to name their image (as import checks them).
	ImageKeys *sign.Verifier
	// uncheckedSigs skips that check: tests make the bundle an attacker
	// would, for import to refuse alone.
	uncheckedSigs bool
	// Jobs bounds the blobs downloaded at once (default 8), and twice
	// as many images have their manifests read at once: the work is
	// mostly waiting on round trips.
	Jobs int
	Log  io.Writer // progress, a line per pack and image; nil = discard
	Warn io.Writer // warnings, "warning: …" lines; nil = Log
	// Now is the clock the index's expiry is checked by (nil: time.Now).
	Now func() time.Time
}

// ExportResult reports an export.
type ExportResult struct {
	Output   string   `json:"output"`
	Digest   string   `json:"digest"` // of the list manifest
	Size     int64    `json:"size"`   // of the bundle file
	Blobs    int      `json:"blobs"`  // distinct blobs stored
	Packs    []Pack   `json:"packs"`
	Images   []Image  `json:"images"`
	Warnings []string `json:"-"` // also written to Warn
}

// Export writes the air-gap bundle of a lock: see the package comment.
// Nothing is left under o.Output unless the whole bundle was written.
func Export(ctx context.Context, o ExportOptions) (res *ExportResult, err error) {
	defer func() { err = noSpace(err, o.Output) }()
	if o.Output == "" {
		return nil, fmt.Errorf("%w: no output file (-o bundle.tar)", ErrInput)
	}
	if o.Lock == nil || len(o.Lock.Layers) == 0 {
		return nil, fmt.Errorf("%w: the lock has no layers", ErrInput)
	}
	setDefaults(&o.Log, &o.Warn, &o.Now, &o.Jobs, 8)
	e := &exporter{o: o, res: &ExportResult{Output: o.Output, Warnings: []string{}}}
	e.warn = warner(&e.res.Warnings, o.Warn)
	if o.Platform != "" {
		p, err := parsePlatform(o.Platform)
		if err != nil {
			return nil, err
		}
		e.plat = p
	}
	if err := e.readPacks(ctx); err != nil {
		return nil, err
	}
	cleanup, err := e.makeStage(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := e.bundlePacks(ctx); err != nil {
		return nil, err
	}
	if err := e.exportPackSignatures(ctx); err != nil {
		return nil, err
	}
	// The packgen index files, one manifest.
	if e.list.Index, err = exportIndex(ctx, e.store, e.sub); err != nil {
		return nil, err
	}
	if err := e.bundleImages(ctx); err != nil {
		return nil, err
	}
	if !o.uncheckedSigs {
		if err := e.checkImageSignatures(ctx); err != nil {
			return nil, err
		}
	}
	if err := e.finish(ctx); err != nil {
		return nil, err
	}
	return e.res, nil
}

// exporter is the state of one Export, a method per phase.
type exporter struct {
	o    ExportOptions
	res  *ExportResult
	warn func(format string, args ...any)
	plat *ocispec.Platform

	// readPacks
	reg *client.Registry
	tr  transport.Transport
	v   *sign.Verifier
	sub *publish.Subset

	// makeStage
	out, stage, layout string
	store              *oci.Store

	// bundlePacks, bundleImages
	list  *List
	needs map[string][]string // image → pack ids
	big   *direct
}

// readPacks reads the packs: the verified subset of their registry's
// index, checked against what the lock pins.
func (e *exporter) readPacks(ctx context.Context) error {
	o := e.o
	reg, err := lockRegistry(o.Lock, o.Env)
	if err != nil {
		return err
	}
	e.reg = reg
	if e.tr, err = reg.Transport(tokenOf(reg), 0, o.Env.Client.StallTimeout); err != nil {
		return err
	}
	if e.v, err = reg.Verifier(); err != nil {
		return err
	}
	if e.v == nil {
		e.warn("registry %s has no key: its packs are bundled unverified, and import will refuse them without one", reg.Name)
	}
	only := map[string][]string{}
	for _, l := range o.Lock.Layers {
		only[l.Pack] = append(only[l.Pack], l.Version)
	}
	if e.sub, err = publish.ReadSubset(ctx, e.tr, e.v, only); err != nil {
		return fmt.Errorf("read registry %s: %w", reg.Name, err)
	}
	if err := sitewalk.CheckExpiry(e.sub.Root, o.Now()); err != nil {
		return fmt.Errorf("registry %s: %w", reg.Name, err)
	}
	return checkLock(o.Lock, e.sub)
}

// makeStage makes the stage: a layout directory beside the output (same
// file system, so the finished tar is renamed into place). A killed
// export's stage is removed by the next (internal/stale). The returned
// cleanup removes it.
func (e *exporter) makeStage(ctx context.Context) (func(), error) {
	out, err := filepath.Abs(e.o.Output)
	if err != nil {
		return nil, err
	}
	e.out = out
	parent := filepath.Dir(out)
	stale.Sweep(parent, ".packgen-airgap-*")
	stage, release, err := stale.MkdirTemp(parent, ".packgen-airgap-*")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	e.stage = stage
	cleanup := func() {
		os.RemoveAll(stage)
		release()
	}
	e.layout = filepath.Join(stage, "layout")
	if e.store, err = oci.NewWithContext(ctx, e.layout); err != nil {
		cleanup()
		return nil, err
	}
	e.store.AutoSaveIndex = false // saved once, sorted (writeTar)
	return cleanup, nil
}

// bundlePacks stores each pack and notes the images it deploys.
func (e *exporter) bundlePacks(ctx context.Context) error {
	lock := e.o.Lock
	e.list = &List{SchemaVersion: ListVersion, Profile: lock.Profile.Name, Platform: e.o.Platform, Packs: []Pack{}, Images: []Image{},
		Registry: RegistryRef{Name: lock.Layers[0].Registry.Name, URL: lock.Layers[0].Registry.URL}}
	w := sitewalk.New(e.tr, e.v)
	e.needs = map[string][]string{}
	for _, r := range e.sub.Releases {
		p, err := exportPack(ctx, e.store, e.layout, w, r)
		if err != nil {
			return err
		}
		e.list.Packs = append(e.list.Packs, *p)
		id := r.Name + "@" + r.Release.Version
		if err := e.noteImages(id, blobPath(e.layout, p.Archive.Digest)); err != nil {
			return err
		}
		fmt.Fprintf(e.o.Log, "bundled %s (%s)\n", id, p.Manifest.Digest)
	}
	return nil
}

// noteImages adds the images the pack id's archive deploys to e.needs,
// warning of its problems and of the images it only maybe deploys.
func (e *exporter) noteImages(id, archive string) error {
	reports, err := images.Archive(archive, id)
	if err != nil {
		return fmt.Errorf("the images of %s: %w", id, err)
	}
	for _, rep := range reports {
		for _, pr := range rep.Problems {
			e.warn("%s: %s", id, pr.String())
		}
		for _, im := range rep.Images {
			if !im.Declared && !im.Deployed {
				e.warn("%s: %s is only maybe deployed (%s): not bundled; declare it in pack.content.images to bundle it", id, im.Image, im.Sources[0])
				continue
			}
			e.needs[im.Image] = append(e.needs[im.Image], id)
		}
	}
	return nil
}

// bundleImages copies the images' manifests (and signatures), several
// images at once, through one client per registry host (one connection
// pool, one token cache); every other blob is recorded once in e.big,
// however many images share it, and fetched by writeTar.
func (e *exporter) bundleImages(ctx context.Context) error {
	var refs []string
	for ref := range e.needs {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	e.list.Images = make([]Image, len(refs))
	var mu sync.Mutex // serialises the store's Tag (it rewrites its tag map)
	e.big = &direct{blobs: map[digest.Digest]directBlob{}}
	clients := ocireg.NewClients(e.o.OCI)
	return parallel.Each(ctx, len(refs), metaJobs(e.o.Jobs), func(i int) error {
		im, err := exportImage(ctx, e.store, &mu, e.big, refs[i], e.plat, clients)
		if err != nil {
			return err
		}
		im.Packs = e.needs[refs[i]]
		sort.Strings(im.Packs)
		e.list.Images[i] = *im
		mu.Lock()
		fmt.Fprintf(e.o.Log, "bundled %s (%s)\n", im.Image, im.Manifest.Digest)
		mu.Unlock()
		return nil
	})
}

// finish stores the list, writes the tar in the stage and renames it
// into place.
func (e *exporter) finish(ctx context.Context) error {
	ld, err := putList(ctx, e.store, e.list)
	if err != nil {
		return err
	}
	res := e.res
	res.Digest, res.Packs, res.Images = ld.Digest.String(), e.list.Packs, e.list.Images
	if err := e.store.SaveIndex(); err != nil {
		return err
	}
	tmp := filepath.Join(e.stage, "bundle.tar")
	if res.Blobs, err = writeTar(ctx, e.layout, tmp, e.big.blobs, e.o.Jobs); err != nil {
		return fmt.Errorf("write %s: %w", e.o.Output, err)
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		return err
	}
	res.Size = fi.Size()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp, e.out); err != nil {
		return fmt.Errorf("write %s: %w", e.o.Output, err)
	}
	return nil
}

// ErrNoSpace: the disk (or quota) holding the bundle and its stage is
// full, or a file size limit was hit. The operating system's error is
// wrapped too (errors.Is(err, syscall.ENOSPC)).
var ErrNoSpace = errors.New("no space for the bundle")

// noSpace marks a write that failed for want of space as ErrNoSpace,
// saying what to do; other errors pass as they are.
func noSpace(err error, out string) error {
	if err == nil || !(errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EDQUOT)) {
		return err
	}
	return fmt.Errorf("%w: %s: %w (the disk holding it is full, or a quota or file size limit was hit: free space, or write the bundle to another disk; nothing was left behind)", ErrNoSpace, out, err)
}

// lockRegistry is the one configured registry the lock's packs come
// from: the bundle carries one registry's index (publish it to one place).
func lockRegistry(lock *profile.Lock, env *profile.Env) (*client.Registry, error) {
	name := lock.Layers[0].Registry.Name
	for _, l := range lock.Layers[1:] {
		if l.Registry.Name != name {
			return nil, fmt.Errorf("%w: the lock's layers come from registries %s and %s: a bundle carries the packs of one registry; resolve the profile against one", ErrInput, name, l.Registry.Name)
		}
	}
	if env == nil {
		return nil, fmt.Errorf("%w: no registries configured", ErrInput)
	}
	return client.Lookup(env.Registries, name)
}

func tokenOf(reg *client.Registry) string {
	if reg.TokenEnv == "" {
		return ""
	}
	return os.Getenv(reg.TokenEnv)
}

// checkLock refuses a registry that no longer lists what the lock pins.
func checkLock(lock *profile.Lock, sub *publish.Subset) error {
	by := map[string]*index.Release{}
	for _, r := range sub.Releases {
		by[r.Name+"@"+r.Release.Version] = r.Release
	}
	for _, l := range lock.Layers {
		r := by[l.ID()]
		switch {
		case r == nil:
			return fmt.Errorf("%w: %s is not in registry %s", profile.ErrLockMismatch, l.ID(), l.Registry.Name)
		case r.Archive != l.Archive:
			return fmt.Errorf("%w: %s: the registry lists archive %s (sha256 %s), the lock pins %s (sha256 %s)", profile.ErrLockMismatch, l.ID(), r.Archive.Path, r.Archive.SHA256, l.Archive.Path, l.Archive.SHA256)
		case l.Signature != nil && r.Signature != l.Signature.Path:
			return fmt.Errorf("%w: %s: the registry's signature is %s, the lock pins %s", profile.ErrLockMismatch, l.ID(), r.Signature, l.Signature.Path)
		}
	}
	for _, r := range sub.Releases {
		for _, l := range lock.Layers {
			if l.ID() == r.Name+"@"+r.Release.Version && l.Signature != nil && index.Digest(r.Sigs[r.Release.Signature]) != l.Signature.SHA256 {
				return fmt.Errorf("%w: %s: the signature file %s is not the one the lock pins", profile.ErrLockMismatch, l.ID(), l.Signature.Path)
			}
		}
	}
	return nil
}

// blobPath is where the layout keeps a blob.
func blobPath(layout string, dg digest.Digest) string {
	return filepath.Join(layout, "blobs", dg.Algorithm().String(), dg.Encoded())
}

// exportPack streams a release's archive into the store (checked against
// the shard's digest as it goes), verifies its signature, and stores the
// ORAS-shaped manifest publish pushes for it.
func exportPack(ctx context.Context, store *oci.Store, layout string, w *sitewalk.Walker, r publish.SubsetRelease) (*Pack, error) {
	m := r.Manifest
	layer := m.Layers[0]
	id := r.Name + "@" + r.Release.Version
	if ok, err := store.Exists(ctx, layer); err != nil {
		return nil, err
	} else if !ok {
		resp, err := w.Open(ctx, r.Release.Archive.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		err = sitewalk.Announced(r.Release.Archive, resp)
		if err == nil {
			err = store.Push(ctx, layer, resp.Body) // verified against size and digest
		}
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: download %s: %w", id, r.Release.Archive.Path, err)
		}
	}
	if w.Verifier != nil {
		var sum [32]byte
		hex.Decode(sum[:], []byte(r.Release.Archive.SHA256))
		open := func() (io.ReadCloser, error) { return os.Open(blobPath(layout, layer.Digest)) }
		if err := w.ArchiveSignature(r.Release, r.Sigs[r.Release.Signature], sum, open); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
	}
	if err := pushBytes(ctx, store, m.Config, m.ConfigB); err != nil {
		return nil, err
	}
	if err := pushBytes(ctx, store, m.Desc, m.Manifest); err != nil {
		return nil, err
	}
	tag, err := ocimap.Tag(r.Release.Version)
	if err != nil {
		return nil, err
	}
	if err := store.Tag(ctx, m.Desc, ocimap.ArchiveRepo+"/"+r.Name+":"+tag); err != nil {
		return nil, err
	}
	return &Pack{Name: r.Name, Version: r.Release.Version, Tag: tag, Manifest: plain(m.Desc), Archive: plain(layer)}, nil
}

// plain is a descriptor without annotations, for the list.
func plain(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

func pushBytes(ctx context.Context, store content.Storage, d ocispec.Descriptor, data []byte) error {
	err := store.Push(ctx, d, bytes.NewReader(data))
	if errors.Is(err, errdef.ErrAlreadyExists) {
		return nil
	}
	return err
}

// exportIndex stores the subset's index files as the layers of one
// manifest, each titled by its site path.
func exportIndex(ctx context.Context, store *oci.Store, sub *publish.Subset) (ocispec.Descriptor, error) {
	var paths []string
	for p := range sub.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var layers []ocispec.Descriptor
	for _, p := range paths {
		d := ocimap.File(p, sub.Files[p])
		if err := pushBytes(ctx, store, d, sub.Files[p]); err != nil {
			return ocispec.Descriptor{}, err
		}
		layers = append(layers, d)
	}
	m, err := ocimap.FilesManifest(layers, nil)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := pushBytes(ctx, store, m.Config, m.ConfigB); err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := pushBytes(ctx, store, m.Desc, m.Manifest); err != nil {
		return ocispec.Descriptor{}, err
	}
	return plain(m.Desc), store.Tag(ctx, m.Desc, IndexTag)
}

// exportImage copies one image's manifests (whole, or its platform's)
// and its cosign signatures into the store; its other blobs are only
// recorded in big, for writeTar to stream into place.
func exportImage(ctx context.Context, store *oci.Store, mu *sync.Mutex, big *direct, image string, plat *ocispec.Platform, clients *ocireg.Clients) (*Image, error) {
	host, path, tag, pinned, err := splitImage(image)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	im := &Image{Image: image, Registry: host, Path: path, Tag: tag, Signatures: []Signature{}}
	repo, err := clients.Repository(ctx, host+"/"+path)
	if err != nil {
		return nil, err
	}
	ref := tag
	if pinned != "" {
		ref = pinned.String()
	}
	if ref == "" {
		ref = "latest"
	}
	// One GET resolves the reference and fetches the manifest (oras.Copy
	// keeps the body it resolved: the rest is copied by digest, so a
	// moving tag cannot change what was resolved). MapRoot sees the root
	// before anything is copied: the pin is checked and the signature
	// lookups start there, beside the copy.
	var upstreamSigs func() ([]signatureTag, error)
	var pinErr error
	var narrow oras.CopyOptions // oras-go's platform selection, for an index only
	narrow.WithTargetPlatform(plat)
	opts := oras.CopyOptions{CopyGraphOptions: oras.CopyGraphOptions{Concurrency: 3, FindSuccessors: big.successors(repo)}}
	opts.MapRoot = func(ctx context.Context, src content.ReadOnlyStorage, root ocispec.Descriptor) (ocispec.Descriptor, error) {
		if pinned != "" && root.Digest != pinned {
			pinErr = fmt.Errorf("%w: image %s: the registry answered %s", ocireg.ErrReference, image, root.Digest)
			return ocispec.Descriptor{}, pinErr
		}
		im.Upstream = root.Digest
		upstreamSigs = lookupSignatures(ctx, repo, root.Digest)
		if narrow.MapRoot != nil && (root.MediaType == ocispec.MediaTypeImageIndex || root.MediaType == "application/vnd.docker.distribution.manifest.list.v2+json") {
			return narrow.MapRoot(ctx, src, root)
		}
		return root, nil
	}
	var got ocispec.Descriptor
	err = copyRetag(ctx, repo, ref, store, opts, mu, image, &got)
	var found []signatureTag
	var sigErr error
	if upstreamSigs != nil {
		found, sigErr = upstreamSigs() // waited for even when the copy failed
	}
	switch {
	case pinErr != nil:
		return nil, pinErr
	case err != nil:
		return nil, fmt.Errorf("image %s: %w", image, ocireg.Wrap(image, repo.Client, err))
	}
	if sigErr == nil && got.Digest != im.Upstream {
		var more []signatureTag
		more, sigErr = lookupSignatures(ctx, repo, got.Digest)()
		found = append(found, more...)
	}
	if sigErr != nil {
		return nil, fmt.Errorf("image %s: %w", image, sigErr)
	}
	im.Manifest = plain(got)
	return im, copySignatures(ctx, repo, store, mu, im, host+"/"+path, found)
}

// copySignatures stores the signatures found for an image, once the
// image is in the store: a v3 signature's subject (the image) is then
// there, so its layers are not staged again.
func copySignatures(ctx context.Context, repo *remote.Repository, store *oci.Store, mu *sync.Mutex, im *Image, name string, found []signatureTag) error {
	for _, st := range found {
		var sg ocispec.Descriptor
		if err := copyRetag(ctx, repo, st.desc.Digest.String(), store, oras.CopyOptions{}, mu, name+":"+st.tag, &sg); err != nil {
			return fmt.Errorf("image %s: copy its signature %s: %w", im.Image, st.tag, ocireg.Wrap(name+":"+st.tag, repo.Client, err))
		}
		im.Signatures = append(im.Signatures, Signature{Tag: st.tag, Manifest: plain(sg)})
	}
	return nil
}

// signatureTag is a signature tag found in an image's repository.
type signatureTag struct {
	tag  string
	desc ocispec.Descriptor
}

// lookupSignatures asks repo for both of dg's signature tags (cosign's
// sha256-HEX.sig and the referrers tag sha256-HEX) at once, in the
// background: the returned func waits and returns those that exist, in
// that order. Export starts it as soon as the image's digest is known,
// so the two round trips run beside the image's copy instead of after
// it.
func lookupSignatures(ctx context.Context, repo *remote.Repository, dg digest.Digest) func() ([]signatureTag, error) {
	tags := []string{CosignTag(dg), ReferrersTag(dg)}
	found := make([]signatureTag, len(tags))
	errs := make([]error, len(tags))
	var wg sync.WaitGroup
	for i, st := range tags {
		wg.Go(func() {
			d, err := repo.Resolve(ctx, st)
			switch {
			case err == nil:
				found[i] = signatureTag{st, d}
			case !ocireg.IsNotFound(err):
				ref := repo.Reference.String() + ":" + st
				errs[i] = fmt.Errorf("look up its signature %s: %w", st, ocireg.Wrap(ref, repo.Client, err))
			}
		})
	}
	return func() ([]signatureTag, error) {
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		var out []signatureTag
		for _, f := range found {
			if f.tag != "" {
				out = append(out, f)
			}
		}
		return out, nil
	}
}

// direct collects the blobs that skip the staged layout: every blob an
// image's manifests name but manifests (configs, layers). Their sizes
// are in the manifests, so the tar is laid out without them and each
// streams from its registry straight into its place (writeTar): written
// once, and off the chain of round trips each image's manifests are.
type direct struct {
	mu    sync.Mutex
	blobs map[digest.Digest]directBlob
}

type directBlob struct {
	desc ocispec.Descriptor
	repo *remote.Repository
}

// successors is oras.Copy's FindSuccessors: a node's successors that are
// manifests; it records the others instead.
func (d *direct) successors(repo *remote.Repository) func(context.Context, content.Fetcher, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	return func(ctx context.Context, fetcher content.Fetcher, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		succ, err := content.Successors(ctx, fetcher, desc)
		if err != nil {
			return nil, err
		}
		var keep []ocispec.Descriptor
		for _, s := range succ {
			if isManifest(s.MediaType) {
				keep = append(keep, s)
				continue
			}
			d.mu.Lock()
			if _, ok := d.blobs[s.Digest]; !ok {
				d.blobs[s.Digest] = directBlob{ocispec.Descriptor{MediaType: s.MediaType, Digest: s.Digest, Size: s.Size}, repo}
			}
			d.mu.Unlock()
		}
		return keep, nil
	}
}

func isManifest(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

// copyRetag copies src's graph at ref into store and tags its root name.
func copyRetag(ctx context.Context, src *remote.Repository, ref string, store *oci.Store, opts oras.CopyOptions, mu *sync.Mutex, name string, got *ocispec.Descriptor) error {
	// oras.Copy tags the destination itself: through a wrapper that
	// takes the store's lock, since the store's tag map is shared.
	d, err := oras.Copy(ctx, src, ref, lockedTagger{store, mu}, name, opts)
	*got = d
	return err
}

type lockedTagger struct {
	*oci.Store
	mu *sync.Mutex
}

func (l lockedTagger) Tag(ctx context.Context, d ocispec.Descriptor, ref string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Store.Tag(ctx, d, ref)
}

// putList stores the list as the one layer of the manifest tagged
// ListTag.
func putList(ctx context.Context, store *oci.Store, list *List) (ocispec.Descriptor, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(list); err != nil {
		return ocispec.Descriptor{}, err
	}
	ld := content.NewDescriptorFromBytes(ListMediaType, buf.Bytes())
	if err := pushBytes(ctx, store, ld, buf.Bytes()); err != nil {
		return ocispec.Descriptor{}, err
	}
	md, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, ListArtifactType, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{ld},
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "1970-01-01T00:00:00Z"},
	})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return md, store.Tag(ctx, md, ListTag)
}

// writeTar writes the layout directory, with the big blobs of direct
// fetched from their registries, as a tar at dst, deterministically
// (oci-layout, index.json with its entries sorted, then every blob by
// digest; no times or owners). Every size is known first, so each
// entry's place is too: the file is laid out whole, the staged blobs
// are copied into their places and the direct ones stream into theirs
// from the registry, jobs at once, each checked against its digest. It
// returns the number of blobs.
func writeTar(ctx context.Context, layout, dst string, direct map[digest.Digest]directBlob, jobs int) (int, error) {
	entries, blobs, err := layoutEntries(layout, direct)
	if err != nil {
		return 0, err
	}
	headers, total, err := placeEntries(entries)
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := preallocate(f, total); err != nil { // zeros: padding and the end blocks
		return 0, fmt.Errorf("the bundle needs %d bytes: %w", total, err)
	}
	remote, err := writeLocal(ctx, f, entries, headers)
	if err != nil {
		return 0, err
	}
	if err := fetchRemote(ctx, f, remote, jobs); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return blobs, f.Close()
}

// tarEntry is an entry of the bundle's tar, with where its bytes come
// from.
type tarEntry struct {
	name   string
	dir    bool
	size   int64
	data   []byte      // small files
	file   string      // a staged blob
	remote *directBlob // a blob fetched now
	off    int64       // where its content starts in the tar
}

// layoutEntries lists the tar's entries in order: oci-layout, index.json
// (sorted: oras-go writes its entries in map order), the blob
// directories, then the staged and direct blobs by name. It also returns
// the number of blobs.
func layoutEntries(layout string, direct map[digest.Digest]directBlob) ([]*tarEntry, int, error) {
	ip := filepath.Join(layout, ocispec.ImageIndexFile)
	data, err := os.ReadFile(ip)
	if err != nil {
		return nil, 0, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, 0, err
	}
	sort.Slice(idx.Manifests, func(i, j int) bool {
		a, b := idx.Manifests[i], idx.Manifests[j]
		ra, rb := a.Annotations[ocispec.AnnotationRefName], b.Annotations[ocispec.AnnotationRefName]
		return ra < rb || ra == rb && a.Digest < b.Digest
	})
	if data, err = json.Marshal(idx); err != nil {
		return nil, 0, err
	}
	layoutFile, err := os.ReadFile(filepath.Join(layout, ocispec.ImageLayoutFile))
	if err != nil {
		return nil, 0, err
	}
	entries := []*tarEntry{
		{name: ocispec.ImageLayoutFile, size: int64(len(layoutFile)), data: layoutFile},
		{name: ocispec.ImageIndexFile, size: int64(len(data)), data: data},
		{name: "blobs/", dir: true},
		{name: "blobs/sha256/", dir: true},
	}
	var blobs []*tarEntry
	staged, err := os.ReadDir(filepath.Join(layout, "blobs", "sha256"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, err
	}
	have := map[string]bool{}
	for _, e := range staged {
		fi, err := e.Info()
		if err != nil {
			return nil, 0, err
		}
		have[e.Name()] = true
		blobs = append(blobs, &tarEntry{name: "blobs/sha256/" + e.Name(), size: fi.Size(), file: filepath.Join(layout, "blobs", "sha256", e.Name())})
	}
	for dg, b := range direct {
		if !have[dg.Encoded()] {
			b := b
			blobs = append(blobs, &tarEntry{name: "blobs/sha256/" + dg.Encoded(), size: b.desc.Size, remote: &b})
		}
	}
	sort.Slice(blobs, func(i, j int) bool { return blobs[i].name < blobs[j].name })
	return append(entries, blobs...), len(blobs), nil
}

// placeEntries encodes each entry's header (archive/tar's encoding) and
// sets its offset; it returns the headers and the tar's size.
func placeEntries(entries []*tarEntry) ([][]byte, int64, error) {
	var headers [][]byte
	var off int64
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Size: e.size, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if e.dir {
			h.Mode, h.Typeflag = 0o755, tar.TypeDir
		}
		var hb bytes.Buffer
		if err := tar.NewWriter(&hb).WriteHeader(h); err != nil {
			return nil, 0, err
		}
		headers = append(headers, hb.Bytes())
		off += int64(hb.Len())
		e.off = off
		off += e.size + (512-e.size%512)%512
	}
	return headers, off + 2*512, nil // the end-of-archive blocks
}

// writeLocal writes every header and the content of the entries at hand
// (small files, staged blobs) into their places; it returns the entries
// to fetch.
func writeLocal(ctx context.Context, f *os.File, entries []*tarEntry, headers [][]byte) ([]*tarEntry, error) {
	var remote []*tarEntry
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := f.WriteAt(headers[i], e.off-int64(len(headers[i]))); err != nil {
			return nil, err
		}
		switch {
		case e.data != nil:
			if _, err := f.WriteAt(e.data, e.off); err != nil {
				return nil, err
			}
		case e.file != "":
			bf, err := os.Open(e.file)
			if err != nil {
				return nil, err
			}
			n, err := io.Copy(io.NewOffsetWriter(f, e.off), bf)
			bf.Close()
			if err == nil && n != e.size {
				err = fmt.Errorf("%s changed while it was copied", e.file)
			}
			if err != nil {
				return nil, err
			}
		case e.remote != nil:
			remote = append(remote, e)
		}
	}
	return remote, nil
}

// fetchRemote streams the direct blobs from their registries into their
// places, jobs at once, each checked against its digest, its write-back
// started as it is written (internal/writeback). The biggest go first:
// a big layer started last would run alone at the end.
func fetchRemote(ctx context.Context, f *os.File, remote []*tarEntry, jobs int) error {
	sort.SliceStable(remote, func(i, j int) bool { return remote[i].size > remote[j].size })
	bufs := sync.Pool{New: func() any { return new([copyBuf]byte) }}
	return parallel.Each(ctx, len(remote), jobs, func(i int) error {
		e := remote[i]
		b := e.remote
		ref := b.repo.Reference.String() + "@" + b.desc.Digest.String()
		rc, err := b.repo.Blobs().Fetch(ctx, b.desc)
		if err != nil {
			return fmt.Errorf("fetch %s: %w", ref, ocireg.Wrap(ref, b.repo.Client, err))
		}
		defer rc.Close()
		vr := content.NewVerifyReader(rc, b.desc)
		w := writeback.At(f, e.off)
		buf := bufs.Get().(*[copyBuf]byte)
		defer bufs.Put(buf)
		if _, err := io.CopyBuffer(w, vr, buf[:]); err != nil {
			return fmt.Errorf("fetch %s: %w", ref, ocireg.Wrap(ref, b.repo.Client, err))
		}
		if err := vr.Verify(); err != nil {
			return fmt.Errorf("%w: %s: %v", publish.ErrRegistry, ref, err)
		}
		w.Flush()
		return nil
	})
}

// copyBuf is the size of each download's reads and writes into the
// bundle. io.Copy's 32 KiB made 7,700 writes for 240 MiB, each a trip
// through the file system's write path (and a time update of the
// file); 256 KiB makes an eighth of them, and cut the export's CPU by
// about a quarter (docs/PERFORMANCE.md). One buffer per download at a
// time.
const copyBuf = 256 << 10

// parsePlatform parses "os/arch[/variant]".
func parsePlatform(s string) (*ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("%w: --platform %q: expected OS/ARCH[/VARIANT], e.g. linux/amd64", ErrInput, s)
	}
	p := &ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// metaJobs bounds the images whose manifests are read at once: small
// requests, a few round trips in a row each, so more of them than of
// the layer downloads (jobs).
func metaJobs(jobs int) int { return 2 * jobs }
