package publish

// --prune for an OCI destination, narrowly: it never deletes a release
// (a pack version tag) nor anything the live generation or the one it
// replaced reads. It deletes
//
//   - the meta manifests (tags meta-SERIAL of BASE/packgen/index) of
//     generations older than the one this publish replaced: they only
//     keep those generations' buckets, shards and tiles from garbage
//     collection, as the previous live generation is spared on S3;
//   - cosign signatures (BASE/packgen/signatures) of release manifests
//     that are gone: a tag sha256-HEX.sig whose digest is no release of
//     the site, whose payload names a repository below this base's
//     archive, and whose subject that repository answers 404 for,
//     unless it was written less than pruneGrace ago: a publish pushes a
//     release's signature right before the manifest that tags it, so
//     until then a signature of a release on its way looks orphaned
//     (attackV F6: a concurrent prune deleted it, and the release was
//     tagged unsigned). The publish also looks again for the signature
//     right before the tag (signingPlan.still).
//
// A manifest is deleted by digest (the registry's API has no tag
// delete): one whose digest a kept generation names is left, and a meta
// tag naming anything but a meta manifest (someone retagged it) is
// left with a warning. A registry that refuses deletes (distribution
// without storage.delete.enabled) is a warning, not a failure: the
// publish itself succeeded.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/sign"
)

// pruneTarget is a manifest --prune deletes.
type pruneTarget struct {
	repo *remote.Repository
	tag  string
	desc ocispec.Descriptor
}

func (p pruneTarget) String() string { return p.repo.Reference.String() + ":" + p.tag }

// prune deletes what the package comment says, after a publish (or
// says what it would, under o.DryRun). keepMeta are the digests of meta
// manifests a kept generation names (the new one's, the live one's).
func (d *ociDest) prune(ctx context.Context, s *site, idx *remote.Repository, keepMeta []digest.Digest, o Options, res *Result) error {
	metas, err := d.oldMetas(ctx, idx, s.root.Serial, keepMeta, o.Log)
	if err != nil {
		return err
	}
	sigs, err := d.orphanSignatures(ctx, s, time.Now(), o.Log)
	if err != nil {
		return err
	}
	targets := append(metas, sigs...)
	for _, t := range targets {
		if o.DryRun {
			fmt.Fprintf(o.Log, "would delete %s (%s)\n", textsafe.Escape(t.String()), textsafe.Escape(string(t.desc.Digest)))
			res.Deleted = append(res.Deleted, t.String())
			continue
		}
		err := t.repo.Delete(ctx, t.desc)
		if refusesDelete(err) {
			fmt.Fprintf(o.Log, "warning: %s does not allow deleting manifests (distribution: storage.delete.enabled): nothing pruned\n", t.repo.Reference.Registry)
			return nil
		}
		if err != nil && !ocireg.IsNotFound(err) {
			return ocireg.Doing("prune", t.String(), t.repo.Client, err)
		}
		fmt.Fprintf(o.Log, "deleted %s (%s)\n", textsafe.Escape(t.String()), textsafe.Escape(string(t.desc.Digest)))
		res.Deleted = append(res.Deleted, t.String())
	}
	return nil
}

// refusesDelete tells a registry that does not delete manifests.
func refusesDelete(err error) bool {
	var er *errcode.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	if er.StatusCode == http.StatusMethodNotAllowed {
		return true
	}
	for _, e := range er.Errors {
		if e.Code == errcode.ErrorCodeUnsupported {
			return true
		}
	}
	return false
}

// oldMetas are the meta manifests of the generations before the one
// that preceded serial (the generation just published): serial, the
// highest one below it, and any above it (a forced publish) are kept, as
// is every manifest whose digest one of them, or keepMeta, names.
func (d *ociDest) oldMetas(ctx context.Context, idx *remote.Repository, serial int64, keepMeta []digest.Digest, log io.Writer) ([]pruneTarget, error) {
	tags, err := listTags(ctx, idx)
	if err != nil {
		return nil, err
	}
	type meta struct {
		n   int64
		tag string
	}
	var metas []meta
	prev := int64(-1)
	for t := range tags {
		rest, ok := strings.CutPrefix(t, ocimap.MetaTagPrefix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != rest {
			continue // not ours
		}
		metas = append(metas, meta{n, t})
		if n < serial {
			prev = max(prev, n)
		}
	}
	sort.Slice(metas, func(i, j int) bool { return metas[i].n < metas[j].n })
	resolve := func(t string) (ocispec.Descriptor, bool, error) {
		desc, err := idx.Resolve(ctx, t)
		if ocireg.IsNotFound(err) {
			return desc, false, nil
		}
		if err != nil {
			return desc, false, ocireg.Doing("resolve", idx.Reference.String()+":"+t, idx.Client, err)
		}
		return desc, true, nil
	}
	if prev >= 0 {
		desc, ok, err := resolve(ocimap.MetaTagPrefix + strconv.FormatInt(prev, 10))
		if err != nil {
			return nil, err
		}
		if ok {
			keepMeta = append(keepMeta, desc.Digest)
		}
	}
	var out []pruneTarget
	for _, m := range metas {
		if m.n >= prev {
			break
		}
		// Read what the tag names (checked against its digest), not just
		// its digest: a manifest is deleted by digest, so a meta tag
		// someone pointed at the root or a release's signatures would
		// delete those.
		desc, ok, err := resolve(m.tag)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		// By digest: what is checked is what a delete would remove.
		_, mf, _, err := fetchManifest(ctx, idx, desc.Digest.String())
		if err != nil {
			return nil, ocireg.Doing("read the manifest of tag "+m.tag+" at", idx.Reference.String()+"@"+desc.Digest.String(), idx.Client, err)
		}
		if !ocimap.IsMetaManifest(mf) {
			fmt.Fprintf(log, "warning: %s:%s names %s, which is not a generation's metadata (the root manifest or a release's signatures?): left alone; someone retagged it, check who can push to %s\n", idx.Reference, m.tag, textsafe.Escape(string(desc.Digest)), idx.Reference)
			continue
		}
		if !contains(keepMeta, desc.Digest) {
			out = append(out, pruneTarget{idx, m.tag, desc})
		}
	}
	return out, nil
}

func contains(ds []digest.Digest, d digest.Digest) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// pruneGrace is how long an orphaned signature is kept after it was
// written (ocimap.SignatureWritten): far longer than a publish takes
// from a release's signature to its tag (one request), so that a
// publisher's clock that is off does not matter.
const pruneGrace = 24 * time.Hour

// orphanSignatures are the cosign signatures in the signature repository
// whose subject, a release manifest below this base, is gone, and that
// were written before now less pruneGrace (one that does not say when,
// cosign's own or an older packgen's, counts as old).
func (d *ociDest) orphanSignatures(ctx context.Context, s *site, now time.Time, log io.Writer) ([]pruneTarget, error) {
	repo, tags, err := d.signatureTags(ctx)
	if err != nil {
		return nil, err
	}
	ours := map[string]bool{}
	for _, r := range s.releases {
		ours[ocimap.CosignTag(r.manifest.Desc.Digest)] = true
	}
	var names []string
	for t := range tags {
		if !ours[t] && strings.HasPrefix(t, "sha256-") && strings.HasSuffix(t, ".sig") {
			names = append(names, t)
		}
	}
	sort.Strings(names)
	archive := d.loc.Ref(d.loc.Repo(ocimap.ArchiveRepo)) + "/"
	var out []pruneTarget
	for _, t := range names {
		desc, m, _, err := fetchManifest(ctx, repo, t)
		if ocireg.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, ocireg.Doing("read", repo.Reference.String()+":"+t, repo.Client, err)
		}
		subject, ok := d.cosignSubject(ctx, repo, m, archive)
		if !ok {
			continue // not a signature of a release of this base: left alone
		}
		gone, err := d.manifestGone(ctx, subject)
		if err != nil {
			return nil, err
		}
		if !gone || ocimap.CosignTag(digest.Digest(subject[strings.LastIndex(subject, "@")+1:])) != t {
			continue
		}
		// A time further ahead than any clock skew is the writer's word
		// against pruning for ever: counted as old.
		if at, ok := ocimap.SignatureWritten(m); ok && now.Sub(at) < pruneGrace && at.Sub(now) < pruneGrace {
			fmt.Fprintf(log, "kept %s:%s: its release %s is not tagged, but the signature was written at %s, less than %s ago: a publish may be about to tag it (pruned once it is older)\n", repo.Reference, t, textsafe.Escape(subject), at.UTC().Format(time.RFC3339), pruneGrace)
			continue
		}
		out = append(out, pruneTarget{repo, t, desc})
	}
	return out, nil
}

// cosignSubject is REPO@DIGEST a cosign signature manifest signs, when
// its first layer's payload names a repository below archive.
func (d *ociDest) cosignSubject(ctx context.Context, repo *remote.Repository, m *ocispec.Manifest, archive string) (string, bool) {
	if len(m.Layers) == 0 || m.Layers[0].MediaType != ocimap.CosignPayloadMediaType {
		return "", false
	}
	data, err := fetchBlob(ctx, repo, m.Layers[0], sign.MaxCosignPayload)
	if err != nil {
		return "", false
	}
	var p struct {
		Critical struct {
			Identity struct {
				DockerReference string `json:"docker-reference"`
			} `json:"identity"`
			Image struct {
				DockerManifestDigest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
	}
	if json.Unmarshal(data, &p) != nil {
		return "", false
	}
	ref, dg := p.Critical.Identity.DockerReference, p.Critical.Image.DockerManifestDigest
	if !strings.HasPrefix(ref, archive) || strings.ContainsAny(ref[len(archive):], ":@") || digest.Digest(dg).Validate() != nil {
		return "", false
	}
	return ref + "@" + dg, true
}

// manifestGone tells whether the registry answers 404 for REPO@DIGEST.
func (d *ociDest) manifestGone(ctx context.Context, ref string) (bool, error) {
	at := strings.LastIndex(ref, "@")
	repo, err := d.o.Repos(ref[:at])
	if err != nil {
		return false, err
	}
	_, err = repo.Resolve(ctx, ref[at+1:])
	if ocireg.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, ocireg.Doing("resolve", ref, repo.Client, err)
	}
	return false, nil
}

// signatureTags opens the signature repository and lists its tags.
func (d *ociDest) signatureTags(ctx context.Context) (*remote.Repository, map[string]bool, error) {
	repo, err := d.repo(d.loc.Repo(ocimap.SignatureRepo))
	if err != nil {
		return nil, nil, err
	}
	tags, err := listTags(ctx, repo)
	return repo, tags, err
}
