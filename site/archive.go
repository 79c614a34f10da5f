package site

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack"
)

// Caps on what the catalogue reads from an archive: pages stay small and a
// hostile archive cannot make the build buffer much.
const (
	maxReadme = 1 << 20
	maxValues = 1 << 20
	maxLogo   = 2 << 20
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func isPNG(b []byte) bool { return bytes.HasPrefix(b, pngMagic) }

// latestFiles are the files of a release the pack page shows.
type latestFiles struct {
	logo           []byte // nil: none, too large or not a PNG
	values, readme []byte
	hasValues      bool
	hasReadme      bool
	valuesTooLarge bool
	readmeTooLarge bool
	logoNotice     string
	// presets.yaml and schema.yaml, when present and within maxValues.
	presets, schema       []byte
	hasPresets, hasSchema bool
	presetsBig, schemaBig bool
	// images named in values.yaml and the manifests (for change views).
	images map[string]bool
	// found is the Images section (newest release only).
	found *imageView
	// files are every regular file's digest (and text, within bounds),
	// which change views compare; kept counts the text held.
	files map[string]fileSum
	kept  int
}

// readLatest streams the release's archive from the staged site and keeps
// logo.png, values.yaml, README.md, presets.yaml and schema.yaml from the
// pack's top directory, and the images its YAML names.
func readLatest(dir, name string, r *index.Release) (*latestFiles, error) {
	return readRelease(dir, name, r, true)
}

// maxWholeArchive bounds what finding images holds in memory per
// archive (charts and manifests are read whole to render them), and
// wholeArchives how many are held at once, whatever the job count.
var maxWholeArchive int64 = 64 << 20 // a variable for tests

var wholeArchives = make(chan struct{}, 4)

// takeGiven is the build's image report of the archive with digest
// sha, removed from Options.Images: once its view is made (and spilled
// to the image cache) nothing needs it, and a cold build hands over one
// per pack, about 17 MB at 1,000 packs that the catalogue's GC setting
// would let grow fourfold.
func (g *gen) takeGiven(sha string) *images.Report {
	g.givenMu.Lock()
	defer g.givenMu.Unlock()
	rep := g.given[sha]
	delete(g.given, sha)
	return rep
}

// readNewest reads the newest release's files, and finds its images
// unless the cache has them: then the archive is opened whole once, for
// both (finding images needs every file; the pages only a few).
func (g *gen) readNewest(name string, r *index.Release) (*latestFiles, error) {
	if v, ok := g.images.lookup(r.Archive.SHA256); ok {
		out, err := readLatest(g.dir, name, r)
		if err == nil {
			out.found = v
		}
		return out, err
	}
	if rep := g.takeGiven(r.Archive.SHA256); rep != nil {
		// The build just found them, rendering the charts.
		out, err := readLatest(g.dir, name, r)
		if err == nil {
			g.built.Add(1)
			out.found = viewOf([]*images.Report{rep})
			g.images.store(r.Archive.SHA256, out.found)
		}
		return out, err
	}
	a, out, err := g.openWhole(name, r)
	if out != nil || err != nil {
		return out, err
	}
	defer func() { <-wholeArchives }()
	out = &latestFiles{images: map[string]bool{}}
	err = fs.WalkDir(a, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		// Read in place (a.ReadFile would copy every file, the charts
		// included, to keep the few a page shows).
		f, err := a.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if err := out.take(f, p, fi.Size(), true); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.Archive.Path, err)
	}
	g.found.Add(1)
	if out.found, err = findImages(a); err != nil {
		return nil, fmt.Errorf("%s@%s: %w", name, r.Version, err)
	}
	g.images.store(r.Archive.SHA256, out.found)
	return out, nil
}

// openWhole opens a release's archive whole, holding one of
// wholeArchives (the caller releases it when a is not nil); an archive
// too large to hold is read as a stream instead (out, with a note in
// place of its images).
func (g *gen) openWhole(name string, r *index.Release) (a *pack.Archive, out *latestFiles, err error) {
	f, err := openRelease(g.dir, name, r)
	if err != nil {
		return nil, nil, err
	}
	wholeArchives <- struct{}{}
	a, err = pack.OpenArchive(f, pack.ArchiveLimits{MaxTotalSize: maxWholeArchive})
	f.Close()
	if errors.Is(err, pack.ErrTooLarge) {
		<-wholeArchives
		// Too large to hold: the page streams it as before, and says
		// where to list its images.
		out, err := readLatest(g.dir, name, r)
		if err == nil {
			out.found = &imageView{Note: fmt.Sprintf("the archive holds more than %d MiB, more than the catalogue renders; `packgen images %s@%s` lists them", maxWholeArchive>>20, name, r.Version)}
		}
		return nil, out, err
	}
	if err == nil && a.Root != name {
		err = fmt.Errorf("%w: the archive's top directory is %q, not %q", pack.ErrUnsafePath, a.Root, name)
	}
	if err != nil {
		<-wholeArchives
		return nil, nil, fmt.Errorf("read %s: %w", r.Archive.Path, err)
	}
	return a, nil, nil
}

// openRelease opens a release's archive in the staged site.
func openRelease(dir, name string, r *index.Release) (*os.File, error) {
	p := path.Clean(r.Archive.Path)
	if !strings.HasPrefix(p, "packs/"+name+"/") {
		return nil, fmt.Errorf("archive path %q is not under packs/%s/", r.Archive.Path, name)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		return nil, fmt.Errorf("open release archive: %w", err)
	}
	return f, nil
}

// readRelease reads a release's archive (through pack.ArchiveReader, with
// its checks and limits); without full only values.yaml, the images and
// the files' digests, which is what a change view needs of older versions.
func readRelease(dir, name string, r *index.Release, full bool) (*latestFiles, error) {
	f, err := openRelease(dir, name, r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := path.Clean(r.Archive.Path)
	ar, err := pack.NewArchiveReader(f, name, pack.ArchiveLimits{})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer ar.Close()
	out := &latestFiles{images: map[string]bool{}}
	err = ar.Each(func(e *pack.ArchiveEntry) error {
		if !e.Mode.IsRegular() {
			return nil
		}
		if err := out.take(ar, e.Path, e.Size, full); err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return out, nil
}

// read keeps what the pages show of the archive's file rel from r.
func (out *latestFiles) read(r io.Reader, rel string, full bool) error {
	if strings.HasPrefix(rel, "manifests/") && (strings.HasSuffix(rel, ".yaml") || strings.HasSuffix(rel, ".yml")) {
		b, big, err := readCapped(r, maxValues)
		if err == nil && !big {
			imagesIn(b, out.images)
		}
		return err
	}
	if !full && rel != "values.yaml" {
		return nil
	}
	max := int64(maxValues)
	switch rel {
	case "logo.png":
		max = maxLogo
	case "README.md":
		max = maxReadme
	case "values.yaml", "presets.yaml", "schema.yaml":
	default:
		return nil
	}
	b, big, err := readCapped(r, max)
	if err != nil {
		return err
	}
	switch rel {
	case "logo.png":
		switch {
		case big:
			out.logoNotice = "logo.png is larger than 2 MiB"
		case !isPNG(b):
			out.logoNotice = "logo.png is not a PNG image"
		default:
			out.logo, out.logoNotice = scaleLogo(b)
		}
	case "values.yaml":
		out.hasValues, out.values, out.valuesTooLarge = true, b, big
		imagesIn(b, out.images)
	case "presets.yaml":
		out.hasPresets, out.presets, out.presetsBig = true, b, big
	case "schema.yaml":
		out.hasSchema, out.schema, out.schemaBig = true, b, big
	case "README.md":
		out.hasReadme, out.readme, out.readmeTooLarge = true, b, big
	}
	return nil
}

// readCapped reads at most max bytes; big reports that there was more.
func readCapped(r io.Reader, max int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > max {
		return nil, true, nil
	}
	return b, false, nil
}
