// Package walk is the one trusted walk of a registry site, from the signed
// index.json to every archive and its signature; the client, the
// verification of a whole site, a build reading its previous build and
// profile fetch all go through it.
package walk

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
)

// Errors of the walk, usable with errors.Is (package client exports the
// same values).
var (
	ErrDigestMismatch = index.ErrDigestMismatch
	ErrTooLarge       = index.ErrTooLarge
	ErrNotFound       = index.ErrNotFound
	ErrBadSignature   = sign.ErrBadSignature
	ErrUnsigned       = errors.New("registry is not signed")
	ErrExpired        = errors.New("index expired")
	// ErrMissingSignature: index.json says it is signed, but the
	// signature clients read, named by its digest, is not there
	// (RootClaim; publish refuses a release's missing one too).
	ErrMissingSignature = errors.New("a signature of the signed registry is missing")
	// ErrStraySignature: index.json says it is unsigned, but the
	// signature named by its digest is beside it (RootClaim; beside
	// index.json.sig alone, it was changed after signing: RootStep's
	// ErrBadSignature).
	ErrStraySignature = errors.New("signatures beside an index.json that says it is unsigned")
)

// Transport reads the files of a site; Response is one file opened.
type (
	Transport = transport.Transport
	Response  = transport.Response
)

// Walker is the one trusted walk of a registry site, modelled on TUF's
// chain of trusted metadata: index.json is trusted once its signature
// verifies (RootSignature); every file below it only through the FileRef
// of a trusted parent (index.FileRef.Verify: size and SHA-256, before it
// is parsed): bucket nodes, shards, archives; an archive also through its
// own signature (ArchiveSignature). The Client walks one path of it, with
// its cache, rollback record and overlapped requests; Walk walks all of it
// and collects every problem (VerifySite); a build reading its previous
// build and profile fetch go through the same steps.
type Walker struct {
	// Get returns a site file whole, refusing more than max bytes.
	Get index.FetchFunc
	// Open opens a site file to stream it (archives).
	Open func(ctx context.Context, path string) (*Response, error)
	// Verifier checks signatures; nil checks digests only.
	Verifier *sign.Verifier
	// HoldsTileHeight reports whether the source holds the log's hash
	// tiles of a height index.json names (transport.HoldsTileHeight: an
	// OCI registry holds height 8 only). Nil: log proofs read the
	// height-8 tiles every log has.
	HoldsTileHeight func(h int) bool
	// List lists every file of the site (transport.Lister: a
	// directory), for walkCatalogue to find files added in the
	// catalogue's directories under any name; nil where the source
	// cannot be listed (a URL): only the catalogue's own names are
	// looked for there.
	List func(ctx context.Context) ([]string, error)
}

// New walks the site tr reads, checking signatures with v (nil:
// digests only).
func New(tr Transport, v *sign.Verifier) *Walker {
	open := func(ctx context.Context, p string) (*Response, error) { return tr.Get(ctx, p, "") }
	w := &Walker{Get: Getter(open), Open: open, Verifier: v, HoldsTileHeight: func(h int) bool { return transport.HoldsTileHeight(tr, h) }}
	if l, ok := tr.(transport.Lister); ok {
		w.List = l.List
	}
	return w
}

// Getter makes a Get from an Open.
func Getter(open func(ctx context.Context, p string) (*Response, error)) index.FetchFunc {
	return func(ctx context.Context, p string, max int64) ([]byte, error) {
		resp, err := open(ctx, p)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, err := ReadMax(p, resp, max)
		if err != nil {
			return nil, err
		}
		return data, nil
	}
}

// ReadMax reads a response whole, refusing more than max bytes; what it
// read is returned on error too.
func ReadMax(p string, resp *Response, max int64) ([]byte, error) {
	if resp.Size > max {
		return nil, fmt.Errorf("%s: %w (%d bytes announced, at most %d expected)", p, ErrTooLarge, resp.Size, max)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return data, fmt.Errorf("read %s: %w", p, err)
	}
	if int64(len(data)) > max {
		return data, fmt.Errorf("%s: %w (more than %d bytes)", p, ErrTooLarge, max)
	}
	return data, nil
}

// Fetched is a file fetched ahead of need: its bytes or why not.
type Fetched struct {
	Data []byte
	Err  error
}

// FileError names the site file a problem of the walk is in.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// RootSignature checks the signature of index.json's bytes. live, when
// given, is what index.json.sig held (fetched together with index.json:
// it signs the live index except while a publish switches generations);
// if it is missing or does not verify, the signature named by the digest
// of data decides. A nil Verifier checks nothing.
func (w *Walker) RootSignature(ctx context.Context, data []byte, live *Fetched) error {
	_, err := w.RootSignatureRead(ctx, data, live)
	return err
}

// RootSignatureRead is RootSignature, handing back the bytes of the
// signature named by data's digest when it read them (not when live
// verified, nor without a Verifier): Walk, and publish, check the
// copies beside it without reading it again.
func (w *Walker) RootSignatureRead(ctx context.Context, data []byte, live *Fetched) (named []byte, err error) {
	if w.Verifier == nil {
		return nil, nil
	}
	signed, named, err := w.rootSignature(ctx, data, live)
	if err == nil && !signed {
		return nil, fmt.Errorf("%w: index.json has no signature but a key is configured; refusing it (the registry may have been replaced)", ErrUnsigned)
	}
	return named, err
}

// RootSigned is the root step for a reader that may take an unsigned
// registry: a build reading its previous build, which then takes from an
// unsigned one nothing but what an unsigned build may (build/trust.go).
// It reports whether data verifies under the Verifier, deciding as
// `verify --site` (Walk) does: the signature named by data's digest
// first, index.json.sig only to tell a registry that signs nothing
// (false, nil) from an index.json changed after signing, or one whose
// digest-named signature is missing (errors: ErrBadSignature,
// ErrUnsigned). A signature by another key is ErrBadSignature. Without a
// Verifier nothing verifies (false), but that tamper check still runs: it
// needs no key (Walk without one runs it too). A signature that cannot be
// read (other than not found) is an error, never taken as "unsigned".
func (w *Walker) RootSigned(ctx context.Context, data []byte) (bool, error) {
	signed, _, err := w.rootSignature(ctx, data, nil)
	return signed, err
}

// RootStep is the root step of verify --site (Walk), which publish
// takes too: RootSignatureRead's with a Verifier; without one,
// RootSigned's, whose tamper check needs no key (no signature named by
// index.json's digest, though index.json.sig is there: a build refuses
// such a previous build). Once it passes, RootClaim compares what
// index.json says of itself with the signature named by its digest. It
// returns that signature's bytes, when read (with a Verifier, on a
// signature that does not verify too).
func (w *Walker) RootStep(ctx context.Context, data []byte) ([]byte, error) {
	if w.Verifier != nil {
		return w.RootSignatureRead(ctx, data, nil)
	}
	_, named, err := w.rootSignature(ctx, data, nil)
	return named, err
}

// rootSignature decides about the signature of index.json's bytes data:
// signed when they verify under w.Verifier; not signed, with no error,
// when nothing on the site signs them (neither the signature named by
// their digest nor index.json.sig is there) or, without a Verifier, when
// the signature named by their digest is there (nothing can be verified,
// nothing contradicts). index.json.sig that cannot be read (other than
// not found), when it is the one left to decide, is an error naming it:
// never "unsigned", which a reader with a key would take for a replaced
// registry. namedSig: that signature's bytes, when read.
func (w *Walker) rootSignature(ctx context.Context, data []byte, live *Fetched) (signed bool, namedSig []byte, err error) {
	verifies := func(sig []byte) bool {
		return w.Verifier != nil && w.Verifier.VerifyBlob(bytes.NewReader(data), sig) == nil
	}
	if live != nil && live.Err == nil && verifies(live.Data) {
		return true, nil, nil
	}
	named := index.RootSignaturePath(index.Digest(data))
	sig, err := w.Get(ctx, named, sign.MaxSigFileSize)
	if errors.Is(err, ErrNotFound) {
		// No signature for these exact bytes. If the registry is signed at
		// all, index.json was altered; otherwise it is unsigned.
		liveSig := index.RootFile + index.SignatureExt
		if live == nil {
			d, err := w.Get(ctx, liveSig, sign.MaxSigFileSize)
			live = &Fetched{Data: d, Err: err}
		}
		switch {
		case live.Err == nil && verifies(live.Data):
			return false, nil, &FileError{named, fmt.Errorf("%w: missing, though %s signs index.json (a partial copy or upload); %s", ErrUnsigned, liveSig, rootAdvice)}
		case live.Err == nil:
			// Without a key, which of the two changed cannot be told.
			seen := "does not sign it"
			if w.Verifier == nil {
				seen = "is there (whether it signs index.json takes the key to tell)"
			}
			return false, nil, &FileError{index.RootFile, fmt.Errorf("%w: %s, the signature named by its digest, is missing, and %s %s; index.json was modified after signing, or that signature was lost (a partial copy or upload); %s", ErrBadSignature, named, liveSig, seen, rootAdvice)}
		case !errors.Is(live.Err, ErrNotFound):
			return false, nil, &FileError{liveSig, live.Err}
		}
		return false, nil, nil
	}
	if err != nil {
		return false, nil, &FileError{named, err}
	}
	if w.Verifier == nil {
		return false, sig, nil
	}
	if err := w.Verifier.VerifyBlob(bytes.NewReader(data), sig); err != nil {
		return false, sig, &FileError{index.RootFile, err}
	}
	return true, sig, nil
}

// RootClaim is the one rule, for verify --site (Walk) and publish, that
// what index.json says of itself ("signed": signed) agrees with the
// signature named by rootData's digest (what clients read; named:
// whether it is there), which takes no key. It is asked once RootStep
// has passed, which leaves no index.json.sig beside a root without its
// named signature (that is RootStep's ErrBadSignature or ErrUnsigned).
// A build writes both for a signed root and neither for an unsigned one,
// and updates in place only a site signed as it signs (build's
// canUpdateInPlace): a staged build writes a fresh tree. A signed root
// with neither is ErrMissingSignature (clients with the key refuse it as
// unsigned); an unsigned one beside its named signature is
// ErrStraySignature (the signature copied in, or index.json edited and
// signed outside a build). The error names the files and what to do.
func RootClaim(signed bool, rootData []byte, named bool) error {
	namedPath, livePath := index.RootSignaturePath(index.Digest(rootData)), index.RootFile+index.SignatureExt
	switch {
	case signed && !named:
		return fmt.Errorf("%w: index.json says it is signed (\"signed\": true), but neither %s, the signature named by its digest (what clients read), nor %s is there: clients with the registry's key refuse it as unsigned; %s", ErrMissingSignature, namedPath, livePath, rootAdvice)
	case !signed && named:
		return fmt.Errorf("%w: index.json says it is unsigned (\"signed\": false), but %s is there, the signature named by its digest: no build writes that (an unsigned build writes no signature), so it was copied in, or index.json was edited and signed outside a build; for a signed registry, %s; for an unsigned one, remove %s (and %s, if there)", ErrStraySignature, namedPath, rootAdvice, namedPath, livePath)
	}
	return nil
}

// rootAdvice is what to do about an index.json without the signature
// named by its digest on a site whose index.json.sig is there: no build
// writes such a site.
const rootAdvice = "the registry's owner must build the site again with its key, or publish it again from the site as built"

// CheckExpiry refuses an index past its expiry: what a frozen mirror
// serves, which may hide security fixes.
func CheckExpiry(root *index.Root, now time.Time) error {
	if !now.After(root.Expires) {
		return nil
	}
	return fmt.Errorf("%w: expired at %s (%s ago); a stale index may hide security fixes. The registry owner must rebuild and publish it (packgen build, with SOURCE_DATE_EPOCH=$(date +%%s) to refresh without a new commit)",
		ErrExpired, root.Expires.Format(time.RFC3339), now.Sub(root.Expires).Round(time.Minute))
}

// Pinned fetches a file below index.json and checks it against the ref
// its trusted parent holds.
func (w *Walker) Pinned(ctx context.Context, ref index.FileRef) ([]byte, error) {
	return index.FetchPinned(ctx, w.Get, ref)
}

// Archive streams a release archive into dst, checking it against ref as
// it goes; it returns the archive's SHA-256 for its signature check.
func (w *Walker) Archive(ctx context.Context, ref index.FileRef, dst io.Writer) ([32]byte, error) {
	resp, err := w.Open(ctx, ref.Path)
	if err != nil {
		return [32]byte{}, err
	}
	defer resp.Body.Close()
	sum, _, err := CopyPinned(ref, resp, dst, nil)
	return sum, err
}

// Announced refuses a response bigger than ref before it is read.
func Announced(ref index.FileRef, resp *Response) error {
	if resp.Size > ref.Size {
		return fmt.Errorf("%s: %w (server announces %d bytes, the index says %d)", ref.Path, ErrTooLarge, resp.Size, ref.Size)
	}
	return nil
}

// CopyPinned copies the body of resp, the file ref pins, to dst (through
// wrap, when given), and checks it. n is what was read, on error too.
func CopyPinned(ref index.FileRef, resp *Response, dst io.Writer, wrap func(io.Reader) io.Reader) (sum [32]byte, n int64, err error) {
	if err := Announced(ref, resp); err != nil {
		return sum, 0, mismatchWhere(resp, err)
	}
	pr := ref.VerifyReader(resp.Body)
	var body io.Reader = pr
	if wrap != nil {
		body = wrap(pr)
	}
	_, err = io.Copy(dst, body)
	if err != nil {
		return sum, pr.Len(), fmt.Errorf("download %s: %w", ref.Path, err)
	}
	return pr.Sum(), pr.Len(), mismatchWhere(resp, pr.Verify())
}

// mismatchWhere adds to err, bytes other than the pinned ones, where the
// transport read them and what that means there (Response.Mismatch: an
// OCI release tag someone moved).
func mismatchWhere(resp *Response, err error) error {
	if err == nil || resp.Mismatch == "" || !(errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrTooLarge)) {
		return err
	}
	return fmt.Errorf("%w; %s", err, resp.Mismatch)
}

// ArchiveSignature verifies a release's archive signature: raw is the
// .sig file, sum the archive's SHA-256 (already checked against the
// shard) and open opens the archive, for signature kinds that read it.
func (w *Walker) ArchiveSignature(rel *index.Release, raw []byte, sum [32]byte, open func() (io.ReadCloser, error)) error {
	sig, err := sign.DecodeSigFile(raw)
	if err != nil {
		return &FileError{rel.Signature, err}
	}
	if err := w.Verifier.VerifyDigest(sum, open, sig); err != nil {
		return &FileError{rel.Archive.Path, err}
	}
	return nil
}

// ReleaseSignature is ArchiveSignature over the digest rel's shard pins
// (rel.Archive.SHA256, which the shard's parser checked is one): for a
// reader that does not hash the archive itself (publish, an air-gap
// bundle's). open is read only by keys that sign the whole blob
// (ed25519), which compare what it reads with that digest.
func (w *Walker) ReleaseSignature(rel *index.Release, raw []byte, open func() (io.ReadCloser, error)) error {
	var sum [32]byte
	if n, err := hex.Decode(sum[:], []byte(rel.Archive.SHA256)); err != nil || n != len(sum) {
		return &FileError{rel.Archive.Path, fmt.Errorf("%w: sha256 %q is no SHA-256", ErrDigestMismatch, rel.Archive.SHA256)}
	}
	return w.ArchiveSignature(rel, raw, sum, open)
}

// UnsignedRelease is the error of a release without a signature in a
// registry with a key.
func UnsignedRelease(rel *index.Release) error {
	return &FileError{rel.Archive.Path, fmt.Errorf("%w: the release has no signature but the registry has a key", ErrUnsigned)}
}

// WalkResult counts what Walk found.
type WalkResult struct {
	Root     *index.Root // nil when index.json does not parse
	Packs    int
	Releases int
	// Warnings fail nothing: a signed site with a catalogue but no
	// signed manifest of it (walkCatalogue), a latest-shard copy that
	// is not its shard's bytes (walkLatestShard).
	Warnings []*FileError
	// RootData is index.json as read; RootSig the signature named by
	// its digest, when read (a signed root: with a key, once it
	// verified): for a caller checking the copies beside them without
	// reading them again.
	RootData, RootSig []byte
}

// Walk checks the whole site, index.json to every archive signature,
// reporting each problem (with the file it is in, never a FileError) and
// going on past it;
// the error is only for an index.json that cannot be read at all.
// Expiry is the caller's to judge (Root.Expires).
func (w *Walker) Walk(ctx context.Context, problem func(path string, err error)) (*WalkResult, error) {
	problem = byFile(problem)
	data, err := w.Get(ctx, index.RootFile, index.MaxRootSize)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", index.RootFile, err)
	}
	sig, sigErr := w.RootStep(ctx, data)
	if sigErr != nil {
		problem(index.RootFile, sigErr)
	}
	res := &WalkResult{RootData: data}
	if res.Root, err = index.ParseRoot(data); err != nil {
		problem(index.RootFile, err)
		return res, nil
	}
	if sigErr == nil {
		// What index.json says of itself, against the signature named
		// by its digest (sig nil without an error: index.json.sig was
		// not there either, or RootStep would have refused it).
		if err := RootClaim(res.Root.Signed, data, sig != nil); err != nil {
			problem(index.RootFile, err)
		}
	}
	if sigErr == nil && res.Root.Signed && sig != nil {
		// Not of a root that says it signs nothing: its bundle would
		// be a request for a file never written.
		res.RootSig = sig
		w.walkRootBundle(ctx, data, sig, problem)
	}
	var rels []*index.Release
	var logged []LoggedRelease
	var packs []string
	var sums []index.Summary
	treeProblems := false
	_ = w.Tree(ctx, res.Root, TreeVisitor{
		Bucket: func(_ index.FileRef, b *index.Bucket) { res.Packs += len(b.Packs) },
		Shard: func(s index.Summary, shard *index.Shard) error {
			packs = append(packs, shard.Name)
			sums = append(sums, s)
			for i := range shard.Releases {
				rels = append(rels, &shard.Releases[i])
				logged = append(logged, LoggedRelease{Name: shard.Name, Rel: &shard.Releases[i]})
			}
			return nil
		},
		Problem: func(p string, err error) error {
			treeProblems = true
			problem(p, err)
			return nil
		},
	})
	res.Releases = len(rels)
	var mu sync.Mutex
	_ = parallel.Each(ctx, len(rels)+len(sums), 2*runtime.GOMAXPROCS(0), func(i int) error {
		if i < len(rels) {
			w.walkRelease(ctx, rels[i], problem)
		} else if warn := w.walkLatestShard(ctx, sums[i-len(rels)], problem); warn != nil {
			mu.Lock()
			res.Warnings = append(res.Warnings, warn)
			mu.Unlock()
		}
		return nil
	})
	slices.SortFunc(res.Warnings, func(a, b *FileError) int { return strings.Compare(a.Path, b.Path) })
	w.walkLog(ctx, res.Root, logged, !treeProblems, problem)
	if warn := w.walkCatalogue(ctx, data, res.Root, packs, problem); warn != nil {
		res.Warnings = append(res.Warnings, warn)
	}
	return res, nil
}

// TreeVisitor receives what Tree finds below a trusted root.
type TreeVisitor struct {
	// Node, when set, sees each bucket node's ref before it is fetched.
	Node func(ref index.FileRef)
	// Bucket, when set, sees each bucket node once it is verified.
	Bucket func(ref index.FileRef, b *index.Bucket)
	// Shard gets each pack's shard once it is verified against its
	// bucket; an error stops the walk with it.
	Shard func(s index.Summary, shard *index.Shard) error
	// Problem decides about each problem, with the file it is in: nil
	// goes on past it (skipping the node's subtree or the pack), an error
	// stops the walk with it. Nil stops at the first problem.
	Problem func(path string, err error) error
	// Jobs > 1 reads and parses every leaf's shards on one pool of up
	// to Jobs goroutines (a local previous build: a thousand files,
	// parsing most of the time; a leaf holds a few), once the nodes are
	// read; the Bucket, Problem and Shard visitors are still called one
	// at a time, in the order Jobs 0 calls them, and Node as each node
	// is fetched, so before any Shard. 0 or 1: one shard after another.
	Jobs int
}

// Tree walks the bucket tree of a trusted root and every pack's shard,
// each file checked against its parent's ref before it is parsed.
func (w *Walker) Tree(ctx context.Context, root *index.Root, v TreeVisitor) error {
	if v.Problem == nil {
		v.Problem = func(_ string, err error) error { return err }
	}
	if v.Jobs > 1 {
		return w.treeParallel(ctx, root, v)
	}
	return index.WalkBuckets(root, w.nodeGetter(ctx, v, v.Problem), func(ref index.FileRef, b *index.Bucket, err error) error {
		if err != nil {
			return v.Problem(ref.Path, err)
		}
		if v.Bucket != nil {
			v.Bucket(ref, b)
		}
		for _, s := range b.Packs {
			shard, err := index.ReadShard(ctx, w.Get, s)
			if err := v.shard(s, shard, err); err != nil {
				return err
			}
		}
		return nil
	})
}

// treeParallel is Tree with Jobs > 1: the nodes read first on this
// goroutine, what each gave kept in order (a problem is decided later,
// so the walk goes on past it as when Problem returns nil); then every
// leaf's shards at once; then the visitors, stopping where Tree would.
func (w *Walker) treeParallel(ctx context.Context, root *index.Root, v TreeVisitor) error {
	type step struct {
		ref   index.FileRef
		b     *index.Bucket // nil: err is the node's problem
		err   error
		first int // b's first pack in packs
	}
	var steps []step
	var packs []index.Summary
	keep := func(p string, err error) error {
		steps = append(steps, step{ref: index.FileRef{Path: p}, err: err})
		return nil
	}
	err := index.WalkBuckets(root, w.nodeGetter(ctx, v, keep), func(ref index.FileRef, b *index.Bucket, err error) error {
		steps = append(steps, step{ref: ref, b: b, err: err, first: len(packs)})
		if b != nil {
			packs = append(packs, b.Packs...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	shards, errs := make([]*index.Shard, len(packs)), make([]error, len(packs))
	if err := parallel.Each(ctx, len(packs), v.Jobs, func(i int) error {
		shards[i], errs[i] = index.ReadShard(ctx, w.Get, packs[i])
		return nil
	}); err != nil {
		return err
	}
	for _, st := range steps {
		if st.b == nil {
			if err := v.Problem(st.ref.Path, st.err); err != nil {
				return err
			}
			continue
		}
		if v.Bucket != nil {
			v.Bucket(st.ref, st.b)
		}
		for i := st.first; i < st.first+len(st.b.Packs); i++ {
			if err := v.shard(packs[i], shards[i], errs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// nodeGetter fetches each node for index.WalkBuckets, pinned by its
// parent, showing it to v.Node first; a node that cannot be read goes
// to problem, and is skipped unless problem stops the walk.
func (w *Walker) nodeGetter(ctx context.Context, v TreeVisitor, problem func(string, error) error) func(index.FileRef) ([]byte, error) {
	return func(ref index.FileRef) ([]byte, error) {
		if v.Node != nil {
			v.Node(ref)
		}
		data, err := w.Pinned(ctx, ref)
		if err != nil {
			if err := problem(ref.Path, err); err != nil {
				return nil, err
			}
			return nil, index.SkipNode
		}
		return data, nil
	}
}

// shard hands a pack's shard to v.Shard, or its read error to v.Problem
// (nil goes on past the pack).
func (v TreeVisitor) shard(s index.Summary, shard *index.Shard, err error) error {
	if err != nil {
		return v.Problem(s.Shard.Path, err)
	}
	return v.Shard(s, shard)
}

// byFile reports a FileError as a problem of the file it names.
func byFile(problem func(path string, err error)) func(path string, err error) {
	return func(p string, err error) {
		if fe, ok := err.(*FileError); ok {
			p, err = fe.Path, fe.Err
		}
		problem(p, err)
	}
}

// walkRootBundle checks the Sigstore bundle named by index.json's digest
// (data's), when there: it must carry the signature beside it (sig, as
// RootStep read it: under a Verifier, once it verified; without one,
// unverified, as comparing the two needs no key). The live copies,
// index.json.sig and .sigstore.json, may lag mid-publish: the client's
// verify warns of those.
func (w *Walker) walkRootBundle(ctx context.Context, data, sig []byte, problem func(string, error)) {
	named := index.RootSignaturePath(index.Digest(data))
	err := w.BundleOf(ctx, index.RootBundlePath(index.Digest(data)), named, sig)
	if err != nil && !errors.Is(err, ErrNotFound) {
		problem(index.RootBundlePath(index.Digest(data)), withCopyAdvice(err))
	}
}

// walkLatestShard checks a pack's latest-shard copy (index.LatestShardPath),
// when there: clients do not read it, but it is served for people and
// scripts, and the build writes the bytes of the shard s names (attackX
// F3). One that is not is a warning, not a problem: it is a mutable file,
// which a publish under way uploads before index.json switches, and an
// in-place build killed before its switch leaves ahead of it.
func (w *Walker) walkLatestShard(ctx context.Context, s index.Summary, problem func(string, error)) *FileError {
	ref := index.FileRef{Path: index.LatestShardPath(s.Name), SHA256: s.Shard.SHA256, Size: s.Shard.Size}
	switch _, err := w.Pinned(ctx, ref); {
	case errors.Is(err, ErrDigestMismatch), errors.Is(err, ErrTooLarge):
		return &FileError{ref.Path, fmt.Errorf("%w: not a copy of %s, the shard index.json's tree names for %s (sha256 %s, %d bytes): it was changed after the build (restore it from the build's output and publish again; publish refuses a site holding such a copy), or a publish or an in-place build is under way (verify again once it has finished)", ErrDigestMismatch, s.Shard.Path, s.Name, index.ShortHash(s.Shard.SHA256), s.Shard.Size)}
	case err != nil && !errors.Is(err, ErrNotFound):
		problem(ref.Path, err)
	}
	return nil
}

// walkRelease checks one archive and its signature. Without a Verifier
// the .sig is read all the same, to compare the bundle with it (that
// needs no key, as walkRootBundle's comparison), as publish without a
// key compares them.
func (w *Walker) walkRelease(ctx context.Context, rel *index.Release, problem func(path string, err error)) {
	ref := rel.Archive
	sum, err := w.Archive(ctx, ref, io.Discard)
	if err != nil {
		problem(ref.Path, err)
		return
	}
	if rel.Signature == "" {
		if w.Verifier != nil {
			problem(ref.Path, UnsignedRelease(rel))
		}
		return
	}
	raw, err := w.Get(ctx, rel.Signature, sign.MaxSigFileSize)
	if err != nil {
		problem(rel.Signature, err)
		return
	}
	var sigErr error
	if w.Verifier != nil {
		open := func() (io.ReadCloser, error) {
			r, err := w.Open(ctx, ref.Path)
			if err != nil {
				return nil, err
			}
			return r.Body, nil
		}
		if sigErr = w.ArchiveSignature(rel, raw, sum, open); sigErr != nil {
			problem(ref.Path, sigErr)
		}
	}
	if rel.Bundle == "" {
		return
	}
	// The bundle the signed shard names beside the .sig: clients verify
	// the .sig alone, but the index lists the bundle (publish refuses a
	// site without it) and `cosign verify-blob --bundle` reads it.
	// Compared with the .sig unless that did not verify: a bad .sig is
	// its own problem, not also its bundle's.
	if sigErr == nil {
		err = w.BundleOf(ctx, rel.Bundle, rel.Signature, raw)
	} else {
		_, err = w.Get(ctx, rel.Bundle, sign.MaxBundleSize)
	}
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: the signed shard lists it as the Sigstore bundle of %s, so `cosign verify-blob --bundle` cannot check that archive; %s", err, path.Base(ref.Path), copyAdvice)
	}
	if err != nil {
		problem(rel.Bundle, withCopyAdvice(err))
	}
}

// BundleOf checks the Sigstore bundle at p beside the .sig file sigPath,
// whose bytes sigData are: it must carry the same signature, as the
// build writes the two (ErrBadSignature). One not found is ErrNotFound.
// Clients read the .sig alone; `cosign verify-blob --bundle` reads the
// bundle.
func (w *Walker) BundleOf(ctx context.Context, p, sigPath string, sigData []byte) error {
	data, err := w.Get(ctx, p, sign.MaxBundleSize)
	if err != nil {
		return err
	}
	return carries(data, sigPath, sigData)
}

// carries: the bundle bundleData carries the signature in sigPath. What
// to do about one that does not is the reader's to say (withCopyAdvice;
// publish's refusals say it for where publish reads the site).
func carries(bundleData []byte, sigPath string, sigData []byte) error {
	if !sign.BundleCarries(bundleData, sigData) {
		return fmt.Errorf("%w: not a Sigstore bundle carrying the signature in %s (a stale or partial copy)", ErrBadSignature, path.Base(sigPath))
	}
	return nil
}

// copyAdvice is what verify --site says to do about a copy of a
// signature that is not the build's.
const copyAdvice = "publish the site again from its build, or copy the file from the build"

// withCopyAdvice adds copyAdvice to a bundle's refusal by carries (a
// FileError keeps its type: byFile reads it).
func withCopyAdvice(err error) error {
	if !errors.Is(err, ErrBadSignature) {
		return err
	}
	if fe, ok := err.(*FileError); ok {
		return &FileError{fe.Path, withCopyAdvice(fe.Err)}
	}
	return fmt.Errorf("%w; %s", err, copyAdvice)
}
