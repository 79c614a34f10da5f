package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/factfile"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/rebuild"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/source"
	"github.com/packgen/packgen/walk"
)

// The previous build is untrusted input: whoever can write the bucket, a
// CDN's cache or an http:// path could otherwise have the build sign
// what they put there. What the build takes from it is checked first:
//
//   - its index.json must verify under a key the registry trusts
//     (Options.Trust: the build key's public half and --previous-key);
//     a signed previous build that does not is refused; an unsigned one
//     is vouched for only by an unsigned build, a signing build takes it
//     only for its digests (verifyRoot);
//   - every archive taken from it must match the digest its shard
//     records, and, when git still holds the release, must hold exactly
//     the release's git tree (rebuild.Compare): such a release is then
//     as good as one archived now and may be signed;
//   - a release git no longer holds (carried over) keeps a signature
//     that verifies under a trusted key, or is refused: the build never
//     signs it on the bucket's word.

// Errors of the previous build's checks, usable with errors.Is.
var (
	// ErrUntrustedPrevious: the previous build's index.json is signed, but
	// by no key the registry trusts (or the signature is bad).
	ErrUntrustedPrevious = errors.New("previous build is not signed by a trusted key")
	// ErrUnverifiedRelease: a release carried over from the previous
	// build has no signature by a trusted key, so the build will not sign it.
	ErrUnverifiedRelease = errors.New("release of the previous build cannot be verified")
	// ErrSignedPrevious: a build without a key from a signed previous
	// build: every client configured with the registry's key would
	// refuse what it writes (docs/SECURITY.md).
	ErrSignedPrevious = errors.New("the previous build is signed and this build has no key")
	// ErrTampered: a file of the previous build differs from what its
	// (verified) index records, or from git, or is missing though its
	// index references it.
	ErrTampered = errors.New("previous build's file does not match")
)

// fileErr words a failure to read rel, a file of the previous build its
// index.json references ("" when err names it). A file that is missing,
// larger than recorded, of another digest or not parseable is the
// previous build's fault (ErrTampered: what was checked is bad);
// anything else (a network, a permission, a timeout) stays an
// operational failure.
func (p *previous) fileErr(rel string, err error) error {
	if err == nil || errors.Is(err, ErrTampered) || errors.Is(err, ErrUntrustedPrevious) || errors.Is(err, ErrUnverifiedRelease) {
		return err
	}
	where := p.loc
	if rel != "" {
		where = rel + " in " + p.loc
	}
	if !contentErr(err) {
		return fmt.Errorf("read the previous build (%s): %w", where, err)
	}
	return fmt.Errorf("%w: %s: %w; %s", ErrTampered, where, err, p.tamperAdvice())
}

// tamperAdvice says what a file of the previous build that does not
// match its index means and what to do. Never "remove it": a published
// registry's files are the record of what it published.
func (p *previous) tamperAdvice() string {
	what := "its index.json references"
	if p.signed {
		what = "its signed index.json pins"
	}
	return fmt.Sprintf("the previous build is not what %s: it was changed after it was built, or it is not the registry you meant; run `packgen verify --site %s --key REGISTRY.pub` to list every bad file, then restore them from the publisher's copy (the bucket's object versions, the last CI artefact) or pass the live registry's URL to --previous", what, p.loc)
}

// contentErr reports whether err says a file is not what its index
// pins: missing (a 404, a missing local file), larger, of another
// digest, or not parseable.
func contentErr(err error) bool {
	return errors.Is(err, index.ErrNotFound) || errors.Is(err, fs.ErrNotExist) ||
		errors.Is(err, index.ErrDigestMismatch) || errors.Is(err, index.ErrTooLarge) ||
		errors.Is(err, transport.ErrWrongBytes) || errors.Is(err, index.ErrFormat)
}

// verifyRoot checks the previous build's index.json (data) against the
// trusted keys through the walker's root step, the one the client and
// `verify --site` take (walk.Walker.RootSigned). It returns whether the
// previous build is signed by one. Three choices differ from a client's:
//
//   - an unsigned previous build (no signature at all) is read, not
//     refused: a registry that starts signing extends its unsigned
//     builds. Only an unsigned build takes its records as they are; a
//     signing one takes nothing on its word (previous.vouched): records
//     are derived from git again, archives kept only once proven to be
//     git's, and releases git no longer holds are refused;
//   - without a trusted key (an unsigned build without --previous-key)
//     the keyless tamper check still runs: an index.json with no
//     signature for its bytes in a registry that signs index.json was
//     changed after signing, and is refused;
//   - the signature named by index.json's digest decides, as in
//     `verify --site`; index.json.sig is read only when that one is
//     missing, and a previous build missing it is refused even when
//     index.json.sig verifies, as `verify --site` reports it: no build
//     writes such a site, so it changed after its build (a partial copy
//     or upload, a hand edit).
func (p *previous) verifyRoot(ctx context.Context, trust *sign.Verifier, data []byte) (bool, error) {
	signed, err := (&walk.Walker{Get: p.fetch, Verifier: trust}).RootSigned(ctx, data)
	switch {
	case errors.Is(err, walk.ErrBadSignature), errors.Is(err, walk.ErrUnsigned):
		hint := ""
		switch {
		case errors.Is(err, walk.ErrUnsigned):
			// A signature file missing beside one that verifies: not a
			// key rotation, a site changed after its build.
			hint = "; " + p.tamperAdvice()
		case trust != nil:
			hint = "; if the registry's key was rotated, pass the old public key with --previous-key OLD.pub"
		}
		return false, fmt.Errorf("%w: %s: %v%s", ErrUntrustedPrevious, p.loc, err, hint)
	case err != nil:
		return false, fmt.Errorf("previous build in %s: read signature of index.json: %w", p.loc, err)
	}
	return signed, nil
}

// checkArchive verifies the archive of r as placed in the stage (file):
// its size and SHA-256 against the record, and, when git holds the
// release (rel), its content against git.
func checkArchive(o Options, prev *previous, file string, r index.Release, rel *source.Release) error {
	compare := rel != nil && !o.verified.has(r.Archive.SHA256, rel.TreeHash)
	// A file this machine hashed before and nothing touched since (its
	// inode, size, mtime and ctime, as git's index keeps them) is not
	// hashed again, nor opened: a rebuild stays O(what changed).
	if !compare {
		if fi, err := os.Stat(file); err == nil && o.verified.hasFact(statFact(fi, r.Archive.SHA256)) {
			return nil
		}
	}
	f, err := safefile.Open(file) // a FIFO planted there must not block the build
	if err != nil {
		return err
	}
	defer f.Close()
	// Described before it is read: a change while it is hashed moves its
	// ctime past what is remembered.
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	stat := statFact(fi, r.Archive.SHA256)
	src := r.Archive.VerifyReader(f)
	if compare {
		if err := rebuild.Compare(src, nameOf(r), rel); err != nil {
			if !errors.Is(err, rebuild.ErrDiffers) {
				return fmt.Errorf("%w: %s from %s: %v", ErrTampered, r.Archive.Path, prev.loc, err)
			}
			return fmt.Errorf("%w: %s from %s does not hold what git holds for it (tree %s at commit %s): %v; remove it from the previous build so it is archived again from git", ErrTampered, r.Archive.Path, prev.loc, short(rel.TreeHash), short(rel.Commit), err)
		}
	}
	// What Compare did not read (gzip's trailer, tar padding) still counts.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return err
	}
	if err := src.Verify(); err != nil {
		return fmt.Errorf("%w: %s in %s: %w; %s", ErrTampered, r.Archive.Path, prev.loc, err, prev.tamperAdvice())
	}
	if compare {
		o.verified.add(r.Archive.SHA256, rel.TreeHash)
	}
	o.verified.addFact(stat)
	return nil
}

// signedBy reports whether the signature file sigPath (in dir) verifies
// the archive file (with SHA-256 sum) under v.
func signedBy(v *sign.Verifier, dir, sigPath, file string, sum [32]byte) bool {
	if v == nil || sigPath == "" {
		return false
	}
	data, err := safefile.ReadFile(filepath.Join(dir, filepath.FromSlash(sigPath)), sign.MaxSigFileSize)
	return err == nil && verifies(v, data, file, sum)
}

// verifies reports whether sigData (a .sig file's content) verifies the
// file whose SHA-256 is sum under v: the walker's archive-signature step,
// as the client and verify --site take it.
func verifies(v *sign.Verifier, sigData []byte, file string, sum [32]byte) bool {
	if v == nil {
		return false
	}
	open := func() (io.ReadCloser, error) { return safefile.Open(file) }
	return (&walk.Walker{Verifier: v}).ArchiveSignature(&index.Release{}, sigData, sum, open) == nil
}

// settleSignature decides the signature of a release taken from the
// previous build (its files already in stage and checked): kept when it
// is the current key's at the archive's canonical signature path; signed
// anew when git vouches for the content (inGit) or a trusted key signed
// it; refused otherwise. Unsigned builds keep only signatures by a
// trusted key.
func settleSignature(o Options, stage string, r index.Release, inGit bool) (index.Release, error) {
	file := filepath.Join(stage, filepath.FromSlash(r.Archive.Path))
	sum, err := hexSum(r.Archive.SHA256)
	if err != nil {
		return r, err
	}
	canonical := r.Archive.Path + index.SignatureExt
	if o.Signer == nil {
		if !signedBy(o.Trust, stage, r.Signature, file, sum) {
			r.Signature, r.Bundle = "", ""
		} else if !bundleAgrees(stage, r.Signature, r.Bundle) {
			r.Bundle = ""
		}
		return r, nil
	}
	if r.Signature == canonical && ownSigned(o, stage, r, file, sum) {
		return r, nil
	}
	if !inGit && !signedBy(o.Trust, stage, r.Signature, file, sum) {
		return r, fmt.Errorf("%w: %s@%s is no longer in git and its signature (%s) does not verify under a trusted key, so the build will not sign it; pass the key that signed it with --previous-key, or build from a history that holds it", ErrUnverifiedRelease, nameOf(r), r.Version, orNone(r.Signature))
	}
	// The new signature replaces whatever sits at the canonical names:
	// in a stage that may be a hard link into the previous build, which
	// must not change, so the old name is unlinked first.
	write := func(p string, data []byte) error {
		if o.inPlace {
			return o.dirs.replace(p, data)
		}
		os.Remove(p)
		return os.WriteFile(p, data, 0o644)
	}
	sig, bundle, err := signFile(o.Signer, file, sum, o.recordSignature(r.Archive.SHA256, write))
	if err != nil {
		return r, fmt.Errorf("sign %s: %w", r.Archive.Path, err)
	}
	dir := path.Dir(r.Archive.Path)
	r.Signature, r.Bundle = path.Join(dir, sig), path.Join(dir, bundle)
	return r, nil
}

// ownSigned reports whether r's signature files in stage are the build
// key's signature of the archive (file, with SHA-256 sum) and a bundle
// carrying it. What this machine verified before is remembered with the
// archives it proved (verified.go) by the digest of the two files, the
// archive's and the key's ID: a rebuild that keeps thousands of
// releases then verifies no ECDSA signature again (0.17 ms each). Their
// stat is remembered too (signedStateFact): files a stat shows as they
// were when verified are not even read (10,000 of them in a --force
// rebuild of 5,000 releases).
func ownSigned(o Options, stage string, r index.Release, file string, sum [32]byte) bool {
	keyID := o.Signer.KeyID()
	sigPath := filepath.Join(stage, filepath.FromSlash(r.Signature))
	bundlePath := ""
	if r.Bundle != "" {
		bundlePath = filepath.Join(stage, filepath.FromSlash(r.Bundle))
	}
	// Files this machine verified and nothing touched since are not read.
	if fact := signedStateFact(keyID, r.Archive.SHA256, pathState(sigPath), pathState(bundlePath)); o.verified.hasFact(fact) {
		return true
	}
	sigData, sigInfo, err := safefile.ReadFileInfo(sigPath, sign.MaxSigFileSize)
	if err != nil {
		return false
	}
	var bundleData []byte
	bundleState := "-"
	if bundlePath != "" {
		var bundleInfo os.FileInfo
		if bundleData, bundleInfo, err = safefile.ReadFileInfo(bundlePath, sign.MaxBundleSize); err != nil {
			return false
		}
		bundleState = factfile.State(bundleInfo)
	}
	fact := signatureFact(keyID, sigData, bundleData, r.Archive.SHA256)
	if !o.verified.hasFact(fact) {
		if !verifies(o.own, sigData, file, sum) || (r.Bundle != "" && !sign.BundleCarries(bundleData, sigData)) {
			return false
		}
		o.verified.addFact(fact)
	}
	// Described as they were opened, before they were read.
	o.verified.addFact(signedStateFact(keyID, r.Archive.SHA256, factfile.State(sigInfo), bundleState))
	return true
}

// pathState is factfile.State of the file at p ("-" for no file, p ""; ""
// when it cannot be described).
func pathState(p string) string {
	if p == "" {
		return "-"
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	return factfile.State(fi)
}

// signatureFact names "this .sig and bundle are key's signature of the
// archive with SHA-256 archiveSHA" in the verified set.
func signatureFact(keyID string, sigData, bundleData []byte, archiveSHA string) string {
	h := sha256.New()
	h.Write(sigData)
	h.Write([]byte{0})
	h.Write(bundleData)
	return "sig " + index.ShortHash(keyID) + " " + hex.EncodeToString(h.Sum(nil)) + " " + archiveSHA
}

// bundleAgrees reports whether the Sigstore bundle at bundlePath (in
// dir) carries the signature of sigPath. Nothing else pins a bundle (the
// index names it; only the .sig is checked against the archive): one
// swapped in the bucket would be published again beside a good .sig.
func bundleAgrees(dir, sigPath, bundlePath string) bool {
	if bundlePath == "" {
		return true
	}
	bdata, err := safefile.ReadFile(filepath.Join(dir, filepath.FromSlash(bundlePath)), sign.MaxBundleSize)
	if err != nil {
		return false
	}
	sdata, err := safefile.ReadFile(filepath.Join(dir, filepath.FromSlash(sigPath)), sign.MaxSigFileSize)
	return err == nil && sign.BundleCarries(bdata, sdata)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
