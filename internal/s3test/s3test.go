// Package s3test runs a real S3-protocol server (gofakes3, in memory) on
// loopback HTTP for tests, reached through the standard AWS SDK exactly
// like AWS S3, MinIO or R2 would be. Requests must carry a valid AWS
// Signature Version 4 made with the server's credentials (checked with
// the SDK's own signer); anonymous GET and HEAD of objects are allowed, as
// on a public-read bucket served as a static site, so a published registry
// can be read at URL()/KEY with plain HTTP.
package s3test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// The credentials the server accepts.
const (
	AccessKey = "PACKGENTESTKEY"
	SecretKey = "packgen-test-secret"
	Region    = "us-east-1"
)

// Server is a running S3 server.
type Server struct {
	*httptest.Server
	Bucket string
	mu     sync.Mutex
	puts   []string               // object PUT paths in arrival order
	heads  map[string]http.Header // request headers of the last PUT of each path
	dels   []string
	cache  map[string]string // Cache-Control stored per object (gofakes3 drops it)
	counts Counts
	// OnPut, when set, runs before each PUT is handled, with the count of
	// PUTs so far (this one included): tests slow uploads or kill the
	// uploader at a chosen moment with it.
	OnPut func(path string, n int)

	backend *s3mem.Backend
}

// Start starts a server with one bucket and points the AWS SDK's standard
// environment at it (credentials, region, no config files, no instance
// metadata lookups) for the rest of the test.
func Start(t testing.TB, bucket string) *Server {
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend, gofakes3.WithoutVersioning())
	s := &Server{Bucket: bucket, heads: map[string]http.Header{}, cache: map[string]string{}, backend: backend}
	inner := faker.Server()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(r); err != nil {
			writeError(w, http.StatusForbidden, err)
			return
		}
		s.count(r)
		if err := checkChecksum(r); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if r.Method == http.MethodGet && isObject(r) {
			w = &countingWriter{ResponseWriter: w, s: s}
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && isObject(r) {
			w = &emptyless{ResponseWriter: w}
		}
		s.replaceMetadata(r)
		switch r.Method {
		case http.MethodPut:
			s.mu.Lock()
			s.puts = append(s.puts, r.URL.Path)
			s.heads[r.URL.Path] = r.Header.Clone()
			n, hook := len(s.puts), s.OnPut
			s.mu.Unlock()
			if hook != nil {
				hook(r.URL.Path, n)
			}
			sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
			inner.ServeHTTP(sw, r)
			if sw.code == http.StatusOK && r.URL.Query().Get("partNumber") == "" {
				s.mu.Lock()
				s.cache[r.URL.Path] = r.Header.Get("Cache-Control")
				s.mu.Unlock()
			}
			return
		case http.MethodDelete:
			s.mu.Lock()
			s.dels = append(s.dels, r.URL.Path)
			delete(s.cache, r.URL.Path)
			s.mu.Unlock()
		case http.MethodGet, http.MethodHead:
			s.mu.Lock()
			cc := s.cache[r.URL.Path]
			s.mu.Unlock()
			if cc != "" {
				w.Header().Set("Cache-Control", cc)
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	Env(t)
	return s
}

// Env sets the standard AWS environment variables to the server's
// credentials and keeps the SDK away from config files and the network's
// instance metadata service.
func Env(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/packgen-s3test")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/packgen-s3test")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
}

// URL is the bucket's base URL for plain HTTP reads (path style).
func (s *Server) URL() string { return s.Server.URL + "/" + s.Bucket }

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

type authError struct{ code, msg string }

// writeError answers with S3's XML error.
func writeError(w http.ResponseWriter, status int, err *authError) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, err.code, err.msg)
}

// isObject reports whether a request names an object (bucket/key), not
// the bucket (a listing, path style).
func isObject(r *http.Request) bool {
	return strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
}

// Counts are the requests a server was sent, by kind, and the bytes of
// the object bodies that went up and came down.
type Counts struct {
	List, Head, Get, Put, Delete, Other int
	BytesUp, BytesDown                  int64
}

// Requests returns the requests since the start or the last Reset.
func (s *Server) Requests() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

func (s *Server) count(r *http.Request) {
	object := isObject(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.counts
	switch {
	case r.Method == http.MethodGet && !object:
		c.List++
	case r.Method == http.MethodGet:
		c.Get++
	case r.Method == http.MethodHead:
		c.Head++
	case r.Method == http.MethodPut:
		c.Put++
		c.BytesUp += max(r.ContentLength, 0)
	case r.Method == http.MethodDelete:
		c.Delete++
	default:
		c.Other++
	}
}

// countingWriter counts the bytes of the response to an object GET (an
// error's XML included), not a listing's.
type countingWriter struct {
	http.ResponseWriter
	s *Server
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.s.mu.Lock()
	w.s.counts.BytesDown += int64(n)
	w.s.mu.Unlock()
	return n, err
}

// replaceMetadata keeps S3's rule that an object written (PUT, or a
// multipart upload created) has the headers and metadata of that request
// only: gofakes3 carries over those of the object it replaces, so a
// Content-Encoding, Content-Disposition, website redirect or x-amz-meta-*
// a bucket writer set would outlive an upload without them. Each one the
// old object has and the request lacks is sent empty, which replaces
// it, and emptyless leaves it out of the answers.
func (s *Server) replaceMetadata(r *http.Request) {
	q := r.URL.Query()
	put := r.Method == http.MethodPut && !q.Has("partNumber") && r.Header.Get("X-Amz-Copy-Source") == ""
	create := r.Method == http.MethodPost && q.Has("uploads")
	if !put && !create || !isObject(r) {
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/"+s.Bucket+"/")
	old, err := s.backend.HeadObject(s.Bucket, key)
	if err != nil {
		return // none, or not this bucket's: nothing to carry over
	}
	for k := range old.Metadata {
		if k != "Last-Modified" && r.Header.Values(k) == nil {
			r.Header[k] = []string{""}
		}
	}
}

// emptyless leaves out of an object's HEAD or GET answer the headers
// whose value is empty: metadata replacing an old object's
// (replaceMetadata, checkChecksum), which S3 does not send at all.
type emptyless struct {
	http.ResponseWriter
	done bool
}

func (w *emptyless) clean() {
	if w.done {
		return
	}
	w.done = true
	h := w.ResponseWriter.Header()
	for k, v := range h {
		if strings.Join(v, "") == "" {
			delete(h, k)
		}
	}
}

func (w *emptyless) WriteHeader(code int) {
	w.clean()
	w.ResponseWriter.WriteHeader(code)
}

func (w *emptyless) Write(p []byte) (int, error) {
	w.clean()
	return w.ResponseWriter.Write(p)
}

// checksumHeader is the SHA-256 checksum S3 keeps of an object uploaded
// with it, and returns to a HEAD or GET with checksums enabled.
const checksumHeader = "X-Amz-Checksum-Sha256"

// checkChecksum keeps S3's rules for an object's SHA-256 checksum, which
// gofakes3 does not know: it keeps every x-amz-* header of an upload as
// metadata, carries over the replaced object's metadata, and returns it
// all on HEAD and GET. S3 stores a body sent with x-amz-checksum-sha256
// only if it hashes to it (else BadDigest), and an object written
// without one has none (a multipart upload's is of its parts; a
// streamed body is not checked here): the header is then set empty,
// which replaces what the old object had. So the checksum a HEAD
// returns is the store's, never a writer's word.
func checkChecksum(r *http.Request) *authError {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil
	}
	want := r.Header.Get(checksumHeader)
	r.Header.Set(checksumHeader, "")
	q := r.URL.Query()
	if want == "" || r.Method != http.MethodPut || q.Has("partNumber") || q.Has("uploadId") || r.Header.Get("X-Amz-Copy-Source") != "" ||
		strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return &authError{"IncompleteBody", err.Error()}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	if base64.StdEncoding.EncodeToString(sum[:]) != want {
		return &authError{"BadDigest", "The SHA256 you specified did not match the calculated checksum."}
	}
	r.Header.Set(checksumHeader, want)
	return nil
}

// authorize checks a request's SigV4 signature by signing the same
// canonical request again with the SDK's signer.
func (s *Server) authorize(r *http.Request) *authError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && isObject(r) {
			return nil // anonymous read of an object: a public static site
		}
		return &authError{"AccessDenied", "Anonymous access is only allowed to read objects"}
	}
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return &authError{"InvalidArgument", "unsupported authorization type"}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 {
		return &authError{"AuthorizationHeaderMalformed", "bad Credential"}
	}
	if scope[0] != AccessKey {
		return &authError{"InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."}
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return &authError{"AccessDenied", "missing or bad X-Amz-Date"}
	}
	signed := map[string]bool{}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		signed[h] = true
	}
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	again, _ := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	again.URL = &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	again.Host = r.Host
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if signed[lk] && lk != "host" && lk != "content-length" && lk != "authorization" {
			again.Header[k] = v
		}
	}
	if signed["content-length"] {
		again.ContentLength = r.ContentLength
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: AccessKey, SecretAccessKey: SecretKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := signer.SignHTTP(context.Background(), creds, again, r.Header.Get("X-Amz-Content-Sha256"), scope[3], scope[2], when); err != nil {
		return &authError{"AccessDenied", err.Error()}
	}
	if sig(again.Header.Get("Authorization")) != fields["Signature"] {
		return &authError{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	}
	return nil
}

func sig(auth string) string {
	_, s, _ := strings.Cut(auth, "Signature=")
	return s
}

// PutOrder returns the object PUT paths so far, in arrival order.
func (s *Server) PutOrder() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.puts...)
}

// Deletes returns the DELETE paths so far.
func (s *Server) Deletes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.dels...)
}

// Header returns the request headers of the last PUT of path.
func (s *Server) Header(path string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heads[path]
}

// Reset forgets recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	s.puts, s.dels = nil, nil
	s.counts = Counts{}
	s.mu.Unlock()
}

// Tamper writes data at key straight into the bucket, as an attacker
// with write access to it would, bypassing packgen's publish and its
// checks; nil data deletes the key.
func (s *Server) Tamper(t testing.TB, key string, data []byte) {
	t.Helper()
	var err error
	if data == nil {
		_, err = s.backend.DeleteObject(s.Bucket, key)
	} else {
		// Without the checksum the replaced object had (checkChecksum).
		_, err = s.backend.PutObject(s.Bucket, key, map[string]string{checksumHeader: ""}, bytes.NewReader(data), int64(len(data)), nil)
	}
	if err != nil {
		t.Fatalf("tamper with %s: %v", key, err)
	}
}
