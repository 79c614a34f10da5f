package publish

// The oci destination: `packgen publish SITE oci://REGISTRY/BASE`. An OCI
// registry is not a tree of files, so this destination is a
// SitePublisher (see dest.go) that keeps publish's rules in its own
// terms (internal/ocimap has the mapping, docs/FORMAT.md "OCI
// registries" the why):
//
//  1. the site is read through the trusted walker (every file checked
//     against its parent, the root's signature against the key when one
//     is given), from a directory, any registry URL, or another OCI
//     registry (promotion: archives are copied byte for byte);
//  2. the live packgen index of the registry is read: a site older than
//     it is refused (rollback), as on S3;
//  3. each pack's tags are listed once: a release whose tag is missing is
//     pushed (blobs, then the manifest, which creates the tag: a tag only
//     ever names a complete manifest); one whose tag names another
//     manifest is refused, never overwritten;
//  4. each release manifest gets a cosign signature in the signature
//     repository, unless it has one;
//  5. the packgen index: buckets and shards as blobs, each archive's
//     signature files, the generation's meta manifest, and the root
//     manifest (tag "root") last, which switches generations at once.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	oraslib "oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
	sitewalk "github.com/packgen/packgen/walk"
)

// OCIOptions are the oci destination's options.
type OCIOptions struct {
	// Repos opens a repository (REGISTRY/REPO) with the user's
	// credentials and TLS settings; the same opener reads an oci://
	// source.
	Repos func(ref string) (*remote.Repository, error)
	// Source opens the transport of a site given as a URL (a directory
	// needs none); nil uses transport.Open.
	Source func(loc location.Location) (transport.Transport, error)
	// Signer signs each release manifest (cosign) and must be the key of
	// the site's index.json; nil pushes releases unsigned (a warning).
	// A *sign.Lazy decrypts the key only when a signature is made: a
	// publish with nothing new never does.
	Signer ManifestSigner
	// Verify holds the public key(s) a promotion from another registry
	// checks its source with when there is no Signer: the source's root
	// must verify, and the cosign signatures copied must verify.
	Verify *sign.Verifier
	// Only, when set, publishes these releases alone (pack → versions)
	// with the part of the index a client reads to fetch them (a subset:
	// see subset.go), as airgap import does.
	Only map[string][]string
	// SignaturesCarried: the caller pushes the releases' cosign
	// signatures itself (airgap import, from its bundle), so no Signer
	// is not "no --key" and is not warned about.
	SignaturesCarried bool
}

// ManifestSigner signs release manifests the way cosign does
// (*sign.Signer, *sign.Lazy).
type ManifestSigner interface {
	SignManifest(repo, manifestDigest string) (payloadJSON []byte, sigB64 string, err error)
	KeyID() string
	PublicKeyPEM() ([]byte, error)
}

// ReleaseCounts says what happened to each release of an OCI publish.
type ReleaseCounts struct {
	Pushed  []string  `json:"pushed"`  // REGISTRY/REPO:TAG
	Present int       `json:"present"` // already there with the same manifest
	Refused []Refusal `json:"refused"`
	Signed  int       `json:"signed"` // cosign signatures pushed
	// Repaired are releases (REGISTRY/REPO:TAG) whose signature tag named
	// a manifest that did not verify, signed again.
	Repaired []string `json:"repaired"`
}

// Refusal is a release whose tag already names another manifest.
type Refusal struct {
	Pack     string `json:"pack"`
	Version  string `json:"version"`
	Ref      string `json:"ref"`
	Remote   string `json:"remoteDigest"`
	Expected string `json:"digest"`
}

// ErrRegistry marks an OCI registry that answered something other than
// what it was sent (wrong bytes, a malformed manifest).
var ErrRegistry = errors.New("the OCI registry answered unexpected content")

// ErrUnverifiedSource marks a publish from another registry (a
// promotion) with no key to verify that registry by.
var ErrUnverifiedSource = errors.New("the source registry cannot be verified without a key")

func init() {
	RegisterPublisher("oci", "oci://REGISTRY/BASE", func(_ context.Context, loc location.Location, o DestOptions) (SitePublisher, error) {
		l, err := ocimap.ParseLocation(loc.Raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDestination, err)
		}
		if o.OCI.Repos == nil {
			return nil, fmt.Errorf("%w: %s: no way to open OCI repositories", ErrDestination, loc.Raw)
		}
		return &ociDest{loc: l, o: o.OCI}, nil
	}, "key", "plain-http", "ca-file", "username", "stall-timeout") // --source-key is every destination's: the key the site must verify under
}

type ociDest struct {
	loc ocimap.Location
	o   OCIOptions
}

func (d *ociDest) String() string { return d.loc.String() }

func (d *ociDest) repo(name string) (*remote.Repository, error) {
	return d.o.Repos(d.loc.Ref(name))
}

// siteRelease is one release read from the source site.
type siteRelease struct {
	name, version, tag string
	archive            index.FileRef
	created            time.Time
	sigs               map[string][]byte // site path → content (.sig, .sigstore.json)
	manifest           *ocimap.Packed
	repo               string // REGISTRY/REPO of the pack
}

// site is what a publish reads from its source.
type site struct {
	rootData  []byte
	root      *index.Root
	rootFiles map[string][]byte // index.json, its signatures, the digest-named ones; the log's checkpoint and partial tiles
	tiles     map[string][]byte // the log's full tiles (site path → content)
	groups    map[string][]byte // their tile groups (ocimap.LogGroups)
	meta      []metaFile        // buckets and shards
	releases  []*siteRelease
	// copies checks the root's copies of signatures (readRoot); its
	// refusal, worded for the source, each release's (release).
	copies sigCopies
	walker *sitewalk.Walker
	tr     transport.Transport // what walker reads (archives go by their pin: transport.GetPinned)
	// src, for an oci:// source, opens the source's repositories
	// (archives are then copied registry to registry).
	src *ocimap.Location
	// witnesses are the site's witness files (site path → content,
	// verified: ociwitness.go); witnessesUnlisted says the source could
	// not be listed for them.
	witnesses         map[string][]byte
	witnessesUnlisted bool
}

type metaFile struct {
	ref  index.FileRef
	data []byte
}

// readSite reads and verifies a site through the walker: the root's
// signature against the signer's key (when given), every bucket, shard
// and archive signature file by its parent's digest.
func (d *ociDest) readSite(ctx context.Context, src string) (*site, error) {
	loc, tr, err := d.openSource(src)
	if err != nil {
		return nil, err
	}
	s := &site{rootFiles: map[string][]byte{}, tiles: map[string][]byte{}}
	if loc.Scheme == "oci" {
		l, err := ocimap.ParseLocation(src)
		if err != nil {
			return nil, err
		}
		s.src = &l
	}
	v, err := d.sourceVerifier(loc, src)
	if err != nil {
		return nil, err
	}
	w := sitewalk.New(tr, v)
	s.walker, s.tr = w, tr
	if err := s.readRoot(ctx, src); err != nil {
		return nil, err
	}
	if err := s.readIndex(ctx, d.loc, d.o.Only); err != nil {
		if errors.Is(err, ErrNotSite) { // a refusal naming src already
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrNotSite, src, err)
	}
	if err := s.readLog(ctx, w.Get); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotSite, src, err)
	}
	if err := d.readWitnesses(ctx, s, loc, tr); err != nil {
		return nil, err
	}
	sort.Slice(s.meta, func(i, j int) bool { return s.meta[i].ref.Path < s.meta[j].ref.Path })
	sort.Slice(s.releases, func(i, j int) bool {
		a, b := s.releases[i], s.releases[j]
		return a.name < b.name || a.name == b.name && a.version < b.version
	})
	if err := s.tagReleases(); err != nil {
		return nil, err
	}
	return s, nil
}

// openSource opens the site src: through o.Source for a remote one when
// given, else directly.
func (d *ociDest) openSource(src string) (location.Location, transport.Transport, error) {
	loc, err := location.Parse(src)
	if err != nil {
		return loc, nil, fmt.Errorf("%w: %v", ErrNotSite, err)
	}
	var tr transport.Transport
	if d.o.Source != nil && !loc.Local() {
		tr, err = d.o.Source(loc)
	} else {
		tr, err = transport.Open(loc, transport.Config{Timeout: 30 * time.Minute})
	}
	if err != nil {
		return loc, nil, fmt.Errorf("%w: %v", ErrNotSite, err)
	}
	return loc, tr, nil
}

// sourceVerifier is the key the source's root must verify with: the
// signer's public half, else o.Verify; a remote source needs one.
func (d *ociDest) sourceVerifier(loc location.Location, src string) (*sign.Verifier, error) {
	v := d.o.Verify
	if d.o.Signer != nil {
		pem, err := d.o.Signer.PublicKeyPEM()
		if err == nil {
			v, err = sign.LoadPublicKey(pem)
		}
		if err != nil {
			return nil, err
		}
	}
	if v == nil && !loc.Local() {
		// Another registry is as untrusted as any: what it serves would
		// become release tags of this one, which nothing ever removes.
		return nil, fmt.Errorf("%w: %s: pass --source-key registry.pub (its root must verify; its cosign signatures are copied once they verify) or --key registry.key (verifies with the key's public half and signs again)", ErrUnverifiedSource, src)
	}
	return v, nil
}

// readRoot reads index.json and the signature files beside it, then
// takes verify --site's root step over them (rootStep: the signature
// under the walker's key, when it has one, and what index.json says of
// itself), and checks that they are copies of the signature named by
// its digest, as publish of a directory checks them. Each is read once.
func (s *site) readRoot(ctx context.Context, src string) error {
	w := s.walker
	var err error
	if s.rootData, err = w.Get(ctx, index.RootFile, index.MaxRootSize); err != nil {
		if transport.Operational(err) {
			// A registry that stalls or cannot be reached is no
			// verdict on what it holds: exit 3, the limit's hint.
			return fmt.Errorf("%s: cannot read index.json: %w", src, err)
		}
		return fmt.Errorf("%w: %s has no readable index.json (run `packgen build` first): %v", ErrNotSite, src, err)
	}
	if s.root, err = index.ParseRoot(s.rootData); err != nil {
		return fmt.Errorf("%w: %s/index.json: %v", ErrNotSite, src, err)
	}
	s.rootFiles[index.RootFile] = s.rootData
	sha := index.Digest(s.rootData)
	for _, p := range []string{index.RootFile + index.SignatureExt, index.RootFile + index.BundleExt, index.RootSignaturePath(sha), index.RootBundlePath(sha)} {
		data, err := w.Get(ctx, p, sign.MaxBundleSize)
		switch {
		case errors.Is(err, index.ErrNotFound):
			continue
		case transport.Operational(err):
			return fmt.Errorf("%s/%s: %w", src, p, err)
		case err != nil:
			return fmt.Errorf("%w: %s/%s: %v", ErrNotSite, src, p, err)
		}
		s.rootFiles[p] = data
	}
	held := heldWalker(s.rootFiles)
	held.Verifier = w.Verifier
	named, err := rootStep(ctx, held, src, "the key given", s.root, s.rootData)
	if err != nil {
		return err
	}
	// Checked as read: they are copied as they are.
	s.copies = sourceCopies(src, heldWalker(s.rootFiles))
	return s.copies.root(ctx, s.root, s.rootData, named)
}

// heldWalker walks the files already read (site path → content),
// refusing one over the size a reader asks for as any walker does.
func heldWalker(files map[string][]byte) *sitewalk.Walker {
	return &sitewalk.Walker{Get: func(_ context.Context, p string, max int64) ([]byte, error) {
		data, ok := files[p]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: %w", p, index.ErrNotFound)
		case int64(len(data)) > max:
			return nil, fmt.Errorf("%s: %w (%d bytes, at most %d expected)", p, index.ErrTooLarge, len(data), max)
		}
		return data, nil
	}}
}

// readMeta reads every bucket and shard, each checked against the digest
// its parent pins, and the signature files of every release; dest names
// the releases' repositories.
func (s *site) readMeta(ctx context.Context, dest ocimap.Location) error {
	w := s.walker
	var mu sync.Mutex
	return index.WalkBuckets(s.root, func(ref index.FileRef) ([]byte, error) {
		data, err := w.Pinned(ctx, ref)
		if err == nil {
			s.meta = append(s.meta, metaFile{ref, data})
		}
		return data, err
	}, func(_ index.FileRef, b *index.Bucket, err error) error {
		if err != nil {
			return err
		}
		return parallel.Each(ctx, len(b.Packs), 8, func(i int) error {
			sum := b.Packs[i]
			shard, data, err := s.readShard(ctx, sum.Name, sum.Shard)
			if err != nil {
				return err
			}
			mu.Lock()
			s.meta = append(s.meta, metaFile{sum.Shard, data})
			mu.Unlock()
			for _, r := range shard.Releases {
				rel, err := s.release(ctx, dest, sum.Name, &r, s.tr)
				if err != nil {
					return err
				}
				mu.Lock()
				s.releases = append(s.releases, rel)
				mu.Unlock()
			}
			return nil
		})
	})
}

// readShard reads pack name's shard at ref, checked against the digest
// its bucket pins.
func (s *site) readShard(ctx context.Context, name string, ref index.FileRef) (*index.Shard, []byte, error) {
	data, err := s.walker.Pinned(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	shard, err := index.ParseShard(data, name)
	if err != nil {
		return nil, nil, &sitewalk.FileError{Path: ref.Path, Err: err}
	}
	return shard, data, nil
}

// release is r, a release of pack name, as it is pushed to dest, with
// its signature files read (a signed site's release must have one): the
// .sig must sign the archive r's shard pins, under the key publish has
// (always for a remote source: sourceVerifier), and its Sigstore bundle
// must carry the .sig's signature, as publish of a directory checks
// them, for they are pushed as they are. archives reads the archive for
// a key that signs the whole blob (ed25519); nil: the caller checks the
// .sig over the archive it reads itself (ReadSubset's, air-gap).
func (s *site) release(ctx context.Context, dest ocimap.Location, name string, r *index.Release, archives transport.Transport) (*siteRelease, error) {
	rel := &siteRelease{name: name, version: r.Version, archive: r.Archive, created: r.Created, sigs: map[string][]byte{}, repo: dest.Ref(dest.PackRepo(name))}
	if s.root.Signed && r.Signature == "" {
		return nil, fmt.Errorf("%w: %s@%s has no signature", ErrMissingSignature, name, r.Version)
	}
	for _, f := range []struct {
		p   string
		max int64
	}{{r.Signature, sign.MaxSigFileSize}, {r.Bundle, sign.MaxBundleSize}} {
		if f.p == "" {
			continue
		}
		data, err := s.walker.Get(ctx, f.p, f.max)
		if err != nil {
			return nil, fmt.Errorf("%w: %w: %s", ErrMissingSignature, err, f.p)
		}
		rel.sigs[f.p] = data
	}
	if r.Signature == "" {
		return rel, nil
	}
	held := heldWalker(rel.sigs)
	held.Verifier = s.walker.Verifier
	copies := sigCopies{w: held, refuse: s.copies.refuse}
	var open func() (io.ReadCloser, error)
	if archives != nil {
		open = func() (io.ReadCloser, error) {
			resp, err := transport.GetPinned(ctx, archives, r.Archive)
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		}
	}
	if err := copies.signedRelease(ctx, name, r, rel.sigs[r.Signature], open); err != nil {
		return nil, err
	}
	return rel, nil
}

// tagReleases gives each release its OCI tag and archive manifest,
// refusing two versions that would share a tag.
func (s *site) tagReleases() error {
	tags := map[string]string{}
	for _, r := range s.releases {
		var err error
		if r.tag, err = ocimap.Tag(r.version); err != nil {
			return fmt.Errorf("%s@%s: %w", r.name, r.version, err)
		}
		if other, ok := tags[r.name+":"+r.tag]; ok {
			return fmt.Errorf("%w: %s@%s and %s@%s would both be tag %s", ocimap.ErrBadName, r.name, other, r.name, r.version, r.tag)
		}
		tags[r.name+":"+r.tag] = r.version
		if r.manifest, err = ocimap.ArchiveManifest(r.archive.SHA256, r.archive.Size, ocimap.ArchiveTitle(r.name, r.version), r.created); err != nil {
			return err
		}
	}
	return nil
}

// logFile reads one file of the site's log: from what readLog copied,
// else through the trusted walker. It is a translog.Fetch.
func (s *site) logFile(ctx context.Context, p string, max int64) ([]byte, error) {
	if data, ok := s.tiles[p]; ok {
		return data, nil
	}
	if data, ok := s.rootFiles[p]; ok {
		return data, nil
	}
	return s.walker.Get(ctx, p, max)
}

// readLog reads the transparency log the verified root names
// (readLogFiles), keeping its tiles and checkpoint. A root without a log
// has none to read.
func (s *site) readLog(ctx context.Context, get translog.Fetch) error {
	msg, err := readLogFiles(ctx, s.root, get, func(p string, data []byte) error {
		if index.KindOf(p) == index.KindLogTile {
			s.tiles[p] = data
		} else {
			s.rootFiles[p] = data
		}
		return nil
	}, "the source's publish has not completed; publish again once it has")
	if err != nil || msg == nil {
		return err
	}
	s.rootFiles[translog.CheckpointPath] = msg
	s.groups, err = ocimap.LogGroups(s.tiles)
	return err
}

// readLogFiles reads the transparency log root names through get: every
// tile of its tree, each checked against the tree (translog.CopyTiles)
// and handed to keep, and the checkpoint, which must open under the
// root's log key and name that very tree; lags says what a checkpoint
// of another tree means where get reads. It returns the checkpoint (nil:
// the root names no log). A publish needs its source's own checkpoint to
// be the index's: a stale one, genuinely signed, would be published as
// the registry's, and witnesses would cosign it (attackX F4); a remote
// may lag mid-publish (docs/FORMAT.md), never the site it is given.
func readLogFiles(ctx context.Context, root *index.Root, get translog.Fetch, keep translog.Put, lags string) ([]byte, error) {
	tree, ok, err := translog.TreeOf(root)
	if err != nil || !ok {
		return nil, err
	}
	if err := translog.CopyTiles(ctx, tree, get, keep, true); err != nil {
		return nil, fmt.Errorf("the transparency log: %w", err)
	}
	msg, err := get(ctx, translog.CheckpointPath, translog.MaxCheckpointSize)
	if err != nil {
		return nil, fmt.Errorf("the transparency log: %w", err)
	}
	c, err := translog.OpenCheckpoint(msg, root.Log.Key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", translog.CheckpointPath, err)
	}
	if c.Tree != tree {
		return nil, fmt.Errorf("%s: %w: a tree of %d entries (%s), index.json names %d (%s): %s", translog.CheckpointPath, translog.ErrCheckpoint, c.Tree.N, c.Tree.Hash, tree.N, tree.Hash, lags)
	}
	return msg, nil
}

// PublishSite publishes the site at src (a directory, a registry URL or
// oci://…) to the registry.
func (d *ociDest) PublishSite(ctx context.Context, src string, o Options) (*Result, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	// Releases are pushed and signed in parallel, each logging a line:
	// one lock for every writer (a caller's bytes.Buffer is not safe).
	o.Log = &lockedWriter{w: o.Log}
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs
	}
	s, err := d.readSite(ctx, src)
	if err != nil {
		return nil, err
	}
	anchor, err := checkSiteAnchor(ctx, o, s.root, s.logFile, src)
	if err != nil {
		return nil, err
	}
	// The repositories every publish touches, in one token; each pack's
	// are added per pack (plan, pushReleases).
	ctx = scoped(ctx, d.loc.Ref(d.loc.Repo(ocimap.IndexRepo)), d.loc.Ref(d.loc.Repo(ocimap.SignatureRepo)), d.loc.Ref(d.loc.Repo(ocimap.ArchiveRepo)))
	// (A promotion from an oci:// source copies its signatures, and
	// warns for each missing one.)
	if d.o.Signer == nil && s.root.Signed && s.src == nil && !d.o.SignaturesCarried {
		fmt.Fprintf(o.Log, "warning: no --key: release manifests are pushed without cosign signatures\n")
	}
	res := &Result{Target: d.String(), DryRun: o.DryRun, Serial: s.root.Serial, Uploaded: []string{}, Deleted: []string{}, Kept: []string{}, Skipped: []string{}, Extra: []string{},
		Releases: &ReleaseCounts{Pushed: []string{}, Refused: []Refusal{}, Repaired: []string{}}}
	idx, live, current, err := d.checkLive(ctx, s, o, res)
	if err != nil {
		return nil, err
	}
	var liveRoot *index.Root
	if live != nil {
		liveRoot = live.root
	}
	warnLiveAnchor(o, anchor, liveRoot, d)
	if current {
		// The live root is this site's, so its publish completed; the
		// release tags are still checked (a HEAD each): anyone who may
		// push can move one, and Palette pulls by tag.
		moved, err := d.tagsMoved(ctx, s, o)
		if err != nil {
			return nil, err
		}
		if moved == "" {
			res.Releases.Present = len(s.releases)
			return res, d.finish(ctx, s, idx, live, o, res)
		}
		// Planned in full: a missing tag is pushed again, a moved one
		// refused (refused says by whom).
		fmt.Fprintf(o.Log, "note: %s no longer names the manifest the live index (this site's, serial %d) published: checking every release\n", moved, live.root.Serial)
	}
	// Plan every release before pushing anything.
	push, err := d.plan(ctx, s, o, res)
	if err != nil {
		return nil, err
	}
	if err := refused(res, current, d); err != nil {
		return res, err
	}
	for _, r := range push {
		res.Releases.Pushed = append(res.Releases.Pushed, r.repo+":"+r.tag)
		if o.DryRun {
			fmt.Fprintf(o.Log, "would push %s:%s (%s)\n", r.repo, r.tag, r.manifest.Desc.Digest)
		}
	}
	if o.DryRun {
		d.dryRun(ctx, s, live, o, res)
		return res, d.finish(ctx, s, idx, live, o, res)
	}
	if err := d.ensureBase(ctx, o); err != nil {
		return res, err
	}
	if err := d.pushReleases(ctx, s, live, push, o, res); err != nil {
		return res, err
	}
	if err := d.pushIndex(ctx, s, idx, live, o, res); err != nil {
		return res, err
	}
	return res, d.finish(ctx, s, idx, live, o, res)
}

// finish pushes the witness files, after the index switch (each
// cosigns a tree the new index's log extends), then prunes.
func (d *ociDest) finish(ctx context.Context, s *site, idx *remote.Repository, live *liveIndex, o Options, res *Result) error {
	if err := d.pushWitnesses(ctx, s, idx, o, res); err != nil {
		return err
	}
	return d.pruneAfter(ctx, s, idx, live, o, res)
}

// scoped hints a registry with token auth at the repositories refs
// (REGISTRY/REPO), pull and push, through oras-go's scope hints: the
// token asked for covers all a step does there, where each operation
// would ask for its own scope after a 401 of its own (pull for a tags
// list, push for an upload, the base repository's pull for a mount).
// Registries without tokens ignore it; a token service grants what the
// account may do, so a read-only account still reads.
func scoped(ctx context.Context, refs ...string) context.Context {
	for _, ref := range refs {
		if r, err := registry.ParseReference(ref); err == nil {
			ctx = auth.AppendRepositoryScope(ctx, r, auth.ActionPull, auth.ActionPush)
		}
	}
	return ctx
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// pruneAfter runs --prune (ociprune.go) once the publish is done.
func (d *ociDest) pruneAfter(ctx context.Context, s *site, idx *remote.Repository, live *liveIndex, o Options, res *Result) error {
	if !o.Prune {
		return nil
	}
	im, err := d.indexManifests(s, live)
	if err != nil {
		return err
	}
	keep := []digest.Digest{im.meta.Desc.Digest, im.root.Desc.Digest}
	if live != nil {
		keep = append(keep, live.desc.Digest)
		if dg, err := digest.Parse(live.meta); err == nil {
			keep = append(keep, dg)
		}
	}
	return d.prune(ctx, s, idx, keep, o, res)
}

// checkLive reads the live generation for rollback protection (refused
// unless o.Force), and reports current when it is already what this
// publish would push last.
func (d *ociDest) checkLive(ctx context.Context, s *site, o Options, res *Result) (idx *remote.Repository, live *liveIndex, current bool, err error) {
	if idx, err = d.repo(d.loc.Repo(ocimap.IndexRepo)); err != nil {
		return nil, nil, false, err
	}
	if live, err = d.liveRoot(ctx, idx); err != nil || live == nil {
		return idx, nil, false, err
	}
	res.RemoteSerial = live.root.Serial
	// Not even --force publishes what the live key's clients refuse.
	// One answer to whether the site's log extends the live one, for the
	// key check and the fork check.
	ext := newLogExtension(s.root, live.root, s.logFile)
	if err := d.checkLiveKey(ctx, s, idx, live, ext); err != nil {
		return nil, nil, false, err
	}
	if err := checkNewer(s.root, s.rootData, live.root, live.data, d); err != nil && !o.Force {
		return nil, nil, false, err
	}
	if !bytes.Equal(s.rootData, live.data) {
		// The live tiles are not read: a shorter log is refused even
		// with --force (checkLog).
		if err := checkLog(ctx, ext, nil, o.Force, d); err != nil {
			return nil, nil, false, err
		}
	}
	// Nothing new: the live root manifest is the one this publish would
	// push last, so the publish that pushed it completed (every release,
	// signature and index file went before it, with this key). Checking
	// each tag again would cost a request per release.
	im, err := d.indexManifests(s, live)
	if err != nil {
		return nil, nil, false, err
	}
	if im.root.Desc.Digest == live.desc.Digest {
		return idx, live, true, nil
	}
	return idx, live, false, nil
}

// errTagMoved stops tagsMoved at the first tag that moved.
var errTagMoved = errors.New("a release tag moved")

// tagsMoved returns the first release tag (REPO:TAG) that does not name
// the site's manifest for it (moved or deleted), "" when every one does:
// one HEAD per release, the packs in parallel and each pack's releases
// in turn (on a token registry one token per pack, as the plan asks,
// rather than a 401 for each release in flight), stopping at the first.
func (d *ociDest) tagsMoved(ctx context.Context, s *site, o Options) (string, error) {
	names, byPack := s.byPack()
	var mu sync.Mutex
	moved := ""
	err := parallel.Each(ctx, len(names), o.Jobs, func(i int) error {
		rels := byPack[names[i]]
		repo, err := d.o.Repos(rels[0].repo)
		if err != nil {
			return err
		}
		ctx := scoped(ctx, rels[0].repo)
		for _, r := range rels {
			desc, err := repo.Resolve(ctx, r.tag)
			switch {
			case ocireg.IsNotFound(err) || (err == nil && desc.Digest != r.manifest.Desc.Digest):
				mu.Lock()
				if moved == "" || r.repo+":"+r.tag < moved {
					moved = r.repo + ":" + r.tag
				}
				mu.Unlock()
				return errTagMoved
			case err != nil:
				return ocireg.Doing("resolve", r.repo+":"+r.tag, repo.Client, err)
			}
		}
		return nil
	})
	if errors.Is(err, errTagMoved) {
		err = nil
	}
	return moved, err
}

// refused is the error of a plan that found releases published with
// other content: nothing is pushed then. current says the live index is
// the site's own: it published these very releases, so a tag naming
// another manifest was moved by someone else since.
func refused(res *Result, current bool, dest fmt.Stringer) error {
	n := len(res.Releases.Refused)
	if n == 0 {
		return nil
	}
	var lines, tags []string
	for _, r := range res.Releases.Refused {
		lines = append(lines, fmt.Sprintf("%s@%s: %s already names %s, this release's manifest is %s", r.Pack, r.Version, r.Ref, r.Remote, r.Expected))
		if i := strings.LastIndex(r.Ref, ":"); i > 0 {
			tags = append(tags, fmt.Sprintf("`oras tag %s@%s %s`", r.Ref[:i], r.Expected, r.Ref[i+1:]))
		}
	}
	restore := fmt.Sprintf("`packgen verify --site %s` names every release that does not verify; restore each tag to the manifest the release's signature covers, if the registry still holds it: %s", dest, strings.Join(tags, ", "))
	if current {
		return fmt.Errorf("%w: %d release tag(s) moved to other content since this very site was published, nothing pushed:\n  %s\nthe registry's live index is this site's, which published each release with the manifest named: the releases did not change, someone else wrote the registry since (an `oras push`, another tool): find out who; %s", ErrImmutable, n, strings.Join(lines, "\n  "), restore)
	}
	return fmt.Errorf("%w: %d release(s) already published with other content, nothing pushed:\n  %s\na published version never changes. If a pack's content changed, bump the version in its pack.json, rebuild and publish again. If it did not (a site built with --previous from the published registry reuses its releases byte for byte), someone else wrote the registry since: %s", ErrImmutable, n, strings.Join(lines, "\n  "), restore)
}

// dryRun says what a publish would push besides the releases.
func (d *ociDest) dryRun(ctx context.Context, s *site, live *liveIndex, o Options, res *Result) {
	if sg, err := d.signing(ctx, s, live, o, res); err == nil && len(sg.need) > 0 {
		fmt.Fprintf(o.Log, "would push %d cosign signature(s) to %s\n", len(sg.need), d.loc.Ref(d.loc.Repo(ocimap.SignatureRepo)))
	}
	if live == nil || !bytes.Equal(live.data, s.rootData) {
		from := "none"
		if live != nil {
			from = strconv.FormatInt(live.root.Serial, 10)
		}
		fmt.Fprintf(o.Log, "would publish the packgen index to %s (serial %s → %d)\n", d.loc.Ref(d.loc.Repo(ocimap.IndexRepo)), from, s.root.Serial)
	}
}

// pushReleases pushes the releases push and the signatures missing.
// Each release is pushed, then signed, in one job: a release's signature
// need not wait for every other release.
func (d *ociDest) pushReleases(ctx context.Context, s *site, live *liveIndex, push []*siteRelease, o Options, res *Result) error {
	sg, err := d.signing(ctx, s, live, o, res)
	if err != nil {
		return err
	}
	toPush := map[*siteRelease]bool{}
	for _, r := range push {
		toPush[r] = true
	}
	var jobs []*siteRelease
	for _, r := range s.releases {
		if toPush[r] || sg.need[r] {
			jobs = append(jobs, r)
		}
	}
	// A key that cannot sign (a wrong password, a .pub beside it that is
	// not its own: the key is decrypted only now) stops the publish
	// before any release is pushed.
	if d.o.Signer != nil {
		for _, r := range jobs {
			if sg.need[r] {
				if _, _, err := d.o.Signer.SignManifest(r.repo, r.manifest.Desc.Digest.String()); err != nil {
					return fmt.Errorf("--key: %w", err)
				}
				break
			}
		}
	}
	configs := d.configs(ctx, push)
	return parallel.Each(ctx, len(jobs), o.Jobs, func(i int) error {
		r := jobs[i]
		// The blobs, the cosign signature (it names the manifest by
		// digest, which needs nothing in the registry), then the
		// manifest with its tag: a publish stopped anywhere leaves
		// no tag (what Palette and oras list) whose signature is not
		// there yet, at no request more than pushing the manifest
		// first (by digest, then tagged, would be one more). The
		// signature is looked for again right before the tag
		// (signingPlan.still: a concurrent prune, attackV F6).
		if toPush[r] {
			if err := d.pushRelease(scoped(ctx, r.repo), s, r, configs[r.repo]); err != nil {
				return err
			}
		}
		signed := !sg.need[r] // there at the plan
		if sg.need[r] {
			var err error
			if signed, err = sg.one(ctx, r); err != nil {
				return err
			}
		}
		if toPush[r] {
			if signed {
				if err := sg.still(ctx, r); err != nil {
					return err
				}
			}
			if err := d.tagRelease(scoped(ctx, r.repo), r); err != nil {
				return err
			}
			fmt.Fprintf(o.Log, "uploaded %s:%s\n", r.repo, r.tag)
		}
		return nil
	})
}

// liveIndex is the registry's live packgen index.
type liveIndex struct {
	desc ocispec.Descriptor // the root manifest
	data []byte             // its index.json
	root *index.Root
	key  string // the cosign key its releases are signed with (AnnotationCosignKey)
	meta string // the digest of its meta manifest (AnnotationMeta)
	// layers are the root manifest's: its log tile groups say which full
	// tiles the registry holds already.
	layers []ocispec.Descriptor
}

// maxManifest bounds a manifest read from a registry (distribution's own
// limit is 4 MiB).
const maxManifest = 4 << 20

// fetchManifest reads a manifest by tag or digest, checking its bytes
// against the digest the registry names.
func fetchManifest(ctx context.Context, repo *remote.Repository, ref string) (ocispec.Descriptor, *ocispec.Manifest, []byte, error) {
	desc, rc, err := repo.FetchReference(ctx, ref)
	if err != nil {
		return desc, nil, nil, err
	}
	defer rc.Close()
	if desc.Size > maxManifest {
		return desc, nil, nil, fmt.Errorf("%w: %s:%s: a manifest of %d bytes", ErrRegistry, repo.Reference, ref, desc.Size)
	}
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		return desc, nil, nil, fmt.Errorf("%w: %s:%s: %v", ErrRegistry, repo.Reference, ref, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return desc, nil, nil, fmt.Errorf("%w: %s:%s is not an OCI manifest: %v", ErrRegistry, repo.Reference, ref, err)
	}
	return desc, &m, data, nil
}

// fetchBlob reads a small blob whole, checked against its descriptor.
func fetchBlob(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, max int64) ([]byte, error) {
	if desc.Size > max {
		return nil, fmt.Errorf("%w: %s@%s: %d bytes, at most %d expected", ErrRegistry, repo.Reference, desc.Digest, desc.Size, max)
	}
	rc, err := repo.Blobs().Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s@%s: %v", ErrRegistry, repo.Reference, desc.Digest, err)
	}
	return data, nil
}

func (d *ociDest) liveRoot(ctx context.Context, idx *remote.Repository) (*liveIndex, error) {
	desc, m, _, err := fetchManifest(ctx, idx, ocimap.RootTag)
	if ocireg.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, ocireg.Doing("read the live packgen index", idx.Reference.String()+":"+ocimap.RootTag, idx.Client, err)
	}
	for _, l := range m.Layers {
		if ocimap.Title(l) != index.RootFile {
			continue
		}
		data, ok, err := ocimap.EmbeddedData(l)
		if err != nil {
			return nil, fmt.Errorf("%w: the index.json of %s:%s: %v", ErrRegistry, idx.Reference, ocimap.RootTag, err)
		}
		if !ok {
			if data, err = fetchBlob(ctx, idx, l, index.MaxRootSize); err != nil {
				return nil, fmt.Errorf("read the live index.json of %s:%s: %w", idx.Reference, ocimap.RootTag, err)
			}
		}
		root, err := index.ParseRoot(data)
		if err != nil {
			return nil, fmt.Errorf("%w: the index.json of %s:%s: %v", ErrRegistry, idx.Reference, ocimap.RootTag, err)
		}
		return &liveIndex{desc: desc, data: data, root: root, key: m.Annotations[ocimap.AnnotationCosignKey], meta: m.Annotations[ocimap.AnnotationMeta], layers: m.Layers}, nil
	}
	return nil, fmt.Errorf("%w: %s:%s has no index.json layer", ErrRegistry, idx.Reference, ocimap.RootTag)
}

// maxTagPages bounds the pages of one tags list (each page is bounded
// by oras-go): a registry whose Link headers never end would otherwise
// keep a publish reading forever. Registries page by 100 to 1,000 tags.
var maxTagPages = 10_000

// errTagPages stops a tags list past maxTagPages.
var errTagPages = errors.New("too many pages")

// listTags lists every tag of a repository; a repository that does not
// exist has none.
func listTags(ctx context.Context, repo *remote.Repository) (map[string]bool, error) {
	tags := map[string]bool{}
	pages := 0
	err := repo.Tags(ctx, "", func(page []string) error {
		if pages++; pages > maxTagPages {
			return errTagPages
		}
		for _, t := range page {
			tags[t] = true
		}
		return nil
	})
	if errors.Is(err, errTagPages) {
		return nil, fmt.Errorf("%w: list the tags of %s: more than %d pages (%d tags so far) and the registry still names a next page; a registry or proxy that pages forever is broken: check it, or publish to another", ErrRegistry, repo.Reference, maxTagPages, len(tags))
	}
	if ocireg.IsNotFound(err) {
		return tags, nil
	}
	if err != nil {
		return nil, ocireg.Doing("list the tags of", repo.Reference.String(), repo.Client, err)
	}
	return tags, nil
}

// byPack groups the site's releases by pack (one repository each), the
// packs in the order first met.
func (s *site) byPack() (names []string, by map[string][]*siteRelease) {
	by = map[string][]*siteRelease{}
	for _, r := range s.releases {
		if by[r.name] == nil {
			names = append(names, r.name)
		}
		by[r.name] = append(by[r.name], r)
	}
	return names, by
}

// plan decides, per release, push, present or refused: one tags list per
// pack, and one manifest request per release whose tag exists.
func (d *ociDest) plan(ctx context.Context, s *site, o Options, res *Result) ([]*siteRelease, error) {
	names, byPack := s.byPack()
	var mu sync.Mutex
	var push []*siteRelease
	err := parallel.Each(ctx, len(names), o.Jobs, func(i int) error {
		repo, err := d.repo(d.loc.PackRepo(names[i]))
		if err != nil {
			return err
		}
		// The token this asks for serves the pack's pushes too.
		ctx := scoped(ctx, repo.Reference.String())
		tags, err := listTags(ctx, repo)
		if err != nil {
			return err
		}
		for _, r := range byPack[names[i]] {
			if !tags[r.tag] {
				mu.Lock()
				push = append(push, r)
				mu.Unlock()
				continue
			}
			desc, err := repo.Resolve(ctx, r.tag)
			if err != nil {
				return ocireg.Doing("resolve", repo.Reference.String()+":"+r.tag, repo.Client, err)
			}
			same := desc.Digest == r.manifest.Desc.Digest
			if !same {
				// Pushed another way (the vendor's `oras push`, another
				// created time) with the very same archive: that is this
				// release, not a conflict.
				_, m, _, err := fetchManifest(ctx, repo, desc.Digest.String())
				if err != nil {
					return err
				}
				same = orasPushOf(m, r.archive)
				if same {
					fmt.Fprintf(o.Log, "note: %s:%s holds the same archive under another manifest (%s); keeping it\n", repo.Reference, r.tag, textsafe.Escape(string(desc.Digest)))
					r.manifest = &ocimap.Packed{Desc: desc}
				}
			}
			mu.Lock()
			if same {
				res.Releases.Present++
			} else {
				res.Releases.Refused = append(res.Releases.Refused, Refusal{Pack: r.name, Version: r.version, Ref: repo.Reference.String() + ":" + r.tag, Remote: desc.Digest.String(), Expected: r.manifest.Desc.Digest.String()})
			}
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(push, func(i, j int) bool { return push[i].repo+":"+push[i].tag < push[j].repo+":"+push[j].tag })
	sort.Slice(res.Releases.Refused, func(i, j int) bool { return res.Releases.Refused[i].Ref < res.Releases.Refused[j].Ref })
	return push, nil
}

// orasPushOf tells whether m is what `oras push REF NAME-VERSION.tar.gz`
// (ORAS 1.0's shape or 1.1's) writes for the archive: the empty config,
// no subject, one layer that is the archive. Only then is a tag pushed
// by hand this release, to be signed with the registry key: the same
// layer under a config or subject of someone's choosing is not what
// packgen built, and a signature covers the whole manifest.
func orasPushOf(m *ocispec.Manifest, archive index.FileRef) bool {
	if m.MediaType != ocispec.MediaTypeImageManifest || m.Subject != nil || len(m.Layers) != 1 {
		return false
	}
	switch m.ArtifactType {
	case "", "application/vnd.unknown.artifact.v1":
	default:
		return false
	}
	c := m.Config
	if (c.MediaType != "application/vnd.unknown.config.v1+json" && c.MediaType != ocispec.MediaTypeEmptyJSON) || c.Digest != ocispec.DescriptorEmptyJSON.Digest || c.Size != ocispec.DescriptorEmptyJSON.Size {
		return false
	}
	l := m.Layers[0]
	switch l.MediaType {
	case ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, "application/gzip", "application/x-gzip", "application/octet-stream":
	default:
		return false
	}
	return l.Digest.String() == "sha256:"+archive.SHA256 && l.Size == archive.Size
}

// ensureBase pushes the empty base artifact Palette expects at
// REGISTRY/BASE/spectro-packs/archive, unless it is there.
func (d *ociDest) ensureBase(ctx context.Context, o Options) error {
	repo, err := d.repo(d.loc.Repo(ocimap.ArchiveRepo))
	if err != nil {
		return err
	}
	base, err := ocimap.BaseManifest()
	if err != nil {
		return err
	}
	ok, err := repo.Exists(ctx, base.Desc)
	if err != nil {
		return ocireg.Doing("check the base artifact", repo.Reference.String(), repo.Client, err)
	}
	if ok {
		return nil
	}
	if err := pushBytes(ctx, repo, base.Config, base.ConfigB); err != nil {
		return err
	}
	if err := repo.Manifests().Push(ctx, base.Desc, bytes.NewReader(base.Manifest)); err != nil {
		return ocireg.Doing("push the base artifact", repo.Reference.String(), repo.Client, err)
	}
	fmt.Fprintf(o.Log, "uploaded %s@%s\n", repo.Reference, base.Desc.Digest)
	return nil
}

// pushNew pushes a small blob that is most likely new (a signature's
// payload and config, a release's signature files): pushing what exists
// is harmless, and asking first would cost a request every time.
func pushNew(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, data []byte) error {
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocireg.Doing("push", repo.Reference.String()+"@"+desc.Digest.String(), repo.Client, err)
	}
	return nil
}

// pushBytes pushes a small blob unless the repository has it.
func pushBytes(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, data []byte) error {
	ok, err := repo.Blobs().Exists(ctx, desc)
	if err != nil {
		return ocireg.Doing("check", repo.Reference.String()+"@"+desc.Digest.String(), repo.Client, err)
	}
	if ok {
		return nil
	}
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocireg.Doing("push", repo.Reference.String()+"@"+desc.Digest.String(), repo.Client, err)
	}
	return nil
}

// pushRelease pushes the blobs of one release: the archive (from the
// site, or mounted or copied from the source registry) and the config
// (config, once per repository); tagRelease pushes its manifest once its
// signature is there. The plan's tags list said the tag is missing, so
// nothing is asked before the archive's upload: a blob left by a killed
// publish is uploaded again, harmlessly.
func (d *ociDest) pushRelease(ctx context.Context, s *site, r *siteRelease, config func() error) error {
	repo, err := d.o.Repos(r.repo)
	if err != nil {
		return err
	}
	if len(r.manifest.Layers) != 1 {
		return fmt.Errorf("%s:%s: a release manifest of %d layers", r.repo, r.tag, len(r.manifest.Layers))
	}
	layer := r.manifest.Layers[0]
	open := func() (io.ReadCloser, error) {
		// By the digest the verified shard pins: from an OCI source, the
		// blob without its release manifest.
		resp, err := transport.GetPinned(ctx, s.tr, r.archive)
		if err != nil {
			return nil, err
		}
		if err := sitewalk.Announced(r.archive, resp); err != nil {
			resp.Body.Close()
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{r.archive.VerifyReader(resp.Body), resp.Body}, nil
	}
	if s.src != nil && s.src.Registry == d.loc.Registry {
		// Same registry: a cross-repository mount copies nothing.
		err = repo.Mount(ctx, layer, s.src.PackRepo(r.name), open)
	} else {
		var rc io.ReadCloser
		if rc, err = open(); err == nil {
			err = repo.Blobs().Push(ctx, layer, rc)
			rc.Close()
		}
	}
	if err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocireg.Doing("push the archive of "+r.name+"@"+r.version+" to", r.repo, repo.Client, err)
	}
	return config()
}

// tagRelease pushes a release's manifest with its tag (its PUT creates
// the tag; the registry refuses a manifest whose blobs are missing, so a
// tag only ever names a complete release), unless the tag appeared
// meanwhile.
func (d *ociDest) tagRelease(ctx context.Context, r *siteRelease) error {
	repo, err := d.o.Repos(r.repo)
	if err != nil {
		return err
	}
	// The plan's tags list may be stale (another pusher since): the
	// registry has no conditional tag write, so look again right before
	// the PUT, which narrows the race to this one round trip.
	if desc, err := repo.Resolve(ctx, r.tag); err == nil {
		if desc.Digest == r.manifest.Desc.Digest {
			return nil
		}
		return fmt.Errorf("%w: %s:%s was created by someone else during this publish and names %s, this release's manifest is %s; it is left as it is: bump the version in pack.json, rebuild and publish again", ErrImmutable, r.repo, r.tag, desc.Digest, r.manifest.Desc.Digest)
	} else if !ocireg.IsNotFound(err) {
		return ocireg.Doing("resolve", r.repo+":"+r.tag, repo.Client, err)
	}
	if err := repo.Manifests().PushReference(ctx, r.manifest.Desc, bytes.NewReader(r.manifest.Manifest), r.tag); err != nil {
		return ocireg.Doing("push", r.repo+":"+r.tag, repo.Client, err)
	}
	return nil
}

// configs makes, per pack repository of push, the one step that puts
// the release config ("{}", the same blob as the base artifact's) there:
// a cross-repository mount from the base repository, one request where
// a release's own upload would take three, and an upload where the
// registry does not mount.
func (d *ociDest) configs(ctx context.Context, push []*siteRelease) map[string]func() error {
	out := map[string]func() error{}
	base := d.loc.Repo(ocimap.ArchiveRepo)
	for _, r := range push {
		if out[r.repo] != nil {
			continue
		}
		cfg, data := r.manifest.Config, r.manifest.ConfigB
		ref := r.repo
		ctx := scoped(ctx, ref)
		out[ref] = sync.OnceValue(func() error {
			repo, err := d.o.Repos(ref)
			if err != nil {
				return err
			}
			err = repo.Mount(ctx, cfg, base, func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(data)), nil
			})
			if err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
				return ocireg.Doing("mount the config into", ref+"@"+cfg.Digest.String(), repo.Client, err)
			}
			return nil
		})
	}
	return out
}

// signingPlan is which releases get a cosign signature, and how.
type signingPlan struct {
	need map[*siteRelease]bool
	// replace are releases whose signature tag names a manifest that
	// does not verify: signed afresh, the bad manifest's layers dropped.
	replace map[*siteRelease]bool
	// one signs r (or copies its signature), saying whether r has one
	// now (a promotion's source may have none).
	one  func(ctx context.Context, r *siteRelease) (bool, error)
	repo *remote.Repository // the signature repository
}

// still makes sure r's signature is there right before its tag is
// pushed, and pushes it again if it vanished: until the tag exists the
// signature's subject answers 404, so a concurrent `publish --prune` by
// an older packgen (a newer one spares a signature written in the last
// pruneGrace), or someone's cleanup, may have deleted it, and an
// interrupted publish's signature reused here may be older than that.
// One HEAD, like the tag's own look right before its PUT.
func (sg *signingPlan) still(ctx context.Context, r *siteRelease) error {
	if sg.one == nil {
		return nil
	}
	tag := ocimap.CosignTag(r.manifest.Desc.Digest)
	_, err := sg.repo.Resolve(ctx, tag)
	if err == nil {
		return nil
	}
	if !ocireg.IsNotFound(err) {
		return ocireg.Doing("resolve the signature", sg.repo.Reference.String()+":"+tag, sg.repo.Client, err)
	}
	_, err = sg.one(ctx, r)
	return err
}

// signing plans a cosign signature for every release manifest whose
// signature tag is missing from the signature repository (one tags
// list); after a key rotation (the live index's releases were signed
// with another key) every release gets the new key's signature beside
// the old one. Without a key, a promotion copies the source's.
func (d *ociDest) signing(ctx context.Context, s *site, live *liveIndex, o Options, res *Result) (*signingPlan, error) {
	sg := &signingPlan{need: map[*siteRelease]bool{}}
	if d.o.Signer == nil && s.src == nil {
		return sg, nil
	}
	repo, tags, err := d.signatureTags(ctx)
	if err != nil {
		return nil, err
	}
	sg.repo = repo
	rotated := d.o.Signer != nil && live != nil && live.key != "" && live.key != d.o.Signer.KeyID()
	var have []*siteRelease
	for _, r := range s.releases {
		if rotated || !tags[ocimap.CosignTag(r.manifest.Desc.Digest)] {
			sg.need[r] = true
		} else {
			have = append(have, r)
		}
	}
	if d.o.Signer != nil && !o.DryRun {
		if sg.replace, err = d.brokenSignatures(ctx, repo, have, o); err != nil {
			return nil, err
		}
		for r := range sg.replace {
			sg.need[r] = true
			res.Releases.Repaired = append(res.Releases.Repaired, r.repo+":"+r.tag)
		}
		sort.Strings(res.Releases.Repaired)
	}
	var mu sync.Mutex
	done := func(tag string) {
		mu.Lock()
		res.Releases.Signed++
		fmt.Fprintf(o.Log, "uploaded %s:%s\n", repo.Reference, tag)
		mu.Unlock()
	}
	if d.o.Signer == nil {
		if sg.one, err = d.copySignatures(s, repo, &mu, done, o); err != nil {
			return nil, err
		}
		if n := len(sg.need); n > 0 && !o.DryRun {
			fmt.Fprintf(o.Log, "note: no --key: copying the cosign signatures of %d release(s) from %s, each verified under --source-key first\n", n, s.src.Ref(s.src.Repo(ocimap.SignatureRepo)))
		}
		return sg, nil
	}
	if rotated {
		fmt.Fprintf(o.Log, "note: the registry's releases were signed with key %s: signing each again with %s (both verify)\n", short(live.key), short(d.o.Signer.KeyID()))
	}
	sg.one = d.signRelease(repo, tags, sg.replace, done)
	return sg, nil
}

// copySignatures is the signing of a promotion without a key: each
// release's cosign signature is copied from the source once it verifies.
func (d *ociDest) copySignatures(s *site, repo *remote.Repository, mu *sync.Mutex, done func(tag string), o Options) (func(ctx context.Context, r *siteRelease) (bool, error), error) {
	src, err := d.o.Repos(s.src.Ref(s.src.Repo(ocimap.SignatureRepo)))
	if err != nil {
		return nil, err
	}
	v := d.o.Verify
	if v == nil {
		return nil, fmt.Errorf("%w: no key to verify the cosign signatures of %s by", ErrUnverifiedSource, src.Reference)
	}
	return func(ctx context.Context, r *siteRelease) (bool, error) {
		tag := ocimap.CosignTag(r.manifest.Desc.Digest)
		// Verified first, then copied by the digest verified: the
		// source's tag may move meanwhile.
		desc, err := verifiedCosign(ctx, src, tag, r.manifest.Desc.Digest.String(), v)
		if err == nil {
			_, err = oraslib.Copy(ctx, src, desc.Digest.String(), repo, tag, oraslib.DefaultCopyOptions)
		}
		if ocireg.IsNotFound(err) {
			mu.Lock()
			fmt.Fprintf(o.Log, "warning: %s:%s has no cosign signature in %s: promoted unsigned (pass --key to sign it)\n", r.repo, r.tag, src.Reference)
			mu.Unlock()
			return false, nil
		}
		if errors.Is(err, sign.ErrBadSignature) {
			return false, fmt.Errorf("%w: the cosign signature %s:%s of %s:%s is not copied: %w; the source registry may have been tampered with: check it, or pass --key registry.key to sign the release again", ErrNotSite, src.Reference, tag, r.repo, r.tag, err)
		}
		if err != nil {
			return false, ocireg.Doing(fmt.Sprintf("copy the signature %s:%s to", src.Reference, tag), repo.Reference.String(), repo.Client, err)
		}
		done(tag)
		return true, nil
	}, nil
}

// signRelease signs a release manifest with the signer, beside the
// signatures its tag already holds (tags: the signature tags that exist).
func (d *ociDest) signRelease(repo *remote.Repository, tags map[string]bool, replace map[*siteRelease]bool, done func(tag string)) func(ctx context.Context, r *siteRelease) (bool, error) {
	// Every signature manifest has the same "{}" config
	// (ocimap.CosignManifest): pushed once per run, by the first
	// signature, before any manifest that names it.
	var config sync.Once
	var configErr error
	return func(ctx context.Context, r *siteRelease) (bool, error) {
		payload, sig, err := d.o.Signer.SignManifest(r.repo, r.manifest.Desc.Digest.String())
		if err != nil {
			return false, fmt.Errorf("sign %s:%s: %w", r.repo, r.tag, err)
		}
		tag := ocimap.CosignTag(r.manifest.Desc.Digest)
		var keep []ocispec.Descriptor
		if tags[tag] && !replace[r] {
			// Gone since the plan's list (signingPlan.still): nothing to keep.
			_, m, _, err := fetchManifest(ctx, repo, tag)
			if err == nil {
				keep = m.Layers
			} else if !ocireg.IsNotFound(err) {
				return false, ocireg.Doing("read the signature", repo.Reference.String()+":"+tag, repo.Client, err)
			}
		}
		p, err := ocimap.CosignAppend(keep, payload, sig, time.Now())
		if err != nil {
			return false, err
		}
		if err := pushNew(ctx, repo, p.Layers[len(p.Layers)-1], payload); err != nil {
			return false, err
		}
		config.Do(func() { configErr = pushBytes(ctx, repo, p.Config, p.ConfigB) })
		if configErr != nil {
			return false, configErr
		}
		if err := repo.Manifests().PushReference(ctx, p.Desc, bytes.NewReader(p.Manifest), tag); err != nil {
			return false, ocireg.Doing("push the signature", repo.Reference.String()+":"+tag, repo.Client, err)
		}
		done(tag)
		return true, nil
	}
}

// brokenSignatures checks the existing cosign signature of each release
// of have (one manifest request each): it holds when one of its layers
// is a signature of the release manifest under the signer's key. The
// payload is deterministic, so the publisher's own layer is known by
// digest; another (a `cosign sign` with the same key) is read and
// verified. A tag swapped to another manifest, or a damaged one, is
// reported loudly and returned, to be signed again.
func (d *ociDest) brokenSignatures(ctx context.Context, repo *remote.Repository, have []*siteRelease, o Options) (map[*siteRelease]bool, error) {
	pem, err := d.o.Signer.PublicKeyPEM()
	if err != nil {
		return nil, err
	}
	v, err := sign.LoadPublicKey(pem)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	broken := map[*siteRelease]bool{}
	err = parallel.Each(ctx, len(have), o.Jobs, func(i int) error {
		r := have[i]
		tag := ocimap.CosignTag(r.manifest.Desc.Digest)
		why, err := signatureHolds(ctx, repo, tag, r, v)
		if err != nil {
			return err
		}
		if why == "" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		broken[r] = true
		fmt.Fprintf(o.Log, "warning: the cosign signature %s:%s of %s:%s does not hold (%s): it was replaced or damaged in the registry; signing the release again (check who can push to %s)\n", repo.Reference, tag, r.repo, r.tag, textsafe.Escape(why), repo.Reference)
		return nil
	})
	return broken, err
}

// signatureHolds says why the signature tagged tag does not sign r under
// v ("" when it does).
func signatureHolds(ctx context.Context, repo *remote.Repository, tag string, r *siteRelease, v *sign.Verifier) (string, error) {
	desc, m, _, err := fetchManifest(ctx, repo, tag)
	if ocireg.IsNotFound(err) {
		return "the tag is gone", nil
	}
	if errors.Is(err, ErrRegistry) {
		return err.Error(), nil
	}
	if err != nil {
		return "", ocireg.Doing("read the signature", repo.Reference.String()+":"+tag, repo.Client, err)
	}
	want := r.manifest.Desc.Digest.String()
	payload, err := sign.CosignPayload(r.repo, want)
	if err != nil {
		return "", err
	}
	own := digest.FromBytes(payload)
	var others []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType != ocimap.CosignPayloadMediaType {
			continue
		}
		if l.Digest == own && l.Size == int64(len(payload)) {
			if v.VerifyManifest(payload, l.Annotations[ocimap.CosignSignatureAnnotation], want) == nil {
				return "", nil
			}
			continue
		}
		others = append(others, l)
	}
	const maxOthers = 8 // a rotation adds one layer per key
	for i, l := range others {
		if i == maxOthers {
			break
		}
		data, err := fetchBlob(ctx, repo, l, sign.MaxCosignPayload)
		if err != nil {
			continue
		}
		if v.VerifyManifest(data, l.Annotations[ocimap.CosignSignatureAnnotation], want) == nil {
			return "", nil
		}
	}
	return fmt.Sprintf("%s has no layer that signs %s with this key", desc.Digest, want), nil
}

// verifiedCosign reads the cosign signature manifest tagged tag in src
// and checks that every layer is a signature of manifestDigest under v
// (a rotation leaves one layer per key: give every key).
func verifiedCosign(ctx context.Context, src *remote.Repository, tag, manifestDigest string, v *sign.Verifier) (ocispec.Descriptor, error) {
	desc, m, _, err := fetchManifest(ctx, src, tag)
	if err != nil {
		return desc, err
	}
	if len(m.Layers) == 0 {
		return desc, fmt.Errorf("%w: no signature layer", sign.ErrBadSignature)
	}
	for _, l := range m.Layers {
		if l.MediaType != ocimap.CosignPayloadMediaType {
			return desc, fmt.Errorf("%w: a layer of type %q", sign.ErrBadSignature, l.MediaType)
		}
		payload, err := fetchBlob(ctx, src, l, sign.MaxCosignPayload)
		if err != nil {
			return desc, err
		}
		if err := v.VerifyManifest(payload, l.Annotations[ocimap.CosignSignatureAnnotation], manifestDigest); err != nil {
			return desc, err
		}
	}
	return desc, nil
}

// pushIndex publishes the packgen index: buckets and shards, each
// archive's signature files, the meta manifest, and the root manifest
// last. Nothing is pushed when the live root manifest is this one.
func (d *ociDest) pushIndex(ctx context.Context, s *site, idx *remote.Repository, live *liveIndex, o Options, res *Result) error {
	im, err := d.indexManifests(s, live)
	if err != nil {
		return err
	}
	layers, meta, metaTag, rootLayers, rootM := im.layers, im.meta, im.metaTag, im.rootLayers, im.root
	if live != nil && live.desc.Digest == rootM.Desc.Digest {
		return nil
	}
	// Buckets and shards: content-addressed blobs; those the live
	// generation's manifests name are there, the others are pushed
	// without asking first.
	have, err := d.liveBlobs(ctx, idx, live)
	if err != nil {
		return err
	}
	err = parallel.Each(ctx, len(s.meta), o.Jobs, func(i int) error {
		if have[layers[i].Digest] {
			return nil
		}
		return pushNew(ctx, idx, layers[i], s.meta[i].data)
	})
	if err != nil {
		return err
	}
	if err := d.pushTiles(ctx, idx, live, s, im, o); err != nil {
		return err
	}
	// Each archive's signature files, under a tag derived from the
	// archive's path.
	var signed []*siteRelease
	for _, r := range s.releases {
		if len(r.sigs) > 0 {
			signed = append(signed, r)
		}
	}
	// One tags list says which exist; an existing one costs a request to
	// compare, a missing one none.
	tags, err := listTags(ctx, idx)
	if err != nil {
		return err
	}
	if err := pushBytes(ctx, idx, meta.Config, meta.ConfigB); err != nil { // the empty config every index manifest shares
		return err
	}
	if err := pushSigFiles(ctx, idx, signed, tags, o); err != nil {
		return err
	}
	if err := pushManifest(ctx, idx, meta, metaTag); err != nil {
		return err
	}
	// The root's files: index.json and its signatures, the log's
	// checkpoint, partial tiles and tile groups, which become visible
	// only with the switch below (never a checkpoint ahead of the index).
	err = parallel.Each(ctx, len(rootLayers), o.Jobs, func(i int) error {
		if have[rootLayers[i].Digest] {
			return nil
		}
		return pushNew(ctx, idx, rootLayers[i], im.rootData[i])
	})
	if err != nil {
		return err
	}
	// The switch: from here on readers see the new generation.
	if err := pushManifest(ctx, idx, rootM, ocimap.RootTag); err != nil {
		return err
	}
	res.Uploaded = append(res.Uploaded, idx.Reference.String()+":"+ocimap.RootTag)
	fmt.Fprintf(o.Log, "uploaded %s:%s\n", idx.Reference, ocimap.RootTag)
	return nil
}

// pushTiles pushes the log's full tiles, content-addressed too: those the
// live generation's tile groups name are there (pushed before its root),
// so a publish pushes only the new ones.
func (d *ociDest) pushTiles(ctx context.Context, idx *remote.Repository, live *liveIndex, s *site, im *indexManifests, o Options) error {
	layers := im.layers
	have, err := d.liveTiles(ctx, idx, live, s)
	if err != nil {
		return err
	}
	var newTiles []int
	for i := range im.tilePaths {
		if l := layers[len(s.meta)+i]; !have[l.Digest.String()] {
			newTiles = append(newTiles, i)
		}
	}
	return parallel.Each(ctx, len(newTiles), o.Jobs, func(k int) error {
		i := newTiles[k]
		return pushNew(ctx, idx, layers[len(s.meta)+i], s.tiles[im.tilePaths[i]])
	})
}

// pushSigFiles pushes each signed release's signature files under a tag
// derived from its archive's path, as annotations of a manifest whose
// one layer is the empty {} (ocimap.SigFilesManifest): one request each. tags says which
// tags exist (an existing one costs a request to compare, a missing one
// none); the manifests' config is the index repository's "{}", pushed
// before.
func pushSigFiles(ctx context.Context, idx *remote.Repository, signed []*siteRelease, tags map[string]bool, o Options) error {
	return parallel.Each(ctx, len(signed), o.Jobs, func(i int) error {
		r := signed[i]
		m, err := ocimap.SigFilesManifest(r.sigs)
		if err != nil {
			return err
		}
		tag := ocimap.SigTag(r.archive.Path)
		if tags[tag] {
			if desc, err := idx.Resolve(ctx, tag); err == nil && desc.Digest == m.Desc.Digest {
				return nil
			}
		}
		if err := idx.Manifests().PushReference(ctx, m.Desc, bytes.NewReader(m.Manifest), tag); err != nil {
			return ocireg.Doing("push", idx.Reference.String()+":"+tag, idx.Client, err)
		}
		return nil
	})
}

// indexManifests are the manifests of the packgen index a publish of s
// makes live: the meta manifest (every bucket and shard) and the root.
type indexManifests struct {
	layers     []ocispec.Descriptor // the meta manifest's, one per s.meta, then one per tilePaths
	tilePaths  []string             // the log's full tiles, sorted
	meta       *ocimap.Packed
	metaTag    string
	rootLayers []ocispec.Descriptor // one per rootData
	rootData   [][]byte
	root       *ocimap.Packed
}

// liveBlobs is the set of blobs the live generation's root and meta
// manifests name: the registry checked each was there when the manifest
// was pushed, and the manifests' tags keep them from garbage collection.
func (d *ociDest) liveBlobs(ctx context.Context, idx *remote.Repository, live *liveIndex) (map[digest.Digest]bool, error) {
	have := map[digest.Digest]bool{}
	if live == nil {
		return have, nil
	}
	for _, l := range live.layers {
		have[l.Digest] = true
	}
	if _, err := digest.Parse(live.meta); err != nil {
		return have, nil // none named: every blob is pushed
	}
	_, m, _, err := fetchManifest(ctx, idx, live.meta)
	if ocireg.IsNotFound(err) {
		return have, nil // pushed again below: nothing is lost
	}
	if err != nil {
		return nil, ocireg.Doing("read the live meta manifest", idx.Reference.String()+"@"+live.meta, idx.Client, err)
	}
	for _, l := range m.Layers {
		have[l.Digest] = true
	}
	return have, nil
}

// liveTiles is the set of digests of the full tiles the live generation
// holds, read from its tile groups: a group identical to the new one
// costs nothing, another (the right edge's, which grew) one request.
func (d *ociDest) liveTiles(ctx context.Context, idx *remote.Repository, live *liveIndex, s *site) (map[string]bool, error) {
	have := map[string]bool{}
	if live == nil {
		return have, nil
	}
	for _, l := range live.layers {
		if l.MediaType != ocimap.LogGroupMediaType {
			continue
		}
		g := s.groups[ocimap.Title(l)]
		var data []byte
		if g != nil && index.Digest(g) == l.Digest.Encoded() {
			data = g
		} else if e, ok, err := ocimap.EmbeddedData(l); err == nil && ok {
			data = e // a small group, in the root manifest (checked)
		} else {
			var err error
			if data, err = fetchBlob(ctx, idx, l, ocimap.MaxLogGroup); err != nil {
				return nil, fmt.Errorf("the live tile group %s: %w", ocimap.Title(l), ocireg.Doing("read", idx.Reference.String()+"@"+l.Digest.String(), idx.Client, err))
			}
		}
		for slot := 0; slot*32 < len(data); slot++ {
			if dg, ok := ocimap.LogGroupDigest(data, slot); ok {
				have[dg.String()] = true
			}
		}
	}
	return have, nil
}

func (d *ociDest) indexManifests(s *site, live *liveIndex) (*indexManifests, error) {
	// The meta manifest pins every bucket and shard of this generation.
	var layers []ocispec.Descriptor
	for _, f := range s.meta {
		layers = append(layers, ocimap.FileRef(f.ref.Path, f.ref.SHA256, f.ref.Size))
	}
	// The log's full tiles are pinned by the meta manifest too: the root
	// names them only through its tile groups, which registry garbage
	// collection does not read.
	tilePaths := slices.Sorted(maps.Keys(s.tiles))
	for _, p := range tilePaths {
		layers = append(layers, ocimap.File(p, s.tiles[p]))
	}
	metaTag := ocimap.MetaTagPrefix + strconv.FormatInt(s.root.Serial, 10)
	meta, err := ocimap.FilesManifest(layers, nil)
	if err != nil {
		return nil, err
	}
	var rootLayers []ocispec.Descriptor
	var rootData [][]byte
	for _, p := range slices.Sorted(maps.Keys(s.rootFiles)) {
		rootLayers = append(rootLayers, ocimap.RootLayer(p, s.rootFiles[p]))
		rootData = append(rootData, s.rootFiles[p])
	}
	for _, g := range slices.Sorted(maps.Keys(s.groups)) {
		rootLayers = append(rootLayers, ocimap.LogGroupLayer(g, s.groups[g]))
		rootData = append(rootData, s.groups[g])
	}
	ann := map[string]string{ocimap.AnnotationMeta: meta.Desc.Digest.String(), ocimap.AnnotationSerial: strconv.FormatInt(s.root.Serial, 10)}
	switch {
	case d.o.Signer != nil:
		ann[ocimap.AnnotationCosignKey] = d.o.Signer.KeyID()
	case live != nil && live.key != "":
		ann[ocimap.AnnotationCosignKey] = live.key // a promotion copies the signatures as they are
	}
	rootM, err := ocimap.FilesManifest(rootLayers, ann)
	if err != nil {
		return nil, err
	}
	return &indexManifests{layers, tilePaths, meta, metaTag, rootLayers, rootData, rootM}, nil
}

func pushManifest(ctx context.Context, repo *remote.Repository, p *ocimap.Packed, tag string) error {
	if err := pushBytes(ctx, repo, p.Config, p.ConfigB); err != nil {
		return err
	}
	if err := repo.Manifests().PushReference(ctx, p.Desc, bytes.NewReader(p.Manifest), tag); err != nil {
		return ocireg.Doing("push", repo.Reference.String()+":"+tag, repo.Client, err)
	}
	return nil
}
