package publish

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DirTarget publishes into a local directory (a web server's root, a
// mounted bucket, a GitHub Pages checkout). Each file is written to a
// temporary file and renamed into place, so readers see whole files.
type DirTarget struct{ Dir string }

func (d DirTarget) String() string { return d.Dir }

func (d DirTarget) path(key string) (string, error) {
	if !fs.ValidPath(key) || strings.Contains(key, `\`) {
		return "", fmt.Errorf("invalid key %q", key)
	}
	return filepath.Join(d.Dir, filepath.FromSlash(key)), nil
}

// List walks the directory; a missing directory is an empty target.
func (d DirTarget) List(ctx context.Context) (map[string]Object, error) {
	out := map[string]Object{}
	if _, err := os.Stat(d.Dir); errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	files, err := walk(ctx, d.Dir)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		out[f.key] = Object{Size: f.size, MD5: f.md5, SHA256: f.sha256, ETag: f.md5}
	}
	return out, nil
}

// Stat hashes one file.
func (d DirTarget) Stat(ctx context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return Object{}, err
	}
	f, err := hashFile(p)
	if err != nil {
		return Object{}, err
	}
	return Object{Size: f.size, MD5: f.md5, SHA256: f.sha256}, nil
}

// Get opens one file.
func (d DirTarget) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Put writes a file via a temporary file and a rename, checking that what
// was written is what was planned.
func (d DirTarget) Put(ctx context.Context, key string, r io.ReadSeeker, info PutInfo) error {
	dst, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := md5.New()
	s := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h, s), r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != info.Size || hex.EncodeToString(s.Sum(nil)) != info.SHA256 || hex.EncodeToString(h.Sum(nil)) != info.MD5 {
		return fmt.Errorf("%s changed while uploading: publish a site that no build is writing to", key)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	// Conditions are checked just before the rename: a narrow window,
	// unlike a store's atomic conditional write, but enough to catch a
	// publish that overlapped this one.
	if info.IfMatch != "" || info.IfAbsent {
		cur, err := hashFile(dst)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if info.IfMatch != "" {
				return fmt.Errorf("%w: %s was removed", ErrConflict, key)
			}
		case err != nil:
			return err
		case info.IfAbsent || cur.md5 != info.IfMatch:
			return fmt.Errorf("%w: %s was replaced", ErrConflict, key)
		}
	}
	return os.Rename(tmp.Name(), dst)
}

// Delete removes a file.
func (d DirTarget) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	return os.Remove(p)
}
