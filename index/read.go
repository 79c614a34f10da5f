package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// FetchFunc returns the content of a site path, reading at most max bytes
// (more is an error).
type FetchFunc func(ctx context.Context, path string, max int64) ([]byte, error)

// ErrDigestMismatch marks a file whose bytes differ from what the index pins.
var ErrDigestMismatch = errors.New("digest mismatch")

// FetchPinned fetches a file and checks it against its FileRef.
func FetchPinned(ctx context.Context, fetch FetchFunc, ref FileRef) ([]byte, error) {
	data, err := fetch(ctx, ref.Path, ref.Size)
	if err != nil {
		return nil, err
	}
	if err := ref.Verify(data); err != nil {
		return nil, err
	}
	return data, nil
}

// ReadCatalog reads and checks the root and every bucket, returning the
// root and all pack summaries sorted by name. It does not check the
// root's signature: that is the client's job.
func ReadCatalog(ctx context.Context, fetch FetchFunc) (*Root, []byte, []Summary, error) {
	data, err := fetch(ctx, RootFile, MaxRootSize)
	if err != nil {
		return nil, nil, nil, err
	}
	root, err := ParseRoot(data)
	if err != nil {
		return nil, nil, nil, err
	}
	var all []Summary
	err = WalkBuckets(root, func(ref FileRef) ([]byte, error) { return FetchPinned(ctx, fetch, ref) },
		func(_ FileRef, b *Bucket, err error) error {
			if err != nil {
				return err
			}
			all = append(all, b.Packs...)
			return nil
		})
	if err != nil {
		return nil, nil, nil, err
	}
	sortSummaries(all)
	return root, data, all, nil
}

// SkipNode, returned by WalkBuckets' get, skips a node and its subtree.
var SkipNode = errors.New("skip this bucket")

// WalkBuckets visits every node of root's bucket tree, depth first,
// parents before children, children in index order (so leaves come in
// index order). get returns a node's bytes, checked against its ref (or
// SkipNode); each node is parsed and checked against its place in the
// tree, then passed to visit with the parse error, if any (b is nil
// then, and the subtree is skipped). An error from get or visit stops
// the walk and is returned.
func WalkBuckets(root *Root, get func(ref FileRef) ([]byte, error), visit func(ref FileRef, b *Bucket, err error) error) error {
	depth := root.Levels()
	var walk func(refs []FileRef, level, base int) error
	walk = func(refs []FileRef, level, base int) error {
		for i, ref := range refs {
			idx := base<<root.BucketBits | i
			data, err := get(ref)
			if errors.Is(err, SkipNode) {
				continue
			}
			if err != nil {
				return err
			}
			b, err := ParseNode(data, root.BucketBits, depth, level, idx)
			if err != nil {
				err = fmt.Errorf("%s: %w", ref.Path, err)
				b = nil
			}
			if err := visit(ref, b, err); err != nil {
				return err
			}
			if b != nil && level < depth {
				if err := walk(b.Buckets, level+1, idx); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(root.Buckets, 1, 0)
}

// LeafOf descends root's bucket tree to the leaf that holds name (if
// the registry has it), getting each node with get, which must check
// the node's bytes against its ref, and checking each against its place.
func LeafOf(root *Root, name string, get func(ref FileRef) ([]byte, error)) (*Bucket, error) {
	bits, depth := root.BucketBits, root.Levels()
	refs := root.Buckets
	for level := 1; ; level++ {
		idx := BucketOf(name, bits*level)
		ref := refs[idx&(1<<bits-1)]
		data, err := get(ref)
		if err != nil {
			return nil, err
		}
		b, err := ParseNode(data, bits, depth, level, idx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Path, err)
		}
		if level == depth {
			return b, nil
		}
		refs = b.Buckets
	}
}

// ReadShard fetches a pack's shard and checks it against its summary.
func ReadShard(ctx context.Context, fetch FetchFunc, s Summary) (*Shard, error) {
	data, err := FetchPinned(ctx, fetch, s.Shard)
	if err != nil {
		return nil, err
	}
	return ParseShard(data, s.Name)
}

// Lookup finds one pack's summary by reading only the nodes on its path.
func Lookup(ctx context.Context, fetch FetchFunc, root *Root, name string) (*Summary, error) {
	b, err := LeafOf(root, name, func(ref FileRef) ([]byte, error) { return FetchPinned(ctx, fetch, ref) })
	if err != nil {
		return nil, err
	}
	return b.Find(name), nil
}

func sortSummaries(s []Summary) {
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
}

// ErrNotFound marks a site path that does not exist.
var ErrNotFound = errors.New("not found")

// DirFetcher reads a site from a local directory.
func DirFetcher(dir string) FetchFunc {
	return Fetcher(func(_ context.Context, p string) (io.ReadCloser, error) {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		return f, err
	})
}

// Fetcher makes a FetchFunc from an opener of site files (a directory,
// or a transport over HTTP): it refuses paths that leave the site and
// files over the size the caller expects.
func Fetcher(open func(ctx context.Context, p string) (io.ReadCloser, error)) FetchFunc {
	return func(ctx context.Context, p string, max int64) ([]byte, error) {
		if err := safeSitePath(p, ""); err != nil {
			return nil, err
		}
		rc, err := open(ctx, p)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return readMax(rc, p, max)
	}
}

func readMax(r io.Reader, p string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if int64(len(data)) > max {
		// The walker's sentinel (walk.ReadMax): a pinned file grown is
		// what was checked and found bad, not a failure to read.
		return nil, fmt.Errorf("%s: %w (more than the %d bytes expected)", p, ErrTooLarge, max)
	}
	return data, nil
}
