package images

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/internal/chartproto"
)

// Renderer renders one chart. The error is the renderer's own failure
// (ErrNoChartRenderer, a helper that died or ran out of time); a chart
// that does not load or render is Result.Err.
type Renderer interface {
	Render(*chartproto.Request) (*chartproto.Result, error)
}

// ErrNoChartRenderer marks a pack with charts and no usable chart
// renderer: packgen-helm is missing or from another packgen build. A
// fault of the machine, not of the pack.
var ErrNoChartRenderer = errors.New("no chart renderer")

// ErrRendererFailed marks a chart whose helper died or ran out of time
// while rendering it: the chart's problem (a runaway template, one that
// exhausts the helper's memory) or the machine's (the OOM killer, a
// loaded machine), which one packgen cannot tell. A cache of what
// charts render must not remember it.
var ErrRendererFailed = errors.New("chart renderer failed")

// ErrMemoryLimit marks a chart whose helper ran out of the memory
// packgen lets it use (Helper.MemoryLimit): the chart's templates or
// values grow without bound, or a real chart needs more than the
// default. It matches ErrRendererFailed too.
var ErrMemoryLimit = errors.New("chart renderer out of memory")

// ErrChartLimit marks a chart that ran the renderer past its time
// (Helper.Timeout) or memory (ErrMemoryLimit) bound: most likely the
// chart's doing (a runaway or memory-bomb template), so the build takes
// it as the release's error, which --skip-invalid leaves out; but a
// loaded machine can cause it too, so, as ErrRendererFailed (which it
// matches), nothing that caches results may remember it.
var ErrChartLimit = errors.New("chart exceeds the renderer's limits")

// MemoryEnv names the variable that sets how much memory each chart
// renderer may use, in bytes or with a unit ("2GiB", "1536MiB").
const MemoryEnv = "PACKGEN_HELM_MEMORY"

// DefaultMemoryLimit bounds each packgen-helm's memory when neither
// Helper.MemoryLimit nor $PACKGEN_HELM_MEMORY says otherwise. Real charts
// render in a few MiB (a helper maps about 120 MiB before its first
// chart); a chart at the 64 MiB that packgen reads of a result maps
// about 500 MiB. 1 GiB holds that with room, and with GOMAXPROCS
// helpers bounds what charts can take of the machine to that many GiB.
const DefaultMemoryLimit = 1 << 30

// minMemoryLimit is the least MemoryEnv may say: below it a helper
// fails before any chart.
const minMemoryLimit = 256 << 20

var (
	rendererMu sync.RWMutex
	renderer   Renderer = NewHelper()
)

// SetRenderer makes r the renderer every chart goes to (tests render in
// their own process with internal/chartrender.InProcess) and returns
// what restores the previous one.
func SetRenderer(r Renderer) (restore func()) {
	rendererMu.Lock()
	old := renderer
	renderer = r
	rendererMu.Unlock()
	return func() {
		rendererMu.Lock()
		renderer = old
		rendererMu.Unlock()
	}
}

// CloseRenderer ends the default renderer's idle helpers and waits for
// them, so that a command ends with no process of its own left behind
// and their CPU time counts as its own (what wait4 reports).
func CloseRenderer() {
	if h := defaultHelper(); h != nil {
		h.Close()
	}
}

// defaultHelper is the renderer charts go to when it is a Helper (not
// a test's in-process one), or nil.
func defaultHelper() *Helper {
	rendererMu.RLock()
	defer rendererMu.RUnlock()
	h, _ := renderer.(*Helper)
	return h
}

// AbortRenderer aborts the default renderer (Helper.Abort).
func AbortRenderer() {
	if h := defaultHelper(); h != nil {
		h.Abort()
	}
}

func render(req *chartproto.Request) (*chartproto.Result, error) {
	rendererMu.RLock()
	r := renderer
	rendererMu.RUnlock()
	return r.Render(req)
}

// HelperName is the chart renderer's executable: the packgen binary
// links no Helm (its start-up would pay Helm's and client-go's package
// initialisers, about 20 ms, on every command).
const HelperName = "packgen-helm"

// Helper renders charts in packgen-helm processes: up to GOMAXPROCS at
// once, each serving request after request, closed after IdleTimeout
// unused. One that takes longer than Timeout over a chart is killed
// (Helm's engine has no step budget, and a pull request's chart is
// outside input); the next chart gets a fresh one.
type Helper struct {
	Timeout     time.Duration // 0: 30 s
	IdleTimeout time.Duration // 0: 5 s
	// Find locates the executable; nil: LookupHelper.
	Find func() (string, error)
	// MemoryLimit bounds each helper's memory in bytes (its data
	// mappings, RLIMIT_DATA, which the helper sets on itself at the
	// handshake: Linux only); 0: $PACKGEN_HELM_MEMORY, else
	// DefaultMemoryLimit. A chart that needs more is ErrMemoryLimit.
	MemoryLimit int64

	once   sync.Once
	sem    chan struct{}
	build  string
	memory int64  // the bound asked of each helper
	memSrc string // where it comes from, for the message
	memErr error  // MemoryEnv does not parse

	mu   sync.Mutex
	idle []*helperProc

	// aborted is closed by Abort: renders in flight kill their helper
	// and return, and no new helper starts.
	aborted   chan struct{}
	abortOnce sync.Once
}

// NewHelper is a Helper with the default bounds.
func NewHelper() *Helper { return &Helper{} }

func (h *Helper) init() {
	h.once.Do(func() {
		h.sem = make(chan struct{}, runtime.GOMAXPROCS(0))
		h.aborted = make(chan struct{})
		h.build = chartproto.BuildID()
		if h.Find == nil {
			h.Find = LookupHelper
		}
		h.memory, h.memSrc = h.MemoryLimit, "Helper.MemoryLimit"
		if h.memory <= 0 {
			h.memory, h.memSrc = DefaultMemoryLimit, "the default"
			if v, ok := os.LookupEnv(MemoryEnv); ok {
				h.memory, h.memErr = ParseMemory(v)
				h.memSrc = "$" + MemoryEnv
				if h.memErr != nil {
					h.memErr = fmt.Errorf("%w: $%s=%q: %v", ErrNoChartRenderer, MemoryEnv, v, h.memErr)
				}
			}
		}
	})
}

// ParseMemory reads a memory size as MemoryEnv says it: bytes, or a
// whole number of KiB, MiB or GiB ("1536MiB", "2GiB"), at least 256 MiB.
func ParseMemory(s string) (int64, error) {
	num, shift := strings.TrimSpace(s), 0
	for _, u := range []struct {
		suffix string
		shift  int
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"B", 0}} {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(n), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > 1<<(62-shift) {
		return 0, fmt.Errorf("want a size such as 2GiB, 1536MiB or a number of bytes")
	}
	n <<= shift
	if n < minMemoryLimit {
		return 0, fmt.Errorf("%d MiB is too little: packgen-helm maps about 120 MiB before its first chart; give at least %d MiB", n>>20, minMemoryLimit>>20)
	}
	return n, nil
}

// LookupHelper finds packgen-helm beside the running executable (its
// symbolic links resolved: what make build and go install put together),
// then on PATH (never in the current directory: exec.LookPath refuses a
// relative PATH entry). Either way the handshake then refuses a helper
// from another packgen build.
func LookupHelper() (string, error) {
	name := HelperName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	where := "on PATH"
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			p := filepath.Join(filepath.Dir(exe), name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
			where = "in " + filepath.Dir(exe) + " (beside " + filepath.Base(exe) + ") or on PATH"
		}
	}
	// LookPath refuses a relative PATH entry ("." or "") with ErrDot,
	// unless GODEBUG=execerrdot=0 says otherwise: an absolute path only,
	// whatever GODEBUG says, as a file in the current directory (a
	// repository just cloned) is not packgen's.
	if p, err := exec.LookPath(HelperName); err == nil && filepath.IsAbs(p) {
		return p, nil
	}
	return "", fmt.Errorf("%w: rendering a chart needs %s, the chart renderer that comes with packgen, and there is none %s: %s", ErrNoChartRenderer, HelperName, where, installHint())
}

// installHint says how to get packgen-helm of this build.
func installHint() string {
	exe, _ := os.Executable()
	version, clone := "latest", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if strings.HasPrefix(bi.Main.Version, "v") {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			clone = clone || s.Key == "vcs.revision"
		}
	}
	return hint(exe, version, clone)
}

// hint is installHint for the executable exe of module version
// version, built in a clone (a VCS stamp) or not.
func hint(exe, version string, clone bool) string {
	switch {
	case filepath.Base(exe) == "packgen" && strings.Contains(filepath.ToSlash(exe), "/go-build"):
		// go run builds packgen alone, in Go's cache, with no VCS stamp:
		// no helper is beside it, and none installed is of its build.
		return "`go run ./cmd/packgen` builds packgen without its chart renderer (and as build \"(devel)\", which no installed packgen-helm matches), so it renders no chart: in the clone, run bin/packgen after `make build`, or packgen after `go install ./cmd/...`"
	case clone:
		// A pseudo-version stamped from a clone may name a commit the
		// module proxy does not have, or be +dirty: build from the clone.
		return "in the clone, build both with `make build` (bin/packgen and bin/packgen-helm) or install both with `go install ./cmd/...`"
	}
	return "build both with `make build` (bin/packgen and bin/packgen-helm) or install both with `go install github.com/packgen/packgen/cmd/...@" + version + "`"
}

// Render implements Renderer.
func (h *Helper) Render(req *chartproto.Request) (*chartproto.Result, error) {
	h.init()
	select {
	case h.sem <- struct{}{}:
	case <-h.aborted:
		return nil, errAborted
	}
	defer func() { <-h.sem }()
	select {
	case <-h.aborted:
		return nil, errAborted
	default:
	}
	p, err := h.take()
	if err != nil {
		return nil, err
	}
	res, err := h.run(p, req)
	if err != nil && p.reused && !p.killed {
		// A helper that sat idle may have been ended from outside
		// (killed, the machine's memory): that is not this chart's
		// fault. Try once more with a fresh one; not after a timeout
		// or Abort, where packgen killed it. A chart that ran a reused
		// helper out of memory is tried once more too, so that what
		// earlier charts left mapped does not count against it.
		if p, err = h.start(); err != nil {
			return nil, err
		}
		res, err = h.run(p, req)
	}
	return res, err
}

func (h *Helper) run(p *helperProc, req *chartproto.Request) (*chartproto.Result, error) {
	timeout := h.timeout()
	type answer struct {
		res *chartproto.Result
		err error
	}
	done := make(chan answer, 1)
	p.stderr.resetOOM() // what an earlier chart had the helper say
	go func() {
		res, err := p.conn.Render(req)
		done <- answer{res, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-done:
		if a.err != nil {
			p.kill() // stderr is complete once it is waited for
			if p.stderr.outOfMemory() || h.diedNearLimit(p) {
				return nil, h.memoryError(p)
			}
			return nil, rendererFailed{err: fmt.Errorf("%s stopped while rendering: %v%s", HelperName, a.err, p.stderr.tail())}
		}
		h.put(p)
		return a.res, nil
	case <-t.C:
		p.killed = true
		p.kill() // the pending read then fails: done is buffered
		return nil, rendererFailed{err: fmt.Errorf("rendering takes longer than %v", timeout), also: ErrChartLimit}
	case <-h.aborted:
		p.killed = true
		p.kill()
		return nil, errAborted
	}
}

// diedNearLimit: helper p, now waited for, used at least half its bound
// before it died. At its bound the Go runtime does not always say "out
// of memory": an allocation of its own that fails inside the collector
// ends in a SIGSEGV there (seen with Go 1.26's collector under
// RLIMIT_DATA). The kernel's count of the peak tells that death from a
// crash of a helper that real charts keep at a few tens of MiB.
//
// The peak undercounts: the bound is on mapped memory, and what the
// collector has given back (madvise) is mapped but not resident, so a
// helper can reach its bound well under half of it resident (what a CI
// run's TestHelperMemoryPaths most likely saw: a runtime fault, its
// registers dumped, not recognised). A fault inside the runtime itself
// ("unexpected signal during runtime execution", never a chart's own
// nil dereference, which is a panic in Helm's code) in a bounded helper
// is taken for the same death.
func (h *Helper) diedNearLimit(p *helperProc) bool {
	limit := p.conn.MemoryLimit // the bound it set, not only asked for
	return limit > 0 && (peakRSS(p.cmd.ProcessState) >= limit/2 || p.stderr.runtimeFault())
}

// memoryError is a chart that ran helper p out of memory: past the bound
// it set (Linux), or, where it sets none, out of what the machine had.
func (h *Helper) memoryError(p *helperProc) error {
	const likely = "real charts render in a few MiB, so its templates or values likely grow without bound (a huge repeat, a string doubled in a loop, toYaml of a huge value, recursive tpl, YAML aliases)"
	limit := p.conn.MemoryLimit
	if limit <= 0 {
		return rendererFailed{err: fmt.Errorf("%s ran out of memory rendering the chart: it has no bound of its own on this system (it bounds itself on Linux only), so it ran out of what the system allows, and %s",
			HelperName, likely), also: ErrMemoryLimit}
	}
	src := ""
	if h.memSrc != "the default" {
		src = " (" + h.memSrc + ")"
	}
	return rendererFailed{err: fmt.Errorf("%s ran out of memory rendering the chart: it may use %d MiB%s, and %s; if the chart is genuine and needs more, raise the limit with %s (e.g. %s=%dGiB)",
		HelperName, limit>>20, src, likely, MemoryEnv, MemoryEnv, max(2, 2*(limit>>30))), also: ErrMemoryLimit}
}

// errAborted is a render cut short by Abort.
var errAborted = rendererFailed{err: errors.New("chart rendering interrupted")}

// Abort kills every helper, busy or idle, and makes every render in
// flight or to come fail at once: packgen calls it on SIGINT or SIGTERM,
// so that a command rendering a slow chart stops now rather than at the
// end of its signal grace (a terminal's Ctrl-C signals the helpers too;
// a kill of packgen alone does not).
func (h *Helper) Abort() {
	h.init()
	h.abortOnce.Do(func() { close(h.aborted) })
	h.Close()
}

// rendererFailed reads as the error it holds and matches
// ErrRendererFailed too, and also when set (ErrChartLimit,
// ErrMemoryLimit, which is one: ErrMemoryLimit's Is below).
type rendererFailed struct{ err, also error }

func (e rendererFailed) Error() string { return e.err.Error() }
func (e rendererFailed) Unwrap() []error {
	if e.also != nil {
		return []error{e.err, ErrRendererFailed, e.also}
	}
	return []error{e.err, ErrRendererFailed}
}

// Is: a chart past the memory bound is past the renderer's limits.
func (e rendererFailed) Is(target error) bool {
	return target == ErrChartLimit && e.also == ErrMemoryLimit
}

func (h *Helper) timeout() time.Duration {
	if h.Timeout <= 0 {
		return 30 * time.Second
	}
	return h.Timeout
}

// take returns an idle helper, or starts one.
func (h *Helper) take() (*helperProc, error) {
	h.mu.Lock()
	if n := len(h.idle); n > 0 {
		p := h.idle[n-1]
		h.idle = h.idle[:n-1]
		h.mu.Unlock()
		p.timer.Stop()
		p.reused = true
		return p, nil
	}
	h.mu.Unlock()
	return h.start()
}

// put makes p idle, closing it after IdleTimeout unless taken.
func (h *Helper) put(p *helperProc) {
	idle := h.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Second
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.aborted: // Abort emptied the pool before this render ended
		go p.close()
		return
	default:
	}
	h.idle = append(h.idle, p)
	p.timer = time.AfterFunc(idle, func() {
		h.mu.Lock()
		for i, q := range h.idle {
			if q == p {
				h.idle = append(h.idle[:i], h.idle[i+1:]...)
				h.mu.Unlock()
				p.close()
				return
			}
		}
		h.mu.Unlock() // taken meanwhile
	})
}

// Close ends the idle helpers (a busy one ends when its parent exits:
// its stdin closes).
func (h *Helper) Close() {
	h.mu.Lock()
	idle := h.idle
	h.idle = nil
	h.mu.Unlock()
	for _, p := range idle {
		p.timer.Stop()
		p.close()
	}
}

// helperProc is one packgen-helm process.
type helperProc struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *os.File
	conn   *chartproto.Conn
	stderr *tailBuffer
	done   chan struct{} // closed once the process is waited for
	timer  *time.Timer
	reused bool
	killed bool // by packgen (a timeout, Abort): the render is not retried
}

func (h *Helper) start() (*helperProc, error) {
	if h.memErr != nil {
		return nil, h.memErr
	}
	path, err := h.Find()
	if err != nil {
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	p := &helperProc{stdin: inW, stdout: outR, stderr: &tailBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(path)
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, p.stderr
	// Wait also waits for stderr's copy to end: a child of the helper
	// holding it open (a planted one, say) must not hang packgen.
	p.cmd.WaitDelay = time.Second
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("%w: start %s: %v; %s", ErrNoChartRenderer, path, err, installHint())
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	// The handshake waits as a render does: an executable that never
	// answers (or never reads) is killed, not waited for.
	dialed := make(chan error, 1)
	go func() {
		c, err := chartproto.Dial(outR, inW, h.build, h.memory)
		p.conn = c
		dialed <- err
	}()
	t := time.NewTimer(h.timeout())
	defer t.Stop()
	select {
	case err = <-dialed:
	case <-t.C: // killed below; the pending read then fails: dialed is buffered
		err = fmt.Errorf("no answer to the handshake in %v", h.timeout())
	}
	if err != nil {
		p.kill()
		said := p.stderr.tail()
		if errors.Is(err, chartproto.ErrMismatch) {
			said = "" // the helper's stderr says the same the other way round
		}
		return nil, fmt.Errorf("%w: %s: %w%s; %s", ErrNoChartRenderer, path, err, said, installHint())
	}
	return p, nil
}

// kill ends p at once and waits for it.
func (p *helperProc) kill() {
	p.cmd.Process.Kill()
	p.stdin.Close()
	<-p.done
	p.stdout.Close()
}

// close ends p the polite way: its stdin ends, it exits.
func (p *helperProc) close() {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.stdout.Close()
}

// tailBuffer keeps the last 2 KiB a helper wrote to stderr, for the
// message when it fails (a Go runtime's fatal error, say), and whether
// it said it ran out of memory.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte
	oom   bool
	fault bool // the runtime said one of runtimeFaultSaid
}

// runtimeFaultSaid is what the Go runtime says when a memory fault hits
// its own code (the collector's allocation failing at the data bound),
// in each of the ways it dies of one: on a goroutine that cannot panic
// ("fatal error: unexpected signal during runtime execution"), on the
// system stack, where the signal handler throws ("SIGSEGV: segmentation
// violation" or "SIGBUS: bus error", then "PC=" on the next line,
// registers dumped last: runtime.fatalsignal; a CI run's
// TestChartMemoryLimit), or at an address no nil dereference
// reaches ("unexpected fault address 0x…", "fatal error: fault"). A
// chart's own nil dereference is none of these: a panic in Helm's code
// ("[signal SIGSEGV: segmentation violation code=… addr=0x0 pc=…]").
var runtimeFaultSaid = [][]byte{[]byte("unexpected signal during runtime execution"), []byte("segmentation violation\nPC="), []byte("bus error\nPC="), []byte("unexpected fault address")}

// oomSaid is what the Go runtime says when it cannot map more memory
// ("fatal error: runtime: out of memory", "fatal error: runtime: cannot
// allocate memory", "fatal error: out of memory allocating heap arena
// metadata", …) or a new thread's stack ("runtime/cgo: pthread_create
// failed: Resource temporarily unavailable", then SIGABRT, in a helper
// built with cgo): the helper's data bound reached.
var oomSaid = [][]byte{[]byte("out of memory"), []byte("cannot allocate memory"), []byte("pthread_create failed"), []byte("failed to create new OS thread")}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := max(0, len(b.buf)-64) // the words may come in two writes
	b.buf = append(b.buf, p...)
	b.oom = b.oom || saidAny(b.buf[from:], oomSaid)
	b.fault = b.fault || saidAny(b.buf[from:], runtimeFaultSaid)
	if n := len(b.buf); n > 2048 {
		b.buf = append(b.buf[:0], b.buf[n-2048:]...)
	}
	return len(p), nil
}

// saidAny says whether buf holds one of said.
func saidAny(buf []byte, said [][]byte) bool {
	return slices.ContainsFunc(said, func(s []byte) bool { return bytes.Contains(buf, s) })
}

func (b *tailBuffer) resetOOM() {
	b.mu.Lock()
	b.oom, b.fault = false, false
	b.mu.Unlock()
}

// runtimeFault says whether the helper said one of runtimeFaultSaid.
func (b *tailBuffer) runtimeFault() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fault
}

// outOfMemory says whether the helper said it ran out of memory.
func (b *tailBuffer) outOfMemory() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.oom
}

// tail is ": " and what stderr said, on one line; "" when nothing.
func (b *tailBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := oneLine(string(b.buf))
	if s == "" {
		return ""
	}
	return " (" + HelperName + " said: " + s + ")"
}

// HelperInfo is the chart renderer packgen would use, as `packgen
// version` shows it.
type HelperInfo struct {
	// Path is the packgen-helm found ("" when none).
	Path string `json:"path,omitempty"`
	// Build and Protocol are what it answered the handshake (empty when
	// it did not): the same as this packgen's when OK.
	Build    string `json:"build,omitempty"`
	Protocol int    `json:"protocol,omitempty"`
	// OK: found, and of this packgen's build.
	OK bool `json:"ok"`
	// Error says what is wrong and what to do, when not OK.
	Error string `json:"error,omitempty"`
}

// ProbeHelper finds the chart renderer as a chart would (LookupHelper),
// starts it and says hello, then closes it: what `packgen version`
// reports, so that a user sees which helper, and whether it fits,
// before a chart needs it.
func ProbeHelper() HelperInfo {
	var info HelperInfo
	path, err := LookupHelper()
	if err == nil {
		info.Path = path
		h := &Helper{Find: func() (string, error) { return path, nil }, Timeout: 10 * time.Second}
		h.init()
		var p *helperProc
		if p, err = h.start(); err == nil {
			p.close()
			info.Build, info.Protocol, info.OK = h.build, chartproto.Protocol, true
		}
	}
	if err != nil {
		var me *chartproto.MismatchError
		if errors.As(err, &me) {
			info.Build, info.Protocol = me.Helper.Build, me.Helper.Protocol
		}
		info.Error = err.Error()
	}
	return info
}
