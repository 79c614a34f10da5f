package client

import (
	"context"
	"errors"
	"reflect"
	"strings"
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
			opts.StallTimeout = 300 * time.Millisecond
			open := func(r Registry) (*Client, error) {
				if r.Name == tc.failOn {
					return nil, openErr
				}
				return New(r, opts)
			}
			hits, failed, err := Search(context.Background(), tc.regs, open, tc.term)
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
