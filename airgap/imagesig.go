package airgap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/sign"
)

// ErrImageSignature: a cosign signature the bundle carries for an image
// does not sign that image (or, with --image-key, not under any of the
// keys given).
var ErrImageSignature = errors.New("image signature does not verify")

// ErrUnsignedImage: with --image-key, an image carries no cosign
// signature at all, and unsigned images were not allowed.
var ErrUnsignedImage = errors.New("image carries no cosign signature")

// checkSigned is the rule keys add, at export and import alike: as
// cosign verify --key, a key means "must be signed under it", so an image
// with no signature is refused, naming it, unless allow (then a warning).
// Without keys nothing is required (the binding of the signatures there
// are is checked apart).
func checkSigned(images []list.Image, keys *sign.Verifier, allow bool, warn func(string, ...any)) error {
	if keys == nil {
		return nil
	}
	var errs []error
	for _, im := range images {
		switch {
		case len(im.Signatures) != 0:
		case allow:
			warn("image %s carries no cosign signature: nothing to verify under --image-key (--allow-unsigned-images)", im.Image)
		default:
			errs = append(errs, fmt.Errorf("%w: image %s: --image-key requires every image to be signed under one of the keys; sign it, or pass --allow-unsigned-images to take it with a warning", ErrUnsignedImage, im.Image))
		}
	}
	return errors.Join(errs...)
}

// maxReferrers bounds the manifests of one referrers index read from a
// bundle (cosign adds one per signature or attestation).
const maxReferrers = 64

// VerifyImageSignatures checks every cosign signature the bundle carries
// for its images, before anything is pushed. Each must be bound to its
// image: its tag names the image's manifest digest (or, narrowed, the
// index's it came from), and so does what it signs: the simple-signing
// payload's docker-manifest-digest (cosign's legacy sha256-HEX.sig), or
// each referrer's subject and, for a Sigstore bundle (cosign v3, tag
// sha256-HEX), its in-toto statement's subject. With keys (nil: the
// binding alone) every signature must also verify under one of them.
// Referrers that are no signature (an SBOM, say) are checked for their
// subject only. An image signed by nobody has nothing to check here
// (checkSigned says whether keys require one). Every bad signature is
// reported, each naming its image and tag.
func (b *Bundle) VerifyImageSignatures(ctx context.Context, keys *sign.Verifier) error {
	var errs []error
	r := b.blobs()
	for _, im := range b.List.Images {
		for _, s := range im.Signatures {
			if err := r.checkImageSignature(ctx, im, s, keys); err != nil {
				errs = append(errs, fmt.Errorf("%w: image %s: signature %s: %w", ErrImageSignature, im.Image, s.Tag, err))
			}
		}
	}
	return errors.Join(errs...)
}

// checkImageSignatures is VerifyImageSignatures at export, on the
// stage: the signatures as copied, under o.ImageKeys if set.
func (e *exporter) checkImageSignatures(ctx context.Context) error {
	var errs []error
	r := blobs{e.store, e.stage}
	for _, im := range e.list.Images {
		for _, s := range im.Signatures {
			if err := r.checkImageSignature(ctx, im, s, e.o.ImageKeys); err != nil {
				errs = append(errs, fmt.Errorf("%w: image %s: signature %s: %w", ErrImageSignature, im.Image, s.Tag, err))
			}
		}
	}
	errs = append(errs, checkSigned(e.list.Images, e.o.ImageKeys, e.o.AllowUnsignedImages, e.warn))
	if e.o.ImageKeys == nil {
		warnUnsigned(e.list.Images, e.warn)
	}
	return errors.Join(errs...)
}

// warnUnsigned says once, without --image-key, how many images carry no
// cosign signature (the first few named): export bundles them as they
// are, and only a key makes a signature required and checked.
func warnUnsigned(images []list.Image, warn func(string, ...any)) {
	var unsigned []string
	for _, im := range images {
		if len(im.Signatures) == 0 {
			unsigned = append(unsigned, im.Image)
		}
	}
	if len(unsigned) == 0 {
		return
	}
	verb := "carry"
	if len(unsigned) == 1 {
		verb = "carries"
	}
	warn("%s %s no cosign signature (%s): bundled unverified; --image-key KEY requires every image to be signed and checks each signature under KEY", phrase.Count(len(unsigned), "image"), verb, phrase.Few(unsigned, 3))
}

// signedDigest is the manifest digest a signature tag is for, if it is
// one of the image's.
func signedDigest(im list.Image, tag string) (digest.Digest, error) {
	for _, dg := range []digest.Digest{im.Upstream, im.Manifest.Digest} {
		if dg != "" && (tag == list.CosignTag(dg) || tag == list.ReferrersTag(dg)) {
			return dg, nil
		}
	}
	return "", fmt.Errorf("the tag is for another manifest than the image's %s", im.Manifest.Digest)
}

func (b blobs) checkImageSignature(ctx context.Context, im list.Image, s list.Signature, keys *sign.Verifier) error {
	dg, err := signedDigest(im, s.Tag)
	if err != nil {
		return err
	}
	if strings.HasSuffix(s.Tag, ".sig") {
		return b.checkSimpleSigning(ctx, s.Manifest, dg, keys)
	}
	if s.Manifest.MediaType != ocispec.MediaTypeImageIndex {
		return fmt.Errorf("a referrers tag names a %q, not an image index", s.Manifest.MediaType)
	}
	data, err := b.small(ctx, s.Manifest, 4<<20)
	if err != nil {
		return err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("its referrers index: %v", err)
	}
	if len(idx.Manifests) == 0 || len(idx.Manifests) > maxReferrers {
		return fmt.Errorf("its referrers index lists %d manifests (1 to %d expected)", len(idx.Manifests), maxReferrers)
	}
	for _, d := range idx.Manifests {
		if err := b.checkReferrer(ctx, d, dg, keys); err != nil {
			return fmt.Errorf("referrer %s: %w", d.Digest, err)
		}
	}
	return nil
}

// checkSimpleSigning checks cosign's legacy signature manifest: every
// layer a simple-signing payload naming dg, verified under keys if any.
func (b blobs) checkSimpleSigning(ctx context.Context, md ocispec.Descriptor, dg digest.Digest, keys *sign.Verifier) error {
	// The shape first: import pushes the signature's graph as its media
	// type says, so an index (whose JSON may hold the right layers too)
	// would carry manifests no check read.
	if md.MediaType != ocispec.MediaTypeImageManifest && md.MediaType != dockerManifest {
		return fmt.Errorf("the signature tag names a %q, not an image manifest as cosign writes", md.MediaType)
	}
	m, err := b.manifest(ctx, md)
	if err != nil {
		return err
	}
	if m.MediaType != "" && m.MediaType != md.MediaType {
		return fmt.Errorf("the signature manifest says it is a %q, not an image manifest (%s) as its tag does", m.MediaType, md.MediaType)
	}
	if len(m.Layers) == 0 {
		return errors.New("the signature manifest has no layer")
	}
	for i, l := range m.Layers {
		if l.MediaType != ocimap.CosignPayloadMediaType {
			return fmt.Errorf("layer %d is a %q, not a cosign simple-signing payload", i, l.MediaType)
		}
		payload, err := b.small(ctx, l, sign.MaxCosignPayload)
		if err != nil {
			return err
		}
		if keys == nil {
			err = sign.CheckCosignPayload(payload, dg.String())
		} else {
			err = keys.VerifyManifest(payload, l.Annotations[ocimap.CosignSignatureAnnotation], dg.String())
		}
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return nil
}

// dockerManifest is Docker's image manifest (schema 2): cosign writes
// its signatures so with COSIGN_DOCKER_MEDIA_TYPES=1.
const dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"

// checkReferrer checks one manifest of a referrers index: its subject is
// dg; a Sigstore bundle in it signs dg (under keys if any).
func (b blobs) checkReferrer(ctx context.Context, d ocispec.Descriptor, dg digest.Digest, keys *sign.Verifier) error {
	m, err := b.manifest(ctx, d)
	if err != nil {
		return err
	}
	if m.Subject == nil || m.Subject.Digest != dg {
		return fmt.Errorf("its subject is not %s", dg)
	}
	if m.ArtifactType != sign.BundleMediaType && m.Config.MediaType != sign.BundleMediaType {
		return nil // not a signature: bound by its subject, pushed as it is
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != sign.BundleMediaType {
		return fmt.Errorf("a Sigstore bundle manifest with %d layers (one %s expected)", len(m.Layers), sign.BundleMediaType)
	}
	data, err := b.small(ctx, m.Layers[0], sign.MaxBundleSize)
	if err != nil {
		return err
	}
	return sign.CheckImageBundle(ctx, data, dg.String(), keys)
}

// blobs reads small blobs of a bundle or of export's stage, each
// checked against its descriptor; where names it in errors.
type blobs struct {
	f     content.Fetcher
	where string
}

func (b *Bundle) blobs() blobs { return blobs{b.store, b.Path} }

// small reads a blob of at most limit bytes.
func (b blobs) small(ctx context.Context, d ocispec.Descriptor, limit int64) ([]byte, error) {
	if d.Size > limit {
		return nil, fmt.Errorf("blob %s of %d bytes (at most %d expected)", d.Digest, d.Size, limit)
	}
	return b.fetch(ctx, d)
}

// fetch reads a blob whole, checked against its descriptor.
func (b blobs) fetch(ctx context.Context, d ocispec.Descriptor) ([]byte, error) {
	data, err := content.FetchAll(ctx, b.f, d)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: blob %s: %v", ErrBundle, b.where, d.Digest, err)
	}
	return data, nil
}

// manifest reads an image manifest of at most 4 MiB.
func (b blobs) manifest(ctx context.Context, d ocispec.Descriptor) (*ocispec.Manifest, error) {
	data, err := b.small(ctx, d, 4<<20)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: manifest %s: %v", ErrBundle, b.where, d.Digest, err)
	}
	return &m, nil
}
