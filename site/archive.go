package site

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	gzip "github.com/klauspost/compress/gzip"
	"github.com/packgen/packgen/index"
)

// Caps on what the catalogue reads from an archive: pages stay small and a
// hostile archive cannot make the build buffer much.
const (
	maxReadme = 1 << 20
	maxValues = 1 << 20
	maxLogo   = 2 << 20
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// archiveReader is a reused gzip reader and its input buffer.
type archiveReader struct {
	gz  gzip.Reader
	buf *bufio.Reader
}

var archiveReaders = sync.Pool{New: func() any { return &archiveReader{buf: bufio.NewReaderSize(nil, 32<<10)} }}

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
}

// readLatest streams the release's archive from the staged site and keeps
// logo.png, values.yaml, README.md, presets.yaml and schema.yaml from the
// pack's top directory, and the images its YAML names.
func readLatest(dir, name string, r *index.Release) (*latestFiles, error) {
	return readRelease(dir, name, r, true)
}

// readRelease reads a release's archive; without full only values.yaml
// and the images, which is what a change view needs of older versions.
func readRelease(dir, name string, r *index.Release, full bool) (*latestFiles, error) {
	p := path.Clean(r.Archive.Path)
	if !strings.HasPrefix(p, "packs/"+name+"/") {
		return nil, fmt.Errorf("archive path %q is not under packs/%s/", r.Archive.Path, name)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		return nil, fmt.Errorf("open release archive: %w", err)
	}
	defer f.Close()
	// A gzip reader's state (window, Huffman tables, buffer) is large
	// enough that allocating one per archive showed in profiles.
	ar := archiveReaders.Get().(*archiveReader)
	defer archiveReaders.Put(ar)
	ar.buf.Reset(f)
	zr := &ar.gz
	if err := zr.Reset(ar.buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer zr.Close()
	out := &latestFiles{images: map[string]bool{}}
	tr := tar.NewReader(zr)
	prefix := name + "/"
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		rel := strings.TrimPrefix(h.Name, prefix)
		if strings.HasPrefix(rel, "manifests/") && (strings.HasSuffix(rel, ".yaml") || strings.HasSuffix(rel, ".yml")) {
			b, big, err := readCapped(tr, maxValues)
			if err != nil {
				return nil, fmt.Errorf("read %s: %s: %w", p, rel, err)
			}
			if !big {
				imagesIn(b, out.images)
			}
			continue
		}
		if !full && rel != "values.yaml" {
			continue
		}
		switch rel {
		case "logo.png":
			b, big, err := readCapped(tr, maxLogo)
			if err != nil {
				return nil, fmt.Errorf("read %s: logo.png: %w", p, err)
			}
			switch {
			case big:
				out.logoNotice = "logo.png is larger than 2 MiB"
			case !isPNG(b):
				out.logoNotice = "logo.png is not a PNG image"
			default:
				out.logo, out.logoNotice = scaleLogo(b)
			}
		case "values.yaml":
			b, big, err := readCapped(tr, maxValues)
			if err != nil {
				return nil, fmt.Errorf("read %s: values.yaml: %w", p, err)
			}
			out.hasValues, out.values, out.valuesTooLarge = true, b, big
			imagesIn(b, out.images)
		case "presets.yaml":
			b, big, err := readCapped(tr, maxValues)
			if err != nil {
				return nil, fmt.Errorf("read %s: presets.yaml: %w", p, err)
			}
			out.hasPresets, out.presets, out.presetsBig = true, b, big
		case "schema.yaml":
			b, big, err := readCapped(tr, maxValues)
			if err != nil {
				return nil, fmt.Errorf("read %s: schema.yaml: %w", p, err)
			}
			out.hasSchema, out.schema, out.schemaBig = true, b, big
		case "README.md":
			b, big, err := readCapped(tr, maxReadme)
			if err != nil {
				return nil, fmt.Errorf("read %s: README.md: %w", p, err)
			}
			out.hasReadme, out.readme, out.readmeTooLarge = true, b, big
		}
	}
	return out, nil
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
