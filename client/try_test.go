package client

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil"
)

// registries for InOrder and Complete: two real signed generations of
// one registry over HTTP (old: calico and metallb; new: and falco), one
// whose index.json was changed after signing, one that refuses
// connections.
type tryFixture struct {
	old, new, tampered, down Registry
	opts                     Options
}

func newTryFixture(t *testing.T) *tryFixture {
	f := newFixture(t)
	tampered := f.latest(t)
	testutil.Flip(t, filepath.Join(tampered, "index.json"))
	key := []string{string(f.pub)}
	e := newEnv(t)
	down := newServer(t, f.sites[1])
	down.Close() // connection refused
	return &tryFixture{
		old:      Registry{Name: "old", URL: newServer(t, f.sites[0]).URL, Keys: key},
		new:      Registry{Name: "new", URL: newServer(t, f.sites[1]).URL, Keys: key},
		tampered: Registry{Name: "tampered", URL: newServer(t, tampered).URL, Keys: key},
		down:     Registry{Name: "down", URL: down.URL, Keys: key},
		opts:     Options{CacheDir: e.cache, StateDir: e.state, Timeout: 5 * time.Second},
	}
}

// openFailing opens registries with opts, but the one named name (none
// when "") fails with err: a configuration's error of open (a missing
// credential helper), which stops InOrder and Search.
func openFailing(name string, err error, opts Options) func(Registry) (*Client, error) {
	return func(r Registry) (*Client, error) {
		if r.Name == name {
			return nil, err
		}
		return New(r, opts)
	}
}

// TestInOrder: registries are tried in order and only "not found" moves
// on; a registry that fails verification stops the search (never
// falling through to another's pack of the name); an error of open is
// told apart (OpenError); misses carry a suggestion.
func TestInOrder(t *testing.T) {
	f := newTryFixture(t)
	openErr := errors.New("no such credential helper")
	for _, tc := range []struct {
		name    string
		regs    []Registry
		pack    string
		failOn  string   // open fails for this registry
		from    string   // the registry the pack was found in
		tried   []string // the registries tried, in order
		want    error    // the error matches it
		msg     []string // and says these
		openErr bool     // OpenError(err) is the open error
	}{
		{name: "first has it", regs: []Registry{f.old, f.new}, pack: "calico", from: "old", tried: []string{"old"}},
		{name: "second has it", regs: []Registry{f.old, f.new}, pack: "falco", from: "new", tried: []string{"old", "new"}},
		{name: "none has it", regs: []Registry{f.old, f.new}, pack: "falcon", tried: []string{"old", "new"}, want: ErrNotFound,
			msg: []string{"falcon@1 in none of the 2 configured registries", `pack "falcon" is not in registry old`, `is not in registry new`, "did you mean falco?"}},
		{name: "one registry: its own error", regs: []Registry{f.old}, pack: "metalb", tried: []string{"old"}, want: ErrNotFound,
			msg: []string{`pack "metalb" is not in registry old; did you mean metallb?`}},
		{name: "tampered stops the search", regs: []Registry{f.tampered, f.new}, pack: "falco", tried: []string{"tampered"}, want: ErrBadSignature},
		{name: "tampered after misses says them", regs: []Registry{f.old, f.tampered}, pack: "falco", tried: []string{"old", "tampered"}, want: ErrBadSignature,
			msg: []string{"the 1 registry tried before it has no match", `pack "falco" is not in registry old`}},
		{name: "unreachable stops the search", regs: []Registry{f.down, f.new}, pack: "falco", tried: []string{"down"}, want: syscall.ECONNREFUSED, msg: []string{strings.TrimPrefix(f.down.URL, "http://")}},
		{name: "open error", regs: []Registry{f.old, f.new}, pack: "falco", failOn: "new", tried: []string{"old"}, want: openErr, openErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tried []string
			from := ""
			err := InOrder(context.Background(), tc.regs, openFailing(tc.failOn, openErr, f.opts), tc.pack, tc.pack+"@1", func(cl *Client) error {
				tried = append(tried, cl.Registry().Name)
				_, err := cl.Shard(context.Background(), tc.pack)
				if err == nil {
					from = cl.Registry().Name
				}
				return err
			})
			if !reflect.DeepEqual(tried, tc.tried) {
				t.Errorf("tried %q, want %q", tried, tc.tried)
			}
			if from != tc.from {
				t.Errorf("found in %q, want %q", from, tc.from)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("InOrder: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("InOrder = %v, want %v", err, tc.want)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if got := OpenError(err); (got != nil) != tc.openErr || (tc.openErr && got != openErr) {
				t.Errorf("OpenError = %v, want the open error: %v", got, tc.openErr)
			}
		})
	}
	// A registry that was found by name, and one that was not.
	regs := []Registry{f.old, f.new}
	if r, err := Lookup(regs, "new"); err != nil || r != &regs[1] {
		t.Errorf("Lookup(new) = %v, %v; want the configured entry itself", r, err)
	}
	if _, err := Lookup(regs, "neu"); !errors.Is(err, ErrSelection) || !strings.Contains(err.Error(), `registry "neu" is not configured (configured: old, new)`) {
		t.Errorf("Lookup(neu) = %v", err)
	}
}

// TestComplete: names, then NAME@ versions newest first, from every
// client that answers, each once; clients that fail are skipped.
func TestComplete(t *testing.T) {
	f := newTryFixture(t)
	var clients []*Client
	for _, r := range []Registry{f.tampered, f.old, f.new, f.down} {
		cl, err := New(r, f.opts)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, cl)
	}
	for _, tc := range []struct {
		name    string
		clients []*Client
		prefix  string
		want    []string
	}{
		{name: "every name once", clients: clients, prefix: "", want: []string{"calico", "metallb", "falco"}},
		{name: "by prefix", clients: clients, prefix: "ca", want: []string{"calico"}},
		{name: "versions newest first", clients: clients, prefix: "calico@1.", want: []string{"calico@1.10.0", "calico@1.2.5", "calico@1.2.0", "calico@1.0.0"}},
		{name: "versions by prefix", clients: clients, prefix: "calico@1.2", want: []string{"calico@1.2.5", "calico@1.2.0"}},
		{name: "pre-release", clients: clients, prefix: "calico@2", want: []string{"calico@2.0.0-rc.1"}},
		{name: "only the registry that has it", clients: clients[:3], prefix: "falco@", want: []string{"falco@4.2.5"}},
		{name: "failing clients only", clients: []*Client{clients[0], clients[3]}, prefix: "", want: nil},
		{name: "nothing matches", clients: clients, prefix: "zz", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Complete(context.Background(), tc.clients, tc.prefix); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Complete(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
	t.Run("Search", func(t *testing.T) { testSearch(t, f) }) // the same registries
}
