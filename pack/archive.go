package pack

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"path"
	"sync"
	"time"
	"unicode/utf8"

	gzip "github.com/klauspost/compress/gzip"

	"github.com/packgen/packgen/internal/countw"
	"github.com/packgen/packgen/pack/meta"
)

// ArchiveOptions tune WriteArchive.
type ArchiveOptions struct {
	// Deprecated: ignored. Every entry carries archiveModTime, so that an
	// archive's bytes depend on the release's tree alone, not on the
	// commit it was built at.
	ModTime time.Time
}

// archiveModTime is the mtime of every archive entry: a constant, so an
// archive's bytes are a function of the release's tree (and of this
// format) only; a commit elsewhere in the repository or a build at another
// commit cannot change them. 1980-01-01 rather than 1970: the earliest
// time every common archive format and tool represents (zip's DOS time
// starts there), and no later than any real file.
var archiveModTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Digest identifies an archive's bytes.
type Digest struct {
	SHA256 string // lowercase hex
	Size   int64
}

// ArchiveName is the file name of a release archive.
func ArchiveName(name, version string) string { return name + "-" + version + ".tar.gz" }

// WriteArchive streams a deterministic tar.gz of p to w and returns the
// SHA-256 and size of what it wrote, computed in the same pass. Entries are
// p.Files (sorted, ignored files already excluded) under "<name>/", with
// normalised modes, uid/gid 0, no user or group names, archiveModTime and
// a gzip header with no name and no time, at gzip's fastest level: pack
// content is mostly already-compressed charts, where the default level
// spent a fifth of a cold build's CPU (profiled on 5,000 releases) trying
// to find matches that are not there, for under 1% smaller archives. The
// compressor is klauspost/compress's (already in the module graph through
// sigstore): the same DEFLATE, about 1.8× faster than compress/flate's
// fastest level on pack content (the archive golden digest changed once).
// The same files always give the same bytes with the same packgen; a
// release once published is carried by digest, never archived again.
func WriteArchive(w io.Writer, p *Pack, opts ArchiveOptions) (Digest, error) {
	if p.Manifest == nil || !meta.ValidName(p.Manifest.Name) {
		return Digest{}, fmt.Errorf("archive: pack has no valid name")
	}
	// Load refuses these too; checked again because the archive is what
	// gets signed, whoever built the Pack.
	if err := unsafeLinks(p.Files); err != nil {
		return Digest{}, fmt.Errorf("archive: %w", err)
	}
	mtime := archiveModTime
	h := sha256.New()
	cw := &countw.Writer{W: io.MultiWriter(w, h)}
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	// compress/flate hands its output over a few hundred bytes at a time:
	// unbuffered, that was ~90 write syscalls per archive.
	bw := bufWriters.Get().(*bufio.Writer)
	defer bufWriters.Put(bw)
	bw.Reset(cw)
	zw.Reset(bw)
	var err error
	// A fixed header: no name, mtime 0, OS "unknown", so the bytes do not
	// depend on who built the archive or when. (This gzip writes the
	// mtime field from ModTime.Unix() even when ModTime is zero.)
	zw.Header = gzip.Header{OS: 255, ModTime: time.Unix(0, 0)}
	tw := tar.NewWriter(zw)
	root := p.Manifest.Name
	if err := writeHeader(tw, &tar.Header{Typeflag: tar.TypeDir, Name: root + "/", Mode: 0o755, ModTime: mtime}); err != nil {
		return Digest{}, err
	}
	for _, f := range p.Files {
		name := path.Join(root, f.Path)
		switch {
		case f.IsDir():
			err = writeHeader(tw, &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: mtime})
		case f.IsSymlink():
			err = writeHeader(tw, &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: f.Link, Mode: 0o777, ModTime: mtime})
		default:
			err = writeFile(tw, p, f, name, mtime)
		}
		if err != nil {
			return Digest{}, fmt.Errorf("archive %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return Digest{}, err
	}
	if err := zw.Close(); err != nil {
		return Digest{}, err
	}
	if err := bw.Flush(); err != nil {
		return Digest{}, err
	}
	return Digest{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.N}, nil
}

func writeHeader(tw *tar.Writer, hd *tar.Header) error {
	hd.Uid, hd.Gid, hd.Uname, hd.Gname = 0, 0, "", ""
	// PAX records must be UTF-8, and so must names on macOS and Windows:
	// validate refuses other names (badName), and so does the writer.
	if !utf8.ValidString(hd.Name) || !utf8.ValidString(hd.Linkname) {
		return fmt.Errorf("%w: %q: names must be valid UTF-8", ErrUnsafePath, hd.Name)
	}
	// USTAR when the names are short ASCII; otherwise PAX, whose only
	// records are then path and linkpath (times are whole seconds and no
	// access or change time is set), so the bytes stay the same every run.
	hd.Format = tar.FormatUSTAR
	if len(hd.Name) > 100 || len(hd.Linkname) > 100 || !isASCII(hd.Name) || !isASCII(hd.Linkname) {
		hd.Format = tar.FormatPAX
	}
	return tw.WriteHeader(hd)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func writeFile(tw *tar.Writer, p *Pack, f File, name string, mtime time.Time) error {
	mode := int64(0o644)
	if f.Mode.Perm()&0o111 != 0 {
		mode = 0o755
	}
	r, err := p.Open(f.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := writeHeader(tw, &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: f.Size, Mode: mode, ModTime: mtime}); err != nil {
		return err
	}
	n, err := io.Copy(tw, io.LimitReader(r, f.Size+1))
	if err != nil {
		return err
	}
	if n != f.Size {
		return fmt.Errorf("file changed while archiving (listed %d bytes, read %d)", f.Size, n)
	}
	return nil
}

// gzipWriters recycles compressors: allocating one per archive (its
// tables are hundreds of KB) cost a tenth of a cold build's CPU. Reset
// gives the same bytes as a new writer.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

var bufWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

var _ hash.Hash = sha256.New()
