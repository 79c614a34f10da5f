package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// Binary returns the real packgen binary, built once per test process
// for every test that drives it as a process, with its chart renderer
// packgen-helm beside it, where packgen looks for it.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "packgen-bin-*"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "packgen")
		// One go command for both: they share its build cache and work.
		if out, err := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "github.com/packgen/packgen/cmd/packgen", "github.com/packgen/packgen/cmd/packgen-helm").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// RemoveBinary removes what Binary built; TestMain calls it after m.Run.
func RemoveBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// Env is the environment of a packgen process confined to dir: the test
// key's password, XDG config, cache and state below dir, and
// SOURCE_DATE_EPOCH set to epoch ("" leaves builds to the commit dates).
func Env(dir, epoch string) []string {
	return append(os.Environ(), "PACKGEN_PASSWORD="+Password,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"XDG_STATE_HOME="+filepath.Join(dir, "state"), "SOURCE_DATE_EPOCH="+epoch)
}

// Now is SOURCE_DATE_EPOCH for a build made now (a registry not expired).
func Now() string { return fmt.Sprint(time.Now().Unix()) }

// Runner runs the packgen binary in Dir with Env.
type Runner struct {
	T   testing.TB
	Bin string
	Dir string
	Env []string
	// Timeout, when set, fails the test as a hang when a run takes longer.
	Timeout time.Duration
}

// NewRunner runs the binary in dir with Env(dir, epoch).
func NewRunner(t testing.TB, dir, epoch string) *Runner {
	t.Helper()
	return &Runner{T: t, Bin: Binary(t), Dir: dir, Env: Env(dir, epoch)}
}

// Run runs packgen with args (and env added to r.Env); it returns the
// exit code, stdout and stderr, and fails the test when the process
// could not run, hung, or panicked.
func (r *Runner) Run(env []string, args ...string) (code int, stdout, stderr string) {
	r.T.Helper()
	ctx := context.Background()
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, r.Bin, args...)
	cmd.Dir, cmd.Env = r.Dir, append(append([]string{}, r.Env...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		r.T.Fatalf("packgen %v hangs", args)
	}
	code = ExitCode(r.T, err)
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic:") {
		r.T.Fatalf("packgen %v panicked:\n%s", args, errb.String())
	}
	return code, out.String(), errb.String()
}

// ExitCode is the exit code of a process that ran to its end with err (0
// when err is nil); any error other than an exit fails the test.
func ExitCode(t testing.TB, err error) int {
	t.Helper()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// Want runs packgen, fails the test unless it exits with want, and
// returns stdout and stderr.
func (r *Runner) Want(want int, args ...string) (stdout, stderr string) {
	r.T.Helper()
	code, out, errs := r.Run(nil, args...)
	if code != want {
		r.T.Fatalf("packgen %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errs)
	}
	return out, errs
}
