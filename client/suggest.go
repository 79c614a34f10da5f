package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/packgen/packgen/internal/nearname"
)

// WithSuggestion adds "did you mean" to a pack that is in no registry,
// from the names of the registries' (already fetched, verified) catalogues.
func WithSuggestion(ctx context.Context, err error, name string, clients []*Client) error {
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "is not in registry") {
		return err
	}
	var names []string
	for _, cl := range clients {
		packs, cerr := cl.Catalog(ctx)
		if cerr != nil {
			continue
		}
		for _, p := range packs {
			names = append(names, p.Name)
		}
	}
	if near := nearname.Near(name, names); len(near) > 0 {
		return fmt.Errorf("%w; did you mean %s?", err, strings.Join(near, " or "))
	}
	return err
}
