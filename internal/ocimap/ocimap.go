// Package ocimap is the one mapping between a packgen registry site and an
// OCI registry, shared by the writer (publish's oci destination) and the
// reader (the oci transport), so both sides agree by construction:
//
//   - a release is REGISTRY/BASE/spectro-packs/archive/NAME:TAG, the
//     manifest ORAS v1.0.0 writes for `oras push REF NAME-VERSION.tar.gz`
//     (what Palette reads), its one layer the site's archive byte for
//     byte;
//   - its cosign signature is in REGISTRY/BASE/packgen/signatures, tag
//     sha256-HEX.sig (cosign's COSIGN_REPOSITORY layout);
//   - the packgen index is in REGISTRY/BASE/packgen/index: tag "root" is
//     a manifest whose layers are index.json and its signatures (titled
//     by their site paths); buckets and shards are blobs of that
//     repository named by their SHA-256 (the site path holds it); an
//     archive's .sig and .sigstore.json are the layers of the manifest
//     tagged SigTag(archive path);
//   - a witness's cosigned checkpoint (log/witness/NAME) is the one
//     layer (its bytes embedded too) of the manifest tagged
//     WitnessTag(NAME): mutable and published independently of builds,
//     so not in the root manifest, whose switch would drop it;
//   - the transparency log: the checkpoint and the partial tiles are
//     layers of the root manifest (they change each generation and must
//     switch with index.json); a full tile is a blob of the index
//     repository found through its tile group (LogGroup), a layer of the
//     root manifest listing the digests of up to 256 full tiles of one
//     level, so any tile costs one small extra request.
//
// See docs/FORMAT.md, "OCI registries".
package ocimap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/mod/sumdb/tlog"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/translog"
)

// Repositories below BASE.
const (
	ArchiveRepo   = "spectro-packs/archive"
	IndexRepo     = "packgen/index"
	SignatureRepo = "packgen/signatures"
)

// Tags and annotations of the packgen index repository.
const (
	RootTag = "root"
	// MetaTagPrefix + serial tags the manifest that references every
	// bucket and shard of one generation, so registry garbage collection
	// keeps them.
	MetaTagPrefix = "meta-"
	// SigTagPrefix + hex(sha256(archive site path)) tags a release's
	// archive signatures.
	SigTagPrefix = "sig-"
	// WitnessTagPrefix + a witness's name tags the manifest holding its
	// cosigned checkpoint (log/witness/NAME). The index repository holds
	// no version tag, and prune deletes only meta tags: a witness tag is
	// never taken for a release nor deleted.
	WitnessTagPrefix = "witness-"
	// AirgapTag tags the manifest holding an air-gapped subset's marker
	// (index.AirgapFile), which airgap import writes; prune deletes only
	// meta tags, so it stays.
	AirgapTag = "airgap"
	// AnnotationMeta on the root manifest names its meta manifest.
	AnnotationMeta   = "dev.packgen.meta"
	AnnotationSerial = "dev.packgen.serial"
	// AnnotationCosignKey on the root manifest is the ID of the key whose
	// cosign signatures the releases carry: a publish with another key
	// (a rotation) signs every release again.
	AnnotationCosignKey = "dev.packgen.cosign-key"
)

// Media types.
const (
	// LayerMediaType is what ORAS v1.0.0 writes for a file (though the
	// content is gzip) and Palette expects.
	LayerMediaType = "application/vnd.oci.image.layer.v1.tar"
	// FileMediaType is a packgen metadata file (index.json, a bucket, a
	// shard, a signature) as a layer of the index repository.
	FileMediaType = "application/vnd.packgen.file.v1"
	// LogGroupMediaType is a tile group (LogGroup) as a layer of the
	// root manifest.
	LogGroupMediaType = "application/vnd.packgen.log-tiles.v1"
	// IndexArtifactType is the config media type of the index
	// repository's manifests.
	IndexArtifactType = "application/vnd.packgen.index.v1+json"
)

// ErrBadName marks a registry location, pack or version that cannot be
// named in an OCI registry.
var ErrBadName = errors.New("not a valid OCI name")

// Location is a parsed oci://REGISTRY/BASE.
type Location struct {
	Registry string // host[:port]
	Base     string // path prefix, may be empty
}

// validRepo tells whether p matches the distribution spec's repository
// name grammar, through oras-go's check: its regexp is compiled in its
// package initialiser anyway, where a copy here cost every packgen
// process its own compile (docs/PERFORMANCE.md, "Fetch start-up").
func validRepo(p string) bool {
	return registry.Reference{Repository: p}.ValidateRepository() == nil
}

// validTag tells whether t matches the distribution spec's tag grammar
// ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}), through oras-go's check as
// validRepo does: a bounded repetition compiles to 128 copies of its
// class, the largest regexp of a fetch's start-up.
func validTag(t string) bool {
	return registry.Reference{Reference: t}.ValidateReferenceAsTag() == nil
}

// ParseLocation parses "oci://REGISTRY/BASE" (BASE optional).
func ParseLocation(raw string) (Location, error) {
	rest, ok := strings.CutPrefix(raw, "oci://")
	if !ok {
		return Location{}, fmt.Errorf("%w: %q: expected oci://REGISTRY/BASE", ErrBadName, raw)
	}
	rest = strings.TrimSuffix(rest, "/")
	host, base, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(host, "@?#") {
		return Location{}, fmt.Errorf("%w: %q: expected oci://REGISTRY/BASE (REGISTRY is host[:port])", ErrBadName, raw)
	}
	if base != "" && !validRepo(base) {
		return Location{}, fmt.Errorf("%w: %q: the path %q is not a valid repository prefix (lowercase letters, digits, '.', '_', '-', separated by '/')", ErrBadName, raw, base)
	}
	return Location{Registry: host, Base: base}, nil
}

func (l Location) String() string {
	if l.Base == "" {
		return "oci://" + l.Registry
	}
	return "oci://" + l.Registry + "/" + l.Base
}

// Repo is the repository name (below the registry) of a path below BASE.
func (l Location) Repo(p string) string {
	if l.Base == "" {
		return p
	}
	return l.Base + "/" + p
}

// Ref is REGISTRY/REPO, a reference without tag or digest.
func (l Location) Ref(repo string) string { return l.Registry + "/" + repo }

// PackRepo is the repository of a pack's releases.
func (l Location) PackRepo(name string) string { return l.Repo(ArchiveRepo + "/" + name) }

// Tag is the tag of a version: the version itself, with '+' (not allowed
// in a tag) written '_' as Helm does for charts.
func Tag(version string) (string, error) {
	t := strings.ReplaceAll(version, "+", "_")
	if !validTag(t) {
		return "", fmt.Errorf("%w: version %q cannot be an OCI tag", ErrBadName, version)
	}
	return t, nil
}

// IsMetaManifest tells whether m has the shape of a generation's meta
// manifest (the one tagged MetaTagPrefix+SERIAL): an index repository
// manifest with no annotation but its fixed created time, whose layers
// are site files other than index.json and signatures. A prune deletes
// by digest, so it checks what a meta tag names before deleting: not the
// root manifest (AnnotationMeta), not a release's archive signatures
// (SigTag: annotations, or .sig layers), not a witness's cosigned
// checkpoint (WitnessTag).
func IsMetaManifest(m *ocispec.Manifest) bool {
	if m.MediaType != ocispec.MediaTypeImageManifest || m.ArtifactType != IndexArtifactType || m.Subject != nil {
		return false
	}
	for k := range m.Annotations {
		if k != ocispec.AnnotationCreated {
			return false
		}
	}
	for _, l := range m.Layers {
		if l.MediaType == ocispec.MediaTypeEmptyJSON && l.Digest == ocispec.DescriptorEmptyJSON.Digest && len(m.Layers) == 1 {
			continue // a generation with no files: oras packs the empty layer
		}
		t := Title(l)
		if l.MediaType != FileMediaType || t == "" || strings.HasPrefix(t, index.RootFile) || strings.HasSuffix(t, index.SignatureExt) || strings.HasSuffix(t, index.BundleExt) || index.KindOf(t) == index.KindLogWitness {
			return false
		}
	}
	return true
}

// SigTag is the tag, in the index repository, of the manifest holding an
// archive's signature files: derived from the archive's site path so a
// reader finds it from the path alone.
func SigTag(archivePath string) string {
	s := sha256.Sum256([]byte(archivePath))
	return SigTagPrefix + hex.EncodeToString(s[:])
}

// CosignTag is the tag of a manifest's cosign signature in the signature
// repository.
func CosignTag(manifest digest.Digest) string {
	return strings.Replace(manifest.String(), ":", "-", 1) + ".sig"
}

// ArchiveTitle is the layer title of a release: the bare file name, as
// the vendor's `oras push REF NAME-VERSION.tar.gz` writes it.
func ArchiveTitle(name, version string) string { return name + "-" + version + ".tar.gz" }

// Packed is a manifest built in memory with its config blob.
type Packed struct {
	Desc     ocispec.Descriptor
	Manifest []byte
	Config   ocispec.Descriptor
	ConfigB  []byte
	Layers   []ocispec.Descriptor
}

// ArchiveManifest builds the manifest ORAS v1.0.0 writes for one file
// (PackManifestVersion1_0: config application/vnd.unknown.config.v1+json
// holding "{}", one layer) for the archive of sha256 hex sum and size,
// titled title, created at created (the release's commit time: the same
// release always gives the same manifest).
func ArchiveManifest(sum string, size int64, title string, created time.Time) (*Packed, error) {
	layer := ocispec.Descriptor{
		MediaType:   LayerMediaType,
		Digest:      digest.NewDigestFromEncoded(digest.SHA256, sum),
		Size:        size,
		Annotations: map[string]string{ocispec.AnnotationTitle: title},
	}
	return pack(oras.PackManifestVersion1_0, "", []ocispec.Descriptor{layer}, map[string]string{
		ocispec.AnnotationCreated: created.UTC().Format(time.RFC3339),
	})
}

// BaseManifest is the empty artifact pushed to the base repository
// (REGISTRY/BASE/spectro-packs/archive), as the vendor's Harbor guide
// does: Palette expects that namespace to exist. Its created time is
// fixed so it is pushed once.
func BaseManifest() (*Packed, error) {
	return pack(oras.PackManifestVersion1_0, "", nil, map[string]string{
		ocispec.AnnotationCreated: "1970-01-01T00:00:00Z",
	})
}

// FilesManifest is a manifest of the index repository whose layers are
// site files, each titled by its path; annotations go on the manifest.
func FilesManifest(files []ocispec.Descriptor, annotations map[string]string) (*Packed, error) {
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[ocispec.AnnotationCreated] = "1970-01-01T00:00:00Z"
	return pack(oras.PackManifestVersion1_1, IndexArtifactType, files, annotations)
}

// File is the descriptor of a site file as a layer.
func File(p string, data []byte) ocispec.Descriptor {
	d := content.NewDescriptorFromBytes(FileMediaType, data)
	d.Annotations = map[string]string{ocispec.AnnotationTitle: p}
	return d
}

// FileRef is the descriptor of a site file known by digest and size.
func FileRef(p, sum string, size int64) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: FileMediaType, Digest: digest.NewDigestFromEncoded(digest.SHA256, sum), Size: size, Annotations: map[string]string{ocispec.AnnotationTitle: p}}
}

// pack builds the manifest oras.PackManifest(v, artifactType, layers,
// ann) writes, byte for byte (TestPackIsORAS holds it against oras-go for
// every shape here), without the in-memory store oras-go would push the
// config and manifest into and read back: a publish builds three per
// release and a re-publish one, and the store and its round trip through
// JSON were most of their cost. The shape is oras-go's:
//   - v1.0: the config is "{}" of media type artifactType, or
//     application/vnd.unknown.config.v1+json; layers as given (none: an
//     empty list);
//   - v1.1: the config is the empty descriptor ({} embedded), and so is
//     the one layer when there is none; artifactType on the manifest.
//
// Every caller sets the created annotation (a fixed or commit time: the
// same input always gives the same digest), where oras-go would write
// the current time.
func pack(v oras.PackManifestVersion, artifactType string, layers []ocispec.Descriptor, ann map[string]string) (*Packed, error) {
	created, ok := ann[ocispec.AnnotationCreated]
	if !ok {
		return nil, fmt.Errorf("a manifest without %s", ocispec.AnnotationCreated)
	}
	if _, err := time.Parse(time.RFC3339, created); err != nil {
		return nil, fmt.Errorf("%s %q: %w", ocispec.AnnotationCreated, created, err)
	}
	m := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Layers:      layers,
		Annotations: ann,
	}
	switch v {
	case oras.PackManifestVersion1_0:
		if artifactType == "" {
			artifactType = oras.MediaTypeUnknownConfig
		}
		m.Config = content.NewDescriptorFromBytes(artifactType, []byte(emptyJSON))
		artifactType = "" // v1.0 has no artifactType: the config's media type is it
		if m.Layers == nil {
			m.Layers = []ocispec.Descriptor{}
		}
	case oras.PackManifestVersion1_1:
		if artifactType == "" {
			return nil, oras.ErrMissingArtifactType
		}
		m.Config = ocispec.DescriptorEmptyJSON
		m.ArtifactType = artifactType
		if len(m.Layers) == 0 {
			m.Layers = []ocispec.Descriptor{ocispec.DescriptorEmptyJSON}
		}
	default:
		return nil, fmt.Errorf("manifest version %v is not one oras-go packs", v)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	desc := content.NewDescriptorFromBytes(m.MediaType, data)
	desc.ArtifactType, desc.Annotations = m.ArtifactType, ann
	if v == oras.PackManifestVersion1_0 {
		desc.ArtifactType = m.Config.MediaType
	}
	return &Packed{Desc: desc, Manifest: data, Config: m.Config, ConfigB: []byte(emptyJSON), Layers: m.Layers}, nil
}

// emptyJSON is the content of every config this package packs.
const emptyJSON = "{}"

// Cosign's names for a container image signature (the "simple signing"
// layout `cosign sign --key` writes and `cosign verify --key` reads).
const (
	CosignPayloadMediaType    = "application/vnd.dev.cosign.simplesigning.v1+json"
	CosignSignatureAnnotation = "dev.cosignproject.cosign/signature"
)

// CosignManifest is the signature manifest cosign writes: one layer, the
// simple-signing payload, carrying the base64 signature in an
// annotation. The config is the release manifests' "{}"
// (application/vnd.unknown.config.v1+json), one blob every signature of
// the repository shares, where cosign's library writes an image config
// naming the payload as the layer's diff ID: that config is different
// for each signature, two more requests per release to push, and
// `cosign verify` reads only the manifest's layers (publish's tests run
// the real cosign against this shape). created (AnnotationCreated) is
// when it was written: publish --prune keeps a signature whose release
// is not tagged yet while it is young (SignatureWritten).
func CosignManifest(payload []byte, sigB64 string, created time.Time) (*Packed, error) {
	return CosignAppend(nil, payload, sigB64, created)
}

// CosignAppend is CosignManifest keeping the signature layers of an
// existing signature manifest before the new one, as `cosign sign` does
// when an image is signed again (a key rotation: both keys verify).
func CosignAppend(layers []ocispec.Descriptor, payload []byte, sigB64 string, created time.Time) (*Packed, error) {
	layer := content.NewDescriptorFromBytes(CosignPayloadMediaType, payload)
	layer.Annotations = map[string]string{CosignSignatureAnnotation: sigB64}
	layers = append(append([]ocispec.Descriptor(nil), layers...), layer)
	return pack(oras.PackManifestVersion1_0, "", layers, map[string]string{ocispec.AnnotationCreated: created.UTC().Format(time.RFC3339)})
}

// SignatureWritten is when a signature manifest was written, as
// CosignManifest records it; ok is false when it does not say (cosign's
// own, a packgen before it recorded the time: 1970).
func SignatureWritten(m *ocispec.Manifest) (t time.Time, ok bool) {
	t, err := time.Parse(time.RFC3339, m.Annotations[ocispec.AnnotationCreated])
	if err != nil || t.Unix() <= 0 {
		return time.Time{}, false
	}
	return t, true
}

// Blob is where a site path lives in the registry.
type Blob int

// Kinds of site paths.
const (
	Unmapped    Blob = iota
	RootFile         // a layer of the root manifest
	Addressed        // a blob of the index repository named by its SHA-256
	Archive          // the layer of a release manifest
	ArchiveSigs      // a layer of the manifest tagged SigTag(archive)
	LogTile          // a blob of the index repository named in its tile group (LogTileSlot)
	WitnessFile      // the one layer of the manifest tagged WitnessTag(name)
	AirgapFile       // the one layer of the manifest tagged AirgapTag
)

// Where tells where a site path is kept; sum is the SHA-256 of an
// Addressed path, name and version those of an archive or its
// signatures (name: the witness's of a WitnessFile), archive the
// archive's path for its signatures.
func Where(p string) (kind Blob, sum, name, version, archive string) {
	switch k := index.KindOf(p); k {
	case index.KindRoot, index.KindRootSignature, index.KindDigestSig, index.KindLogCheckpoint, index.KindLogPartialTile:
		// The checkpoint and the partial tiles change each generation:
		// in the root manifest they switch with index.json, never ahead.
		return RootFile, "", "", "", ""
	case index.KindLogTile:
		if _, _, ok := LogTileSlot(p); ok {
			return LogTile, "", "", "", ""
		}
	case index.KindLogWitness:
		if w := strings.TrimPrefix(p, translog.WitnessDir+"/"); translog.ValidWitnessName(w) {
			return WitnessFile, "", w, "", ""
		}
	case index.KindAirgap:
		return AirgapFile, "", "", "", ""
	case index.KindBucket, index.KindShard:
		base := path.Base(p)
		sha := strings.TrimSuffix(base, ".json")
		if _, err := hex.DecodeString(sha); err == nil && len(sha) == 64 && sha == strings.ToLower(sha) && sha+".json" == base {
			return Addressed, sha, "", "", ""
		}
	case index.KindArchive, index.KindArchiveSig:
		parts := strings.Split(p, "/") // packs/NAME/VERSION/FILE
		if len(parts) != 4 {
			return Unmapped, "", "", "", ""
		}
		a := index.ArchivePath(parts[1], parts[2])
		if k == index.KindArchive {
			if p != a {
				return Unmapped, "", "", "", ""
			}
			return Archive, "", parts[1], parts[2], a
		}
		if strings.HasPrefix(p, a) {
			return ArchiveSigs, "", parts[1], parts[2], a
		}
	}
	return Unmapped, "", "", "", ""
}

// Title is a layer's title annotation.
func Title(d ocispec.Descriptor) string { return d.Annotations[ocispec.AnnotationTitle] }

// The transparency log's full tiles never change, and a reader asks for
// one by path: a tag per tile would be thousands of tags, and a manifest
// listing them all too large to read per fetch (some 200 bytes a tile).
// Instead the full tiles of one level are grouped by LogGroupSize, and
// each group is a blob of 32-byte SHA-256 digests in tile order (8 KiB
// when full), a layer of the root manifest titled LogGroupTitle: a tile
// costs the root manifest (read anyway), its group, then the tile.
const LogGroupSize = 256

// MaxLogGroup bounds a tile group read from a registry.
const MaxLogGroup = LogGroupSize * sha256.Size

// LogGroupTitle is the title of the root manifest layer holding the
// digests of group g of level's full tiles (level -1: the data tiles).
func LogGroupTitle(level int, g int64) string {
	l := "data"
	if level >= 0 {
		l = strconv.Itoa(level)
	}
	return fmt.Sprintf("%s/tile/%d/%s/group/%d", translog.Dir, translog.TileHeight, l, g)
}

// LogTileSlot is where the digest of full tile p is kept: the group's
// title and the tile's slot in it. ok is false for anything but a full
// tile of the log's height.
func LogTileSlot(p string) (group string, slot int, ok bool) {
	rest, found := strings.CutPrefix(p, translog.Dir+"/")
	if !found {
		return "", 0, false
	}
	t, err := tlog.ParseTilePath(rest)
	if err != nil || t.H != translog.TileHeight || t.W != 1<<translog.TileHeight || t.L < -1 {
		return "", 0, false
	}
	return LogGroupTitle(t.L, t.N/LogGroupSize), int(t.N % LogGroupSize), true
}

// LogGroups builds the tile groups of a set of full tiles (site path →
// content): title → the group blob. A group holds the digests of its
// tiles in slot order, up to the last tile present; a slot with no tile
// (none in a log, which only grows) would be 32 zero bytes.
func LogGroups(tiles map[string][]byte) (map[string][]byte, error) {
	type slotted struct {
		slot int
		sum  [sha256.Size]byte
	}
	by := map[string][]slotted{}
	for p, data := range tiles {
		g, slot, ok := LogTileSlot(p)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a full tile of the transparency log", ErrBadName, p)
		}
		by[g] = append(by[g], slotted{slot, sha256.Sum256(data)})
	}
	out := map[string][]byte{}
	for g, ts := range by {
		n := 0
		for _, t := range ts {
			n = max(n, t.slot+1)
		}
		b := make([]byte, n*sha256.Size)
		for _, t := range ts {
			copy(b[t.slot*sha256.Size:], t.sum[:])
		}
		out[g] = b
	}
	return out, nil
}

// LogGroupDigest is the digest in slot of a tile group, ok false when the
// group has no tile there.
func LogGroupDigest(group []byte, slot int) (digest.Digest, bool) {
	at := slot * sha256.Size
	if slot < 0 || at+sha256.Size > len(group) {
		return "", false
	}
	sum := group[at : at+sha256.Size]
	var zero [sha256.Size]byte
	if string(sum) == string(zero[:]) {
		return "", false
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(sum)), true
}

// LogGroupLayer is the descriptor of a tile group as a layer; a small
// group of a hash level (what inclusion proofs read) carries its content
// (MaxEmbeddedGroup, embed.go).
func LogGroupLayer(title string, data []byte) ocispec.Descriptor {
	d := content.NewDescriptorFromBytes(LogGroupMediaType, data)
	d.Annotations = map[string]string{ocispec.AnnotationTitle: title}
	if len(data) <= MaxEmbeddedGroup && !strings.Contains(title, "/data/") {
		d.Data = data
	}
	return d
}

// WitnessTag is the tag of the manifest holding witness name's cosigned
// checkpoint.
func WitnessTag(name string) (string, error) {
	t := WitnessTagPrefix + name
	if !translog.ValidWitnessName(name) || !validTag(t) {
		return "", fmt.Errorf("%w: witness name %q cannot be a tag (letters, digits, '-', '_' and '.', at most %d)", ErrBadName, name, translog.MaxWitnessName)
	}
	return t, nil
}

// WitnessName is the witness a tag of the index repository holds the
// cosigned checkpoint of; ok is false for any other tag.
func WitnessName(tag string) (name string, ok bool) {
	name, ok = strings.CutPrefix(tag, WitnessTagPrefix)
	return name, ok && translog.ValidWitnessName(name)
}

// WitnessManifest is the manifest of a witness's cosigned checkpoint:
// one layer titled by its site path (log/witness/NAME), the bytes
// embedded in the descriptor so a reader gets them with the manifest's
// one request (a cosigned checkpoint is at most
// translog.MaxCheckpointSize, well under MaxEmbedded); the blob is pushed
// too, so the manifest is an ordinary one.
func WitnessManifest(p string, data []byte) (*Packed, error) {
	if len(data) > translog.MaxCheckpointSize {
		return nil, fmt.Errorf("%s: %d bytes, a cosigned checkpoint has at most %d", p, len(data), translog.MaxCheckpointSize)
	}
	l := File(p, data)
	l.Data = data
	return FilesManifest([]ocispec.Descriptor{l}, nil)
}

// AirgapManifest is the manifest of an air-gapped subset's marker
// (index.AirgapFile, tagged AirgapTag): one layer titled by its path,
// its bytes embedded when small (every client command of the air-gapped
// registry reads it), the blob pushed too.
func AirgapManifest(data []byte) (*Packed, error) {
	if len(data) > index.MaxAirgapSize {
		return nil, fmt.Errorf("%s: %d bytes, at most %d", index.AirgapFile, len(data), index.MaxAirgapSize)
	}
	l := File(index.AirgapFile, data)
	if len(data) <= MaxEmbedded {
		l.Data = data
	}
	return FilesManifest([]ocispec.Descriptor{l}, nil)
}
