package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/serve"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/walk"
)

type fixture struct {
	repo   *gitfixture.Repo
	signer *sign.Signer
	pub    []byte
	sites  []string // one site per build, oldest first
	tmp    string
}

func packFiles(r *gitfixture.Repo, dir, name, version string) {
	r.Write(dir+"/pack.json", []byte(fmt.Sprintf(`{"name": %q, "version": %q, "layer": "addon", "addonType": "monitoring", "displayName": "Pack %s", "cloudTypes": ["all"]}`, name, version, name)))
	r.Write(dir+"/values.yaml", []byte("pack:\n  namespace: "+name+"\n"))
	r.Write(dir+"/manifests/cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+name+"\n"))
}

// newFixture builds two signed generations of a registry from a real git repo.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := emptyFixture(t)
	for _, v := range []string{"1.0.0", "1.2.0", "1.2.5", "1.10.0", "2.0.0-rc.1"} {
		packFiles(f.repo, "packs/calico-"+v, "calico", v)
	}
	for _, v := range []string{"0.13.2", "0.13.9", "0.14.0"} {
		packFiles(f.repo, "packs/metallb-"+v, "metallb", v)
	}
	f.commitAndBuild(t, "first")
	packFiles(f.repo, "packs/falco", "falco", "4.2.5")
	f.commitAndBuild(t, "second")
	return f
}

// emptyFixture is a fixture with an empty git repo and a signing key,
// nothing built yet.
func emptyFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{tmp: t.TempDir()}
	var err error
	if f.repo, err = gitfixture.Init(filepath.Join(f.tmp, "repo")); err != nil {
		t.Fatal(err)
	}
	k := testutil.NewKey(t)
	f.pub, f.signer = k.Pub, k.Signer
	return f
}

func (f *fixture) commitAndBuild(t *testing.T, msg string) {
	t.Helper()
	if _, err := f.repo.Commit(msg); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(f.tmp, fmt.Sprintf("site%d", len(f.sites)))
	_, err := build.Run(context.Background(), build.Options{Repo: f.repo.Dir, Out: out, History: true, Registry: "test", Signer: f.signer, GeneratedAt: time.Now().Add(time.Duration(len(f.sites)) * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	f.sites = append(f.sites, out)
}

// latest copies the newest site so a test may tamper with it.
func (f *fixture) latest(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "site")
	testutil.CopyDir(t, f.sites[len(f.sites)-1], dst)
	return dst
}

// server serves a site dir; hook may take over a request.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	dir    string
	hook   func(w http.ResponseWriter, r *http.Request) bool
	hits   map[string]int
	status map[string]int
}

func newServer(t *testing.T, dir string) *server {
	s := &server{dir: dir, hits: map[string]int{}, status: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		hook, dir := s.hook, s.dir
		s.mu.Unlock()
		if hook != nil && hook(w, r) {
			return
		}
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		serve.Handler(dir).ServeHTTP(rec, r)
		s.mu.Lock()
		s.status[r.URL.Path] = rec.code
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

// answer is a server hook that takes over the requests whose path match
// accepts and answers them with h.
func answer(match func(path string) bool, h http.HandlerFunc) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r.URL.Path) {
			return false
		}
		h(w, r)
		return true
	}
}

// isArchive matches a release archive's path.
func isArchive(path string) bool { return strings.HasSuffix(path, ".tar.gz") }

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(c int) { r.code = c; r.ResponseWriter.WriteHeader(c) }

func (s *server) setDir(d string) { s.mu.Lock(); s.dir = d; s.mu.Unlock() }
func (s *server) count(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[p]
}

type env struct {
	cache, state string
}

func newEnv(t *testing.T) env {
	return env{cache: filepath.Join(t.TempDir(), "cache"), state: filepath.Join(t.TempDir(), "state")}
}

func (e env) client(t *testing.T, url string, pub []byte, mod ...func(*Options)) *Client {
	t.Helper()
	reg := Registry{Name: "test", URL: url}
	if pub != nil {
		reg.Keys = []string{string(pub)}
	}
	o := Options{CacheDir: e.cache, StateDir: e.state, Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(reg, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolveConstraints(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.latest(t))
	e := newEnv(t)
	for _, tc := range []struct {
		name, c string
		pre     bool
		want    string
	}{
		{"calico", "^1.2", false, "1.10.0"},
		{"metallb", "~0.13", false, "0.13.9"},
		{"calico", ">=1.0 <2.0", false, "1.10.0"},
		{"calico", "1.2.0", false, "1.2.0"},
		{"calico", "", false, "1.10.0"},
		{"calico", "", true, "2.0.0-rc.1"},
		{"calico", ">=2.0.0-0", false, "2.0.0-rc.1"},
	} {
		rel, err := e.client(t, srv.URL, f.pub).Resolve(context.Background(), tc.name, tc.c, tc.pre)
		if err != nil {
			t.Errorf("%s@%s: %v", tc.name, tc.c, err)
			continue
		}
		if rel.Version != tc.want {
			t.Errorf("%s@%s (pre=%v) = %s, want %s", tc.name, tc.c, tc.pre, rel.Version, tc.want)
		}
	}
	_, err := e.client(t, srv.URL, f.pub).Resolve(context.Background(), "calico", "^3", false)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "available: 1.0.0, 1.2.0, 1.2.5, 1.10.0, 2.0.0-rc.1") {
		t.Errorf("no match: %v", err)
	}
	_, err = e.client(t, srv.URL, f.pub).Resolve(context.Background(), "nope", "", false)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `pack "nope" is not in registry test`) {
		t.Errorf("missing pack: %v", err)
	}
	_, err = e.client(t, srv.URL, f.pub).Resolve(context.Background(), "calico", "^^1", false)
	if err == nil || !strings.Contains(err.Error(), "version constraint") {
		t.Errorf("bad constraint: %v", err)
	}
}

func TestFetchAndCache(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.latest(t))
	e := newEnv(t)
	dest := filepath.Join(t.TempDir(), "calico")
	c := e.client(t, srv.URL, f.pub)
	res, err := c.Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: "~1.2", Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "1.2.5" || !res.Verified || res.Files != 3 {
		t.Errorf("result %+v", res)
	}
	data, err := os.ReadFile(filepath.Join(dest, "pack.json"))
	if err != nil || !strings.Contains(string(data), `"1.2.5"`) {
		t.Fatalf("extracted pack.json: %s %v", data, err)
	}
	// O(1) files: root + sig, one bucket, one shard, the log tile that
	// proves the release included (one per log level), archive + sig.
	if len(c.Requests) != 7 {
		t.Errorf("resolve+fetch read %d files: %v", len(c.Requests), c.Requests)
	}
	archive := "/packs/calico/1.2.5/calico-1.2.5.tar.gz"
	if srv.count(archive) != 1 {
		t.Fatalf("archive fetched %d times", srv.count(archive))
	}
	// Second fetch: archive from cache, index revalidated with ETag (304).
	c2 := e.client(t, srv.URL, f.pub)
	if _, err := c2.Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: "~1.2", Dest: dest + "2"}); err != nil {
		t.Fatal(err)
	}
	if srv.count(archive) != 1 {
		t.Errorf("cached archive downloaded again")
	}
	if srv.status["/index.json"] != http.StatusNotModified {
		t.Errorf("index.json not revalidated with 304 (last status %d)", srv.status["/index.json"])
	}
	// Existing destination is refused; --force replaces.
	if _, err := c2.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest}); !errors.Is(err, pack.ErrDestExists) {
		t.Errorf("existing dest: %v", err)
	}
	if _, err := c2.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest, Force: true}); err != nil {
		t.Errorf("force: %v", err)
	}
	// A corrupted cache entry is detected and fetched again.
	cached := filepath.Join(e.cache, "archives", res.SHA256+".tar.gz")
	os.WriteFile(cached, []byte("corrupt"), 0o644)
	if _, err := e.client(t, srv.URL, f.pub).Fetch(context.Background(), FetchOptions{Name: "calico", Constraint: "~1.2", Dest: dest + "3"}); err != nil {
		t.Fatal(err)
	}
	if srv.count(archive) != 2 {
		t.Errorf("corrupt cache entry not re-fetched")
	}
}

func TestFileTransports(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	for _, loc := range []string{site, "file://" + site} {
		e := newEnv(t)
		dest := filepath.Join(t.TempDir(), "m")
		res, err := e.client(t, loc, f.pub).Fetch(context.Background(), FetchOptions{Name: "metallb", Dest: dest})
		if err != nil || res.Version != "0.14.0" {
			t.Errorf("%s: %v %+v", loc, err, res)
		}
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	var mu sync.Mutex
	var seen []string
	srv := newServer(t, site)
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		return false
	}
	t.Setenv("PACKS_TOKEN", "s3cret")
	e := newEnv(t)
	c, err := New(Registry{Name: "t", URL: srv.URL, Keys: []string{string(f.pub)}, TokenEnv: "PACKS_TOKEN"}, Options{CacheDir: e.cache, StateDir: e.state})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(context.Background(), "calico", "", false); err != nil {
		t.Fatal(err)
	}
	for _, h := range seen {
		if h != "Bearer s3cret" {
			t.Fatalf("Authorization = %q", h)
		}
	}
	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("machine other.example login x password y\nmachine 127.0.0.1 login alice password wonderland\n"), 0o600)
	t.Setenv("NETRC", netrc)
	seen = nil
	c = e.client(t, srv.URL, f.pub)
	if _, err := c.Resolve(context.Background(), "calico", "", false); err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[0] != "Basic YWxpY2U6d29uZGVybGFuZA==" {
		t.Fatalf("netrc auth: %v", seen)
	}
	t.Setenv("EMPTY_TOKEN", "")
	if _, err := New(Registry{Name: "t", URL: srv.URL, TokenEnv: "EMPTY_TOKEN"}, Options{}); err == nil {
		t.Error("empty token env accepted")
	}
}

func shardOf(t *testing.T, site, name string) (*index.Shard, index.FileRef) {
	t.Helper()
	root, _, packs, err := index.ReadCatalog(context.Background(), index.DirFetcher(site))
	if err != nil {
		t.Fatal(err)
	}
	_ = root
	for _, s := range packs {
		if s.Name == name {
			sh, err := index.ReadShard(context.Background(), index.DirFetcher(site), s)
			if err != nil {
				t.Fatal(err)
			}
			return sh, s.Shard
		}
	}
	t.Fatalf("no pack %s", name)
	return nil, index.FileRef{}
}

// TestTamperMatrix: every file a client reads, tampered every way, is
// refused with a specific error in bounded time, leaving DEST and the
// cache clean.
func TestTamperMatrix(t *testing.T) {
	f := newFixture(t)
	arch := "packs/calico/1.10.0/calico-1.10.0.tar.gz"
	type tc struct {
		name    string
		site    func(t *testing.T, dir string)
		hook    func(w http.ResponseWriter, r *http.Request) bool
		opts    func(*Options)
		prepare func(t *testing.T, e env, url string) // e.g. record a newer serial
		want    error
		alt     error // also acceptable
		msg     string
	}
	cases := []tc{
		{name: "archive byte flipped", site: func(t *testing.T, d string) { testutil.Flip(t, filepath.Join(d, arch)) }, want: ErrDigestMismatch},
		{name: "archive truncated", site: func(t *testing.T, d string) {
			data, _ := os.ReadFile(filepath.Join(d, arch))
			os.WriteFile(filepath.Join(d, arch), data[:len(data)-10], 0o644)
		}, want: ErrDigestMismatch},
		{name: "archive swapped with another pack's", site: func(t *testing.T, d string) {
			data, _ := os.ReadFile(filepath.Join(d, "packs/metallb/0.14.0/metallb-0.14.0.tar.gz"))
			os.WriteFile(filepath.Join(d, arch), data, 0o644)
		}, want: ErrDigestMismatch, alt: ErrTooLarge},
		{name: "archive signature flipped", site: func(t *testing.T, d string) {
			sig, _ := os.ReadFile(filepath.Join(d, arch+".sig"))
			raw, _ := sign.DecodeSigFile(sig)
			raw[len(raw)-3] ^= 0x55
			os.WriteFile(filepath.Join(d, arch+".sig"), (&sign.Signature{Raw: raw}).SigFile(), 0o644)
		}, want: ErrBadSignature},
		{name: "archive signature of another archive", site: func(t *testing.T, d string) {
			sig, _ := os.ReadFile(filepath.Join(d, "packs/metallb/0.14.0/metallb-0.14.0.tar.gz.sig"))
			os.WriteFile(filepath.Join(d, arch+".sig"), sig, 0o644)
		}, want: ErrBadSignature},
		{name: "shard byte flipped", site: func(t *testing.T, d string) {
			_, ref := shardOf(t, d, "calico")
			testutil.Flip(t, filepath.Join(d, ref.Path))
		}, want: ErrDigestMismatch},
		{name: "bucket byte flipped", site: func(t *testing.T, d string) {
			root, _ := index.ParseRoot(mustRead(t, filepath.Join(d, "index.json")))
			testutil.Flip(t, filepath.Join(d, root.Buckets[index.BucketOf("calico", root.BucketBits)].Path))
		}, want: ErrDigestMismatch},
		{name: "index.json changed", site: func(t *testing.T, d string) {
			data := mustRead(t, filepath.Join(d, "index.json"))
			os.WriteFile(filepath.Join(d, "index.json"), bytes.Replace(data, []byte(`"registry":"test"`), []byte(`"registry":"evil"`), 1), 0o644)
		}, want: ErrBadSignature},
		{name: "index signature flipped (both copies)", site: func(t *testing.T, d string) {
			testutil.Flip(t, filepath.Join(d, rootSig(t, d)))
			testutil.Flip(t, filepath.Join(d, "index.json.sig"))
		}, want: ErrBadSignature},
		{name: "index signature flipped, index.json.sig from an older build", site: func(t *testing.T, d string) {
			testutil.Flip(t, filepath.Join(d, rootSig(t, d)))
			os.WriteFile(filepath.Join(d, "index.json.sig"), mustRead(t, filepath.Join(f.sites[0], "index.json.sig")), 0o644)
		}, want: ErrBadSignature},
		// Signed, so only the format stops it: a field of a newer packgen
		// is refused (an older client could not honour it), saying so.
		{name: "index.json from a newer packgen", site: func(t *testing.T, d string) {
			data := bytes.Replace(mustRead(t, filepath.Join(d, "index.json")), []byte(`{`), []byte(`{"futureField":1,`), 1)
			sig, err := f.signer.Sign(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			testutil.Must(t, os.WriteFile(filepath.Join(d, "index.json"), data, 0o644))
			testutil.Must(t, os.WriteFile(filepath.Join(d, rootSig(t, d)), sig.SigFile(), 0o644))
			testutil.Must(t, os.WriteFile(filepath.Join(d, "index.json.sig"), sig.SigFile(), 0o644))
		}, want: index.ErrNewerFormat, msg: `index.json: unknown field "futureField" (a field of a newer packgen): upgrade packgen`},
		{name: "index unsigned", site: func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, rootSig(t, d)))
			os.Remove(filepath.Join(d, "index.json.sig"))
		}, want: ErrUnsigned},
		{name: "older index replayed", site: func(t *testing.T, d string) {
			os.RemoveAll(d)
			testutil.CopyDir(t, f.sites[0], d)
		}, prepare: func(t *testing.T, e env, url string) {
			// The client saw the newest index first.
			srv := newServer(t, f.sites[1])
			if _, err := e.client(t, srv.URL, f.pub).Root(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Same registry URL for the state: reuse the tampering server's URL.
			c := e.client(t, url, f.pub)
			root, _ := index.ParseRoot(mustRead(t, filepath.Join(f.sites[1], "index.json")))
			c.checkSerial(root, mustRead(t, filepath.Join(f.sites[1], "index.json")))
		}, want: ErrRollback},
		{name: "expired index", opts: func(o *Options) { o.Now = func() time.Time { return time.Now().Add(400 * 24 * time.Hour) } }, want: ErrExpired, msg: "expired at"},
		{name: "endless archive", hook: answer(isArchive, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/gzip")
			for i := 0; i < 1000; i++ {
				if _, err := w.Write(bytes.Repeat([]byte{0}, 64<<10)); err != nil {
					break
				}
			}
		}), want: ErrTooLarge},
		{name: "announces too much", hook: answer(isArchive, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "999999999")
			w.WriteHeader(200)
		}), want: ErrTooLarge},
		{name: "wrong content-length (short body)", hook: answer(isArchive, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			w.Write([]byte("short"))
		}), msg: "unexpected EOF"},
		{name: "HTTP 500 on shard", hook: answer(func(p string) bool { return strings.Contains(p, "/shards/") }, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", 500)
		}), msg: "500 Internal Server Error"},
		{name: "404 on archive", hook: answer(isArchive, http.NotFound), want: ErrNotFound},
		{name: "redirect loop", hook: answer(isArchive, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		}), msg: "redirects"},
		{name: "slow server", hook: answer(isArchive, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}), opts: func(o *Options) { o.Timeout = 500 * time.Millisecond }, msg: "Client.Timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			site := f.latest(t)
			srv := newServer(t, site)
			e := newEnv(t)
			if c.prepare != nil {
				c.prepare(t, e, srv.URL)
			}
			if c.site != nil {
				c.site(t, site)
			}
			srv.hook = c.hook
			var mods []func(*Options)
			if c.opts != nil {
				mods = append(mods, c.opts)
			}
			dest := filepath.Join(t.TempDir(), "dest")
			start := time.Now()
			_, err := e.client(t, srv.URL, f.pub, mods...).Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
			if err == nil {
				t.Fatal("tampering not detected")
			}
			if c.want != nil && !errors.Is(err, c.want) && (c.alt == nil || !errors.Is(err, c.alt)) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want message with %q", err, c.msg)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %v", d)
			}
			if _, err := os.Lstat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Error("DEST was created")
			}
			if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) != 0 {
				t.Errorf("left beside DEST: %v", entries)
			}
			// The cache holds nothing unverified: archives are named by
			// their digest and every one present matches it.
			archives, _ := filepath.Glob(filepath.Join(e.cache, "archives", "*"))
			for _, a := range archives {
				sum, _, _ := hashFile(a)
				if !strings.HasPrefix(filepath.Base(a), fmt.Sprintf("%x", sum)) {
					t.Errorf("cache poisoned: %s", a)
				}
			}
		})
	}
}

func rootSig(t *testing.T, site string) string {
	return index.RootSignaturePath(index.Digest(mustRead(t, filepath.Join(site, "index.json"))))
}

var mustRead = testutil.ReadFile

func TestVerifySite(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	v, _ := sign.LoadPublicKey(f.pub)
	rep, err := VerifySite(context.Background(), site, v)
	if err != nil || len(rep.Problems) != 0 || rep.Releases != 9 {
		t.Fatalf("clean site: %v %+v", err, rep)
	}
	testutil.Flip(t, filepath.Join(site, "packs/calico/1.0.0/calico-1.0.0.tar.gz"))
	testutil.Flip(t, filepath.Join(site, "packs/metallb/0.13.2/metallb-0.13.2.tar.gz.sig"))
	srv := newServer(t, site)
	rep, err = VerifySite(context.Background(), srv.URL, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 2 {
		t.Fatalf("want 2 problems, got %+v", rep.Problems)
	}
	// A key that did not sign the registry fails every signature.
	_, otherPub, _ := sign.Generate(sign.ECDSAP256, sign.StaticPass([]byte{}))
	ov, _ := sign.LoadPublicKey(otherPub)
	rep, err = VerifySite(context.Background(), f.sites[1], ov)
	if err != nil || len(rep.Problems) != 10 {
		t.Fatalf("wrong key: want 10 problems (index + 9 archives), got %v %d", err, len(rep.Problems))
	}

	// The catalogue, signed (index.CatalogueFile): a small one (pages, a
	// feed, a logo), every file bytes the manifest of the same build
	// lists.
	built := filepath.Join(t.TempDir(), "site")
	_, err = build.Run(context.Background(), build.Options{Repo: f.repo.Dir, Out: built, Previous: f.sites[len(f.sites)-1], History: true, Registry: "test", Signer: f.signer,
		GeneratedAt: time.Now().Add(10 * time.Second), Site: func(dir string, s *build.Snapshot) error {
			for rel, data := range map[string]string{"index.html": "catalogue", "packs/calico/index.html": "calico", "packs/calico/feed.xml": "<feed/>", "packs/calico/logo.png": "png"} {
				filetest.WriteFile(t, filepath.Join(dir, rel), data)
				s.Catalogue = append(s.Catalogue, index.FileRef{Path: rel, SHA256: index.Digest([]byte(data)), Size: int64(len(data))})
			}
			return nil
		}})
	testutil.Must(t, err)
	manifest := []string{index.CatalogueFile, index.CatalogueFile + ".sig", index.CatalogueFile + ".sigstore.json"}
	rootSigPath := index.RootSignaturePath(index.Digest(mustRead(t, filepath.Join(built, "index.json"))))
	// attackV F7: files of other names in the catalogue's directories
	// (and one at the top, which is not the catalogue's).
	added := func(site string) {
		filetest.Write(t, site, map[string]string{"packs/calico/evil.html": "<script>evil()</script>", "packs/calico/1.0.0/evil.html": "x", "assets/evil.js": "evil()", "login.html": "<form>", "packs/metallb/index.html": "<script>evil()</script>"})
		// A link, which a web server serving the dir follows.
		testutil.Must(t, os.Symlink("../login.html", filepath.Join(site, "assets/evil-link.js")))
	}
	for _, tc := range []struct {
		name     string
		tamper   func(site string)
		problems map[string]string // path: what its problem says
		warning  bool
		warnAt   string // a file a warning names, beside the manifest's (a mutable copy that lags, as mid-publish)
		dir      bool   // verify the directory (listed), not a URL
		keyless  bool   // and without a key: the same problems
		// keylessProblems, when set, are the problems without a key
		// (keyless implied), where they differ from those under it.
		keylessProblems map[string]string
		once            bool // and no file read twice (over HTTP, each run)
	}{
		{name: "as built", tamper: func(string) {}, keyless: true, once: true},
		{name: "as built, a directory", tamper: func(string) {}, dir: true},
		{name: "files of other names added, a directory: listed, each a problem", tamper: added, dir: true, problems: map[string]string{
			"packs/calico/evil.html": walk.ErrUnlisted.Error(), "packs/calico/1.0.0/evil.html": "a directory the catalogue or the log owns", "assets/evil.js": "a directory the catalogue or the log owns", "assets/evil-link.js": "a directory the catalogue or the log owns", "packs/metallb/index.html": walk.ErrUnlisted.Error()}},
		{name: "files of other names added, over HTTP: no listing, only the catalogue's names", tamper: added, problems: map[string]string{"packs/metallb/index.html": walk.ErrUnlisted.Error()}},
		// attackX F2: below log/, only the log's own names (a tile's by
		// tlog's parser, the checkpoint, a witness's file).
		{name: "files of no log file's name below log/, a directory", tamper: func(site string) {
			filetest.Write(t, site, map[string]string{"log/tile/8/x/evil.html": "<script>evil()</script>", "log/evil.html": "x"})
		}, dir: true, problems: map[string]string{"log/tile/8/x/evil.html": "a directory the catalogue or the log owns", "log/evil.html": "a directory the catalogue or the log owns"}},
		// attackX F3: the latest-shard copy is the shard's bytes.
		{name: "the latest-shard copy edited", tamper: func(site string) {
			filetest.WriteFile(t, filepath.Join(site, "packs/calico/index.json"), `{"name":"calico","releases":[{"version":"9.9.9","archive":{"path":"https://evil.example/calico.tgz"}}]}`)
		}, warnAt: "packs/calico/index.json"},
		// attackX F4: the Sigstore bundles beside the catalogue's and
		// the root's digest-named signature carry those signatures.
		{name: "the manifest's bundle another's", tamper: func(site string) {
			filetest.WriteFile(t, filepath.Join(site, manifest[2]), string(mustRead(t, filepath.Join(site, "packs/calico/1.0.0/calico-1.0.0.tar.gz.sigstore.json"))))
		}, problems: map[string]string{manifest[2]: "not a Sigstore bundle carrying the signature in " + manifest[1]}, keyless: true},
		{name: "the root's digest-named bundle another's", tamper: func(site string) {
			filetest.WriteFile(t, filepath.Join(site, index.RootBundlePath(index.Digest(mustRead(t, filepath.Join(site, "index.json"))))), "{}")
		}, problems: map[string]string{index.RootBundlePath(index.Digest(mustRead(t, filepath.Join(built, "index.json")))): sign.ErrBadSignature.Error()}, keyless: true},
		// The root's digest-named signature deleted, index.json.sig left
		// (publish refuses such a site): under the key the missing file
		// is the problem; without one, whether index.json.sig signs
		// index.json cannot be told, so index.json is, naming both (the
		// tamper check a build makes of its previous build without a key).
		{name: "the root's digest-named signature deleted", tamper: func(site string) {
			testutil.Must(t, os.Remove(filepath.Join(site, filepath.FromSlash(index.RootSignaturePath(index.Digest(mustRead(t, filepath.Join(site, "index.json"))))))))
		}, problems: map[string]string{rootSigPath: walk.ErrUnsigned.Error() + ": missing, though index.json.sig signs index.json (a partial copy or upload); the registry's owner must build the site again with its key, or publish it again from the site as built"},
			keylessProblems: map[string]string{index.RootFile: sign.ErrBadSignature.Error() + ": " + rootSigPath + ", the signature named by its digest, is missing, and index.json.sig is there (whether it signs index.json takes the key to tell); index.json was modified after signing, or that signature was lost (a partial copy or upload); the registry's owner must build the site again with its key, or publish it again from the site as built"}},
		// Both deleted: index.json says it is signed all the same, which
		// publish refuses (walk.RootClaim, ErrMissingSignature); without
		// a key it used to verify.
		{name: "both of the root's signatures deleted", tamper: func(site string) {
			testutil.Must(t, os.Remove(filepath.Join(site, filepath.FromSlash(index.RootSignaturePath(index.Digest(mustRead(t, filepath.Join(site, "index.json"))))))))
			testutil.Must(t, os.Remove(filepath.Join(site, "index.json.sig")))
		}, problems: map[string]string{index.RootFile: walk.ErrUnsigned.Error() + ": index.json has no signature but a key is configured"},
			keylessProblems: map[string]string{index.RootFile: walk.ErrMissingSignature.Error() + `: index.json says it is signed ("signed": true), but neither ` + rootSigPath + ", the signature named by its digest (what clients read), nor index.json.sig is there: clients with the registry's key refuse it as unsigned; the registry's owner must build the site again with its key, or publish it again from the site as built"}},
		{name: "a page edited", tamper: func(site string) { testutil.Flip(t, filepath.Join(site, "packs/calico/index.html")) },
			problems: map[string]string{"packs/calico/index.html": index.ErrDigestMismatch.Error()}},
		{name: "a page grown", tamper: func(site string) {
			p := filepath.Join(site, "index.html")
			filetest.WriteFile(t, p, append(mustRead(t, p), "<script>evil()</script>"...))
		}, problems: map[string]string{"index.html": index.ErrDigestMismatch.Error()}},
		{name: "a listed file deleted", tamper: func(site string) { testutil.Must(t, os.Remove(filepath.Join(site, "packs/calico/logo.png"))) },
			problems: map[string]string{"packs/calico/logo.png": "not found"}},
		{name: "an extra page", tamper: func(site string) {
			filetest.WriteFile(t, filepath.Join(site, "packs/metallb/index.html"), "<script>evil()</script>")
			filetest.WriteFile(t, filepath.Join(site, "assets/app.js"), "evil()")
		}, problems: map[string]string{"packs/metallb/index.html": walk.ErrUnlisted.Error(), "assets/app.js": walk.ErrUnlisted.Error()}},
		{name: "an older generation's manifest put back", tamper: func(site string) {
			// Signed by the registry's key, naming the index.json of
			// the generation before (its pages as they were then).
			p := filepath.Join(site, index.CatalogueFile)
			c, err := index.ParseCatalogue(mustRead(t, p))
			testutil.Must(t, err)
			old, err := index.Encode(index.NewCatalogue(mustRead(t, filepath.Join(f.sites[len(f.sites)-1], "index.json")), c.Files))
			testutil.Must(t, err)
			sum, _ := hex.DecodeString(index.Digest(old))
			sig, bundle, err := f.signer.SignBlob([32]byte(sum), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(old)), nil })
			testutil.Must(t, err)
			filetest.WriteFile(t, p, old)
			filetest.WriteFile(t, p+".sig", sig)
			filetest.WriteFile(t, p+".sigstore.json", bundle)
		}, problems: map[string]string{index.CatalogueFile: index.ErrCatalogueGeneration.Error()}},
		{name: "the manifest edited to list an edited page", tamper: func(site string) {
			p := filepath.Join(site, index.CatalogueFile)
			filetest.WriteFile(t, p, strings.Replace(string(mustRead(t, p)), `"size":3`, `"size":4`, 1))
		}, problems: map[string]string{index.CatalogueFile: sign.ErrBadSignature.Error()}},
		{name: "the manifest's signature deleted", tamper: func(site string) { testutil.Must(t, os.Remove(filepath.Join(site, manifest[1]))) },
			problems: map[string]string{manifest[1]: walk.ErrUnsigned.Error() + ": missing, though the registry has a key: " + index.CatalogueFile + " cannot be trusted without it; build the site again with the registry's key and publish it"}},
		{name: "the manifest deleted: a warning, as a site built before it", tamper: func(site string) {
			for _, rel := range manifest {
				testutil.Must(t, os.Remove(filepath.Join(site, rel)))
			}
		}, warning: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := filepath.Join(t.TempDir(), "site")
			testutil.CopyDir(t, built, site)
			tc.tamper(site)
			loc := site
			var srv *server
			if tc.dir {
				// Through a link to it (latest -> the build), which the
				// listing must follow as the reads do.
				loc = filepath.Join(t.TempDir(), "latest")
				testutil.Must(t, os.Symlink(site, loc))
			} else {
				srv = newServer(t, site)
				loc = srv.URL
			}
			keys := []*sign.Verifier{v}
			if tc.keyless || tc.keylessProblems != nil {
				keys = append(keys, nil) // comparing a bundle with its .sig needs no key
			}
			var rep *SiteReport
			for _, key := range keys {
				problems := tc.problems
				if key == nil && tc.keylessProblems != nil {
					problems = tc.keylessProblems
				}
				if srv != nil {
					srv.mu.Lock()
					clear(srv.hits)
					srv.mu.Unlock()
				}
				rep, err = VerifySite(context.Background(), loc, key)
				testutil.Must(t, err)
				if tc.once {
					// Each signature, each copy of one, read once: the
					// catalogue manifest's .sig both verified (under a
					// key) and compared with its bundle.
					srv.mu.Lock()
					for p, n := range srv.hits {
						if n != 1 {
							t.Errorf("key %v: %s read %d times, want once", key != nil, p, n)
						}
					}
					if srv.hits["/"+index.CatalogueFile+index.SignatureExt] == 0 {
						t.Errorf("key %v: %s not read: %v", key != nil, index.CatalogueFile+index.SignatureExt, srv.hits)
					}
					srv.mu.Unlock()
				}
				if len(rep.Problems) != len(problems) {
					t.Errorf("key %v: problems %+v, want one at each of %v", key != nil, rep.Problems, problems)
				}
				for _, p := range rep.Problems {
					if want, ok := problems[p.Path]; !ok || !strings.Contains(p.Err, want) {
						t.Errorf("key %v: problem %s: %s; want one saying %q", key != nil, p.Path, p.Err, want)
					}
				}
			}
			if warned := slices.ContainsFunc(rep.Warnings, func(w SiteProblem) bool { return w.Path == index.CatalogueFile }); warned != tc.warning {
				t.Errorf("warnings %+v, want a warning about %s: %v", rep.Warnings, index.CatalogueFile, tc.warning)
			}
			if tc.warnAt != "" && !slices.ContainsFunc(rep.Warnings, func(w SiteProblem) bool {
				return w.Path == tc.warnAt && strings.Contains(w.Err, "not a copy of packs/calico/shards/")
			}) {
				t.Errorf("warnings %+v, want one about %s", rep.Warnings, tc.warnAt)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "registries.yaml")
	c, err := LoadConfig(path)
	if err != nil || len(c.Registries) != 0 {
		t.Fatal(err)
	}
	_, pub, _ := sign.Generate(sign.ECDSAP256, sign.StaticPass([]byte{}))
	if err := c.Add(Registry{Name: "acme", URL: "https://x", Keys: []string{string(pub)}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(Registry{Name: "Bad Name", URL: "https://x"}); err == nil {
		t.Error("bad name accepted")
	}
	if err := c.Add(Registry{Name: "ftp", URL: "ftp://x"}); err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
		t.Errorf("ftp:// registry added: %v", err)
	}
	if err := c.Add(Registry{Name: "k", URL: "https://x", Keys: []string{"junk"}}); err == nil {
		t.Error("bad key accepted")
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode())
	}
	c2, err := LoadConfig(path)
	if err != nil || len(c2.Registries) != 1 || c2.Registries[0].Keys[0] != string(pub) {
		t.Fatalf("reload: %v %+v", err, c2)
	}
	if err := c2.Remove("nope"); err == nil {
		t.Error("removing a missing registry succeeded")
	}
	os.WriteFile(path, []byte("registries:\n  - name: x\n    url: y\n    bogus: 1\n"), 0o600)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown field: %v", err)
	}
}
