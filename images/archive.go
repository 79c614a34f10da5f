package images

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/profile"
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

// Locked lists the images of a locked layer's archive p (fetched and
// verified by the client) as the profile deploys it: its values.yaml
// merged with the profile's overrides for the layer (profile.OpenLocked,
// what `profile render` writes), so a private mirror or a new tag given
// there is what is listed, pinned and bundled. prof nil: the pack's own
// values. Errors as Archive's.
func Locked(p string, l profile.LockedPack, prof *profile.Profile) ([]*Report, error) {
	a, overridden, err := profile.OpenLocked(p, l, prof)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, err // reading the cached file: the machine's
	}
	if err != nil {
		return nil, archiveErr{fmt.Errorf("%s: %w", p, err)}
	}
	rs, err := archive(a, l.ID())
	if overridden {
		for _, r := range rs {
			r.Overrides = prof.File
		}
	}
	return rs, err
}

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
