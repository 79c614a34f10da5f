package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/transport"
)

// testSearch (run by TestComplete, on its registries: building them
// again costs seconds): every registry's matching packs, in the
// registries' order; a registry that cannot be read (down, silent,
// failing verification) is a failure naming it and never hides the
// others' packs; an error of open stops the search.
func testSearch(t *testing.T, f *tryFixture) {
	silent := Registry{Name: "silent", URL: "http://" + testutil.SilentAddr(t), Keys: f.new.Keys}
	openErr := errors.New("no such credential helper")
	for _, tc := range []struct {
		name   string
		regs   []Registry
		term   string
		failOn string   // open fails for this registry
		hits   []string // registry/name, in order
		failed []error  // each failure matches its entry
		msg    []string // the failures say these, in order
		err    error
	}{
		{name: "all answer", regs: []Registry{f.old, f.new}, term: "CAL", hits: []string{"old/calico", "new/calico"}},
		{name: "display name", regs: []Registry{f.new}, term: "pack falco", hits: []string{"new/falco"}},
		{name: "one down", regs: []Registry{f.down, f.new}, term: "falco", hits: []string{"new/falco"},
			failed: []error{syscall.ECONNREFUSED}, msg: []string{"registry down: ", strings.TrimPrefix(f.down.URL, "http://")}},
		{name: "one silent", regs: []Registry{f.old, silent}, term: "metal", hits: []string{"old/metallb"},
			failed: []error{transport.ErrStalled}, msg: []string{"registry silent: "}},
		{name: "one tampered", regs: []Registry{f.tampered, f.old}, term: "calico", hits: []string{"old/calico"},
			failed: []error{ErrBadSignature}, msg: []string{"registry tampered: "}},
		{name: "none answers", regs: []Registry{f.down, f.tampered}, term: "calico",
			failed: []error{syscall.ECONNREFUSED, ErrBadSignature}},
		{name: "open error", regs: []Registry{f.old, f.new}, term: "calico", failOn: "new", err: openErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := f.opts
			if slices.ContainsFunc(tc.regs, func(r Registry) bool { return r.Name == silent.Name }) {
				// Short only where a registry stays silent: on a loaded
				// machine 300 ms can pass between the bytes of a live one.
				opts.StallTimeout = 300 * time.Millisecond
			}
			hits, failed, err := Search(context.Background(), tc.regs, openFailing(tc.failOn, openErr, opts), tc.term)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || hits != nil {
					t.Fatalf("Search = %v, %v; want %v and no hits", hits, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, h := range hits {
				got = append(got, h.Registry+"/"+h.Name)
			}
			if tc.hits == nil {
				tc.hits = []string{}
			}
			if !reflect.DeepEqual(got, tc.hits) {
				t.Errorf("hits %q, want %q", got, tc.hits)
			}
			if len(failed) != len(tc.failed) {
				t.Fatalf("failures %v, want %d", failed, len(tc.failed))
			}
			for i, want := range tc.failed {
				var se *SearchError
				if !errors.Is(failed[i], want) || !errors.As(failed[i], &se) || !strings.HasPrefix(failed[i].Error(), "registry "+se.Registry+": ") {
					t.Errorf("failure %d: %v, want %v", i, failed[i], want)
				}
			}
			for _, m := range tc.msg {
				if !strings.Contains(failed[0].Error(), m) {
					t.Errorf("failure %q does not say %q", failed[0], m)
				}
			}
		})
	}
}

// TestSearchAtOnce: Search reads the registries at once, so two silent
// ones cost one stall timeout, not two. Each server answers only once
// both have been asked (else it stays silent past the stall timeout):
// registry by registry, the first would stall before the second is
// asked.
func TestSearchAtOnce(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	var once [2]sync.Once
	regs := make([]Registry, 2)
	for i := range regs {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			once[i].Do(arrived.Done)
			select {
			case <-both:
				http.NotFound(w, r)
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		regs[i] = Registry{Name: fmt.Sprintf("r%d", i), URL: srv.URL}
	}
	open := func(r Registry) (*Client, error) {
		return New(r, Options{StallTimeout: 5 * time.Second, CacheDir: t.TempDir()})
	}
	hits, failed, err := Search(context.Background(), regs, open, "x")
	if err != nil || len(hits) != 0 || len(failed) != 2 {
		t.Fatalf("Search = %v, %v, %v", hits, failed, err)
	}
	for i, f := range failed {
		if errors.Is(f, transport.ErrStalled) || !strings.HasPrefix(f.Error(), fmt.Sprintf("registry r%d: ", i)) {
			t.Errorf("failure %d: %v: want r%d's not found, after both were asked", i, f, i)
		}
	}
}
