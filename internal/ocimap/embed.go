package ocimap

// Small files carried inside a manifest, so that a reader gets them with
// the manifest's one request instead of one more per file:
//
//   - the root manifest's layers for the files every client reads on
//     every fetch (index.json and index.json.sig, and the transparency
//     log's right edge that every inclusion proof reads: the partial
//     hash tiles, at most one of at most 8 KiB per level, and the tile
//     groups of the hash levels while they are small; not the log's
//     checkpoint nor its data tiles, which a fetch does not read) carry
//     their content in the descriptor's "data" field (OCI image-spec 1.1
//     "embedded content"); the blobs are pushed as well, so the manifest
//     is an ordinary one that any client and the registry's garbage
//     collector read as before;
//   - an archive's signature files (.sig, .sigstore.json) are annotations
//     of the manifest tagged SigTag(archive), whose one layer is the empty
//     descriptor ({}, already in the repository as the config),
//     so publishing them is one request (the manifest PUT) instead of five
//     (two blob uploads of two requests each, then the manifest).
//
// Neither is trusted for being there: a reader checks embedded data
// against its descriptor's digest and size (a mismatch is the registry's
// fault, ErrEmbedded), and the walker checks every file as it does for a
// static site (index.json by its signature, a signature file by
// verifying it).

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/translog"
)

// AnnotationFilePrefix + a site path is the annotation of a signature
// files manifest holding that file's content, base64 (standard, padded).
const AnnotationFilePrefix = "dev.packgen.file/"

// MaxEmbedded bounds the content embedded in one root manifest layer:
// what every fetch reads anyway, never the log's full tiles (the right
// edge only: one partial tile and at most one small group per level), so
// the root manifest stays small whatever the registry's size.
const MaxEmbedded = 64 << 10

// ErrEmbedded marks embedded content that does not match its descriptor.
var ErrEmbedded = errors.New("embedded content does not match its descriptor")

// MaxEmbeddedGroup bounds an embedded tile group: 32 full tiles (8,192
// entries at level 0). Only a level's last group is ever that small (the
// others hold 256 tiles), so the root manifest carries at most one per
// level, whatever the log's size; a larger group is read as its blob.
const MaxEmbeddedGroup = 32 * 32

// Embedded tells whether a root file's content goes into its layer's
// descriptor: the files each fetch reads (index.json and its live
// signature, the log's partial hash tiles), when small.
func Embedded(p string, size int) bool {
	if size > MaxEmbedded {
		return false
	}
	switch p {
	case index.RootFile, index.RootFile + index.SignatureExt:
		return true
	}
	return index.KindOf(p) == index.KindLogPartialTile && hashTile(p)
}

// hashTile tells whether p is a tile of the log's hashes (a level ≥ 0),
// which proofs read, not of its entries (data), which they do not.
func hashTile(p string) bool {
	rest, ok := strings.CutPrefix(p, translog.Dir+"/")
	if !ok {
		return false
	}
	t, err := tlog.ParseTilePath(rest)
	return err == nil && t.L >= 0
}

// EmbeddedData returns the content embedded in d, checked against d's
// size and digest; ok is false when d carries none.
func EmbeddedData(d ocispec.Descriptor) (data []byte, ok bool, err error) {
	if d.Data == nil {
		return nil, false, nil
	}
	if int64(len(d.Data)) != d.Size {
		return nil, true, fmt.Errorf("%w: %s: %d bytes embedded, the descriptor says %d", ErrEmbedded, d.Digest, len(d.Data), d.Size)
	}
	if err := d.Digest.Validate(); err != nil {
		return nil, true, fmt.Errorf("%w: %v", ErrEmbedded, err)
	}
	if got := d.Digest.Algorithm().FromBytes(d.Data); got != d.Digest {
		return nil, true, fmt.Errorf("%w: %s: the embedded bytes are %s", ErrEmbedded, d.Digest, got)
	}
	return d.Data, true, nil
}

// SigFilesManifest is the manifest of an archive's signature files
// (site path → content): each file an annotation, the one layer the
// empty descriptor (oras-go packs an OCI 1.1 manifest so).
func SigFilesManifest(files map[string][]byte) (*Packed, error) {
	ann := map[string]string{}
	for p, data := range files {
		ann[AnnotationFilePrefix+p] = base64.StdEncoding.EncodeToString(data)
	}
	return FilesManifest(nil, ann)
}

// SigFile is the content of site path p in a signature files manifest:
// an annotation (this layout), else a layer (the one before: a layer per
// file) whose descriptor the caller fetches. found is false when m has
// neither.
func SigFile(m *ocispec.Manifest, p string) (data []byte, layer *ocispec.Descriptor, found bool, err error) {
	if v, ok := m.Annotations[AnnotationFilePrefix+p]; ok {
		data, err := base64.StdEncoding.Strict().DecodeString(v)
		if err != nil {
			return nil, nil, true, fmt.Errorf("%w: the annotation for %s is not base64: %v", ErrEmbedded, p, err)
		}
		return data, nil, true, nil
	}
	for i := range m.Layers {
		if Title(m.Layers[i]) == p {
			return nil, &m.Layers[i], true, nil
		}
	}
	return nil, nil, false, nil
}

// RootLayer is the descriptor of a root manifest layer: File, with the
// content embedded when Embedded says so.
func RootLayer(p string, data []byte) ocispec.Descriptor {
	d := File(p, data)
	if Embedded(p, len(data)) {
		d.Data = data
	}
	return d
}
