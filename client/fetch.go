package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/walk"
)

// cachedArchive checks a cached copy of the archive ref pins, returning
// its SHA-256: found says there is a regular file, ok that it holds the
// pinned bytes.
func cachedArchive(path string, ref index.FileRef) (sum [32]byte, found, ok bool) {
	f, err := safefile.Open(path)
	if err != nil {
		return sum, false, false
	}
	defer f.Close()
	pr := ref.VerifyReader(f)
	if _, err := io.Copy(io.Discard, pr); err != nil || pr.Verify() != nil {
		return sum, true, false
	}
	return pr.Sum(), true, true
}

// Archive returns the path of a verified copy of a release's archive in
// the cache (content-addressed by SHA-256), downloading it when needed. A
// corrupted cache entry is detected and fetched again. The download is
// streamed and capped at the size the shard records.
func (c *Client) Archive(ctx context.Context, name string, rel *index.Release) (string, error) {
	defer c.flush()
	path, _, err := c.archive(ctx, name, rel, false)
	return path, err
}

// ExtractArchive extracts the archive at path, a verified copy in the
// cache as Archive or ArchiveSigned returned it, safely into dest (see
// pack.Extract): the one way fetch and profile fetch unpack a release.
// As with pack.Extract, o.Stage is removed on any error, a failure to
// open path included.
func ExtractArchive(path, dest string, o pack.ExtractOptions) (*pack.ExtractResult, error) {
	f, err := safefile.Open(path)
	if err != nil {
		if o.Stage != "" {
			os.RemoveAll(o.Stage)
		}
		return nil, err
	}
	defer f.Close()
	return pack.Extract(f, dest, o)
}

// archive is Archive; with wantSig it also returns the bytes of the .sig
// file (nil when the release has none), fetched even when signatures are
// not checked. The .sig downloads while the archive does (or is read from
// the cache), and is checked once the archive's digest is known.
func (c *Client) archive(ctx context.Context, name string, rel *index.Release, wantSig bool) (string, []byte, error) {
	if err := c.included(ctx, name, rel); err != nil {
		return "", nil, err
	}
	ref := rel.Archive
	dir := c.cachePath("archives")
	cached := filepath.Join(dir, ref.SHA256+".tar.gz")
	var sig <-chan Fetched
	if (c.Verifies() || wantSig) && rel.Signature != "" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		sig = c.getAsync(ctx, rel.Signature, sign.MaxSigFileSize)
		defer func() {
			cancel()
			for range sig {
			}
		}()
	}
	if sum, found, ok := cachedArchive(cached, ref); ok {
		raw, err := c.archiveSigned(rel, sig, cached, sum)
		if err != nil {
			return "", nil, err
		}
		return cached, raw, nil
	} else if found {
		fmt.Fprintf(c.opts.Warn, "warning: cached %s is corrupt; fetching it again\n", cached)
		os.Remove(cached)
	}
	tmp, sum, err := c.download(ctx, name, ref, dir)
	if tmp != "" {
		defer os.Remove(tmp)
	}
	if errors.Is(err, ErrNotFound) {
		// An air-gapped subset's release not there: say why.
		if air, _ := c.subset(ctx); air != nil && !air.Has(name, rel.Version) {
			return "", nil, c.notInBundle(air, name+"@"+rel.Version, true)
		}
	}
	if err != nil {
		return "", nil, err
	}
	raw, err := c.archiveSigned(rel, sig, tmp, sum)
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return "", nil, err
	}
	if err := os.Rename(tmp, cached); err != nil {
		return "", nil, err
	}
	return cached, raw, nil
}

// archiveSigned finishes with the archive of rel at file, of digest sum,
// once its signature (arriving on sig; nil when not fetched) verifies, and
// returns the signature's bytes.
func (c *Client) archiveSigned(rel *index.Release, sig <-chan Fetched, file string, sum [32]byte) ([]byte, error) {
	if sig == nil {
		if c.Verifies() {
			return nil, walk.UnsignedRelease(rel)
		}
		return nil, nil
	}
	r := <-sig
	if r.Err != nil {
		return nil, fmt.Errorf("signature of %s: %w", rel.Archive.Path, r.Err)
	}
	if c.Verifies() {
		open := func() (io.ReadCloser, error) { return safefile.Open(file) }
		if err := c.walker().ArchiveSignature(rel, r.Data, sum, open); err != nil {
			return nil, err
		}
	}
	return r.Data, nil
}

// download streams the archive ref pins into a new file in dir, checking
// it as it goes; tmp, when not "", is the file, to remove unless renamed.
// The directory and the file are made while the request is out.
func (c *Client) download(ctx context.Context, name string, ref index.FileRef, dir string) (tmp string, sum [32]byte, err error) {
	var f *os.File
	var fileErr error
	c.later(func() {
		if fileErr = os.MkdirAll(dir, 0o755); fileErr == nil {
			c.sweepDownloads.Do(func() { sweepStale(dir, ".download-*", time.Now()) })
			f, fileErr = os.CreateTemp(dir, ".download-*")
			if fileErr == nil {
				// Held until f is closed: a concurrent fetch's sweep
				// must not take a long download for a killed one's.
				stale.HoldFile(f)
			}
		}
	})
	// By the digest the shard pins where the transport can (an OCI
	// registry then skips the release manifest).
	resp, err := c.openWith(ctx, func() (*Response, error) { return transport.GetPinned(ctx, c.tr, ref) })
	c.flush()
	if f != nil {
		tmp = f.Name()
		defer f.Close()
	}
	if err != nil {
		return tmp, sum, err
	}
	defer resp.Body.Close()
	if err := walk.Announced(ref, resp); err != nil {
		return tmp, sum, err
	}
	if fileErr != nil {
		return tmp, sum, fileErr
	}
	var wrap func(io.Reader) io.Reader
	if c.opts.Progress != nil {
		wrap = func(r io.Reader) io.Reader { return c.opts.Progress(name, ref.Size, r) }
	}
	sum, n, err := walk.CopyPinned(ref, resp, f, wrap)
	c.count(ref.Path, n)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("download %s: %w", ref.Path, cerr)
	}
	return tmp, sum, err
}

// FetchOptions say what to fetch and where.
type FetchOptions struct {
	Name       string
	Constraint string // Masterminds semver constraint; "" = latest
	Pre        bool   // allow prereleases
	Dest       string // default ./NAME-VERSION
	Force      bool   // replace an existing Dest
}

// Retired says that rel, a release of name, is deprecated or deleted and
// why (index.Release.StateWhy, escaped for a terminal: a retirement's
// reason is the registry's text), "" for an active release. Every command
// that uses a release says it so (fetch, the profile commands, images,
// airgap export), each adding what to do.
func Retired(name string, rel *index.Release) string {
	if !rel.Deprecated() && !rel.Deleted() {
		return ""
	}
	return fmt.Sprintf("%s@%s is %s (%s)", textsafe.Escape(name), textsafe.Escape(rel.Version), rel.State(), textsafe.Escape(rel.StateWhy()))
}

// FetchResult describes a fetched pack.
type FetchResult struct {
	Registry string `json:"registry"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Commit   string `json:"commit"`
	Dest     string `json:"dest"`
	Files    int    `json:"files"`
	Verified bool   `json:"verified"`
}

// Fetch resolves, downloads, verifies and extracts one pack. On any error
// Dest is untouched.
func (c *Client) Fetch(ctx context.Context, o FetchOptions) (*FetchResult, error) {
	defer c.flush()
	rel, err := c.resolve(ctx, o.Name, o.Constraint, o.Pre)
	if err != nil {
		return nil, err
	}
	switch {
	case rel.Deprecated():
		fmt.Fprintf(c.opts.Warn, "warning: %s: move to a newer version\n", Retired(o.Name, rel))
	case rel.Deleted():
		fmt.Fprintf(c.opts.Warn, "warning: %s: fetched only because its exact version was asked for\n", Retired(o.Name, rel))
	}
	dest := o.Dest
	if dest == "" {
		dest = o.Name + "-" + rel.Version
	}
	if _, err := os.Lstat(dest); err == nil && !o.Force {
		return nil, fmt.Errorf("%w: %s (pass --force to replace it)", pack.ErrDestExists, dest)
	}
	// The directory to unpack into, beside dest, is made while the
	// archive downloads; it is removed unless extraction takes it over.
	var stage string
	var stageErr error
	var release func()
	c.later(func() {
		if stage, stageErr = pack.MkdirStage(dest); stageErr == nil {
			// Held while this fetch lives, so the sweep of other
			// fetches (and of this one, just below) leaves it alone.
			release, _ = stale.Hold(stage)
			sweepStale(filepath.Dir(stage), ".packgen-extract-*", time.Now())
		}
	})
	extracting := false
	defer func() {
		if !extracting && stage != "" {
			os.RemoveAll(stage)
		}
		if release != nil {
			release()
		}
	}()
	file, _, err := c.archive(ctx, o.Name, rel, false)
	c.flush()
	if err != nil {
		return nil, err
	}
	if stageErr != nil {
		return nil, stageErr
	}
	extracting = true
	res, err := ExtractArchive(file, dest, pack.ExtractOptions{Root: o.Name, Overwrite: o.Force, Stage: stage})
	if err != nil {
		if errors.Is(err, pack.ErrCorrupt) || errors.Is(err, pack.ErrUnsafePath) {
			return nil, fmt.Errorf("%s@%s: %w", o.Name, rel.Version, err)
		}
		return nil, err
	}
	return &FetchResult{
		Registry: c.reg.Name, Name: o.Name, Version: rel.Version, SHA256: rel.Archive.SHA256, Size: rel.Archive.Size,
		Commit: rel.Commit, Dest: dest, Files: res.Files, Verified: c.verifier != nil && !c.opts.InsecureSkipVerify,
	}, nil
}
