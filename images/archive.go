package images

import (
	"errors"
	"fmt"
	"os"

	"github.com/packgen/packgen/pack"
)

// ErrArchive: a pack archive cannot be opened as one, or its images
// cannot be listed (what was checked is bad, not the machine).
var ErrArchive = errors.New("pack archive")

// Archive lists the images of the pack archive file p (fetched and
// verified by the client), naming the pack ref in the reports. Errors
// other than reading the file match ErrArchive as well as their own
// sentinels.
func Archive(p, ref string) ([]*Report, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	a, err := pack.OpenArchive(f, pack.ArchiveLimits{})
	f.Close()
	if err != nil {
		return nil, archiveErr{fmt.Errorf("%s: %w", p, err)}
	}
	return archive(a, ref)
}

// Opened lists the images of an opened pack archive, naming the pack
// ref in the reports (a lock's layer, its values merged with the
// profile's overrides: images/lockimages). Errors as Archive's.
func Opened(a *pack.Archive, ref string) ([]*Report, error) { return archive(a, ref) }

// archive lists the images of an opened archive.
func archive(a *pack.Archive, ref string) ([]*Report, error) {
	rs, err := Tree(a, ".", ref)
	if errors.Is(err, ErrNoChartRenderer) {
		return nil, err // the machine's fault, not the archive's
	}
	if err != nil {
		return nil, archiveErr{err}
	}
	return rs, nil
}

// archiveErr reads as the error it holds and matches ErrArchive too.
type archiveErr struct{ err error }

func (e archiveErr) Error() string   { return e.err.Error() }
func (e archiveErr) Unwrap() []error { return []error{e.err, ErrArchive} }

// ArchiveError wraps err, an archive's fault, so that it matches
// ErrArchive too (images/lockimages' reading of a locked archive).
func ArchiveError(err error) error { return archiveErr{err} }
