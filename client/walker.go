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
	// subset sets files not found aside in gone, for VerifySiteVia to
	// sort into an air-gapped subset's absences and problems.
	subset bool
	gone   []SiteProblem
}

func (c *collector) add(p string, err error) {
	if c.subset && errors.Is(err, index.ErrNotFound) {
		c.mu.Lock()
		c.gone = append(c.gone, SiteProblem{Path: p, Err: err.Error()})
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
