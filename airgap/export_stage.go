package airgap

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// stageStore holds what export copies before it is written into the tar:
// manifests, signatures, the packs and their index files, the list. It
// is oras-go's content store (oras.Target: Copy and PackManifest write
// into it) with the tags and untagged manifests an OCI layout's
// index.json lists, as oras-go's content/oci store keeps them. Small
// blobs are kept in memory: staging each as a file (oras-go's store
// creates a temporary file per blob, then renames it) was a sixth of
// the export's CPU for a bundle of 50 images, in the file system's
// inode allocation alone (docs/PERFORMANCE.md). Blobs over maxInMemory,
// every blob once those in memory total budget bytes, and the packs'
// archives (read back by path) are files in dir: what upstream
// registries serve (an image's signatures may name thousands of 1 MiB
// blobs) never holds more memory than the budget.
type stageStore struct {
	dir    string
	budget int64 // bytes of blobs kept in memory, at most

	mu    sync.Mutex
	mem   int64 // bytes of blobs in memory, or being read into it
	blobs map[digest.Digest]stagedBlob
	// refs maps each tag, and each manifest's digest, to its
	// descriptor: content/oci's tag resolver, from which index.json is
	// made.
	refs map[string]ocispec.Descriptor
}

type stagedBlob struct {
	size int64
	data []byte // or
	file string
}

// maxInMemory bounds a blob the stage keeps in memory; manifests (at
// most 4 MiB, oras-go's limit on what it reads whole) are, within
// maxStaged, the bound on them all. A normal export stages a few MiB
// (50 images: about 110 blobs, 0.5 MiB).
const (
	maxInMemory = 1 << 20
	maxStaged   = 32 << 20
)

func newStage(dir string) (*stageStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	return &stageStore{dir: dir, budget: maxStaged, blobs: map[digest.Digest]stagedBlob{}, refs: map[string]ocispec.Descriptor{}}, nil
}

// Push stores r's content, checked against expected (size and digest);
// content it has already is errdef.ErrAlreadyExists, as oras-go's
// stores answer.
func (s *stageStore) Push(ctx context.Context, expected ocispec.Descriptor, r io.Reader) error {
	if ok, _ := s.Exists(ctx, expected); ok {
		return fmt.Errorf("%s: %w", expected.Digest, errdef.ErrAlreadyExists)
	}
	if expected.Size < 0 {
		return fmt.Errorf("%s: size %d: %w", expected.Digest, expected.Size, content.ErrInvalidDescriptorSize)
	}
	var b stagedBlob
	var err error
	if s.reserve(expected) {
		if b.data, err = content.ReadAll(r, expected); err != nil {
			s.release(expected.Size)
		}
	} else {
		b.file, err = s.pushFile(expected, r)
	}
	if err != nil {
		return err
	}
	b.size = expected.Size
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[expected.Digest]; ok {
		if b.file != "" {
			os.Remove(b.file)
		} else {
			s.mem -= b.size
		}
		return fmt.Errorf("%s: %w", expected.Digest, errdef.ErrAlreadyExists)
	}
	s.blobs[expected.Digest] = b
	if isManifest(expected.MediaType) {
		s.refs[expected.Digest.String()] = expected
	}
	return nil
}

// reserve says whether d is kept in memory: a manifest or a small blob,
// while the budget allows; its room is then taken until release.
func (s *stageStore) reserve(d ocispec.Descriptor) bool {
	if !isManifest(d.MediaType) && d.Size > maxInMemory {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mem+d.Size > s.budget {
		return false
	}
	s.mem += d.Size
	return true
}

func (s *stageStore) release(n int64) {
	s.mu.Lock()
	s.mem -= n
	s.mu.Unlock()
}

// PushFile stores r's content as a file, whatever its size: a pack's
// archive, read back by its path (Path).
func (s *stageStore) PushFile(ctx context.Context, expected ocispec.Descriptor, r io.Reader) error {
	if ok, _ := s.Exists(ctx, expected); ok {
		return nil
	}
	p, err := s.pushFile(expected, r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[expected.Digest]; !ok {
		s.blobs[expected.Digest] = stagedBlob{size: expected.Size, file: p}
	}
	return nil
}

// pushFile writes r into a file of its own, checked as it is written.
func (s *stageStore) pushFile(expected ocispec.Descriptor, r io.Reader) (string, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "blobs", "sha256"), ".ingest-*")
	if err != nil {
		return "", err
	}
	vr := content.NewVerifyReader(r, expected)
	_, err = io.Copy(f, vr)
	if err == nil {
		err = vr.Verify()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	p := filepath.Join(s.dir, "blobs", "sha256", expected.Digest.Encoded())
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return p, nil
}

// Path is the file holding a blob stored by PushFile.
func (s *stageStore) Path(dg digest.Digest) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blobs[dg].file
}

func (s *stageStore) Exists(_ context.Context, d ocispec.Descriptor) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blobs[d.Digest]
	return ok, nil
}

func (s *stageStore) Fetch(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	s.mu.Lock()
	b, ok := s.blobs[d.Digest]
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: %s: %w", d.Digest, d.MediaType, errdef.ErrNotFound)
	case b.file != "":
		return os.Open(b.file)
	}
	return io.NopCloser(bytes.NewReader(b.data)), nil
}

// open is Fetch by digest alone, for what is staged (ok false if not).
func (s *stageStore) open(dg digest.Digest) (io.ReadCloser, bool) {
	rc, err := s.Fetch(context.Background(), ocispec.Descriptor{Digest: dg})
	return rc, err == nil
}

// Tag names d, which must be stored, ref (and, as content/oci does, its
// digest names the descriptor tagged).
func (s *stageStore) Tag(_ context.Context, d ocispec.Descriptor, ref string) error {
	if ref == "" {
		return fmt.Errorf("empty reference: %w", errdef.ErrInvalidReference)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[d.Digest]; !ok {
		return fmt.Errorf("%s: %s: %w", d.Digest, d.MediaType, errdef.ErrNotFound)
	}
	s.refs[ref] = d
	s.refs[d.Digest.String()] = d
	return nil
}

func (s *stageStore) Resolve(_ context.Context, ref string) (ocispec.Descriptor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.refs[ref]
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", ref, errdef.ErrNotFound)
	}
	return d, nil
}

// entries are the tar entries of the staged blobs, by digest, then
// index.json: each tag with its descriptor named by the ref-name
// annotation, then every manifest no tag names, as content/oci's
// SaveIndex writes them, sorted by name then digest (for the same bytes
// every time: its map order is not).
func (s *stageStore) entries() ([]*tarEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var entries []*tarEntry
	for _, dg := range slices.Sorted(maps.Keys(s.blobs)) {
		b := s.blobs[dg]
		entries = append(entries, &tarEntry{name: "blobs/sha256/" + dg.Encoded(), size: b.size, data: b.data, file: b.file})
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	tagged := map[digest.Digest]bool{}
	for ref, d := range s.refs {
		if ref != d.Digest.String() {
			d.Annotations = maps.Clone(d.Annotations)
			if d.Annotations == nil {
				d.Annotations = map[string]string{}
			}
			d.Annotations[ocispec.AnnotationRefName] = ref
			idx.Manifests = append(idx.Manifests, d)
			tagged[d.Digest] = true
		}
	}
	for ref, d := range s.refs {
		if ref == d.Digest.String() && !tagged[d.Digest] {
			if _, ok := d.Annotations[ocispec.AnnotationRefName]; ok {
				d.Annotations = maps.Clone(d.Annotations)
				delete(d.Annotations, ocispec.AnnotationRefName)
				if len(d.Annotations) == 0 {
					d.Annotations = nil
				}
			}
			idx.Manifests = append(idx.Manifests, d)
		}
	}
	sortIndex(&idx)
	data, err := json.Marshal(idx)
	if err != nil {
		return nil, err
	}
	return append(entries, &tarEntry{name: ocispec.ImageIndexFile, size: int64(len(data)), data: data}), nil
}

// sortIndex sorts an index's manifests by name, then digest.
func sortIndex(idx *ocispec.Index) {
	slices.SortFunc(idx.Manifests, func(a, b ocispec.Descriptor) int {
		return cmp.Or(strings.Compare(a.Annotations[ocispec.AnnotationRefName], b.Annotations[ocispec.AnnotationRefName]), strings.Compare(string(a.Digest), string(b.Digest)))
	})
}
