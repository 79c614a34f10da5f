package client

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/parallel"
)

// Hit is a pack of a registry's catalogue that a search matched.
type Hit struct {
	Registry string `json:"registry"` // the configured name
	index.Summary
}

// Search returns the packs of regs' catalogues (verified as every read
// is) whose name, display name, layer or add-on type holds term, in any
// case, listed registry by registry in regs' order (the catalogues are
// read at once). A registry that cannot be searched does not hide the
// others' packs: its error, naming it, is one of failed, and the search
// goes on; the caller decides what a failure means (a registry down
// against one that failed verification). An error of open (a registry's
// configuration, before anything is read) is returned as err.
func Search(ctx context.Context, regs []Registry, open func(Registry) (*Client, error), term string) (hits []Hit, failed []error, err error) {
	clients := make([]*Client, len(regs))
	var warnMu sync.Mutex // the clients often share one warning writer
	for i, reg := range regs {
		if clients[i], err = open(reg); err != nil {
			return nil, nil, err
		}
		clients[i].opts.Warn = &sharedLockWriter{mu: &warnMu, w: clients[i].opts.Warn}
	}
	// The registries are read at once: a silent one costs its stall
	// timeout once, not once per registry before it in the list.
	term = strings.ToLower(term)
	found := make([][]Hit, len(regs))
	errs := make([]error, len(regs))
	err = parallel.Each(ctx, len(regs), maxSearchJobs, func(i int) error {
		packs, err := clients[i].Catalog(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return err // interrupted: no partial answer
			}
			errs[i] = &SearchError{Registry: regs[i].Name, Err: err}
			return nil
		}
		for _, p := range packs {
			if strings.Contains(strings.ToLower(strings.Join([]string{p.Name, p.DisplayName, p.Layer, p.AddonType}, "\n")), term) {
				found[i] = append(found[i], Hit{regs[i].Name, p})
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	hits = []Hit{}
	for i := range regs {
		hits = append(hits, found[i]...)
		if errs[i] != nil {
			failed = append(failed, errs[i])
		}
	}
	return hits, failed, nil
}

// maxSearchJobs bounds the registries Search reads at once.
const maxSearchJobs = 8

// sharedLockWriter serialises the writes of several writers under one
// lock: Search's clients write their warnings at once.
type sharedLockWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *sharedLockWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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
