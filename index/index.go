// Package index owns the registry's metadata format: the signed root
// index.json, its tree of buckets (interior nodes of child digests,
// leaves of per-pack summaries) and the per-pack shards listing every
// release. Nobody else encodes or decodes these files.
//
// The layout keeps what a client downloads to resolve one pack small and
// nearly flat however large the registry grows:
//
//	index.json                         root: serial, expiry, source, bucket digests (signed)
//	signatures/<sha256>.sig            the root's signature, named by the root's digest
//	index/<sha256>.json                a bucket: child bucket digests, or summaries of the packs hashing into it
//	packs/<name>/shards/<sha256>.json  a shard: every release of one pack
//	packs/<name>/index.json            a copy of the current shard, for people and scripts
//	packs/<name>/<version>/<name>-<version>.tar.gz[.sig|.sigstore.json]
//
// Metadata files below the root are content-addressed, so a publisher can
// upload a new generation beside the old one and switch by replacing
// index.json last: a reader sees either generation whole, never a mix.
package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/pack/meta"
	"golang.org/x/mod/sumdb/tlog"
)

// SchemaVersion is the format version of every file this package writes.
// Readers refuse a newer major format instead of misreading it.
const SchemaVersion = 1

// Well-known names in a site.
const (
	RootFile      = "index.json"
	SignatureExt  = ".sig"
	BundleExt     = ".sigstore.json"
	bucketsDir    = "index"
	packsDir      = "packs"
	signaturesDir = "signatures"
	maxBucketBits = 12
	// Bounds of the bucket tree: at most 4 levels, and at most 2^24
	// leaves (index paths come from the first 32 bits of sha256(name)).
	maxDepth    = 4
	maxTreeBits = 24
)

// FileRef points at a file of the site and pins its content.
type FileRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Source says where the registry was built from.
type Source struct {
	Repo   string `json:"repo,omitempty"`
	Ref    string `json:"ref,omitempty"`
	Commit string `json:"commit"`
}

// Root is index.json: small, signed, and the only file whose path is not
// content-addressed besides the convenience shard copies.
type Root struct {
	SchemaVersion int       `json:"schemaVersion"`
	Registry      string    `json:"registry"`
	Source        Source    `json:"source"`
	Serial        int64     `json:"serial"`
	GeneratedAt   time.Time `json:"generatedAt"`
	Expires       time.Time `json:"expires"`
	Packs         int       `json:"packs"`
	Releases      int       `json:"releases"`
	// BucketBits is how many bits of sha256(name) select a bucket at
	// each level of the bucket tree; Buckets has 1<<BucketBits entries,
	// bucket i at index i.
	BucketBits int `json:"bucketBits"`
	// Depth is the number of bucket levels; 0 (omitted) means 1, so a
	// one-level registry keeps the bytes it always had. Use Levels.
	Depth   int       `json:"depth,omitempty"`
	Buckets []FileRef `json:"buckets"`
	Signed  bool      `json:"signed"`
	// Log is the transparency log's tree this root is built on (absent
	// in an unsigned registry): one signature covers the log too.
	Log *LogRef `json:"log,omitempty"`
}

// LogRef names a tree of the registry's transparency log (package
// translog): its size, its root hash and the key its checkpoint is
// signed with.
type LogRef struct {
	Size int64 `json:"size"`
	// Hash is the tree's root hash in standard base64, as the
	// checkpoint writes it.
	Hash string `json:"hash"`
	// Key is the log's note verifier key (name+hash+base64 key).
	Key string `json:"key"`
	// ProofTileHeight, when set (always LogProofTileHeight), says the
	// site also holds the tree's hash tiles of that height beside the
	// height-8 ones: small tiles a client reads its proofs from. Absent:
	// proofs read the height-8 tiles. A packgen older than the field
	// refuses an index.json that has it (unknown field).
	ProofTileHeight int `json:"proofTileHeight,omitempty"`
}

// ReleaseLog is where a release is in the transparency log: its entry's
// index and the ID of the registry key that appended it (the entry's
// last field, so a reader can encode the entry and prove it included).
type ReleaseLog struct {
	Index int64  `json:"index"`
	KeyID string `json:"key"`
}

// maxLogKey bounds a log verifier key (a real one is ~70 bytes).
const maxLogKey = 512

func (l *LogRef) check() error {
	h, err := base64.StdEncoding.DecodeString(l.Hash)
	switch {
	case l.Size < 1:
		return fmt.Errorf("log size %d: want at least 1 (a registry without releases has no log)", l.Size)
	case err != nil || len(h) != 32 || base64.StdEncoding.EncodeToString(h) != l.Hash:
		return fmt.Errorf("log hash %q: want the standard base64 of 32 bytes", l.Hash)
	case l.Key == "" || len(l.Key) > maxLogKey || strings.ContainsAny(l.Key, " \t\r\n"):
		return fmt.Errorf("log key %q: want a note verifier key (name+hash+key)", l.Key)
	case l.ProofTileHeight != 0 && l.ProofTileHeight != LogProofTileHeight:
		return fmt.Errorf("log proofTileHeight %d: want %d or the field left out", l.ProofTileHeight, LogProofTileHeight)
	}
	return nil
}

// Levels is the number of bucket levels of the root's tree (≥ 1).
func (r *Root) Levels() int {
	if r.Depth < 1 {
		return 1
	}
	return r.Depth
}

// Bucket is a node of the bucket tree. At the last level it is a leaf
// holding the summaries of the packs whose names hash into it (Packs,
// never nil, Buckets nil); above it is an interior node holding the refs
// of its 1<<bucketBits children (Buckets) and no packs.
type Bucket struct {
	SchemaVersion int
	Packs         []Summary
	Buckets       []FileRef
}

// bucketWire is a bucket as encoded: exactly one of packs and buckets.
// Pointers tell an absent field from an empty one.
type bucketWire struct {
	SchemaVersion int        `json:"schemaVersion"`
	Packs         *[]Summary `json:"packs,omitempty"`
	Buckets       *[]FileRef `json:"buckets,omitempty"`
}

// MarshalJSON encodes a leaf with "packs" (even empty) and an interior
// node with "buckets" only.
func (b Bucket) MarshalJSON() ([]byte, error) {
	w := bucketWire{SchemaVersion: b.SchemaVersion}
	if b.Buckets != nil {
		w.Buckets = &b.Buckets
	} else {
		packs := b.Packs
		if packs == nil {
			packs = []Summary{}
		}
		w.Packs = &packs
	}
	return json.Marshal(w)
}

// Leaf reports whether b is a leaf (holds packs) rather than an interior node.
func (b *Bucket) Leaf() bool { return b.Buckets == nil }

// Summary describes one pack in a bucket.
type Summary struct {
	Name        string   `json:"name"`
	Layer       string   `json:"layer"`
	DisplayName string   `json:"displayName,omitempty"`
	AddonType   string   `json:"addonType,omitempty"`
	CloudTypes  []string `json:"cloudTypes,omitempty"`
	Latest      string   `json:"latest"`
	// LatestState is the state of the release Latest names when it is
	// retired (StateDeprecated, or StateDeleted when every release is),
	// as the build saw its shard; "" for an active one. It lets list
	// mark a retired latest from the buckets it reads, without a shard
	// per pack.
	LatestState string  `json:"latestState,omitempty"`
	Versions    int     `json:"versions"`
	Shard       FileRef `json:"shard"`
}

// Shard lists every release of one pack, oldest version first.
type Shard struct {
	SchemaVersion int       `json:"schemaVersion"`
	Name          string    `json:"name"`
	Releases      []Release `json:"releases"`
}

// Release is one published version of a pack. It keeps every field
// pack.json documents (lists in the order written, so a catalogue or a
// client can show them); absent or empty fields are left out, so a
// release that has none encodes as it always did.
type Release struct {
	Version       string            `json:"version"`
	Layer         string            `json:"layer"`
	DisplayName   string            `json:"displayName,omitempty"`
	AddonType     string            `json:"addonType,omitempty"`
	AddonSubType  string            `json:"addonSubType,omitempty"`
	CloudTypes    []string          `json:"cloudTypes,omitempty"`
	Group         string            `json:"group,omitempty"`
	EOL           string            `json:"eol,omitempty"`
	KubeVersion   string            `json:"kubeVersion,omitempty"`
	Charts        []string          `json:"charts,omitempty"`
	KubeManifests []string          `json:"kubeManifests,omitempty"`
	AnsibleRoles  []string          `json:"ansibleRoles,omitempty"`
	Dependencies  []meta.Dependency `json:"dependencies,omitempty"`
	Resources     []meta.Resource   `json:"resources,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Archive       FileRef           `json:"archive"`
	Signature     string            `json:"signature,omitempty"`
	Bundle        string            `json:"bundle,omitempty"`
	Commit        string            `json:"commit"`
	Tree          string            `json:"tree"`
	Created       time.Time         `json:"created"`
	Dir           string            `json:"dir"`
	Log           *ReleaseLog       `json:"log,omitempty"`
	// Retired is the repository's retirement of the release after it
	// shipped (package retire: PACKS_DIR/retired.yaml at the built
	// commit), outside its immutable pack.json; nil when the file does
	// not name it.
	Retired *Retirement `json:"retired,omitempty"`
}

// Retirement states. A release is active when neither applies.
const (
	StateDeprecated = meta.StateDeprecated
	StateDeleted    = meta.StateDeleted
)

// Retirement is a release retired by the repository's retirement file:
// its state (StateDeprecated or StateDeleted) and why.
type Retirement struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// MaxReasonLen bounds a retirement's reason (a sentence or two, and a
// link): it is in the shard every client of the pack reads.
const MaxReasonLen = 1024

// ManifestFields is the release as its pack.json describes it: every
// field but where it came from (commit, tree, dir, time) and its files
// (archive, signatures). The build writes these fields and the rebuild
// check compares a published release's with them, from one mapping.
func ManifestFields(m *meta.Manifest) Release {
	return Release{
		Version:       m.Version,
		Layer:         string(m.Layer),
		DisplayName:   m.DisplayName,
		AddonType:     m.AddonType,
		AddonSubType:  m.AddonSubType,
		CloudTypes:    m.CloudTypes,
		Group:         m.Group,
		EOL:           m.EOL,
		KubeVersion:   m.KubeVersion,
		Charts:        m.Charts,
		KubeManifests: m.KubeManifests,
		AnsibleRoles:  m.AnsibleRoles,
		Dependencies:  m.Dependencies(),
		Resources:     m.Resources(),
		Annotations:   m.Annotations,
	}
}

// Files are the release's files in the site, those it has: its archive,
// the archive's .sig and its Sigstore bundle.
func (r Release) Files() []string {
	files := make([]string, 0, 3)
	for _, p := range []string{r.Archive.Path, r.Signature, r.Bundle} {
		if p != "" {
			files = append(files, p)
		}
	}
	return files
}

// SemVer parses the release's version.
func (r Release) SemVer() (*semver.Version, error) { return semver.NewVersion(r.Version) }

// PinConstraint is the constraint that names exactly this version. A
// strict semver version is one already; a version that is not
// ("1.30", read as 1.30.0) would match any 1.30.x as a constraint, even
// written "=1.30", so it is pinned in full ("=1.30.0"), which the
// client resolves to the release written 1.30.
func PinConstraint(version string) string {
	if _, err := semver.StrictNewVersion(version); err == nil {
		return version
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return version
	}
	return "=" + v.String()
}

// SystemStateAnnotation is the annotation Palette retires releases with
// (meta.SystemStates: deprecated, deleted).
const SystemStateAnnotation = meta.SystemStateAnnotation

// State is the release's retirement state: its Retired entry's when the
// repository's retirement file names it (the later, reviewed word
// wins), else what pack.json's annotations.system_state says,
// lowercased ("" for an active release).
func (r Release) State() string {
	if r.Retired != nil {
		return r.Retired.State
	}
	return strings.ToLower(strings.TrimSpace(r.Annotations[SystemStateAnnotation]))
}

// StateWhy says where State comes from, for messages: the retirement's
// reason (outside text: escape it for a terminal), or pack.json's
// annotation.
func (r Release) StateWhy() string {
	if r.Retired != nil {
		return "retired: " + r.Retired.Reason
	}
	return "annotations.system_state"
}

// Deprecated reports whether the release is deprecated (State).
func (r Release) Deprecated() bool { return r.State() == StateDeprecated }

// Deleted reports whether the release is deleted (State): clients
// resolve it only when asked for by its exact version, like a yanked crate.
func (r Release) Deleted() bool { return r.State() == StateDeleted }

// Retires says whether a state (Release.State, a Retirement's, a
// summary's LatestState) retires a release: meta.SystemStates,
// deprecated or deleted. Any other system_state retires nothing.
func Retires(state string) bool { return slices.Contains(meta.SystemStates, state) }

// RetiredState is State when it retires the release (Retires: an
// unknown system_state retires nothing), and why (StateWhy, outside
// text); "", "" for an active release. A summary's LatestState, and the
// state the client resolves by and info shows.
func (r Release) RetiredState() (state, why string) {
	if st := r.State(); Retires(st) {
		return st, r.StateWhy()
	}
	return "", ""
}

// Latest returns the highest non-prerelease version, or the highest
// prerelease when the pack has nothing else. Releases marked deleted
// (annotations.system_state) count only when every release is.
func (s *Shard) Latest() *Release {
	if r := s.latest(true); r != nil {
		return r
	}
	return s.latest(false)
}

func (s *Shard) latest(skipDeleted bool) *Release {
	var best, bestPre *Release
	var bv, bpv *semver.Version
	for i := range s.Releases {
		v, err := s.Releases[i].SemVer()
		if err != nil || (skipDeleted && s.Releases[i].Deleted()) {
			continue
		}
		if v.Prerelease() == "" {
			if bv == nil || v.GreaterThan(bv) {
				best, bv = &s.Releases[i], v
			}
		} else if bpv == nil || v.GreaterThan(bpv) {
			bestPre, bpv = &s.Releases[i], v
		}
	}
	if best != nil {
		return best
	}
	return bestPre
}

// Sort orders releases by semantic version, oldest first. Versions are
// parsed once, not per comparison (semver parses with a regexp).
func (s *Shard) Sort() {
	type keyed struct {
		v   *semver.Version
		rel Release
	}
	ks := make([]keyed, len(s.Releases))
	for i, r := range s.Releases {
		v, _ := r.SemVer()
		ks[i] = keyed{v, r}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		a, b := ks[i].v, ks[j].v
		if a == nil || b == nil || a.Equal(b) {
			return ks[i].rel.Version < ks[j].rel.Version
		}
		return a.LessThan(b)
	})
	for i := range ks {
		s.Releases[i] = ks[i].rel
	}
}

// Find returns the release whose version equals v semantically.
func (s *Shard) Find(v *semver.Version) *Release {
	for i := range s.Releases {
		if rv, err := s.Releases[i].SemVer(); err == nil && rv.Equal(v) {
			return &s.Releases[i]
		}
	}
	return nil
}

// Live is the shard without its deleted releases: what a range resolves
// among (a deleted release is fetched only by its exact version).
func (s *Shard) Live() *Shard {
	live := &Shard{SchemaVersion: s.SchemaVersion, Name: s.Name}
	for _, r := range s.Releases {
		if !r.Deleted() {
			live.Releases = append(live.Releases, r)
		}
	}
	return live
}

// Resolve returns the highest release matching the constraint. Prereleases
// match only when the constraint itself names one (Masterminds semantics)
// or when pre is set.
func (s *Shard) Resolve(c *semver.Constraints, pre bool) *Release {
	var best *Release
	var bv *semver.Version
	for i := range s.Releases {
		v, err := s.Releases[i].SemVer()
		if err != nil {
			continue
		}
		ok := c == nil || c.Check(v)
		if !ok && pre && v.Prerelease() != "" && c != nil {
			core, _ := v.SetPrerelease("")
			ok = c.Check(&core)
		}
		if c == nil && v.Prerelease() != "" && !pre {
			ok = false
		}
		if ok && (bv == nil || v.GreaterThan(bv)) {
			best, bv = &s.Releases[i], v
		}
	}
	return best
}

// Versions lists the release versions, oldest first.
func (s *Shard) Versions() []string {
	out := make([]string, len(s.Releases))
	for i, r := range s.Releases {
		out[i] = r.Version
	}
	return out
}

// BucketOf returns the bucket index of a pack name for the given bit
// count: the first bits bits of sha256(name), big-endian. In a tree of
// depth d with b bits per level, BucketOf(name, k*b) is the index (among
// all nodes of level k) of the level-k node on name's path, and its
// child index within its parent is the last b of those bits.
func BucketOf(name string, bits int) int {
	if bits == 0 {
		return 0
	}
	sum := sha256.Sum256([]byte(name))
	v := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	return int(v >> (32 - bits))
}

// BucketBitsFor picks how many buckets a registry of n packs uses: about
// 2*sqrt(n), which balances the size of the root against one bucket.
func BucketBitsFor(n int) int {
	bits := 0
	for bits < maxBucketBits && (1<<bits)*(1<<bits) < 4*n {
		bits++
	}
	return bits
}

// Shape policy. Up to shapeFlatMax packs a registry keeps one level of
// about 2*sqrt(n) buckets (BucketBitsFor), exactly as before trees
// existed. Above, each level fans out 16 ways and the tree is as deep as
// needed for about treeLeafPacks packs per leaf: what a client
// downloads to resolve one pack is then about depth*16 refs (~175 bytes
// each) plus one small leaf, nearly flat in the registry's size (see
// docs/FORMAT.md for the measured figures).
const (
	shapeFlatMax  = 256
	treeBits      = 4
	treeLeafPacks = 8
)

// ShapeFor picks the bucket tree of a registry of n packs: bits per
// level and the number of levels.
func ShapeFor(n int) (bits, depth int) {
	if n <= shapeFlatMax {
		return BucketBitsFor(n), 1
	}
	depth = 1
	for depth < maxDepth && (1<<(treeBits*depth))*treeLeafPacks < n {
		depth++
	}
	return treeBits, depth
}

// CheckShape reports whether bits per level and depth make a tree this
// package reads: depth 1..4, bits 0..12 (at least 1 below one level),
// at most 24 bits in all.
func CheckShape(bits, depth int) error {
	switch {
	case depth < 1 || depth > maxDepth:
		return fmt.Errorf("depth %d is outside 1..%d", depth, maxDepth)
	case bits < 0 || bits > maxBucketBits:
		return fmt.Errorf("bucketBits %d is outside 0..%d", bits, maxBucketBits)
	case depth > 1 && bits < 1:
		return fmt.Errorf("a tree of depth %d needs bucketBits ≥ 1", depth)
	case bits*depth > maxTreeBits:
		return fmt.Errorf("depth %d × bucketBits %d exceeds %d bits", depth, bits, maxTreeBits)
	}
	return nil
}

// RootSignaturePath is where the signature of a root with the given
// SHA-256 lives. Clients read this one, not index.json.sig: a publisher
// uploads it before switching index.json, so the live index and its
// signature always match, even mid-upload. index.json.sig (the same
// bytes) stays for `cosign verify-blob`.
func RootSignaturePath(rootSHA string) string { return path.Join(signaturesDir, rootSHA+SignatureExt) }

// RootBundlePath is the Sigstore bundle beside RootSignaturePath.
func RootBundlePath(rootSHA string) string { return path.Join(signaturesDir, rootSHA+BundleExt) }

// Paths of the site. Versions are used as written; ValidVersionPath
// guarantees they are safe as a path segment.
func ArchivePath(name, version string) string {
	return path.Join(packsDir, name, version, ArchiveName(name, version))
}

// ArchiveName is the file name of a release archive.
func ArchiveName(name, version string) string { return name + "-" + version + ".tar.gz" }

// ShardPath is the content-addressed location of a shard.
func ShardPath(name, sha string) string { return path.Join(packsDir, name, "shards", sha+".json") }

// LatestShardPath is the convenience copy of a pack's current shard.
func LatestShardPath(name string) string { return path.Join(packsDir, name, RootFile) }

// BucketPath is the content-addressed location of a bucket.
func BucketPath(sha string) string { return path.Join(bucketsDir, sha+".json") }

// ValidVersionPath reports whether a version string is safe as a path
// segment: 1 to 128 of [0-9A-Za-z.+_-], starting with a letter or digit,
// without "..". (Checked by hand: a package-level regexp with {0,127}
// cost every packgen command ~0.1 ms of start-up.)
func ValidVersionPath(v string) bool {
	if len(v) == 0 || len(v) > 128 || !isAlnum(v[0]) || strings.Contains(v, "..") {
		return false
	}
	for i := 1; i < len(v); i++ {
		if c := v[i]; !isAlnum(c) && c != '.' && c != '+' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// isHex64 reports whether s is 64 lowercase hex digits (a SHA-256).
func isHex64(s string) bool { return LowerHex(s, 64) }

// LowerHex reports whether s is n lowercase hex digits, as the format
// writes digests, key IDs and commits (package translog's entries too).
func LowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Digest returns the hex SHA-256 of b.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Encode renders v as canonical JSON: object keys sorted, no insignificant
// white space, integers only, and a trailing newline. Equal values always
// encode to equal bytes, which is what makes builds reproducible and
// signatures stable.
func Encode(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	if err := noFloats(generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func noFloats(v any) error {
	switch t := v.(type) {
	case json.Number:
		if _, err := t.Int64(); err != nil {
			return fmt.Errorf("index: non-integer number %s in canonical JSON", t)
		}
	case map[string]any:
		for _, x := range t {
			if err := noFloats(x); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range t {
			if err := noFloats(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// Decoding limits: metadata is small; anything bigger is an attack.
const (
	MaxRootSize   = 4 << 20
	MaxBucketSize = 16 << 20
	MaxShardSize  = 16 << 20
)

// ErrFormat marks metadata that does not follow this format.
var ErrFormat = errors.New("invalid registry metadata")

// ErrNewerFormat marks metadata this packgen cannot read because a newer
// packgen wrote it: a field it does not know, or a higher schemaVersion.
// It is also ErrFormat. Files are pinned by the signed index, so an
// unknown field is the signer's, not a mirror's; a field an older client
// would skip might be one that retires a release, so it is refused, and
// the message says the fix is an upgrade, not a broken registry.
var ErrNewerFormat = errors.New("written by a newer packgen")

// decodeFile is the one reading of a metadata file: within max bytes,
// strict JSON into v (no unknown fields, nothing after the value), then
// the schema version decoding stored in *version must be the one this
// packgen reads.
func decodeFile(what string, data []byte, max int, v any, version *int) error {
	if len(data) > max {
		return fmt.Errorf("%w: %s is larger than %d bytes", ErrFormat, what, max)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// encoding/json has no type for it: its message is the API.
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("%w: %w: %s: unknown field %s (a field of a newer packgen): upgrade packgen to read this registry", ErrFormat, ErrNewerFormat, what, field)
		}
		return fmt.Errorf("%w: %s: %v", ErrFormat, what, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: %s: trailing data after the JSON value", ErrFormat, what)
	}
	switch {
	case *version > SchemaVersion:
		return fmt.Errorf("%w: %w: %s has schemaVersion %d; this packgen reads %d (upgrade packgen)", ErrFormat, ErrNewerFormat, what, *version, SchemaVersion)
	case *version != SchemaVersion:
		return fmt.Errorf("%w: %s has schemaVersion %d; this packgen reads %d", ErrFormat, what, *version, SchemaVersion)
	}
	return nil
}

// safeSitePath checks that p stays inside the site and under prefix.
func safeSitePath(p, prefix string) error {
	// prefix "" accepts any path inside the site.
	if p == "" || p == "." || path.IsAbs(p) || strings.Contains(p, `\`) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("path %q is not a clean relative path", p)
	}
	if !strings.HasPrefix(p, prefix) {
		return fmt.Errorf("path %q is not under %s", p, prefix)
	}
	return nil
}

func (f FileRef) check(prefix string) error {
	if err := safeSitePath(f.Path, prefix); err != nil {
		return err
	}
	if !isHex64(f.SHA256) {
		return fmt.Errorf("sha256 %q of %s is not 64 lowercase hex digits", f.SHA256, f.Path)
	}
	if f.Size < 0 {
		return fmt.Errorf("size of %s is negative", f.Path)
	}
	return nil
}

// ParseRoot decodes and checks index.json.
func ParseRoot(data []byte) (*Root, error) {
	var r Root
	if err := decodeFile("index.json", data, MaxRootSize, &r, &r.SchemaVersion); err != nil {
		return nil, err
	}
	if r.Depth == 1 {
		return nil, fmt.Errorf("%w: index.json: depth 1 must be left out (it is the default)", ErrFormat)
	}
	depth := r.Levels()
	if r.Depth < 0 {
		depth = r.Depth
	}
	if err := CheckShape(r.BucketBits, depth); err != nil {
		return nil, fmt.Errorf("%w: index.json: %v", ErrFormat, err)
	}
	if len(r.Buckets) != 1<<r.BucketBits {
		return nil, fmt.Errorf("%w: index.json: bucketBits %d does not match %d buckets", ErrFormat, r.BucketBits, len(r.Buckets))
	}
	for _, b := range r.Buckets {
		if err := b.check(bucketsDir + "/"); err != nil {
			return nil, fmt.Errorf("%w: index.json: bucket: %v", ErrFormat, err)
		}
	}
	if r.Serial < 1 {
		return nil, fmt.Errorf("%w: index.json: serial must be positive", ErrFormat)
	}
	if r.Log != nil {
		if err := r.Log.check(); err != nil {
			return nil, fmt.Errorf("%w: index.json: %v", ErrFormat, err)
		}
	}
	return &r, nil
}

// ParseBucket decodes and checks bucket index of a one-level registry
// with the given bits; see ParseNode.
func ParseBucket(data []byte, bits, index int) (*Bucket, error) {
	return ParseNode(data, bits, 1, 1, index)
}

// ParseNode decodes and checks a node of a bucket tree of the given
// bits per level and depth: the node at level (1..depth) whose index
// among all nodes of that level is index (its path's bits, BucketOf(name,
// level*bits) for the names below it). Above the last level it must be
// an interior node with exactly 1<<bits children; at the last level a
// leaf whose every name hashes to this very path, so a node cannot
// smuggle in a pack of another.
func ParseNode(data []byte, bits, depth, level, index int) (*Bucket, error) {
	if err := CheckShape(bits, depth); err != nil {
		return nil, fmt.Errorf("%w: bucket: %v", ErrFormat, err)
	}
	if level < 1 || level > depth || index < 0 || index >= 1<<(bits*level) {
		return nil, fmt.Errorf("%w: bucket: no node %d at level %d of a tree of depth %d", ErrFormat, index, level, depth)
	}
	var w bucketWire
	if err := decodeFile("bucket", data, MaxBucketSize, &w, &w.SchemaVersion); err != nil {
		return nil, err
	}
	b := Bucket{SchemaVersion: w.SchemaVersion}
	if level < depth {
		if w.Packs != nil || w.Buckets == nil {
			return nil, fmt.Errorf("%w: bucket %d at level %d of %d must be an interior node: \"buckets\" and no \"packs\"", ErrFormat, index, level, depth)
		}
		b.Buckets = *w.Buckets
		if len(b.Buckets) != 1<<bits {
			return nil, fmt.Errorf("%w: interior bucket %d at level %d has %d children, expected %d", ErrFormat, index, level, len(b.Buckets), 1<<bits)
		}
		for _, c := range b.Buckets {
			if err := c.check(bucketsDir + "/"); err != nil {
				return nil, fmt.Errorf("%w: interior bucket: %v", ErrFormat, err)
			}
		}
		return &b, nil
	}
	if w.Buckets != nil || w.Packs == nil {
		return nil, fmt.Errorf("%w: bucket %d at level %d of %d must be a leaf: \"packs\" and no \"buckets\"", ErrFormat, index, level, depth)
	}
	b.Packs = *w.Packs
	if b.Packs == nil {
		b.Packs = []Summary{}
	}
	for i, s := range b.Packs {
		if !meta.ValidName(s.Name) {
			return nil, fmt.Errorf("%w: bucket: pack name %q is invalid", ErrFormat, s.Name)
		}
		if got := BucketOf(s.Name, bits*depth); got != index {
			return nil, fmt.Errorf("%w: bucket %d lists pack %q, which belongs to bucket %d", ErrFormat, index, s.Name, got)
		}
		if i > 0 && b.Packs[i-1].Name >= s.Name {
			return nil, fmt.Errorf("%w: bucket: packs are not sorted by name (or listed twice) at %q", ErrFormat, s.Name)
		}
		if err := s.Shard.check(path.Join(packsDir, s.Name) + "/"); err != nil {
			return nil, fmt.Errorf("%w: bucket: pack %s: %v", ErrFormat, s.Name, err)
		}
		if err := s.checkBounds(); err != nil {
			return nil, fmt.Errorf("%w: bucket: pack %s: %v", ErrFormat, s.Name, err)
		}
	}
	return &b, nil
}

// Find returns the summary for name, or nil.
func (b *Bucket) Find(name string) *Summary {
	i := sort.Search(len(b.Packs), func(i int) bool { return b.Packs[i].Name >= name })
	if i < len(b.Packs) && b.Packs[i].Name == name {
		return &b.Packs[i]
	}
	return nil
}

// ParseShard decodes and checks a shard for pack name.
func ParseShard(data []byte, name string) (*Shard, error) {
	var s Shard
	if err := decodeFile("shard of "+name, data, MaxShardSize, &s, &s.SchemaVersion); err != nil {
		return nil, err
	}
	if s.Name != name {
		return nil, fmt.Errorf("%w: shard names pack %q, expected %q", ErrFormat, s.Name, name)
	}
	seen := map[string]bool{}
	for _, r := range s.Releases {
		v, err := semver.NewVersion(r.Version)
		if err != nil || !ValidVersionPath(r.Version) {
			return nil, fmt.Errorf("%w: shard of %s: version %q is invalid", ErrFormat, name, r.Version)
		}
		if seen[v.String()] {
			return nil, fmt.Errorf("%w: shard of %s lists version %s twice", ErrFormat, name, r.Version)
		}
		seen[v.String()] = true
		if err := r.checkBounds(); err != nil {
			return nil, fmt.Errorf("%w: shard of %s: release %s: %v", ErrFormat, name, r.Version, err)
		}
		if t := r.Retired; t != nil && (!Retires(t.State) || len(t.Reason) > MaxReasonLen) {
			return nil, fmt.Errorf("%w: shard of %s: release %s: retired state %q with a reason of %d bytes: want %q or %q and at most %d bytes", ErrFormat, name, r.Version, t.State, len(t.Reason), StateDeprecated, StateDeleted, MaxReasonLen)
		}
		if l := r.Log; l != nil && (l.Index < 0 || !isHex64(l.KeyID)) {
			return nil, fmt.Errorf("%w: shard of %s: release %s: log entry %d by key %q: want an index from 0 and a 64-hex key ID", ErrFormat, name, r.Version, l.Index, l.KeyID)
		}
		dir := path.Join(packsDir, name, r.Version) + "/"
		if err := r.Archive.check(dir); err != nil {
			return nil, fmt.Errorf("%w: shard of %s: %v", ErrFormat, name, err)
		}
		for _, sp := range []string{r.Signature, r.Bundle} {
			if sp == "" {
				continue
			}
			if err := safeSitePath(sp, dir); err != nil {
				return nil, fmt.Errorf("%w: shard of %s: %v", ErrFormat, name, err)
			}
		}
	}
	return &s, nil
}

// checkBounds refuses a release whose pack.json fields exceed the bounds
// validation enforces (meta.Bounds): a shard is read by every client
// that resolves the pack, and a field of megabytes is an attack on them.
func (r *Release) checkBounds() error {
	bs := meta.Bounds(r.Version, r.DisplayName, r.AddonType, r.AddonSubType, r.Group, r.EOL, r.KubeVersion, r.CloudTypes, r.Annotations, r.Dependencies,
		map[string][]string{"charts": r.Charts, "kubeManifests": r.KubeManifests, "ansibleRoles": r.AnsibleRoles})
	bs = append(bs, meta.ResourceBounds(r.Resources)...)
	if len(r.Layer) > meta.MaxShortFieldLen {
		bs = append(bs, meta.FieldBound{Field: "layer", Len: len(r.Layer), Max: meta.MaxShortFieldLen})
	}
	return boundsError(bs)
}

// checkBounds refuses a summary whose fields exceed pack.json's bounds,
// or whose latestState is not a state the build writes: buckets are
// what every client downloads.
func (s *Summary) checkBounds() error {
	bs := meta.Bounds(s.Latest, s.DisplayName, s.AddonType, "", "", "", "", s.CloudTypes, nil, nil, nil)
	if len(s.Layer) > meta.MaxShortFieldLen {
		bs = append(bs, meta.FieldBound{Field: "layer", Len: len(s.Layer), Max: meta.MaxShortFieldLen})
	}
	err := boundsError(bs)
	if st := s.LatestState; st != "" && !Retires(st) {
		shown := fmt.Sprintf("%q", st)
		if len(st) > len(StateDeprecated) {
			shown = fmt.Sprintf("of %d bytes", len(st)) // never echo a long field
		}
		bad := fmt.Errorf("latestState %s: want %q, %q or none (an active latest)", shown, StateDeprecated, StateDeleted)
		if err == nil {
			return bad
		}
		return fmt.Errorf("%v; %v", err, bad)
	}
	return err
}

func boundsError(bs []meta.FieldBound) error {
	if len(bs) == 0 {
		return nil
	}
	msgs := make([]string, len(bs))
	for i, b := range bs {
		msgs[i] = b.String()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Kind is what a site file is, decided by the format's paths, so that
// publishers and servers ask for it instead of parsing paths themselves.
type Kind int

// The kinds of site file.
const (
	KindOther              Kind = iota // the catalogue's pages and assets, anything else
	KindRoot                           // index.json
	KindRootSignature                  // index.json.sig, index.json.sigstore.json
	KindDigestSig                      // signatures/<sha256 of a root>.sig / .sigstore.json
	KindBucket                         // index/<sha256>.json
	KindShard                          // packs/<name>/shards/<sha256>.json
	KindLatestShard                    // packs/<name>/index.json (a human-friendly copy)
	KindArchive                        // packs/<name>/<version>/<name>-<version>.tar.gz
	KindArchiveSig                     // the archive's .sig and .sigstore.json
	KindLogTile                        // log/tile/8/L/NNN, log/tile/8/data/NNN, log/tile/4/L/NNN: a full tile of the transparency log
	KindLogPartialTile                 // log/tile/.../NNN.p/W: a partial tile, superseded as the log grows
	KindLogCheckpoint                  // log/checkpoint: the log's signed tree head, written and published after index.json
	KindLogWitness                     // log/witness/NAME: a checkpoint cosigned by an independent witness, put there by the operator, never by the build
	KindAirgap                         // airgap.json: the releases an air-gapped subset holds (airgap import), never written by the build
	KindCatalogue                      // catalogue-manifest.json: the catalogue's files, signed (signing builds)
	KindCatalogueSignature             // catalogue-manifest.json.sig, .sigstore.json
)

// The transparency log's place in a site (package translog owns its
// format).
const (
	LogDir        = "log"
	LogCheckpoint = LogDir + "/checkpoint"
	LogWitnessDir = LogDir + "/witness"
	logTiles      = LogDir + "/tile/"
	// LogProofTileHeight is the height of the small hash tiles a log may
	// hold beside its height-8 ones (LogRef.ProofTileHeight).
	LogProofTileHeight = 4
)

// namedKinds are the site files known by their whole path (none of them
// lies below a directory KindOf judges by prefix).
var namedKinds = map[string]Kind{
	RootFile:                     KindRoot,
	RootFile + SignatureExt:      KindRootSignature,
	RootFile + BundleExt:         KindRootSignature,
	LogCheckpoint:                KindLogCheckpoint,
	AirgapFile:                   KindAirgap,
	CatalogueFile:                KindCatalogue,
	CatalogueFile + SignatureExt: KindCatalogueSignature,
	CatalogueFile + BundleExt:    KindCatalogueSignature,
}

// KindOf returns the kind of the site file at p.
func KindOf(p string) Kind {
	if k, ok := namedKinds[p]; ok {
		return k
	}
	switch {
	case strings.HasPrefix(p, signaturesDir+"/"):
		return KindDigestSig
	case strings.HasPrefix(p, bucketsDir+"/") && strings.HasSuffix(p, ".json"):
		return KindBucket
	case strings.HasPrefix(p, LogWitnessDir+"/"):
		return KindLogWitness
	case strings.HasPrefix(p, logTiles):
		// Only a tile's own name (tlog's parser: tile/H/L/NNN[.p/W],
		// tile/H/data/...): any other file below log/tile/ is no file of
		// the log (KindOther), so publish and verify --site do not take
		// log/tile/8/x/evil.html for one (sitedir.InCatalogueDir).
		t, err := tlog.ParseTilePath(strings.TrimPrefix(p, LogDir+"/"))
		switch {
		case err != nil:
		case t.W < 1<<t.H:
			return KindLogPartialTile
		default:
			return KindLogTile
		}
	case strings.HasPrefix(p, packsDir+"/"):
		parts := strings.Split(p, "/")
		switch {
		case len(parts) == 3 && parts[2] == RootFile:
			return KindLatestShard
		case len(parts) != 4:
		case parts[2] == "shards":
			return KindShard
		case strings.HasSuffix(p, ".tar.gz"):
			return KindArchive
		case strings.HasSuffix(p, ".tar.gz"+SignatureExt), strings.HasSuffix(p, ".tar.gz"+BundleExt):
			return KindArchiveSig
		}
	}
	return KindOther
}

// Immutable reports whether a file of this kind never changes once
// published: archives and content-addressed metadata. An archive's
// signature files are not: they always hold the current key's signature
// under the name clients and cosign expect (ARCHIVE.sig), so a key
// rotation rewrites them. A full log tile never changes (the log only
// grows); a partial one is written once too, but is superseded, so it is
// not cached as forever.
func (k Kind) Immutable() bool {
	switch k {
	case KindBucket, KindDigestSig, KindShard, KindArchive, KindLogTile:
		return true
	}
	return false
}

// Release reports whether the file belongs to one release (its archive
// or signatures): pruning never removes those.
func (k Kind) Release() bool { return k == KindArchive || k == KindArchiveSig }

// External reports whether the file is put into a site by someone other
// than the build (a witness's cosigned checkpoint, an air-gapped subset's
// marker): a build's output never holds it, so pruning never removes it.
func (k Kind) External() bool { return k == KindLogWitness || k == KindAirgap }

// Immutable reports whether a site path never changes once published
// (KindOf(p).Immutable()). Publishers and servers give these long cache
// lifetimes.
func Immutable(p string) bool { return KindOf(p).Immutable() }

// CacheControl is the Cache-Control header a site path should be served with.
func CacheControl(p string) string {
	if Immutable(p) {
		return "public, max-age=31536000, immutable"
	}
	return "public, max-age=60, must-revalidate"
}

// ContentType is the media type a site path should be served with.
func ContentType(p string) string {
	switch k := KindOf(p); {
	case k == KindLogCheckpoint:
		return "text/plain; charset=utf-8"
	case k == KindLogTile || k == KindLogPartialTile:
		return "application/octet-stream"
	case strings.HasSuffix(p, BundleExt):
		return "application/vnd.dev.sigstore.bundle.v0.3+json"
	case strings.HasSuffix(p, ".json"):
		return "application/json"
	case strings.HasSuffix(p, ".tar.gz"), strings.HasSuffix(p, ".tgz"):
		return "application/gzip"
	case strings.HasSuffix(p, SignatureExt):
		return "text/plain; charset=utf-8"
	case strings.HasSuffix(p, ".html"):
		return "text/html; charset=utf-8"
	case strings.HasSuffix(p, ".css"):
		return "text/css; charset=utf-8"
	case strings.HasSuffix(p, ".js"):
		return "text/javascript; charset=utf-8"
	case strings.HasSuffix(p, ".png"):
		return "image/png"
	case strings.HasSuffix(p, ".svg"):
		return "image/svg+xml"
	case strings.HasSuffix(p, ".yaml"), strings.HasSuffix(p, ".yml"):
		return "application/yaml"
	case strings.HasSuffix(p, "/feed.xml"), p == "feed.xml": // the catalogue's Atom feeds
		return "application/atom+xml"
	}
	return "application/octet-stream"
}

// ShortHash is a commit, tree or digest shortened to 12 characters for
// messages, as git shows them.
func ShortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
