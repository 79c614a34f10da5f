package airgap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/sign"
)

// The packs' own cosign signatures. The OCI destination signs each
// release manifest as `cosign sign --key` does, in the registry's
// packgen/signatures repository (FORMAT.md, "OCI registries"); the
// bundle carries them so `cosign verify` works in the air-gapped
// registry too. A static site has none, and export cannot make one (it
// holds no private key): its packs cross unsigned for cosign, verified
// through the packgen index as ever.

// checkPackSignature checks a release's cosign signature manifest: every
// layer a simple-signing payload naming the release manifest dg, and,
// with keys, at least one verifying under them (a key rotation leaves
// one layer per key, and the lock's registry may trust the new one only).
func (b blobs) checkPackSignature(ctx context.Context, md ocispec.Descriptor, dg digest.Digest, keys *sign.Verifier) error {
	if _, err := b.checkSimpleSigning(ctx, md, dg, nil); err != nil {
		return err
	}
	if keys == nil {
		return nil
	}
	m, err := b.manifest(ctx, md)
	if err != nil {
		return err
	}
	var why []string
	for i, l := range m.Layers {
		payload, err := b.small(ctx, l, sign.MaxCosignPayload)
		if err != nil {
			return err
		}
		err = keys.VerifyManifest(payload, l.Annotations[ocimap.CosignSignatureAnnotation], dg.String())
		if err == nil {
			return nil
		}
		why = append(why, fmt.Sprintf("layer %d: %v", i, err))
	}
	return fmt.Errorf("%w: no layer verifies under the registry's key (%s)", sign.ErrBadSignature, strings.Join(why, "; "))
}

// exportPackSignatures copies each release's cosign signature from the
// registry's signature repository into the stage, checked under the
// registry's key first; a release without one is carried unsigned,
// with a warning. A static site has no signatures: said once.
func (e *exporter) exportPackSignatures(ctx context.Context) error {
	loc, err := ocimap.ParseLocation(e.reg.URL)
	if err != nil {
		e.warn("registry %s is not an OCI registry: its packs have no cosign signatures to carry (cosign verify of the imported packs will fail; clients verify them through the packgen index, which the bundle carries signed)", e.reg.Name)
		return nil
	}
	ref := loc.Ref(loc.Repo(ocimap.SignatureRepo))
	repo, err := ocireg.Repository(ctx, ref, e.reg.OCI())
	if err != nil {
		return err
	}
	var mu sync.Mutex // the warnings
	return parallel.Each(ctx, len(e.list.Packs), e.o.Jobs, func(i int) error {
		p := &e.list.Packs[i]
		tag := list.CosignTag(p.Manifest.Digest)
		d, err := repo.Resolve(ctx, tag)
		if ocireg.IsNotFound(err) {
			mu.Lock()
			e.warn("%s@%s has no cosign signature in %s: carried unsigned for cosign", p.Name, p.Version, ref)
			mu.Unlock()
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s@%s: %w", p.Name, p.Version, ocireg.Doing("look up its signature", ref+":"+tag, repo.Client, err))
		}
		// Copied by the digest resolved (a tag may move meanwhile), then
		// checked as stored: what is checked is what is bundled.
		var got ocispec.Descriptor
		if err := copyRetag(ctx, repo, d.Digest.String(), e.store, oras.CopyOptions{}, list.SignaturesRepo+":"+tag, &got); err != nil {
			return fmt.Errorf("%s@%s: %w", p.Name, p.Version, ocireg.Doing("copy its signature", ref+":"+tag, repo.Client, err))
		}
		if err := (blobs{e.store, e.stage}).checkPackSignature(ctx, got, p.Manifest.Digest, e.v); err != nil {
			return fmt.Errorf("%w: %s@%s: its cosign signature %s:%s: %w", ErrPackSignature, p.Name, p.Version, ref, tag, err)
		}
		p.Signature = &list.Signature{Tag: tag, Manifest: plain(got)}
		return nil
	})
}

// ErrPackSignature: a pack's cosign signature does not sign its release
// manifest under the registry's key.
var ErrPackSignature = errors.New("pack signature does not verify")

// verifyPackSignatures checks the packs' carried signatures under the
// import's key.
func (im *importer) verifyPackSignatures(ctx context.Context) error {
	var errs []error
	unsigned := 0
	for _, p := range im.b.List.Packs {
		if p.Signature == nil {
			unsigned++
			continue
		}
		if err := im.b.blobs().checkPackSignature(ctx, p.Signature.Manifest, p.Manifest.Digest, im.o.Key); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s@%s: signature %s: %w", ErrPackSignature, p.Name, p.Version, p.Signature.Tag, err))
		}
	}
	if unsigned > 0 {
		im.warn("%d of the bundle's %d packs carry no cosign signature (their registry had none to carry: a static-site registry never has): each was verified under --key all the same before anything was pushed (the registry's signed index, the shard that pins it, its archive's signature), as packgen clients of the air-gapped registry verify them; only cosign verify of them there will fail", unsigned, len(im.b.List.Packs))
	}
	return errors.Join(errs...)
}

// packSigTarget is where a pack's signature goes, and whether it is
// there already.
type packSigTarget struct {
	p       list.Pack
	present bool
}

// checkPackSigTargets looks up each carried pack signature's tag in the
// air-gapped registry: there with the same manifest (skipped), absent,
// or naming another manifest (a signature made there: kept, with a
// warning, unless --force replaces it).
func (im *importer) checkPackSigTargets(ctx context.Context) error {
	var err error
	if im.sigRepo, err = ocireg.Repository(ctx, im.dest.Ref(im.dest.Repo(ocimap.SignatureRepo)), im.o.OCI); err != nil {
		return err
	}
	var mu sync.Mutex
	for _, p := range im.b.List.Packs {
		if p.Signature != nil {
			im.packSigs = append(im.packSigs, packSigTarget{p: p})
		}
	}
	return parallel.Each(ctx, len(im.packSigs), im.o.Jobs, func(i int) error {
		t := &im.packSigs[i]
		s := t.p.Signature
		d, err := im.sigRepo.Resolve(ctx, s.Tag)
		switch {
		case err != nil && ocireg.IsNotFound(err):
		case err != nil:
			return ocireg.Doing("check", im.sigRepo.Reference.String()+":"+s.Tag, im.sigRepo.Client, err)
		case d.Digest == s.Manifest.Digest || !im.o.Force:
			t.present = true
			if d.Digest != s.Manifest.Digest {
				mu.Lock()
				im.warn("%s:%s (the cosign signature of %s@%s) names %s there, not the bundle's %s: kept; pass --force to replace it", im.sigRepo.Reference, s.Tag, t.p.Name, t.p.Version, d.Digest, s.Manifest.Digest)
				mu.Unlock()
			}
		}
		return nil
	})
}

// pushPackSignatures pushes the packs' signatures not there yet: before
// the packs' index root, so a pack is never visible unsigned.
func (im *importer) pushPackSignatures(ctx context.Context) error {
	return parallel.Each(ctx, len(im.packSigs), im.o.Jobs, func(i int) error {
		t := im.packSigs[i]
		if t.present {
			return nil
		}
		s := t.p.Signature
		if err := pushGraph(ctx, im.b.store, s.Manifest, im.sigRepo, s.Tag); err != nil {
			return ocireg.Doing("push", im.sigRepo.Reference.String()+":"+s.Tag, im.sigRepo.Client, err)
		}
		fmt.Fprintf(im.o.Log, "uploaded %s:%s\n", im.sigRepo.Reference, s.Tag)
		return nil
	})
}
