package client

import (
	"errors"
	"path/filepath"
	"sort"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
)

// errNotCached: what a cache-only read needs is not in the cache.
var errNotCached = errors.New("not in the cache")

// The cache-only reads below serve shell completion when the registry
// cannot be reached (a laptop offline, the demo's server stopped): names
// and versions from the index.json this machine last verified and the
// buckets and shards it cached, each checked against the digest its
// parent pins. Nothing is fetched or written, and the root's signature is
// not checked again (it was before it was cached): fit for suggesting
// what to type, never for what is installed, which fetch verifies online.

// cachedRoot is the last verified copy of index.json in the cache.
func (c *Client) cachedRoot() (*index.Root, error) {
	data, err := safefile.ReadFile(filepath.Join(c.cachePath("roots", urlKey(c.reg.URL)), "index.json"), index.MaxRootSize)
	if err != nil {
		return nil, errNotCached
	}
	return index.ParseRoot(data)
}

// cachedMeta is a bucket or shard from the cache, checked against ref.
func (c *Client) cachedMeta(ref index.FileRef) ([]byte, error) {
	b, err := safefile.ReadFile(c.cachePath("meta", ref.SHA256+".json"), ref.Size)
	if err != nil || ref.Verify(b) != nil {
		return nil, errNotCached
	}
	return b, nil
}

// cachedCatalog is the summaries of the cached buckets: every pack when
// a list or search read them all, fewer after single fetches.
func (c *Client) cachedCatalog() ([]index.Summary, error) {
	root, err := c.cachedRoot()
	if err != nil {
		return nil, err
	}
	var all []index.Summary
	skipMissing := func(ref index.FileRef) ([]byte, error) {
		b, err := c.cachedMeta(ref)
		if err != nil {
			return nil, index.SkipNode // not cached: its packs are not offered
		}
		return b, nil
	}
	err = index.WalkBuckets(root, skipMissing, func(_ index.FileRef, b *index.Bucket, err error) error {
		if err == nil {
			all = append(all, b.Packs...)
		}
		return nil
	})
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, err
}

// cachedShard is a pack's releases from the cache.
func (c *Client) cachedShard(name string) (*index.Shard, error) {
	root, err := c.cachedRoot()
	if err != nil {
		return nil, err
	}
	b, err := index.LeafOf(root, name, c.cachedMeta)
	if err != nil {
		return nil, err
	}
	s := b.Find(name)
	if s == nil {
		return nil, errNotCached
	}
	data, err := c.cachedMeta(s.Shard)
	if err != nil {
		return nil, err
	}
	return index.ParseShard(data, name)
}
