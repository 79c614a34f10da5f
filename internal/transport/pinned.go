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
