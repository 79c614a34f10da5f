// Package measure holds the measuring parts of the benchmark driver:
// child processes timed with their peak RSS, an HTTP handler that counts
// the bytes a client downloads, and the table of figures with goals.
package measure

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Run is one finished child process.
type Run struct {
	Wall   time.Duration
	MaxRSS int64         // bytes, from the kernel's rusage of the child
	CPU    time.Duration // user + system time of the child
	Stdout string
}

// Wrapper, when set, is an executable that Exec runs in place of the
// command, with ChildFlag and the command line; it must call ChildMain
// first thing. Peak RSS needs it: Linux carries a process's ru_maxrss
// over exec, and os/exec starts children with vfork, so a child started
// straight from a big parent (the driver holds a generated repository)
// reports the parent's peak. The wrapper is a small fresh process that
// starts the command, times it and reports its rusage on fd 3.
var Wrapper string

// ChildFlag is the first argument of a wrapper process.
const ChildFlag = "-measure-child"

// ChildMain runs the command in os.Args[2:] as a wrapper (see Wrapper)
// and exits with its status. Call it when os.Args[1] == ChildFlag.
func ChildMain() {
	report := os.NewFile(3, "report")
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if err != nil {
		code = 125
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	var rss, cpu int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss, cpu = ru.Maxrss*1024, ru.Utime.Nano()+ru.Stime.Nano()
		}
	}
	fmt.Fprintf(report, "%d %d %d\n", wall, rss, cpu)
	report.Close()
	os.Exit(code)
}

// Exec runs cmd to completion and reports its wall time and peak RSS
// (through Wrapper when set). A failing command is an error carrying its
// output.
func Exec(cmd *exec.Cmd) (Run, error) {
	if Wrapper != "" {
		return execWrapped(cmd)
	}
	var out, errb bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &errb
	}
	start := time.Now()
	err := cmd.Run()
	r := Run{Wall: time.Since(start), Stdout: out.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
			r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s%s", strings.Join(cmd.Args, " "), err, out.String(), errb.String())
	}
	return r, nil
}

// Sequence runs cmds one after another, as a script would, and reports
// them as one run: the wall time of them all, the sum of their CPU times
// and the largest peak RSS. It stops at the first failure.
func Sequence(cmds []*exec.Cmd) (Run, error) {
	var total Run
	start := time.Now()
	for _, cmd := range cmds {
		r, err := Exec(cmd)
		if err != nil {
			return total, err
		}
		total.CPU += r.CPU
		total.MaxRSS = max(total.MaxRSS, r.MaxRSS)
	}
	total.Wall = time.Since(start)
	return total, nil
}

func execWrapped(cmd *exec.Cmd) (Run, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return Run{}, err
	}
	defer pr.Close()
	w := exec.Command(Wrapper, append([]string{ChildFlag, cmd.Path}, cmd.Args[1:]...)...)
	w.Dir, w.Env, w.Stdin = cmd.Dir, cmd.Env, cmd.Stdin
	var out, errb bytes.Buffer
	w.Stdout, w.Stderr = &out, &errb
	if cmd.Stdout != nil {
		w.Stdout = cmd.Stdout
	}
	if cmd.Stderr != nil {
		w.Stderr = cmd.Stderr
	}
	w.ExtraFiles = []*os.File{pw}
	if err := w.Start(); err != nil {
		pw.Close()
		return Run{}, err
	}
	pw.Close()
	report, _ := io.ReadAll(pr)
	err = w.Wait()
	r := Run{Stdout: out.String()}
	var wall, cpu int64
	if _, serr := fmt.Sscanf(string(report), "%d %d %d", &wall, &r.MaxRSS, &cpu); serr != nil && err == nil {
		err = fmt.Errorf("no report from the wrapper: %q", report)
	}
	r.Wall, r.CPU = time.Duration(wall), time.Duration(cpu)
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s%s", strings.Join(cmd.Args, " "), err, out.String(), errb.String())
	}
	return r, nil
}

// Best runs f n times (at least once) and keeps the fastest run: the
// machine is shared, so the minimum is the figure least disturbed by
// other work. prep runs before each try, untimed.
func Best(n int, prep func(i int) error, f func(i int) (Run, error)) (Run, error) {
	var best Run
	for i := 0; i < max(n, 1); i++ {
		if prep != nil {
			if err := prep(i); err != nil {
				return best, err
			}
		}
		r, err := f(i)
		if err != nil {
			return r, err
		}
		if i == 0 || r.Wall < best.Wall {
			best = r
		}
	}
	return best, nil
}

// Counter wraps a handler and counts the response body bytes it sends,
// per request path, as a client on the other end of the socket sees them.
type Counter struct {
	Next  http.Handler
	mu    sync.Mutex
	bytes map[string]int64
	reqs  int
}

func (c *Counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.reqs++
	c.mu.Unlock()
	c.Next.ServeHTTP(&countingWriter{ResponseWriter: w, c: c, path: r.URL.Path}, r)
}

// add counts n bytes for path. Bytes are counted before they are handed to
// the connection (and uncounted if the write fails), so a client that has
// read a whole body never sees a count short of it, even while the handler
// is still returning.
func (c *Counter) add(path string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes == nil {
		c.bytes = map[string]int64{}
	}
	c.bytes[path] += n
}

// Reset forgets what was counted.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.bytes, c.reqs = nil, 0
	c.mu.Unlock()
}

// Requests is the number of requests served since the last Reset.
func (c *Counter) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs
}

// Bytes sums the bytes sent for paths that keep says to count (nil: all).
func (c *Counter) Bytes(keep func(path string) bool) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for p, b := range c.bytes {
		if keep == nil || keep(p) {
			n += b
		}
	}
	return n
}

// Paths lists the paths requested since the last Reset, sorted.
func (c *Counter) Paths() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for p := range c.bytes {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

type countingWriter struct {
	http.ResponseWriter
	c    *Counter
	path string
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.c.add(w.path, int64(len(b)))
	n, err := w.ResponseWriter.Write(b)
	if n < len(b) {
		w.c.add(w.path, int64(n-len(b)))
	}
	return n, err
}

// ReadFrom keeps http.ServeContent's sendfile path counted too, through
// Write so the count leads the socket.
func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{w}, r)
}

// Metadata says whether a registry path is metadata (everything a client
// reads to resolve and verify) rather than a pack or chart archive.
func Metadata(path string) bool {
	return !strings.HasSuffix(path, ".tar.gz") && !strings.HasSuffix(path, ".tgz")
}

// Goal is how a figure is judged.
type Goal struct {
	Text string             // as printed, e.g. "≤ 10 s"
	OK   func(float64) bool // nil: informational
}

// AtMost is the goal value ≤ limit, printed with unit.
func AtMost(limit float64, text string) Goal {
	return Goal{Text: "≤ " + text, OK: func(v float64) bool { return v <= limit }}
}

// Row is one figure of the table.
type Row struct {
	Name  string
	Value float64
	Shown string // the value as printed
	Goal  Goal
}

// Verdict is "pass", "FAIL" or "" for informational rows.
func (r Row) Verdict() string {
	switch {
	case r.Goal.OK == nil:
		return ""
	case r.Goal.OK(r.Value):
		return "pass"
	default:
		return "FAIL"
	}
}

// Table is the driver's output.
type Table struct{ Rows []Row }

// Add appends a row.
func (t *Table) Add(name string, value float64, shown string, goal Goal) {
	t.Rows = append(t.Rows, Row{Name: name, Value: value, Shown: shown, Goal: goal})
}

// Failed counts rows that missed their goal.
func (t *Table) Failed() int {
	n := 0
	for _, r := range t.Rows {
		if r.Verdict() == "FAIL" {
			n++
		}
	}
	return n
}

// Markdown writes the table as a Markdown table.
func (t *Table) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| figure | measured | goal | |")
	fmt.Fprintln(w, "|---|---:|---|---|")
	for _, r := range t.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Name, r.Shown, r.Goal.Text, r.Verdict())
	}
}

// Dur formats a duration for the table.
func Dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
}

// Size formats a byte count for the table.
func Size(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// Median runs f n times (at least once) like Best and keeps the run of
// median wall time: for figures taken over many requests to another
// process (a registry) that the machine's other load slows unevenly.
func Median(n int, prep func(i int) error, f func(i int) (Run, error)) (Run, error) {
	var runs []Run
	for i := 0; i < max(n, 1); i++ {
		if prep != nil {
			if err := prep(i); err != nil {
				return Run{}, err
			}
		}
		r, err := f(i)
		if err != nil {
			return r, err
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Wall < runs[j].Wall })
	return runs[(len(runs)-1)/2], nil
}

// Access is one request of an access log in the combined log format
// (the distribution registry's): `… "GET /v2/… HTTP/1.1" 200 530 "" "ua"`.
type Access struct {
	Method, Path string
	Status       int
	Bytes        int64 // response body bytes written
}

// ParseAccess reads one access-log line; ok is false for other lines
// (the registry's own log lines go to the same stream).
func ParseAccess(line string) (a Access, ok bool) {
	i := strings.Index(line, `] "`)
	if i < 0 {
		return a, false
	}
	rest := line[i+3:]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return a, false
	}
	req := strings.Fields(rest[:j])
	if len(req) != 3 || !strings.HasPrefix(req[2], "HTTP/") {
		return a, false
	}
	var bytes string
	if _, err := fmt.Sscan(rest[j+1:], &a.Status, &bytes); err != nil {
		return a, false
	}
	if bytes != "-" {
		if _, err := fmt.Sscan(bytes, &a.Bytes); err != nil {
			return a, false
		}
	}
	a.Method, a.Path = req[0], req[1]
	return a, true
}
