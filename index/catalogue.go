package index

import (
	"errors"
	"fmt"
	"sort"
)

// The catalogue (the HTML pages, feeds, logos, catalog.json and assets/
// that package site writes) is not pinned by index.json: it is not part
// of what clients read, and a page changes whenever any pack does. A
// signing build lists it instead in CatalogueFile, signed by the
// registry's key beside it as index.json is (.sig and .sigstore.json):
// every file's path, size and SHA-256, and the digest of the index.json
// of the same build, so pages put back from an older generation, with
// that generation's manifest, are refused (verify --site), and a build
// on a fresh machine can reuse a previous build's pages its own cache
// did not record (site.Options.Manifest). Unsigned builds write none:
// nothing would vouch for it.

// CatalogueFile is the site path of the catalogue's manifest.
const CatalogueFile = "catalogue-manifest.json"

// MaxCatalogueSize bounds the manifest: about 130 bytes a file, three
// files a pack.
const MaxCatalogueSize = 32 << 20

// ErrCatalogueGeneration: a catalogue manifest names another index.json
// than the one beside it (an older generation put back, or a publish
// switching generations).
var ErrCatalogueGeneration = errors.New("catalogue manifest belongs to another index.json")

// Catalogue is the catalogue's manifest.
type Catalogue struct {
	SchemaVersion int `json:"schemaVersion"`
	// Index is the index.json of the same build: its path, SHA-256 and
	// size.
	Index FileRef `json:"index"`
	// Files are every file of the catalogue, sorted by path, each once.
	Files []FileRef `json:"files"`
}

// NewCatalogue makes the manifest of files (any order) for the
// index.json whose bytes are rootData.
func NewCatalogue(rootData []byte, files []FileRef) *Catalogue {
	c := &Catalogue{SchemaVersion: SchemaVersion, Index: FileRef{Path: RootFile, SHA256: Digest(rootData), Size: int64(len(rootData))},
		Files: append([]FileRef{}, files...)}
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	return c
}

// ParseCatalogue decodes and checks a catalogue manifest: every path a
// clean relative one that is none of the registry's own files (the
// catalogue's only: KindOther), sorted, each once.
func ParseCatalogue(data []byte) (*Catalogue, error) {
	var c Catalogue
	if err := decodeFile(CatalogueFile, data, MaxCatalogueSize, &c, &c.SchemaVersion); err != nil {
		return nil, err
	}
	if err := c.Index.check(""); err != nil || c.Index.Path != RootFile {
		return nil, fmt.Errorf("%w: %s: index is not a reference to %s (%v)", ErrFormat, CatalogueFile, RootFile, err)
	}
	for i, f := range c.Files {
		if err := f.check(""); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, CatalogueFile, err)
		}
		if KindOf(f.Path) != KindOther {
			return nil, fmt.Errorf("%w: %s lists %s, a file of the registry, not of its catalogue", ErrFormat, CatalogueFile, f.Path)
		}
		if i > 0 && c.Files[i-1].Path >= f.Path {
			return nil, fmt.Errorf("%w: %s: %s is listed out of order or twice", ErrFormat, CatalogueFile, f.Path)
		}
	}
	return &c, nil
}

// Find returns the entry of path p.
func (c *Catalogue) Find(p string) (FileRef, bool) {
	if c == nil {
		return FileRef{}, false
	}
	i := sort.Search(len(c.Files), func(i int) bool { return c.Files[i].Path >= p })
	if i < len(c.Files) && c.Files[i].Path == p {
		return c.Files[i], true
	}
	return FileRef{}, false
}

// Of checks that the manifest belongs to the index.json whose bytes are
// rootData (ErrCatalogueGeneration).
func (c *Catalogue) Of(rootData []byte) error {
	if c.Index.SHA256 == Digest(rootData) && c.Index.Size == int64(len(rootData)) {
		return nil
	}
	return fmt.Errorf("%w: it lists the pages of the index.json with sha256 %s, but index.json here has sha256 %s: the catalogue (or index.json) was put back from another build, or a publish is switching generations; publish the site of one build whole (packgen publish) and check again",
		ErrCatalogueGeneration, ShortHash(c.Index.SHA256), ShortHash(Digest(rootData)))
}
