package client

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Masterminds/semver/v3"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/internal/transport"
)

// An air-gapped registry (packgen airgap import) serves its source's
// signed index.json as it is, and of the tree below it only the files on
// the way to the releases its bundles carried; its marker
// (index.AirgapFile) names those releases. The client then offers what
// is there: list and search show the packs present with their newest
// present version, info and resolve see only the present releases, and
// a release or pack not there is "not in this air-gapped registry", not
// a broken one. The marker is unsigned: it only narrows what is offered.
// Every file read is still checked against the signed index, and a
// release the marker claims but the registry lacks still fails.

// ErrNotInBundle marks a pack or release the signed index of an
// air-gapped registry lists but its bundles did not carry.
var ErrNotInBundle = index.ErrNotInBundle

// subsetOnce holds the marker, read at most once per Client.
type subsetOnce struct {
	once sync.Once
	read atomic.Bool // once ran
	air  *index.Airgap
	err  error
	mu   sync.Mutex
	said map[string]bool // warnings given
}

// subset returns the registry's air-gap marker, nil for a registry that
// has none (a whole registry).
func (c *Client) subset(ctx context.Context) (*index.Airgap, error) {
	c.air.once.Do(func() {
		defer c.air.read.Store(true)
		// Read once for the Client's life: not under one call's
		// cancellation, or a canceled call would leave every later one
		// a "context canceled" marker (the transport's limits bound it).
		air, err := index.ReadAirgap(context.WithoutCancel(ctx), c.fetch)
		if err != nil {
			c.air.err = fmt.Errorf("registry %s: %w", c.reg.Name, err)
			return
		}
		c.air.air = air
	})
	return c.air.air, c.air.err
}

// prefetchSubset starts reading an oci:// registry's marker while the
// caller reads the bucket tree, so that it costs a request but no wait;
// subsetAfter waits for it.
func (c *Client) prefetchSubset(ctx context.Context) {
	if strings.HasPrefix(c.reg.URL, "oci://") && !c.air.read.Load() {
		go c.subset(ctx)
		runtime.Gosched() // send the request before the caller goes on
	}
}

// subsetAfter returns the marker (nil: none, or one that does not read,
// with a warning) when it matters: always for an oci://
// registry (the only kind airgap import writes, where the marker is one
// manifest request), and for others once err says a file the signed
// index names is not there (or once it was read), so that a whole
// static registry costs no extra request.
func (c *Client) subsetAfter(ctx context.Context, err error) *index.Airgap {
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil
	}
	if err == nil && !strings.HasPrefix(c.reg.URL, "oci://") && !c.air.read.Load() {
		return nil
	}
	air, aerr := c.subset(ctx)
	if aerr != nil {
		// The marker only narrows what is offered: without it the
		// registry reads as a whole one, every file still checked (and
		// what is not there fails as it did).
		c.warnOnce(fmt.Sprintf("%v: read as a whole registry", aerr))
		return nil
	}
	return air
}

// presentBeyond looks, of the releases of full (the signed shard) that
// match and are newer than rel (what the marker leaves, nil: none), for
// the newest that is there all the same (index.Airgap.Holds: the marker
// may explain an absence, never cause one). It asks for each one's
// archive (newest first, one request each, only those the marker leaves
// out), and returns the first found (with a warning that the marker is
// wrong) as present, and the newest match as want (nil when rel is it).
func (c *Client) presentBeyond(ctx context.Context, full *index.Shard, rel *index.Release, name, constraint string, cons *semver.Constraints, pre bool) (want, present *index.Release, err error) {
	air, _ := c.subset(ctx)
	left := &index.Shard{SchemaVersion: full.SchemaVersion, Name: full.Name, Releases: slices.Clone(full.Releases)}
	for {
		next, _ := resolveRelease(left, name, constraint, cons, pre)
		if next == nil || rel != nil && next.Version == rel.Version {
			return want, nil, nil
		}
		if want == nil {
			want = next
		}
		held, wrong, err := air.Holds(ctx, c.stat, name, next)
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("registry %s: %w", c.reg.Name, err)
		case held:
			if wrong {
				c.warnWrong([]string{name + "@" + next.Version}, "using it")
			}
			return want, next, nil
		}
		left.Releases = slices.DeleteFunc(left.Releases, func(r index.Release) bool { return r.Version == next.Version })
	}
}

// stat says whether a file the signed index pins is there (index.StatFunc).
func (c *Client) stat(ctx context.Context, ref index.FileRef) error {
	return transport.Stat(c.tr)(ctx, ref)
}

// warnWrong says once each that the marker leaves out a release
// (name@version) that is there (index.MarkerWrong).
func (c *Client) warnWrong(wrong []string, doing string) {
	for _, id := range wrong {
		name, version, _ := strings.Cut(id, "@")
		c.warnOnce(index.MarkerWrong(c.reg.Name, name, version, doing))
	}
}

// notInBundle is the refusal of a pack or release an air-gapped
// registry does not hold (index.NotInBundle), naming the registry.
func (c *Client) notInBundle(air *index.Airgap, what string, listed bool) error {
	return fmt.Errorf("registry %s: %w", c.reg.Name, index.NotInBundle(what, listed, air))
}

// catalogSubset is Catalog of an air-gapped registry
// (index.SubsetCatalog), with one warning counting what the signed index
// lists beyond it.
func (c *Client) catalogSubset(ctx context.Context, root *index.Root, air *index.Airgap) ([]index.Summary, error) {
	all, packs, releases, wrong, err := index.SubsetCatalog(ctx, root, air, func(ref index.FileRef) ([]byte, error) { return c.meta(ctx, ref) }, c.stat)
	if err != nil {
		return nil, err
	}
	c.warnWrong(wrong, "showing it") // as Shard: info after list warns once
	c.warnSubset(air, packs, releases, "")
	return all, nil
}

// warnSubset says once what an air-gapped registry lacks.
func (c *Client) warnSubset(air *index.Airgap, packs, releases int, which string) {
	if msg := index.SubsetWarning(c.reg.Name, air, packs, releases, which); msg != "" {
		c.warnOnce(msg)
	}
}

// warnOnce gives a warning about the marker once per Client and forks.
func (c *Client) warnOnce(msg string) {
	c.air.mu.Lock()
	defer c.air.mu.Unlock()
	if c.air.said[msg] {
		return
	}
	if c.air.said == nil {
		c.air.said = map[string]bool{}
	}
	c.air.said[msg] = true
	fmt.Fprintf(c.opts.Warn, "warning: %s\n", textsafe.Escape(msg)) // a marker read error quotes a server
}
