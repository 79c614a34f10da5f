package images

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/packgen/packgen/internal/chartproto"
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
	pod := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: %s:1\n", req.Namespace)
	return &chartproto.Result{Chart: "c", Manifests: []chartproto.Manifest{{Name: "c/templates/pod.yaml", Data: []byte(pod)}}}, nil
}

// TestMemo: identical requests render once, any field that differs
// renders again; a chart past the renderer's bounds is remembered, other
// renderer failures are not; the memo keeps within its bytes.
func TestMemo(t *testing.T) {
	base := chartproto.Request{Archive: []byte("tgz"), Values: []byte("c: {}\n"), Namespace: "ns"}
	dir := chartproto.Request{Dir: true, Files: []chartproto.File{{Name: "Chart.yaml", Data: []byte("a")}, {Name: "t.yaml", Data: []byte("b")}}, Namespace: "ns"}
	with := func(r chartproto.Request, f func(*chartproto.Request)) chartproto.Request { f(&r); return r }
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
				ch, err := m.render(&tc.reqs[i])
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
			ch, err := m.render(&chartproto.Request{Archive: []byte("tgz"), Namespace: "ns"})
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
