// Package publish uploads a built registry site to object storage (any
// S3-compatible store) or a directory, so that readers never see an index
// pointing at something missing:
//
//  1. everything content-addressed or immutable (archives, signatures,
//     buckets, shards, the root's digest-named signature) goes first;
//  2. then the mutable convenience files (HTML pages, per-pack copies);
//  3. then index.json.sig and index.json.sigstore.json;
//  4. index.json itself goes last.
//
// Uploads run in parallel within a stage and a stage starts only when the
// one before has finished. A publish killed at any moment therefore leaves
// the remote serving the old index or the new one, each complete and
// verifiable (S3 replaces an object atomically; the directory target
// renames). Only what the remote lacks or holds differently is uploaded
// (sameContent): a file that changes in place (index.json, signatures,
// the catalogue, the checkpoint) is unchanged only on a SHA-256 the
// destination computed itself; a file clients check by digest (an
// archive, a bucket, a shard) also on the MD5 ETag of a single-part
// upload, or the SHA-256 stored in the object's metadata. A file that
// changes in place whose bytes are right but that is served with other
// headers than publish sets, and a directory's file someone else can
// change in place, are written again (rewrite). A file clients check by
// digest whose MD5 the listing gives is taken on it, its headers unread
// (docs/SECURITY.md: served otherwise, it fails only its own fetch).
//
// The switch is a conditional write (If-Match the index listed at the
// start), so two overlapping publishes cannot replace a newer index with an
// older one: the later switch fails with ErrConflict.
//
// Before anything is uploaded the remote's live index.json is read: a site
// whose serial is lower (a rollback), equal with other content, or that
// lists fewer releases is refused unless Force. Deleting requires Prune and
// never removes a release's files, nor the metadata of the generation that
// was live before this publish (clients may be half-way through resolving
// against it), nor a file a site never holds (internal/sitedir), nor
// anything on a target that held no index.json before.
package publish

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"mime"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/siteassets"
	"github.com/packgen/packgen/internal/sitedir"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
	sitewalk "github.com/packgen/packgen/walk"
)

// Object is a remote object as listed.
type Object struct {
	Size int64
	MD5  string // lowercase hex, "" when unknown (multipart, encrypted)
	// SHA256 is the SHA-256 the destination computed itself (lowercase
	// hex, "" when unknown): a directory hashes its file; S3 returns the
	// x-amz-checksum-sha256 it checked the upload against (Stat only).
	SHA256 string
	// ClaimedSHA256 is the SHA-256 stored with the object by whoever
	// wrote it (S3's sha256 metadata): its writer's word, which decides
	// nothing but for files clients check by digest (pinned).
	ClaimedSHA256 string
	ETag          string // the store's entity tag as listed, for conditional writes
	// ETagNotMD5: the store says the ETag is no MD5 of the bytes (S3:
	// an object encrypted with SSE-KMS or SSE-C), so a listed MD5 that
	// differs says nothing (Stat only).
	ETagNotMD5 bool
	// Served is what the store sends with the object besides its bytes
	// (S3: from a HEAD or a GET); nil where it keeps nothing of the kind
	// (a directory: its web server decides).
	Served *Served
	// Exposed says why someone other than publish can change the file
	// in place (a directory's: a hard link, another owner, writable by
	// group or others); "" when no one can.
	Exposed string
}

// Served is what a store sends with an object besides its bytes, which
// publish sets (Put) and a later publish checks: a file with the right
// bytes served otherwise is uploaded again (rewrite).
type Served struct {
	ContentType, CacheControl string
	// Extra lists the other headers that change how a client reads the
	// bytes or where it goes (Content-Encoding, Content-Disposition, a
	// website redirect), as "Name: value": publish sends none.
	Extra []string
}

// PutInfo describes an upload.
type PutInfo struct {
	Size         int64
	MD5, SHA256  string // lowercase hex of the body
	ContentType  string
	CacheControl string
	// IfMatch makes the write conditional on the object still having this
	// entity tag, and IfAbsent on the object not existing: index.json is
	// switched only if no other publish switched it meanwhile. Stores
	// without conditional writes fall back to a plain write.
	IfMatch  string
	IfAbsent bool
}

// Target is where a site is published.
type Target interface {
	// List returns every object under the target with size and digests.
	List(ctx context.Context) (map[string]Object, error)
	// Stat returns one object with the SHA-256 the target computed
	// and the one stored with it, where it keeps them; fs.ErrNotExist
	// when absent.
	Stat(ctx context.Context, key string) (Object, error)
	// Get opens an object; fs.ErrNotExist when absent. A body that
	// says how it was served (servedBody) has that checked too.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Put stores an object atomically: readers see the old or new content.
	Put(ctx context.Context, key string, body io.ReadSeeker, info PutInfo) error
	Delete(ctx context.Context, key string) error
	String() string
}

// Errors callers can test with errors.Is.
var (
	// ErrRollback: the site is older than what the remote serves.
	ErrRollback = errors.New("refusing to publish an older registry")
	// ErrImmutable: a published archive would change.
	ErrImmutable = errors.New("published archives are immutable")
	// ErrNotSite: the directory is not a built registry.
	ErrNotSite = errors.New("not a built registry site")
	// ErrMissingSignature: the site's index says it is signed but a
	// signature it needs is not in the site (it also matches ErrNotSite).
	ErrMissingSignature = sitewalk.ErrMissingSignature
	// ErrStraySignature: the site's index says it is unsigned but a
	// signature of it, or index.json.sig, is in the site (it also
	// matches ErrNotSite).
	ErrStraySignature = sitewalk.ErrStraySignature
	// ErrOverwrite: the target holds no registry but files the site
	// would replace (refuseOverwrite), or, a directory, a file where
	// the site has a directory (DirTarget's checkPaths).
	ErrOverwrite = errors.New("publishing would replace files that are not a registry's")
	// ErrAssetChanged: a catalogue asset (assets/app.js...) is not the
	// file this packgen writes (it also matches ErrNotSite).
	ErrAssetChanged = errors.New("a catalogue asset is not the one packgen writes")
	// ErrCatalogueChanged: a catalogue file (a page, feed, logo,
	// catalog.json, an asset) is not what the site's catalogue manifest
	// lists, or the manifest is another build's (it also matches
	// ErrNotSite).
	ErrCatalogueChanged = errors.New("the catalogue does not match its manifest")
	// ErrCatalogueUnverified: a signed site's catalogue is not vouched
	// for by the registry's key: its manifest's signature does not
	// verify under Options.Verify, or the site has catalogue pages and
	// no manifest at all (it also matches ErrNotSite).
	ErrCatalogueUnverified = errors.New("the catalogue's manifest is not signed by the registry's key")
	// ErrConflict: another publish switched index.json meanwhile.
	ErrConflict = errors.New("the remote index.json changed while publishing")
)

// DefaultJobs is how many uploads run at once within a stage.
const DefaultJobs = 8

// Options tune Publish.
type Options struct {
	DryRun bool
	Prune  bool // delete remote objects the site no longer has (see package doc)
	Force  bool // publish even over a newer or different remote index
	Jobs   int  // parallel uploads within a stage (default DefaultJobs)
	Log    io.Writer
	// LogAnchor, when set, is a checkpoint of the registry's log kept
	// outside the destination (--log-anchor): a site whose log does not
	// extend it is refused (translog.ErrBehindAnchor), even with Force,
	// and a live registry behind it is warned of (checkSiteAnchor).
	LogAnchor []byte
	// Timeout bounds the whole publish (0: none), through To: past it
	// the publish stops where it is, with transport.ErrTimeout, and the
	// destination is as an interrupted publish leaves it (the old
	// index.json or the new one, each complete). A silent destination
	// is its StallTimeout's (S3Options, the OCI options).
	Timeout time.Duration
	// Verify holds the registry's public key(s) (--source-key): a tree
	// destination (s3://, a directory) publishes the site only once its
	// index.json and its catalogue manifest verify under them, as a
	// client and verify --site would check them. Nil checks no
	// signature (a warning for a signed site): publish holds no key
	// otherwise. An OCI destination takes OCIOptions.Verify.
	Verify *sign.Verifier
}

// Result says what changed (or would, with DryRun).
type Result struct {
	Target       string   `json:"target"`
	DryRun       bool     `json:"dryRun"`
	Serial       int64    `json:"serial"`
	RemoteSerial int64    `json:"remoteSerial"` // 0 when the remote had no index
	Uploaded     []string `json:"uploaded"`
	Unchanged    int      `json:"unchanged"`
	Deleted      []string `json:"deleted"`
	Kept         []string `json:"kept"` // remote-only objects left in place
	// Skipped lists the site's registry files (archives, signatures,
	// buckets, shards) that index.json does not reference, which are
	// never uploaded: the leftovers of a killed in-place build, say.
	Skipped []string `json:"skipped"`
	// Extra lists the site's files that are no part of the registry
	// (neither its files nor a name its catalogue writes: a CNAME, a web
	// root's own page), published as they are: nothing signs or checks
	// them (docs/SECURITY.md). Inside the catalogue's directories such a
	// file is refused instead (checkCatalogue).
	Extra []string `json:"extra"`
	// Releases is what an OCI publish did per release (nil for trees of
	// files).
	Releases *ReleaseCounts `json:"releases,omitempty"`
}

type localFile struct {
	key         string
	size        int64
	md5, sha256 string
	info        fs.FileInfo // its fstat, for a destination's file (exposed)
}

// Publish uploads the site in dir to t.
func Publish(ctx context.Context, dir string, t Target, o Options) (*Result, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs
	}
	root, rootData, src, local, skipped, err := readLocal(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	anchor, err := checkSiteAnchor(ctx, o, root, siteFetch(src), dir)
	if err != nil {
		return nil, err
	}
	remote, err := t.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t, err)
	}
	if err := refuseSources(dir, t, remote); err != nil {
		return nil, err
	}
	res := &Result{Target: t.String(), DryRun: o.DryRun, Serial: root.Serial, Uploaded: []string{}, Deleted: []string{}, Kept: []string{}, Skipped: skipped, Extra: []string{}}
	for _, f := range local {
		if !sitedir.Owned(f.key) {
			res.Extra = append(res.Extra, f.key)
		}
	}
	sort.Strings(res.Extra)
	// The live remote generation: rollback protection now, prune rules later.
	live, liveData, ext, err := readLive(ctx, t, src, remote, root, rootData, o, res)
	if err != nil {
		return nil, err
	}
	warnLiveAnchor(o, anchor, live, t)
	uploads, err := planUploads(ctx, t, local, remote, o, res)
	if err != nil {
		return nil, err
	}
	if uploads, err = witnessUploads(ctx, t, src, root, uploads, remote, o, res); err != nil {
		return nil, err
	}
	if live != nil {
		// After planUploads, whose refusal names the archive that
		// changed; not even o.Force publishes a fork (checkLog).
		if err := checkLiveLog(ctx, t, rootData, liveData, ext, o.Force); err != nil {
			return nil, err
		}
	}
	if c, ok := t.(pathChecker); ok {
		// Before the first write: a refusal leaves the target as it was.
		keys := make([]string, len(uploads))
		for i, f := range uploads {
			keys[i] = f.key
		}
		if err := c.checkPaths(keys, siteDirs(local)); err != nil {
			return nil, err
		}
	}
	if live == nil && liveData == nil && !o.Force {
		if err := refuseOverwrite(ctx, t, uploads, remote); err != nil {
			return nil, err
		}
	}
	for _, stage := range stages(uploads) {
		for _, f := range stage {
			res.Uploaded = append(res.Uploaded, f.key)
		}
		if o.DryRun {
			for _, f := range stage {
				fmt.Fprintf(o.Log, "would upload %s\n", textsafe.Escape(f.key))
			}
			continue
		}
		var cond *Object
		if r, ok := remote[index.RootFile]; ok {
			cond = &r
		}
		if err := putAll(ctx, t, src, stage, cond, o); err != nil {
			return res, err
		}
	}

	if err := prune(ctx, t, local, remote, live, liveData, o, res); err != nil {
		return res, err
	}
	return res, nil
}

// readLocal reads and checks the built site in dir: its index.json and
// the files it references (skipped: the files it does not). src is dir,
// opened: the caller uploads what was hashed through it, and closes it.
func readLocal(ctx context.Context, dir string, o Options) (root *index.Root, rootData []byte, src *os.Root, local []localFile, skipped []string, err error) {
	rootData, err = os.ReadFile(filepath.Join(dir, index.RootFile))
	if err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("%w: %s has no readable index.json (%v): %s", ErrNotSite, dir, err, sitedir.BuildHint(dir))
	}
	root, err = index.ParseRoot(rootData)
	if err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("%w: %s/index.json: %v", ErrNotSite, dir, err)
	}
	// The site the user named may be a link (a "latest" pointing at a
	// build): os.OpenRoot follows it, as cp -r does, and no link below it.
	if src, err = os.OpenRoot(dir); err == nil {
		if local, err = walkRoot(ctx, src); err != nil {
			src.Close()
		}
	}
	if err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("read site %s: %w", dir, err)
	}
	refs, err := checkSite(ctx, dir, root, rootData, src, local, o)
	if err != nil {
		src.Close()
		return nil, nil, nil, nil, nil, err
	}
	local, skipped = onlyReferenced(local, refs)
	if len(skipped) > 0 {
		fmt.Fprintf(o.Log, "not uploading %d file(s) index.json does not reference (left by a killed build?), e.g. %s\n", len(skipped), textsafe.Escape(skipped[0]))
	}
	if i := slices.IndexFunc(local, func(f localFile) bool { return index.KindOf(f.key) == index.KindAirgap }); i >= 0 {
		// Only airgap import writes an air-gapped registry's marker, and
		// only into the registry it fills (an OCI one): in a site it is a
		// copy from elsewhere, which would narrow what clients see.
		fmt.Fprintf(o.Log, "not uploading %s: only `packgen airgap import` writes an air-gapped registry's marker\n", index.AirgapFile)
		skipped = append(skipped, local[i].key)
		local = slices.Delete(local, i, i+1)
	}
	return root, rootData, src, local, skipped, nil
}

// refuseOverwrite refuses a publish to a target that holds no
// index.json when it would replace files already there: no registry
// put them there, so they are someone else's (a web root's index.html),
// and they are refused before anything is written. A target holding a
// file only a packgen publish writes is an unfinished publish's
// (unfinishedPublish).
func refuseOverwrite(ctx context.Context, t Target, uploads []localFile, remote map[string]Object) error {
	if unfinishedPublish(ctx, t, remote) {
		return nil
	}
	var taken []string
	for _, f := range uploads {
		if _, ok := remote[f.key]; ok {
			taken = append(taken, f.key)
		}
	}
	if len(taken) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s holds no index.json, so no packgen registry is published there, yet it holds %d file(s) the site would replace with other content: %s. Publish into an empty directory or prefix (a registry/ below it, say), or move those files away; if an earlier publish of this registry that did not finish left them, pass --force", ErrOverwrite, t, len(taken), phrase.Few(taken, 5))
}

// unfinishedPublish reports whether remote holds a file only a packgen
// publish writes: a bucket or shard (sitedir.ContentAddressed) whose
// content hashes to its name. A path that merely looks like one
// (signatures/x.asc, index/search.json, log/tile/notes.txt on a
// downloads site) proves nothing. A publish killed before index.json
// had uploaded its buckets first (stage 0, sorted: index/ before packs/).
// The digest comes from the listing, else the one stored with the
// object, else the content (small: a bucket or shard, read bounded).
func unfinishedPublish(ctx context.Context, t Target, remote map[string]Object) bool {
	for k, obj := range remote {
		sha, ok := sitedir.ContentAddressed(k)
		if !ok {
			continue
		}
		if obj.SHA256 == "" {
			if st, err := t.Stat(ctx, k); err == nil {
				obj.SHA256 = cmp.Or(st.SHA256, st.ClaimedSHA256)
			}
		}
		if obj.SHA256 == "" {
			if data, err := readAll(ctx, t, k); err == nil {
				obj.SHA256 = index.Digest(data)
			}
		}
		if obj.SHA256 == sha {
			return true
		}
	}
	return false
}

// witnessUploads applies the witness rules every publisher keeps
// (checkWitnessFile, keepLiveWitness) to the planned uploads, before
// anything is written: a witness file of the site that is not a
// cosigned checkpoint of this registry's log (or of a tree its log
// extends) is refused, and one the destination holds that cosigns a
// larger tree (the witness wrote its newer one there since the site
// was staged) is kept rather than replaced.
func witnessUploads(ctx context.Context, t Target, src *os.Root, root *index.Root, uploads []localFile, remote map[string]Object, o Options, res *Result) ([]localFile, error) {
	siteLog := siteFetch(src)
	var out []localFile
	for _, f := range uploads {
		if index.KindOf(f.key) != index.KindLogWitness {
			out = append(out, f)
			continue
		}
		data, err := readIn(src, f.key, translog.MaxCheckpointSize)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrWitnessFile, f.key, err)
		}
		if _, err := checkWitnessFile(ctx, root, siteLog, f.key, data); err != nil {
			return nil, err
		}
		if _, ok := remote[f.key]; ok {
			live, err := readMax(ctx, t, f.key, translog.MaxCheckpointSize)
			if err != nil {
				return nil, fmt.Errorf("read %s on %s: %w", f.key, t, err)
			}
			keep, err := keepLiveWitness(root, f.key, live, data)
			if err != nil {
				return nil, err
			}
			if keep != "" {
				res.Kept = append(res.Kept, f.key)
				fmt.Fprintf(o.Log, "kept %s: %s\n", textsafe.Escape(f.key), keep)
				continue
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// ErrPackSources: the destination holds pack sources (a pack.json: a
// repository or its packs directory, the build's input), among which a
// publish would write the registry's files and from which a prune could
// delete a pack's own. It also matches ErrDestination (exit 2).
var ErrPackSources = errors.New("the destination holds pack sources")

// refuseSources refuses, before anything is written, a destination that
// holds a pack's manifest (sitedir.PackSource): a site never holds one,
// so the destination is a repository or packs directory, not the
// registry's. A gh-pages work tree (a git work tree without packs) holds
// none and is fine.
func refuseSources(site string, t Target, remote map[string]Object) error {
	k := sitedir.PackSource(remote)
	if k == "" {
		return nil
	}
	return errmark.Wrap(ErrDestination, errmark.New(ErrPackSources, "%s holds pack sources (%s, a pack's %s, which a registry site never holds): it is a repository or a packs directory, the build's input, and a publish there would write the registry's files among the packs (and --prune could delete their files). Nothing was written. Publish into a directory of its own (a new one, or a gh-pages work tree), e.g. `packgen publish %s public`", t, k, sitedir.PackFile, site))
}

// readLive reads the live index.json of the target, if any, and refuses
// to replace it with one its clients would refuse (another key: even
// with o.Force), or (without o.Force) an older or unrelated one. ext,
// whether the site's log extends the live one, is for the fork check
// too (checkLiveLog), nil without a live index. It sets index.json's
// entry in remote from what it read (its SHA-256, how it was served):
// nothing else does.
func readLive(ctx context.Context, t Target, src *os.Root, remote map[string]Object, root *index.Root, rootData []byte, o Options, res *Result) (live *index.Root, liveData []byte, ext *logExtension, err error) {
	if _, ok := remote[index.RootFile]; !ok {
		return nil, nil, nil, nil
	}
	liveData, served, err := readServed(ctx, t, index.RootFile, maxMetadata)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read the live index.json on %s: %w", t, err)
	}
	// Read whole: its bytes, as served, and how it was served decide
	// whether it is uploaded again (sameContent, rewrite), not what the
	// listing says of it, and with no HEAD of its own.
	r := remote[index.RootFile]
	r.SHA256, r.Served = index.Digest(liveData), served
	remote[index.RootFile] = r
	live, err = index.ParseRoot(liveData)
	if err != nil && !o.Force {
		return nil, nil, nil, fmt.Errorf("the index.json on %s is not a packgen registry index (%v): publish to an empty prefix, or pass --force to replace it and every file at a path the site writes", t, err)
	}
	if live != nil {
		res.RemoteSerial = live.Serial
		ext = newLogExtension(root, live, siteFetch(src))
		if err := checkLiveKey(ctx, t, src, root, rootData, live, liveData, ext); err != nil {
			return nil, nil, nil, err
		}
		if err := checkNewer(root, rootData, live, liveData, t); err != nil && !o.Force {
			return nil, nil, nil, err
		}
	}
	return live, liveData, ext, nil
}

// planUploads decides what to upload before touching anything: the local
// files whose content differs from the remote's, refusing an archive
// published with other content. Comparisons may need a request each
// (stores without MD5 ETags), so they run in parallel.
func planUploads(ctx context.Context, t Target, local []localFile, remote map[string]Object, o Options, res *Result) ([]localFile, error) {
	verdicts := make([]verdict, len(local))
	err := parallel.Each(ctx, len(local), o.Jobs, func(i int) (err error) {
		verdicts[i], err = sameContent(ctx, t, local[i], remote)
		return err
	})
	if err != nil {
		return nil, err
	}
	var uploads []localFile
	var conflicts []string
	for i, f := range local {
		v := verdicts[i]
		if v.same {
			res.Unchanged++
			continue
		}
		if v.why != "" {
			// Right bytes, yet not as publish leaves it: someone else's
			// doing, worth the operator's eye.
			fmt.Fprintf(o.Log, "warning: %s on %s is %s: writing it again\n", textsafe.Escape(f.key), t, textsafe.Escape(v.why))
		}
		if v.known && isArchive(f.key) {
			conflicts = append(conflicts, f.key)
			continue
		}
		uploads = append(uploads, f)
	}
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return nil, fmt.Errorf("%w: %s already on %s with other content; build from the published registry (packgen build --previous URL) so published releases are reused, and bump the version of a pack whose content changed. A build from the published registry never changes a published archive: if this site was built so, someone else wrote the bucket since (packgen verify --site on its URL names every file that does not verify)", ErrImmutable, strings.Join(conflicts, ", "), t)
	}
	return uploads, nil
}

// checkSite makes sure every file the site's index reaches is present with
// its recorded digest and size, so the upload cannot leave the remote
// pointing at something missing or different, and that index.json and
// the catalogue are what the registry's key signed (o.Verify). It reuses
// the digests computed for the upload: archives are not read twice. It
// returns what the index references.
func checkSite(ctx context.Context, dir string, root *index.Root, rootData []byte, src *os.Root, local []localFile, o Options) (*references, error) {
	refs := &references{files: map[string]bool{}, packs: map[string]bool{}}
	rootSHA := index.Digest(rootData)
	for _, p := range []string{index.RootFile, index.RootFile + index.SignatureExt, index.RootFile + index.BundleExt, index.RootSignaturePath(rootSHA), index.RootBundlePath(rootSHA)} {
		refs.files[p] = true
	}
	files := make(map[string]localFile, len(local)) // by site path, for both checks
	for _, f := range local {
		files[f.key] = f
	}
	// rootData was read before the files were hashed for the upload: the
	// index.json checked below must be the one uploaded.
	if f, ok := files[index.RootFile]; !ok || f.sha256 != rootSHA {
		return nil, notSite(dir, "index.json changed while publish was reading the site (publish only once the build has ended)")
	}
	w := siteWalker(dir, src, files, o.Verify)
	get := func(p string, max int64) ([]byte, error) { return w.Get(ctx, p, max) }
	if err := checkTree(dir, root, rootData, local, files, refs, get); err != nil {
		return nil, err
	}
	named, err := rootStep(ctx, w, dir, "--source-key", root, rootData)
	if err != nil {
		return nil, err
	}
	copies := dirCopies(dir, w)
	if err := copies.root(ctx, root, rootData, named); err != nil {
		return nil, err
	}
	// Under the key, each release's .sig signs the archive its shard
	// pins (a .sig swapped with its bundle passes the bundle's check);
	// each release's bundle carries its .sig's signature, as verify
	// --site checks (walk's BundleOf; attackX F4). Two small reads a
	// release (the .sig, ~100 bytes, and the bundle, a few KiB), which
	// publish otherwise only hashes for the upload: on o.Jobs at once,
	// as verify --site reads them.
	err = parallel.Each(ctx, len(refs.signed), o.Jobs, func(i int) error {
		r := refs.signed[i]
		if w.Verifier == nil && r.rel.Bundle == "" {
			return nil // nothing to check the .sig against
		}
		sig, err := w.Get(ctx, r.rel.Signature, sign.MaxSigFileSize)
		if re := readFailure(err); re != nil {
			return re
		} else if err != nil {
			return notSite(dir, "%w", err)
		}
		open := func() (io.ReadCloser, error) { return src.Open(r.rel.Archive.Path) }
		return copies.signedRelease(ctx, r.name, &r.rel, sig, open)
	})
	if err != nil {
		return nil, err
	}
	if _, err := readLogFiles(ctx, root, w.Get, func(string, []byte) error { return nil }, "not the build's (an older checkpoint put back, or a build killed before it wrote its own): publish the site as the build wrote it, or build again"); err != nil {
		if re := readFailure(err); re != nil {
			return nil, re
		}
		return nil, fmt.Errorf("%w: %s: %w; nothing was published", ErrNotSite, dir, err)
	}
	return refs, checkCatalogue(ctx, dir, root, rootData, w, files, refs, o.Log)
}

// sigCopies checks that a signed site's copies of signatures are what its
// build wrote (attackX F4), reading them through w: clients read none of
// them, but `cosign verify-blob` does, and publish passes them on as
// they are. refuse words a refusal for where publish reads the site.
type sigCopies struct {
	w *sitewalk.Walker
	// refuse: err says which copy and what is wrong with it
	// (sign.ErrBadSignature where a comparison failed, a read error as
	// it is); live: it is index.json.sig or index.json.sigstore.json,
	// which a static registry mid-publish already holds for its next
	// index.json.
	refuse func(err error, live bool) error
}

// dirCopies checks the copies in dir, a build's output.
func dirCopies(dir string, w *sitewalk.Walker) sigCopies {
	return sigCopies{w: w, refuse: func(err error, _ bool) error { return notSite(dir, "%w", err) }}
}

// sourceCopies checks the copies of src, a site publish reads through a
// transport: a directory is a build's output (dirCopies); an oci://
// registry keeps its root's files in one manifest, which switches at
// once; any other remote uploads index.json.sig and .sigstore.json
// before it switches index.json (docs/FORMAT.md), so a live copy that
// differs most likely lags a publish under way.
func sourceCopies(src string, w *sitewalk.Walker) sigCopies {
	loc, err := location.Parse(src)
	if err == nil && loc.Local() {
		return dirCopies(src, w)
	}
	lags := err == nil && loc.Scheme != "oci"
	return sigCopies{w: w, refuse: func(err error, live bool) error {
		cause := "it was changed there after its build: have the registry published again from its build"
		if live && lags {
			cause = "a publish to it may be under way (index.json.sig and index.json.sigstore.json go up before index.json switches: docs/FORMAT.md): publish again once it has ended; if this stays, the file was changed there"
		}
		return fmt.Errorf("%w: %s: %w; %s (`packgen verify --site %s` names every such file); nothing was published", ErrNotSite, src, err, cause, src)
	}}
}

// root checks the copies of index.json's signature, when signed:
// index.json.sig must be sig, the signature named by index.json's digest
// (rootData's: the one the walker verified, under the key when publish
// has it), and each Sigstore bundle of it, index.json.sigstore.json and
// the digest-named one, must carry that signature. sig nil: not read
// yet, read here.
func (c sigCopies) root(ctx context.Context, root *index.Root, rootData, sig []byte) error {
	if !root.Signed {
		return nil
	}
	named := index.RootSignaturePath(index.Digest(rootData))
	if sig == nil {
		var err error
		sig, err = c.w.Get(ctx, named, sign.MaxSigFileSize)
		if re := readFailure(err); re != nil {
			return re
		} else if err != nil {
			// Not missing: the site's checks refused a signed site
			// without it.
			return c.refuse(err, false)
		}
	}
	live := index.RootFile + index.SignatureExt
	data, err := c.w.Get(ctx, live, sign.MaxSigFileSize)
	if re := readFailure(err); re != nil {
		return re
	}
	switch {
	case errors.Is(err, index.ErrNotFound):
	case err != nil:
		return c.refuse(err, true)
	case !bytes.Equal(data, sig):
		return c.refuse(errmark.New(sign.ErrBadSignature, "%s is not a copy of %s, the signature of index.json (a stale or junk copy, which `cosign verify-blob` would read)", live, named), true)
	}
	for _, p := range []string{index.RootFile + index.BundleExt, index.RootBundlePath(index.Digest(rootData))} {
		if err := c.bundle(ctx, p, named, sig, p == index.RootFile+index.BundleExt); err != nil {
			return err
		}
	}
	return nil
}

// release refuses r's .sig (sig, its bytes) unless it signs the archive
// r's shard pins, under c.w's Verifier (none: not checked): a .sig and
// its bundle swapped together pass bundle's comparison. The project
// signs digests, so the archive is not read (open: only by an ed25519
// key, which signs the whole blob).
func (c sigCopies) release(name string, r *index.Release, sig []byte, open func() (io.ReadCloser, error)) error {
	if c.w.Verifier == nil {
		return nil
	}
	if err := c.w.ReleaseSignature(r, sig, open); err != nil {
		return c.refuse(fmt.Errorf("%s@%s: %s does not sign the archive its signed shard pins (sha256 %s): %w", name, r.Version, r.Signature, index.ShortHash(r.Archive.SHA256), err), false)
	}
	return nil
}

// signedRelease checks release r of pack name whose .sig holds sig: the
// .sig signs the archive (release; open nil: the caller checks that
// itself, over the archive it reads), and the bundle, if r names one,
// carries it (bundle).
func (c sigCopies) signedRelease(ctx context.Context, name string, r *index.Release, sig []byte, open func() (io.ReadCloser, error)) error {
	if open != nil {
		if err := c.release(name, r, sig, open); err != nil {
			return err
		}
	}
	if r.Bundle == "" {
		return nil
	}
	return c.bundle(ctx, r.Bundle, r.Signature, sig, false)
}

// bundle refuses the Sigstore bundle at p unless it carries sig, the
// bytes of the .sig file sigPath (walk's BundleOf): `cosign verify-blob
// --bundle` reads it. One not there is not refused here. live: as for
// refuse.
func (c sigCopies) bundle(ctx context.Context, p, sigPath string, sig []byte, live bool) error {
	err := c.w.BundleOf(ctx, p, sigPath, sig)
	if re := readFailure(err); re != nil {
		return re
	}
	if errors.Is(err, sign.ErrBadSignature) { // the comparison: name the bundle
		err = fmt.Errorf("%s: %w", p, err)
	}
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return c.refuse(err, live)
	}
	return nil
}

// siteWalker is the client's trusted walker (package walk) over the
// site's files, checking signatures with v (nil: none). It reads only
// the files publish listed and hashed for the upload, and only as they
// were hashed: a file changed since is an error, so what was verified is
// what is uploaded. A file it cannot read as hashed is an errSiteRead error,
// which its callers keep apart from their verdicts on the site.
func siteWalker(dir string, src *os.Root, files map[string]localFile, v *sign.Verifier) *sitewalk.Walker {
	get := func(_ context.Context, p string, max int64) ([]byte, error) {
		f, ok := files[p]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: %w", p, index.ErrNotFound)
		case f.size > max:
			// As hashed: the site's, a verdict like any walker's.
			return nil, fmt.Errorf("%s: %w (%d bytes, at most %d expected)", p, index.ErrTooLarge, f.size, max)
		}
		data, err := readIn(src, p, max)
		switch {
		case err != nil:
			return nil, errmark.Wrap(errSiteRead, fmt.Errorf("%s: %w; publish had listed and hashed it a moment before, and nothing was published: make it readable, or wait for whatever writes the site, and publish again", dir, err))
		case index.Digest(data) != f.sha256:
			return nil, errmark.Wrap(errSiteRead, fmt.Errorf("%w: %s/%s changed while publish read the site; nothing was published: rebuild or wait for the build writing it, and publish again", ErrSiteChanged, dir, p))
		}
		return data, nil
	}
	return &sitewalk.Walker{Get: get, Verifier: v}
}

// errSiteRead marks a site file publish listed and hashed that could not
// be read again as hashed (an I/O error, a file changed since, read for
// an upload out of order: siteReader). It is no verdict on the site as
// built (exit 1) but a failure to read it (3).
var errSiteRead = errors.New("site file not read as hashed")

// readFailure is the errSiteRead error in err, if any, which names its
// file itself: a caller returns it rather than as a refusal of the site.
func readFailure(err error) error { return errmark.Find(err, errSiteRead) }

// checkCatalogue refuses a site whose catalogue is not what its signed
// manifest (index.CatalogueFile) lists: a page edited between build and
// publish (a shared out dir, a CI step, an artifact handed between jobs)
// would be served as edited to browsers, which check nothing. The
// manifest is read through the walker w (package walk, as verify --site
// reads it): its signature verifies under the registry's key when
// publish was given it (Options.Verify; without it, whoever can edit a
// page can edit the manifest too, so a signed site is a warning on log),
// and it must belong to this index.json. Every file it lists must be
// there with its digest and size, and every catalogue file there
// (sitedir.CataloguePaths, as verify --site looks for them) must be
// listed, and so must any other file in the catalogue's directories
// (sitedir.InCatalogueDir: assets/, packs/NAME/, and the log's), which browsers would
// get from the registry's origin beside the signed pages (attackV F7).
// A signed site with catalogue files and no manifest is refused:
// deleting the manifest must not turn the check off (docs/SECURITY.md).
func checkCatalogue(ctx context.Context, dir string, root *index.Root, rootData []byte, w *sitewalk.Walker, files map[string]localFile, refs *references, log io.Writer) error {
	refuse := func(sentinel error, format string, args ...any) error {
		return fmt.Errorf("%w: %w: %s: %s; nothing was published: build the site again (packgen build) and publish what it wrote", ErrNotSite, sentinel, dir, fmt.Sprintf(format, args...))
	}
	bad := func(format string, args ...any) error { return refuse(ErrCatalogueChanged, format, args...) }
	pages := slices.DeleteFunc(sitedir.CataloguePaths(slices.Sorted(maps.Keys(refs.packs))), func(p string) bool { _, there := files[p]; return !there })
	c, err := w.CatalogueWithBundle(ctx, rootData)
	if re := readFailure(err); re != nil {
		return re
	}
	switch {
	case errors.Is(err, sign.ErrBadSignature), errors.Is(err, sitewalk.ErrUnsigned):
		return refuse(ErrCatalogueUnverified, "%v", err)
	case err != nil:
		return bad("%v", err)
	case c == nil && root.Signed && len(pages) > 0:
		return refuse(ErrCatalogueUnverified, "%s is missing, though index.json is signed and the site has a catalogue (%s): nothing vouches for its pages (a build killed before it wrote the catalogue, a site built before packgen signed its catalogue, or a manifest deleted to hide an edited page); the next build writes the manifest", index.CatalogueFile, phrase.Few(pages, 3))
	case c == nil:
		return nil
	}
	if w.Verifier == nil && root.Signed {
		fmt.Fprintf(log, "warning: %s: index.json and %s were not verified (publish was given no key): a page and the manifest edited together since the build cannot be told from the build's; pass --source-key registry.pub (the registry's public key) to have them verified\n", dir, index.CatalogueFile)
	}
	for _, ref := range c.Files {
		switch f, ok := files[ref.Path]; {
		case !ok:
			return bad("%s lists %s, which is missing", index.CatalogueFile, ref.Path)
		case f.sha256 != ref.SHA256 || f.size != ref.Size:
			return bad("%s is not the file %s lists (sha256 %s, size %d; want %s, %d): it was changed after the build", ref.Path, index.CatalogueFile, f.sha256, f.size, ref.SHA256, ref.Size)
		}
	}
	for _, p := range pages {
		if _, listed := c.Find(p); !listed {
			return bad("%s is not listed in %s: it was added after the build", p, index.CatalogueFile)
		}
	}
	if added := sitedir.AddedToCatalogue(c, slices.Collect(maps.Keys(files)), refs.packs); len(added) > 0 {
		return fmt.Errorf("%w: %w: %s: %s in a directory the catalogue or the log owns (%s/, packs/NAME/, %s/), which %s does not list: added after the build, it would be served from the registry's origin beside the signed pages, vouched for by nothing; nothing was published: remove it from the site, or publish it by other means (a file at the site's top that is none of the catalogue's is published as it is, and listed as not part of the registry)",
			ErrNotSite, ErrCatalogueChanged, dir, phrase.Few(added, 3), siteassets.Dir, index.LogDir, index.CatalogueFile)
	}
	return nil
}

// checkTree checks the registry's files the site's index.json reaches
// (files: local by site path) and the catalogue's assets, noting in
// refs what it reaches.
func checkTree(dir string, root *index.Root, rootData []byte, local []localFile, files map[string]localFile, refs *references, get func(p string, max int64) ([]byte, error)) error {
	bad := func(format string, args ...any) error { return notSite(dir, format, args...) }
	check := func(ref index.FileRef, from string) error {
		f, ok := files[ref.Path]
		switch {
		case !ok:
			return bad("%s lists %s, which is missing", from, ref.Path)
		case f.sha256 != ref.SHA256 || f.size != ref.Size:
			return bad("%s does not match its digest or size in %s", ref.Path, from)
		}
		return nil
	}
	if err := checkAssets(dir, local); err != nil {
		return err
	}
	// Read as hashed (siteWalker): the nodes and shards parsed here are
	// the bytes uploaded, not a file swapped in since the walk.
	read := func(key string, max int64) ([]byte, error) {
		data, err := get(key, max)
		if err != nil && readFailure(err) == nil {
			return nil, bad("%v", err)
		}
		return data, err
	}
	// A signed registry must ship the signatures clients read: every
	// release's (the root's: rootStep). Published without them, every
	// client would refuse the registry (unsigned, though its key is
	// configured).
	from := map[string]string{}
	for _, b := range root.Buckets {
		from[b.Path] = index.RootFile
	}
	return index.WalkBuckets(root, func(b index.FileRef) ([]byte, error) {
		if err := check(b, from[b.Path]); err != nil {
			return nil, err
		}
		refs.files[b.Path] = true
		return read(b.Path, index.MaxBucketSize)
	}, func(ref index.FileRef, bucket *index.Bucket, err error) error {
		if err != nil {
			return bad("%v", err)
		}
		for _, c := range bucket.Buckets {
			from[c.Path] = ref.Path
		}
		for _, sum := range bucket.Packs {
			if err := check(sum.Shard, ref.Path); err != nil {
				return err
			}
			refs.packs[sum.Name] = true
			refs.files[sum.Shard.Path] = true
			// The latest-shard copy is the shard's bytes (build/write.go):
			// published at the registry's origin for people and scripts,
			// it must not say anything else (attackX F3).
			latest := index.LatestShardPath(sum.Name)
			refs.files[latest] = true
			if f, ok := files[latest]; ok && (f.sha256 != sum.Shard.SHA256 || f.size != sum.Shard.Size) {
				return bad("%s is not a copy of %s, the shard %s names (sha256 %s, %d bytes; want %s, %d): it was changed after the build; publish the site as the build wrote it", latest, sum.Shard.Path, ref.Path, f.sha256, f.size, sum.Shard.SHA256, sum.Shard.Size)
			}
			data, err := read(sum.Shard.Path, index.MaxShardSize)
			if err != nil {
				return err
			}
			shard, err := index.ParseShard(data, sum.Name)
			if err != nil {
				return bad("%v", err)
			}
			for _, r := range shard.Releases {
				if err := check(r.Archive, sum.Shard.Path); err != nil {
					return err
				}
				if root.Signed && r.Signature == "" {
					return fmt.Errorf("%w: %w", bad("index.json is signed but %s@%s in %s has no signature", sum.Name, r.Version, sum.Shard.Path), ErrMissingSignature)
				}
				refs.files[r.Archive.Path] = true
				for _, p := range []string{r.Signature, r.Bundle} {
					refs.files[p] = p != ""
					if _, ok := files[p]; p != "" && !ok {
						return fmt.Errorf("%w: %w", bad("%s lists %s, which is missing", sum.Shard.Path, p), ErrMissingSignature)
					}
				}
				if r.Signature != "" {
					refs.signed = append(refs.signed, signedRelease{sum.Name, r})
				}
			}
		}
		return nil
	})
}

// rootStep is verify --site's root step (walk's RootStep) for the site
// src (a directory, or a source publish reads) and, once it passes,
// walk's RootClaim over what it read, as Walk takes them: one verdict
// for one site, whichever reads it. key names the key the walker holds,
// for a signature that does not verify under it. It returns the
// signature named by rootData's digest, when read. A site file not read
// as hashed and an operational failure of a source are no verdict on
// the site.
func rootStep(ctx context.Context, w *sitewalk.Walker, src, key string, root *index.Root, rootData []byte) ([]byte, error) {
	named, err := w.RootStep(ctx, rootData)
	switch {
	case err == nil:
		// Passed, named is there exactly when it was read (RootStep
		// refuses index.json.sig without it).
		if err := sitewalk.RootClaim(root.Signed, rootData, named != nil); err != nil {
			return nil, fmt.Errorf("%w: %s: %w; nothing was published", ErrNotSite, src, err)
		}
		return named, nil
	case readFailure(err) != nil:
		return nil, readFailure(err)
	case transport.Operational(err):
		return nil, fmt.Errorf("%s: cannot read the signature of index.json: %w", src, err)
	case w.Verifier != nil && named != nil:
		// The signature named by its digest is there but does not
		// verify: walk's words say nothing of the key given.
		return nil, fmt.Errorf("%w: %s: index.json does not verify under %s (%w): it was changed after the build, or the key is not the registry's (give the public key of the registry that built it); nothing was published", ErrNotSite, src, key, err)
	}
	return nil, fmt.Errorf("%w: %s: %w; nothing was published", ErrNotSite, src, err)
}

// notSite is ErrNotSite for the site in dir, saying what is wrong.
func notSite(dir, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %w; rebuild it with packgen build", ErrNotSite, dir, fmt.Errorf(format, args...))
}

// checkAssets: the catalogue's assets are the embedded ones (attackS
// F1b: an app.js edited in the out dir runs on every page, CSP or not).
func checkAssets(dir string, local []localFile) error {
	for _, f := range local {
		name, ok := strings.CutPrefix(f.key, siteassets.Dir+"/")
		if want, known := siteassets.Digest(name); ok && known && f.sha256 != want {
			return fmt.Errorf("%w: %w", notSite(dir, "%s is not the %s this packgen's catalogue writes (sha256 %s, want %s): it was changed after the build, or another packgen version built the site; nothing was published", f.key, name, f.sha256, want), ErrAssetChanged)
		}
	}
	return nil
}

// references is what a site's index.json reaches: the registry's own
// files, and the packs it lists.
type references struct {
	files map[string]bool
	packs map[string]bool
	// signed: each release with a .sig, which checkSite checks with
	// its archive and its Sigstore bundle.
	signed []signedRelease
}

// signedRelease is a release of pack name with a .sig.
type signedRelease struct {
	name string
	rel  index.Release
}

// owned reports whether key is one of the registry's files, which belong
// to the site only when index.json references them: anything under
// index/ (buckets) and signatures/ (the root's signatures), index.json
// and its signatures, and under packs/NAME/ the shards, the latest-shard
// copy and the release directories. Everything else (the catalogue:
// index.html, catalog.json, assets/, a pack's page and logo; a CNAME...)
// is the site's own, published as is, except under packs/ for a pack
// the index does not list.
func (r *references) belongs(key string) bool {
	if r.files[key] {
		return true
	}
	parts := strings.Split(key, "/")
	switch {
	case strings.HasPrefix(key, index.RootFile):
		return false
	case parts[0] == "index" || parts[0] == "signatures":
		return false
	case parts[0] == "packs":
		if len(parts) < 3 || !r.packs[parts[1]] {
			return false
		}
		// packs/NAME/index.html, logo.png: the pack's catalogue page.
		return len(parts) == 3 && parts[2] != index.RootFile
	}
	return true
}

// onlyReferenced splits the site's files into those that belong to it
// and the registry files the index does not reference.
func onlyReferenced(local []localFile, refs *references) (keep []localFile, skipped []string) {
	skipped = []string{}
	for _, f := range local {
		if refs.belongs(f.key) {
			keep = append(keep, f)
		} else {
			skipped = append(skipped, f.key)
		}
	}
	sort.Strings(skipped)
	return keep, skipped
}

// checkNewer refuses a site that would move clients backwards: a lower
// serial (clients refuse it as a rollback anyway, so the registry would
// look broken), the same serial with other content (two builds diverged:
// one was not built from the other), or fewer releases (a build that lost
// published versions, e.g. from a shallow clone without --previous).
func checkNewer(root *index.Root, rootData []byte, live *index.Root, liveData []byte, t fmt.Stringer) error {
	switch {
	case root.Serial < live.Serial:
		return fmt.Errorf("%w: the site's index serial %d is lower than the serial %d live on %s (built from commit %s); rebuild from the current commit with --previous pointing at the published registry, or pass --force to roll back on purpose (clients that saw serial %d will refuse the older index)", ErrRollback, root.Serial, live.Serial, t, short(live.Source.Commit), live.Serial)
	case root.Serial == live.Serial && !bytes.Equal(rootData, liveData):
		return fmt.Errorf("%w: the site and %s both have serial %d but different content (built from %s and %s%s): build with --previous pointing at the published registry so serials grow, or pass --force", ErrRollback, t, root.Serial, short(root.Source.Commit), short(live.Source.Commit), howDiffer(root, live))
	case root.Releases < live.Releases:
		return fmt.Errorf("%w: the site lists %d releases but %s publishes %d: published releases would disappear from the index; build with --previous pointing at the published registry, or pass --force", ErrRollback, root.Releases, t, live.Releases)
	}
	return nil
}

// howDiffer says what tells two indexes of one serial apart when it is
// their signing ("" otherwise): two builds of one commit differ only so.
func howDiffer(root, live *index.Root) string {
	switch {
	case root.Signed && !live.Signed:
		return "; the site is signed, the live index is not"
	case !root.Signed && live.Signed:
		return "; the live index is signed, the site is not"
	case root.Log != nil && live.Log != nil && root.Log.Key != live.Log.Key:
		return "; they are signed with different keys"
	}
	return ""
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	if commit == "" {
		return "an unknown commit"
	}
	return commit
}

// verdict is sameContent's answer about one file.
type verdict struct {
	same bool // the destination holds it as publish would write it
	// known: the remote bytes are known to differ (rather than merely
	// unknown): for an archive, a conflict.
	known bool
	// why a file whose bytes are right is written again (rewrite).
	why string
}

// sameContent compares a local file with the remote object of its key.
//
// Whoever can write the destination sets what it says of an object
// beyond its bytes (S3's sha256 metadata), and MD5 collides for a file
// whose bytes someone chose (a pack's logo): so a file that changes in
// place is "same" only on a SHA-256 the destination computed itself.
// Taken on the writer's word, the previous, genuinely signed index.json
// (or checkpoint, or catalogue manifest) put back with the new one's
// digest as metadata would stay live through a publish that reports
// success: a freeze nobody sees. A pinned file may be taken on the
// listing's MD5 or the metadata: a wrong one is refused by clients.
//
// A listed MD5 that differs only says to ask: the ETag of an SSE-KMS or
// SSE-C object is 32 hex digits that are no MD5, and an archive is a
// conflict only once its content is known to differ (the store's
// checksum, or its bytes hashed). And right bytes are not enough where
// the destination said how it serves them or who else can write them:
// see rewrite.
func sameContent(ctx context.Context, t Target, f localFile, remote map[string]Object) (verdict, error) {
	r, ok := remote[f.key]
	if !ok {
		return verdict{}, nil
	}
	if r.Size != f.size {
		return verdict{known: true}, nil
	}
	if r.SHA256 != "" {
		if r.SHA256 != f.sha256 {
			return verdict{known: true}, nil
		}
		return rewrite(f.key, r), nil
	}
	trust := pinned(f.key)
	if trust && r.MD5 == f.md5 {
		return verdict{same: true, known: true}, nil
	}
	// The listing does not say enough (no MD5: a multipart upload; an
	// MD5 that differs, or none at all of an SSE-KMS object; a file that
	// changes in place): ask for the object's digests.
	st, err := t.Stat(ctx, f.key)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return verdict{}, fmt.Errorf("stat %s on %s: %w", f.key, t, err)
	}
	md5Differs := r.MD5 != "" && r.MD5 != f.md5 && !st.ETagNotMD5
	switch {
	case st.SHA256 != "":
		if st.SHA256 != f.sha256 {
			return verdict{known: true}, nil
		}
		return rewrite(f.key, st), nil
	case md5Differs && !isArchive(f.key):
		return verdict{known: true}, nil
	case !md5Differs && trust && st.ClaimedSHA256 != "":
		if st.ClaimedSHA256 != f.sha256 {
			return verdict{known: true}, nil
		}
		return rewrite(f.key, st), nil
	case !isArchive(f.key):
		return verdict{}, nil // unknown: uploading again is harmless
	}
	// An archive of unknown digest, or whose ETag differs from its MD5
	// on a store that does not say why: hash it rather than risk
	// replacing a published release, or refusing one that is there.
	rc, err := t.Get(ctx, f.key)
	if err != nil {
		return verdict{}, fmt.Errorf("read %s on %s: %w", f.key, t, err)
	}
	defer rc.Close()
	h := sha256.New()
	// Read up to one byte past the site's size: more is other content.
	n, err := io.Copy(h, io.LimitReader(rc, f.size+1))
	if err != nil {
		return verdict{}, fmt.Errorf("read %s on %s: %w", f.key, t, err)
	}
	if n != f.size || hex.EncodeToString(h.Sum(nil)) != f.sha256 {
		return verdict{known: true}, nil
	}
	return rewrite(f.key, st), nil
}

// rewrite is the verdict on a file whose bytes are the site's: unchanged
// unless the destination serves it otherwise than publish sets it (an S3
// object's Content-Type, Cache-Control, or a Content-Encoding, a
// Content-Disposition or a website redirect, which publish never sends:
// a bucket writer's, put back with the genuine bytes, would make a page
// redirect, a feed undecodable, index.json cached for a year) or someone
// else can change it in place (a directory's file: exposed). Such a file
// is uploaded again, replacing the object or, in a directory, the name
// (a rename), never the bytes of a file someone else holds.
func rewrite(key string, o Object) verdict {
	if o.Exposed != "" {
		return verdict{why: o.Exposed}
	}
	if o.Served == nil {
		return verdict{same: true, known: true}
	}
	var why []string
	if ct := index.ContentType(key); !sameMediaType(o.Served.ContentType, ct) {
		why = append(why, fmt.Sprintf("Content-Type %q (publish sets %q)", o.Served.ContentType, ct))
	}
	if cc := index.CacheControl(key); o.Served.CacheControl != cc {
		why = append(why, fmt.Sprintf("Cache-Control %q (publish sets %q)", o.Served.CacheControl, cc))
	}
	for _, x := range o.Served.Extra {
		why = append(why, fmt.Sprintf("%q (publish sends none)", x))
	}
	if len(why) == 0 {
		return verdict{same: true, known: true}
	}
	return verdict{why: "served with " + strings.Join(why, ", ")}
}

// sameMediaType compares two Content-Types as media types: a store may
// write "text/html;charset=UTF-8" for "text/html; charset=utf-8".
func sameMediaType(a, b string) bool {
	ta, pa, errA := mime.ParseMediaType(a)
	tb, pb, errB := mime.ParseMediaType(b)
	if errA != nil || errB != nil || ta != tb || len(pa) != len(pb) {
		return false
	}
	for k, v := range pa {
		if w, ok := pb[k]; !ok || !strings.EqualFold(v, w) {
			return false
		}
	}
	return true
}

// pinned reports whether clients check a file by a digest they took
// from what pins it, so that a stale or foreign copy is refused, never
// served as current: content-addressed metadata (buckets, shards,
// signatures/<sha>), archives (their shard names their SHA-256), log
// tiles (the checkpoint's tree hash) and an archive's signatures (of
// the archive's digest). Believing the destination's word about one
// costs a denial of service at worst, which whoever can write the
// destination has anyway. Every other file changes in place and is
// served as the current one: index.json and its signature copies, the
// catalogue manifest and its copies, log/checkpoint, packs/NAME/index.json,
// the catalogue's pages, feeds and logos.
func pinned(key string) bool {
	k := index.KindOf(key)
	return k.Immutable() || k.Release() || k == index.KindLogPartialTile
}

// isArchive reports whether a key is a release archive.
func isArchive(k string) bool { return index.KindOf(k) == index.KindArchive }

// isReleaseFile reports whether a key is a release's archive or signature
// (packs/<name>/<version>/<file>), which pruning never removes.
func isReleaseFile(k string) bool { return index.KindOf(k).Release() }

// stage orders uploads so the remote is consistent at every moment.
func stage(key string) int {
	switch k := index.KindOf(key); {
	case k == index.KindLogCheckpoint:
		// The log's signed tree head follows the index that names its
		// tree, and only once that index is switched: a publish that
		// loses a race, or is killed, never leaves a checkpoint ahead of
		// the live index (a lagging one still verifies: docs/FORMAT.md).
		return 4
	case k == index.KindRoot:
		return 3
	case k == index.KindRootSignature, k == index.KindCatalogue, k == index.KindCatalogueSignature:
		// The catalogue's manifest names the new index.json: it goes up
		// after the pages it lists, just before the switch
		// (docs/FORMAT.md, "The catalogue's manifest").
		return 2
	case k.Immutable(), k == index.KindLogPartialTile:
		// A partial log tile is written once at its path too: it goes
		// up with the immutable files, before the checkpoint naming it.
		return 0
	}
	return 1
}

// stages splits files into upload stages, each sorted by key.
func stages(files []localFile) [][]localFile {
	out := make([][]localFile, 5)
	for _, f := range files {
		s := stage(f.key)
		out[s] = append(out[s], f)
	}
	for _, s := range out {
		sort.Slice(s, func(i, j int) bool { return s[i].key < s[j].key })
	}
	return out
}

// putAll uploads one stage with at most o.Jobs uploads at once and returns
// only when every started upload has ended; the first error stops the rest.
// The switch to the new index.json is conditional on the index listed at
// the start (live, or absent when live is nil).
func putAll(ctx context.Context, t Target, src *os.Root, files []localFile, live *Object, o Options) error {
	var mu sync.Mutex
	return parallel.Each(ctx, len(files), o.Jobs, func(i int) error {
		if err := put(ctx, t, src, files[i], live, o); err != nil {
			return err
		}
		mu.Lock()
		fmt.Fprintf(o.Log, "uploaded %s\n", textsafe.Escape(files[i].key))
		mu.Unlock()
		return nil
	})
}

// put uploads f, read through src (the site's root the walk hashed it
// through) and only if it is still what the walk found: a link, FIFO or
// device swapped in since is refused (a FIFO's open does not block), and
// a file that grew, shrank or holds other bytes is ErrSiteChanged, never
// read past its size nor its last bytes handed over (siteReader).
func put(ctx context.Context, t Target, src *os.Root, f localFile, live *Object, o Options) error {
	name := filepath.FromSlash(f.key)
	if link, err := safefile.LinkOnPath(src, name, true, nil); err != nil {
		return fmt.Errorf("upload %s: %w", f.key, err)
	} else if link != "" {
		return fmt.Errorf("%w: %s is now a symbolic link; publish uploads no file through one: rebuild the site and publish again", ErrSiteChanged, link)
	}
	file, err := safefile.OpenIn(src, name)
	if err != nil {
		return fmt.Errorf("upload %s: %w", f.key, err)
	}
	defer file.Close()
	r := &siteReader{r: io.NewSectionReader(file, 0, f.size+1), f: f, h: sha256.New()}
	info := PutInfo{Size: f.size, MD5: f.md5, SHA256: f.sha256, ContentType: index.ContentType(f.key), CacheControl: index.CacheControl(f.key)}
	if f.key == index.RootFile {
		if live == nil {
			info.IfAbsent = true
		} else {
			info.IfMatch = live.ETag
		}
	}
	err = t.Put(ctx, f.key, r, info)
	if errors.Is(err, errUnconditional) {
		// The store cannot write conditionally: switch without the guard.
		fmt.Fprintf(o.Log, "warning: %s has no conditional writes; publishes must not overlap\n", t)
		if _, err = r.Seek(0, io.SeekStart); err == nil {
			info.IfMatch, info.IfAbsent = "", false
			err = t.Put(ctx, f.key, r, info)
		}
	}
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("%w: another publish switched %s to a newer registry while this one was uploading; nothing of this publish is live (its new files are unreferenced). Run it again: it uploads only what is missing and checks the serial again: %v", ErrConflict, t, err)
	}
	if re := readFailure(err); re != nil {
		// siteReader's refusal, found in the destination's error (an
		// SDK's, which wraps it), in its own words. Not kept in the
		// reader: net/http may still read the body after RoundTrip
		// returns, and an attempt tried again must not report the
		// refusal of one before.
		return re
	}
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", f.key, t, err)
	}
	return nil
}

// ErrSiteChanged: a file of the site changed between the walk that
// hashed it and its upload (another build writing the same dir).
var ErrSiteChanged = errors.New("a file of the site changed while it was published")

// siteReader reads a site file for its upload as the walk found it,
// whatever the destination checks: through a window one byte larger
// than its size, so a file that grew is refused at the byte past it
// (/dev/zero cannot feed an upload for ever) and one that shrank at its
// early end; and hashing what it hands over, so the read that reaches
// the size hands its bytes over only when the SHA-256 is the walk's
// (the one the checks vouched for). The upload then fails before it is
// complete: a directory renames no file into place, a store gets a body
// shorter than its Content-Length and keeps nothing. A read from the
// start (an upload tried again, after a Seek) hashes afresh. Only Read
// and Seek are offered: a ReadAt would pass the hash by.
type siteReader struct {
	r      *io.SectionReader
	f      localFile
	h      hash.Hash
	hashed int64 // bytes hashed, read in order from 0; -1 after a read out of order
}

func (r *siteReader) Read(p []byte) (int, error) {
	start, _ := r.r.Seek(0, io.SeekCurrent)
	n, err := r.r.Read(p)
	off := start + int64(n)
	switch {
	case start == 0:
		r.h.Reset()
		r.hashed = 0
	case start != r.hashed:
		r.hashed = -1
	}
	if r.hashed >= 0 {
		r.h.Write(p[:n])
		r.hashed = off
	}
	changed := func(format string, args ...any) error {
		return errmark.Wrap(errSiteRead, fmt.Errorf("%w: %s %s: rebuild or wait for the build writing it, and publish again", ErrSiteChanged, r.f.key, fmt.Sprintf(format, args...)))
	}
	switch {
	case off > r.f.size:
		return 0, changed("is now larger than the %d bytes publish hashed", r.f.size)
	case err == io.EOF && off < r.f.size:
		return n, changed("is now smaller than the %d bytes publish hashed", r.f.size)
	case off == r.f.size && r.hashed != off:
		return 0, errmark.Wrap(errSiteRead, fmt.Errorf("upload %s: the destination read it out of order, so publish cannot tell it from the file it checked", r.f.key))
	case off == r.f.size:
		if sum := hex.EncodeToString(r.h.Sum(nil)); sum != r.f.sha256 {
			return 0, changed("now holds other bytes than the ones publish hashed and checked (sha256 %s, not %s)", sum, r.f.sha256)
		}
	}
	return n, err
}

// Seek moves where the next Read starts; one from the start hashes the
// file again.
func (r *siteReader) Seek(offset int64, whence int) (int64, error) {
	return r.r.Seek(offset, whence)
}

// errUnconditional: a target that cannot honour IfMatch/IfAbsent.
var errUnconditional = errors.New("conditional writes not supported")

// prune deletes remote objects the site does not have, except release
// files and the previous live generation's metadata. It runs after the
// switch to the new index, so nothing the new index references is touched.
// Only what a site packgen built holds is ever deleted (sitedir.Owned),
// and nothing at all when the target held no index.json before: a
// first publish into a directory or bucket of other files leaves them.
func prune(ctx context.Context, t Target, local []localFile, remote map[string]Object, live *index.Root, liveData []byte, o Options, res *Result) error {
	have := map[string]bool{}
	for _, f := range local {
		have[f.key] = true
	}
	var extra []string
	for k := range remote {
		if !have[k] {
			extra = append(extra, k)
		}
	}
	if o.Prune && (live != nil || liveData != nil) {
		pruneTemps(ctx, t, local, o, res)
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	if !o.Prune {
		res.Kept = extra
		return nil
	}
	if live == nil && liveData == nil {
		// No registry was there before this one: what was is someone
		// else's (a web root's pages, notes, a repository's files).
		fmt.Fprintf(o.Log, "warning: --prune: %s held no index.json before this publish, so none of the %d file(s) there that the site lacks is the registry's: nothing deleted (e.g. %s)\n", t, len(extra), textsafe.Escape(extra[0]))
		res.Kept = extra
		return nil
	}
	var foreign []string
	keep, packs, err := liveReferences(ctx, t, live, liveData)
	if err != nil {
		// Cannot tell what the old generation needs: keep all metadata.
		fmt.Fprintf(o.Log, "warning: %s: keeping every remote index file\n", textsafe.Escape(err.Error()))
		keep, packs = nil, map[string]bool{}
	}
	// The packs some index lists: the live one's and the site's (every
	// file the site keeps under packs/NAME/ is of a pack its index lists,
	// onlyReferenced).
	for _, f := range local {
		if name, ok := strings.CutPrefix(f.key, "packs/"); ok {
			name, _, _ = strings.Cut(name, "/")
			packs[name] = true
		}
	}
	for _, k := range extra {
		if !sitedir.Prunable(k, packs) {
			// Not a file a site packgen built holds, or not at a name
			// an index could have referenced (packs/NAME/ of a NAME no
			// index lists): never the registry's.
			foreign = append(foreign, k)
			res.Kept = append(res.Kept, k)
			continue
		}
		protected := isReleaseFile(k) || index.KindOf(k).External() || keep[k] || (keep == nil && index.Immutable(k))
		if protected {
			res.Kept = append(res.Kept, k)
			continue
		}
		res.Deleted = append(res.Deleted, k)
		if o.DryRun {
			fmt.Fprintf(o.Log, "would delete %s\n", textsafe.Escape(k))
			continue
		}
		if err := t.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete %s from %s: %w", k, t, err)
		}
		fmt.Fprintf(o.Log, "deleted %s\n", textsafe.Escape(k))
	}
	if len(foreign) > 0 {
		fmt.Fprintf(o.Log, "warning: --prune: kept %d file(s) on %s that are not the registry's (e.g. %s): prune deletes only the files a site packgen builds holds, at names an index of this registry could have referenced (under packs/, only a listed pack's)\n", len(foreign), t, textsafe.Escape(foreign[0]))
	}
	return nil
}

// liveReferences lists what the index live before this publish references
// (its digest-named signatures, buckets and shards), read from the remote,
// and the packs it lists.
// A client that fetched that index just before the switch still resolves
// through these, so prune leaves them for the next publish to remove.
func liveReferences(ctx context.Context, t Target, live *index.Root, liveData []byte) (keep, packs map[string]bool, err error) {
	keep, packs = map[string]bool{}, map[string]bool{}
	if live == nil {
		if liveData != nil {
			return nil, nil, fmt.Errorf("the live index.json is unreadable")
		}
		return keep, packs, nil
	}
	sha := index.Digest(liveData)
	keep[index.RootSignaturePath(sha)] = true
	keep[index.RootBundlePath(sha)] = true
	// The tiles of the live log: its right-edge partial tiles are
	// superseded by the new build's.
	if live.Log != nil {
		for _, p := range translog.TilePaths(live.Log.Size) {
			keep[p] = true
		}
	}
	// Down the live tree: interior nodes, leaves and the shards they pin.
	err = index.WalkBuckets(live, func(b index.FileRef) ([]byte, error) {
		keep[b.Path] = true
		bd, err := readAll(ctx, t, b.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, index.SkipNode
		}
		if err != nil {
			return nil, fmt.Errorf("read live bucket %s: %w", b.Path, err)
		}
		return bd, nil
	}, func(ref index.FileRef, bucket *index.Bucket, err error) error {
		if err != nil {
			return fmt.Errorf("live bucket: %w", err)
		}
		for _, s := range bucket.Packs {
			keep[s.Shard.Path] = true
			packs[s.Name] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return keep, packs, nil
}

// maxMetadata bounds what is read of a remote metadata file.
const maxMetadata = 64 << 20

func readAll(ctx context.Context, t Target, key string) ([]byte, error) {
	return readMax(ctx, t, key, maxMetadata)
}

// readMax reads a remote file of at most max bytes.
func readMax(ctx context.Context, t Target, key string, max int64) ([]byte, error) {
	data, _, err := readServed(ctx, t, key, max)
	return data, err
}

// servedBody is a Get's body that says how the destination served it
// (S3: its headers).
type servedBody interface{ Served() *Served }

// readServed reads a remote file of at most max bytes, and how the
// destination served it (nil where it does not say).
func readServed(ctx context.Context, t Target, key string, max int64) ([]byte, *Served, error) {
	rc, err := t.Get(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > max {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes", key, max)
	}
	var s *Served
	if b, ok := rc.(servedBody); ok {
		s = b.Served()
	}
	return data, s, nil
}

// walk lists the site's files with their digests. The site the user
// named may be a link (a "latest" pointing at a build): os.OpenRoot
// follows it, as cp -r does, and no link below it.
func walk(ctx context.Context, dir string) ([]localFile, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return walkRoot(ctx, root)
}

// walkRoot lists the regular files below root with their digests (a
// site, or a directory target's files), hashed on every CPU: a site of
// 5,000 releases is ≈ 180 MB to read. Links are neither followed nor
// listed, nor dot files and directories (sitedir.Walk): never published.
func walkRoot(ctx context.Context, root *os.Root) ([]localFile, error) {
	var keys []string
	err := sitedir.Walk(ctx, root.FS(), func(p string, e fs.DirEntry) {
		if e.Type().IsRegular() {
			keys = append(keys, p)
		}
	})
	if err != nil {
		return nil, err
	}
	files := make([]localFile, len(keys))
	err = parallel.Each(ctx, len(keys), runtime.GOMAXPROCS(0), func(i int) (err error) {
		files[i], err = hashIn(root, keys[i])
		return err
	})
	return files, err
}
