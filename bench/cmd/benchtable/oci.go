package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/packgen/packgen/bench/measure"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/serve"
)

// The OCI rows of issue 16: packgen publishing a built site into the
// real CNCF distribution registry on loopback beside the vendor's way
// (one `oras push` per archive), a republish with nothing new, and
// `packgen fetch` from the registry at two sizes with the metadata each
// resolve reads (from the registry's access log: a line per request with
// the bytes written).
//
// Sizes follow -packs: the publish registry has packs/5 packs × -versions
// (1,000 releases by default), the small one packs/25 (200).

// ociRegistry is a running `registry serve` (distribution v3) with
// filesystem storage, anonymous, plain HTTP.
type ociRegistry struct {
	host string
	log  *measure.AccessLog
	stop func()
	pid  int
}

// cpu is the registry process's CPU time so far (user + system, from
// /proc; 0 where there is none): the registry does most of a publish's
// work, so a comparison of CPU, which other load on the machine barely
// moves, includes it.
func (r *ociRegistry) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// findTool is internal/ocitest.FindTool: $NAME_BIN, PATH, then each
// GOPATH's bin.
func findTool(name string) (string, error) {
	if p := os.Getenv(strings.ToUpper(name) + "_BIN"); p != "" {
		if p, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(gp, "bin", name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in $(go env GOPATH)/bin (go install it; see scripts/test-tools.sh), or run with -oci=false", name)
}

// startRegistry runs the registry on a free loopback port with its
// storage in dir (the start logic of internal/ocitest, anonymous mode).
func startRegistry(dir string) (*ociRegistry, error) {
	bin, err := findTool("registry")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		// A port picked by the kernel and handed over: another process may
		// take it in between, so a failed start is retried.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		host := l.Addr().String()
		l.Close()
		cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: packgen-bench-secret
`, filepath.Join(dir, "storage"), host)
		cfgPath := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		r := &ociRegistry{host: host, log: &measure.AccessLog{}}
		if lastErr = r.run(bin, cfgPath); lastErr == nil {
			return r, nil
		}
	}
	return nil, fmt.Errorf("registry did not start: %w", lastErr)
}

func (r *ociRegistry) run(bin, cfgPath string) error {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", cfgPath)
	// REGISTRY_* variables are config overrides to the registry; no
	// OpenTelemetry exporter (it would try to reach a collector).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") && !strings.HasPrefix(kv, "OTEL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	var tail tailWriter
	cmd.Stdout = io.MultiWriter(r.log, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		return err
	}
	r.pid = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	r.stop = func() { cancel(); <-exited }
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			cancel()
			return fmt.Errorf("registry exited: %v\n%s", err, tail.String())
		default:
		}
		if resp, err := http.Get("http://" + r.host + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			r.stop()
			return fmt.Errorf("registry on %s not ready after 30s", r.host)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settled returns the requests logged since mark once the log has been
// quiet for 200 ms: the registry writes a request's line after its
// response, so the last lines may trail the client's exit.
func (r *ociRegistry) settled(mark int) []measure.Access {
	n := r.log.Len()
	for {
		time.Sleep(200 * time.Millisecond)
		m := r.log.Len()
		if m == n {
			return r.log.Since(mark)
		}
		n = m
	}
}

// tailWriter keeps the last few KiB written, for an error message.
type tailWriter struct{ b []byte }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return string(t.b) }

// ociSite generates a repository of packs × versions releases and builds
// its site (no catalogue: publishing to OCI does not read it).
func (e *env) ociSite(name string, packs int) (site string, releases int, err error) {
	start := time.Now()
	// At most one bump of each pack per commit, so every version is in
	// some commit's tree and becomes a release.
	spec := synth.Full(packs, e.versions, e.chart, min(100, packs), true)
	repo := filepath.Join(e.work, name+"-repo")
	if _, err := synth.Generate(repo, spec); err != nil {
		return "", 0, err
	}
	site = filepath.Join(e.work, name+"-site")
	b, err := e.build(repo, site, false)
	if err != nil {
		return "", 0, err
	}
	var out struct{ Releases int }
	if err := json.Unmarshal([]byte(b.Stdout), &out); err != nil || out.Releases == 0 {
		return "", 0, fmt.Errorf("build of %s: no release count in its JSON (%v): %.200s", name, err, b.Stdout)
	}
	os.RemoveAll(repo)
	logf("generated and built %s: %d releases in %s", name, out.Releases, time.Since(start).Round(time.Millisecond))
	return site, out.Releases, nil
}

func (e *env) publishOCI(site, dest string) (measure.Run, error) {
	return measure.Exec(e.cmd(nil, "publish", site, dest, "--plain-http", "--key", e.key))
}

// ociRows measures the OCI figures of issue 16.
func (e *env) ociRows() error {
	oras, err := findTool("oras")
	if err != nil {
		return err
	}
	reg, err := startRegistry(filepath.Join(e.work, "oci-registry"))
	if err != nil {
		return err
	}
	defer reg.stop()
	logf("registry on %s", reg.host)

	bigPacks, smallPacks := max(e.packs/5, 1), max(e.packs/25, 1)
	site, releases, err := e.ociSite("oci-big", bigPacks)
	if err != nil {
		return err
	}

	// First publish: a fresh base path per try, so every try pushes
	// everything (releases, signatures, the index).
	var reqs []int
	var regCPU []time.Duration
	first, err := measure.Median(e.runs, func(int) error { return settle() }, func(i int) (measure.Run, error) {
		mark, cpu := reg.log.Len(), reg.cpu()
		r, err := e.publishOCI(site, fmt.Sprintf("oci://%s/first%d", reg.host, i))
		reqs = append(reqs, len(reg.settled(mark)))
		regCPU = append(regCPU, reg.cpu()-cpu)
		return r, err
	})
	if err != nil {
		return err
	}
	slices.Sort(regCPU)
	pubRegCPU := regCPU[len(regCPU)/2]
	e.add(fmt.Sprintf("OCI: `packgen publish` of %d releases to the distribution registry, signed, with the index (%.1f requests per release; the registry's CPU %s)", releases, float64(reqs[0])/float64(releases), measure.Dur(pubRegCPU)),
		first.Wall.Seconds(), timed(first), measure.Goal{})

	again, err := measure.Median(e.runs, nil, func(int) (measure.Run, error) {
		return e.publishOCI(site, fmt.Sprintf("oci://%s/first0", reg.host))
	})
	if err != nil {
		return err
	}
	e.add(fmt.Sprintf("OCI: re-publish with nothing new, %d releases", releases), again.Wall.Seconds(), timed(again), measure.AtMost(1, "1 s"))

	// The vendor's way: one `oras push` per archive, same bytes, the
	// manifest shape ORAS 1.0.0 wrote (--image-spec v1.0).
	cpu0 := reg.cpu()
	loop, pushed, err := e.orasLoop(oras, reg, site)
	if err != nil {
		return err
	}
	loopRegCPU := (reg.cpu() - cpu0) / time.Duration(max(e.runs, 1)) // every try, not the median's alone
	shown := timed(loop)
	if pushed < releases {
		// Each push is its own process over its own repository: the loop
		// is linear, so a sample is scaled to every archive.
		scale := float64(releases) / float64(pushed)
		loop.Wall = time.Duration(float64(loop.Wall) * scale)
		loop.CPU = time.Duration(float64(loop.CPU) * scale)
		shown = fmt.Sprintf("%s (scaled from %d pushes)", timed(loop), pushed)
	}
	e.add(fmt.Sprintf("OCI: loop of `oras push --image-spec v1.0` over the same %d archives (no signature, no index)", releases), loop.Wall.Seconds(), shown, measure.Goal{})
	ratio := first.Wall.Seconds() / loop.Wall.Seconds()
	e.add("ratio: packgen publish to OCI / `oras push` loop", ratio, fmt.Sprintf("%.3f×", ratio), measure.AtMost(0.1, "0.1×"))
	if pushed > 0 && loopRegCPU > 0 {
		// The same in CPU, client and registry together: what a loaded
		// machine barely moves.
		loopRegCPU = time.Duration(float64(loopRegCPU) * float64(releases) / float64(pushed))
		cpuRatio := (first.CPU + pubRegCPU).Seconds() / (loop.CPU + loopRegCPU).Seconds()
		e.add(fmt.Sprintf("ratio in CPU, client + registry: packgen %s + %s / oras %s + %s", measure.Dur(first.CPU), measure.Dur(pubRegCPU), measure.Dur(loop.CPU), measure.Dur(loopRegCPU)), cpuRatio, fmt.Sprintf("%.3f×", cpuRatio), measure.Goal{})
	}

	// Fetch from the registry, cold, at two sizes.
	smallSite, smallReleases, err := e.ociSite("oci-small", smallPacks)
	if err != nil {
		return err
	}
	if _, err := e.publishOCI(smallSite, fmt.Sprintf("oci://%s/small", reg.host)); err != nil {
		return err
	}
	type point struct {
		releases int
		fetch    measure.Run
		meta     int64
		reqs     int
		static   int64 // metadata per resolve of the same site served static
	}
	var pts []point
	for _, p := range []struct {
		site, base string
		packs, rel int
	}{{smallSite, "small", smallPacks, smallReleases}, {site, "first0", bigPacks, releases}} {
		f, meta, n, err := e.fetchOCI(reg, p.site, p.base, synth.Name(p.packs/2))
		if err != nil {
			return err
		}
		// The same site served as a static registry: what the OCI mapping
		// adds to a resolve (manifests) should not grow with the registry;
		// the index's own files grow with its tree's depth either way.
		srv, err := startServer(serve.Handler(p.site))
		if err != nil {
			return err
		}
		sf, static, _, err := e.fetch(srv, synth.Name(p.packs/2), true)
		srv.Close()
		if err != nil {
			return err
		}
		pts = append(pts, point{p.rel, f, meta, n, static})
		e.add(fmt.Sprintf("OCI: `packgen fetch` process, cold cache, %d releases (the same site served static: %s)", p.rel, timed(sf)), f.Wall.Seconds(), timed(f), measure.AtMost(0.05, "50 ms"))
		e.add(fmt.Sprintf("OCI: metadata per resolve at %d releases (%d requests; the same site served static: %s)", p.rel, n, measure.Size(static)), float64(meta), measure.Size(meta), measure.AtMost(16<<10, "16 KiB"))
	}
	flat := float64(pts[1].meta) / float64(pts[0].meta)
	e.add(fmt.Sprintf("OCI: metadata per resolve, %d vs %d releases", pts[1].releases, pts[0].releases), flat, fmt.Sprintf("%.2f×", flat), measure.Goal{})
	over := func(p point) int64 { return p.meta - p.static }
	flatOver := float64(over(pts[1])) / float64(max(over(pts[0]), 1))
	e.add(fmt.Sprintf("OCI: metadata per resolve beyond the static site's, %d vs %d releases (%s vs %s)", pts[1].releases, pts[0].releases, measure.Size(over(pts[1])), measure.Size(over(pts[0]))), flatOver, fmt.Sprintf("%.2f×", flatOver), measure.AtMost(1.25, "1.25× (flat)"))
	os.RemoveAll(smallSite)
	os.RemoveAll(site)
	return nil
}

// orasLoop pushes the site's archives one `oras push` each into a fresh
// base path, as the vendor's docs do (at most -oras of them when set).
func (e *env) orasLoop(oras string, reg *ociRegistry, site string) (measure.Run, int, error) {
	archives, err := filepath.Glob(filepath.Join(site, "packs", "*", "*", "*.tar.gz"))
	if err != nil {
		return measure.Run{}, 0, err
	}
	sort.Strings(archives)
	if e.orasMax > 0 && len(archives) > e.orasMax {
		archives = archives[:e.orasMax]
	}
	r, err := measure.Median(e.runs, func(int) error { return settle() }, func(i int) (measure.Run, error) {
		var total measure.Run
		start := time.Now()
		for _, a := range archives {
			version := filepath.Base(filepath.Dir(a))
			name := filepath.Base(filepath.Dir(filepath.Dir(a)))
			ref := fmt.Sprintf("%s/loop%d/spectro-packs/archive/%s:%s", reg.host, i, name, version)
			cmd := exec.Command(oras, "push", "--plain-http", "--no-tty", "--image-spec", "v1.0", ref, filepath.Base(a))
			cmd.Dir = filepath.Dir(a)
			cmd.Env = append(os.Environ(), "HOME="+filepath.Join(e.work, "home"))
			run, err := measure.Exec(cmd)
			if err != nil {
				return total, err
			}
			total.CPU += run.CPU
			total.MaxRSS = max(total.MaxRSS, run.MaxRSS)
		}
		total.Wall = time.Since(start)
		return total, nil
	})
	return r, len(archives), err
}

// fetchOCI times `packgen fetch NAME` as a process from the registry at
// oci://HOST/BASE, each try with a fresh cache and state (cold), and
// returns the metadata bytes and requests of the first try: every byte
// the registry wrote but the pack's archive.
func (e *env) fetchOCI(reg *ociRegistry, site, base, name string) (measure.Run, int64, int, error) {
	archives := map[string]bool{}
	paths, err := filepath.Glob(filepath.Join(site, "packs", name, "*", "*.tar.gz"))
	if err != nil || len(paths) == 0 {
		return measure.Run{}, 0, 0, fmt.Errorf("no archive of %s in %s (%v)", name, site, err)
	}
	for _, p := range paths {
		d, err := fileDigest(p)
		if err != nil {
			return measure.Run{}, 0, 0, err
		}
		archives["sha256:"+d] = true
	}
	e.fetches++
	dir := filepath.Join(e.work, fmt.Sprintf("ocifetch-%d", e.fetches))
	cmd := func(try int, args ...string) *exec.Cmd {
		home := filepath.Join(dir, fmt.Sprint(try))
		c := exec.Command(e.packgen, args...)
		c.Env = append(os.Environ(),
			"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
			"XDG_STATE_HOME="+filepath.Join(home, "state"))
		return c
	}
	var meta int64
	var reqs, mark int
	r, err := measure.Median(e.runs, func(i int) error {
		// The registry is added (its signed name read from the index)
		// before the timed fetch, whose cache and state are then emptied.
		if _, err := measure.Exec(cmd(i, "registry", "add", "bench", fmt.Sprintf("oci://%s/%s", reg.host, base), "--key", e.pub, "--plain-http")); err != nil {
			return err
		}
		home := filepath.Join(dir, fmt.Sprint(i))
		for _, d := range []string{"cache", "state"} {
			if err := os.RemoveAll(filepath.Join(home, d)); err != nil {
				return err
			}
		}
		mark = reg.log.Len()
		return nil
	}, func(i int) (measure.Run, error) {
		r, err := measure.Exec(cmd(i, "fetch", name, "-d", filepath.Join(dir, fmt.Sprint(i), "dest")))
		if i == 0 && err == nil {
			for _, a := range reg.settled(mark) {
				reqs++
				if a.Method == "GET" && strings.Contains(a.Path, "/blobs/") && archives[a.Path[strings.LastIndex(a.Path, "/")+1:]] {
					continue
				}
				meta += a.Bytes
			}
		}
		return r, err
	})
	return r, meta, reqs, err
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
