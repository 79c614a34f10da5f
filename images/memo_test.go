package images

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/internal/progid"
	"github.com/packgen/packgen/internal/storedgz"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack"
)

// countingRenderer renders every request to one pod whose image is the
// request's namespace, or fails as err says; it counts its renders.
type countingRenderer struct {
	n   atomic.Int32
	err error
}

func (r *countingRenderer) Render(req *chartproto.Request) (*chartproto.Result, error) {
	r.n.Add(1)
	if r.err != nil {
		return nil, r.err
	}
	if strings.HasPrefix(req.Namespace, "fail") {
		return &chartproto.Result{Chart: "c", Err: &chartproto.Error{Msg: "no"}}, nil
	}
	pod := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: %s:1\n", req.Namespace)
	return &chartproto.Result{Chart: "c", Manifests: []chartproto.Manifest{{Name: "c/templates/pod.yaml", Data: []byte(pod)}}}, nil
}

// testRender renders req through m, its archive as it is.
func testRender(m *Memo, req *chartproto.Request) (*renderedChart, error) {
	return m.render(req, sha256.Sum256(req.Archive))
}

func with(r chartproto.Request, f func(*chartproto.Request)) chartproto.Request { f(&r); return r }

// TestMemo: identical requests render once, any field that differs
// renders again; a chart past the renderer's bounds is remembered, other
// renderer failures are not; the memo keeps within its bytes.
func TestMemo(t *testing.T) {
	base := chartproto.Request{Archive: []byte("tgz"), Values: []byte("c: {}\n"), Namespace: "ns"}
	dir := chartproto.Request{Dir: true, Files: []chartproto.File{{Name: "Chart.yaml", Data: []byte("a")}, {Name: "t.yaml", Data: []byte("b")}}, Namespace: "ns"}
	limit := fmt.Errorf("%w: %w: rendering takes longer than 30s", ErrRendererFailed, ErrChartLimit)
	died := fmt.Errorf("%w: packgen-helm stopped", ErrRendererFailed)
	for _, tc := range []struct {
		name    string
		err     error
		max     int
		reqs    []chartproto.Request
		renders int32
	}{
		{"same request", nil, DefaultMemoBytes, []chartproto.Request{base, base, base}, 1},
		{"archive differs", nil, DefaultMemoBytes, []chartproto.Request{base, with(base, func(r *chartproto.Request) { r.Archive = []byte("tgz2") })}, 2},
		{"values differ", nil, DefaultMemoBytes, []chartproto.Request{base, with(base, func(r *chartproto.Request) { r.Values = []byte("c: {a: 1}\n") })}, 2},
		{"namespace differs", nil, DefaultMemoBytes, []chartproto.Request{base, with(base, func(r *chartproto.Request) { r.Namespace = "other" })}, 2},
		{"bytes move between fields", nil, DefaultMemoBytes, []chartproto.Request{base, with(base, func(r *chartproto.Request) { r.Archive, r.Values = []byte("tgzc: {}\n"), nil })}, 2},
		{"same chart directory", nil, DefaultMemoBytes, []chartproto.Request{dir, dir}, 1},
		{"a file of the directory differs", nil, DefaultMemoBytes, []chartproto.Request{dir, with(dir, func(r *chartproto.Request) {
			r.Files = []chartproto.File{r.Files[0], {Name: "t.yaml", Data: []byte("c")}}
		})}, 2},
		{"file name and data split elsewhere", nil, DefaultMemoBytes, []chartproto.Request{dir, with(dir, func(r *chartproto.Request) {
			r.Files = []chartproto.File{{Name: "Chart.yamla", Data: nil}, r.Files[1]}
		})}, 2},
		{"directory or archive", nil, DefaultMemoBytes, []chartproto.Request{base, with(base, func(r *chartproto.Request) { r.Dir = true })}, 2},
		{"past the renderer's bounds: remembered", limit, DefaultMemoBytes, []chartproto.Request{base, base}, 1},
		{"renderer died: not remembered", died, DefaultMemoBytes, []chartproto.Request{base, base}, 2},
		{"bound: an entry larger than the memo is not kept", nil, 100, []chartproto.Request{base, base}, 2},
		{"bound: the least recently used goes", nil, 700, []chartproto.Request{base, with(base, func(r *chartproto.Request) { r.Namespace = "b" }),
			with(base, func(r *chartproto.Request) { r.Namespace = "c" }), base}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingRenderer{err: tc.err}
			defer SetRenderer(cr)()
			m := NewMemo(tc.max)
			for i := range tc.reqs {
				ch, err := testRender(m, &tc.reqs[i])
				switch {
				case tc.err != nil:
					if !errors.Is(err, ErrRendererFailed) {
						t.Fatalf("render %d: err = %v, want the renderer's", i, err)
					}
				case err != nil || ch.err != nil || len(ch.images) != 1 || ch.images[0].written != tc.reqs[i].Namespace+":1":
					t.Fatalf("render %d: %+v, %v: want the image %s:1", i, ch, err, tc.reqs[i].Namespace)
				}
			}
			if got := cr.n.Load(); got != tc.renders {
				t.Errorf("rendered %d times, want %d", got, tc.renders)
			}
			if m.size > m.max {
				t.Errorf("memo holds %d bytes, bound %d", m.size, m.max)
			}
		})
	}
}

// TestMemoConcurrent: requests for one chart at once render it once,
// and every caller gets its images.
func TestMemoConcurrent(t *testing.T) {
	cr := &countingRenderer{}
	defer SetRenderer(cr)()
	m := NewMemo(DefaultMemoBytes)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ch, err := testRender(m, &chartproto.Request{Archive: []byte("tgz"), Namespace: "ns"})
			if err != nil || len(ch.images) != 1 {
				t.Errorf("%+v, %v", ch, err)
			}
		})
	}
	wg.Wait()
	if got := cr.n.Load(); got != 1 {
		t.Errorf("rendered %d times, want 1", got)
	}
}

// namedRenderer is a countingRenderer that names itself, as a Helper
// does (Identity): only such a renderer's renderings are remembered
// across builds.
type namedRenderer struct {
	countingRenderer
	id string
}

func (r *namedRenderer) Identity() (string, error) { return r.id, nil }

// TestMemoRemembers: a memo that remembers in a dir renders nothing a
// memo before it rendered clean there with the same renderer, and gives
// the same images; a chart that failed, another renderer, another
// request, a tampered or cut value, and a dir of none are rendered
// again.
func TestMemoRemembers(t *testing.T) {
	a := chartproto.Request{Archive: []byte("tgz"), Values: []byte("c: {}\n"), Namespace: "ns"}
	b := chartproto.Request{Dir: true, Files: []chartproto.File{{Name: "Chart.yaml", Data: []byte("x")}}, Namespace: "ns2"}
	fail := chartproto.Request{Archive: []byte("tgz"), Namespace: "fail"}
	file := func(dir string) string { return filepath.Join(dir, renderFactsFile) }
	for _, tc := range []struct {
		name    string
		id      string // the second memo's renderer
		noDir   bool
		tamper  func(t *testing.T, file string)
		reqs    []chartproto.Request
		renders int32
	}{
		{"remembered", "h1", false, nil, []chartproto.Request{a, b, a}, 0},
		{"a chart that failed is rendered again", "h1", false, nil, []chartproto.Request{fail, a}, 1},
		{"another request", "h1", false, nil, []chartproto.Request{with(a, func(r *chartproto.Request) { r.Values = nil })}, 1},
		{"another renderer", "h2", false, nil, []chartproto.Request{a, b}, 2},
		{"no dir", "h1", true, nil, []chartproto.Request{a, b}, 2},
		{"a value that does not decode", "h1", false, func(t *testing.T, f string) { edit(t, f, `"w":`, `"w":1`) }, []chartproto.Request{a, b}, 1},
		{"a value with a field of another kind", "h1", false, func(t *testing.T, f string) { edit(t, f, `{"c"`, `{"x":1,"c"`) }, []chartproto.Request{a, b}, 1},
		{"a last line cut short", "h1", false, func(t *testing.T, f string) {
			data, _ := os.ReadFile(f)
			os.WriteFile(f, data[:len(data)-5], 0o600)
		}, []chartproto.Request{a, b}, 1},
		{"a file of garbage", "h1", false, func(t *testing.T, f string) { os.WriteFile(f, []byte("x\n\n"+strings.Repeat("0", 64)+" {}\n"), 0o600) }, []chartproto.Request{a, b}, 2},
		{"a FIFO at the path: replaced, never opened to block", "h1", false, func(t *testing.T, f string) {
			if mkfifo == nil || os.Remove(f) != nil || mkfifo(f, 0o600) != nil {
				t.Skip("no FIFO here")
			}
		}, []chartproto.Request{a, b}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			want := rememberFirst(t, dir, a, b, fail)
			if tc.tamper != nil {
				tc.tamper(t, file(dir))
			}
			second := &namedRenderer{id: tc.id}
			defer SetRenderer(second)()
			m := NewMemo(DefaultMemoBytes)
			if !tc.noDir {
				m.Remember(dir)
			}
			defer m.Close()
			for _, r := range tc.reqs {
				ch, err := testRender(m, &r)
				if w := want[r.Namespace]; err != nil || (r.Values != nil || r.Dir) && !reflect.DeepEqual(ch, w) {
					t.Errorf("%s: %+v, %v; want %+v", r.Namespace, ch, err, w)
				}
			}
			if got := second.n.Load(); got != tc.renders {
				t.Errorf("rendered %d times, want %d", got, tc.renders)
			}
			// The file names its renderer on its first line: another
			// renderer's is started over, not indexed, its facts gone.
			data, _ := os.ReadFile(file(dir))
			lines := strings.Split(string(data), "\n")
			if !tc.noDir && !strings.HasPrefix(lines[0], renderFactsHeader) {
				t.Errorf("first line %q, want %q...", lines[0], renderFactsHeader)
			}
			if tc.id != "h1" && len(lines) != 1+len(tc.reqs)+1 {
				t.Errorf("%d lines after another renderer's build, want a header and %d facts:\n%s", len(lines)-1, len(tc.reqs), data)
			}
		})
	}
}

// mkfifo makes a FIFO where the system has them (fifo_unix_test.go).
var mkfifo func(path string, mode uint32) error

// rememberFirst renders reqs in a first build remembering in dir, with
// renderer "h1", and returns what each namespace rendered.
func rememberFirst(t *testing.T, dir string, reqs ...chartproto.Request) map[string]*renderedChart {
	t.Helper()
	defer SetRenderer(&namedRenderer{id: "h1"})()
	m := NewMemo(DefaultMemoBytes)
	m.Remember(dir)
	defer m.Close()
	want := map[string]*renderedChart{}
	for _, r := range reqs {
		ch, err := testRender(m, &r)
		if err != nil {
			t.Fatal(err)
		}
		want[r.Namespace] = ch
	}
	return want
}

// edit replaces the first old in file with new: the first fact only.
func edit(t *testing.T, file, old, new string) {
	data, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(data), old) {
		t.Fatalf("%s: %v, no %s", file, err, old)
	}
	os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o600)
}

// TestMemoFactsRewrittenUnderReader: a build that indexed the facts
// file reads no other request's fact when the file is rewritten in place
// under it (another packgen restarting it): the line at a fact's offset
// must still carry that fact's key, else the chart is rendered again.
func TestMemoFactsRewrittenUnderReader(t *testing.T) {
	a := chartproto.Request{Archive: []byte("tgz"), Values: []byte("c: {}\n"), Namespace: "ns"}
	b := chartproto.Request{Dir: true, Files: []chartproto.File{{Name: "Chart.yaml", Data: []byte("x")}}, Namespace: "ns2"}
	fail := chartproto.Request{Archive: []byte("tgz"), Namespace: "fail"}
	dir := t.TempDir()
	file := filepath.Join(dir, renderFactsFile)
	want := rememberFirst(t, dir, a, b)

	second := &namedRenderer{id: "h1"}
	defer SetRenderer(second)()
	m := NewMemo(DefaultMemoBytes)
	m.Remember(dir)
	defer m.Close()
	if _, err := testRender(m, &fail); err != nil { // opens and indexes the file
		t.Fatal(err)
	}
	// In place, same inode: a's line now carries b's key.
	data, err := os.ReadFile(file)
	lines := strings.SplitAfter(string(data), "\n")
	if err != nil || len(lines) < 3 || len(lines[1]) < 64 || len(lines[2]) < 64 {
		t.Fatalf("%s: %v, %q", file, err, data)
	}
	lines[1] = lines[2][:64] + lines[1][64:] // lines[0]: the header
	w, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString(strings.Join(lines, ""))
	w.Close()
	for _, r := range []chartproto.Request{a, b} {
		if ch, err := testRender(m, &r); err != nil || !reflect.DeepEqual(ch, want[r.Namespace]) {
			t.Errorf("%s: %+v, %v; want %+v", r.Namespace, ch, err, want[r.Namespace])
		}
	}
	if got := second.n.Load(); got != 2 { // fail, and a
		t.Errorf("rendered %d times, want 2", got)
	}
}

// TestRenderFactsAddIndexes: a fact added in this build is read back
// from the file (a request evicted from the memo and seen again), not
// appended a second time.
func TestRenderFactsAddIndexes(t *testing.T) {
	defer SetRenderer(&namedRenderer{id: "h1"})()
	dir := t.TempDir()
	f := openRenderFacts(dir)
	if f == nil || f.rw == nil {
		t.Fatal("no facts file opened")
	}
	defer f.close()
	k := f.key([32]byte{1})
	want := &renderedChart{name: "c", images: []chartImage{{"registry.example.com/a:1", Source{Kind: Chart, Template: "t.yaml", Line: 3}}}}
	if _, ok := f.lookup(k); ok {
		t.Fatal("found before it was added")
	}
	f.add(k, want)
	if got, ok := f.lookup(k); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("lookup after add: %+v, %v; want %+v", got, ok, want)
	}
	data, _ := os.ReadFile(filepath.Join(dir, renderFactsFile))
	if n := strings.Count(string(data), "\n"); n != 2 {
		t.Errorf("%d lines, want the header and one fact:\n%s", n, data)
	}
}

// recordingRenderer is a countingRenderer that keeps the archives it is
// sent.
type recordingRenderer struct {
	countingRenderer
	mu       sync.Mutex
	archives [][]byte
}

func (r *recordingRenderer) Render(req *chartproto.Request) (*chartproto.Result, error) {
	r.mu.Lock()
	r.archives = append(r.archives, req.Archive)
	r.mu.Unlock()
	return r.countingRenderer.Render(req)
}

// TestMemoKeptChart: a chart archive has one key whether validation
// kept its tar (pack.Options.Keep: the request carries the tar) or not
// (the archive itself), in either order, since the kept tar is the
// archive's inflation (pack's TestKeptChart); another archive (the same
// tar compressed otherwise) has another key.
func TestMemoKeptChart(t *testing.T) {
	const src = "../examples/packs/ingress-nginx-4.10.1"
	const chart = "charts/ingress-nginx-4.10.1.tgz"
	other := t.TempDir()
	testutil.CopyDir(t, src, other)
	orig, err := os.ReadFile(filepath.Join(src, chart))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	var regz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&regz, gzip.BestSpeed)
	if _, err := io.Copy(zw, zr); err != nil || zw.Close() != nil {
		t.Fatal(err)
	}
	if bytes.Equal(regz.Bytes(), orig) {
		t.Fatal("the archive compressed again is the same")
	}
	if err := os.WriteFile(filepath.Join(other, chart), regz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(dir string, keep bool) *pack.Pack {
		p, ps := pack.Load(os.DirFS(dir), ".", pack.Options{Keep: keep})
		if ps.HasErrors() {
			t.Fatal(ps)
		}
		if gz, _ := p.KeptChart(chart); (gz != nil) != keep {
			t.Fatalf("%s, Keep %v: kept %d bytes", dir, keep, len(gz))
		}
		return p
	}
	for _, keptFirst := range []bool{true, false} {
		rr := &recordingRenderer{}
		restore := SetRenderer(rr)
		m := NewMemo(DefaultMemoBytes)
		for i, p := range []*pack.Pack{load(src, keptFirst), load(src, !keptFirst), load(other, true), load(other, false)} {
			if ps, _, err := CheckRelease(p, "ingress", nil, m.ForRelease()); err != nil || ps.HasErrors() {
				t.Fatalf("kept first %v, release %d: %v, %v", keptFirst, i, ps, err)
			}
		}
		restore()
		if got := rr.n.Load(); got != 2 {
			t.Errorf("kept first %v: rendered %d times, want 2 (one an archive)", keptFirst, got)
			continue
		}
		// What the renderer was sent: the kept tar, or the archive.
		if got := rr.archives[0]; storedgz.IsStored(got) != keptFirst || !keptFirst && !bytes.Equal(got, orig) {
			t.Errorf("kept first %v: sent %d bytes (stored blocks %v), the archive is %d", keptFirst, len(got), storedgz.IsStored(got), len(orig))
		}
		if !storedgz.IsStored(rr.archives[1]) {
			t.Errorf("the other archive, kept: sent %d bytes, not the kept tar", len(rr.archives[1]))
		}
	}
}

// TestFactImageCoversSource: a fact holds a chart image's Source field by
// field (factImage, short names); a field added to Source that factImage
// lacks would be dropped on every hit of the render facts, silently.
func TestFactImageCoversSource(t *testing.T) {
	held := map[string]bool{}
	for f := range reflect.TypeFor[factImage]().Fields() {
		held[f.Name] = true
	}
	for f := range reflect.TypeFor[Source]().Fields() {
		name := f.Name
		switch name {
		case "Kind", "File": // Chart, and unset, for every chart image
			continue
		case "outLine":
			name = "OutLine"
		}
		if !held[name] {
			t.Errorf("Source.%s is not held by factImage: add it (and to add and lookup)", f.Name)
		}
		delete(held, name)
	}
	if len(held) != 0 {
		t.Errorf("factImage fields no Source field names: %v", held)
	}
}

// openCounter is an fs.FS that counts the opens of one file.
type openCounter struct {
	fs.FS
	name string
	n    atomic.Int32
}

func (o *openCounter) Open(name string) (fs.File, error) {
	if name == o.name {
		o.n.Add(1)
	}
	return o.FS.Open(name)
}

// TestMemoAskedFirst: validation asks the build's memo before it keeps
// a chart archive's tar (ReleaseMemo.KeepChart as pack.Options.KeepChart):
// a chart rendered earlier in the build, or remembered by a build
// before (even one the memo is too small to keep: the answer is held
// for the image check), is not kept, not read again and not rendered,
// and gives the same images; an unknown chart is kept and rendered from
// the kept tar; a chart declined by one release's memo and checked
// through another is read again, never misrendered. What KeepChart
// found (by the archive's SHA-256) answers the values it was asked with
// alone.
func TestMemoAskedFirst(t *testing.T) {
	const src = "../examples/packs/ingress-nginx-4.10.1"
	const chart = "charts/ingress-nginx-4.10.1.tgz"
	load := func(rm *ReleaseMemo) (*pack.Pack, *openCounter) {
		fsys := &openCounter{FS: os.DirFS(src), name: chart}
		p, ps := pack.Load(fsys, ".", pack.Options{Keep: true, KeepChart: rm.KeepChart})
		if ps.HasErrors() {
			t.Fatal(ps)
		}
		return p, fsys
	}
	for _, tc := range []struct {
		name string
		// first renders the chart, or not, before the release; it returns
		// the memo the release asks and the one it is checked through.
		first          func(t *testing.T, dir string) (asked, checked *Memo)
		kept           bool
		opens, renders int32
	}{
		{"rendered earlier in the build", func(t *testing.T, dir string) (*Memo, *Memo) {
			m := NewMemo(DefaultMemoBytes)
			p, _ := load(nil)
			if _, _, err := CheckRelease(p, "ingress", nil, m.ForRelease()); err != nil {
				t.Fatal(err)
			}
			return m, m
		}, false, 1, 0},
		{"remembered by a build before, too large for the memo", func(t *testing.T, dir string) (*Memo, *Memo) {
			m := NewMemo(DefaultMemoBytes)
			m.Remember(dir)
			p, _ := load(nil)
			_, _, err := CheckRelease(p, "ingress", nil, m.ForRelease())
			m.Close()
			if err != nil {
				t.Fatal(err)
			}
			m = NewMemo(100)
			m.Remember(dir)
			t.Cleanup(m.Close)
			return m, m
		}, false, 1, 0},
		{"unknown: kept", func(t *testing.T, dir string) (*Memo, *Memo) {
			m := NewMemo(DefaultMemoBytes)
			return m, m
		}, true, 1, 1},
		{"declined, checked through another memo: read again", func(t *testing.T, dir string) (*Memo, *Memo) {
			m := NewMemo(DefaultMemoBytes)
			p, _ := load(nil)
			if _, _, err := CheckRelease(p, "ingress", nil, m.ForRelease()); err != nil {
				t.Fatal(err)
			}
			return m, NewMemo(DefaultMemoBytes)
		}, false, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nr := &namedRenderer{id: "h1"}
			defer SetRenderer(nr)()
			// The images the chart renders to, by itself.
			p, _ := load(nil)
			_, want, err := CheckRelease(p, "ingress", nil, nil)
			if err != nil || want == nil {
				t.Fatal(err)
			}
			asked, checked := tc.first(t, t.TempDir())
			before := nr.n.Load()
			rm := asked.ForRelease()
			p, fsys := load(rm)
			if gz, sum := p.KeptChart(chart); (gz != nil) != tc.kept || sum == [sha256.Size]byte{} {
				t.Fatalf("kept %d bytes with SHA-256 %x, want kept %v, and the SHA-256 either way", len(gz), sum, tc.kept)
			}
			if checked != asked {
				rm = checked.ForRelease()
			}
			ps, got, err := CheckRelease(p, "ingress", nil, rm)
			if err != nil || ps.HasErrors() || got == nil {
				t.Fatalf("%v, %v", ps, err)
			}
			if !reflect.DeepEqual(got.Images, want.Images) {
				t.Errorf("images %+v, want %+v", got.Images, want.Images)
			}
			if n := fsys.n.Load(); n != tc.opens {
				t.Errorf("the archive opened %d times, want %d", n, tc.opens)
			}
			if n := nr.n.Load() - before; n != tc.renders {
				t.Errorf("rendered %d times, want %d", n, tc.renders)
			}
		})
	}
	// What KeepChart found is the answer for the values it was asked
	// with alone: other values (another map, encoded afresh) are a miss,
	// never the answer found for the first.
	defer SetRenderer(&namedRenderer{id: "h1"})()
	m := NewMemo(DefaultMemoBytes)
	p, _ := load(nil)
	if _, _, err := CheckRelease(p, "ingress", nil, m.ForRelease()); err != nil {
		t.Fatal(err)
	}
	rm := m.ForRelease()
	p, _ = load(rm)
	_, sum := p.KeptChart(chart)
	_, values, _, err := pack.ValuesAndManifests(p, pack.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if rm.answered(sum, values) == nil {
		t.Fatal("no answer for the values KeepChart was asked with")
	}
	if e := rm.answered(sum, maps.Clone(values)); e != nil {
		t.Error("the answer found for one values map taken for another")
	}
}

// TestHelperIdentity: a Helper's identity, which keys its render facts,
// begins with its file's name (progid.FileID, which the catalogue's
// image cache keys on too, TestFileID there: a helper rebuilt or
// touched alone is another one) and names the bounds it runs with; a
// helper with no file has none.
func TestHelperIdentity(t *testing.T) {
	exe := filepath.Join(t.TempDir(), HelperName)
	if err := os.WriteFile(exe, []byte("v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &Helper{Find: func() (string, error) { return exe, nil }, MemoryLimit: DefaultMemoryLimit}
	file, err := progid.FileID(exe)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Identity()
	if want := fmt.Sprintf("%s protocol=%d memory=%d timeout=%s", file, chartproto.Protocol, h.memory, h.timeout()); err != nil || got != want {
		t.Fatalf("Identity = %q, %v; want %q", got, err, want)
	}
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Identity(); err == nil {
		t.Errorf("Identity of no file = %q, want an error", got)
	}
}
