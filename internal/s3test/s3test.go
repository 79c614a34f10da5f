// Package s3test runs a real S3-protocol server (gofakes3, in memory) on
// loopback HTTP for tests, reached through the standard AWS SDK exactly
// like AWS S3, MinIO or R2 would be.
package s3test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running S3 server.
type Server struct {
	*httptest.Server
	mu sync.Mutex
	// Puts lists object PUT paths in arrival order.
	Puts []string
	// Headers holds the request headers of the last PUT of each path
	// (the fake does not keep Cache-Control, so tests check requests).
	Headers map[string]http.Header
	// OnPut, when set, runs before each PUT is handled (e.g. to slow it).
	OnPut func(path string)
}

// Start starts a server with one bucket and points the AWS SDK's standard
// environment at it with throwaway credentials.
func Start(t testing.TB, bucket string) *Server {
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend)
	s := &Server{Headers: map[string]http.Header{}}
	inner := faker.Server()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			s.mu.Lock()
			s.Puts = append(s.Puts, r.URL.Path)
			s.Headers[r.URL.Path] = r.Header.Clone()
			hook := s.OnPut
			s.mu.Unlock()
			if hook != nil {
				hook(r.URL.Path)
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "packgen-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "packgen-test-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	return s
}

// PutOrder returns a copy of the PUT paths so far.
func (s *Server) PutOrder() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.Puts...)
}

// Header returns the headers of the last PUT of path.
func (s *Server) Header(path string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Headers[path]
}

// Reset forgets recorded PUTs.
func (s *Server) Reset() {
	s.mu.Lock()
	s.Puts = nil
	s.mu.Unlock()
}
