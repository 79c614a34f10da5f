// Package serve is a static file server for a built registry site, for
// local use and tests. It behaves like a well-configured object store or
// CDN would: correct Content-Type, strong ETags with If-None-Match, Range
// requests, and Cache-Control long for immutable files and short for
// indexes. Nothing packgen's client needs is specific to this server.
package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/sitedir"
)

// Handler serves the site in dir.
func Handler(dir string) http.Handler {
	return &handler{root: dir, etags: map[etagKey]string{}}
}

type etagKey struct {
	path  string
	size  int64
	mtime time.Time
}

type handler struct {
	root  string
	mu    sync.Mutex
	etags map[etagKey]string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	rel := strings.TrimPrefix(p, "/")
	if rel == "" || strings.HasSuffix(r.URL.Path, "/") {
		rel = path.Join(rel, "index.html")
	}
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, ".") {
			http.NotFound(w, r)
			return
		}
	}
	// Everything is opened through an os.Root of the site, so no path
	// resolves out of it: a symlinked directory pointing at /etc is
	// refused like "..". It is opened per request because a build swaps
	// the site directory in by rename.
	site, err := os.OpenRoot(h.root)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer site.Close()
	name := filepath.FromSlash(rel)
	info, err := site.Lstat(name)
	if err == nil && info.IsDir() {
		http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
		return
	}
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	f, err := site.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	// What was opened, not what was looked at, must be a regular file
	// (a file swapped for a FIFO in between would hang the server).
	if info, err = f.Stat(); err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	etag, err := h.etag(rel, f, info)
	if err != nil {
		http.Error(w, "read error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", index.ContentType(rel))
	hd.Set("Cache-Control", index.CacheControl(rel))
	hd.Set("ETag", etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	// ServeContent handles Range, If-None-Match, If-Range and HEAD.
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// etag is a strong validator: the SHA-256 of the content, cached per
// (path, size, mtime) so each file is hashed once.
func (h *handler) etag(rel string, f *os.File, info fs.FileInfo) (string, error) {
	k := etagKey{rel, info.Size(), info.ModTime()}
	h.mu.Lock()
	e, ok := h.etags[k]
	h.mu.Unlock()
	if ok {
		return e, nil
	}
	hs := sha256.New()
	if _, err := io.Copy(hs, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	e = `"` + hex.EncodeToString(hs.Sum(nil))[:32] + `"`
	h.mu.Lock()
	h.etags[k] = e
	h.mu.Unlock()
	return e, nil
}

// CheckSite reports whether dir looks like a built site.
func CheckSite(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, index.RootFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s holds no index.json, so it is no registry site: %s", dir, sitedir.BuildHint(dir))
		}
		return err
	}
	return nil
}
