// Package transport reads the files of a registry site over HTTP(S), from
// a file:// URL or from a directory, with the policies every reader of a
// registry needs: credentials only for the registry's own host, no https →
// http redirects, a stall deadline and an overall deadline, and sentinels
// for each way a server can misbehave. The client and the build (reading a
// published previous build) share it.
package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/packgen/packgen/internal/location"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/redirect"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/sitedir"
	"github.com/packgen/packgen/internal/stall"
	"github.com/packgen/packgen/internal/textsafe"
)

// Response is an opened site file.
type Response struct {
	Body        io.ReadCloser
	Size        int64 // -1 when unknown
	ETag        string
	NotModified bool // the cached copy (etag given) is current
	// Mismatch, when set, says where the body was read and what bytes
	// other than those the index pins mean there (an OCI release tag:
	// moved by someone else), for the caller's digest mismatch.
	Mismatch string
}

// Transport reads files of a site.
type Transport interface {
	// Get opens path. When etag is non-empty and still current, it returns
	// NotModified with no body.
	Get(ctx context.Context, path, etag string) (*Response, error)
	String() string
}

// UserAgent is sent with every HTTP request.
var UserAgent = "packgen"

// Transport errors, usable with errors.Is.
var (
	// ErrHTTPStatus marks an HTTP status other than 200, 304 and 404.
	ErrHTTPStatus = errors.New("unexpected HTTP status")
	// ErrRedirects marks a redirect loop or chain longer than maxRedirects.
	ErrRedirects = redirect.ErrTooMany
	// ErrStalled marks a server that sent nothing for the stall timeout
	// (slow retrieval attack, or a dead connection).
	ErrStalled = stall.ErrStalled
	// ErrTimeout marks a request that exceeded the overall timeout (a
	// slow drip of data that never stalls long enough to trip
	// ErrStalled); the oci:// source's timeout is the same sentinel.
	ErrTimeout = ocireg.ErrTimeout
	// ErrTruncated marks a body shorter than its Content-Length.
	ErrTruncated = errors.New("response truncated")
	// ErrInsecureRedirect marks an https registry redirecting to http,
	// which would let anyone on the path serve (and see) the rest.
	ErrInsecureRedirect = redirect.ErrInsecure
)

// classify gives transport failures their sentinel, keeping the original.
func classify(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
		return cause
	}
	var ne interface{ Timeout() bool }
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return err
}

const maxRedirects = 5

// defaultTimeout bounds a request when Config.Timeout is 0.
const defaultTimeout = 5 * time.Minute

// DefaultStallTimeout is how long a download may go without receiving a
// byte before it is abandoned; the overall timeout bounds a slow drip.
const DefaultStallTimeout = stall.Default

// Sources are providers chosen by the location's scheme (as Helm's
// pkg/getter): http and https, file (a directory or file:///PATH), and
// whatever another file registers, so a new kind of source is a new
// file, not an edit of New.

// Config is what every source may need; each reads its own part.
type Config struct {
	Token   string        // bearer token (else ~/.netrc credentials)
	Timeout time.Duration // a whole request (0: 5 minutes)
	Stall   time.Duration // a silence (0: DefaultStallTimeout)
	// OCI is how an oci:// source reaches its registry (TLS, plain HTTP
	// on loopback, credentials beside the docker config's).
	OCI ocireg.Options
}

// Opener opens a transport for a parsed location.
type Opener func(loc location.Location, c Config) (Transport, error)

var (
	sourcesMu sync.RWMutex
	sources   = map[string]Opener{}
)

// Register makes scheme (lower case) readable through open.
func Register(scheme string, open Opener) {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	sources[scheme] = open
}

func init() {
	Register("http", openHTTP)
	Register("https", openHTTP)
	Register("file", func(loc location.Location, _ Config) (Transport, error) { return &fileTransport{dir: loc.Dir}, nil })
}

// New picks a transport for a registry location: an http(s) URL, a
// file:// URL or a directory path (see location.Parse). token, when set,
// is sent as a bearer token (else ~/.netrc credentials are used);
// timeout bounds a whole request (0: 5 minutes) and stall a silence (0:
// DefaultStallTimeout).
func New(loc, token string, timeout, stall time.Duration) (Transport, error) {
	l, err := location.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("registry URL %q: %w", loc, err)
	}
	return Open(l, Config{Token: token, Timeout: timeout, Stall: stall})
}

// Open picks the transport of a parsed location by its scheme.
func Open(l location.Location, c Config) (Transport, error) {
	sourcesMu.RLock()
	open := sources[l.Scheme]
	sourcesMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("registry URL %q: unsupported scheme (use https://, http://, file:// or a directory)", l.Raw)
	}
	return open(l, c)
}

func openHTTP(l location.Location, c Config) (Transport, error) {
	u, err := url.Parse(strings.TrimSuffix(l.Raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("registry URL %q: %w", l.Raw, err)
	}
	timeout, stall := c.Timeout, c.Stall
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	client := &http.Client{
		Timeout:       timeout,
		CheckRedirect: redirect.Policy(maxRedirects),
	}
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	return &httpTransport{base: u, client: client, token: c.Token, netrc: netrcFor(u.Hostname()), stall: stall}, nil
}

type httpTransport struct {
	base   *url.URL
	client *http.Client
	token  string
	netrc  *netrcEntry
	stall  time.Duration
}

func (t *httpTransport) String() string { return t.base.String() }

func (t *httpTransport) Get(ctx context.Context, p, etag string) (*Response, error) {
	u := *t.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + p
	// The request is cancelled when no byte arrives for t.stall, whether
	// waiting for headers or in the middle of the body.
	w := stall.New(ctx, t.stall)
	w.Arm()
	ctx = w.Context()
	ok := false
	defer func() {
		if !ok {
			w.Stop()
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", UserAgent)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	// Credentials go only to the registry's own host; Go's client drops
	// Authorization on redirects to other hosts.
	switch {
	case t.token != "":
		req.Header.Set("Authorization", "Bearer "+t.token)
	case t.netrc != nil:
		req.SetBasicAuth(t.netrc.login, t.netrc.password)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		// net/http's *url.Error would say `Get "URL": ` again after ours.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), classify(ctx, err))
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		resp.Body.Close()
		return &Response{NotModified: true, ETag: etag}, nil
	case resp.StatusCode == http.StatusOK:
		ok = true
		body := w.Body(resp.Body, func(err error) error { return classify(ctx, err) })
		return &Response{Body: body, Size: resp.ContentLength, ETag: resp.Header.Get("ETag")}, nil
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), index.ErrNotFound)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: the registry needs credentials (registry add --token-env VAR, or ~/.netrc)", u.Redacted(), textsafe.Escape(resp.Status))
	default:
		resp.Body.Close()
		// The status text is the server's to choose: escaped, a hostile
		// one cannot rewrite the user's terminal (a CR and a fake
		// success line, say).
		return nil, fmt.Errorf("GET %s: %w: %s", u.Redacted(), ErrHTTPStatus, textsafe.Escape(resp.Status))
	}
}

// Fetch reads whole site files through tr, for the index package's
// readers (index.ReadCatalog, index.ReadShard, ...).
func Fetch(tr Transport) index.FetchFunc {
	return index.Fetcher(func(ctx context.Context, p string) (io.ReadCloser, error) {
		resp, err := tr.Get(ctx, p, "")
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	})
}

type fileTransport struct{ dir string }

// webHint: a missing directory that reads like a host (127.0.0.1:8080,
// packs.acme.example/x) was most likely a URL typed without its scheme,
// which is then taken for a directory.
func webHint(dir string) string {
	host, _, _ := strings.Cut(filepath.ToSlash(dir), "/")
	if filepath.IsAbs(dir) || !strings.ContainsAny(host, ".:") || strings.HasPrefix(host, ".") {
		return ""
	}
	return " (a registry on the web is a URL: https://" + filepath.ToSlash(dir) + ")"
}

func (t *fileTransport) String() string { return t.dir }

// Lister is a Transport that can list a site's files: a directory. A
// URL cannot be listed, so over HTTP verify --site looks only for the
// names the catalogue writes (walk.Walker.List).
type Lister interface {
	// List returns the slash path of every file of the site (links
	// included), dot files and directories left out, as publish never
	// publishes them.
	List(ctx context.Context) ([]string, error)
}

func (t *fileTransport) List(ctx context.Context) ([]string, error) {
	// Through an os.Root, as publish walks a site: a site dir that is a
	// link (latest -> build-7) is listed, not taken for an empty dir.
	root, err := os.OpenRoot(t.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t.dir, err)
	}
	defer root.Close()
	var out []string
	// Every entry but a directory: a link planted in the site is served
	// as its target by a web server, so it is listed too.
	err = sitedir.Walk(ctx, root.FS(), func(p string, _ fs.DirEntry) { out = append(out, p) })
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t.dir, err)
	}
	return out, nil
}

func (t *fileTransport) Get(_ context.Context, p, _ string) (*Response, error) {
	// Stat before opening: opening a FIFO planted in a site would block.
	if info, err := os.Stat(filepath.Join(t.dir, filepath.FromSlash(p))); err == nil && !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", filepath.Join(t.dir, p))
	}
	f, err := os.Open(filepath.Join(t.dir, filepath.FromSlash(p)))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(t.dir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no such directory %s%s: %w", t.dir, webHint(t.dir), index.ErrNotFound)
		}
		return nil, fmt.Errorf("%s: %w", filepath.Join(t.dir, p), index.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", filepath.Join(t.dir, p))
	}
	return &Response{Body: f, Size: info.Size()}, nil
}

type netrcEntry struct{ login, password string }

// netrcFor finds credentials for host in $NETRC or ~/.netrc.
func netrcFor(host string) *netrcEntry {
	path := os.Getenv("NETRC")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil
		}
		path = filepath.Join(home, ".netrc")
	}
	f, err := safefile.Open(path) // a FIFO there must not hang every fetch
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseNetrc(io.LimitReader(f, 1<<20), host)
}

func parseNetrc(r io.Reader, host string) *netrcEntry {
	sc := bufio.NewScanner(r)
	sc.Split(bufio.ScanWords)
	var toks []string
	for sc.Scan() {
		toks = append(toks, sc.Text())
	}
	var cur, def *netrcEntry
	matched := false
	for i := 0; i < len(toks); i++ {
		next := func() string {
			if i+1 < len(toks) {
				i++
				return toks[i]
			}
			return ""
		}
		switch toks[i] {
		case "machine":
			if matched && cur != nil {
				return cur
			}
			cur, matched = &netrcEntry{}, next() == host
		case "default":
			if matched && cur != nil {
				return cur
			}
			def = &netrcEntry{}
			cur, matched = def, false
		case "login":
			if cur != nil {
				cur.login = next()
			}
		case "password":
			if cur != nil {
				cur.password = next()
			}
		}
	}
	if matched && cur != nil {
		return cur
	}
	if def != nil && def.login != "" {
		return def
	}
	return nil
}
