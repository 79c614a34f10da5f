package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/packgen/packgen/index"
)

// Hit is a pack of a registry's catalogue that a search matched.
type Hit struct {
	Registry string `json:"registry"` // the configured name
	index.Summary
}

// Search returns the packs of regs' catalogues (verified as every read
// is) whose name, display name, layer or add-on type holds term, in any
// case, registry by registry in regs' order. A registry that cannot be
// searched does not hide the others' packs: its error, naming it, is one
// of failed, and the search goes on; the caller decides what a failure
// means (a registry down against one that failed verification). An
// error of open (a registry's configuration, before anything is read) is
// returned as err.
func Search(ctx context.Context, regs []Registry, open func(Registry) (*Client, error), term string) (hits []Hit, failed []error, err error) {
	hits = []Hit{}
	term = strings.ToLower(term)
	for _, reg := range regs {
		cl, err := open(reg)
		if err != nil {
			return nil, nil, err
		}
		packs, err := cl.Catalog(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, err // interrupted: no partial answer
			}
			failed = append(failed, &SearchError{Registry: reg.Name, Err: err})
			continue
		}
		for _, p := range packs {
			if strings.Contains(strings.ToLower(strings.Join([]string{p.Name, p.DisplayName, p.Layer, p.AddonType}, "\n")), term) {
				hits = append(hits, Hit{reg.Name, p})
			}
		}
	}
	return hits, failed, nil
}

// SearchError is a registry Search could not read.
type SearchError struct {
	Registry string
	Err      error
}

func (e *SearchError) Error() string {
	// The client's errors already start with "registry NAME: ".
	if strings.HasPrefix(e.Err.Error(), "registry "+e.Registry+":") {
		return e.Err.Error()
	}
	return fmt.Sprintf("registry %s: %v", e.Registry, e.Err)
}

func (e *SearchError) Unwrap() error { return e.Err }
