package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/packgen/packgen/index"
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
}

// AllProblems is Problems with Expired, if set, in order.
func (r *SiteReport) AllProblems() []SiteProblem {
	if r.Expired == nil {
		return r.Problems
	}
	all := append([]SiteProblem{*r.Expired}, r.Problems...)
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
func VerifySiteVia(ctx context.Context, tr Transport, verifier *sign.Verifier) (*SiteReport, error) {
	var files atomic.Int64
	open := func(ctx context.Context, p string) (*Response, error) {
		files.Add(1)
		return tr.Get(ctx, p, "")
	}
	w := walk.New(tr, verifier)
	w.Get, w.Open = walk.Getter(open), open // counted
	var c collector
	res, err := w.Walk(ctx, c.add)
	if err != nil {
		return nil, err
	}
	rep := &SiteReport{Packs: res.Packs, Releases: res.Releases, Files: int(files.Load()), Problems: c.list, Root: res.Root}
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
		// another key, that is the problem already reported.
		if !rootSigned(rep.Problems) {
			verifier = nil
		}
		rep.Warnings = liveSignatureWarnings(ctx, tr, verifier)
	}
	sort.Slice(rep.Problems, func(i, j int) bool {
		if rep.Problems[i].Path != rep.Problems[j].Path {
			return rep.Problems[i].Path < rep.Problems[j].Path
		}
		return rep.Problems[i].Err < rep.Problems[j].Err
	})
	return rep, nil
}

// rootSigned: none of problems is about index.json or its signatures.
func rootSigned(problems []SiteProblem) bool {
	for _, p := range problems {
		if p.Path == index.RootFile || strings.HasPrefix(p.Path, path.Dir(index.RootSignaturePath("x"))+"/") || strings.HasPrefix(p.Path, index.RootFile+".") {
			return false
		}
	}
	return true
}

// liveSignatureWarnings checks a signed site's live signature files of
// index.json (index.json.sig, index.json.sigstore.json): what cosign
// verify-blob and the README read. Clients do not (they verify the
// signature named by index.json's digest, which the walk checked), so
// one missing, or one that does not sign index.json (a partial upload, a
// hand edit), is a warning naming it. An OCI registry keeps neither.
func liveSignatureWarnings(ctx context.Context, tr Transport, verifier *sign.Verifier) []SiteProblem {
	get := walk.Getter(func(ctx context.Context, p string) (*Response, error) { return tr.Get(ctx, p, "") })
	var out []SiteProblem
	sigFile := index.RootFile + index.SignatureExt
	for _, p := range []string{sigFile, index.RootFile + index.BundleExt} {
		data, err := get(ctx, p, sign.MaxSigFileSize)
		switch {
		case errors.Is(err, index.ErrNotFound):
			out = append(out, SiteProblem{Path: p, Err: "missing: clients verify index.json by the signature named by its digest (signatures/SHA-256.sig), but `cosign verify-blob --signature " + p + "` cannot run; publish the site again, or copy the file from the build"})
		case err != nil:
			out = append(out, SiteProblem{Path: p, Err: "cannot be read: " + err.Error()})
		case p == sigFile && verifier != nil:
			root, rerr := get(ctx, index.RootFile, index.MaxRootSize)
			if rerr == nil && verifier.VerifyBlob(bytes.NewReader(root), data) != nil {
				out = append(out, SiteProblem{Path: p, Err: "does not sign index.json (a stale or partial copy): `cosign verify-blob --signature " + p + "` fails, though clients verify index.json by the signature named by its digest; publish the site again, or copy the file from the build"})
			}
		}
	}
	return out
}
