package publish

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/tlog"
	"oras.land/oras-go/v2/registry/remote"
)

// ErrKeyChange: the site is not signed by the key of the signed registry
// live at the destination (it is unsigned, or signed by another key
// without recording a rotation from the live one). Every client
// configured with the live key would refuse it, and the next build from
// the published registry would take it for tampering.
var ErrKeyChange = errors.New("the site is not signed by the live registry's key")

// signer is what publish can tell, holding no key, of who signed an
// index.json: whether the index says it is signed, and the ID of the key
// its Sigstore bundle names ("" when there is none). The bundle's key is
// a hint, not verified: publish guards against a mistake (a forgotten or
// wrong --key), clients verify.
type signer struct {
	signed bool
	keyID  string
}

// signerOf reads the key ID from the Sigstore bundle of the index.json
// whose bytes are rootData: the one named by its digest, else
// index.json.sigstore.json (get reads a file of the site or remote; an
// error is a bundle missing).
func signerOf(root *index.Root, rootData []byte, get func(path string) ([]byte, error)) signer {
	s := signer{signed: root.Signed}
	if !root.Signed {
		return s
	}
	for _, p := range []string{index.RootBundlePath(index.Digest(rootData)), index.RootFile + index.BundleExt} {
		data, err := get(p)
		if err != nil {
			continue
		}
		if b, err := sign.ParseBundle(data); err == nil {
			if h, err := base64.StdEncoding.DecodeString(b.Hint); err == nil && len(h) == 32 {
				s.keyID = hex.EncodeToString(h) // sign.KeyID's form
				return s
			}
		}
	}
	return s
}

// checkKey refuses to replace a signed live registry with a site its
// clients would refuse: an unsigned one, or one signed by another key
// unless the site records a rotation from the live key. A build with
// another key extends a signed previous build's transparency log only
// once that build verified under a key it was given (--previous-key
// OLD.pub: docs/SECURITY.md, "Rotating a registry key"), so a site whose
// log extends the live one (ext) was built as
// a rotation from it. Without key IDs on either side the log keys, which
// derive from the registry keys, tell whether the keys differ. No
// option overrides it: every legitimate key change is a rotation, even
// after a compromise or with the old private key lost (only OLD.pub is
// needed).
func checkKey(ctx context.Context, site *index.Root, siteKey signer, live *index.Root, liveKey signer, ext *logExtension, t fmt.Stringer) error {
	if live == nil || !live.Signed {
		return nil // starting to sign, or never signed: clients have no key to refuse with
	}
	if !site.Signed {
		return fmt.Errorf("%w: %s serves a registry signed with key %s, and the site is unsigned (built without --key): every client configured with that key would refuse it (bad signature) and the next signed build would refuse the registry as modified after signing; rebuild the site with --key (the registry's private key) and publish again", ErrKeyChange, t, keyName(liveKey.keyID))
	}
	switch {
	case siteKey.keyID != "" && liveKey.keyID != "":
		if siteKey.keyID == liveKey.keyID {
			return nil
		}
	case site.Log != nil && live.Log != nil:
		if site.Log.Key == live.Log.Key {
			return nil
		}
	default:
		return nil // nothing tells the keys apart
	}
	if e := ext.check(ctx); e.ok && e.err == nil {
		return nil // rotated from the live key: the site's log extends the live one
	}
	if live.Log == nil {
		// No log to extend: a rotation build cannot record itself, and
		// the advice below would loop.
		return fmt.Errorf("%w: %s serves a registry signed with key %s that has no transparency log (built by a packgen before logs), and the site is signed with key %s: a rotation is recorded by extending the live log, so there is none to record it in yet. First build with the live key (--key, --previous pointing at the published registry, --new-log: it starts the log) and publish that; then rotate as docs/SECURITY.md, \"Rotating a registry key\" says. Without the live private key, publish the new registry at another location and give clients its URL and key", ErrKeyChange, t, keyName(liveKey.keyID), keyName(siteKey.keyID))
	}
	return fmt.Errorf("%w: %s serves a registry signed with key %s, the site is signed with key %s and records no rotation from it (its transparency log does not extend the live one): clients configured with the live key would refuse it. Rebuild with the registry's key (--key); or, to rotate keys, give clients the new public key beside the old one and build with --key NEW.key --previous-key OLD.pub --previous pointing at the published registry (docs/SECURITY.md, \"Rotating a registry key\")", ErrKeyChange, t, keyName(liveKey.keyID), keyName(siteKey.keyID))
}

// logExtension is whether the site's transparency log extends the live
// one, computed once: the key check (a rotation is a site whose log
// extends the live one) and the fork check both ask, and each answer
// reads the site's tiles (every one checked against its signed tree).
type logExtension struct {
	site, live *index.Root
	siteLog    translog.Fetch // the site's log files

	once               sync.Once
	liveTree, siteTree tlog.Tree
	ok                 bool  // both roots name a log
	siteErr            error // the site's log tree does not read
	err                error // translog.CheckConsistency's answer
}

func newLogExtension(site, live *index.Root, siteLog translog.Fetch) *logExtension {
	return &logExtension{site: site, live: live, siteLog: siteLog}
}

// check computes the answer on the first call (under its ctx) and
// returns e.
func (e *logExtension) check(ctx context.Context) *logExtension {
	e.once.Do(func() {
		var ok bool
		var err error
		if e.liveTree, ok, err = translog.TreeOf(e.live); err != nil || !ok {
			return
		}
		if e.siteTree, ok, e.siteErr = translog.TreeOf(e.site); e.siteErr != nil || !ok {
			return
		}
		e.ok = true
		e.err = translog.CheckConsistency(ctx, e.liveTree, e.siteTree, e.siteLog)
	})
	return e
}

// ErrFork: the site's transparency log does not extend the live
// registry's: it drops or reorders what the live log published (a build
// from an older generation served at --previous: a replayed bucket, CDN
// cache or mirror; a rewritten history). Not even --force publishes it.
var ErrFork = errors.New("the site's transparency log forks the live registry's")

// checkLog refuses a site whose transparency log does not extend the
// live one, whatever key signed either: every client that read the live
// registry keeps its log tree and refuses, for ever, an index whose log
// does not extend it, and a witness keeps both trees, signed by the
// owner's log key, as proof of an equivocation. A rollback heals with
// the next build (the serial grows again); a fork never does, so Force
// does not override it. Force lets through only a log the live one
// extends (a deliberate rollback to a generation of this very log,
// proved from the live tiles liveLog reads; nil: they cannot be read,
// and a shorter log is refused). A site without a log, or a live
// registry without one, is checkKey's matter.
func checkLog(ctx context.Context, ext *logExtension, liveLog translog.Fetch, force bool, t fmt.Stringer) error {
	e := ext.check(ctx)
	if e.siteErr != nil {
		return fmt.Errorf("%w: the site's index.json: %v", ErrNotSite, e.siteErr)
	}
	if !e.ok || e.err == nil {
		return nil
	}
	liveTree, siteTree, err := e.liveTree, e.siteTree, e.err
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if siteTree.N < liveTree.N && force && liveLog != nil && translog.CheckConsistency(ctx, siteTree, liveTree, liveLog) == nil {
		return nil // a rollback on purpose: checkNewer's refusal, overridden
	}
	return fmt.Errorf("%w: the site's log has %d entries (root %s) and does not extend the log of %d entries (root %s) live on %s (%v): it was built from an older generation than the live one (a replayed bucket, CDN cache or mirror at --previous) or from a rewritten history, and would drop or reorder published releases. Every client that read the live registry would refuse it for ever and witnesses would keep both logs as proof of a fork, so --force does not override it. Nothing was written. Rebuild with --previous pointing at the live registry (packgen build --previous %s) and publish that",
		ErrFork, siteTree.N, siteTree.Hash, liveTree.N, liveTree.Hash, t, err, t)
}

// keyName is a key ID as messages show it.
func keyName(id string) string {
	if id == "" {
		return "(unknown: its signature bundle names none)"
	}
	return id
}

// checkLiveKey is checkKey for a tree of files: the site's files read
// through src, the live ones from t.
func checkLiveKey(ctx context.Context, t Target, src *os.Root, root *index.Root, rootData []byte, live *index.Root, liveData []byte, ext *logExtension) error {
	if live == nil || !live.Signed || bytes.Equal(rootData, liveData) {
		return nil
	}
	local := func(p string) ([]byte, error) { return readIn(src, p, sign.MaxBundleSize) }
	remote := func(p string) ([]byte, error) { return readMax(ctx, t, p, sign.MaxBundleSize) }
	return checkKey(ctx, root, signerOf(root, rootData, local), live, signerOf(live, liveData, remote), ext, t)
}

// checkLiveLog is checkLog for a tree of files: the live tiles read
// from t.
func checkLiveLog(ctx context.Context, t Target, rootData, liveData []byte, ext *logExtension, force bool) error {
	if bytes.Equal(rootData, liveData) {
		return nil
	}
	liveLog := func(ctx context.Context, p string, max int64) ([]byte, error) { return readMax(ctx, t, p, max) }
	return checkLog(ctx, ext, liveLog, force, t)
}

// siteFetch reads the site's log files through src (readIn), for the
// log checks.
func siteFetch(src *os.Root) translog.Fetch {
	return func(_ context.Context, p string, max int64) ([]byte, error) { return readIn(src, p, max) }
}

// readIn reads a site file through src, at most max bytes, only if it is
// a regular file.
func readIn(src *os.Root, key string, max int64) ([]byte, error) {
	f, err := safefile.OpenIn(src, filepath.FromSlash(key))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("%s is larger than %d bytes", key, max)
	}
	return data, err
}

// checkLiveKey is checkKey for an OCI registry: the site as read (its
// root files and tiles, else through its walker), the live bundle from
// the live root manifest's layers.
func (d *ociDest) checkLiveKey(ctx context.Context, s *site, idx *remote.Repository, live *liveIndex, ext *logExtension) error {
	if live == nil || !live.root.Signed || bytes.Equal(s.rootData, live.data) {
		return nil
	}
	local := func(p string) ([]byte, error) {
		if data, ok := s.rootFiles[p]; ok {
			return data, nil
		}
		return nil, index.ErrNotFound
	}
	liveFile := func(p string) ([]byte, error) {
		for _, l := range live.layers {
			if ocimap.Title(l) != p {
				continue
			}
			if data, ok, err := ocimap.EmbeddedData(l); err != nil || ok {
				return data, err
			}
			return fetchBlob(ctx, idx, l, sign.MaxBundleSize)
		}
		return nil, index.ErrNotFound
	}
	return checkKey(ctx, s.root, signerOf(s.root, s.rootData, local), live.root, signerOf(live.root, live.data, liveFile), ext, d)
}
