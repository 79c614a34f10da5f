//go:build unix

package main

// An attacker's-eye suite: hostile registries, servers and local files
// driven through the real binary, as a user would meet them. Each test
// names the attack it reproduces (issue 14); the shared harness below
// makes the next one easy to add.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/serve"
	"github.com/packgen/packgen/sign"
)

// attackEnv is a scratch directory with its own config, cache and state,
// a signing key (reg.key, reg.pub) and the binary.
type attackEnv struct {
	t      *testing.T
	dir    string
	bin    string
	env    []string
	signer *sign.Signer
}

func newAttackEnv(t *testing.T) *attackEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	a := &attackEnv{t: t, dir: t.TempDir(), bin: testutil.Binary(t)}
	a.env = testutil.Env(a.dir, testutil.Now())
	k := testutil.NewKey(t)
	a.write("reg.key", k.Priv(t))
	a.write("reg.pub", k.Pub)
	a.signer = k.Signer
	return a
}

func (a *attackEnv) path(p string) string { return filepath.Join(a.dir, p) }

func (a *attackEnv) write(p string, data []byte) {
	a.t.Helper()
	if err := os.MkdirAll(filepath.Dir(a.path(p)), 0o755); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(a.path(p), data, 0o644); err != nil {
		a.t.Fatal(err)
	}
}

// pg runs the binary and checks its exit code; it returns stdout and
// stderr.
func (a *attackEnv) pg(want int, args ...string) (string, string) {
	a.t.Helper()
	// A hang is one of the attacks: nothing may take a minute.
	r := testutil.Runner{T: a.t, Bin: a.bin, Dir: a.dir, Env: a.env, Timeout: time.Minute}
	return r.Want(want, args...)
}

// site builds the example packs into a.dir/name, signed with reg.key,
// and returns the site's directory.
func (a *attackEnv) site(name string, extra ...string) string {
	a.t.Helper()
	if _, err := os.Stat(a.path("repo")); err != nil {
		examplesRepo(a.t, a.path("repo"))
	}
	a.pg(0, append([]string{"build", "--repo", "repo", "--out", name, "--key", "reg.key"}, extra...)...)
	return a.path(name)
}

// serve serves dir on loopback with packgen's own handler.
func (a *attackEnv) serve(dir string) string {
	srv := httptest.NewServer(serve.Handler(dir))
	a.t.Cleanup(srv.Close)
	return srv.URL
}

// rewrite is what a hostile registry owner does with its own key: it
// changes the summaries (and shards) of a built site, then re-encodes
// every file that pins them and signs the new index.json. Buckets and
// shards stay content-addressed, so clients see a consistent, validly
// signed registry. The site must have one bucket level.
func (a *attackEnv) rewrite(site string, edit func(*index.Root, *index.Summary, *index.Shard)) {
	t := a.t
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	put := func(p string, v any) index.FileRef {
		data, err := index.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		sha := index.Digest(data)
		if p == "" {
			p = index.BucketPath(sha)
		} else {
			p = strings.ReplaceAll(p, "SHA", sha)
		}
		if err := os.WriteFile(filepath.Join(site, filepath.FromSlash(p)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return index.FileRef{Path: p, SHA256: sha, Size: int64(len(data))}
	}
	root, err := index.ParseRoot(read(index.RootFile))
	if err != nil {
		t.Fatal(err)
	}
	if root.Levels() != 1 {
		t.Fatalf("rewrite handles one bucket level, the site has %d", root.Levels())
	}
	for i, ref := range root.Buckets {
		b, err := index.ParseBucket(read(ref.Path), root.BucketBits, i)
		if err != nil {
			t.Fatal(err)
		}
		for j := range b.Packs {
			s := &b.Packs[j]
			shard, err := index.ParseShard(read(s.Shard.Path), s.Name)
			if err != nil {
				t.Fatal(err)
			}
			edit(root, s, shard)
			s.Shard = put(index.ShardPath(s.Name, "SHA"), shard)
		}
		root.Buckets[i] = put("", b)
	}
	edit(root, nil, nil)
	data, err := index.Encode(root)
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(site, index.RootFile)
	if err := os.WriteFile(rootFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _ := hexSum32(index.Digest(data))
	if _, _, err := a.signer.SignFile(rootFile, sum); err != nil {
		t.Fatal(err)
	}
	sig := read(index.RootFile + sign.SigExt)
	if err := os.WriteFile(filepath.Join(site, filepath.FromSlash(index.RootSignaturePath(index.Digest(data)))), sig, 0o644); err != nil {
		t.Fatal(err)
	}
}

func hexSum32(h string) ([32]byte, error) {
	var sum [32]byte
	b, err := hex.DecodeString(h)
	copy(sum[:], b)
	return sum, err
}

// terminalUnsafe reports the first byte or rune of out that would act
// on a terminal instead of being shown: ESC, CR, BEL, other C0 controls
// but newline, DEL, C1 controls and bidi overrides.
func terminalUnsafe(out string) (string, bool) {
	for _, r := range out {
		switch {
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("%U", r), true
		}
	}
	return "", false
}

// TestAttackTerminalEscapes: a hostile registry's pack fields and a
// hostile server's HTTP status text reach the terminal through list,
// info, search and error messages. Each must arrive escaped: no ESC (a
// title or clear-screen sequence), no CR (a fake "fetched calico OK"
// overwriting the error line), no bidi override.
func TestAttackTerminalEscapes(t *testing.T) {
	a := newAttackEnv(t)
	site := a.site("site", "--no-site")
	const title, clear, fake, rlo = "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\rfetched calico OK          ", "\u202e"
	a.rewrite(site, func(_ *index.Root, s *index.Summary, sh *index.Shard) {
		if s == nil {
			return
		}
		s.DisplayName = title + "Calico" + fake + rlo + "gpj.exe"
		s.AddonType = clear + "monitoring\x9b31m"
		s.Layer = s.Layer + "\x7f"
		for i := range sh.Releases {
			sh.Releases[i].DisplayName = s.DisplayName
			sh.Releases[i].AddonType = s.AddonType
		}
	})
	url := a.serve(site)
	a.pg(0, "registry", "add", "evil", url, "--key", "reg.pub")
	for _, args := range [][]string{
		{"list", url},
		{"info", "calico", "--site", url},
		{"search", "calico"},
		{"search", "monitoring"},
	} {
		out, errs := a.pg(0, args...)
		if r, bad := terminalUnsafe(out + errs); bad {
			t.Errorf("packgen %v printed %s raw:\n%q", args, r, out+errs)
		}
		if !strings.Contains(out, `\x1b]0;pwned\x07Calico\rfetched calico OK`) && !strings.Contains(out, `\x1b[2J\x1b[Hmonitoring\u009b31m`) {
			t.Errorf("packgen %v does not show the escaped fields:\n%s", args, out)
		}
	}

	// A server whose status line carries a CR and a fake success.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		body := "x"
		fmt.Fprintf(buf, "HTTP/1.1 503 oops\r\x1b[1A\x1b[2Kfetched calico@3.27.3 from acme (verified)\x1b]0;ok\x07\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		buf.Flush()
	}))
	defer evil.Close()
	for _, args := range [][]string{
		{"fetch", "calico", "--url", evil.URL, "--key", "reg.pub", "-d", "got"},
		{"list", evil.URL},
		{"info", "calico", "--site", evil.URL},
		{"verify", "--site", evil.URL, "--key", "reg.pub"},
	} {
		out, errs := a.pg(3, args...)
		if r, bad := terminalUnsafe(out + errs); bad {
			t.Errorf("packgen %v printed %s raw:\n%q", args, r, out+errs)
		}
		if !strings.Contains(errs, `unexpected HTTP status: 503 oops\r\x1b[1A`) {
			t.Errorf("packgen %v: the status is not shown escaped:\n%s", args, errs)
		}
	}
}

// TestAttackExpiredSiteVerifies: `verify --site` passed an expired
// registry (one every client refuses: a frozen mirror) with exit 0.
func TestAttackExpiredSiteVerifies(t *testing.T) {
	a := newAttackEnv(t)
	// Build refuses an index already expired (issue 17 item 2): dated
	// now (--refresh), it expires 2 s later.
	site := a.site("site", "--no-site", "--expires", "2s", "--refresh")
	time.Sleep(2100 * time.Millisecond)
	for _, loc := range []string{site, a.serve(site)} {
		out, _ := a.pg(1, "verify", "--site", loc, "--key", "reg.pub")
		if !strings.Contains(out, "index.json: index expired: expired at ") || !strings.Contains(out, "1 problem") {
			t.Errorf("verify --site %s on an expired registry:\n%s", loc, out)
		}
	}
}

// switchable serves one of several site directories, chosen by the test.
type switchable struct {
	mu  sync.Mutex
	dir string
}

func (s *switchable) set(dir string) { s.mu.Lock(); s.dir = dir; s.mu.Unlock() }

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	dir := s.dir
	s.mu.Unlock()
	serve.Handler(dir).ServeHTTP(w, r)
}

// TestAttackOtherRegistrySameKey: two registries signed with one key
// (a vendor's "acme" and "other"). "other", with a higher serial, served
// at acme's URL was accepted, and then the real acme was refused as a
// rollback. Now it is refused as another registry's index (exit 1)
// before any rollback state is recorded, and acme keeps working: through
// the name `registry add` pinned in the config, and through the name the
// state recorded for a --url fetch.
func TestAttackOtherRegistrySameKey(t *testing.T) {
	a := newAttackEnv(t)
	acme := a.site("acme", "--no-site", "--name", "acme")
	env := a.env
	a.env = append(a.env, fmt.Sprintf("SOURCE_DATE_EPOCH=%d", time.Now().Add(time.Hour).Unix()))
	other := a.site("other", "--no-site", "--name", "other")
	a.env = env
	sw := &switchable{dir: acme}
	srv := httptest.NewServer(sw)
	defer srv.Close()
	state := a.path("state/packgen/serials.json")

	out, _ := a.pg(0, "registry", "add", "mirror", srv.URL, "--key", "reg.pub")
	if !strings.Contains(out, `signs its index as registry "acme"`) {
		t.Fatalf("registry add did not pin the signed name:\n%s", out)
	}
	for _, via := range [][]string{{"--registry", "mirror"}, {"--url", srv.URL + "/", "--key", "reg.pub"}} {
		t.Run(via[0], func(t *testing.T) {
			sw.set(acme)
			if via[0] == "--url" {
				os.Remove(state) // only what this fetch records protects it
			}
			a.pg(0, append([]string{"fetch", "calico", "-d", "got/" + via[0] + "-1"}, via...)...)
			before, err := os.ReadFile(state)
			if err != nil {
				t.Fatal(err)
			}
			sw.set(other)
			_, errs := a.pg(1, append([]string{"fetch", "calico", "-d", "got/" + via[0] + "-2"}, via...)...)
			if !strings.Contains(errs, `index.json is another registry's: index.json is signed for registry "other"`) {
				t.Errorf("other registry's index: %s", errs)
			}
			if after, _ := os.ReadFile(state); !bytes.Equal(before, after) {
				t.Errorf("the rollback state changed on a refused index:\n%s\n%s", before, after)
			}
			sw.set(acme)
			a.pg(0, append([]string{"fetch", "calico", "-d", "got/" + via[0] + "-3"}, via...)...)
		})
	}
	// A deliberate rename is accepted once pinned again.
	sw.set(other)
	a.pg(0, "registry", "add", "mirror", srv.URL, "--key", "reg.pub", "--signed-name", "other")
	a.pg(0, "fetch", "calico", "-d", "got/renamed")
}

// TestAttackUnboundedLocalReads: `--key /dev/zero` grew to gigabytes, a
// FIFO as --key, as the config or in the cache hung forever. Keys and
// configs are refused at once (exit 2 and 3, naming the file); a FIFO or
// device planted in the cache is a cache miss, and the fetch succeeds.
func TestAttackUnboundedLocalReads(t *testing.T) {
	a := newAttackEnv(t)
	site := a.site("site", "--no-site")
	url := a.serve(site)
	fifo := a.path("fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{fifo, "/dev/zero"} {
		for _, args := range [][]string{
			{"fetch", "calico", "--url", url, "--key", key, "-d", "got/x"},
			{"verify", "--site", url, "--key", key},
			{"registry", "add", "x", url, "--key", key},
			{"build", "--repo", "repo", "--out", "site2", "--key", key},
		} {
			_, errs := a.pg(2, args...)
			if !strings.Contains(errs, key+": not a regular file") {
				t.Errorf("packgen %v: %s", args, errs)
			}
		}
	}
	a.pg(2, "verify", "site/packs/calico/3.27.3/calico-3.27.3.tar.gz", "--key", "reg.pub", "--signature", fifo)
	// The config file a FIFO.
	cfg := a.path("config/packgen/registries.yaml")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	if err := syscall.Mkfifo(cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs := a.pg(3, "registry", "list"); !strings.Contains(errs, "not a regular file") {
		t.Errorf("FIFO config: %s", errs)
	}
	os.Remove(cfg)
	// The state's lock file, a profile.
	lock := a.path("state/packgen/serials.lock")
	os.MkdirAll(filepath.Dir(lock), 0o755)
	if err := syscall.Mkfifo(lock, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs := a.pg(3, "fetch", "calico", "--url", url, "--key", "reg.pub", "-d", "got/0"); !strings.Contains(errs, lock+": not a regular file") {
		t.Errorf("FIFO lock file: %s", errs)
	}
	os.Remove(lock)
	if _, errs := a.pg(3, "profile", "resolve", fifo); !strings.Contains(errs, "not a regular file") {
		t.Errorf("FIFO profile: %s", errs)
	}

	// FIFOs and a device in place of every cache file: misses, then
	// replaced by verified copies.
	a.pg(0, "fetch", "calico", "--url", url, "--key", "reg.pub", "-d", "got/1")
	cache := a.path("cache/packgen")
	var planted []string
	filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			planted = append(planted, p)
		}
		return nil
	})
	if len(planted) < 4 {
		t.Fatalf("cache holds %d files", len(planted))
	}
	for i, p := range planted {
		os.Remove(p)
		if i%2 == 0 {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Symlink("/dev/zero", p); err != nil {
			t.Fatal(err)
		}
	}
	a.pg(0, "fetch", "calico", "--url", url, "--key", "reg.pub", "-d", "got/2")
}

// TestAttackSignalCleanup: SIGTERM (or SIGINT) to a fetch blocked on a
// stalled download was swallowed until the stall timeout. Now it exits
// at once with 143 (130), removing the partial download and the
// extraction directory; DEST is not created.
func TestAttackSignalCleanup(t *testing.T) {
	a := newAttackEnv(t)
	site := a.site("site", "--no-site")
	srv, stalled := stallingServer(t, site)
	for _, tc := range []struct {
		sig  os.Signal
		code int
		name string
	}{{syscall.SIGTERM, 143, "SIGTERM"}, {os.Interrupt, 130, "SIGINT"}} {
		t.Run(tc.name, func(t *testing.T) {
			dest := a.path("got/" + tc.name + "/calico")
			var errb bytes.Buffer
			sub := *a
			sub.t = t
			cmd, partial, stage := sub.startStalled(srv, stalled, dest, &errb)
			start := time.Now()
			cmd.Process.Signal(tc.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("%s swallowed: still running after 5 s", tc.name)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code || !strings.Contains(errb.String(), "interrupted by "+tc.name) {
				t.Errorf("exit %d after %s, want %d: %s", code, time.Since(start), tc.code, errb.String())
			}
			for _, p := range []string{partial, stage, dest} {
				if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("left behind: %s", p)
				}
			}
		})
	}
}

// stallingServer serves site, except that an archive is sent half way
// (with its full Content-Length) and then nothing more until the client
// goes away. Each stall is announced on the channel.
func stallingServer(t *testing.T, site string) (*httptest.Server, chan struct{}) {
	stalled := make(chan struct{}, 1)
	files := serve.Handler(site)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
			files.ServeHTTP(w, r)
			return
		}
		data, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		select {
		case stalled <- struct{}{}:
		default:
		}
		<-r.Context().Done() // then nothing more, ever
	}))
	t.Cleanup(srv.Close)
	return srv, stalled
}

// startStalled starts a fetch of calico into dest that stalls mid-way
// through the archive, and returns it once it is stalled with the partial
// download and the extraction directory it made.
func (a *attackEnv) startStalled(srv *httptest.Server, stalled chan struct{}, dest string, stderr ...io.Writer) (cmd *exec.Cmd, partial, stage string) {
	t := a.t
	t.Helper()
	before := map[string]bool{}
	for _, g := range []string{a.path("cache/packgen/archives/.download-*"), filepath.Join(filepath.Dir(dest), ".packgen-extract-*")} {
		m, _ := filepath.Glob(g)
		for _, p := range m {
			before[p] = true
		}
	}
	cmd = exec.Command(a.bin, "fetch", "calico", "--url", srv.URL, "--key", "reg.pub", "-d", dest)
	cmd.Dir, cmd.Env = a.dir, a.env
	if len(stderr) > 0 {
		cmd.Stderr = stderr[0]
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	select {
	case <-stalled:
	case <-time.After(30 * time.Second):
		t.Fatal("the download never started")
	}
	// The stall may come before the client has made its files (it
	// makes them while the request is out): wait for them a little.
	find := func(g string) string {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			m, _ := filepath.Glob(g)
			for _, p := range m {
				if !before[p] {
					return p
				}
			}
		}
		t.Fatalf("no new %s", g)
		return ""
	}
	return cmd, find(a.path("cache/packgen/archives/.download-*")), find(filepath.Join(filepath.Dir(dest), ".packgen-extract-*"))
}

// TestAttackKillLeftovers: a fetch killed with kill -9 leaves a partial
// .download-* in the cache and a .packgen-extract-* beside DEST, which
// nothing ever removed. The next fetch removes those older than
// client.StaleAfter that no live process holds; it leaves a live fetch's
// (locked, even when old: a slow download) and fresh ones (another fetch
// just starting) alone.
func TestAttackKillLeftovers(t *testing.T) {
	a := newAttackEnv(t)
	site := a.site("site", "--no-site")
	srv, stalled := stallingServer(t, site)
	normal := a.serve(site)
	old := time.Now().Add(-time.Hour)
	age := func(paths ...string) {
		for _, p := range paths {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}

	killed, kPartial, kStage := a.startStalled(srv, stalled, a.path("got/killed"))
	killed.Process.Kill()
	killed.Wait()
	live, lPartial, lStage := a.startStalled(srv, stalled, a.path("got/live"))
	age(kPartial, kStage, lPartial, lStage)
	fPartial, fStage := a.path("cache/packgen/archives/.download-fresh"), a.path("got/.packgen-extract-fresh")
	a.write("cache/packgen/archives/.download-fresh", []byte("starting"))
	os.Mkdir(fStage, 0o755)

	a.pg(0, "fetch", "falco", "--url", normal, "--key", "reg.pub", "-d", "got/falco")
	for p, want := range map[string]bool{kPartial: false, kStage: false, lPartial: true, lStage: true, fPartial: true, fStage: true} {
		if _, err := os.Lstat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", p, err == nil, want)
		}
	}
	live.Process.Signal(syscall.SIGTERM)
	live.Wait()
	for _, p := range []string{lPartial, lStage} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left by a fetch stopped with SIGTERM", p)
		}
	}
}
