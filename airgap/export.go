package airgap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/images/lockimages"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/profile"
	"github.com/packgen/packgen/publish"
	"github.com/packgen/packgen/sign"
	sitewalk "github.com/packgen/packgen/walk"
)

// ExportOptions say what to export and how.
type ExportOptions struct {
	Lock *profile.Lock
	// Profile is the lock's profile (Lock.LoadProfile): the images
	// bundled are those the packs deploy with its values overrides (a
	// private mirror, a new tag), as `profile render` writes them. nil:
	// the packs' own values.
	Profile *profile.Profile
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
	// always checked to name their image (as import checks them). An
	// image with no signature is refused (ErrUnsignedImage) unless
	// AllowUnsignedImages, which bundles it with a warning.
	ImageKeys           *sign.Verifier
	AllowUnsignedImages bool
	// uncheckedSigs skips that check: tests make the bundle an attacker
	// would, for import to refuse alone.
	uncheckedSigs bool
	// AllowDeleted exports a locked release its registry has deleted
	// since (retired), with a warning; without it that fails the export
	// (profile.ErrDeleted), as profile fetch does.
	AllowDeleted bool
	RunOptions
}

// ExportResult reports an export.
type ExportResult struct {
	Output   string       `json:"output"`
	Digest   string       `json:"digest"` // of the list manifest
	Size     int64        `json:"size"`   // of the bundle file
	Blobs    int          `json:"blobs"`  // distinct blobs stored
	Packs    []list.Pack  `json:"packs"`
	Images   []list.Image `json:"images"`
	Warnings []string     `json:"-"` // also written to Warn
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
	o.defaults(8)
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
	cleanup, err := e.makeStage()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	for _, phase := range []func(context.Context) error{e.bundlePacks, e.exportPackSignatures, e.storeIndex, e.writeBundle, e.finish} {
		if err := phase(ctx); err != nil {
			return nil, err
		}
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
	out, stage string
	store      *stageStore

	// bundlePacks, bundleImages
	list  *list.List
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
	if err := checkLock(o.Lock, e.sub); err != nil {
		return err
	}
	return e.checkRetired()
}

// checkRetired warns of each locked release the registry has deprecated
// or deleted since, and refuses a deleted one without AllowDeleted
// (profile.UseRetired).
func (e *exporter) checkRetired() error {
	var errs []error
	for _, r := range e.sub.Releases {
		w, err := profile.UseRetired(r.Name, r.Release, e.o.AllowDeleted)
		if w != "" {
			e.warn("%s", w)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// makeStage makes the stage: a directory beside the output (same file
// system, so the finished tar is renamed into place) for the tar and the
// staged blobs kept as files. A killed export's stage is removed by the
// next (internal/stale). The returned cleanup removes it.
func (e *exporter) makeStage() (func(), error) {
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
	if e.store, err = newStage(stage); err != nil {
		cleanup()
		return nil, err
	}
	return cleanup, nil
}

// bundlePacks stores each pack and notes the images it deploys.
func (e *exporter) bundlePacks(ctx context.Context) error {
	lock := e.o.Lock
	e.list = &list.List{SchemaVersion: list.ListVersion, Profile: lock.Profile.Name, Platform: e.o.Platform, Packs: []list.Pack{}, Images: []list.Image{},
		Registry: list.RegistryRef{Name: lock.Layers[0].Registry.Name, URL: lock.Layers[0].Registry.URL}}
	w := sitewalk.New(e.tr, e.v)
	e.needs = map[string][]string{}
	for _, r := range e.sub.Releases {
		p, err := exportPack(ctx, e.store, w, r)
		if err != nil {
			return err
		}
		e.list.Packs = append(e.list.Packs, *p)
		id := r.Name + "@" + r.Release.Version
		if err := e.noteImages(id, lock.Find(r.Name), e.store.Path(p.Archive.Digest)); err != nil {
			return err
		}
		fmt.Fprintf(e.o.Log, "bundled %s (%s)\n", id, p.Manifest.Digest)
	}
	return nil
}

// noteImages adds the images the pack id's archive deploys with the
// profile's overrides for its locked layer l to e.needs, warning of its
// problems and of the images it only maybe deploys.
func (e *exporter) noteImages(id string, l *profile.LockedPack, archive string) error {
	if l == nil {
		return fmt.Errorf("%w: %s is not in the lock", profile.ErrLockMismatch, id)
	}
	reports, err := lockimages.Locked(archive, *l, e.o.Profile)
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

// writeBundle writes the bundle's tar in the stage: the images'
// manifests are read (bundleImages) while the blobs already placed
// download beside them; then the images' signatures are checked, the
// list stored, and the staged blobs and index.json written.
func (e *exporter) writeBundle(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	layoutFile, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return err
	}
	t, err := newBundleTar(filepath.Join(e.stage, "bundle.tar"), layoutFile, e.store.open)
	if err != nil {
		return e.writeErr(err)
	}
	defer t.f.Close()
	dl := make(chan error, 1)
	go func() {
		err := t.download(ctx, e.o.Jobs)
		if err != nil {
			cancel() // stop the manifests too
		}
		dl <- err
	}()
	wait := sync.OnceValue(func() error { t.close(); return <-dl })
	defer func() { cancel(); wait() }() // no download left writing, whatever happens
	err = e.bundleImages(ctx, t)
	if err == nil && !e.o.uncheckedSigs {
		err = e.checkImageSignatures(ctx)
	}
	if err == nil {
		err = e.storeList(ctx)
	}
	if err == nil {
		if e.res.Size, err = t.finish(ctx, e.store.entries, wait); err == nil {
			e.res.Blobs = t.blobs
			return nil
		}
		err = e.writeErr(err)
	}
	cancel()
	// A failed download cancels the rest: its error is the cause.
	if derr := wait(); derr != nil && errors.Is(err, context.Canceled) && !errors.Is(derr, context.Canceled) {
		return e.writeErr(derr)
	}
	return err
}

// writeErr says an error was the bundle's writing (or a blob's
// download into it).
func (e *exporter) writeErr(err error) error {
	return fmt.Errorf("write %s: %w", e.o.Output, err)
}

// bundleImages copies the images' manifests (and signatures), several
// images at once, through one client per registry host (one connection
// pool, one token cache). Every other blob is recorded once in e.big,
// however many images share it, and placed in the tar as soon as its
// image's manifests and those of every image before it in the list are
// read: t downloads it from then on.
func (e *exporter) bundleImages(ctx context.Context, t *bundleTar) error {
	var refs []string
	for ref := range e.needs {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	e.list.Images = make([]list.Image, len(refs))
	var mu sync.Mutex // serialises the log
	e.big = newDirect()
	clients := ocireg.NewClients(e.o.OCI)
	var pmu sync.Mutex // placing: in the list's order, whichever image ends first
	read, next := make([]bool, len(refs)), 0
	return parallel.Each(ctx, len(refs), metaJobs(e.o.Jobs), func(i int) error {
		im, err := exportImage(ctx, e.store, e.big, refs[i], e.plat, clients)
		if err != nil {
			return err
		}
		im.Packs = e.needs[refs[i]]
		sort.Strings(im.Packs)
		e.list.Images[i] = *im
		mu.Lock()
		fmt.Fprintf(e.o.Log, "bundled %s (%s)\n", im.Image, im.Manifest.Digest)
		mu.Unlock()
		pmu.Lock()
		defer pmu.Unlock()
		for read[i] = true; next < len(refs) && read[next]; next++ {
			if _, err := t.place(e.big.entries(refs[next], e.list.Images[next].Manifest.Digest)); err != nil {
				return e.writeErr(fmt.Errorf("image %s: %w", refs[next], err))
			}
		}
		return nil
	})
}

// storeList stores the list.
func (e *exporter) storeList(ctx context.Context) error {
	ld, err := putList(ctx, e.store, e.list)
	if err != nil {
		return err
	}
	res := e.res
	res.Digest, res.Packs, res.Images = ld.Digest.String(), e.list.Packs, e.list.Images
	return nil
}

// finish renames the written bundle into place.
func (e *exporter) finish(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(e.stage, "bundle.tar"), e.out); err != nil {
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

// exportPack streams a release's archive into a file of the stage
// (checked against the shard's digest as it goes), verifies its
// signature, and stores the ORAS-shaped manifest publish pushes for it.
func exportPack(ctx context.Context, store *stageStore, w *sitewalk.Walker, r publish.SubsetRelease) (*list.Pack, error) {
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
			err = store.PushFile(ctx, layer, resp.Body) // verified against size and digest
		}
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: download %s: %w", id, r.Release.Archive.Path, err)
		}
	}
	if w.Verifier != nil {
		open := func() (io.ReadCloser, error) { return os.Open(store.Path(layer.Digest)) }
		if err := w.ReleaseSignature(r.Release, r.Sigs[r.Release.Signature], open); err != nil {
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
	return &list.Pack{Name: r.Name, Version: r.Release.Version, Tag: tag, Manifest: plain(m.Desc), Archive: plain(layer)}, nil
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

// storeIndex stores the packgen index files, one manifest (a phase of
// Export).
func (e *exporter) storeIndex(ctx context.Context) (err error) {
	e.list.Index, err = exportIndex(ctx, e.store, e.sub)
	return err
}

// exportIndex stores the subset's index files as the layers of one
// manifest, each titled by its site path.
func exportIndex(ctx context.Context, store *stageStore, sub *publish.Subset) (ocispec.Descriptor, error) {
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
	return plain(m.Desc), store.Tag(ctx, m.Desc, list.IndexTag)
}

// exportImage copies one image's manifests (whole, or its platform's)
// and its cosign signatures into the store; its other blobs are only
// recorded in big, for bundleTar to stream into place.
func exportImage(ctx context.Context, store *stageStore, big *direct, image string, plat *ocispec.Platform, clients *ocireg.Clients) (*list.Image, error) {
	host, path, tag, pinned, err := list.SplitImage(image)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	im := &list.Image{Image: image, Registry: host, Path: path, Tag: tag, Signatures: []list.Signature{}}
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
	var pinErr, stageErr error  // ours, not the registry's: returned as they are
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
		if narrow.MapRoot != nil && (root.MediaType == ocispec.MediaTypeImageIndex || root.MediaType == dockerIndex) {
			if err := stageIndex(ctx, store, src, root); err != nil {
				stageErr = fmt.Errorf("image %s: %w", image, err)
				return ocispec.Descriptor{}, stageErr
			}
			return narrow.MapRoot(ctx, src, root)
		}
		return root, nil
	}
	var got ocispec.Descriptor
	err = copyRetag(ctx, repo, ref, store, opts, image, &got)
	var found []signatureTag
	var sigErr error
	if upstreamSigs != nil {
		found, sigErr = upstreamSigs() // waited for even when the copy failed
	}
	switch {
	case pinErr != nil:
		return nil, pinErr
	case stageErr != nil:
		return nil, stageErr
	case err != nil:
		return nil, ocireg.Doing("image", image, repo.Client, err)
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
	return im, copySignatures(ctx, repo, store, big, im, host+"/"+path, found)
}

// stageIndex stores the index a platform's manifest is taken from, as
// a plain blob (the layout does not list it: its other manifests are
// not there): its signatures sign the manifest only through it, and
// import believes the list's upstream digest only when the bundle holds
// an index of that digest listing the manifest (ownDigest). oras.Copy
// has it in memory already (resolving the tag read it).
func stageIndex(ctx context.Context, store *stageStore, src content.ReadOnlyStorage, root ocispec.Descriptor) error {
	if root.Size > maxImageManifests {
		return fmt.Errorf("its index %s of %d bytes (at most %d expected)", root.Digest, root.Size, int64(maxImageManifests))
	}
	data, err := content.FetchAll(ctx, src, root)
	if err != nil {
		return err
	}
	err = store.Push(ctx, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: root.Digest, Size: root.Size}, bytes.NewReader(data))
	if errors.Is(err, errdef.ErrAlreadyExists) {
		return nil // another image's, or this one's by another tag
	}
	return err
}

// copySignatures stores the signatures found for an image, whole, once
// the image is in the store: a v3 signature's subject (the image) is
// then there, so its layers are not staged again. Their graphs are
// recorded in big too, so the tar's layout does not depend on whether
// a manifest both a signature and an image name was copied as one or
// the other first.
func copySignatures(ctx context.Context, repo *remote.Repository, store *stageStore, big *direct, im *list.Image, name string, found []signatureTag) error {
	opts := oras.CopyOptions{CopyGraphOptions: oras.CopyGraphOptions{FindSuccessors: big.all(repo)}}
	for _, st := range found {
		var sg ocispec.Descriptor
		if err := copyRetag(ctx, repo, st.desc.Digest.String(), store, opts, name+":"+st.tag, &sg); err != nil {
			return fmt.Errorf("image %s: %w", im.Image, ocireg.Doing("copy its signature", name+":"+st.tag, repo.Client, err))
		}
		im.Signatures = append(im.Signatures, list.Signature{Tag: st.tag, Manifest: plain(sg)})
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
	tags := []string{list.CosignTag(dg), list.ReferrersTag(dg)}
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
				errs[i] = ocireg.Doing("look up its signature", repo.Reference.String()+":"+st, repo.Client, err)
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

// maxImageManifests bounds the bytes of the manifests read for an
// image (its own, counted apart from its signatures', which are counted
// together): oras.Copy holds every manifest it reads in memory until it
// returns, and twice as many images as download jobs are copied at
// once.
const maxImageManifests = 4 << 20

// artifactManifest is OCI 1.1-rc's artifact manifest, which
// content.Successors reads too.
const artifactManifest = "application/vnd.oci.artifact.manifest.v1+json"

// direct collects the blobs that skip the staged layout: every blob an
// image's manifests name but manifests (configs, layers). Their sizes
// are in the manifests, so each streams from its registry straight into
// its place in the tar (bundleTar): written once, and off the chain of
// round trips each image's manifests are.
type direct struct {
	mu sync.Mutex
	// graph is every manifest's successors, as it names them, recorded
	// by whichever copy read it: an image whose copy found a manifest
	// stored already (another image's) still finds its blobs here.
	graph map[digest.Digest][]ocispec.Descriptor
	// first is where each digest was first named.
	first    map[digest.Digest]firstNamed
	named    int // descriptors in graph
	maxNamed int // at most: maxNamed, tests' own
}

// firstNamed is a digest's first sighting: the size it was named with,
// by which manifest, and the repository of the copy that first named it
// as a blob (not a manifest), which entries fetches it from.
type firstNamed struct {
	size int64
	by   digest.Digest
	repo *remote.Repository
}

// maxNamed bounds the descriptors all the images' manifests name
// together (graph, and the blobs and tar entries they become, a few
// hundred bytes each): maxImageManifests bounds an image's, not how many
// images a registry serves such manifests for.
const maxNamed = 100_000

func newDirect() *direct {
	return &direct{graph: map[digest.Digest][]ocispec.Descriptor{}, first: map[digest.Digest]firstNamed{}, maxNamed: maxNamed}
}

type directBlob struct {
	desc ocispec.Descriptor
	repo *remote.Repository
}

// successors is oras.Copy's FindSuccessors for an image: a node's
// successors that are manifests as oras reads them (isManifest: an
// artifact manifest too, whose blobs import's copy pushes); it records
// the others instead, to stream into the tar, and the node's graph.
func (d *direct) successors(repo *remote.Repository) func(context.Context, content.Fetcher, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	return d.find(repo, true)
}

// all is oras.Copy's FindSuccessors for what is staged whole: every
// successor; the graph is recorded all the same.
func (d *direct) all(repo *remote.Repository) func(context.Context, content.Fetcher, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	return d.find(repo, false)
}

func (d *direct) find(repo *remote.Repository, manifestsOnly bool) func(context.Context, content.Fetcher, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	// oras.Copy keeps every manifest it reads in memory until it
	// returns: what one copy reads is bounded, each manifest counted
	// before it is fetched (its size is checked as it is read).
	var read atomic.Int64
	return func(ctx context.Context, fetcher content.Fetcher, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if isManifest(desc.MediaType) {
			if n := read.Add(desc.Size); desc.Size > maxImageManifests || n > maxImageManifests {
				return nil, fmt.Errorf("%w: manifest %s (%d bytes) takes the image's manifests to %d bytes: expected at most %d (an image's manifests, its index and signatures included, are a few KiB; more is refused so that they are never all held in memory)", publish.ErrRegistry, desc.Digest, desc.Size, n, int64(maxImageManifests))
			}
		}
		succ, err := content.Successors(ctx, fetcher, desc)
		if err != nil {
			return nil, err
		}
		for _, s := range succ {
			if s.Size < 0 { // before anything is fetched or reserved for it
				return nil, fmt.Errorf("%w: manifest %s names %s (%s) with size %d: expected a size of 0 or more bytes", publish.ErrRegistry, desc.Digest, s.Digest, s.MediaType, s.Size)
			}
		}
		keep := succ
		if manifestsOnly {
			keep = nil
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, seen := d.graph[desc.Digest]; !seen { // two images may read one manifest
			d.named += len(succ)
		}
		if d.named > d.maxNamed {
			return nil, fmt.Errorf("%w: manifest %s takes the descriptors the images' manifests name to %d: expected at most %d in all (50 images name a few hundred; each is kept in memory until the bundle is written)", publish.ErrRegistry, desc.Digest, d.named, d.maxNamed)
		}
		// What entries needs of each successor, no more: a descriptor's
		// annotations are the registry's to inflate.
		compact := make([]ocispec.Descriptor, len(succ))
		for i, s := range succ {
			compact[i] = ocispec.Descriptor{MediaType: s.MediaType, Digest: s.Digest, Size: s.Size}
			// A digest fixes its bytes: named with another size (as a
			// config and a layer, or by two images), one manifest lies,
			// and the bundle, holding one size, would not import.
			if first, ok := d.first[s.Digest]; ok && first.size != s.Size {
				return nil, fmt.Errorf("%w: manifest %s names %s with size %d, manifest %s named it with size %d: expected one size for one digest", publish.ErrRegistry, desc.Digest, s.Digest, s.Size, first.by, first.size)
			} else if !ok {
				d.first[s.Digest] = firstNamed{size: s.Size, by: desc.Digest}
			}
		}
		d.graph[desc.Digest] = compact
		for _, s := range succ {
			if !isManifest(s.MediaType) {
				if first := d.first[s.Digest]; first.repo == nil {
					first.repo = repo
					d.first[s.Digest] = first
				}
			} else if manifestsOnly {
				keep = append(keep, s)
			}
		}
		return keep, nil
	}
}

// entries are the tar entries of the blobs below image's root, in the
// order its manifests name them (an index's manifests in turn, each its config
// then its layers; an artifact manifest's blobs), each once: the
// bundle's order for the image. The
// sizes are the manifests' own; where a blob comes from is the first
// repository that named it.
func (d *direct) entries(image string, root digest.Digest) []*tarEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*tarEntry
	seen := map[digest.Digest]bool{root: true}
	var walk func(digest.Digest)
	walk = func(dg digest.Digest) {
		for _, s := range d.graph[dg] {
			if seen[s.Digest] {
				continue
			}
			seen[s.Digest] = true
			if isManifest(s.MediaType) {
				walk(s.Digest)
				continue
			}
			b := directBlob{ocispec.Descriptor{MediaType: s.MediaType, Digest: s.Digest, Size: s.Size}, d.first[s.Digest].repo}
			out = append(out, &tarEntry{name: "blobs/sha256/" + s.Digest.Encoded(), size: s.Size, remote: &b, image: image})
		}
	}
	walk(root)
	return out
}

// isManifest says whether oras-go (content.Successors) reads a
// descriptor of this media type as a manifest whose graph it copies:
// an image manifest or index, OCI's or Docker's, or OCI 1.1-rc's
// artifact manifest. The stage lists each by digest, and the tar
// bundles each as a manifest, never streamed as a blob.
func isManifest(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		dockerManifest, dockerIndex, artifactManifest:
		return true
	}
	return false
}

// copyRetag copies src's graph at ref into store and tags its root name.
func copyRetag(ctx context.Context, src *remote.Repository, ref string, store *stageStore, opts oras.CopyOptions, name string, got *ocispec.Descriptor) error {
	d, err := oras.Copy(ctx, src, ref, store, name, opts)
	*got = d
	return err
}

// putList stores the list as the one layer of the manifest tagged
// ListTag.
func putList(ctx context.Context, store *stageStore, l *list.List) (ocispec.Descriptor, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return ocispec.Descriptor{}, err
	}
	ld := content.NewDescriptorFromBytes(list.ListMediaType, buf.Bytes())
	if err := pushBytes(ctx, store, ld, buf.Bytes()); err != nil {
		return ocispec.Descriptor{}, err
	}
	md, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, list.ListArtifactType, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{ld},
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "1970-01-01T00:00:00Z"},
	})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return md, store.Tag(ctx, md, list.ListTag)
}

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
