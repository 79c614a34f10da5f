package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packgen/packgen/index"
)

// Response is an opened site file.
type Response struct {
	Body        io.ReadCloser
	Size        int64 // -1 when unknown
	ETag        string
	NotModified bool // the cached copy (etag given) is current
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

// NewTransport picks a transport for a registry location: an http(s) URL,
// a file:// URL or a directory path.
func NewTransport(loc, token string, timeout time.Duration) (Transport, error) {
	switch {
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		u, err := url.Parse(strings.TrimSuffix(loc, "/"))
		if err != nil {
			return nil, fmt.Errorf("registry URL %q: %w", loc, err)
		}
		if timeout <= 0 {
			timeout = 5 * time.Minute
		}
		c := &http.Client{
			Timeout: timeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return fmt.Errorf("stopped after %d redirects", len(via))
				}
				if req.URL.Scheme != "https" && via[0].URL.Scheme == "https" {
					return errors.New("refusing a redirect from https to http")
				}
				return nil
			},
		}
		return &httpTransport{base: u, client: c, token: token, netrc: netrcFor(u.Hostname())}, nil
	case strings.HasPrefix(loc, "file://"):
		u, err := url.Parse(loc)
		if err != nil || u.Path == "" {
			return nil, fmt.Errorf("registry URL %q is not a valid file:// URL", loc)
		}
		return &fileTransport{dir: u.Path}, nil
	case strings.Contains(loc, "://"):
		return nil, fmt.Errorf("registry URL %q: unsupported scheme (use https://, http://, file:// or a directory)", loc)
	}
	return &fileTransport{dir: loc}, nil
}

type httpTransport struct {
	base   *url.URL
	client *http.Client
	token  string
	netrc  *netrcEntry
}

func (t *httpTransport) String() string { return t.base.String() }

func (t *httpTransport) Get(ctx context.Context, p, etag string) (*Response, error) {
	u := *t.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + p
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
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		resp.Body.Close()
		return &Response{NotModified: true, ETag: etag}, nil
	case resp.StatusCode == http.StatusOK:
		return &Response{Body: resp.Body, Size: resp.ContentLength, ETag: resp.Header.Get("ETag")}, nil
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), index.ErrNotFound)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: the registry needs credentials (registry add --token-env VAR, or ~/.netrc)", u.Redacted(), resp.Status)
	default:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
	}
}

type fileTransport struct{ dir string }

func (t *fileTransport) String() string { return t.dir }

func (t *fileTransport) Get(_ context.Context, p, _ string) (*Response, error) {
	f, err := os.Open(filepath.Join(t.dir, filepath.FromSlash(p)))
	if errors.Is(err, fs.ErrNotExist) {
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
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseNetrc(f, host)
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
