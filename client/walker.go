package client

import (
	"errors"
	"fmt"
	"sync"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/walk"
)

// The walk's types the client's own code names.
type (
	Walker  = walk.Walker
	Fetched = walk.Fetched
)

// collector gathers Walk's problems from several goroutines.
type collector struct {
	mu   sync.Mutex
	list []SiteProblem
	// absent, when set, takes a file not found that an air-gapped
	// subset lacks by its marker (verifyAbsent), instead of a problem.
	absent func(p string) bool
	gone   []string
}

func (c *collector) add(p string, err error) {
	if c.absent != nil && errors.Is(err, index.ErrNotFound) {
		c.mu.Lock()
		c.gone = append(c.gone, p)
		c.mu.Unlock()
		return
	}
	msg := err.Error()
	if me, ok := err.(*index.MismatchError); ok && me.Ref.Path == p {
		msg = fmt.Sprintf("%v: %s", ErrDigestMismatch, me.Detail()) // the path is said once
	}
	c.mu.Lock()
	c.list = append(c.list, SiteProblem{Path: p, Err: msg})
	c.mu.Unlock()
}
