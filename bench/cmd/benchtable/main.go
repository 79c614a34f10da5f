// Command benchtable is the scale benchmark behind `make bench`: it
// generates synthetic pack repositories (internal/synth), runs the real
// packgen binary on them as child processes (build, fetch, verify --site),
// runs Helm's repository code on the same chart archives (helmbench), and
// prints one table of every figure with its goal and pass/fail.
//
// Timings are the best of -runs tries: the machine is shared, and the
// minimum is the figure least disturbed by other work. Exit status 1 when
// a goal is missed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/packgen/packgen/bench/measure"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/serve"
)

const password = "bench"

type config struct {
	root, work      string
	packs, versions int
	chart, runs     int
	scaling, meta   bool
	keep            bool
	static, oci     bool
	images          bool
	orasMax         int
	airgap          bool
	airgapImages    int
	airgapSize      int
	airgapBig       int
}

type env struct {
	config
	packgen, helmbench string
	helm               string // Helm v4's CLI, built from its module (-images)
	key, pub           string
	table              measure.Table
	notes              []string
	fetches            int // numbers fetch dirs
	aside              int // numbers sites moved aside by coldBuild
	colds              int // numbers coldBuild's tries (their cache dirs)
}

// add puts a row in the table and logs it at once, so a run cut short
// still shows what it measured.
func (e *env) add(name string, value float64, shown string, goal measure.Goal) {
	e.table.Add(name, value, shown, goal)
	logf("%s: %s %s", name, shown, goal.Text)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == measure.ChildFlag {
		measure.ChildMain()
	}
	// Children are started through this binary as a small wrapper, so
	// their peak RSS is theirs (see measure.Wrapper).
	if exe, err := os.Executable(); err == nil {
		measure.Wrapper = exe
	}
	var c config
	flag.StringVar(&c.root, "root", "..", "packgen source tree (built into the work dir)")
	flag.StringVar(&c.work, "work", "", "work dir (default: a temporary dir, removed at the end)")
	flag.IntVar(&c.packs, "packs", 1000, "packs in the main registry")
	flag.IntVar(&c.versions, "versions", 5, "versions per pack")
	flag.IntVar(&c.chart, "chart", 20<<10, "bytes of each chart archive")
	flag.IntVar(&c.runs, "runs", 3, "tries per timing (best kept)")
	flag.BoolVar(&c.scaling, "scaling", true, "also build at 1/4 and 1/2 of the release count")
	flag.BoolVar(&c.meta, "metadata", true, "also measure metadata per resolve at 100, 1,000 and 10,000 releases")
	flag.BoolVar(&c.keep, "keep", false, "keep the work dir")
	flag.BoolVar(&c.static, "static", true, "measure the static registry beside Helm")
	flag.BoolVar(&c.oci, "oci", true, "measure publishing to and fetching from an OCI registry (issue 16; needs the registry and oras binaries)")
	flag.BoolVar(&c.airgap, "airgap", true, "measure `packgen airgap export` (issue 18; needs the registry binary)")
	flag.IntVar(&c.airgapImages, "airgap-images", 50, "images in the air-gap bundle")
	flag.IntVar(&c.airgapSize, "airgap-size", 4<<20, "bytes of each air-gap image's own layer")
	flag.IntVar(&c.airgapBig, "airgap-big", 512<<20, "bytes of the one large image's layer (peak RSS whatever the image size)")
	flag.IntVar(&c.orasMax, "oras", 0, "time at most this many `oras push` processes and scale to every archive (0: all)")
	flag.BoolVar(&c.images, "images", true, "measure packgen images on the repository's HEAD beside helm template per chart (issue 18)")
	flag.Parse()
	failed, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(3)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// run measures everything and prints the table; it returns how many
// goals were missed (the work dir is removed either way).
func run(c config) (int, error) {
	if c.work == "" {
		d, err := os.MkdirTemp("", "packgen-bench-")
		if err != nil {
			return 0, err
		}
		c.work = d
	}
	if !c.keep {
		defer os.RemoveAll(c.work)
	}
	e := &env{config: c, packgen: filepath.Join(c.work, "packgen"), helmbench: filepath.Join(c.work, "helmbench"), helm: filepath.Join(c.work, "helm")}
	defer e.removeAside()
	logf("work dir %s, %d CPUs", c.work, runtime.NumCPU())
	if err := e.tools(); err != nil {
		return 0, err
	}

	// The sections the flags select, in the table's order.
	for _, s := range []struct {
		on   bool
		rows func() error
	}{{c.static, e.staticRows}, {c.oci, e.ociRows}, {c.images, e.imagesRows}, {c.airgap, e.airgapRows}} {
		if !s.on {
			continue
		}
		if err := s.rows(); err != nil {
			return 0, err
		}
	}

	fmt.Printf("\npackgen at scale: %d packs × %d versions, %d-byte charts, %d CPUs (runtime.NumCPU), best of %d\n\n", c.packs, c.versions, c.chart, runtime.NumCPU(), c.runs)
	e.table.Markdown(os.Stdout)
	for _, n := range e.notes {
		fmt.Println("\n" + n)
	}
	if n := e.table.Failed(); n > 0 {
		fmt.Printf("\n%d goal(s) missed\n", n)
	}
	return e.table.Failed(), nil
}

// staticRows measures the static registry beside Helm.
func (e *env) staticRows() error {
	c := e.config
	// The main registry and its Helm twin.
	spec := synth.Full(c.packs, c.versions, c.chart, 100, true)
	main, err := e.registry("main", spec)
	if err != nil {
		return err
	}
	site := filepath.Join(c.work, "main-site")
	cold, err := e.coldBuild(main.repo, site, true)
	if err != nil {
		return err
	}
	rel := main.res.Releases
	e.add(fmt.Sprintf("cold build, %d releases, signed, with catalogue", rel), cold.Wall.Seconds(), timed(cold), measure.AtMost(10, "10 s"))
	e.add("peak RSS of the cold build", float64(cold.MaxRSS), measure.Size(cold.MaxRSS), measure.AtMost(256<<20, "256 MiB"))
	coldNoSite, err := e.coldBuild(main.repo, filepath.Join(c.work, "main-nosite"), false)
	if err != nil {
		return err
	}
	e.add("cold build without catalogue (--no-site)", coldNoSite.Wall.Seconds(), timed(coldNoSite), measure.Goal{})
	// Issue 20: the catalogue's share of the cold build, (with − without)
	// / with, by CPU (what other load disturbs least) and by wall time.
	for _, s := range []struct {
		what      string
		with, not float64
	}{{"CPU", cold.CPU.Seconds(), coldNoSite.CPU.Seconds()}, {"wall time", cold.Wall.Seconds(), coldNoSite.Wall.Seconds()}} {
		share := (s.with - s.not) / s.with
		e.add("catalogue's share of the cold build, "+s.what, share, fmt.Sprintf("%.1f%%", 100*share), measure.AtMost(0.15, "15%"))
	}

	noChange, err := e.rebuildRow("no-change rebuild (the build record in --out matches)", measure.AtMost(0.5, "0.5 s"), nil, main.repo, site, true)
	if err != nil {
		return err
	}
	if _, err := e.rebuildRow("no-change rebuild through every step (--force)", measure.AtMost(0.5, "0.5 s"), nil, main.repo, site, true, "--force"); err != nil {
		return err
	}
	noSite := filepath.Join(c.work, "main-nosite")
	if _, err := e.rebuildRow("no-change rebuild without catalogue", measure.Goal{}, nil, main.repo, noSite, false); err != nil {
		return err
	}
	// CI builds in a clone, not a bare repository: there the build also
	// looks for uncommitted changes under the packs dir, in the work tree
	// (go-git's whole-tree status made this row 1.4 s; PERFORMANCE.md).
	clone := filepath.Join(c.work, "main-clone")
	for _, d := range []string{clone, filepath.Join(c.work, "main-clone-site")} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	if out, err := exec.Command("git", "clone", "-q", main.repo, clone).CombinedOutput(); err != nil {
		return fmt.Errorf("git clone %s: %v: %s", main.repo, err, out)
	}
	// The clone's origin is a repository URL the catalogue links to:
	// another input, so one build first records it, in a copy of the
	// site (the rows below rebuild the site from the bare repository).
	cloneSite := filepath.Join(c.work, "main-clone-site")
	if out, err := exec.Command("cp", "-a", site, cloneSite).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %v: %s", site, err, out)
	}
	if _, err := e.build(clone, cloneSite, true); err != nil {
		return err
	}
	if _, err := e.rebuildRow("no-change rebuild in a clone (its work tree checked)", measure.AtMost(0.5, "0.5 s"), nil, clone, cloneSite, true); err != nil {
		return err
	}

	// Serve the registry and the Helm repository on loopback.
	srv, err := startServer(serve.Handler(site))
	if err != nil {
		return err
	}
	defer srv.Close()
	helmDir := filepath.Join(c.work, "main-charts")
	hsrv, err := startServer(http.FileServer(http.Dir(helmDir)))
	if err != nil {
		return err
	}
	defer hsrv.Close()

	helmIndex, err := measure.Best(c.runs, func(int) error { return settle() }, func(int) (measure.Run, error) {
		return measure.Exec(exec.Command(e.helmbench, "index", helmDir, hsrv.URL))
	})
	if err != nil {
		return err
	}
	st, err := os.Stat(filepath.Join(helmDir, "index.yaml"))
	if err != nil {
		return err
	}
	helmIndexBytes := st.Size()
	e.add(fmt.Sprintf("Helm: IndexDirectory + write index.yaml, %d charts", rel), helmIndex.Wall.Seconds(), timed(helmIndex), measure.Goal{})
	e.add("Helm: peak RSS of indexing", float64(helmIndex.MaxRSS), measure.Size(helmIndex.MaxRSS), measure.Goal{})
	e.add("Helm: index.yaml", float64(helmIndexBytes), measure.Size(helmIndexBytes), measure.Goal{})

	// One pack resolved, fetched, verified and extracted.
	target := synth.Name(c.packs / 2)
	fetchCold, metaBytes, reqs, err := e.fetch(srv, target, true)
	if err != nil {
		return err
	}
	fetchWarm, _, _, err := e.fetch(srv, target, false)
	if err != nil {
		return err
	}
	e.add(fmt.Sprintf("metadata downloaded to resolve one pack (%d requests)", reqs), float64(metaBytes), measure.Size(metaBytes), measure.AtMost(16<<10, "16 KiB"))
	e.add("`packgen fetch` process, cold cache (resolve + download + verify + extract)", fetchCold.Wall.Seconds(), timed(fetchCold), measure.AtMost(0.05, "50 ms"))
	e.add("`packgen fetch` process, warm cache", fetchWarm.Wall.Seconds(), timed(fetchWarm), measure.AtMost(0.05, "50 ms"))
	e.add("peak RSS of `packgen fetch`", float64(fetchCold.MaxRSS), measure.Size(fetchCold.MaxRSS), measure.Goal{})

	hsrv.Counter.Reset()
	helmPull, err := measure.Best(c.runs, func(i int) error { hsrv.Counter.Reset(); return nil }, func(i int) (measure.Run, error) {
		return measure.Exec(exec.Command(e.helmbench, "pull", hsrv.URL, target, filepath.Join(c.work, fmt.Sprintf("helm-pull-%d", i))))
	})
	if err != nil {
		return err
	}
	helmMeta := hsrv.Counter.Bytes(measure.Metadata)
	e.add("Helm: download index.yaml + LoadIndexFile + Get + download chart (process)", helmPull.Wall.Seconds(), timed(helmPull), measure.Goal{})
	e.add("Helm: metadata downloaded to resolve one chart", float64(helmMeta), measure.Size(helmMeta), measure.Goal{})
	e.add("Helm: peak RSS of the pull", float64(helmPull.MaxRSS), measure.Size(helmPull.MaxRSS), measure.Goal{})

	verify, err := measure.Best(c.runs, nil, func(int) (measure.Run, error) {
		return measure.Exec(e.cmd(nil, "verify", "--site", srv.URL, "--key", e.pub))
	})
	if err != nil {
		return err
	}
	e.add(fmt.Sprintf("`packgen verify --site` over HTTP, %d releases", rel), verify.Wall.Seconds(), timed(verify), measure.Goal{})

	// One pack changed: a new commit bumping one pack, then a rebuild.
	bumps := 0
	bump := func(int) error {
		bumps++
		_, err := synth.Bump(main.repo, spec, bumps, c.versions+bumps)
		return err
	}
	if _, err := e.rebuildRow("rebuild after one pack changed (new commit)", measure.AtMost(0.5, "0.5 s"), bump, main.repo, site, true); err != nil {
		return err
	}
	if _, err := e.rebuildRow("rebuild after one pack changed, without catalogue", measure.Goal{}, bump, main.repo, noSite, false); err != nil {
		return err
	}

	ratio := func(name string, a, b float64, limit float64) {
		e.add(name, a/b, fmt.Sprintf("%.3f×", a/b), measure.AtMost(limit, fmt.Sprintf("%g×", limit)))
	}
	ratio("ratio: packgen cold build / Helm indexing", cold.Wall.Seconds(), helmIndex.Wall.Seconds(), 1.0)
	ratio("ratio: packgen no-change rebuild / Helm indexing", noChange.Wall.Seconds(), helmIndex.Wall.Seconds(), 0.1)
	ratio("ratio: packgen fetch (resolve + fetch + verify) / Helm load + lookup + download", fetchCold.Wall.Seconds(), helmPull.Wall.Seconds(), 0.1)
	e.add("ratio: packgen metadata per resolve / Helm index.yaml", float64(metaBytes)/float64(helmIndexBytes), fmt.Sprintf("%.2f%%", 100*float64(metaBytes)/float64(helmIndexBytes)), measure.AtMost(0.01, "1%"))

	if c.meta {
		if err := e.metadataScaling(); err != nil {
			return err
		}
	}
	if c.scaling {
		if err := e.buildScaling(spec, cold, fetchCold, metaBytes); err != nil {
			return err
		}
	}

	return nil
}

// tools builds packgen (and packgen-helm beside it, its chart renderer)
// and helmbench, and makes a signing key. packgen is built as releases
// are (.github/workflows/ci.yml): static (CGO_ENABLED=0) and stripped.
// A cgo build links the C library dynamically and starts a process about
// 1.5 ms slower (the fetch rows; docs/PERFORMANCE.md, "Fetch start-up").
func (e *env) tools() error {
	b := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Dir(e.packgen)+string(filepath.Separator), "./cmd/packgen", "./cmd/packgen-helm")
	b.Dir = e.root
	b.Env = append(os.Environ(), "CGO_ENABLED=0")
	if _, err := measure.Exec(b); err != nil {
		return err
	}
	if _, err := measure.Exec(exec.Command("go", "build", "-o", e.helmbench, "./cmd/helmbench")); err != nil {
		return err
	}
	if e.images {
		// The real helm CLI, from the module this one requires (a tool).
		if _, err := measure.Exec(exec.Command("go", "build", "-o", e.helm, "helm.sh/helm/v4/cmd/helm")); err != nil {
			return err
		}
	}
	prefix := filepath.Join(e.work, "registry")
	if _, err := measure.Exec(e.cmd(nil, "key", "generate", "--prefix", prefix)); err != nil {
		return err
	}
	e.key, e.pub = prefix+".key", prefix+".pub"
	return nil
}

// cmd is a packgen command with its own config, cache and state dirs.
func (e *env) cmd(xdg *string, args ...string) *exec.Cmd {
	c := exec.Command(e.packgen, args...)
	home := filepath.Join(e.work, "home")
	if xdg != nil {
		home = *xdg
	}
	c.Env = append(os.Environ(), "PACKGEN_PASSWORD="+password,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"))
	return c
}

type registry struct {
	repo string
	res  *synth.Result
}

// registry generates a repository and writes its charts for Helm.
func (e *env) registry(name string, spec synth.Spec) (*registry, error) {
	start := time.Now()
	r := &registry{repo: filepath.Join(e.work, name+"-repo")}
	var err error
	if r.res, err = synth.Generate(r.repo, spec); err != nil {
		return nil, err
	}
	if _, err := synth.WriteCharts(filepath.Join(e.work, name+"-charts"), spec, r.res); err != nil {
		return nil, err
	}
	logf("generated %s: %d packs, %d releases, %d commits in %s", name, spec.Packs, r.res.Releases, r.res.Commits, time.Since(start).Round(time.Millisecond))
	return r, nil
}

func (e *env) build(repo, out string, withSite bool, extra ...string) (measure.Run, error) {
	return e.buildIn(nil, repo, out, withSite, extra...)
}

// rebuildRow times builds of repo into out (best of the runs, prep
// before each: nothing, or a new commit) and adds the best as a row.
func (e *env) rebuildRow(name string, goal measure.Goal, prep func(int) error, repo, out string, withSite bool, extra ...string) (measure.Run, error) {
	r, err := measure.Best(e.runs, prep, func(int) (measure.Run, error) { return e.build(repo, out, withSite, extra...) })
	if err != nil {
		return r, err
	}
	e.add(name, r.Wall.Seconds(), timed(r), goal)
	return r, nil
}

// buildIn is build with its own config, cache and state dirs under home
// (nil: the shared ones).
func (e *env) buildIn(home *string, repo, out string, withSite bool, extra ...string) (measure.Run, error) {
	args := []string{"build", "--repo", repo, "--packs-dir", "packs", "--out", out, "--key", e.key, "--name", "bench", "-o", "json",
		// synth commits are dated 2024: keep the index valid for clients.
		"--expires", "438000h"}
	if !withSite {
		args = append(args, "--no-site")
	}
	args = append(args, extra...)
	return measure.Exec(e.cmd(home, args...))
}

// coldBuild builds into an empty out dir, best of runs.
// coldBuild times builds into an empty out dir. The previous try's site
// is moved aside, not removed: deleting tens of thousands of files just
// before a timed build made the file system (ext4 mounted with discard
// on this VM) slow the build by seconds. They are removed at the end.
func (e *env) coldBuild(repo, out string, withSite bool) (measure.Run, error) {
	return measure.Best(e.runs, func(int) error {
		if _, err := os.Stat(out); err == nil {
			e.aside++
			if err := os.Rename(out, filepath.Join(e.work, fmt.Sprintf("aside-%d", e.aside))); err != nil {
				return err
			}
		}
		// A cold build is a first build on this machine too: an empty
		// cache (the catalogue remembers the images it found there).
		e.colds++
		return settle()
	}, func(int) (measure.Run, error) {
		home := e.coldHome(e.colds)
		return e.buildIn(&home, repo, out, withSite)
	})
}

// coldHome holds the config, cache and state dirs of coldBuild's try n.
func (e *env) coldHome(n int) string { return filepath.Join(e.work, fmt.Sprintf("cold-home-%d", n)) }

// removeAside removes the sites coldBuild moved aside, and the build
// caches of its tries.
func (e *env) removeAside() {
	for ; e.colds > 0; e.colds-- {
		os.RemoveAll(e.coldHome(e.colds))
	}
	for ; e.aside > 0; e.aside-- {
		os.RemoveAll(filepath.Join(e.work, fmt.Sprintf("aside-%d", e.aside)))
	}
}

// fetch runs packgen fetch of one pack; cold uses fresh cache dirs for
// every try. It returns the metadata bytes the first try downloaded.
func (e *env) fetch(srv *server, name string, cold bool) (measure.Run, int64, int, error) {
	e.fetches++
	base := filepath.Join(e.work, fmt.Sprintf("fetch-%d", e.fetches))
	home := filepath.Join(base, "warm")
	var meta int64
	reqs := 0
	if !cold {
		// Fill the cache once.
		if _, err := measure.Exec(e.cmd(&home, "fetch", name, "--url", srv.URL, "--key", e.pub, "-d", filepath.Join(home, "prime"))); err != nil {
			return measure.Run{}, 0, 0, err
		}
	}
	tries := 0
	r, err := measure.Best(e.runs, func(int) error { srv.Counter.Reset(); return nil }, func(i int) (measure.Run, error) {
		tries++
		h := home
		if cold {
			h = filepath.Join(base, fmt.Sprintf("cold-%d", i))
		}
		r, err := measure.Exec(e.cmd(&h, "fetch", name, "--url", srv.URL, "--key", e.pub, "-d", filepath.Join(h, fmt.Sprintf("dest-%d", i))))
		if i == 0 {
			meta, reqs = srv.Counter.Bytes(measure.Metadata), srv.Counter.Requests()
		}
		return r, err
	})
	return r, meta, reqs, err
}

// fetchServed serves site over loopback HTTP, as a static host would,
// for one cold fetch of pack name (fetch).
func (e *env) fetchServed(site, name string) (measure.Run, int64, int, error) {
	srv, err := startServer(serve.Handler(site))
	if err != nil {
		return measure.Run{}, 0, 0, err
	}
	defer srv.Close()
	return e.fetch(srv, name, true)
}

// metadataScaling shows the metadata per resolve at 100, 1,000 and
// 10,000 releases (small charts: metadata does not depend on them).
func (e *env) metadataScaling() error {
	for _, packs := range []int{20, 200, 2000} {
		spec := synth.Full(packs, 5, 2048, 100, true)
		name := fmt.Sprintf("meta%d", packs*5)
		r, err := e.registry(name, spec)
		if err != nil {
			return err
		}
		site := filepath.Join(e.work, name+"-site")
		if _, err := e.build(r.repo, site, false); err != nil {
			return err
		}
		f, meta, _, err := e.fetchServed(site, synth.Name(packs/2))
		if err != nil {
			return err
		}
		e.add(fmt.Sprintf("metadata per resolve at %d releases", r.res.Releases), float64(meta), measure.Size(meta), measure.AtMost(16<<10, "16 KiB"))
		e.add(fmt.Sprintf("`packgen fetch` cold at %d releases", r.res.Releases), f.Wall.Seconds(), measure.Dur(f.Wall), measure.AtMost(0.05, "50 ms"))
		os.RemoveAll(r.repo)
		os.RemoveAll(site)
	}
	return nil
}

// buildScaling builds at 1/4 and 1/2 of the main release count and puts
// the main registry's figures beside them as 4×.
func (e *env) buildScaling(full synth.Spec, cold, fetchCold measure.Run, metaBytes int64) error {
	type point struct {
		releases int
		build    measure.Run
		fetch    measure.Run
		meta     int64
	}
	var pts []point
	for _, div := range []int{4, 2} {
		spec := synth.Full(max(full.Packs/div, 1), full.Versions, full.ChartSize, full.PerCommit, full.InPlace)
		name := fmt.Sprintf("scale%d", div)
		r, err := e.registry(name, spec)
		if err != nil {
			return err
		}
		site := filepath.Join(e.work, name+"-site")
		b, err := e.coldBuild(r.repo, site, true)
		if err != nil {
			return err
		}
		f, meta, _, err := e.fetchServed(site, synth.Name(spec.Packs/2))
		if err != nil {
			return err
		}
		pts = append(pts, point{r.res.Releases, b, f, meta})
		os.RemoveAll(r.repo)
		os.RemoveAll(site)
	}
	pts = append(pts, point{full.Packs * full.Versions, cold, fetchCold, metaBytes})
	base := pts[0]
	for i, p := range pts {
		x := []string{"1×", "2×", "4×"}[i]
		perK := p.build.CPU.Seconds() / float64(p.releases) * 1000
		e.add(fmt.Sprintf("scaling %s (%d releases): cold build", x, p.releases), perK, fmt.Sprintf("%s, %.2f CPU-s per 1,000 releases", timed(p.build), perK), measure.Goal{})
		e.add(fmt.Sprintf("scaling %s (%d releases): fetch; metadata per resolve", x, p.releases), float64(p.meta), fmt.Sprintf("%s; %s", timed(p.fetch), measure.Size(p.meta)), measure.Goal{})
	}
	last := pts[len(pts)-1]
	// Linear: the CPU per release at 4× stays within 1.5× of that at 1×
	// (CPU, not wall: other load on the machine moves wall times more).
	growth := (last.build.CPU.Seconds() / float64(last.releases)) / (base.build.CPU.Seconds() / float64(base.releases))
	e.add("scaling: build CPU per release, 4× vs 1×", growth, fmt.Sprintf("%.2f×", growth), measure.AtMost(1.5, "1.5× (linear)"))
	fg := last.fetch.CPU.Seconds() / base.fetch.CPU.Seconds()
	e.add("scaling: fetch CPU, 4× vs 1×", fg, fmt.Sprintf("%.2f×", fg), measure.AtMost(1.5, "1.5× (flat)"))
	flat := float64(last.meta) / float64(base.meta)
	e.add("scaling: metadata per resolve, 4× vs 1×", flat, fmt.Sprintf("%.2f×", flat), measure.AtMost(1.25, "1.25× (flat)"))
	return nil
}

// timed shows a run's wall time with its CPU time (user + system, all
// threads), which other load on a shared machine disturbs less.
func timed(r measure.Run) string {
	return fmt.Sprintf("%s (CPU %s)", measure.Dur(r.Wall), measure.Dur(r.CPU))
}

type server struct {
	*http.Server
	URL     string
	Counter *measure.Counter
}

func startServer(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &measure.Counter{Next: h}
	s := &server{Server: &http.Server{Handler: c}, URL: "http://" + ln.Addr().String(), Counter: c}
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("server: %v", err)
		}
	}()
	return s, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchtable: "+strings.TrimSuffix(format, "\n")+"\n", args...)
}

// settle writes dirty pages back before a timed run, so a run does not
// pay for the writeback of what the one before it (or the generator)
// wrote. (The driver, like measure's rusage, is for Unix.)
func settle() error {
	syscall.Sync()
	return nil
}
