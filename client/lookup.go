package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/sign"
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
	if c.Verifies() && rel.Signature == "" {
		return "", "", fmt.Errorf("%w: %s has no signature but the registry has a key", ErrUnsigned, rel.Archive.Path)
	}
	// Download (or reuse the cached copy) with size and digest checked,
	// leaving the signature to below so that its file is fetched once.
	dl := *c
	dl.opts.InsecureSkipVerify = true
	path, err = dl.Archive(ctx, name, rel)
	c.Requests, c.Bytes = dl.Requests, dl.Bytes
	if err != nil || rel.Signature == "" {
		return path, "", err
	}
	raw, err := c.get(ctx, rel.Signature, sign.MaxSigFileSize)
	if err != nil {
		return "", "", fmt.Errorf("signature of %s: %w", rel.Archive.Path, err)
	}
	sigSHA256 = index.Digest(raw)
	if !c.Verifies() {
		return path, sigSHA256, nil
	}
	sig, err := sign.DecodeSigFile(raw)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", rel.Signature, err)
	}
	var sum [32]byte
	b, err := hex.DecodeString(rel.Archive.SHA256)
	if err != nil || len(b) != len(sum) {
		return "", "", fmt.Errorf("%w: %s: sha256 %q is not 64 hex digits", ErrDigestMismatch, rel.Archive.Path, rel.Archive.SHA256)
	}
	copy(sum[:], b)
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	if err := c.verifier.VerifyDigest(sum, open, sig); err != nil {
		return "", "", fmt.Errorf("%s: %w", rel.Archive.Path, err)
	}
	return path, sigSHA256, nil
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
