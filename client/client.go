package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/walk"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors of verification, usable with errors.Is.
var (
	ErrDigestMismatch = index.ErrDigestMismatch
	ErrBadSignature   = sign.ErrBadSignature
	ErrNotFound       = index.ErrNotFound
	ErrRollback       = errors.New("rollback refused")
	ErrExpired        = walk.ErrExpired
	ErrTooLarge       = index.ErrTooLarge
	ErrUnsigned       = walk.ErrUnsigned
	// ErrWrongRegistry: index.json is validly signed but for another
	// registry than the one configured (or seen before) at this URL.
	ErrWrongRegistry = errors.New("index.json is another registry's")
)

// Options configure a Client.
type Options struct {
	CacheDir string // default DefaultCacheDir()
	StateDir string // default DefaultStateDir()
	// InsecureSkipVerify skips signature checks (digests are still
	// checked). Never the default.
	InsecureSkipVerify bool
	Timeout            time.Duration
	// StallTimeout abandons an HTTP download that receives nothing for
	// this long (default DefaultStallTimeout); Timeout bounds the whole.
	StallTimeout time.Duration
	Now          func() time.Time
	Warn         io.Writer // warnings; nil = discard
	// Progress, when set, wraps an archive download of size bytes.
	Progress func(name string, size int64, r io.Reader) io.Reader
}

// Client talks to one registry.
type Client struct {
	reg      Registry
	tr       Transport
	verifier *sign.Verifier
	opts     Options
	root     *index.Root
	rootData []byte
	// logFrom is the log tree the root's log was proved to extend
	// (checkLog), for checkSerial.
	logFrom tlog.Tree
	// wit holds the witnesses' verdict, read once and shared with forks
	// (checkWitnesses).
	wit     *witnessOnce
	air     *subsetOnce // the air-gap marker, read once and shared with forks (subset.go)
	tilesMu sync.Mutex
	tiles   map[string][]byte // log tiles read by this Client (logWalker)
	// fromCache lists the tiles read from the cache directory, kept the
	// ones written there (client/log.go).
	fromCache []string
	kept      map[string]bool
	// rootErr is the outcome of the rollback check of root, which runs
	// with the writes put off in deferred.
	rootErr error
	// deferred holds local writes (cache files, the rollback record) put
	// off until the next request is on its way, so that they overlap the
	// server's answer instead of delaying the request. Only the goroutine
	// using the Client touches it.
	deferred []func()
	// sweepDownloads removes stale partial downloads once per Client.
	sweepDownloads sync.Once
	mu             sync.Mutex // guards Requests and Bytes: some files are fetched concurrently
	// Requests counts what was fetched from the transport, by path, for
	// callers that report bytes and files (benchmarks, tests).
	Requests []string
	Bytes    int64
}

// New makes a client for a registry.
func New(reg Registry, opts Options) (*Client, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = DefaultCacheDir()
	}
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Warn == nil {
		opts.Warn = io.Discard
	}
	token, err := reg.Token()
	if err != nil {
		return nil, err
	}
	tr, err := reg.Transport(token, opts.Timeout, opts.StallTimeout)
	if err != nil {
		return nil, err
	}
	v, err := reg.Verifier()
	if err != nil {
		return nil, err
	}
	return &Client{reg: reg, tr: tr, verifier: v, opts: opts, wit: &witnessOnce{}, air: &subsetOnce{}}, nil
}

// later puts off local work until the next request is sent (see open), or
// at the latest until the exported method running returns (flush).
func (c *Client) later(job func()) { c.deferred = append(c.deferred, job) }

// flush runs the work put off by later. Every exported method that may
// have put some off calls it before returning.
func (c *Client) flush() {
	for len(c.deferred) > 0 {
		job := c.deferred[0]
		c.deferred = c.deferred[1:]
		job()
	}
}

// open requests p. Work put off by later runs once the request is on its
// way, while the server answers.
func (c *Client) open(ctx context.Context, p string) (*Response, error) {
	return c.openWith(ctx, func() (*Response, error) { return c.tr.Get(ctx, p, "") })
}

// openWith is open for any request get makes.
func (c *Client) openWith(ctx context.Context, get func() (*Response, error)) (*Response, error) {
	if len(c.deferred) == 0 {
		return get()
	}
	type opened struct {
		resp *Response
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		resp, err := get()
		ch <- opened{resp, err}
	}()
	runtime.Gosched() // let the request go out first
	c.flush()
	r := <-ch
	return r.resp, r.err
}

// get fetches a small file whole, refusing more than max bytes.
func (c *Client) get(ctx context.Context, p string, max int64) ([]byte, error) {
	resp, err := c.open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return c.readBody(p, resp, max)
}

// fetch is get for other goroutines than the Client's own.
func (c *Client) fetch(ctx context.Context, p string, max int64) ([]byte, error) {
	resp, err := c.tr.Get(ctx, p, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return c.readBody(p, resp, max)
}

func (c *Client) readBody(p string, resp *Response, max int64) ([]byte, error) {
	if resp.Size > max {
		return walk.ReadMax(p, resp, max) // refused unread: not counted
	}
	data, err := walk.ReadMax(p, resp, max)
	c.count(p, int64(len(data)))
	if err != nil {
		return nil, err
	}
	return data, nil
}

func (c *Client) count(p string, n int64) {
	c.mu.Lock()
	c.Requests = append(c.Requests, p)
	c.Bytes += n
	c.mu.Unlock()
}

// getAsync fetches p in the background, for a file known in advance that
// is needed a little later. The channel yields the one result, then
// is closed. Callers cancel ctx and drain the channel before returning, so
// no request outlives the call that made it.
func (c *Client) getAsync(ctx context.Context, p string, max int64) <-chan Fetched {
	ch := make(chan Fetched, 1)
	go func() {
		defer close(ch)
		data, err := c.fetch(ctx, p, max)
		ch <- Fetched{Data: data, Err: err}
	}()
	runtime.Gosched() // send the request before the caller goes on (with one P, it would wait for the caller to block)
	return ch
}

func (c *Client) cachePath(parts ...string) string {
	return filepath.Join(append([]string{c.opts.CacheDir}, parts...)...)
}

func urlKey(u string) string {
	s := sha256.Sum256([]byte(strings.TrimSuffix(u, "/")))
	return hex.EncodeToString(s[:8])
}

// Root fetches, verifies and checks index.json: signature, expiry and
// serial (rollback). It is fetched once per Client.
func (c *Client) Root(ctx context.Context) (*index.Root, error) {
	defer c.flush()
	root, err := c.verifiedRoot(ctx)
	if err != nil {
		return nil, err
	}
	c.flush()
	if c.rootErr != nil {
		return nil, c.rootErr
	}
	return root, nil
}

// verifiedRoot returns index.json once its signature, format and expiry
// are checked. Its rollback check, and the caching of a new copy, are put
// off (later) so that they run while the first bucket downloads; c.rootErr
// is checked before anything read through the root is used.
func (c *Client) verifiedRoot(ctx context.Context) (*index.Root, error) {
	if c.root != nil {
		return c.root, nil
	}
	dir := c.cachePath("roots", urlKey(c.reg.URL))
	etagFile, dataFile := filepath.Join(dir, "index.json.etag"), filepath.Join(dir, "index.json")
	// The etag file records the etag and the digest of the copy it belongs
	// to; written by two processes or corrupted, a mismatched pair is
	// ignored instead of revalidating the wrong bytes.
	etag := ""
	// Cache files are read as regular files only, and bounded: a FIFO
	// or an endless file planted in the cache is a miss, not a hang.
	cached, cerr := safefile.ReadFile(dataFile, index.MaxRootSize)
	if cerr == nil {
		if b, err := safefile.ReadFile(etagFile, 4<<10); err == nil {
			if tag, digest, ok := strings.Cut(strings.TrimSpace(string(b)), "\n"); ok && digest == index.Digest(cached) {
				etag = tag
			}
		}
	}
	root, data, resp, err := c.fetchRoot(ctx, etag, cached)
	if err != nil && resp != nil && resp.NotModified {
		// The cached copy the server vouched for does not verify (corrupt
		// cache): fetch it whole again.
		fmt.Fprintf(c.opts.Warn, "warning: cached %s is unusable (%s); fetching it again\n", dataFile, textsafe.Escape(err.Error()))
		root, data, resp, err = c.fetchRoot(ctx, "", nil)
	}
	if err != nil {
		return nil, err
	}
	if err := c.checkLog(ctx, root, data); err != nil {
		return nil, err
	}
	c.root, c.rootData = root, data
	c.later(func() {
		if c.rootErr = c.checkSerial(root, data); c.rootErr != nil || resp.NotModified {
			return
		}
		_ = writeAtomic(dataFile, data, 0o644)
		if resp.ETag != "" {
			_ = writeAtomic(etagFile, []byte(resp.ETag+"\n"+index.Digest(data)), 0o644)
		}
	})
	return root, nil
}

// fetchRoot gets index.json (or revalidates cached under etag) and checks
// its signature, format and expiry (the serial is checked by the caller).
func (c *Client) fetchRoot(ctx context.Context, etag string, cached []byte) (*index.Root, []byte, *Response, error) {
	// index.json.sig is requested together with index.json: it signs the
	// live index.json except while a publish is switching generations, so
	// the signature named by the index's digest is only needed then.
	var sig <-chan Fetched
	if c.Verifies() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		sig = c.getAsync(ctx, index.RootFile+index.SignatureExt, sign.MaxSigFileSize)
		defer func(sig <-chan Fetched) {
			cancel()
			for range sig {
			}
		}(sig)
	}
	resp, err := c.tr.Get(ctx, index.RootFile, etag)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	var data []byte
	if resp.NotModified {
		data = cached
		c.count(index.RootFile+" (304)", 0)
	} else {
		data, err = c.readBody(index.RootFile, resp, index.MaxRootSize)
		resp.Body.Close()
		if err != nil {
			return nil, nil, resp, err
		}
	}
	var liveSig *Fetched
	if sig != nil {
		r := <-sig
		liveSig = &r
	}
	if err := c.verifyRoot(ctx, data, liveSig); err != nil {
		return nil, nil, resp, err
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		return nil, nil, resp, fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	if err := c.checkName(root, c.reg.SignedName, "the config pins"); err != nil {
		return nil, nil, resp, err
	}
	if err := walk.CheckExpiry(root, c.opts.Now()); err != nil {
		return nil, nil, resp, fmt.Errorf("registry %s: %s: %w", c.reg.Name, index.RootFile, err)
	}
	return root, data, resp, nil
}

// verifyRoot checks the signature of index.json's bytes: liveSig, when
// given, is what index.json.sig held; if it is missing or does not verify,
// the signature named by the digest of data decides.
func (c *Client) verifyRoot(ctx context.Context, data []byte, liveSig *Fetched) error {
	if c.opts.InsecureSkipVerify {
		fmt.Fprintf(c.opts.Warn, "WARNING: --insecure-skip-verify: signatures of registry %s are NOT checked; anyone who can change the files can change what you install\n", c.reg.Name)
		return nil
	}
	if c.verifier == nil {
		fmt.Fprintf(c.opts.Warn, "warning: registry %s has no public key: its index is not verified (packgen registry add %s %s --key pub.pem)\n", c.reg.Name, c.reg.Name, c.reg.URL)
		return nil
	}
	if err := c.walker().RootSignature(ctx, data, liveSig); err != nil {
		return fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	return nil
}

// walker is the Walker over this client's requests: they are counted and
// overlap the work put off by later.
func (c *Client) walker() *Walker {
	return &Walker{Get: c.get, Open: c.open, Verifier: c.verifier}
}

// maxStateSize bounds serials.json (a line per registry URL).
const maxStateSize = 16 << 20

type seen struct {
	Serial int64  `json:"serial"`
	Digest string `json:"digest"`
	// Registry is the signed name of the registry seen at this URL: an
	// index signed (with the same key) for another registry is refused
	// before its serial could displace this one's.
	Registry string `json:"registry,omitempty"`
	// LogSize and LogHash are the transparency log's tree that index
	// named: the next one must extend it (client/log.go).
	LogSize int64  `json:"logSize,omitempty"`
	LogHash string `json:"logHash,omitempty"`
}

// stateKey is a registry URL's key in serials.json.
func stateKey(url string) string { return strings.TrimSuffix(url, "/") }

// checkName refuses an index signed for another registry than want ("" =
// no expectation); why says where want comes from.
func (c *Client) checkName(root *index.Root, want, why string) error {
	if want == "" || root.Registry == want {
		return nil
	}
	return fmt.Errorf("registry %s: %w: %s is signed for registry %q but %s %q at %s; another registry signed with the same key is being served in its place. Nothing was recorded. If the registry was renamed on purpose, run `packgen registry add %s %s --key ... --signed-name %s`",
		c.reg.Name, ErrWrongRegistry, index.RootFile, textsafe.Escape(root.Registry), why, want, c.reg.URL, c.reg.Name, c.reg.URL, textsafe.Escape(root.Registry))
}

// checkSerial refuses an index older than the newest this machine has
// verified for the registry URL, and a different index with the same
// serial; then records the new one. A file lock serialises processes.
func (c *Client) checkSerial(root *index.Root, data []byte) error {
	if err := os.MkdirAll(c.opts.StateDir, 0o755); err != nil {
		return err
	}
	lock, err := safefile.OpenLock(filepath.Join(c.opts.StateDir, "serials.lock"))
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := stale.Lock(lock); err != nil {
		return err
	}
	defer stale.Unlock(lock)
	file := filepath.Join(c.opts.StateDir, "serials.json")
	state := map[string]seen{}
	b, err := safefile.ReadFile(file, maxStateSize)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w: it records the newest index seen per registry (rollback protection); replace it with a regular file or delete it to start afresh", file, err)
	}
	if err == nil {
		// Silently starting afresh would drop rollback protection for
		// every registry, so a damaged file stops the fetch.
		if err := json.Unmarshal(b, &state); err != nil {
			return fmt.Errorf("%s is damaged (%v): it records the newest index seen per registry (rollback protection); delete it to start afresh", file, err)
		}
	}
	key := stateKey(c.reg.URL)
	digest := index.Digest(data)
	last, ok := state[key]
	// The name is checked first: an index of another registry must not
	// be judged (or recorded) by its serial. A name pinned in the config
	// wins over the one recorded, so a deliberate rename can be accepted.
	if c.reg.SignedName == "" {
		if err := c.checkName(root, last.Registry, "this machine has seen"); err != nil {
			return err
		}
	}
	switch {
	case ok && root.Serial < last.Serial:
		return fmt.Errorf("registry %s: %w: index.json has serial %d but serial %d was already seen; someone is serving an old index (replay). If the registry was deliberately reset, remove its entry from %s", c.reg.Name, ErrRollback, root.Serial, last.Serial, file)
	case ok && root.Serial == last.Serial && digest != last.Digest:
		return fmt.Errorf("registry %s: %w: index.json serial %d differs from the index seen before with the same serial", c.reg.Name, ErrRollback, root.Serial)
	}
	next := seen{Serial: root.Serial, Digest: digest, Registry: root.Registry}
	if err := c.recordLog(root, last, &next); err != nil {
		return err
	}
	if ok && next == last {
		return nil
	}
	state[key] = next
	b, _ = json.MarshalIndent(state, "", "  ")
	return writeAtomic(file, b, 0o644)
}

// meta fetches a content-addressed metadata file, from cache when present.
// It is returned only once the root that pins it passed its rollback
// check; caching it is put off until the next request is out.
func (c *Client) meta(ctx context.Context, ref index.FileRef) ([]byte, error) {
	cached := c.cachePath("meta", ref.SHA256+".json")
	b, err := safefile.ReadFile(cached, ref.Size)
	hit := err == nil && ref.Verify(b) == nil
	if !hit {
		b, err = c.walker().Pinned(ctx, ref)
	}
	c.flush() // the rollback check, if it has not run yet
	if c.rootErr != nil {
		return nil, c.rootErr
	}
	if err != nil {
		return nil, err
	}
	if !hit {
		c.later(func() { _ = writeAtomic(cached, b, 0o644) })
	}
	return b, nil
}

// Summary finds one pack, reading only the buckets on its path.
func (c *Client) Summary(ctx context.Context, name string) (*index.Summary, error) {
	defer c.flush()
	return c.summary(ctx, name)
}

func (c *Client) summary(ctx context.Context, name string) (*index.Summary, error) {
	root, err := c.verifiedRoot(ctx)
	if err != nil {
		return nil, err
	}
	// Down the bucket tree: each node pinned by its parent's digest.
	b, err := index.LeafOf(root, name, func(ref index.FileRef) ([]byte, error) { return c.meta(ctx, ref) })
	if err != nil {
		return nil, err
	}
	s := b.Find(name)
	if s == nil {
		return nil, errmark.New(ErrNotFound, "pack %q is not in registry %s", name, c.reg.Name)
	}
	return s, nil
}

// Shard returns every release of a pack, verified against its bucket.
func (c *Client) Shard(ctx context.Context, name string) (*index.Shard, error) {
	defer c.flush()
	return c.shard(ctx, name)
}

// shard is the pack's shard; of an air-gapped registry, its releases
// there (index.Airgap.PresentHeld: the marker's, and those it leaves
// out that are there all the same, with a warning).
func (c *Client) shard(ctx context.Context, name string) (*index.Shard, error) {
	shard, full, err := c.shardPresent(ctx, name)
	if err != nil || full == nil {
		return shard, err
	}
	air, _ := c.subset(ctx)
	shard, absent, wrong, err := air.PresentHeld(ctx, c.stat, full)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", c.reg.Name, err)
	}
	c.warnWrong(wrong, "showing it")
	if len(shard.Releases) == 0 {
		return nil, c.notInBundle(air, "pack "+name, true)
	}
	if len(absent) > 0 {
		c.warnSubset(air, 0, len(absent), name+"@"+strings.Join(absent, ", "+name+"@"))
	}
	return shard, nil
}

// shardPresent is the pack's shard narrowed by the marker's word alone
// (what resolve starts from: presentBeyond asks for what it needs
// beyond it), and full the signed shard (nil for a whole registry).
func (c *Client) shardPresent(ctx context.Context, name string) (shard, full *index.Shard, err error) {
	root, err := c.verifiedRoot(ctx)
	if err != nil {
		return nil, nil, err
	}
	c.prefetchSubset(ctx)
	// Down the bucket tree: each node pinned by its parent's digest.
	leaf, err := index.LeafOf(root, name, func(ref index.FileRef) ([]byte, error) { return c.meta(ctx, ref) })
	var s *index.Summary
	var data []byte
	if err == nil {
		if s = leaf.Find(name); s == nil {
			err = errmark.New(ErrNotFound, "pack %q is not in registry %s", name, c.reg.Name)
		} else {
			data, err = c.meta(ctx, s.Shard)
		}
	}
	air := c.subsetAfter(ctx, err)
	switch {
	case air != nil && leaf != nil && s == nil:
		return nil, nil, err // its bucket is here and does not list it
	case air != nil && err != nil:
		// A file not found (subsetAfter). A pack the marker does not
		// name whose shard is there is read on: the marker may explain
		// an absence, never cause one.
		return nil, nil, c.notInBundle(air, "pack "+name, s != nil)
	case err != nil:
		return nil, nil, err
	}
	if shard, err = index.ParseShard(data, name); err != nil || air == nil {
		return shard, nil, err
	}
	full = shard
	shard, _ = air.Present(full)
	return shard, full, nil
}

// Catalog returns every pack's summary (reads every bucket).
func (c *Client) Catalog(ctx context.Context) ([]index.Summary, error) {
	defer c.flush()
	root, err := c.verifiedRoot(ctx)
	if err != nil {
		return nil, err
	}
	c.prefetchSubset(ctx)
	var all []index.Summary
	err = index.WalkBuckets(root, func(ref index.FileRef) ([]byte, error) { return c.meta(ctx, ref) },
		func(_ index.FileRef, b *index.Bucket, err error) error {
			if err != nil {
				return err
			}
			all = append(all, b.Packs...)
			return nil
		})
	if air := c.subsetAfter(ctx, err); air != nil {
		return c.catalogSubset(ctx, root, air)
	}
	if err != nil {
		return nil, err
	}
	if c.flush(); c.rootErr != nil {
		return nil, c.rootErr
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, nil
}

// Resolve finds the highest release of name matching constraint ("" = latest).
func (c *Client) Resolve(ctx context.Context, name, constraint string, pre bool) (*index.Release, error) {
	defer c.flush()
	return c.resolve(ctx, name, constraint, pre)
}

func (c *Client) resolve(ctx context.Context, name, constraint string, pre bool) (*index.Release, error) {
	var cons *semver.Constraints
	if constraint != "" {
		var err error
		if cons, err = semver.NewConstraint(constraint); err != nil {
			return nil, fmt.Errorf("version constraint %q: %v (examples: ^1.2, ~0.13, >=1.0 <2.0, 1.2.3)", constraint, err)
		}
	}
	shard, full, err := c.shardPresent(ctx, name)
	if err != nil {
		return nil, err
	}
	rel, err := resolveRelease(shard, name, constraint, cons, pre)
	if full == nil {
		return rel, err
	}
	// An air-gapped subset: the marker is unsigned, so it may explain an
	// absence but never cause one. A newer match it leaves out is looked
	// for (newest first, one request each) and used when it is there;
	// one that is really absent is left out visibly, never silently.
	want, present, serr := c.presentBeyond(ctx, full, rel, name, constraint, cons, pre)
	air, _ := c.subset(ctx)
	if present == nil && len(shard.Releases) < len(full.Releases) {
		// What the marker leaves out, on its word: it was not found
		// wrong (when it was, presentBeyond warned so instead).
		absent := make([]string, 0, len(full.Releases)-len(shard.Releases))
		for _, r := range full.Releases {
			if !air.Has(name, r.Version) {
				absent = append(absent, name+"@"+r.Version)
			}
		}
		c.warnSubset(air, 0, len(absent), strings.Join(absent, ", "))
	}
	switch {
	case serr != nil:
		return nil, serr
	case present != nil:
		return present, nil
	case want == nil:
		return rel, err
	case rel == nil:
		return nil, c.notInBundle(air, name+"@"+want.Version, true)
	}
	what := "is the newest release"
	if constraint != "" {
		what = fmt.Sprintf("matches %q", constraint)
	}
	fmt.Fprintf(c.opts.Warn, "warning: %s@%s %s but is not in air-gapped registry %s (not in the bundle): using %s, the newest here\n", name, want.Version, what, c.reg.Name, rel.Version)
	return rel, err
}
