package airgap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

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
// signature of its own that verified under the keys (none at all, or
// only referrers that are no signature, or signatures of an index the
// bundle does not show to be its), and unsigned images were not
// allowed.
var ErrUnsignedImage = errors.New("image carries no cosign signature")

// tally is what an image's signatures came to: only signed counts
// towards --image-key.
type tally struct {
	// signed: signatures (a .sig layer, a Sigstore-bundle referrer)
	// of the image's manifest, or of an index the bundle holds that
	// lists it, verified under the keys (without keys: bound to it).
	signed int
	// others: referrers that are no signature (an SBOM): carried,
	// checked for their subject, never counted.
	others int
	// foreign: signatures of the list's upstream digest that the
	// bundle does not show to be an index listing the manifest (the
	// list is unsigned: a rewritten one may name any digest there).
	foreign int
	// bad: signatures that failed (ErrImageSignature names each).
	bad int
}

func (t *tally) add(u tally) {
	t.signed += u.signed
	t.others += u.others
	t.foreign += u.foreign
	t.bad += u.bad
}

// carried says what an image with no signature of its own carried.
func (t tally) carried(upstream digest.Digest) string {
	var parts []string
	if t.others > 0 {
		parts = append(parts, phrase.Count(t.others, "referrer"))
	}
	if t.foreign > 0 {
		// (A bundle narrowed by a packgen before the index was carried
		// has none: exported again, it does.)
		parts = append(parts, fmt.Sprintf("%s of %s, which the bundle does not show to be an index listing its manifest (a narrowed bundle of an older packgen lacks it: export again)", phrase.Count(t.foreign, "signature"), upstream))
	}
	return strings.Join(append(parts, "no cosign signature"), ", ")
}

// checkSigned is the rule keys add, at export and import alike: as
// cosign verify --key, a key means "must be signed under it", so an
// image with no signature of its own that verified under a key is
// refused, naming it and what it carried, unless allow (then a
// warning). Signature tags are not signatures: a referrers index of an
// SBOM alone counts for nothing. Without keys nothing is required (the
// binding of the signatures there are is checked apart).
func checkSigned(images []list.Image, tallies []tally, keys *sign.Verifier, allow bool, warn func(string, ...any)) error {
	if keys == nil {
		return nil
	}
	var errs []error
	for i, im := range images {
		t := tallies[i]
		switch {
		case t.signed != 0, t.bad != 0: // signed, or refused already
		case allow:
			warn("image %s carries %s: nothing verified under --image-key (--allow-unsigned-images)", im.Image, t.carried(im.Upstream))
		default:
			why := ""
			if t.others != 0 || t.foreign != 0 {
				why = "it carries " + t.carried(im.Upstream) + ": "
			}
			errs = append(errs, fmt.Errorf("%w: image %s: %s--image-key requires every image to be signed under one of the keys; sign it, or pass --allow-unsigned-images to take it with a warning", ErrUnsignedImage, im.Image, why))
		}
	}
	return errors.Join(errs...)
}

// maxReferrers bounds the manifests of one referrers index read from a
// bundle (cosign adds one per signature or attestation).
const maxReferrers = 64

// checkImageSignatures checks every cosign signature the images carry.
// Each must be bound to its image: its tag names the image's manifest
// digest (or, narrowed, the index's it came from), and so does what it
// signs: the simple-signing payload's docker-manifest-digest (cosign's
// legacy sha256-HEX.sig), or each referrer's subject and, for a
// Sigstore bundle (cosign v3, tag sha256-HEX), its in-toto statement's
// subject. With keys (nil: the binding alone) every signature must also
// verify under one of them. Referrers that are no signature (an SBOM,
// say) are checked for their subject only. Every bad signature is
// reported, each naming its image and tag; the tallies, one an image,
// say what the good ones came to (checkSigned's input).
func (b blobs) checkImageSignatures(ctx context.Context, images []list.Image, keys *sign.Verifier) ([]tally, error) {
	var errs []error
	tallies := make([]tally, len(images))
	for i, im := range images {
		for _, s := range im.Signatures {
			t, err := b.checkImageSignature(ctx, im, s, keys)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: image %s: signature %s: %w", ErrImageSignature, im.Image, s.Tag, err))
				t.bad = 1
			}
			tallies[i].add(t)
		}
	}
	return tallies, errors.Join(errs...)
}

// verifyImageSignatures is checkImageSignatures and checkSigned at
// import, before anything is pushed.
func (b *Bundle) verifyImageSignatures(ctx context.Context, keys *sign.Verifier, allow bool, warn func(string, ...any)) error {
	images := b.Images()
	tallies, err := b.blobs().checkImageSignatures(ctx, images, keys)
	if err != nil {
		return err
	}
	return checkSigned(images, tallies, keys, allow, warn)
}

// checkImageSignatures is verifyImageSignatures at export, on the
// stage: the signatures as copied, under o.ImageKeys if set.
func (e *exporter) checkImageSignatures(ctx context.Context) error {
	tallies, err := blobs{e.store, e.stage}.checkImageSignatures(ctx, e.list.Images, e.o.ImageKeys)
	if e.o.ImageKeys == nil {
		warnUnsigned(e.list.Images, tallies, e.warn)
	}
	return errors.Join(err, checkSigned(e.list.Images, tallies, e.o.ImageKeys, e.o.AllowUnsignedImages, e.warn))
}

// warnUnsigned says once, without --image-key, how many images carry no
// cosign signature (the first few named): export bundles them as they
// are, and only a key makes a signature required and checked. An image
// whose referrers are no signature (an SBOM) counts as unsigned.
func warnUnsigned(images []list.Image, tallies []tally, warn func(string, ...any)) {
	var unsigned []string
	for i, im := range images {
		if tallies[i].signed == 0 {
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

// ownDigest says whether a signature of dg signs im: dg is its
// manifest, or an index the bundle holds (by that digest: its bytes
// are fixed) that lists the manifest. The list's upstream alone is not
// enough: the list is unsigned, and a rewritten one could lend an image
// another's signature through it.
//
// An index the bundle does not hold is no; one it holds that cannot be
// read, or is not the bytes of its digest, is the bundle's error
// (ErrBundle), not an unsigned image.
func (b blobs) ownDigest(ctx context.Context, im list.Image, dg digest.Digest) (bool, error) {
	if dg == im.Manifest.Digest {
		return true, nil
	}
	data, err := b.byDigest(ctx, dg, maxImageManifests)
	if errors.Is(err, errdef.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: %s: the index %s: %v", ErrBundle, b.where, dg, err)
	}
	var idx struct {
		MediaType string               `json:"mediaType"`
		Config    json.RawMessage      `json:"config"`
		Manifests []ocispec.Descriptor `json:"manifests"`
	}
	if json.Unmarshal(data, &idx) != nil || idx.Config != nil {
		return false, nil
	}
	switch idx.MediaType {
	case "", ocispec.MediaTypeImageIndex, dockerIndex:
	default:
		return false, nil
	}
	for _, d := range idx.Manifests {
		if d.Digest == im.Manifest.Digest {
			return true, nil
		}
	}
	return false, nil
}

// dockerIndex is Docker's multi-platform index.
const dockerIndex = "application/vnd.docker.distribution.manifest.list.v2+json"

// checkImageSignature checks one signature tag of im's; its tally
// counts what verified (without keys: what is bound).
func (b blobs) checkImageSignature(ctx context.Context, im list.Image, s list.Signature, keys *sign.Verifier) (tally, error) {
	dg, err := signedDigest(im, s.Tag)
	if err != nil {
		return tally{}, err
	}
	var t tally
	if strings.HasSuffix(s.Tag, ".sig") {
		t.signed, err = b.checkSimpleSigning(ctx, s.Manifest, dg, keys)
	} else {
		t, err = b.checkReferrers(ctx, s.Manifest, dg, keys)
	}
	if err != nil {
		return tally{}, err
	}
	if t.signed != 0 {
		own, err := b.ownDigest(ctx, im, dg)
		if err != nil {
			return tally{}, err
		}
		if !own {
			t.signed, t.foreign = 0, t.signed
		}
	}
	return t, nil
}

// checkReferrers checks a referrers index (tag sha256-HEX of dg): every
// manifest it lists refers to dg; its Sigstore bundles sign dg.
func (b blobs) checkReferrers(ctx context.Context, md ocispec.Descriptor, dg digest.Digest, keys *sign.Verifier) (tally, error) {
	var t tally
	if md.MediaType != ocispec.MediaTypeImageIndex {
		return t, fmt.Errorf("a referrers tag names a %q, not an image index", md.MediaType)
	}
	data, err := b.small(ctx, md, 4<<20)
	if err != nil {
		return t, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return t, fmt.Errorf("its referrers index: %v", err)
	}
	// Import pushes the index's graph: a subject of its own (the
	// referrers tag schema's index has none) would carry a manifest no
	// check read.
	switch {
	case idx.MediaType != "" && idx.MediaType != md.MediaType:
		return t, fmt.Errorf("its referrers index says it is a %q, not an image index as its tag does", idx.MediaType)
	case idx.Subject != nil:
		return t, fmt.Errorf("its referrers index has a subject %s: expected none (the referrers tag schema writes none; import would push it, read by no check)", idx.Subject.Digest)
	}
	if len(idx.Manifests) == 0 || len(idx.Manifests) > maxReferrers {
		return t, fmt.Errorf("its referrers index lists %d manifests (1 to %d expected)", len(idx.Manifests), maxReferrers)
	}
	for _, d := range idx.Manifests {
		isSig, err := b.checkReferrer(ctx, d, dg, keys)
		if _, ok := errors.AsType[shapeError](err); ok {
			err = fmt.Errorf("%w (import would push what it names into the image's repository, read by no check; cosign, oras attach and notation write a referrer as an image manifest of blobs whose subject is its image: delete this one from the image's repository, or copy the image without it, and export again)", err)
		}
		if err != nil {
			return tally{}, fmt.Errorf("referrer %s: %w", d.Digest, err)
		}
		if isSig {
			t.signed++
		} else {
			t.others++
		}
	}
	return t, nil
}

// checkSimpleSigning checks cosign's legacy signature manifest: every
// layer a simple-signing payload naming dg, verified under keys if any.
// It returns how many layers (signatures) that is.
func (b blobs) checkSimpleSigning(ctx context.Context, md ocispec.Descriptor, dg digest.Digest, keys *sign.Verifier) (int, error) {
	m, err := b.imageManifest(ctx, md, "the signature tag", "the signature manifest", "")
	if err != nil {
		return 0, err
	}
	if len(m.Layers) == 0 {
		return 0, errors.New("the signature manifest has no layer")
	}
	for i, l := range m.Layers {
		if l.MediaType != ocimap.CosignPayloadMediaType {
			return 0, fmt.Errorf("layer %d is a %q, not a cosign simple-signing payload", i, l.MediaType)
		}
		payload, err := b.small(ctx, l, sign.MaxCosignPayload)
		if err != nil {
			return 0, err
		}
		if keys == nil {
			err = sign.CheckCosignPayload(payload, dg.String())
		} else {
			err = keys.VerifyManifest(payload, l.Annotations[ocimap.CosignSignatureAnnotation], dg.String())
		}
		if err != nil {
			return 0, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return len(m.Layers), nil
}

// dockerManifest is Docker's image manifest (schema 2): cosign writes
// its signatures so with COSIGN_DOCKER_MEDIA_TYPES=1.
const dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"

// imageManifest reads a manifest that import pushes as a signature's or
// a referrer's graph, as the descriptor naming it (named by what) says:
// it must be an image manifest (OCI, or Docker's schema 2) that says so
// itself (self), whose config and layers are blobs, and whose subject
// is subject ("": none; a cosign .sig manifest has none, a referrer
// names its image). Otherwise that graph holds manifests no check
// read: an index (whose JSON may hold the right layers and subject
// too) listing any image, a layer named as a manifest, or another
// manifest as subject (oras-go's content.Successors includes it).
// Import would push them all into the image's repository (attackX F5).
func (b blobs) imageManifest(ctx context.Context, d ocispec.Descriptor, what, self string, subject digest.Digest) (*ocispec.Manifest, error) {
	if d.MediaType != ocispec.MediaTypeImageManifest && d.MediaType != dockerManifest {
		return nil, shapeError(fmt.Sprintf("%s names a %q, not an image manifest (%s or %s)", what, d.MediaType, ocispec.MediaTypeImageManifest, dockerManifest))
	}
	m, err := b.manifest(ctx, d)
	if err != nil {
		return nil, err
	}
	if m.MediaType != "" && m.MediaType != d.MediaType {
		return nil, shapeError(fmt.Sprintf("%s says it is a %q, not an image manifest (%s) as %s does", self, m.MediaType, d.MediaType, what))
	}
	for i, l := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if isManifest(l.MediaType) {
			part := "its config"
			if i > 0 {
				part = fmt.Sprintf("its layer %d", i-1)
			}
			return nil, shapeError(fmt.Sprintf("%s: %s %s is a %q: expected a blob, not a manifest", self, part, l.Digest, l.MediaType))
		}
	}
	switch {
	case m.Subject == nil && subject == "":
	case subject == "":
		return nil, shapeError(fmt.Sprintf("%s has a subject %s: expected none (cosign writes no subject on a signature manifest)", self, m.Subject.Digest))
	case m.Subject == nil:
		return nil, shapeError(fmt.Sprintf("%s has no subject: expected %s", self, subject))
	case m.Subject.Digest != subject:
		return nil, shapeError(fmt.Sprintf("%s: its subject is %s, not %s", self, m.Subject.Digest, subject))
	}
	return m, nil
}

// shapeError: a signature or referrer manifest is not the image
// manifest of blobs import may push as it is.
type shapeError string

func (e shapeError) Error() string { return string(e) }

// checkReferrer checks one manifest of a referrers index: it is an
// image manifest of blobs (an SBOM, an attestation, a signature; never
// an index, whatever its subject: import would push what it lists)
// whose subject is dg; a Sigstore bundle in it signs dg (under keys if
// any). It says whether the referrer is a signature.
func (b blobs) checkReferrer(ctx context.Context, d ocispec.Descriptor, dg digest.Digest, keys *sign.Verifier) (bool, error) {
	m, err := b.imageManifest(ctx, d, "the referrers index", "the referrer", dg)
	if err != nil {
		return false, err
	}
	if m.ArtifactType != sign.BundleMediaType && m.Config.MediaType != sign.BundleMediaType {
		return false, nil // not a signature: bound by its subject, pushed as it is
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != sign.BundleMediaType {
		return false, fmt.Errorf("a Sigstore bundle manifest with %d layers (one %s expected)", len(m.Layers), sign.BundleMediaType)
	}
	data, err := b.small(ctx, m.Layers[0], sign.MaxBundleSize)
	if err != nil {
		return false, err
	}
	return true, sign.CheckImageBundle(ctx, data, dg.String(), keys)
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

// byDigest reads a blob of at most limit bytes known by its digest
// alone (the list names an upstream index so), checked against it.
func (b blobs) byDigest(ctx context.Context, dg digest.Digest, limit int64) ([]byte, error) {
	if err := dg.Validate(); err != nil {
		return nil, err
	}
	rc, err := b.f.Fetch(ctx, ocispec.Descriptor{Digest: dg})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	switch {
	case err != nil:
		return nil, err
	case int64(len(data)) > limit:
		return nil, fmt.Errorf("blob %s of over %d bytes", dg, limit)
	case digest.FromBytes(data) != dg:
		return nil, fmt.Errorf("blob %s does not match its digest", dg)
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
