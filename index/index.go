// Package index owns the registry's metadata format: the signed root
// index.json, its buckets of per-pack summaries and the per-pack shards
// listing every release. Nobody else encodes or decodes these files.
//
// The layout keeps what a client downloads to resolve one pack small and
// nearly flat however large the registry grows:
//
//	index.json                         root: serial, expiry, source, bucket digests (signed)
//	signatures/<sha256>.sig            the root's signature, named by the root's digest
//	index/<sha256>.json                a bucket: summaries of the packs whose name hashes into it
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
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/pack"
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
	// BucketBits is how many leading bits of sha256(name) select a
	// bucket; Buckets has 1<<BucketBits entries, bucket i at index i.
	BucketBits int       `json:"bucketBits"`
	Buckets    []FileRef `json:"buckets"`
	Signed     bool      `json:"signed"`
}

// Bucket holds the summaries of the packs whose names hash into it.
type Bucket struct {
	SchemaVersion int       `json:"schemaVersion"`
	Packs         []Summary `json:"packs"`
}

// Summary describes one pack in a bucket.
type Summary struct {
	Name        string   `json:"name"`
	Layer       string   `json:"layer"`
	DisplayName string   `json:"displayName,omitempty"`
	AddonType   string   `json:"addonType,omitempty"`
	CloudTypes  []string `json:"cloudTypes,omitempty"`
	Latest      string   `json:"latest"`
	Versions    int      `json:"versions"`
	Shard       FileRef  `json:"shard"`
}

// Shard lists every release of one pack, oldest version first.
type Shard struct {
	SchemaVersion int       `json:"schemaVersion"`
	Name          string    `json:"name"`
	Releases      []Release `json:"releases"`
}

// Release is one published version of a pack.
type Release struct {
	Version      string            `json:"version"`
	Layer        string            `json:"layer"`
	DisplayName  string            `json:"displayName,omitempty"`
	AddonType    string            `json:"addonType,omitempty"`
	CloudTypes   []string          `json:"cloudTypes,omitempty"`
	Dependencies []pack.Dependency `json:"dependencies,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Archive      FileRef           `json:"archive"`
	Signature    string            `json:"signature,omitempty"`
	Bundle       string            `json:"bundle,omitempty"`
	Commit       string            `json:"commit"`
	Tree         string            `json:"tree"`
	Created      time.Time         `json:"created"`
	Dir          string            `json:"dir"`
}

// SemVer parses the release's version.
func (r Release) SemVer() (*semver.Version, error) { return semver.NewVersion(r.Version) }

// Latest returns the highest non-prerelease version, or the highest
// prerelease when the pack has nothing else.
func (s *Shard) Latest() *Release {
	var best, bestPre *Release
	var bv, bpv *semver.Version
	for i := range s.Releases {
		v, err := s.Releases[i].SemVer()
		if err != nil {
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

// BucketOf returns the bucket index of a pack name for the given bit count.
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

var versionPathRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$`)

// ValidVersionPath reports whether a version string is safe as a path segment.
func ValidVersionPath(v string) bool {
	return versionPathRE.MatchString(v) && !strings.Contains(v, "..")
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

func decode(what string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, what, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: %s: trailing data after the JSON value", ErrFormat, what)
	}
	return nil
}

func checkSchema(what string, v int) error {
	if v != SchemaVersion {
		return fmt.Errorf("%w: %s has schemaVersion %d; this packgen reads %d (upgrade packgen)", ErrFormat, what, v, SchemaVersion)
	}
	return nil
}

// safeSitePath checks that p stays inside the site and under prefix.
func safeSitePath(p, prefix string) error {
	// prefix "" accepts any path inside the site.
	if p == "" || path.IsAbs(p) || strings.Contains(p, `\`) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("path %q is not a clean relative path", p)
	}
	if !strings.HasPrefix(p, prefix) {
		return fmt.Errorf("path %q is not under %s", p, prefix)
	}
	return nil
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (f FileRef) check(prefix string) error {
	if err := safeSitePath(f.Path, prefix); err != nil {
		return err
	}
	if !hexRE.MatchString(f.SHA256) {
		return fmt.Errorf("sha256 %q of %s is not 64 lowercase hex digits", f.SHA256, f.Path)
	}
	if f.Size < 0 {
		return fmt.Errorf("size of %s is negative", f.Path)
	}
	return nil
}

// ParseRoot decodes and checks index.json.
func ParseRoot(data []byte) (*Root, error) {
	if len(data) > MaxRootSize {
		return nil, fmt.Errorf("%w: index.json is larger than %d bytes", ErrFormat, MaxRootSize)
	}
	var r Root
	if err := decode("index.json", data, &r); err != nil {
		return nil, err
	}
	if err := checkSchema("index.json", r.SchemaVersion); err != nil {
		return nil, err
	}
	if r.BucketBits < 0 || r.BucketBits > maxBucketBits || len(r.Buckets) != 1<<r.BucketBits {
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
	return &r, nil
}

// ParseBucket decodes and checks a bucket; bits and index say which names
// may appear in it, so a bucket cannot smuggle in a pack of another.
func ParseBucket(data []byte, bits, index int) (*Bucket, error) {
	if len(data) > MaxBucketSize {
		return nil, fmt.Errorf("%w: bucket is larger than %d bytes", ErrFormat, MaxBucketSize)
	}
	var b Bucket
	if err := decode("bucket", data, &b); err != nil {
		return nil, err
	}
	if err := checkSchema("bucket", b.SchemaVersion); err != nil {
		return nil, err
	}
	for i, s := range b.Packs {
		if !pack.ValidName(s.Name) {
			return nil, fmt.Errorf("%w: bucket: pack name %q is invalid", ErrFormat, s.Name)
		}
		if BucketOf(s.Name, bits) != index {
			return nil, fmt.Errorf("%w: bucket %d lists pack %q, which belongs to bucket %d", ErrFormat, index, s.Name, BucketOf(s.Name, bits))
		}
		if i > 0 && b.Packs[i-1].Name >= s.Name {
			return nil, fmt.Errorf("%w: bucket: packs are not sorted by name (or listed twice) at %q", ErrFormat, s.Name)
		}
		if err := s.Shard.check(path.Join(packsDir, s.Name) + "/"); err != nil {
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
	if len(data) > MaxShardSize {
		return nil, fmt.Errorf("%w: shard of %s is larger than %d bytes", ErrFormat, name, MaxShardSize)
	}
	var s Shard
	if err := decode("shard of "+name, data, &s); err != nil {
		return nil, err
	}
	if err := checkSchema("shard of "+name, s.SchemaVersion); err != nil {
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

// Immutable reports whether a site path never changes once published:
// archives, their signatures and content-addressed metadata. Publishers
// and servers give these long cache lifetimes.
func Immutable(p string) bool {
	switch {
	case strings.HasPrefix(p, bucketsDir+"/") && strings.HasSuffix(p, ".json"):
		return true
	case strings.HasPrefix(p, signaturesDir+"/"):
		return true
	case strings.HasPrefix(p, packsDir+"/"):
		parts := strings.Split(p, "/")
		if len(parts) == 4 && parts[2] == "shards" {
			return true
		}
		return len(parts) == 4 && (strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tar.gz"+SignatureExt) || strings.HasSuffix(p, ".tar.gz"+BundleExt))
	}
	return false
}

// CacheControl is the Cache-Control header a site path should be served with.
func CacheControl(p string) string {
	if Immutable(p) {
		return "public, max-age=31536000, immutable"
	}
	return "public, max-age=60, must-revalidate"
}

// ContentType is the media type a site path should be served with.
func ContentType(p string) string {
	switch {
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
	}
	return "application/octet-stream"
}
