package client

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/translog"
)

// TestWitnessCosignatureTime: a cosignature dated more than ten minutes
// ahead of the client's clock does not count; one older than the
// registry's witnessMaxAge does not either (no limit by default), each
// named with its time and the limit; a fetch then fails for want of the
// quorum, and its destination is untouched.
func TestWitnessCosignatureTime(t *testing.T) {
	f, site, root, msg, skey, vkey := witnessSite(t, "w1.example")
	now := time.Now()
	for _, tc := range []struct {
		name   string
		at     time.Time
		maxAge string
		want   string // "" fetched, else in the error
	}{
		{"now", now, "", ""},
		{"5m ahead (skew)", now.Add(5 * time.Minute), "", ""},
		{"1h ahead", now.Add(time.Hour), "", "ahead of this machine's clock"},
		{"a year old, no limit", now.AddDate(-1, 0, 0), "", ""},
		{"200h old, 168h max", now.Add(-200 * time.Hour), "168h", "older than the 168h0m0s allowed"},
		{"100h old, 168h max", now.Add(-100 * time.Hour), "168h", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co := testutil.CosignAt(t, msg, root.Log.Key, skey, tc.at)
			if err := os.WriteFile(filepath.Join(site, translog.WitnessPath("w1.example")), co, 0o644); err != nil {
				t.Fatal(err)
			}
			srv := newServer(t, site)
			e := newEnv(t)
			c, err := New(Registry{Name: "test", URL: srv.URL, Keys: []string{string(f.pub)}, Witnesses: []string{vkey}, WitnessQuorum: 1, WitnessMaxAge: tc.maxAge}, Options{CacheDir: e.cache, StateDir: e.state, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(t.TempDir(), "calico")
			_, err = c.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("fetch: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotWitnessed) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "w1.example cosigned at "+tc.at.UTC().Format(time.RFC3339)) {
				t.Fatalf("fetch: %v, want ErrNotWitnessed with %q", err, tc.want)
			}
			if _, err := os.Stat(dest); !os.IsNotExist(err) {
				t.Fatalf("a refused fetch wrote its destination: %v", err)
			}
		})
	}
	if err := checkRegistry(Registry{Name: "test", URL: "https://x", Witnesses: []string{vkey}, WitnessQuorum: 1, WitnessMaxAge: "a week"}); !errors.Is(err, ErrWitnessConfig) || !strings.Contains(err.Error(), "168h") {
		t.Fatalf("a bad max age: %v", err)
	}
}

// TestVerifyWitnesses: verify --site's witness check reports each
// configured witness and the quorum; a bad cosignature (dated ahead, or
// of another log) is a problem even when the quorum is met; a missing
// one only when the quorum is not.
func TestVerifyWitnesses(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	root := testutil.ReadRoot(t, site)
	msg, err := os.ReadFile(filepath.Join(site, translog.CheckpointPath))
	if err != nil {
		t.Fatal(err)
	}
	tree, _, err := translog.TreeOf(root)
	if err != nil {
		t.Fatal(err)
	}
	var vkeys []string
	keys := map[string]string{}
	for _, n := range []string{"w1", "w2", "w3"} {
		sk, vk, err := translog.GenerateWitnessKey(rand.Reader, n)
		if err != nil {
			t.Fatal(err)
		}
		keys[n] = sk
		vkeys = append(vkeys, vk)
	}
	put := func(n string, b []byte) {
		t.Helper()
		p := filepath.Join(site, translog.WitnessPath(n))
		if b == nil {
			os.Remove(p)
			return
		}
		filetest.WriteFile(t, p, b)
	}
	check := func(quorum int) (*WitnessReport, []SiteProblem) {
		t.Helper()
		tr, err := transport.New(site, "", time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		rep, problems, err := VerifyWitnesses(context.Background(), tr, root, &Registry{Name: "test", Witnesses: vkeys, WitnessQuorum: quorum}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return rep, problems
	}
	now := time.Now()
	put("w1", testutil.CosignAt(t, msg, root.Log.Key, keys["w1"], now))
	put("w2", testutil.CosignAt(t, msg, root.Log.Key, keys["w2"], now))
	rep, problems := check(2)
	if len(problems) != 0 || rep.Valid != 2 || rep.Required != 2 || rep.Size != tree.N || len(rep.Witnesses) != 3 || rep.Witnesses[2].Valid || rep.Witnesses[2].Bad {
		t.Fatalf("two of three, quorum 2: %+v %v", rep, problems)
	}
	// Quorum 3: w3's missing file is now a problem.
	if rep, problems = check(3); len(problems) != 1 || problems[0].Path != translog.WitnessDir || !strings.Contains(problems[0].Err, "3 required, 2 valid") || !strings.Contains(problems[0].Err, "w3: no cosigned checkpoint") {
		t.Fatalf("quorum 3: %+v %v", rep, problems)
	}
	// w3 cosigns with its clock an hour ahead: bad, whatever the quorum.
	put("w3", testutil.CosignAt(t, msg, root.Log.Key, keys["w3"], now.Add(time.Hour)))
	if rep, problems = check(1); len(problems) != 1 || problems[0].Path != translog.WitnessPath("w3") || !strings.Contains(problems[0].Err, "ahead") || !rep.Witnesses[2].Bad {
		t.Fatalf("a cosignature from the future: %+v %v", rep, problems)
	}
	// w2's file replaced by a checkpoint the log key did not sign.
	put("w3", nil)
	put("w2", []byte(strings.Replace(string(testutil.CosignAt(t, msg, root.Log.Key, keys["w2"], now)), "\n", "x\n", 1)))
	if rep, problems = check(1); len(problems) != 1 || problems[0].Path != translog.WitnessPath("w2") || rep.Valid != 1 {
		t.Fatalf("a forged file: %+v %v", rep, problems)
	}
}

// witnessSite is the set-up of the cosignature-time tests: a fixture's
// latest signed site with an empty witness directory, its root and
// checkpoint, and a fresh witness key pair named name.
func witnessSite(t *testing.T, name string) (f *fixture, site string, root *index.Root, checkpoint []byte, skey, vkey string) {
	t.Helper()
	f = newFixture(t)
	site = f.latest(t)
	root = testutil.ReadRoot(t, site)
	checkpoint, err := os.ReadFile(filepath.Join(site, translog.CheckpointPath))
	if err != nil {
		t.Fatal(err)
	}
	if skey, vkey, err = translog.GenerateWitnessKey(rand.Reader, name); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(site, translog.WitnessDir), 0o755); err != nil {
		t.Fatal(err)
	}
	return f, site, root, checkpoint, skey, vkey
}
