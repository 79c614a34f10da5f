// Package publish uploads a built registry site to object storage (any
// S3-compatible store) or a directory, so that readers never see an index
// pointing at something missing:
//
//  1. everything content-addressed or immutable (archives, signatures,
//     buckets, shards, the root's digest-named signature) goes first;
//  2. then the mutable convenience files (HTML pages, per-pack copies);
//  3. then index.json.sig and index.json.sigstore.json;
//  4. index.json itself goes last.
//
// A publish killed at any moment therefore leaves the remote serving the
// old index or the new one, each complete and verifiable. Only what the
// remote lacks or holds differently is uploaded (compared by MD5, which is
// what S3 reports as the ETag of a single-part upload, and by size).
// Deleting requires Prune and never removes a published release archive.
package publish

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/packgen/packgen/index"
)

// Object is a remote object as listed.
type Object struct {
	Size int64
	MD5  string // lowercase hex, "" when unknown
}

// Target is where a site is published.
type Target interface {
	List(ctx context.Context) (map[string]Object, error)
	Put(ctx context.Context, key string, r io.Reader, size int64, md5hex, contentType, cacheControl string) error
	Delete(ctx context.Context, key string) error
	String() string
}

// Options tune Publish.
type Options struct {
	DryRun bool
	Prune  bool // delete remote objects the site no longer has (never release archives)
	Log    io.Writer
}

// Result says what changed (or would, with DryRun).
type Result struct {
	Uploaded  []string `json:"uploaded"`
	Unchanged int      `json:"unchanged"`
	Deleted   []string `json:"deleted"`
	Kept      []string `json:"kept"` // remote-only objects left in place
}

type localFile struct {
	key, path string
	size      int64
	md5       string
}

// Publish uploads the site in dir to t.
func Publish(ctx context.Context, dir string, t Target, o Options) (*Result, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	rootData, err := os.ReadFile(filepath.Join(dir, index.RootFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a built site (no index.json): %w", dir, err)
	}
	if _, err := index.ParseRoot(rootData); err != nil {
		return nil, fmt.Errorf("%s/index.json: %w", dir, err)
	}
	local, err := walk(dir)
	if err != nil {
		return nil, err
	}
	remote, err := t.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t, err)
	}
	res := &Result{Uploaded: []string{}, Deleted: []string{}, Kept: []string{}}
	for _, f := range ordered(local) {
		if r, ok := remote[f.key]; ok && r.Size == f.size && r.MD5 == f.md5 {
			res.Unchanged++
			continue
		}
		if r, ok := remote[f.key]; ok && index.Immutable(f.key) && strings.HasSuffix(f.key, ".tar.gz") && r.MD5 != "" {
			return nil, fmt.Errorf("%s already exists on %s with other content: published archives are immutable; rebuild from the published registry (packgen build --previous URL) instead of from scratch", f.key, t)
		}
		res.Uploaded = append(res.Uploaded, f.key)
		if o.DryRun {
			fmt.Fprintf(o.Log, "would upload %s\n", f.key)
			continue
		}
		if err := put(ctx, t, f); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Log, "uploaded %s\n", f.key)
	}
	have := map[string]bool{}
	for _, f := range local {
		have[f.key] = true
	}
	var extra []string
	for k := range remote {
		if !have[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		if !o.Prune || isReleaseFile(k) {
			res.Kept = append(res.Kept, k)
			continue
		}
		res.Deleted = append(res.Deleted, k)
		if o.DryRun {
			fmt.Fprintf(o.Log, "would delete %s\n", k)
			continue
		}
		if err := t.Delete(ctx, k); err != nil {
			return nil, fmt.Errorf("delete %s: %w", k, err)
		}
		fmt.Fprintf(o.Log, "deleted %s\n", k)
	}
	return res, nil
}

// isReleaseFile reports whether a key is a published release's archive or
// signature, which pruning never removes.
func isReleaseFile(k string) bool {
	parts := strings.Split(k, "/")
	return len(parts) == 4 && parts[0] == "packs" && parts[2] != "shards"
}

func put(ctx context.Context, t Target, f localFile) error {
	r, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := t.Put(ctx, f.key, r, f.size, f.md5, index.ContentType(f.key), index.CacheControl(f.key)); err != nil {
		return fmt.Errorf("upload %s: %w", f.key, err)
	}
	return nil
}

// stage orders uploads so the remote is consistent at every moment.
func stage(key string) int {
	switch {
	case key == index.RootFile:
		return 3
	case key == index.RootFile+index.SignatureExt || key == index.RootFile+index.BundleExt:
		return 2
	case index.Immutable(key):
		return 0
	}
	return 1
}

func ordered(files []localFile) []localFile {
	out := append([]localFile(nil), files...)
	sort.SliceStable(out, func(i, j int) bool {
		si, sj := stage(out[i].key), stage(out[j].key)
		if si != sj {
			return si < sj
		}
		return out[i].key < out[j].key
	})
	return out
}

func walk(dir string) ([]localFile, error) {
	var out []localFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		sum, size, err := md5File(p)
		if err != nil {
			return err
		}
		out = append(out, localFile{key: filepath.ToSlash(rel), path: p, size: size, md5: sum})
		return nil
	})
	return out, err
}

func md5File(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := md5.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// DirTarget publishes into a local directory (or a mounted bucket), with
// atomic renames per file.
type DirTarget struct{ Dir string }

func (d DirTarget) String() string { return d.Dir }

// List walks the directory.
func (d DirTarget) List(ctx context.Context) (map[string]Object, error) {
	out := map[string]Object{}
	if _, err := os.Stat(d.Dir); errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	files, err := walk(d.Dir)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		out[f.key] = Object{Size: f.size, MD5: f.md5}
	}
	return out, nil
}

// Put writes a file via a temp file and rename.
func (d DirTarget) Put(ctx context.Context, key string, r io.Reader, size int64, md5hex, _, _ string) error {
	dst := filepath.Join(d.Dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != size || hex.EncodeToString(h.Sum(nil)) != md5hex {
		return fmt.Errorf("%s changed while uploading", key)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// Delete removes a file.
func (d DirTarget) Delete(ctx context.Context, key string) error {
	return os.Remove(filepath.Join(d.Dir, filepath.FromSlash(key)))
}
