package build

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/source"
	"github.com/packgen/packgen/walk"
)

// previous is an earlier build read back for reuse and immutability checks.
type previous struct {
	root   *index.Root
	shards map[string]*index.Shard
	loc    string          // where it was read from
	dir    string          // its directory, when local
	fetch  index.FetchFunc // reads its files
	// rootDigest is index.json's SHA-256; refs maps the metadata files
	// it references (and the per-pack latest shards) to their SHA-256
	// ("" for the root's signatures), for updates in place.
	rootDigest string
	// signed: index.json verified under a trusted key. Only then do the
	// digests it pins say what the registry published.
	signed bool
	// catalogue is its catalogue's manifest, when signed and verified
	// under a trusted key and naming its index.json (walk.Catalogue).
	catalogue *index.Catalogue
	// vouched: what its shards say may be taken as the registry's word
	// (signed by a trusted key, or nothing is signed on it: an unsigned
	// build, an update in place of this very key's build). Set by plan.
	vouched   bool
	refs      map[string]string
	shardRefs map[string]index.FileRef  // by pack name
	byVersion map[string]*index.Release // name@canonical version, made by find

	// tr reads it: a directory or a published registry, read the way
	// packgen fetch reads one (netrc credentials, stall and overall
	// deadlines, no https → http redirects, one connection pool).
	tr transport.Transport
}

type prevRelease struct {
	name string
	rel  index.Release
}

func (p *previous) find(name string, v *semver.Version) *index.Release {
	s := p.shards[name]
	if s == nil {
		return nil
	}
	if p.byVersion == nil {
		// Parse every previous version once (semver parses with a
		// regexp), not once per lookup.
		p.byVersion = map[string]*index.Release{}
		for n, sh := range p.shards {
			for i := range sh.Releases {
				if rv, err := sh.Releases[i].SemVer(); err == nil {
					if k := versionKey(n, rv); p.byVersion[k] == nil {
						p.byVersion[k] = &sh.Releases[i]
					}
				}
			}
		}
	}
	return p.byVersion[versionKey(name, v)]
}

// versionKey identifies a version as semver.Equal does: build metadata
// does not count.
func versionKey(name string, v *semver.Version) string {
	return fmt.Sprintf("%s@%d.%d.%d-%s", name, v.Major(), v.Minor(), v.Patch(), v.Prerelease())
}

// known tells the history walk which pack dirs a local previous build
// already read, by git tree hash (a published one is not trusted with
// that: it could hide a release from the build).
func (p *previous) known() map[string]source.KnownPack {
	if p.dir == "" {
		return nil
	}
	k := map[string]source.KnownPack{}
	for name, s := range p.shards {
		for _, r := range s.Releases {
			if r.Tree != "" {
				k[r.Tree] = source.KnownPack{Name: name, Version: r.Version}
			}
		}
	}
	return k
}

func (p *previous) all() []prevRelease {
	var out []prevRelease
	for _, name := range slices.Sorted(maps.Keys(p.shards)) {
		for _, r := range p.shards[name].Releases {
			out = append(out, prevRelease{name: name, rel: r})
		}
	}
	return out
}

// loadPrevious reads the build at loc (a directory, or an http(s)/file
// URL of a published registry), checking every metadata digest. A missing
// index.json means there is no previous build.
func loadPrevious(ctx context.Context, loc string, trust *sign.Verifier) (*previous, error) {
	return loadPreviousVia(ctx, loc, trust, ocireg.Options{}, nil)
}

// loadPreviousVia is loadPrevious reaching an oci:// location with oci.
// check, when set, judges the root it read and verified (before its
// tree is walked): the very bytes the build then builds on, so no
// earlier read of the location can stand in for them.
func loadPreviousVia(ctx context.Context, loc string, trust *sign.Verifier, oci ocireg.Options, check func(*index.Root) error) (*previous, error) {
	l, err := location.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("previous build: %w", err)
	}
	tr, err := transport.Open(l, transport.Config{Timeout: 30 * time.Minute, OCI: oci})
	if err != nil {
		return nil, fmt.Errorf("previous build: %w", err)
	}
	p := &previous{shards: map[string]*index.Shard{}, loc: loc, tr: tr, fetch: transport.Fetch(tr), refs: map[string]string{}, shardRefs: map[string]index.FileRef{}}
	if l.Local() {
		p.dir = l.Dir
	}
	data, err := p.fetch(ctx, index.RootFile, index.MaxRootSize)
	if errors.Is(err, index.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read previous build: %w", err)
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		return nil, fmt.Errorf("previous build in %s is unreadable (%w); remove it to rebuild from scratch, but note that versions published from it must not change", loc, err)
	}
	if p.signed, err = p.verifyRoot(ctx, trust, data); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(root); err != nil {
			return nil, err
		}
	}
	if p.signed {
		// Only a manifest the trusted key signed for this very
		// index.json vouches for pages; any other (tampered, of
		// another generation) vouches for none, and the catalogue
		// renders them again: not an error of the build.
		p.catalogue, _ = (&walk.Walker{Get: p.fetch, Verifier: trust}).Catalogue(ctx, data)
	}
	p.root = root
	p.rootDigest = index.Digest(data)
	p.refs[index.RootSignaturePath(p.rootDigest)] = ""
	p.refs[index.RootBundlePath(p.rootDigest)] = ""
	w := &walk.Walker{Get: p.fetch}
	jobs := 1
	if p.dir != "" {
		// Reading and parsing a thousand shards is most of a one-pack
		// rebuild's reading of the previous build: on every core.
		jobs = runtime.GOMAXPROCS(0)
	}
	// Every bucket and shard is pinned by the root: one that is missing
	// or does not match is the previous build's fault (exit 1), not an
	// unreadable location.
	err = w.Tree(ctx, root, walk.TreeVisitor{
		Jobs: jobs,
		Node: func(ref index.FileRef) { p.refs[ref.Path] = ref.SHA256 },
		Shard: func(s index.Summary, shard *index.Shard) error {
			p.refs[s.Shard.Path] = s.Shard.SHA256
			p.shardRefs[s.Name] = s.Shard
			p.refs[index.LatestShardPath(s.Name)] = s.Shard.SHA256
			p.shards[s.Name] = shard
			return nil
		},
	})
	if err != nil {
		return nil, p.fileErr("", err)
	}
	return p, nil
}

func writeFile(stage, rel string, data []byte) (index.FileRef, error) {
	file := filepath.Join(stage, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return index.FileRef{}, err
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return index.FileRef{}, err
	}
	return index.FileRef{Path: rel, SHA256: index.Digest(data), Size: int64(len(data))}, nil
}

// writeIndex writes shards, buckets and the root for the given releases.
func writeIndex(ctx context.Context, o Options, stage string, src *source.Result, prev *previous, releases []index.Release) (*Snapshot, error) {
	kept := map[string]bool{}
	var keptMu sync.Mutex
	put := func(rel string, data []byte) (index.FileRef, error) {
		keptMu.Lock()
		kept[rel] = true
		keptMu.Unlock()
		return putFile(o, prev, stage, rel, data)
	}
	shards := index.GroupShards(releases, nameOf)
	// Every release's retirement is the file's at this commit, whatever
	// the previous build said: removing an entry un-retires it.
	if err := retire.Error(o.retired.Apply(shards)); err != nil {
		return nil, err
	}
	shape := index.ShapeFor
	if o.Shape != nil {
		shape = o.Shape
	}
	bits, depth := shape(len(shards))
	// Shards are encoded, hashed and written in parallel: one per pack.
	sums := make([]index.Summary, len(shards))
	if err := parallel.Each(ctx, len(shards), o.Jobs, func(i int) error {
		ref, err := writeShard(o, prev, put, shards[i])
		sums[i] = index.SummaryOf(shards[i], ref)
		return err
	}); err != nil {
		return nil, err
	}
	refs, err := index.WriteTree(sums, bits, depth, put)
	if err != nil {
		return nil, fmt.Errorf("bucket tree for %d packs: %w", len(shards), err)
	}
	root := &index.Root{
		SchemaVersion: index.SchemaVersion,
		Registry:      o.Registry,
		Source:        index.Source{Repo: o.RepoURL, Ref: src.Ref, Commit: src.Commit},
		Packs:         len(shards),
		Releases:      len(releases),
		BucketBits:    bits,
		Buckets:       refs,
		// Readers (publish's check that the signatures are there) rely on it.
		Signed: o.Signer != nil,
		Log:    o.logRef,
	}
	if depth > 1 {
		root.Depth = depth
	}
	gen := src.Time
	if !o.GeneratedAt.IsZero() {
		gen = o.GeneratedAt
	}
	root.Stamp(gen, o.ExpiresIn, prev.root)
	written, err := writeRoot(o, stage, prev, root, put)
	if err != nil {
		return nil, err
	}
	if o.inPlace && written {
		collectGarbage(o.dirs, stage, prev, kept)
	}
	// After a build that did not finish, the sweep runs even when the
	// index is the same (a re-run of the commit before a killed one): the
	// record this build writes tells the next one that nothing is left.
	if o.inPlace && (written || !o.prevFinished) {
		sweepUnreferenced(o.dirs, stage, prev, shards, o.prevFinished && written)
	}
	return &Snapshot{Root: root, Shards: shards}, nil
}

// writeRoot writes index.json, signed. It is written under a temporary
// name and signed there, its digest-named signatures (what clients read)
// are put in place, and only then is it renamed to index.json: in place,
// readers never see an index whose signatures are missing. In place, an
// index.json that is already there is not written again (written false),
// and every write and rename goes through the out dir's root, refusing a
// link planted there while the build ran (update.go).
func writeRoot(o Options, stage string, prev *previous, root *index.Root, put index.PutFunc) (written bool, err error) {
	data, err := index.Encode(root)
	if err != nil {
		return false, err
	}
	const tmpRoot = index.RootFile + ".new"
	if o.inPlace && prev.rootDigest == index.Digest(data) {
		// Nothing changed: no byte is written, but what a killed
		// update may have left is removed.
		for _, f := range []string{tmpRoot, tmpRoot + ".sig", tmpRoot + ".sigstore.json"} {
			o.dirs.remove(filepath.Join(stage, f))
		}
		return false, nil
	}
	tmp := filepath.Join(stage, tmpRoot)
	if o.inPlace {
		err = o.dirs.replace(tmp, data)
	} else {
		_, err = writeFile(stage, tmpRoot, data)
	}
	if err != nil {
		return false, err
	}
	renames := [][2]string{{tmpRoot, index.RootFile}}
	if o.Signer != nil {
		sum, _ := hexSum(index.Digest(data))
		files := map[string][]byte{} // what signFile wrote, by base name
		sig, bundle, err := signFile(o.Signer, tmp, sum, func(p string, data []byte) error {
			files[filepath.Base(p)] = data
			return o.dirs.replace(p, data)
		})
		if err != nil {
			return false, fmt.Errorf("sign index.json: %w", err)
		}
		// The copy named by the root's digest is what clients read.
		for _, c := range [][2]string{{sig, index.RootSignaturePath(index.Digest(data))}, {bundle, index.RootBundlePath(index.Digest(data))}} {
			if _, err := put(c[1], files[c[0]]); err != nil {
				return false, err
			}
			renames = append(renames, [2]string{c[0], index.RootFile + strings.TrimPrefix(c[0], tmpRoot)})
		}
	}
	if o.inPlace {
		// The catalogue's manifest names the index.json it belongs to:
		// it goes before that index.json is replaced, so a build killed
		// before writeCatalogue leaves a site without one (a warning of
		// verify --site), never one naming another index.json (a
		// problem; build.TestBuildSurvivesSIGKILL).
		for _, f := range []string{index.CatalogueFile, index.CatalogueFile + index.SignatureExt, index.CatalogueFile + index.BundleExt} {
			if err := o.dirs.remove(filepath.Join(stage, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
		}
	}
	for _, r := range renames {
		if err := o.dirs.rename(filepath.Join(stage, r[0]), filepath.Join(stage, r[1])); err != nil {
			return false, err
		}
	}
	return true, nil
}

// writeCatalogue writes the catalogue's manifest (index.CatalogueFile)
// for the files the Site hook reported, bound to the index.json just
// written, and signs it as index.json is (.sig and .sigstore.json beside
// it, by the same Signer). Unsigned builds write none: nothing would
// vouch for it, and verify --site checks an unsigned site's digests
// only. In place, a manifest that is already there with these bytes
// and a signature by this key is left alone, so a rebuild of the same
// commit changes no byte.
func writeCatalogue(o Options, stage string, snap *Snapshot) error {
	if o.Signer == nil || snap.Catalogue == nil {
		return nil
	}
	rootData, err := index.Encode(snap.Root)
	if err != nil {
		return err
	}
	data, err := index.Encode(index.NewCatalogue(rootData, snap.Catalogue))
	if err != nil {
		return err
	}
	file := filepath.Join(stage, index.CatalogueFile)
	sum, _ := hexSum(index.Digest(data))
	if o.inPlace && o.dirs.holds(file, data) && signedBy(o.own, stage, index.CatalogueFile+index.SignatureExt, file, sum) {
		return nil
	}
	if err := o.dirs.replace(file, data); err != nil {
		return err
	}
	_, _, err = signFile(o.Signer, file, sum, o.dirs.replace)
	return err
}

// writeShard writes a pack's shard and its latest alias. In place, a
// pack whose releases are exactly those of the previous build keeps its
// shard files untouched, without encoding them again, when that build
// finished; after a killed one its latest alias (not content-addressed)
// may hold what the killed build wrote, so it is written again (an
// unchanged file is left as it is).
func writeShard(o Options, prev *previous, put func(string, []byte) (index.FileRef, error), s *index.Shard) (index.FileRef, error) {
	if o.inPlace && o.prevFinished {
		if ps, ref := prev.shards[s.Name], prev.shardRefs[s.Name]; ps != nil && ref.Path != "" && ps.SchemaVersion == s.SchemaVersion && reflect.DeepEqual(ps.Releases, s.Releases) {
			_, err := put(ref.Path, nil)
			if err == nil {
				_, err = put(index.LatestShardPath(s.Name), nil)
			}
			return ref, err
		}
	}
	data, err := index.Encode(s)
	if err != nil {
		return index.FileRef{}, err
	}
	ref, err := put(index.ShardPath(s.Name, index.Digest(data)), data)
	if err != nil {
		return ref, err
	}
	_, err = put(index.LatestShardPath(s.Name), data)
	return ref, err
}

func nameOf(r index.Release) string {
	// packs/<name>/<version>/<file>
	p := r.Archive.Path
	const prefix = "packs/"
	p = p[len(prefix):]
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return p
}

func hexSum(h string) ([32]byte, error) {
	var sum [32]byte
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return sum, fmt.Errorf("bad sha256 %q", h)
	}
	copy(sum[:], b)
	return sum, nil
}
