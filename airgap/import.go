package airgap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/linesplit"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/publish"
	"github.com/packgen/packgen/sign"
	sitewalk "github.com/packgen/packgen/walk"
)

// ImportOptions say where a bundle goes.
type ImportOptions struct {
	Bundle string
	Dest   string // oci://REGISTRY/BASE
	// Key verifies the packs' registry index and signatures; required.
	Key *sign.Verifier
	// ImageKeys, when set, are the cosign public keys every signature
	// the bundle carries for an image must verify under (one of them),
	// and every image must carry one; without, each signature is
	// checked to sign its image's digest only.
	ImageKeys *sign.Verifier
	// AllowUnsignedImages takes an image that carries no signature
	// under ImageKeys with a warning; without it that is refused
	// (ErrUnsignedImage).
	AllowUnsignedImages bool
	// Digest, when set, is the list manifest's digest export printed
	// (carried apart from the bundle): it pins every image and pack, so a
	// bundle altered consistently (an image swapped and the list edited)
	// is refused too.
	Digest string
	// OCI reaches the air-gapped registry.
	OCI ocireg.Options
	// Force moves an image tag that names other content (an upstream tag
	// that moved since an earlier import); pack tags never move.
	Force bool
	RunOptions
}

// ImportResult reports an import.
type ImportResult struct {
	Dest     string          `json:"dest"`
	Packs    []ImportedPack  `json:"packs"`
	Images   []ImportedImage `json:"images"`
	Mappings []Mapping       `json:"mappings"`
	Index    string          `json:"index"` // REGISTRY/BASE/packgen/index
	Blobs    int             `json:"blobs"` // blobs verified
	Bytes    int64           `json:"bytes"` // their bytes
	Warnings []string        `json:"-"`     // also written to Warn
}

// ImportedPack is a pack pushed (or found there already).
type ImportedPack struct {
	Pack    string `json:"pack"`
	Version string `json:"version"`
	Ref     string `json:"ref"` // REGISTRY/BASE/spectro-packs/archive/NAME:TAG
	Digest  string `json:"digest"`
}

// ImportedImage is an image pushed (or found there already).
type ImportedImage struct {
	Image      string   `json:"image"` // as the packs name it
	Ref        string   `json:"ref"`   // where it is now
	Digest     string   `json:"digest"`
	Signatures []string `json:"signatures"` // REF:sha256-HEX.sig
	Present    bool     `json:"present"`    // was there already
}

// maxIndexFile bounds one packgen index file read from a bundle (the
// walker applies each kind's own bound after).
const maxIndexFile = 64 << 20

// Import verifies a bundle whole (every blob against its digest, the
// packs' index and signatures under o.Key) and only then pushes it: the
// images to BASE/spectro-images/ORIGINAL-REGISTRY/PATH, then the packs
// and their index as publish pushes them, the index root last. Pushing
// skips what is there, so an interrupted import runs again to completion.
func Import(ctx context.Context, o ImportOptions) (*ImportResult, error) {
	o.defaults(4)
	dest, err := ocimap.ParseLocation(o.Dest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	if o.Key == nil {
		return nil, fmt.Errorf("%w: pass --key registry.pub, the public key of the registry the packs come from (import verifies every pack before pushing anything)", ErrNoKey)
	}
	b, err := Open(ctx, o.Bundle)
	if err != nil {
		return nil, err
	}
	if o.Digest != "" && b.list.Digest.String() != o.Digest {
		return nil, fmt.Errorf("%w: %s: its list is %s, not %s (the digest export printed): it is not that bundle, or it was altered", ErrBundle, o.Bundle, b.list.Digest, o.Digest)
	}
	im := &importer{o: o, b: b, dest: dest, res: &ImportResult{Dest: dest.String(), Packs: []ImportedPack{}, Images: []ImportedImage{}, Warnings: []string{},
		Index: dest.Ref(dest.Repo(ocimap.IndexRepo))}}
	im.warn = warner(&im.res.Warnings, o.Warn)
	for _, phase := range []func(context.Context) error{im.verify, im.checkTargets, im.pushImages, im.pushPackSignatures, im.pushPacks} {
		if err := phase(ctx); err != nil {
			return nil, err
		}
	}
	res := im.res
	for _, r := range im.sub.Releases {
		tag, _ := ocimap.Tag(r.Release.Version)
		res.Packs = append(res.Packs, ImportedPack{Pack: r.Name, Version: r.Release.Version, Ref: dest.Ref(dest.PackRepo(r.Name)) + ":" + tag, Digest: r.Manifest.Desc.Digest.String()})
	}
	res.Mappings = mappings(b.List.Images, dest.Ref(dest.Repo(list.ImagesRepo)))
	if res.Mappings == nil {
		res.Mappings = []Mapping{}
	}
	return res, nil
}

// importer is the state of one Import, a method per step.
type importer struct {
	o    ImportOptions
	b    *Bundle
	dest ocimap.Location
	// destTr reads dest (destination).
	destTr transport.Transport
	res    *ImportResult
	warn   func(format string, args ...any)

	tr       transport.Transport // verify: the bundle as a site
	sub      *publish.Subset     // verify: the packs, verified
	targets  []importTarget      // checkTargets
	present  []bool              // checkTargets: the image is there already
	sigRepo  *remote.Repository  // checkTargets: the packs' signatures
	packSigs []packSigTarget     // checkTargets
}

// importTarget is where an image of the bundle goes.
type importTarget struct {
	im   list.Image
	repo *remote.Repository
	tag  string
}

// verify checks every blob against its digest, then the packs: their
// index's signature and pins, and each archive's signature, through the
// same walk publish and the client make.
func (im *importer) verify(ctx context.Context) error {
	var err error
	if im.res.Blobs, im.res.Bytes, err = im.b.Verify(ctx); err != nil {
		return err
	}
	if err := im.b.verifyImageSignatures(ctx, im.o.ImageKeys, im.o.AllowUnsignedImages, im.warn); err != nil {
		return err
	}
	if im.tr, err = im.b.Transport(ctx); err != nil {
		return err
	}
	if im.sub, err = im.b.VerifyPacks(ctx, im.tr, im.o.Key); err != nil {
		return err
	}
	if err := im.verifyPackSignatures(ctx); err != nil {
		return err
	}
	if err := sitewalk.CheckExpiry(im.sub.Root, im.o.Now()); err != nil {
		im.warn("the packs' index has expired (%v): clients of the air-gapped registry will refuse it until the registry owner publishes a fresh one and it is imported", err)
	}
	return nil
}

// checkTargets decides where each image goes, and that no tag moves
// unless forced, and which pack signatures are there, before anything
// is pushed.
func (im *importer) checkTargets(ctx context.Context) error {
	if err := im.checkLiveRoot(ctx); err != nil {
		return err
	}
	if err := im.checkPackSigTargets(ctx); err != nil {
		return err
	}
	dest := im.dest
	im.targets = make([]importTarget, len(im.b.List.Images))
	for i, image := range im.b.List.Images {
		repoName := dest.Repo(list.ImagesRepo + "/" + list.HostPath(image.Registry) + "/" + image.Path)
		repo, err := ocireg.Repository(ctx, dest.Ref(repoName), im.o.OCI)
		if err != nil {
			return err
		}
		im.targets[i] = importTarget{im: image, repo: repo, tag: image.Tag}
	}
	im.present = make([]bool, len(im.targets))
	return parallel.Each(ctx, len(im.targets), im.o.Jobs, func(i int) error {
		t := im.targets[i]
		ref := t.tag
		if ref == "" {
			ref = t.im.Manifest.Digest.String()
		}
		d, err := t.repo.Resolve(ctx, ref)
		switch {
		case err != nil && ocireg.IsNotFound(err):
			return nil
		case err != nil:
			return ocireg.Doing("check", t.repo.Reference.String()+":"+ref, t.repo.Client, err)
		case d.Digest == t.im.Manifest.Digest:
			im.present[i] = true
			return nil
		case !im.o.Force:
			return fmt.Errorf("%w: %s:%s names %s, the bundle's %s is %s: nothing pushed; pass --force to move the tag (the image changed upstream since an earlier import)", ErrImageTag, t.repo.Reference, ref, d.Digest, t.im.Image, t.im.Manifest.Digest)
		}
		return nil
	})
}

// destination opens the destination for reading, once, as clients read
// it: its live index (checkLiveRoot), an earlier import's marker
// (readMarker) and what earlier imports left there (reachable).
func (im *importer) destination() (transport.Transport, error) {
	if im.destTr != nil {
		return im.destTr, nil
	}
	l, err := location.Parse(im.o.Dest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	if im.destTr, err = transport.Open(l, transport.Config{OCI: im.o.OCI}); err != nil {
		return nil, err
	}
	return im.destTr, nil
}

// checkLiveRoot refuses, before anything is pushed, a bundle whose index
// is older than the one the destination serves (an older bundle imported
// by mistake): publish would refuse its root only after the images, the
// packs and the marker went out, and the marker would then describe a
// root that never went live. The same bundle again is no rollback.
func (im *importer) checkLiveRoot(ctx context.Context) error {
	dest, err := im.destination()
	if err != nil {
		return err
	}
	data, err := transport.Fetch(dest)(ctx, index.RootFile, index.MaxRootSize)
	if errors.Is(err, index.ErrNotFound) {
		return nil // a first import
	}
	if err != nil {
		return fmt.Errorf("read the index.json %s serves: %w", im.o.Dest, err)
	}
	live, err := index.ParseRoot(data)
	if err != nil {
		return nil // publish says what it is
	}
	root := im.sub.Root
	if root.Serial > live.Serial || bytes.Equal(im.sub.Files[index.RootFile], data) {
		return nil
	}
	return fmt.Errorf("%w: the bundle's index (serial %d, built from commit %s) is not newer than the one %s serves (serial %d, built from commit %s): nothing pushed. Import the newest bundle exported from the registry; importing an older one would roll the air-gapped registry back", publish.ErrRollback, root.Serial, index.ShortHash(root.Source.Commit), im.o.Dest, live.Serial, index.ShortHash(live.Source.Commit))
}

// pushImages pushes the images (and their signatures) first: the packs
// that need them become visible only with the index root, last.
func (im *importer) pushImages(ctx context.Context) error {
	var mu sync.Mutex
	im.res.Images = make([]ImportedImage, len(im.targets))
	return parallel.Each(ctx, len(im.targets), im.o.Jobs, func(i int) error {
		ii, err := im.pushImage(ctx, im.targets[i], im.present[i])
		if err != nil {
			return err
		}
		im.res.Images[i] = *ii
		mu.Lock()
		if ii.Present {
			fmt.Fprintf(im.o.Log, "present %s\n", ii.Ref)
		} else {
			fmt.Fprintf(im.o.Log, "uploaded %s\n", ii.Ref)
		}
		mu.Unlock()
		return nil
	})
}

// pushImage pushes one image unless present, then its signatures not
// there yet.
func (im *importer) pushImage(ctx context.Context, t importTarget, present bool) (*ImportedImage, error) {
	ii := &ImportedImage{Image: t.im.Image, Digest: t.im.Manifest.Digest.String(), Signatures: []string{}, Present: present}
	ii.Ref = t.repo.Reference.String() + ":" + t.tag
	if t.tag == "" {
		ii.Ref = t.repo.Reference.String() + "@" + ii.Digest
	}
	if !present {
		if err := pushGraph(ctx, im.b.store, t.im.Manifest, t.repo, t.tag); err != nil {
			return nil, ocireg.Doing("push", ii.Ref, t.repo.Client, err)
		}
	}
	for _, s := range t.im.Signatures {
		// Pushing by tag always PUTs the manifest: skip one there.
		if d, err := t.repo.Resolve(ctx, s.Tag); err == nil && d.Digest == s.Manifest.Digest {
			ii.Signatures = append(ii.Signatures, t.repo.Reference.String()+":"+s.Tag)
			continue
		}
		if err := pushGraph(ctx, im.b.store, s.Manifest, t.repo, s.Tag); err != nil {
			return nil, ocireg.Doing("push", t.repo.Reference.String()+":"+s.Tag, t.repo.Client, err)
		}
		ii.Signatures = append(ii.Signatures, t.repo.Reference.String()+":"+s.Tag)
	}
	return ii, nil
}

// pushPacks pushes the packs and their index, as publish pushes them
// (tags never moved, the base artifact, the index root last).
func (im *importer) pushPacks(ctx context.Context) error {
	o := im.o
	only := map[string][]string{}
	for _, p := range im.b.List.Packs {
		only[p.Name] = append(only[p.Name], p.Version)
	}
	// The marker first: a client that sees the new root sees it too.
	if err := im.pushMarker(ctx); err != nil {
		return err
	}
	const src = "airgap-bundle://bundle"
	_, err := publish.To(ctx, src, o.Dest, publish.DestOptions{OCI: publish.OCIOptions{
		Repos:  func(ref string) (*remote.Repository, error) { return ocireg.Repository(ctx, ref, o.OCI) },
		Source: func(location.Location) (transport.Transport, error) { return im.tr, nil },
		Verify: o.Key,
		Only:   only,
		// pushPackSignatures pushed what the bundle carries, and
		// verifyPackSignatures said what it does not.
		SignaturesCarried: true,
	}}, publish.Options{Jobs: o.Jobs, Log: &lines{log: o.Log, warn: func(m string) { im.warn("%s", m) }}})
	return err
}

// pushGraph copies the graph at root from the bundle to repo, tagged tag
// ("" pushes by digest): oras.Copy skips every blob and manifest the
// registry has, so a rerun after an interruption pushes only the rest.
func pushGraph(ctx context.Context, store *oci.ReadOnlyStore, root ocispec.Descriptor, repo *remote.Repository, tag string) error {
	if tag == "" {
		return oras.CopyGraph(ctx, store, repo, root, oras.CopyGraphOptions{Concurrency: 3})
	}
	_, err := oras.Copy(ctx, store, root.Digest.String(), repo, tag, oras.CopyOptions{CopyGraphOptions: oras.CopyGraphOptions{Concurrency: 3}})
	return err
}

// Bundle is an opened air-gap bundle.
type Bundle struct {
	Path  string
	List  *list.List
	store *oci.ReadOnlyStore
	list  ocispec.Descriptor
	// listManifest and listData are the bytes of the list manifest and
	// of the list: the marker carries them, so that verify --site can
	// check the releases it claims against the digest export printed.
	listManifest, listData []byte
}

// Open opens a bundle and reads its list (checked against its digest);
// nothing else is verified yet (Verify).
func Open(ctx context.Context, path string) (*Bundle, error) {
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		// A path mistyped is no damaged bundle: what the user typed.
		what := "no such file"
		if err == nil {
			what = "a directory, not the bundle file `packgen airgap export` wrote"
		} else if !errors.Is(err, fs.ErrNotExist) {
			what = err.Error()
		}
		return nil, fmt.Errorf("%w: bundle %s: %s", ErrInput, path, what)
	}
	store, err := oci.NewFromTar(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v (a complete bundle is what `packgen airgap export` wrote; copy it again)", ErrBundle, path, err)
	}
	b := &Bundle{Path: path, store: store}
	md, err := store.Resolve(ctx, list.ListTag)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: no %s manifest: %v", ErrBundle, path, list.ListTag, err)
	}
	m, err := b.manifest(ctx, md)
	if err != nil {
		return nil, err
	}
	if !list.IsListManifest(m) {
		return nil, fmt.Errorf("%w: %s: %s is not an air-gap list manifest", ErrBundle, path, list.ListTag)
	}
	raw, err := b.fetch(ctx, md) // the marker keeps its bytes (Bundle.listManifest)
	if err != nil {
		return nil, err
	}
	data, err := b.fetch(ctx, m.Layers[0])
	if err != nil {
		return nil, err
	}
	l, err := list.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b.List, b.list, b.listManifest, b.listData = l, md, raw, data
	return b, nil
}

// fetch reads a small blob whole, checked against its descriptor.
func (b *Bundle) fetch(ctx context.Context, d ocispec.Descriptor) ([]byte, error) {
	return b.blobs().fetch(ctx, d)
}

// manifest reads an image manifest of at most 4 MiB; a larger one is
// the bundle's fault (ErrBundle), named as a manifest.
func (b *Bundle) manifest(ctx context.Context, d ocispec.Descriptor) (*ocispec.Manifest, error) {
	if d.Size > 4<<20 {
		return nil, fmt.Errorf("%w: %s: manifest %s of %d bytes", ErrBundle, b.Path, d.Digest, d.Size)
	}
	return b.blobs().manifest(ctx, d)
}

// Verify reads every blob the list names, through every manifest and
// index below it, checking each against its digest and size (each blob
// once); it returns how many blobs and bytes it checked.
func (b *Bundle) Verify(ctx context.Context) (int, int64, error) {
	roots := []ocispec.Descriptor{b.list, b.List.Index}
	for _, p := range b.List.Packs {
		roots = append(roots, p.Manifest)
		if p.Signature != nil {
			roots = append(roots, p.Signature.Manifest)
		}
	}
	for _, im := range b.List.Images {
		roots = append(roots, im.Manifest)
		for _, s := range im.Signatures {
			roots = append(roots, s.Manifest)
		}
	}
	// A blob is hashed once, but what lies below it depends on the media
	// type naming it (an index as a plain file has nothing below): it is
	// walked once per media type, or a blob named first as a file in the
	// unsigned index manifest would hide an image's manifests from the
	// check and leave them to fail the push midway.
	type named struct {
		digest.Digest
		mediaType string
	}
	hashed := map[digest.Digest]int64{}
	walked := map[named]bool{}
	var n int
	var total int64
	var walk func(d ocispec.Descriptor) error
	walk = func(d ocispec.Descriptor) error {
		if walked[named{d.Digest, d.MediaType}] {
			return nil
		}
		walked[named{d.Digest, d.MediaType}] = true
		if err := d.Digest.Validate(); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBundle, b.Path, err)
		}
		if size, ok := hashed[d.Digest]; ok {
			if size != d.Size {
				return fmt.Errorf("%w: %s: blob %s is named with %d bytes and with %d", ErrBundle, b.Path, d.Digest, size, d.Size)
			}
			return b.walkSuccessors(ctx, d, walk)
		}
		rc, err := b.store.Fetch(ctx, d)
		if err != nil {
			return fmt.Errorf("%w: %s: blob %s (%s) is missing: %v", ErrBundle, b.Path, d.Digest, d.MediaType, err)
		}
		vr := content.NewVerifyReader(rc, d)
		_, err = io.Copy(io.Discard, vr)
		if err == nil {
			err = vr.Verify()
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("%w: %s: blob %s (%s) does not match its digest: %v", ErrBundle, b.Path, d.Digest, d.MediaType, err)
		}
		hashed[d.Digest] = d.Size
		n++
		total += d.Size
		return b.walkSuccessors(ctx, d, walk)
	}
	for _, r := range roots {
		if err := ctx.Err(); err != nil {
			return n, total, err
		}
		if err := walk(r); err != nil {
			return n, total, err
		}
	}
	return n, total, nil
}

// walkSuccessors walks what d names below it, as its media type says.
func (b *Bundle) walkSuccessors(ctx context.Context, d ocispec.Descriptor, walk func(ocispec.Descriptor) error) error {
	succ, err := content.Successors(ctx, b.store, d)
	if err != nil {
		return fmt.Errorf("%w: %s: manifest %s: %v", ErrBundle, b.Path, d.Digest, err)
	}
	for _, s := range succ {
		if err := walk(s); err != nil {
			return err
		}
	}
	return nil
}

// Transport serves the bundle's packgen index files and pack archives as
// a site, for the walker (and publish) to read with every check.
func (b *Bundle) Transport(ctx context.Context) (transport.Transport, error) {
	m, err := b.manifest(ctx, b.List.Index)
	if err != nil {
		return nil, err
	}
	// The manifest is not signed: whoever rewrote the bundle chose its
	// layers (thousands, each naming one large blob). So nothing is read
	// here; a file is read when the walker asks for it, which it does only
	// for what the signed index leads to, each bounded by its pin.
	t := &bundleTransport{b: b, files: map[string]ocispec.Descriptor{}}
	for _, l := range m.Layers {
		p := ocimap.Title(l)
		if l.Size > maxIndexFile {
			return nil, fmt.Errorf("%w: %s: index file %s of %d bytes", ErrBundle, b.Path, p, l.Size)
		}
		if _, dup := t.files[p]; dup {
			return nil, fmt.Errorf("%w: %s: the index manifest has %q twice", ErrBundle, b.Path, p)
		}
		t.files[p] = l
	}
	for _, p := range b.List.Packs {
		t.files[index.ArchivePath(p.Name, p.Version)] = p.Archive
	}
	return t, nil
}

// VerifyPacks checks the packs as a client would fetch them: the index
// root's signature under key, every node, shard and signature file by
// its parent's digest, the log; each pack's manifest is the one the
// signed shard implies, and its archive's signature verifies.
func (b *Bundle) VerifyPacks(ctx context.Context, tr transport.Transport, key *sign.Verifier) (*publish.Subset, error) {
	only := map[string][]string{}
	for _, p := range b.List.Packs {
		only[p.Name] = append(only[p.Name], p.Version)
	}
	sub, err := publish.ReadSubset(ctx, tr, key, only)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: the packs do not verify: %w", ErrBundle, b.Path, err)
	}
	want := map[string]list.Pack{}
	for _, p := range b.List.Packs {
		want[p.Name+"@"+p.Version] = p
	}
	w := sitewalk.New(tr, key)
	for _, r := range sub.Releases {
		id := r.Name + "@" + r.Release.Version
		p := want[id]
		if p.Manifest.Digest != r.Manifest.Desc.Digest || p.Archive.Digest != r.Manifest.Layers[0].Digest {
			return nil, fmt.Errorf("%w: %s: %s: the bundle's manifest %s is not the one its signed index implies (%s)", ErrBundle, b.Path, id, p.Manifest.Digest, r.Manifest.Desc.Digest)
		}
		if r.Release.Signature == "" {
			return nil, fmt.Errorf("%w: %s: %w", ErrBundle, b.Path, sitewalk.UnsignedRelease(r.Release))
		}
		open := func() (io.ReadCloser, error) { return b.store.Fetch(ctx, p.Archive) }
		if err := w.ReleaseSignature(r.Release, r.Sigs[r.Release.Signature], open); err != nil {
			return nil, fmt.Errorf("%w: %s: %s: %w", ErrBundle, b.Path, id, err)
		}
	}
	return sub, nil
}

// bundleTransport serves a bundle's site files (index files and
// archives) from its tar by path, each streamed when asked for; the
// walker reading them checks each against its signed pin.
type bundleTransport struct {
	b     *Bundle
	files map[string]ocispec.Descriptor
}

func (t *bundleTransport) String() string { return "bundle " + t.b.Path }

func (t *bundleTransport) Get(ctx context.Context, p, _ string) (*transport.Response, error) {
	d, ok := t.files[p]
	if !ok {
		return nil, fmt.Errorf("%s in %s: %w", p, t.b.Path, index.ErrNotFound)
	}
	rc, err := t.b.store.Fetch(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBundle, p, err)
	}
	return &transport.Response{Body: rc, Size: d.Size}, nil
}

// Images lists a bundle's images sorted (for reports).
func (b *Bundle) Images() []list.Image {
	out := append([]list.Image(nil), b.List.Images...)
	sort.Slice(out, func(i, j int) bool { return out[i].Image < out[j].Image })
	return out
}

// lines passes publish's log on: its warnings and notes ("warning: …",
// "note: …") to the import's warnings, the rest to the progress log.
type lines struct {
	log   io.Writer
	warn  func(string)
	split linesplit.Splitter
}

func (l *lines) Write(p []byte) (int, error) {
	l.split.Split(p, func(line string) {
		if m, ok := strings.CutPrefix(line, "warning: "); ok {
			l.warn(m)
		} else if m, ok := strings.CutPrefix(line, "note: "); ok {
			l.warn(m)
		} else {
			fmt.Fprintln(l.log, line)
		}
	})
	return len(p), nil
}
