// Package rebuild proves that a release archive is exactly what git
// holds: every entry of the archive is compared by git blob ID with the
// release's tree (Compare), and the archive can be rebuilt from that tree
// and compared byte for byte (Rebuild). The build runs Compare on every
// archive it takes from a previous build instead of trusting it; `packgen
// verify --site SITE --repo REPO` runs both on a whole published site, so
// a third party can prove a registry is its repository's content.
package rebuild

import (
	"errors"
	"fmt"
	"github.com/packgen/packgen/index"
	"io"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/source"
)

// ErrDiffers marks an archive whose content is not its git tree's.
var ErrDiffers = errors.New("archive differs from git")

// Diff is one difference between an archive and its git tree.
type Diff struct {
	Path string // relative to the pack root
	Msg  string
}

func (d Diff) String() string { return d.Path + ": " + d.Msg }

// DiffError reports the differences Compare found, wrapping ErrDiffers.
type DiffError struct {
	Release string // name@version
	Diffs   []Diff
}

func (e *DiffError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s:", e.Release, ErrDiffers)
	for i, d := range e.Diffs {
		if i == 8 {
			fmt.Fprintf(&b, " (and %d more)", len(e.Diffs)-i)
			break
		}
		b.WriteString(" ")
		b.WriteString(d.String())
		if i < len(e.Diffs)-1 {
			b.WriteString(";")
		}
	}
	return b.String()
}

func (e *DiffError) Unwrap() error { return ErrDiffers }

type entry struct {
	kind byte   // 'd', 'f', 'l'
	mode int64  // permission bits of a file
	id   string // git blob ID of a file or link
}

// Compare reads the release archive r and compares it with the pack
// directory of rel in git: the same files (after .packignore), the same
// content by git blob ID, the same modes and link targets, under one
// top-level directory named root. It returns a *DiffError listing every
// difference, or an error for an archive it cannot read.
func Compare(r io.Reader, root string, rel *source.Release) error {
	got, err := readArchive(r, root)
	if err != nil {
		return err
	}
	want, err := fromGit(rel)
	if err != nil {
		return err
	}
	var diffs []Diff
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, Diff{p, "in git, missing from the archive"})
		case g.kind != w.kind:
			diffs = append(diffs, Diff{p, fmt.Sprintf("is a %s in the archive, a %s in git", kindName(g.kind), kindName(w.kind))})
		case g.id != w.id:
			diffs = append(diffs, Diff{p, fmt.Sprintf("content differs: git blob %s, archive holds %s", short(w.id), short(g.id))})
		case g.kind == 'f' && g.mode != w.mode:
			diffs = append(diffs, Diff{p, fmt.Sprintf("mode %o in the archive, %o in git", g.mode, w.mode)})
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, Diff{p, fmt.Sprintf("%s in the archive that git does not hold", kindName(g.kind))})
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].Path < diffs[j].Path })
	return &DiffError{Release: rel.Name + "@" + rel.Version, Diffs: diffs}
}

// Rebuild archives rel again from git, as a build would, and returns the
// digest of the bytes (written nowhere). It fails if the pack is invalid.
func Rebuild(rel *source.Release) (pack.Digest, error) {
	d, _, err := rebuild(rel)
	return d, err
}

// rebuild is Rebuild, returning the release's manifest too.
func rebuild(rel *source.Release) (pack.Digest, *meta.Manifest, error) {
	fsys, done, err := rel.Open()
	if err != nil {
		return pack.Digest{}, nil, err
	}
	defer done()
	p, probs := pack.Load(fsys, ".", pack.Options{Prefix: rel.Dir})
	if err := source.IntegrityError(fsys); err != nil {
		return pack.Digest{}, nil, err
	}
	if probs.HasErrors() || p.Manifest == nil {
		return pack.Digest{}, nil, fmt.Errorf("%s@%s does not validate: %w", rel.Name, rel.Version, probs.Errors())
	}
	d, err := pack.WriteArchive(io.Discard, p, pack.ArchiveOptions{})
	if err == nil {
		err = source.IntegrityError(fsys)
	}
	return d, p.Manifest, err
}

func fromGit(rel *source.Release) (map[string]entry, error) {
	fsys, done, err := rel.Open()
	if err != nil {
		return nil, err
	}
	defer done()
	files, probs := pack.ListFiles(fsys, ".")
	if err := source.IntegrityError(fsys); err != nil {
		return nil, err
	}
	if probs.HasErrors() {
		return nil, fmt.Errorf("%s@%s at commit %s: %w", rel.Name, rel.Version, short(rel.Commit), probs.Errors())
	}
	ids, err := rel.BlobIDs()
	if err != nil {
		return nil, err
	}
	want := make(map[string]entry, len(files))
	for _, f := range files {
		switch {
		case f.IsDir():
			want[f.Path] = entry{kind: 'd'}
		case f.IsSymlink():
			want[f.Path] = entry{kind: 'l', id: ids[f.Path]}
		default:
			want[f.Path] = entry{kind: 'f', mode: int64(f.Mode.Perm()), id: ids[f.Path]}
		}
	}
	return want, nil
}

// readArchive lists a release archive's entries with the git blob ID of
// each file's content, within the extractor's checks and limits
// (pack.ArchiveReader).
func readArchive(r io.Reader, root string) (map[string]entry, error) {
	ar, err := pack.NewArchiveReader(r, "", pack.ArchiveLimits{})
	if err != nil {
		return nil, err
	}
	defer ar.Close()
	got := map[string]entry{}
	var buf [32 << 10]byte
	err = ar.Each(func(e *pack.ArchiveEntry) error {
		if ar.Root != root {
			return fmt.Errorf("%w: entry %q is not under %s/", pack.ErrUnsafePath, e.Name, root)
		}
		switch {
		case e.IsDir():
			got[e.Path] = entry{kind: 'd'}
		case e.IsSymlink():
			got[e.Path] = entry{kind: 'l', id: plumbing.ComputeHash(plumbing.BlobObject, []byte(e.Link)).String()}
		default:
			h := plumbing.NewHasher(plumbing.BlobObject, e.Size)
			if _, err := io.CopyBuffer(h, ar, buf[:]); err != nil {
				return err
			}
			got[e.Path] = entry{kind: 'f', mode: e.HeaderMode & 0o777, id: h.Sum().String()}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return got, nil
}

func kindName(k byte) string {
	switch k {
	case 'd':
		return "directory"
	case 'l':
		return "symlink"
	}
	return "file"
}

func short(h string) string { return index.ShortHash(h) }
