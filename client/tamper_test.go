package client

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/serve"
)

// tamperSite is a registry with three generations where the newest one
// changes calico, so every file a client reads for calico has an older
// valid copy to replay.
type tamperSite struct {
	*fixture
	files map[string]string // role → path in the newest site
	older map[string][]byte // role → an older valid copy of that file
	other map[string][]byte // role → another valid file of the same kind
}

const (
	roleIndex   = "index.json"
	roleRootSig = "index signature"
	roleBucket  = "bucket"
	roleShard   = "shard"
	roleArchive = "archive"
	roleArchSig = "archive signature"
)

var roles = []string{roleIndex, roleRootSig, roleBucket, roleShard, roleArchive, roleArchSig}

func newTamperSite(t *testing.T) *tamperSite {
	f := newFixture(t)
	packFiles(f.repo, "packs/calico-1.11.0", "calico", "1.11.0")
	f.commitAndBuild(t, "third")
	ts := &tamperSite{fixture: f, files: map[string]string{}, older: map[string][]byte{}, other: map[string][]byte{}}
	newest, prev := f.sites[2], f.sites[1]
	paths := func(site string) (root *index.Root, bucket, shard string) {
		root, err := index.ParseRoot(mustRead(t, filepath.Join(site, "index.json")))
		if err != nil {
			t.Fatal(err)
		}
		_, ref := shardOf(t, site, "calico")
		return root, root.Buckets[index.BucketOf("calico", root.BucketBits)].Path, ref.Path
	}
	root, bucket, shard := paths(newest)
	_, oldBucket, oldShard := paths(prev)
	arch := "packs/calico/1.11.0/calico-1.11.0.tar.gz"
	oldArch := "packs/calico/1.10.0/calico-1.10.0.tar.gz"
	metallb := "packs/metallb/0.14.0/metallb-0.14.0.tar.gz"
	ts.files = map[string]string{roleIndex: "index.json", roleRootSig: rootSig(t, newest), roleBucket: bucket, roleShard: shard, roleArchive: arch, roleArchSig: arch + ".sig"}
	ts.older = map[string][]byte{
		roleIndex:   mustRead(t, filepath.Join(prev, "index.json")),
		roleRootSig: mustRead(t, filepath.Join(prev, rootSig(t, prev))),
		roleBucket:  mustRead(t, filepath.Join(prev, oldBucket)),
		roleShard:   mustRead(t, filepath.Join(prev, oldShard)),
		roleArchive: mustRead(t, filepath.Join(newest, oldArch)),
		roleArchSig: mustRead(t, filepath.Join(newest, oldArch+".sig")),
	}
	_, metallbShard := shardOf(t, newest, "metallb")
	ts.other = map[string][]byte{
		roleIndex:   mustRead(t, filepath.Join(newest, bucket)),
		roleRootSig: mustRead(t, filepath.Join(newest, arch+".sig")),
		roleShard:   mustRead(t, filepath.Join(newest, metallbShard.Path)),
		roleArchive: mustRead(t, filepath.Join(newest, metallb)),
		roleArchSig: mustRead(t, filepath.Join(newest, metallb+".sig")),
	}
	for _, b := range root.Buckets {
		if b.SHA256 != root.Buckets[index.BucketOf("calico", root.BucketBits)].SHA256 {
			ts.other[roleBucket] = mustRead(t, filepath.Join(newest, b.Path))
			break
		}
	}
	if ts.other[roleBucket] == nil {
		t.Fatal("fixture has no second distinct bucket")
	}
	for role, old := range ts.older {
		if bytes.Equal(old, mustRead(t, filepath.Join(newest, ts.files[role]))) {
			t.Fatalf("fixture: the older copy of the %s equals the newest", role)
		}
	}
	return ts
}

// tamperer serves the newest site (falling back to older generations, as
// a registry that keeps old content-addressed files does) and tampers
// with one path.
type tamperer struct {
	sites  []string // newest first
	target string
	mode   string
	sub    []byte            // replacement bytes for swap and replay
	fixed  map[string][]byte // other paths served with these bytes
	mu     sync.Mutex
	hits   int
}

func (h *tamperer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	h.mu.Lock()
	target, mode := h.target, h.mode
	fixed, isFixed := h.fixed[p]
	if p == target {
		h.hits++
	}
	h.mu.Unlock()
	if isFixed {
		w.Header().Set("Content-Length", strconv.Itoa(len(fixed)))
		w.Write(fixed)
		return
	}
	if p != target {
		for _, s := range h.sites {
			if _, err := os.Stat(filepath.Join(s, filepath.FromSlash(p))); err == nil {
				serve.Handler(s).ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	real, err := os.ReadFile(filepath.Join(h.sites[0], filepath.FromSlash(p)))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	send := func(body []byte) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
	switch mode {
	case "truncate":
		send(real[:len(real)/2])
	case "flip byte":
		b := bytes.Clone(real)
		b[len(b)/2] ^= 0x01
		send(b)
	case "swap", "replay older":
		send(h.sub)
	case "stall":
		w.Header().Set("Content-Length", strconv.Itoa(len(real)))
		w.Write(real[:len(real)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	case "slow drip":
		w.Header().Set("Content-Length", strconv.Itoa(len(real)))
		for i := range real {
			if _, err := w.Write(real[i : i+1]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	case "endless":
		w.Write(real)
		zeros := make([]byte, 64<<10)
		for {
			if _, err := w.Write(zeros); err != nil {
				return
			}
		}
	case "content-length too long":
		w.Header().Set("Content-Length", strconv.Itoa(len(real)+1000))
		w.Write(real)
	case "content-length huge":
		w.Header().Set("Content-Length", strconv.Itoa(1<<40))
		w.Write(real)
	case "HTTP 500":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "HTTP 404":
		http.NotFound(w, r)
	case "redirect loop":
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	default:
		panic("unknown mode " + mode)
	}
}

// expect is the error each tampering must produce for each file.
func expect(role, mode string) []error {
	signed := role == roleIndex || role == roleRootSig || role == roleArchSig
	switch mode {
	case "truncate", "flip byte", "swap", "replay older":
		switch {
		case role == roleIndex && mode == "replay older":
			return []error{ErrRollback}
		case signed:
			return []error{ErrBadSignature}
		case role == roleArchive && mode == "swap":
			return []error{ErrDigestMismatch, ErrTooLarge} // a larger archive is cut at the recorded size
		}
		return []error{ErrDigestMismatch}
	case "stall":
		return []error{transport.ErrStalled}
	case "slow drip":
		return []error{transport.ErrTimeout}
	case "endless", "content-length huge":
		return []error{ErrTooLarge}
	case "content-length too long":
		if signed {
			return []error{transport.ErrTruncated}
		}
		return []error{ErrTooLarge} // pinned files: more than recorded is refused before reading
	case "HTTP 500":
		return []error{transport.ErrHTTPStatus}
	case "HTTP 404":
		if role == roleRootSig {
			// index.json.sig exists, so a missing signature for these bytes
			// means index.json was changed.
			return []error{ErrBadSignature}
		}
		return []error{ErrNotFound}
	case "redirect loop":
		return []error{transport.ErrRedirects}
	}
	panic(mode)
}

var tamperModes = []string{"truncate", "flip byte", "swap", "replay older", "stall", "slow drip", "endless",
	"content-length too long", "content-length huge", "HTTP 500", "HTTP 404", "redirect loop"}

// snapshot records every file under dir (path → content).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			m[rel] = string(b)
		}
		return nil
	})
	return m
}

// checkCache fails on anything in the cache that is not verified content:
// temp files, or metadata and archives whose bytes differ from the
// digest they are named by.
func checkCache(t *testing.T, cache string) {
	t.Helper()
	for rel, data := range snapshot(t, cache) {
		base := filepath.Base(rel)
		switch {
		case strings.HasPrefix(base, "."):
			t.Errorf("cache: temp file left: %s", rel)
		case strings.HasPrefix(rel, "meta"+string(filepath.Separator)):
			if strings.TrimSuffix(base, ".json") != index.Digest([]byte(data)) {
				t.Errorf("cache poisoned: %s", rel)
			}
		case strings.HasPrefix(rel, "archives"+string(filepath.Separator)):
			if strings.TrimSuffix(base, ".tar.gz") != index.Digest([]byte(data)) {
				t.Errorf("cache poisoned: %s", rel)
			}
		}
	}
}

// TestTamperEveryFile: every file a client reads to fetch a pack
// (index.json, its signature, the bucket, the shard, the archive and its
// signature) × every way a server or mirror can tamper with it → the
// specific error, in bounded time, with DEST, the cached index, the
// rollback state and the cache's verified content untouched. (The index
// signature is the one named by the index's digest; index.json.sig, read
// first, is covered by TestLiveRootSignature.)
func TestTamperEveryFile(t *testing.T) {
	ts := newTamperSite(t)
	const bound = 5 * time.Second
	for _, role := range roles {
		for _, mode := range tamperModes {
			t.Run(role+"/"+mode, func(t *testing.T) {
				if mode == "slow drip" || mode == "stall" {
					t.Parallel() // mostly waiting on deadlines
				}
				// Untampered while the client first sees the registry.
				h := &tamperer{sites: []string{ts.sites[2], ts.sites[1], ts.sites[0]}}
				switch mode {
				case "swap":
					h.sub = ts.other[role]
				case "replay older":
					h.sub = ts.older[role]
				}
				srv := newServer(t, ts.sites[2])
				srv.hook = func(w http.ResponseWriter, r *http.Request) bool { h.ServeHTTP(w, r); return true }
				e := newEnv(t)
				slow := func(o *Options) { o.Timeout, o.StallTimeout = 1500*time.Millisecond, 600*time.Millisecond }
				// The client has seen the current index (rollback state,
				// cached index.json with its ETag).
				if _, err := e.client(t, srv.URL, ts.pub, slow).Root(context.Background()); err != nil {
					t.Fatal(err)
				}
				stateBefore, rootsBefore := snapshot(t, e.state), snapshot(t, filepath.Join(e.cache, "roots"))
				h.mu.Lock()
				h.target, h.mode = ts.files[role], mode
				if role == roleRootSig {
					// index.json.sig still holds the previous generation's
					// signature (a publish switching generations), so the
					// signature named by the index's digest is what counts.
					h.fixed = map[string][]byte{index.RootFile + index.SignatureExt: ts.older[roleRootSig]}
				}
				h.mu.Unlock()

				parent := t.TempDir()
				dest := filepath.Join(parent, "calico")
				os.MkdirAll(dest, 0o755)
				os.WriteFile(filepath.Join(dest, "keep.txt"), []byte("mine"), 0o644)

				start := time.Now()
				_, err := e.client(t, srv.URL, ts.pub, slow).Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest, Force: true})
				took := time.Since(start)
				t.Logf("%v in %v", err, took.Round(time.Millisecond))
				if err == nil {
					t.Fatal("tampering not detected")
				}
				want := expect(role, mode)
				ok := false
				for _, w := range want {
					ok = ok || errors.Is(err, w)
				}
				if !ok {
					t.Errorf("got %v\nwant errors.Is one of %v", err, want)
				}
				if took > bound {
					t.Errorf("took %v (bound %v)", took, bound)
				}
				h.mu.Lock()
				hits := h.hits
				h.mu.Unlock()
				if hits == 0 {
					t.Errorf("the tampered %s was never requested", h.target)
				}
				if got := snapshot(t, parent); len(got) != 1 || got[filepath.Join("calico", "keep.txt")] != "mine" {
					t.Errorf("DEST or its parent changed: %v", keys(got))
				}
				if entries, _ := os.ReadDir(parent); len(entries) != 1 {
					t.Errorf("left beside DEST: %v", entries)
				}
				if !maps.Equal(snapshot(t, e.state), stateBefore) {
					t.Error("rollback state changed")
				}
				if !maps.Equal(snapshot(t, filepath.Join(e.cache, "roots")), rootsBefore) {
					t.Error("cached index.json changed")
				}
				checkCache(t, e.cache)
			})
		}
	}
}

// TestLiveRootSignature: index.json.sig is read together with index.json
// and, when it verifies the index, saves the request of the signature
// named by the index's digest. Whatever a server does to index.json.sig,
// the index is still verified by that other signature: the fetch succeeds,
// in bounded time, and nothing is trusted that the key did not sign.
func TestLiveRootSignature(t *testing.T) {
	ts := newTamperSite(t)
	live := index.RootFile + index.SignatureExt
	byDigest := ts.files[roleRootSig]
	const bound = 5 * time.Second
	for _, mode := range append([]string{"none"}, tamperModes...) {
		t.Run(mode, func(t *testing.T) {
			if mode == "slow drip" || mode == "stall" {
				t.Parallel()
			}
			h := &tamperer{sites: []string{ts.sites[2], ts.sites[1], ts.sites[0]}}
			switch mode {
			case "none":
			case "swap":
				h.target, h.mode, h.sub = live, mode, ts.other[roleRootSig]
			case "replay older":
				h.target, h.mode, h.sub = live, mode, ts.older[roleRootSig]
			default:
				h.target, h.mode = live, mode
			}
			srv := newServer(t, ts.sites[2])
			srv.hook = func(w http.ResponseWriter, r *http.Request) bool { h.ServeHTTP(w, r); return true }
			e := newEnv(t)
			slow := func(o *Options) { o.Timeout, o.StallTimeout = 1500*time.Millisecond, 600*time.Millisecond }
			dest := filepath.Join(t.TempDir(), "calico")
			start := time.Now()
			c := e.client(t, srv.URL, ts.pub, slow)
			res, err := c.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
			if took := time.Since(start); took > bound {
				t.Errorf("took %v (bound %v)", took, bound)
			}
			if err != nil || !res.Verified || res.Version != "1.11.0" {
				t.Fatalf("fetch with index.json.sig %s: %+v, %v", mode, res, err)
			}
			if got, want := srv.count("/"+byDigest), map[bool]int{true: 0, false: 1}[mode == "none"]; got != want {
				t.Errorf("%s requested %d times, want %d", byDigest, got, want)
			}
			h.mu.Lock()
			hits := h.hits
			h.mu.Unlock()
			if mode != "none" && hits == 0 {
				t.Errorf("the tampered %s was never requested", live)
			}
			if mode == "none" && len(c.Requests) != 7 { // with the log tile of the inclusion proof
				t.Errorf("resolve+fetch read %d files: %v", len(c.Requests), c.Requests)
			}
			checkCache(t, e.cache)
		})
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestRollbackState: the record of the newest index seen per registry.
// One serial names one index: an index correctly signed (a leaked key, a
// build from a forked history) that reuses a seen serial with other
// content is a rollback. And a damaged state file must not silently
// reset rollback protection.
func TestRollbackState(t *testing.T) {
	f := newFixture(t)
	t.Run("same serial, other index", func(t *testing.T) {
		site := f.latest(t)
		srv := newServer(t, site)
		e := newEnv(t)
		if _, err := e.client(t, srv.URL, f.pub).Root(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Same registry, same serial, other content (a later expiry).
		// Another registry's name is refused before the serial is
		// looked at (TestSignedNamePinned, cmd/packgen.TestAttackOtherRegistrySameKey).
		data := bytes.Replace(mustRead(t, filepath.Join(site, "index.json")), []byte(`"expires":"20`), []byte(`"expires":"21`), 1)
		sig, err := f.signer.Sign(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(site, "index.json"), data, 0o644)
		os.WriteFile(filepath.Join(site, index.RootSignaturePath(index.Digest(data))), sig.SigFile(), 0o644)
		_, err = e.client(t, srv.URL, f.pub).Root(context.Background())
		if !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), "differs from the index seen before with the same serial") {
			t.Fatalf("got %v, want ErrRollback", err)
		}
	})
	t.Run("damaged state file", func(t *testing.T) {
		srv := newServer(t, f.latest(t))
		e := newEnv(t)
		if _, err := e.client(t, srv.URL, f.pub).Root(context.Background()); err != nil {
			t.Fatal(err)
		}
		state := filepath.Join(e.state, "serials.json")
		os.WriteFile(state, mustRead(t, state)[:7], 0o644)
		_, err := e.client(t, srv.URL, f.pub).Root(context.Background())
		if err == nil || !strings.Contains(err.Error(), state+" is damaged") || !strings.Contains(err.Error(), "delete it") {
			t.Fatalf("damaged state: %v", err)
		}
		os.Remove(state)
		if _, err := e.client(t, srv.URL, f.pub).Root(context.Background()); err != nil {
			t.Fatalf("after deleting the state: %v", err)
		}
	})
}

// TestRollbackWritesNothing: the rollback check of an index runs while
// the first bucket downloads; when it refuses the index, nothing read
// through it is cached and the state keeps the newer serial.
func TestRollbackWritesNothing(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	srv := newServer(t, site)
	e := newEnv(t)
	if _, err := e.client(t, srv.URL, f.pub).Root(context.Background()); err != nil {
		t.Fatal(err)
	}
	cacheBefore, stateBefore := snapshot(t, e.cache), snapshot(t, e.state)
	srv.setDir(f.sites[0]) // the older generation, validly signed
	dest := filepath.Join(t.TempDir(), "calico")
	c := e.client(t, srv.URL, f.pub)
	_, err := c.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
	if !errors.Is(err, ErrRollback) {
		t.Fatalf("got %v, want ErrRollback", err)
	}
	if !maps.Equal(snapshot(t, e.cache), cacheBefore) {
		t.Errorf("the cache changed: %v", keys(snapshot(t, e.cache)))
	}
	if !maps.Equal(snapshot(t, e.state), stateBefore) {
		t.Error("rollback state changed")
	}
	if _, err := os.Lstat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Error("DEST was created")
	}
}

// TestDirectoryRegistryFIFO: a FIFO planted in a directory registry is
// refused at once; opening it would block forever.
func TestDirectoryRegistryFIFO(t *testing.T) {
	dir := t.TempDir()
	filetest.FIFO(t, filepath.Join(dir, "index.json"))
	e := newEnv(t)
	err := filetest.Within(t, 5*time.Second, "reading a FIFO in a directory registry blocked", func() error {
		_, err := e.client(t, dir, nil).Root(context.Background())
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v", err)
	}
}
