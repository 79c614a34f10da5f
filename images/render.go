package images

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
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

	once  sync.Once
	sem   chan struct{}
	build string

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
	})
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
		// or Abort, where packgen killed it.
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
	go func() {
		res, err := p.conn.Render(req)
		done <- answer{res, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-done:
		if a.err != nil {
			p.kill()
			return nil, rendererFailed{fmt.Errorf("%s stopped while rendering: %v%s", HelperName, a.err, p.stderr.tail())}
		}
		h.put(p)
		return a.res, nil
	case <-t.C:
		p.killed = true
		p.kill() // the pending read then fails: done is buffered
		return nil, rendererFailed{fmt.Errorf("rendering takes longer than %v", timeout)}
	case <-h.aborted:
		p.killed = true
		p.kill()
		return nil, errAborted
	}
}

// errAborted is a render cut short by Abort.
var errAborted = rendererFailed{errors.New("chart rendering interrupted")}

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
// ErrRendererFailed too.
type rendererFailed struct{ err error }

func (e rendererFailed) Error() string   { return e.err.Error() }
func (e rendererFailed) Unwrap() []error { return []error{e.err, ErrRendererFailed} }

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
		c, err := chartproto.Dial(outR, inW, h.build)
		p.conn = c
		dialed <- err
	}()
	t := time.NewTimer(h.timeout())
	defer t.Stop()
	select {
	case err = <-dialed:
	case <-t.C:
		p.kill() // the pending read then fails: dialed is buffered
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
// message when it fails (a Go runtime's fatal error, say).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if n := len(b.buf); n > 2048 {
		b.buf = append(b.buf[:0], b.buf[n-2048:]...)
	}
	return len(p), nil
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
