package images

import (
	"bufio"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/chartproto"
)

// fakeHelper is this test binary run as a packgen-helm that misbehaves
// after a correct handshake (the same binary: the same build), or
// before it: what a planted or broken helper, or a chart that drives the
// real one into the ground, looks like to packgen.
func fakeHelper(mode string) {
	in, out := bufio.NewReader(os.Stdin), os.Stdout
	if mode == "silent" { // reads, never answers
		for {
			if _, err := in.ReadByte(); err != nil {
				os.Exit(0)
			}
		}
	}
	var h chartproto.Hello
	if err := chartproto.ReadFrame(in, &h); err != nil {
		os.Exit(3)
	}
	build := chartproto.BuildID()
	if mode == "otherbuild" {
		build = "v9.9.9 commit 0123abc go1.99"
	}
	// A bound it says it set (what packgen-helm answers on Linux; 0,
	// none, elsewhere).
	var bound int64
	switch mode {
	case "segv":
		bound = 64 << 20
	case "midframe", "oom":
		bound = 1 << 30
	}
	chartproto.WriteFrame(out, &chartproto.Hello{Protocol: chartproto.Protocol, Build: build, MemoryLimit: bound})
	if mode == "otherbuild" { // as packgen-helm says it, then exits
		os.Stderr.WriteString("packgen-helm: packgen and packgen-helm are from different builds: …\n")
		os.Exit(3)
	}
	if mode == "noread" { // never reads a request
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	var req chartproto.Request
	if err := chartproto.ReadFrame(in, &req); err != nil {
		os.Exit(3)
	}
	switch mode {
	case "garbage":
		out.WriteString("panic: something went wrong\n")
		time.Sleep(time.Minute)
	case "midframe":
		binary.Write(out, binary.BigEndian, uint32(100))
		out.WriteString("0123456789")
		os.Stderr.WriteString("fatal error: concurrent map writes\n")
		os.Exit(2)
	case "oom", "oom-unbound": // the Go runtime out of memory (at its data bound on Linux), the words in two writes
		binary.Write(out, binary.BigEndian, uint32(100))
		os.Stderr.WriteString("fatal error: runtime: out of mem")
		time.Sleep(50 * time.Millisecond)
		os.Stderr.WriteString("ory\n\ngoroutine 1 gp=0xc000002380 m=0 mp=0x… [running]:\n" + strings.Repeat("runtime.throw(…)\n", 200))
		os.Exit(2)
	case "segv": // at its bound, the runtime's collector dies without saying "out of memory"
		binary.Write(out, binary.BigEndian, uint32(100))
		grab := make([]byte, 48<<20) // three quarters of the bound, resident
		for i := range grab {
			grab[i] = byte(i)
		}
		os.Stderr.WriteString("SIGSEGV: segmentation violation PC=0x43913d m=0 sigcode=1 addr=0x0\ngoroutine 0 gp=0x27e3980 m=0 mp=0x27e4d20 [idle]:\nruntime.(*spanQueue).tryDrain(…)\n")
		os.Exit(int(grab[len(grab)-1]) | 2)
	case "huge":
		binary.Write(out, binary.BigEndian, uint32(chartproto.MaxResult+1))
		junk := make([]byte, 1<<20)
		for {
			if _, err := out.Write(junk); err != nil {
				os.Exit(1)
			}
		}
	case "stderr":
		line := []byte(strings.Repeat("x", 1023) + "\n")
		for range 16 << 10 { // 16 MiB
			os.Stderr.Write(line)
		}
		os.Stderr.WriteString("the last words\n")
		os.Exit(2)
	}
	os.Exit(0)
}

// children counts this process's child processes, zombies included.
func children(t *testing.T) int { return childProcs(t, "") }

// TestHostileHelper: whatever the helper does — never answer the
// handshake, never read a request, answer with text, die mid-frame (or
// saying it ran out of memory), announce a result past
// chartproto.MaxResult, flood stderr — packgen
// gives up within the timeout with an error saying what happened, holds
// no more than the bounds allow, and leaves no process (nor zombie)
// behind.
func TestHostileHelper(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	big := &chartproto.Request{Archive: make([]byte, 8<<20)} // more than a pipe holds
	for _, tc := range []struct {
		mode    string
		req     *chartproto.Request
		is      error
		want    string
		wantNot string // nor may it say this
	}{
		{"silent", big, ErrNoChartRenderer, "no answer to the handshake in 1s", ""},
		{"noread", big, ErrRendererFailed, "rendering takes longer than 1s", ""},
		{"garbage", big, ErrRendererFailed, "packgen-helm stopped while rendering: chart renderer protocol: a *chartproto.Result of 1885433449 bytes announced, at most 67108864 allowed", ""},
		{"midframe", big, ErrRendererFailed, "stopped while rendering: unexpected EOF (packgen-helm said: fatal error: concurrent map writes)", ""},
		// A helper that bounds itself (Linux) names the bound and how to
		// raise it; one that cannot (elsewhere) says it had none.
		{"oom", big, ErrMemoryLimit, "packgen-helm ran out of memory rendering the chart: it may use 1024 MiB, and real charts render in a few MiB, so its templates or values likely grow without bound (a huge repeat, a string doubled in a loop, toYaml of a huge value, recursive tpl, YAML aliases); if the chart is genuine and needs more, raise the limit with PACKGEN_HELM_MEMORY (e.g. PACKGEN_HELM_MEMORY=2GiB)", ""},
		{"oom-unbound", big, ErrMemoryLimit, "packgen-helm ran out of memory rendering the chart: it has no bound of its own on this system (it bounds itself on Linux only), so it ran out of what the system allows, and real charts render in a few MiB, so its templates", MemoryEnv},
		{"segv", big, ErrMemoryLimit, "packgen-helm ran out of memory rendering the chart: it may use 64 MiB, and real charts", ""},
		{"huge", big, ErrRendererFailed, "bytes announced, at most 67108864 allowed", ""},
		{"stderr", big, ErrRendererFailed, "xxxxxx the last words)", ""},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Setenv("PACKGEN_FAKE_HELM", tc.mode)
			before := children(t)
			// Those that wait get 1 s; the others end by themselves, so a
			// loaded machine must not make them time out instead.
			timeout := 20 * time.Second
			if tc.mode == "silent" || tc.mode == "noread" {
				timeout = time.Second
			}
			h := &Helper{Find: func() (string, error) { return exe, nil }, Timeout: timeout}
			defer h.Close()
			if tc.mode == "noread" {
				// Its handshake is not what is timed: started (a -race
				// test binary) with time to spare on a loaded machine,
				// then idle, then given the render to time out.
				h.Timeout = 20 * time.Second
				h.init()
				p, err := h.take()
				if err != nil {
					t.Fatal(err)
				}
				h.put(p)
				h.Timeout = timeout
			}
			start := time.Now()
			res, err := h.Render(tc.req)
			if d := time.Since(start); d > timeout+4*time.Second {
				t.Errorf("took %v to give up", d)
			}
			if res != nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render = %v, %v; want %v, %q", res, err, tc.is, tc.want)
			}
			if tc.wantNot != "" && strings.Contains(err.Error(), tc.wantNot) {
				t.Errorf("%v: says %q", err, tc.wantNot)
			}
			// A crash far below the bound is not called out of memory
			// (midframe says it set 1 GiB).
			if tc.is != ErrMemoryLimit && errors.Is(err, ErrMemoryLimit) {
				t.Errorf("%v: called out of memory", err)
			}
			// Past the time or memory bound is the chart's limit (the
			// build refuses the release for it, attackS F5); a helper
			// that died otherwise is not.
			if limit := tc.mode == "noread" || tc.is == ErrMemoryLimit; errors.Is(err, ErrChartLimit) != limit {
				t.Errorf("%v: ErrChartLimit is %v, want %v", err, !limit, limit)
			}
			if len(err.Error()) > 4<<10 {
				t.Errorf("a message of %d bytes", len(err.Error()))
			}
			if n := children(t); n != before {
				t.Errorf("%d child processes after, %d before: the helper was not reaped", n, before)
			}
		})
	}
}

// TestHelperForks: a planted helper whose child keeps its stdout and
// stderr open (never answering) does not hang packgen: the handshake
// times out, the helper is killed and waited for (its I/O given
// WaitDelay, not the child's lifetime).
func TestHelperForks(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := filepath.Join(dir, HelperName)
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 60 &\necho $! >"+pidFile+"\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
		}
	})
	h := &Helper{Find: func() (string, error) { return script, nil }, Timeout: time.Second}
	start := time.Now()
	_, err := h.Render(&chartproto.Request{})
	if !errors.Is(err, ErrNoChartRenderer) || !strings.Contains(err.Error(), "no answer to the handshake") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up", d)
	}
}

// TestProbeHelper: what `packgen version` says of the chart renderer:
// the one found and its build, a helper of another build named with
// both builds, or none and how to get one.
func TestProbeHelper(t *testing.T) {
	bin := helperBinary(t)
	t.Setenv("PATH", filepath.Dir(bin))
	if got := ProbeHelper(); !got.OK || got.Path != bin || got.Build != chartproto.BuildID() || got.Protocol != chartproto.Protocol || got.Error != "" {
		t.Errorf("the right helper: %+v", got)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(other, HelperName)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", other)
	t.Setenv("PACKGEN_FAKE_HELM", "otherbuild")
	got := ProbeHelper()
	if got.OK || got.Path != filepath.Join(other, HelperName) || got.Build != "v9.9.9 commit 0123abc go1.99" {
		t.Errorf("another build: %+v", got)
	}
	if strings.Contains(got.Error, "said") {
		t.Errorf("another build: the helper's stderr repeats the mismatch: %s", got.Error)
	}
	for _, w := range []string{`packgen-helm is build "v9.9.9 commit 0123abc go1.99"`, `this packgen is build "` + chartproto.BuildID() + `"`, "make build", "go install github.com/packgen/packgen/cmd/...@"} {
		if !strings.Contains(got.Error, w) {
			t.Errorf("another build: %q lacks %q", got.Error, w)
		}
	}

	t.Setenv("PATH", t.TempDir())
	if got := ProbeHelper(); got.OK || got.Path != "" || !strings.Contains(got.Error, "needs packgen-helm") {
		t.Errorf("none: %+v", got)
	}
}
