package images

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/packgen/packgen/internal/chartrender"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack"
)

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helperBinary builds cmd/packgen-helm once, as this test binary is
// built (no VCS stamp), so the two pass the handshake.
func TestMain(m *testing.M) {
	if mode := os.Getenv("PACKGEN_FAKE_HELM"); mode != "" {
		fakeHelper(mode) // this binary run as a hostile packgen-helm
		return
	}
	code := m.Run()
	if helmPath != "" {
		os.RemoveAll(filepath.Dir(helmPath))
	}
	os.Exit(code)
}

func helperBinary(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		dir, err := os.MkdirTemp("", "packgen-helm-*")
		if err != nil {
			helmErr = err
			return
		}
		helmPath = filepath.Join(dir, HelperName)
		if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", helmPath, "github.com/packgen/packgen/cmd/packgen-helm").CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmPath
}

// withHelper renders through h for the rest of the test.
func withHelper(t *testing.T, h *Helper) {
	restore := SetRenderer(h)
	t.Cleanup(func() {
		restore()
		h.Close()
	})
}

// helperChildren counts this process's packgen-helm children (Linux).
func helperChildren(t *testing.T) int { return childProcs(t, HelperName) }

// childProcs counts this process's child processes named comm (any
// name when comm is ""), zombies included (Linux).
func childProcs(t *testing.T, comm string) int {
	t.Helper()
	pids, ok := testutil.ChildPIDs(os.Getpid(), comm)
	if !ok {
		t.Skip("no /proc")
	}
	return len(pids)
}

// TestHelperProcess: packgen-helm as a process finds what rendering in
// process finds, field for field, with charts rendered side by side;
// one idle helper serves request after request.
func TestHelperProcess(t *testing.T) {
	bin := helperBinary(t)
	var want [][]*Report
	dirs := []string{"testdata/packs", "../examples/packs"}
	for _, d := range dirs {
		rs, err := Tree(os.DirFS(d), ".", d)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rs)
	}
	starts := 0
	var mu sync.Mutex
	h := &Helper{Find: func() (string, error) { mu.Lock(); starts++; mu.Unlock(); return bin, nil }}
	withHelper(t, h)
	var wg sync.WaitGroup
	got := make([][]*Report, len(dirs))
	errs := make([]error, len(dirs))
	for i, d := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = Tree(os.DirFS(d), ".", d)
		}()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: the helper's reports differ from the in-process renderer's", dirs[i])
		}
	}
	if max := runtime.GOMAXPROCS(0); starts < 1 || starts > max {
		t.Errorf("%d helpers started, want 1 to %d", starts, max)
	}
	// Sequential renders reuse an idle helper.
	before := starts
	for range 3 {
		if _, err := Tree(os.DirFS("testdata/packs"), ".", "p"); err != nil {
			t.Fatal(err)
		}
	}
	if starts != before {
		t.Errorf("sequential renders started %d more helpers, want none", starts-before)
	}
	// Closed, an idle helper sees its stdin end and exits 0.
	h.mu.Lock()
	idle := append([]*helperProc(nil), h.idle...)
	h.mu.Unlock()
	h.Close()
	for _, p := range idle {
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("helper exited %d on stdin's end, want 0 (%s)", code, p.stderr.tail())
		}
	}
	if len(idle) == 0 {
		t.Error("no idle helper after the renders")
	}
}

// TestHelperTimeout: a chart whose template runs away is stopped by
// killing its helper process (the in-process engine could not be
// stopped), reported as the chart's error; the next chart gets a fresh
// helper.
// runawayPack is a pack at p whose chart renders for hours.
func runawayPack() fstest.MapFS {
	return fstest.MapFS{
		"p/pack.json":                     {Data: []byte(packJSON)},
		"p/values.yaml":                   {Data: []byte("a: 1\n")},
		"p/charts/c/Chart.yaml":           {Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
		"p/charts/c/templates/spin.yaml":  {Data: []byte("{{- range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n")},
		"p/charts/c/templates/other.yaml": {Data: []byte("a: 1\n")},
	}
}

// TestHelperAbort: Abort (packgen's SIGINT or SIGTERM) kills a helper
// busy on a runaway chart at once, not at the render timeout, and no
// helper starts after it.
func TestHelperAbort(t *testing.T) {
	bin := helperBinary(t)
	h := &Helper{Find: func() (string, error) { return bin, nil }, Timeout: time.Hour}
	withHelper(t, h)
	before := helperChildren(t)
	errc := make(chan error, 1)
	go func() {
		_, err := findIn(t, runawayPack(), "p")
		errc <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); helperChildren(t) == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no packgen-helm started for the chart")
		}
	}
	h.Abort()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrRendererFailed) || !strings.Contains(err.Error(), "chart rendering interrupted") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the render did not stop after Abort")
	}
	if n := helperChildren(t); n != before {
		t.Errorf("%d packgen-helm children after Abort, want %d", n, before)
	}
	if _, err := Tree(os.DirFS("testdata/packs"), ".", "p"); !errors.Is(err, ErrRendererFailed) {
		t.Fatalf("a chart after Abort: err = %v, want ErrRendererFailed", err)
	}
	if n := helperChildren(t); n != before {
		t.Errorf("a helper started after Abort")
	}
}

func TestHelperTimeout(t *testing.T) {
	bin := helperBinary(t)
	h := &Helper{Find: func() (string, error) { return bin, nil }, Timeout: 2 * time.Second}
	withHelper(t, h)
	before := helperChildren(t)
	runaway := runawayPack()
	// The most packgen-helm children seen while the chart renders.
	stop, done := make(chan struct{}), make(chan struct{})
	during := 0
	go func() {
		defer close(done)
		for {
			during = max(during, helperChildren(t))
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	_, err := findIn(t, runaway, "p")
	close(stop)
	<-done
	if !errors.Is(err, ErrChart) || !errors.Is(err, ErrChartLimit) || !errors.Is(err, ErrRendererFailed) || !strings.Contains(err.Error(), "p/charts/c: chart does not render: rendering takes longer than 2s") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to give up", d)
	}
	if during != before+1 {
		t.Errorf("%d packgen-helm children while rendering, want %d", during, before+1)
	}
	if n := helperChildren(t); n != before {
		t.Errorf("%d packgen-helm children after the timeout, want %d: the runaway one was not killed", n, before)
	}
	if _, err := Tree(os.DirFS("testdata/packs"), ".", "p"); err != nil {
		t.Fatalf("the next chart: %v", err)
	}
}

// TestNoHelper: without packgen-helm a pack with charts is refused with
// ErrNoChartRenderer saying what to install; a pack without charts
// never needs it.
func TestNoHelper(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	withHelper(t, NewHelper()) // beside this test binary: no packgen-helm
	_, err := Tree(os.DirFS("testdata/packs"), ".", "testdata/packs")
	if !errors.Is(err, ErrNoChartRenderer) {
		t.Fatalf("err = %v, want ErrNoChartRenderer", err)
	}
	for _, w := range []string{"testdata/packs/webapp-1.2.0/charts/webapp: ", "needs packgen-helm", "or on PATH", "make build", "go install github.com/packgen/packgen/cmd/...@"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	p, _ := pack.Load(os.DirFS("testdata/packs"), "webapp-1.2.0", pack.Options{})
	if _, _, err := CheckPackReport(p, "w", nil); !errors.Is(err, ErrNoChartRenderer) {
		t.Errorf("CheckPackReport: %v, want the error, not a problem of the pack", err)
	}
	if _, err := Tree(os.DirFS("../examples/packs/kubernetes-1.29.4"), ".", "k8s"); err != nil {
		t.Errorf("a pack without charts: %v", err)
	}
	// A file that is no packgen-helm fails the handshake, also as
	// ErrNoChartRenderer.
	withHelper(t, &Helper{Find: func() (string, error) { return "/bin/true", nil }})
	if _, err := Tree(os.DirFS("testdata/packs"), ".", "p"); !errors.Is(err, ErrNoChartRenderer) || !strings.Contains(err.Error(), "/bin/true") {
		t.Errorf("not a helper: %v", err)
	}
}

var _ Renderer = chartrender.InProcess{}

// TestHelperOrphaned: a helper whose packgen is killed (no stdin's end:
// here another process still holds it) exits on its own, rather than
// run on unwatched, within a few seconds.
func TestHelperOrphaned(t *testing.T) {
	bin := helperBinary(t)
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinW.Close()
	// sh starts the helper, says its pid and becomes sleep: the
	// helper's parent, killed below.
	parent := exec.Command("sh", "-c", `"$0" <&3 >/dev/null 2>&1 & echo $!; exec sleep 60`, bin)
	parent.ExtraFiles = []*os.File{stdinR}
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	stdinR.Close()
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil {
		t.Fatal(err)
	}
	defer syscallKill(pid)
	time.Sleep(500 * time.Millisecond) // the helper is up and reading
	parent.Process.Kill()
	parent.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); err != nil || (i > 0 && strings.HasPrefix(s[i+1:], " Z")) {
			break // gone, or a zombie its new parent has not reaped
		}
		if time.Now().After(deadline) {
			t.Fatalf("the helper (pid %d) still runs 10 s after its packgen was killed", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func syscallKill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

// TestLookupNotDot: a packgen-helm in the current directory is never
// the helper, whether PATH names it as "." or as an empty entry, even
// with GODEBUG=execerrdot=0; one on PATH by an absolute path is.
func TestLookupNotDot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, HelperName), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, tc := range []struct{ path, godebug string }{
		{".", ""}, {":/nonexistent", ""}, {".", "execerrdot=0"}, {"/nonexistent:", "execerrdot=0"},
	} {
		t.Setenv("PATH", tc.path)
		t.Setenv("GODEBUG", tc.godebug)
		if p, err := LookupHelper(); !errors.Is(err, ErrNoChartRenderer) {
			t.Errorf("PATH=%q GODEBUG=%q: found %q, %v", tc.path, tc.godebug, p, err)
		}
	}
	t.Setenv("PATH", dir)
	if p, err := LookupHelper(); err != nil || p != filepath.Join(dir, HelperName) {
		t.Errorf("absolute PATH entry: %q, %v", p, err)
	}
}

// TestInstallHint: what a missing or mismatched packgen-helm's message
// says to do, by how this packgen was built.
func TestInstallHint(t *testing.T) {
	for _, tc := range []struct {
		exe, version string
		clone        bool
		want         string
	}{
		{"/root/.cache/go-build/70/70e5…-d/packgen", "latest", false, "`go run ./cmd/packgen` builds packgen without its chart renderer"},
		{"/tmp/go-build123/b001/exe/packgen", "latest", false, "run bin/packgen after `make build`, or packgen after `go install ./cmd/...`"},
		{"/home/u/packgen/bin/packgen", "v0.0.0-20261206130822-13ef7942d640+dirty", true, "in the clone, build both with `make build` (bin/packgen and bin/packgen-helm) or install both with `go install ./cmd/...`"},
		{"/home/u/go/bin/packgen", "v1.4.0", false, "`go install github.com/packgen/packgen/cmd/...@v1.4.0`"},
		{"/usr/local/bin/packgen", "latest", false, "`go install github.com/packgen/packgen/cmd/...@latest`"},
	} {
		if got := hint(tc.exe, tc.version, tc.clone); !strings.Contains(got, tc.want) {
			t.Errorf("hint(%q, %q, %v) = %q, want %q in it", tc.exe, tc.version, tc.clone, got, tc.want)
		}
	}
}
