package images

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

// bombPack is a pack at p whose chart c has the given files (templates,
// values.yaml) over a Chart.yaml.
func bombPack(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		"p/pack.json":           {Data: []byte(packJSON)},
		"p/values.yaml":         {Data: []byte("a: 1\n")},
		"p/charts/c/Chart.yaml": {Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
	}
	for name, data := range files {
		fsys["p/charts/c/"+name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

// laughs is the classic "billion laughs": nine levels of nine aliases.
func laughs() string {
	var b strings.Builder
	b.WriteString(`l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), 9), ","))
	}
	return b.String()
}

// bombs are charts that make Helm allocate without bound, each by
// another road.
var bombs = []struct {
	name  string
	files map[string]string
}{
	{"repeat", map[string]string{"templates/a.yaml": `{{ range until 1000 }}{{ repeat 100000000 "x" }}{{ end }}`}},
	{"doubling", map[string]string{"templates/a.yaml": `{{ $s := "xxxxxxxx" }}{{ range until 60 }}{{ $s = print $s $s }}{{ end }}a: {{ len $s }}`}},
	{"toYaml", map[string]string{"templates/a.yaml": `{{ toYaml (until 100000000) }}`}},
	{"tpl", map[string]string{
		"templates/_x.tpl": `{{- define "x" -}}{{ tpl "{{ include \"x\" (print . .) }}" . }}{{- end -}}`,
		"templates/a.yaml": `a: {{ include "x" "xxxxxxxx" }}`,
	}},
	// Aliases to a long string: few enough for the YAML decoder's alias
	// guard, each a MiB once Helm's loader turns YAML into JSON.
	{"values aliases", map[string]string{
		"values.yaml":      "s: &s \"" + strings.Repeat("x", 1<<20) + "\"\nl: [" + strings.Repeat("*s,", 400) + "x]\n",
		"templates/a.yaml": "a: 1\n",
	}},
}

// helperWatch records, for each packgen-helm child seen while it runs,
// its data limit (/proc/PID/limits) and the most resident memory it had
// (VmHWM), polled every 10 ms: a lower bound of its peak.
type helperWatch struct {
	mu     sync.Mutex
	limits map[int]string
	hwm    map[int]int64 // KiB
	stop   chan struct{}
	done   chan struct{}
}

func watchHelpers(t *testing.T) *helperWatch {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	w := &helperWatch{limits: map[int]string{}, hwm: map[int]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			pids, _ := testutil.ChildPIDs(os.Getpid(), HelperName)
			for _, pid := range pids {
				w.sample(pid)
			}
			select {
			case <-w.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *helperWatch) sample(pid int) {
	lim, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range strings.Split(string(lim), "\n") {
		if strings.HasPrefix(l, "Max data size") {
			w.limits[pid] = strings.Join(strings.Fields(l)[3:5], " ")
		}
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
				w.hwm[pid] = max(w.hwm[pid], n)
			}
		}
	}
}

func (w *helperWatch) end() (limits map[int]string, hwm map[int]int64) {
	close(w.stop)
	<-w.done
	return w.limits, w.hwm
}

// TestHelperMemoryBombs: a chart that makes Helm's engine allocate
// without end — a huge repeat, a string doubled in a loop, toYaml of a
// huge value, recursive tpl, aliases in its values.yaml to a long
// string — ends its packgen-helm at the memory bound packgen set
// (RLIMIT_DATA, here 256 MiB) within seconds, as the chart's error
// naming the pack's chart, the limit and how to raise it
// (ErrMemoryLimit, ErrRendererFailed: what the catalogue fails closed
// on). Unbounded, each grows until the machine's OOM killer: under an
// outside 1 GiB bound each reached it in 1.4-5 s. The next chart renders
// in a fresh helper, and none is left behind.
func TestHelperMemoryBombs(t *testing.T) {
	bin := helperBinary(t)
	const limit = 256 << 20
	h := &Helper{Find: func() (string, error) { return bin, nil }, MemoryLimit: limit}
	withHelper(t, h)
	before := helperChildren(t)
	w := watchHelpers(t)
	for _, b := range bombs {
		start := time.Now()
		_, err := findIn(t, bombPack(b.files), "p")
		if !errors.Is(err, ErrMemoryLimit) || !errors.Is(err, ErrRendererFailed) || !errors.Is(err, ErrChart) {
			t.Errorf("%s: err = %v, want ErrMemoryLimit", b.name, err)
			continue
		}
		for _, want := range []string{"p/charts/c: chart does not render: ", "packgen-helm ran out of memory rendering the chart: it may use 256 MiB (Helper.MemoryLimit)", "raise the limit with PACKGEN_HELM_MEMORY (e.g. PACKGEN_HELM_MEMORY=2GiB)"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q lacks %q", b.name, err, want)
			}
		}
		d := time.Since(start)
		if d > 20*time.Second {
			t.Errorf("%s: took %v", b.name, d)
		}
		t.Logf("%s: %v", b.name, d)
	}
	limits, hwm := w.end()
	if len(limits) == 0 {
		t.Fatal("no packgen-helm seen")
	}
	for pid, l := range limits {
		if l != "268435456 268435456" {
			t.Errorf("helper %d: data limit %q, want 268435456 (soft and hard)", pid, l)
		}
		// Resident memory is the data bound plus code and what the
		// kernel counts apart (stacks, the binary's pages).
		if hwm[pid] > (limit+160<<20)>>10 {
			t.Errorf("helper %d: %d MiB resident, over the %d MiB bound", pid, hwm[pid]>>10, limit>>20)
		}
		t.Logf("helper %d: data limit %s, at least %d MiB resident at its peak", pid, l, hwm[pid]>>10)
	}
	if _, err := Tree(os.DirFS("testdata/packs"), ".", "p"); err != nil {
		t.Fatalf("the next chart: %v", err)
	}
	h.Close()
	if n := helperChildren(t); n != before {
		t.Errorf("%d packgen-helm children after, want %d", n, before)
	}
}

// TestHelperMemoryPaths: a chart over its memory bound as validation
// and the catalogue meet it. Validation's image check is a problem of
// the chart's file (CheckPackReport), not a failed run; Accepted (what
// the catalogue's build calls) is ErrRendererFailed, on which
// site.findImages fails the build rather than cache a note
// (site.TestFindImagesFailsClosed). A billion laughs in a chart's
// values.yaml is refused by the YAML decoder Helm's loader uses, as the
// chart's error, the helper going on.
func TestHelperMemoryPaths(t *testing.T) {
	bin := helperBinary(t)
	h := &Helper{Find: func() (string, error) { return bin, nil }, MemoryLimit: 256 << 20}
	withHelper(t, h)
	fsys := bombPack(bombs[0].files)
	p, ps := pack.Load(fsys, "p", pack.Options{Prefix: "p"})
	if ps.HasErrors() {
		t.Fatal(ps)
	}
	probs, _, err := CheckPackReport(p, "p", nil)
	if err != nil || len(probs) != 1 || probs[0].File != "p/charts/c" || probs[0].Severity != meta.SevError || !strings.Contains(probs[0].Msg, "out of memory rendering the chart: it may use 256 MiB") {
		t.Errorf("CheckPackReport: %v, %v", probs, err)
	}
	sub, err := subFS(fsys, "p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Accepted(sub, "p"); !errors.Is(err, ErrRendererFailed) || !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("Accepted: %v, want ErrRendererFailed", err)
	}

	_, err = findIn(t, bombPack(map[string]string{"values.yaml": laughs(), "templates/a.yaml": "a: 1\n"}), "p")
	if !errors.Is(err, ErrChart) || errors.Is(err, ErrRendererFailed) || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Errorf("a billion laughs in the chart's values.yaml: %v", err)
	}
}

// subFS is fsys's directory dir as a file system of its own.
func subFS(fsys fstest.MapFS, dir string) (fstest.MapFS, error) {
	out := fstest.MapFS{}
	for name, f := range fsys {
		if rel, ok := strings.CutPrefix(name, dir+"/"); ok {
			out[rel] = f
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s", dir)
	}
	return out, nil
}

// TestHelperMemoryLimit: what each helper is asked to bound its memory
// to: DefaultMemoryLimit, $PACKGEN_HELM_MEMORY, Helper.MemoryLimit; a
// value of the variable that does not parse is refused, naming it,
// before any helper starts.
func TestHelperMemoryLimit(t *testing.T) {
	bin := helperBinary(t)
	for _, tc := range []struct {
		env   string
		field int64
		want  string
	}{
		{"", 0, "1073741824 1073741824"},
		{"300MiB", 0, "314572800 314572800"},
		{"2GiB", 512 << 20, "536870912 536870912"},
	} {
		if tc.env != "" {
			t.Setenv(MemoryEnv, tc.env)
		}
		h := &Helper{Find: func() (string, error) { return bin, nil }, MemoryLimit: tc.field}
		h.init()
		p, err := h.start()
		if err != nil {
			t.Fatal(err)
		}
		w := &helperWatch{limits: map[int]string{}, hwm: map[int]int64{}}
		w.sample(p.cmd.Process.Pid)
		p.close()
		if got := w.limits[p.cmd.Process.Pid]; runtime.GOOS == "linux" && got != tc.want {
			t.Errorf("%s=%q, MemoryLimit %d: the helper's data limit is %q, want %q", MemoryEnv, tc.env, tc.field, got, tc.want)
		}
	}
	t.Setenv(MemoryEnv, "lots")
	withHelper(t, &Helper{Find: func() (string, error) { t.Error("a helper was looked for"); return bin, nil }})
	_, err := Tree(os.DirFS("testdata/packs"), ".", "p")
	if !errors.Is(err, ErrNoChartRenderer) || !strings.Contains(err.Error(), `$PACKGEN_HELM_MEMORY="lots": want a size such as 2GiB`) {
		t.Errorf("a bad %s: %v", MemoryEnv, err)
	}
}

func TestParseMemory(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"1GiB", 1 << 30, ""},
		{"1536MiB", 1536 << 20, ""},
		{" 524288 KiB", 512 << 20, ""},
		{"268435456", 256 << 20, ""},
		{"268435456B", 256 << 20, ""},
		{"100MiB", 0, "100 MiB is too little"},
		{"1G", 0, "want a size"},
		{"-1GiB", 0, "want a size"},
		{"9999999999GiB", 0, "want a size"},
		{"", 0, "want a size"},
	} {
		got, err := ParseMemory(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestChartValuesBound: values.yaml's charts section is written out for
// the renderer with its aliases expanded; a few KiB of aliases to a long
// string (1000 × 16 KiB here, a TiB as easily) stop at maxChartValues
// (lowered here from 64 MiB to keep the test quick) in packgen itself,
// as an error on values.yaml, before any renderer is asked.
func TestChartValuesBound(t *testing.T) {
	defer func(m int) { maxChartValues = m }(maxChartValues)
	maxChartValues = 1 << 20
	vals := "charts:\n  c:\n    s: &s \"" + strings.Repeat("x", 16<<10) + "\"\n    l: [" + strings.Repeat("*s,", 1000) + "x]\n"
	fsys := bombPack(map[string]string{"templates/a.yaml": "a: 1\n"})
	fsys["p/values.yaml"] = &fstest.MapFile{Data: []byte(vals)}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err := findIn(t, fsys, "p")
	runtime.ReadMemStats(&m1)
	var fe *Error
	if !errors.Is(err, ErrChartValues) || !errors.As(err, &fe) || fe.File != "p/values.yaml" || !strings.Contains(err.Error(), "p/values.yaml: chart values too large: its charts section, with its YAML aliases expanded, is more than the 1 MiB a chart renderer is sent") {
		t.Fatalf("err = %v", err)
	}
	// The buffer's doublings and the encoder's copies, not the 15.6 MiB
	// expanded.
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 8<<20 {
		t.Errorf("allocated %d MiB", a>>20)
	}
	// Under the bound, the same aliases are written out whole.
	maxChartValues = 1 << 20
	if _, err := chartValues(map[string]any{"charts": map[string]any{"c": strings.Repeat("x", 64<<10)}}); err != nil {
		t.Errorf("under the bound: %v", err)
	}
}

// TestTailBufferSays: what a dying helper says is recognised whole or
// split across two writes: the runtime out of memory, and a fault in the
// runtime's own code (its collector failing to allocate at the bound),
// not a chart's panic.
func TestTailBufferSays(t *testing.T) {
	for _, tc := range []struct {
		said       string
		oom, fault bool
	}{
		{"fatal error: runtime: out of memory\n\ngoroutine 1 [running]:\n", true, false},
		{"fatal error: unexpected signal during runtime execution\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x43913d]\n", false, true},
		{"SIGSEGV: segmentation violation\nPC=0x43913d m=0 sigcode=1 addr=0x6c8fe088139\n\ngoroutine 0 gp=0x27e59c0 m=0 mp=0x27e6a40 [idle]:\n", false, true},
		{"unexpected fault address 0x6c8fe088139\nfatal error: fault\n[signal SIGSEGV: segmentation violation code=0x2 addr=0x6c8fe088139 pc=0x43913d]\n", false, true},
		{"panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1a2b3c]\n", false, false},
	} {
		for cut := 0; cut <= len(tc.said); cut += 7 {
			var b tailBuffer
			b.Write([]byte(strings.Repeat("x", 3000) + tc.said[:cut]))
			b.Write([]byte(tc.said[cut:]))
			if b.outOfMemory() != tc.oom || b.runtimeFault() != tc.fault {
				t.Errorf("%q cut at %d: out of memory %v, runtime fault %v; want %v, %v", tc.said, cut, b.outOfMemory(), b.runtimeFault(), tc.oom, tc.fault)
			}
			b.resetOOM()
			if b.outOfMemory() || b.runtimeFault() {
				t.Errorf("%q: reset left a flag", tc.said)
			}
		}
	}
}
