package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
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
	if int64(len(data)) != ref.Size || Digest(data) != ref.SHA256 {
		return nil, fmt.Errorf("%w: %s: expected sha256 %s (%d bytes), got %s (%d bytes)", ErrDigestMismatch, ref.Path, ref.SHA256, ref.Size, Digest(data), len(data))
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
	for i, ref := range root.Buckets {
		b, err := ReadBucket(ctx, fetch, root, i)
		if err != nil {
			return nil, nil, nil, err
		}
		_ = ref
		all = append(all, b.Packs...)
	}
	sortSummaries(all)
	return root, data, all, nil
}

// ReadBucket fetches bucket i of root and checks it.
func ReadBucket(ctx context.Context, fetch FetchFunc, root *Root, i int) (*Bucket, error) {
	data, err := FetchPinned(ctx, fetch, root.Buckets[i])
	if err != nil {
		return nil, err
	}
	return ParseBucket(data, root.BucketBits, i)
}

// ReadShard fetches a pack's shard and checks it against its summary.
func ReadShard(ctx context.Context, fetch FetchFunc, s Summary) (*Shard, error) {
	data, err := FetchPinned(ctx, fetch, s.Shard)
	if err != nil {
		return nil, err
	}
	return ParseShard(data, s.Name)
}

// Lookup finds one pack's summary by reading only its bucket.
func Lookup(ctx context.Context, fetch FetchFunc, root *Root, name string) (*Summary, error) {
	b, err := ReadBucket(ctx, fetch, root, BucketOf(name, root.BucketBits))
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
	return func(_ context.Context, p string, max int64) ([]byte, error) {
		if err := safeSitePath(p, ""); err != nil {
			return nil, err
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readMax(f, p, max)
	}
}

// HTTPFetcher reads a site from a base URL.
func HTTPFetcher(base string, c *http.Client) FetchFunc {
	if c == nil {
		// Never http.DefaultClient: it has no timeout, so a server that
		// stops sending would hang the reader forever.
		c = &http.Client{Timeout: 5 * time.Minute}
	}
	base = strings.TrimSuffix(base, "/")
	return func(ctx context.Context, p string, max int64) ([]byte, error) {
		if err := safeSitePath(p, ""); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+(&url.URL{Path: p}).EscapedPath(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
		}
		return readMax(resp.Body, p, max)
	}
}

// FetcherFor picks a fetcher for a site location: http(s) URL, file:// URL or directory.
func FetcherFor(loc string) FetchFunc {
	switch {
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		return HTTPFetcher(loc, nil)
	case strings.HasPrefix(loc, "file://"):
		u, err := url.Parse(loc)
		if err == nil {
			return DirFetcher(u.Path)
		}
	}
	return DirFetcher(loc)
}

func readMax(r io.Reader, p string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than the %d bytes expected", p, max)
	}
	return data, nil
}
