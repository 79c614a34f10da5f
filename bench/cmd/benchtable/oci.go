package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/packgen/packgen/bench/measure"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/synth"
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
// filesystem storage, started by internal/ocitest as the tests start it:
// anonymous on plain HTTP (the loop's best case), or with TLS and token
// auth (what a real registry asks of every client process).
type ociRegistry struct {
	*ocitest.Registry
	t    *benchT
	host string
	// cred are the flags packgen and oras need (--plain-http, or
	// --ca-file and the account), env the password's variable.
	packgenFlags, orasFlags []string
	env                     []string
}

// startRegistry starts an anonymous registry on plain HTTP.
func startRegistry(work string) (*ociRegistry, error) {
	return startRegistryWith(work, ocitest.Config{Mode: ocitest.Anonymous})
}

// startRegistryWith starts a registry as c says.
func startRegistryWith(work string, c ocitest.Config) (reg *ociRegistry, err error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	t := &benchT{dir: work}
	defer func() {
		if f, ok := recover().(benchFail); ok {
			t.close()
			reg, err = nil, errors.New(string(f))
		}
	}()
	r := ocitest.StartWith(t, c)
	reg = &ociRegistry{Registry: r, t: t, host: r.Host()}
	if r.PlainHTTP() {
		reg.packgenFlags = []string{"--plain-http"}
		reg.orasFlags = []string{"--plain-http"}
	} else {
		reg.packgenFlags = []string{"--ca-file", r.CAFile}
		reg.orasFlags = []string{"--ca-file", r.CAFile}
	}
	if r.Username != "" {
		reg.packgenFlags = append(reg.packgenFlags, "--username", r.Username)
		reg.env = []string{"PACKGEN_OCI_PASSWORD=" + r.Password}
	}
	return reg, nil
}

func (r *ociRegistry) stop() { r.t.close() }

// cpu is the registry process's CPU time so far (user + system, from
// /proc; 0 where there is none), plus this driver's own (the token
// issuer and the access-log reader live here): the registry does most
// of a publish's work, so a comparison of CPU, which other load on the
// machine barely moves, includes it.
func (r *ociRegistry) cpu() time.Duration { return selfCPU() + procCPU(r.PID()) }

// mark is the position in the access log, for settled.
func (r *ociRegistry) mark() int { return len(r.AccessLog()) }

// settled returns the requests logged since mark once the log has been
// quiet for 200 ms: the registry writes a request's line after its
// response, so the last lines may trail the client's exit.
func (r *ociRegistry) settled(mark int) []measure.Access {
	n := r.mark()
	for {
		time.Sleep(200 * time.Millisecond)
		m := r.mark()
		if m == n {
			break
		}
		n = m
	}
	var out []measure.Access
	for _, l := range r.AccessLog()[mark:] {
		if a, ok := measure.ParseAccess(l); ok {
			out = append(out, a)
		}
	}
	return out
}

// benchFail is a failure of benchT, recovered by startRegistry.
type benchFail string

// benchT is what internal/ocitest needs of a test, for the registries
// the driver starts: a failure panics with benchFail (startRegistry
// recovers it), cleanups run at stop.
type benchT struct {
	dir      string
	cleanups []func()
}

func (b *benchT) Helper()                           {}
func (b *benchT) Fatal(args ...any)                 { panic(benchFail(fmt.Sprint(args...))) }
func (b *benchT) Fatalf(format string, args ...any) { panic(benchFail(fmt.Sprintf(format, args...))) }
func (b *benchT) Skip(args ...any)                  { panic(benchFail(fmt.Sprint(args...))) }
func (b *benchT) Cleanup(f func())                  { b.cleanups = append(b.cleanups, f) }

func (b *benchT) TempDir() string {
	d, err := os.MkdirTemp(b.dir, "registry-")
	if err != nil {
		panic(benchFail(err.Error()))
	}
	return d
}

func (b *benchT) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}

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

func (e *env) publishOCI(reg *ociRegistry, site, dest string) (measure.Run, error) {
	c := e.cmd(nil, append([]string{"publish", site, dest, "--key", e.key}, reg.packgenFlags...)...)
	c.Env = append(c.Env, reg.env...)
	return measure.Exec(c)
}

// ociRows measures the OCI figures of issue 16: publishing and fetching
// against the registry the issue names (anonymous, plain HTTP on
// loopback: the `oras push` loop's best case, where the goal rows are),
// then publishing against one configured as real registries are (TLS,
// token auth with the token service on another port, as Docker Hub's),
// where every `oras push` process pays a TLS handshake and a token.
func (e *env) ociRows() error {
	oras, ok := ocitest.FindTool("oras")
	if !ok {
		return fmt.Errorf("oras not found on PATH or in $(go env GOPATH)/bin (go install it; see scripts/test-tools.sh), or run with -oci=false")
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
	if err := e.ociPublishRows(reg, oras, site, releases, "the local registry (anonymous, plain HTTP)", true); err != nil {
		return err
	}
	if err := e.ociFetchRows(reg, site, releases, bigPacks, smallPacks); err != nil {
		return err
	}

	tlsReg, err := startRegistryWith(filepath.Join(e.work, "oci-registry-tls"), ocitest.Config{Mode: ocitest.Token, TLS: true, IssuerElsewhere: true})
	if err != nil {
		return err
	}
	defer tlsReg.stop()
	logf("registry with TLS and token auth on %s", tlsReg.host)
	// The loop logs in once, as a CI job would; each push then reads the
	// credentials from the docker config and gets its own token.
	login := exec.Command(oras, append([]string{"login", tlsReg.host, "-u", tlsReg.Username, "--password-stdin"}, tlsReg.orasFlags...)...)
	login.Stdin = strings.NewReader(tlsReg.Password)
	login.Env = append(os.Environ(), "HOME="+filepath.Join(e.work, "home"))
	if out, err := login.CombinedOutput(); err != nil {
		return fmt.Errorf("oras login %s: %v\n%s", tlsReg.host, err, out)
	}
	if err := e.ociPublishRows(tlsReg, oras, site, releases, "a registry with TLS and token auth", false); err != nil {
		return err
	}
	os.RemoveAll(site)
	return nil
}

// ociPublishRows times a first publish of the site, a publish with
// nothing new, and the `oras push` loop over the same archives against
// reg (named where), with each side's CPU and the registry's; goal says
// whether the goals apply to this registry.
func (e *env) ociPublishRows(reg *ociRegistry, oras, site string, releases int, where string, goal bool) error {
	// First publish: a fresh base path per try, so every try pushes
	// everything (releases, signatures, the index).
	var reqs []int
	var regCPU []time.Duration
	first, err := measure.Median(e.runs, func(int) error { return settle() }, func(i int) (measure.Run, error) {
		mark, cpu := reg.mark(), reg.cpu()
		r, err := e.publishOCI(reg, site, fmt.Sprintf("oci://%s/first%d", reg.host, i))
		reqs = append(reqs, len(reg.settled(mark)))
		regCPU = append(regCPU, reg.cpu()-cpu)
		return r, err
	})
	if err != nil {
		return err
	}
	slices.Sort(regCPU)
	pubRegCPU := regCPU[len(regCPU)/2]
	e.add(fmt.Sprintf("OCI, %s: `packgen publish` of %d releases, signed, with the index (%.1f requests per release; the registry's CPU %s)", where, releases, float64(reqs[0])/float64(releases), measure.Dur(pubRegCPU)),
		first.Wall.Seconds(), timed(first), measure.Goal{})

	again, err := measure.Median(e.runs, nil, func(int) (measure.Run, error) {
		return e.publishOCI(reg, site, fmt.Sprintf("oci://%s/first0", reg.host))
	})
	if err != nil {
		return err
	}
	againGoal := measure.Goal{}
	if goal {
		againGoal = measure.AtMost(1, "1 s")
	}
	e.add(fmt.Sprintf("OCI, %s: re-publish with nothing new, %d releases", where, releases), again.Wall.Seconds(), timed(again), againGoal)

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
	e.add(fmt.Sprintf("OCI, %s: loop of `oras push --image-spec v1.0` over the same %d archives (no signature, no index)", where, releases), loop.Wall.Seconds(), shown, measure.Goal{})
	ratio := first.Wall.Seconds() / loop.Wall.Seconds()
	ratioGoal := measure.Goal{}
	if goal {
		ratioGoal = measure.AtMost(0.1, "0.1×")
	}
	e.add(fmt.Sprintf("OCI, %s: ratio packgen publish / `oras push` loop", where), ratio, fmt.Sprintf("%.3f×", ratio), ratioGoal)
	if pushed > 0 && loopRegCPU > 0 {
		// The same in CPU, client and registry together: what a loaded
		// machine barely moves.
		loopRegCPU = time.Duration(float64(loopRegCPU) * float64(releases) / float64(pushed))
		cpuRatio := (first.CPU + pubRegCPU).Seconds() / (loop.CPU + loopRegCPU).Seconds()
		e.add(fmt.Sprintf("OCI, %s: ratio in CPU, client + registry: packgen %s + %s / oras %s + %s", where, measure.Dur(first.CPU), measure.Dur(pubRegCPU), measure.Dur(loop.CPU), measure.Dur(loopRegCPU)), cpuRatio, fmt.Sprintf("%.3f×", cpuRatio), measure.Goal{})
	}
	return nil
}

// ociFetchRows times `packgen fetch` from reg, cold, at two sizes: the
// site already published at first0 (releases, of bigPacks packs) and a
// smaller one published here, with the metadata each resolve reads.
func (e *env) ociFetchRows(reg *ociRegistry, site string, releases, bigPacks, smallPacks int) error {
	// Fetch from the registry, cold, at two sizes.
	smallSite, smallReleases, err := e.ociSite("oci-small", smallPacks)
	if err != nil {
		return err
	}
	if _, err := e.publishOCI(reg, smallSite, fmt.Sprintf("oci://%s/small", reg.host)); err != nil {
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
		sf, static, _, err := e.fetchServed(p.site, synth.Name(p.packs/2))
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
		var cmds []*exec.Cmd
		for _, a := range archives {
			version := filepath.Base(filepath.Dir(a))
			name := filepath.Base(filepath.Dir(filepath.Dir(a)))
			ref := fmt.Sprintf("%s/loop%d/spectro-packs/archive/%s:%s", reg.host, i, name, version)
			cmd := exec.Command(oras, append(append([]string{"push", "--no-tty", "--image-spec", "v1.0"}, reg.orasFlags...), ref, filepath.Base(a))...)
			cmd.Dir = filepath.Dir(a)
			cmd.Env = append(os.Environ(), "HOME="+filepath.Join(e.work, "home"))
			cmds = append(cmds, cmd)
		}
		return measure.Sequence(cmds)
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
		c.Env = append(append(os.Environ(), reg.env...),
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
		if _, err := measure.Exec(cmd(i, append([]string{"registry", "add", "bench", fmt.Sprintf("oci://%s/%s", reg.host, base), "--key", e.pub}, reg.packgenFlags...)...)); err != nil {
			return err
		}
		home := filepath.Join(dir, fmt.Sprint(i))
		for _, d := range []string{"cache", "state"} {
			if err := os.RemoveAll(filepath.Join(home, d)); err != nil {
				return err
			}
		}
		mark = reg.mark()
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
