package client

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
)

// stateSite builds a signed registry whose releases Palette-style
// annotations retire: calico 1.1.0 deprecated, 1.2.0 and v1.3 deleted;
// cilium has only pre-releases. Versions are written as real repos do.
func stateSite(t *testing.T) (site string, pub []byte) {
	t.Helper()
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, version, state string }{
		{"calico", "1.0.0", ""}, {"calico", "1.1.0", "deprecated"}, {"calico", "1.2.0", "deleted"}, {"calico", "v1.3", "Deleted"},
		{"cilium", "1.16.0-rc.1", ""}, {"cilium", "1.16.0-rc.2", ""},
	} {
		testutil.WriteRetiredPack(t, r, p.name, p.version, p.state)
	}
	if _, err := r.Commit("packs"); err != nil {
		t.Fatal(err)
	}
	k := testutil.NewKey(t)
	signer := k.Signer
	pub = k.Pub
	site = filepath.Join(tmp, "site")
	if _, err := build.Run(context.Background(), build.Options{Repo: r.Dir, Out: site, History: true, Registry: "test", Signer: signer, GeneratedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return site, pub
}

func TestSystemStateResolution(t *testing.T) {
	site, pub := stateSite(t)
	srv := newServer(t, site)
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, c string
		pre     bool
		want    string // version, or "error: fragment"
	}{
		{"calico", "", false, "1.1.0"},         // deleted 1.2.0 and v1.3 are not latest
		{"calico", "^1", false, "1.1.0"},       // nor matched by a range
		{"calico", ">=1.1 <2", false, "1.1.0"}, // deprecated still resolves
		{"calico", "1.2.0", false, "1.2.0"},    // exact version: deleted but fetchable
		{"calico", "=1.2.0", false, "1.2.0"},   //
		{"calico", "v1.3", false, "v1.3"},      // exact, as written
		{"calico", "1.3.0", false, "v1.3"},     // exact, in full
		{"calico", "1.0.0", false, "1.0.0"},    //
		{"calico", ">=1.2", false, "error: 1.2.0 (deleted), v1.3 (deleted)); v1.3 matches but is deleted (annotations.system_state): name its exact version to fetch it anyway"},
		{"cilium", "", false, "error: pack cilium has no version (available: 1.16.0-rc.1, 1.16.0-rc.2); it has only pre-releases: pass --pre to use 1.16.0-rc.2"},
		{"cilium", "^1.16", false, "error: pre-release 1.16.0-rc.2 matches: pass --pre to use it"},
		// The hint's other way works without --pre, which only fetch has.
		{"cilium", "^1.16", false, `error: or ask for it by its exact version (cilium@1.16.0-rc.2; in a profile, version: "1.16.0-rc.2")`},
		{"cilium", "1.16.0-rc.2", false, "1.16.0-rc.2"},
		{"cilium", "", true, "1.16.0-rc.2"},
	} {
		rel, err := e.client(t, srv.URL, pub).Resolve(ctx, tc.name, tc.c, tc.pre)
		if frag, ok := strings.CutPrefix(tc.want, "error: "); ok {
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), frag) {
				t.Errorf("%s@%q: got %v, want error containing %q", tc.name, tc.c, err, frag)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s@%q: %v", tc.name, tc.c, err)
			continue
		}
		if rel.Version != tc.want {
			t.Errorf("%s@%q = %s, want %s", tc.name, tc.c, rel.Version, tc.want)
		}
	}
}

func TestFetchWarnsOnRetiredReleases(t *testing.T) {
	site, pub := stateSite(t)
	srv := newServer(t, site)
	e := newEnv(t)
	for _, tc := range []struct{ c, warn string }{
		{"", "warning: calico@1.1.0 is deprecated (annotations.system_state): move to a newer version\n"},
		{"1.2.0", "warning: calico@1.2.0 is deleted (annotations.system_state): fetched only because its exact version was asked for\n"},
		{"1.0.0", ""},
	} {
		var warn bytes.Buffer
		c := e.client(t, srv.URL, pub, func(o *Options) { o.Warn = &warn })
		res, err := c.Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: tc.c, Dest: filepath.Join(t.TempDir(), "calico")})
		if err != nil {
			t.Fatalf("%q: %v", tc.c, err)
		}
		if !res.Verified || warn.String() != tc.warn {
			t.Errorf("fetch calico@%q (got %s): warnings %q, want %q", tc.c, res.Version, warn.String(), tc.warn)
		}
	}
}

// TestRetiredByFile: releases the repository's retirement file retires
// (the build's shard field, not pack.json) resolve and warn as
// annotated ones do, with the file's reason, and the file wins over
// pack.json: its deprecated 1.2.0 is no longer deleted.
func TestRetiredByFile(t *testing.T) {
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ version, state string }{{"1.0.0", ""}, {"1.1.0", ""}, {"1.2.0", "deleted"}} {
		testutil.WriteRetiredPack(t, r, "calico", p.version, p.state)
	}
	testutil.Must(t, r.Write("retired.yaml", []byte("calico:\n  1.1.0:\n    state: deleted\n    reason: \"CVE-2026-1: use 1.0.0\\e[31m\"\n  1.2.0: {state: deprecated, reason: slow upgrade}\n")))
	testutil.Commit(t, r, "retire")
	k := testutil.NewKey(t)
	site := filepath.Join(tmp, "site")
	if _, err := build.Run(context.Background(), build.Options{Repo: r.Dir, Out: site, History: true, Registry: "test", Signer: k.Signer, GeneratedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, site)
	e := newEnv(t)
	for _, tc := range []struct{ c, version, warn string }{
		{"", "1.2.0", "warning: calico@1.2.0 is deprecated (retired: slow upgrade): move to a newer version\n"},
		{"~1.1", "", `1.1.0 matches but is deleted (retired: CVE-2026-1: use 1.0.0\x1b[31m): name its exact version`},
		{"1.1.0", "1.1.0", "warning: calico@1.1.0 is deleted (retired: CVE-2026-1: use 1.0.0\\x1b[31m): fetched only because its exact version was asked for\n"},
		{"1.0.0", "1.0.0", ""},
	} {
		var warn bytes.Buffer
		c := e.client(t, srv.URL, k.Pub, func(o *Options) { o.Warn = &warn })
		res, err := c.Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: tc.c, Dest: filepath.Join(t.TempDir(), "calico")})
		if tc.version == "" {
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.warn) {
				t.Errorf("calico@%q: %v, want ErrNotFound with %q", tc.c, err, tc.warn)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.c, err)
		}
		if res.Version != tc.version || warn.String() != tc.warn {
			t.Errorf("fetch calico@%q: got %s warning %q, want %s warning %q", tc.c, res.Version, warn.String(), tc.version, tc.warn)
		}
	}
}
