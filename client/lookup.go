package client

import (
	"context"
	"fmt"

	"github.com/packgen/packgen/index"
)

// Registry returns the registry this client talks to.
func (c *Client) Registry() Registry { return c.reg }

// Verifies reports whether this client checks signatures (the registry
// has keys and verification was not switched off).
func (c *Client) Verifies() bool { return c.verifier != nil && !c.opts.InsecureSkipVerify }

// ArchiveSigned is Archive plus the SHA-256 of the exact .sig file bytes
// that verified the archive, for callers that pin signatures (profile
// lock files). The signature is fetched once and those same bytes are
// both hashed and verified, so the digest returned always belongs to a
// signature that checked out. It is "" when the release has no signature
// (an unsigned registry; a client with keys refuses that).
func (c *Client) ArchiveSigned(ctx context.Context, name string, rel *index.Release) (path, sigSHA256 string, err error) {
	defer c.flush()
	if c.Verifies() && rel.Signature == "" {
		return "", "", fmt.Errorf("%w: %s has no signature but the registry has a key", ErrUnsigned, rel.Archive.Path)
	}
	path, raw, err := c.archive(ctx, name, rel, true)
	if err != nil || raw == nil {
		return path, "", err
	}
	return path, index.Digest(raw), nil
}

// Fork returns a client for use in another goroutine. A Client is not safe
// for concurrent use; a fork shares its transport, keys, options and the
// index.json already fetched and verified by Root (which Fork calls
// first), so parallel downloads do not each fetch and verify the index
// again. Each fork keeps its own Requests and Bytes. Call Root before
// forking from several goroutines: the parent is not safe for concurrent
// use either.
func (c *Client) Fork(ctx context.Context) (*Client, error) {
	if _, err := c.Root(ctx); err != nil {
		return nil, err
	}
	return &Client{reg: c.reg, tr: c.tr, verifier: c.verifier, opts: c.opts, root: c.root, rootData: c.rootData}, nil
}
