package transport

import (
	"context"

	"github.com/packgen/packgen/index"
)

// PinnedGetter is a Transport that opens a file with fewer round trips
// when given the digest and size its trusted parent pins: an OCI
// registry reads a release archive as a blob by that digest, without the
// release manifest first. The caller checks the bytes against the pin as
// it does for Get.
type PinnedGetter interface {
	GetPinned(ctx context.Context, ref index.FileRef) (*Response, error)
}

// GetPinned opens ref.Path through tr: by its pin when tr can, else with
// Get.
func GetPinned(ctx context.Context, tr Transport, ref index.FileRef) (*Response, error) {
	if p, ok := tr.(PinnedGetter); ok {
		return p.GetPinned(ctx, ref)
	}
	return tr.Get(ctx, ref.Path, "")
}

// TileHeightLimited is a Transport that holds only some heights of a
// transparency log's hash tiles, whatever index.json says: an OCI
// registry holds the height-8 ones alone (internal/ocimap maps no
// other; FORMAT.md, "OCI registries").
type TileHeightLimited interface {
	HoldsTileHeight(h int) bool
}

// HoldsTileHeight reports whether tr can serve a log's hash tiles of
// height h when the site's index.json says it has them.
func HoldsTileHeight(tr Transport, h int) bool {
	if l, ok := tr.(TileHeightLimited); ok {
		return l.HoldsTileHeight(h)
	}
	return true
}

// PinnedStater is a Transport that can tell whether a pinned file is
// there without reading it: an OCI registry asks for a release
// archive's blob by its digest (one HEAD).
type PinnedStater interface {
	// StatPinned is StatPinned; ok false when it cannot tell without
	// opening the file.
	StatPinned(ctx context.Context, ref index.FileRef) (ok bool, err error)
}

// StatPinned says whether ref.Path is there: nil when it is, an error
// wrapping index.ErrNotFound when it is not, another when it cannot
// tell. Through tr's StatPinned when it has one, else by opening the
// file and closing it unread. It checks no byte: whoever reads the file
// checks it against the pin.
func StatPinned(ctx context.Context, tr Transport, ref index.FileRef) error {
	if s, ok := tr.(PinnedStater); ok {
		if told, err := s.StatPinned(ctx, ref); told {
			return err
		}
	}
	resp, err := GetPinned(ctx, tr, ref)
	if err == nil && resp.Body != nil {
		resp.Body.Close()
	}
	return err
}

// Stat is StatPinned over tr as an index.StatFunc.
func Stat(tr Transport) index.StatFunc {
	return func(ctx context.Context, ref index.FileRef) error { return StatPinned(ctx, tr, ref) }
}
