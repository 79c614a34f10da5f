package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/walk"
)

// SiteProblem is one thing wrong with a registry site. In JSON it is a
// problem in the shape every -o json uses (pack/meta.Problem): "file"
// (the site's path), "severity" ("error": each one fails the check) and
// "message".
type SiteProblem struct {
	Path string `json:"file"`
	Err  string `json:"message"`
}

// MarshalJSON writes the problem as a meta.Problem.
func (p SiteProblem) MarshalJSON() ([]byte, error) {
	return json.Marshal(meta.Problem{File: p.Path, Severity: meta.SevError, Msg: p.Err})
}

// SiteReport is the result of VerifySite.
type SiteReport struct {
	Packs    int           `json:"packs"`
	Releases int           `json:"releases"`
	Files    int           `json:"files"`
	Problems []SiteProblem `json:"problems"`
	// Expired, when set, says index.json has expired: its files may all
	// verify, but every client refuses it (ErrExpired), as a frozen
	// mirror's. It is kept apart from Problems so a caller checking an
	// old site's files can tell; one deciding whether the site is usable
	// must count it, as AllProblems does (verify --site uses that).
	Expired *SiteProblem `json:"-"`
	// Warnings are what fails no client but a documented step: a
	// signed site without its live index.json.sig (clients verify the
	// signature named by index.json's digest; `cosign verify-blob
	// --signature index.json.sig` needs the live one).
	Warnings []SiteProblem `json:"-"`
	// Root is the index.json the walk read and checked the signature of
	// (nil when it does not parse): what checks of the same site against
	// git (rebuild.Open) start from, so both are of one generation.
	Root *index.Root `json:"-"`
	// Subset, for an air-gapped registry (its marker, index.AirgapFile),
	// is what it lacks by design; nil for a whole registry.
	Subset *SiteSubset `json:"subset,omitempty"`
}

// SiteSubset is what verify --site found of an air-gapped subset: the
// bundles its marker names and the files of the signed index that are
// absent, each of a pack or release the marker says no bundle carried.
// A file absent that the marker claims is a problem instead.
type SiteSubset struct {
	Bundles []string `json:"bundles"` // list digests, as airgap export printed them
	Absent  []string `json:"absent"`  // site paths, sorted
	// Releases counts the releases the signed index lists that are not
	// here (below an absent bucket, their files are not even named).
	Releases int `json:"releases"`
	// Dropped are releases a bundle's list carried that the marker no
	// longer claims because the signed index no longer leads to them
	// here (their pack's shard is not here: a later import dropped them,
	// airgap.TestMarkerReachable), NAME@VERSION (bundle LIST), sorted.
	Dropped []string `json:"dropped,omitempty"`
	// Accepted says the caller took the absences as by design (verify
	// --site --subset); otherwise they are one problem (AllProblems): the
	// marker is unsigned, so anyone who can delete files there can write
	// it, and an absence on its word alone must not pass.
	Accepted bool `json:"accepted"`
}

// problem is the subset's refusal when not accepted.
func (s *SiteSubset) problem() *SiteProblem {
	if s == nil || s.Accepted || len(s.Absent) == 0 {
		return nil
	}
	return &SiteProblem{Path: index.AirgapFile, Err: fmt.Sprintf("%d release(s) and %d file(s) the signed index lists are absent (%s…): the registry says it is an air-gapped subset (%s) that was not given them, but %s is not signed (airgap import wrote it), so it cannot prove they were left out rather than deleted; every file present verified. Pass --subset to accept those absences (compare the bundle list digests with what `packgen airgap export` printed)",
		s.Releases, len(s.Absent), s.Absent[0], strings.Join(s.Bundles, ", "), index.AirgapFile)}
}

// AllProblems is Problems with Expired, if set, and an air-gapped
// subset's absences not accepted, in order.
func (r *SiteReport) AllProblems() []SiteProblem {
	sub := r.Subset.problem()
	if r.Expired == nil && sub == nil {
		return r.Problems
	}
	all := append([]SiteProblem(nil), r.Problems...)
	for _, p := range []*SiteProblem{r.Expired, sub} {
		if p != nil {
			all = append(all, *p)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Path < all[j].Path })
	return all
}

// VerifySite checks every digest and signature of a whole registry site
// (a directory or URL) and reports every problem, not just the first:
// the walk-everything mode of the Walker. verifier may be nil to check
// digests only.
func VerifySite(ctx context.Context, loc string, verifier *sign.Verifier) (*SiteReport, error) {
	tr, err := NewTransport(loc, "", 0)
	if err != nil {
		return nil, err
	}
	return VerifySiteVia(ctx, tr, verifier)
}

// VerifySiteVia is VerifySite reading through tr (a transport opened
// with options of its own: an oci:// registry's TLS or plain HTTP).
// An air-gapped subset's absences are reported in Subset, not accepted.
func VerifySiteVia(ctx context.Context, tr Transport, verifier *sign.Verifier) (*SiteReport, error) {
	var files atomic.Int64
	open := func(ctx context.Context, p string) (*Response, error) {
		files.Add(1)
		return tr.Get(ctx, p, "")
	}
	w := walk.New(tr, verifier)
	w.Get, w.Open = walk.Getter(open), open // counted
	var c collector
	// The marker is read apart from the count: a whole registry has none.
	air, err := index.ReadAirgap(ctx, walk.Getter(func(ctx context.Context, p string) (*Response, error) { return tr.Get(ctx, p, "") }))
	if err != nil {
		c.add(index.AirgapFile, err)
	}
	if air != nil {
		files.Add(1)
		c.subset = true
	}
	res, err := w.Walk(ctx, c.add)
	if err != nil {
		return nil, err
	}
	var sub *SiteSubset
	if air != nil {
		sub = &SiteSubset{Bundles: air.Lists(), Absent: []string{}}
		onPath := claimedPaths(ctx, walk.New(tr, nil), res.Root, air) // not counted: the walk read them
		seen := map[string]bool{}
		for _, g := range c.gone {
			if seen[g.Path] {
				continue // one empty leaf under several slots
			}
			seen[g.Path] = true
			if absentByDesign(air, onPath, g.Path) {
				sub.Absent = append(sub.Absent, g.Path)
			} else {
				g.Err += " (" + index.AirgapFile + " says a bundle carried it)"
				c.list = append(c.list, g)
			}
		}
		sort.Strings(sub.Absent)
		var problems []SiteProblem
		problems, sub.Dropped = boundProblems(air, func(name string) bool { return shardHere(ctx, tr, res.Root, name) })
		c.list = append(c.list, problems...)
		if res.Root != nil {
			archives := 0
			for _, p := range sub.Absent {
				if index.KindOf(p) == index.KindArchive {
					archives++
				}
			}
			sub.Releases = max(res.Root.Releases-(res.Releases-archives), 0)
		}
	}
	rep := &SiteReport{Packs: res.Packs, Releases: res.Releases, Files: int(files.Load()), Problems: c.list, Root: res.Root, Subset: sub}
	if rep.Problems == nil {
		rep.Problems = []SiteProblem{}
	}
	// An expired index is what a frozen mirror serves: every client
	// refuses it, so the site is broken however good its signatures are.
	if res.Root != nil {
		if err := walk.CheckExpiry(res.Root, time.Now()); err != nil {
			rep.Expired = &SiteProblem{Path: index.RootFile, Err: err.Error()}
		}
	}
	if res.Root != nil && res.Root.Signed && !strings.HasPrefix(tr.String(), "oci://") {
		// Whether index.json.sig signs index.json is asked only of a
		// root whose own signature verified under these keys: with
		// another key, that is the problem already reported. Without
		// a key, the copies are compared with what they copy.
		rep.Warnings = liveSignatureWarnings(ctx, tr, verifier, verifier == nil || rootSigned(rep.Problems), res.RootData, res.RootSig)
	}
	for _, w := range res.Warnings {
		rep.Warnings = append(rep.Warnings, SiteProblem{Path: w.Path, Err: w.Err.Error()})
	}
	sort.Slice(rep.Problems, func(i, j int) bool {
		if rep.Problems[i].Path != rep.Problems[j].Path {
			return rep.Problems[i].Path < rep.Problems[j].Path
		}
		return rep.Problems[i].Err < rep.Problems[j].Err
	})
	return rep, nil
}

// boundProblems checks what the marker claims against each bundle's
// list, which it carries (index.AirgapBundle Manifest and Listing) and
// whose digest is the one the operator compares with what `airgap
// export` printed (list.Bound): a release the marker claims that the
// list does not carry is a problem; one the list carries that the marker
// does not claim is a problem (deleted, and its line with it, the digest
// kept), unless a later import dropped it (another bundle is there, and
// shardHere says its pack's shard, which the signed index pins, is not
// here): that one is returned in dropped. A bundle without its list
// (a marker of a packgen before the fields) cannot be checked: a problem,
// saying to import it again.
func boundProblems(air *index.Airgap, shardHere func(name string) bool) (problems []SiteProblem, dropped []string) {
	bad := func(format string, args ...any) {
		problems = append(problems, SiteProblem{Path: index.AirgapFile, Err: fmt.Sprintf(format, args...)})
	}
	for _, b := range air.Bundles {
		if b.Manifest == nil {
			bad("bundle %s carries no copy of its list (written by an older packgen): the releases it claims cannot be checked against that digest, so a release deleted with its line there would not show; import that bundle again (`packgen airgap import`) to record it", b.List)
			continue
		}
		l, err := list.Bound(b.List, b.Manifest, b.Listing)
		if err != nil {
			bad("bundle %s: %v: its releases cannot be checked against the digest `airgap export` printed", b.List, err)
			continue
		}
		claimed := map[string]bool{}
		for _, r := range b.Releases {
			claimed[r.Name+"@"+r.Version] = true
		}
		carried := map[string]bool{}
		for _, p := range l.Packs {
			id := p.Name + "@" + p.Version
			carried[id] = true
			switch {
			case claimed[id]:
			case len(air.Bundles) > 1 && !shardHere(p.Name):
				dropped = append(dropped, id+" (bundle "+b.List+")")
			default:
				bad("bundle %s carried %s (its list says so), but %s does not claim it: it was left out of the marker (and its files deleted?); import that bundle again", b.List, id, index.AirgapFile)
			}
		}
		for _, r := range b.Releases {
			if id := r.Name + "@" + r.Version; !carried[id] {
				bad("bundle %s did not carry %s (its list does not name it), but %s says it did", b.List, id, index.AirgapFile)
			}
		}
	}
	sort.Strings(dropped)
	return problems, dropped
}

// shardHere says whether the shard of pack name the signed root pins is
// in the site: false only when it, or a bucket on the way, is not found
// (or the signed index does not list the pack); a file that is there but
// does not verify is the walk's problem, and no excuse.
func shardHere(ctx context.Context, tr Transport, root *index.Root, name string) bool {
	if root == nil {
		return true
	}
	fetch := transport.Fetch(tr)
	sum, err := index.Lookup(ctx, fetch, root, name)
	if err == nil && sum == nil {
		return false
	}
	if err == nil {
		_, err = index.ReadShard(ctx, fetch, *sum)
	}
	return !errors.Is(err, index.ErrNotFound)
}

// claimedPaths are the bucket nodes on the way to each pack the marker
// claims (read from the signed root down, as far as they are there).
func claimedPaths(ctx context.Context, w *walk.Walker, root *index.Root, air *index.Airgap) map[string]bool {
	on := map[string]bool{}
	if root == nil {
		return on
	}
	done := map[string]bool{}
	for _, b := range air.Bundles {
		for _, r := range b.Releases {
			if done[r.Name] {
				continue
			}
			done[r.Name] = true
			_, _ = index.LeafOf(root, r.Name, func(ref index.FileRef) ([]byte, error) {
				on[ref.Path] = true
				return w.Pinned(ctx, ref)
			})
		}
	}
	return on
}

// absentByDesign says whether the file p, not found, belongs only to
// packs or releases the marker says no bundle carried.
func absentByDesign(air *index.Airgap, onPath map[string]bool, p string) bool {
	switch index.KindOf(p) {
	case index.KindBucket:
		return !onPath[p]
	case index.KindShard:
		return !air.HasPack(strings.Split(p, "/")[1])
	case index.KindArchive, index.KindArchiveSig:
		parts := strings.Split(p, "/") // packs/NAME/VERSION/FILE
		return !air.Has(parts[1], parts[2])
	}
	return false
}

// rootSigned: none of problems is about index.json or its signatures.
func rootSigned(problems []SiteProblem) bool {
	for _, p := range problems {
		switch index.KindOf(p.Path) {
		case index.KindRoot, index.KindRootSignature, index.KindDigestSig:
			return false
		}
	}
	return true
}

// liveSignatureWarnings checks a signed site's live signature files of
// index.json (index.json.sig, index.json.sigstore.json): what cosign
// verify-blob and the README read. Clients do not (they verify the
// signature named by index.json's digest, which the walk checked), so
// one missing, one that does not sign index.json (a partial upload, a
// hand edit), or a bundle that does not carry index.json.sig's
// signature, is a warning naming it: the live copies may lag mid-publish
// (publish refuses a site whose copies are not the build's). An OCI
// registry keeps neither. Without compare (the root did not verify under
// the keys given: the problem reported) only their presence is checked,
// and verifier is not used; without a verifier, index.json.sig is
// compared with the signature named by index.json's digest, byte for
// byte, as publish compares them (neither comparison of the bundle needs
// a key). root and named are index.json and that signature as the walk
// read them (named nil: not read), not read again.
func liveSignatureWarnings(ctx context.Context, tr Transport, verifier *sign.Verifier, compare bool, root, named []byte) []SiteProblem {
	w := walk.New(tr, nil)
	var out []SiteProblem
	sigFile, bundleFile := index.RootFile+index.SignatureExt, index.RootFile+index.BundleExt
	// warn words err on p; ok: there was none.
	warn := func(p string, err error) (ok bool) {
		switch {
		case err == nil:
			return true
		case errors.Is(err, index.ErrNotFound):
			out = append(out, SiteProblem{Path: p, Err: "missing: clients verify index.json by the signature named by its digest (signatures/SHA-256.sig), but `cosign verify-blob --signature " + p + "` cannot run; publish the site again, or copy the file from the build"})
		case errors.Is(err, sign.ErrBadSignature):
			// The bundle beside it is written with it (attackX F4).
			out = append(out, SiteProblem{Path: p, Err: "not a Sigstore bundle carrying the signature in " + sigFile + " (a stale, partial or junk copy): `cosign verify-blob --bundle " + p + "` fails, though clients verify index.json by the signature named by its digest; publish the site again, or copy the file from the build"})
		default:
			out = append(out, SiteProblem{Path: p, Err: "cannot be read: " + err.Error()})
		}
		return false
	}
	sig, err := w.Get(ctx, sigFile, sign.MaxSigFileSize)
	if !warn(sigFile, err) || !compare {
		sig = nil // nothing the bundle must carry
	} else if verifier != nil && verifier.VerifyBlob(bytes.NewReader(root), sig) != nil {
		out = append(out, SiteProblem{Path: sigFile, Err: "does not sign index.json (a stale or partial copy): `cosign verify-blob --signature " + sigFile + "` fails, though clients verify index.json by the signature named by its digest; publish the site again, or copy the file from the build"})
		sig = nil
	} else if verifier == nil && named != nil && !bytes.Equal(named, sig) {
		out = append(out, SiteProblem{Path: sigFile, Err: "not a copy of " + index.RootSignaturePath(index.Digest(root)) + ", the signature named by index.json's digest (a stale or partial copy): `cosign verify-blob --signature " + sigFile + "` reads it, and clients the one named by the digest; publish the site again, or copy the file from the build (verify with --key to know which signs index.json)"})
		sig = nil
	}
	if sig == nil {
		// Nothing to compare it with: there, and within publish's bound.
		_, err = w.Get(ctx, bundleFile, sign.MaxBundleSize)
	} else {
		// Walk's check, publish's: the same bound, the same signature.
		err = w.BundleOf(ctx, bundleFile, sigFile, sig)
	}
	warn(bundleFile, err)
	return out
}
