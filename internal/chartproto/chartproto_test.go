package chartproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestFrames(t *testing.T) {
	req := &Request{Archive: []byte{0x1f, 0x8b, 0}, Files: []File{{Name: "Chart.yaml", Data: []byte("name: c\n")}, {Name: "ünï/x.yaml"}}, Values: []byte("c: {a: 1}\n"), Namespace: "ns"}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, req); err != nil {
		t.Fatal(err)
	}
	if err := WriteFrame(&buf, &Hello{Protocol: Protocol, Build: "b"}); err != nil {
		t.Fatal(err)
	}
	var got Request
	if err := ReadFrame(&buf, &got); err != nil || !reflect.DeepEqual(&got, req) {
		t.Fatalf("request %+v, %v", got, err)
	}
	var h Hello
	if err := ReadFrame(&buf, &h); err != nil || h.Build != "b" {
		t.Fatalf("hello %+v, %v", h, err)
	}
	if err := ReadFrame(&buf, &h); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}

	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"too large", binary.BigEndian.AppendUint32(nil, MaxFrame+1), ErrFrame},
		{"cut in the header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"cut in the body", append(binary.BigEndian.AppendUint32(nil, 100), 1, 2, 3), io.ErrUnexpectedEOF},
		{"not gob", append(binary.BigEndian.AppendUint32(nil, 3), 0xff, 0xff, 0xff), ErrFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Result
			if err := ReadFrame(bytes.NewReader(tc.in), &r); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// pair runs Serve with build and render on one end of two pipes and
// returns the other end and what Serve returned, once it has.
func pair(build string, render func(*Request) *Result) (io.Reader, io.WriteCloser, <-chan error) {
	return pairLimit(build, nil, render)
}

// pairLimit is pair with the helper's memory bound set by limit.
func pairLimit(build string, limit func(int64) (int64, error), render func(*Request) *Result) (io.Reader, io.WriteCloser, <-chan error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Serve(inR, outW, build, limit, render)
		outW.Close()
		done <- err
	}()
	return outR, inW, done
}

func TestServe(t *testing.T) {
	n := 0
	r, w, done := pair("b1", func(req *Request) *Result {
		n++
		if req.Namespace == "panic" {
			panic("boom")
		}
		return &Result{Chart: "c", Manifests: []Manifest{{Name: "c/templates/x.yaml", Data: []byte(req.Namespace)}}}
	})
	c, err := Dial(r, w, "b1", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"one", "two"} {
		res, err := c.Render(&Request{Namespace: ns})
		if err != nil || res.Chart != "c" || string(res.Manifests[0].Data) != ns || res.Err != nil {
			t.Fatalf("render %s: %+v, %v", ns, res, err)
		}
	}
	res, err := c.Render(&Request{Namespace: "panic"})
	if err != nil || res.Err == nil || !strings.Contains(res.Err.Msg, "panicked: boom") {
		t.Fatalf("a panic: %+v, %v", res, err)
	}
	if _, err := c.Render(&Request{Namespace: "three"}); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	w.Close() // the parent is done: the helper ends cleanly
	if err := <-done; err != nil || n != 4 {
		t.Errorf("Serve = %v after %d requests", err, n)
	}
}

// TestMismatch: a helper from another build is refused at the
// handshake by both ends, each naming both builds.
func TestMismatch(t *testing.T) {
	r, w, done := pair("v1.2.0 go1.26", func(*Request) *Result { t.Error("rendered"); return &Result{} })
	_, err := Dial(r, w, "v1.3.0 go1.26", 0)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `packgen-helm is build "v1.2.0 go1.26"`) || !strings.Contains(err.Error(), `this packgen is build "v1.3.0 go1.26"`) {
		t.Errorf("Dial: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "v1.3.0") {
		t.Errorf("Serve: %v", err)
	}
	// Another protocol, same build: refused too.
	r, w, _ = pair("b", func(*Request) *Result { return &Result{} })
	go WriteFrame(w, &Hello{Protocol: Protocol + 1, Build: "b"})
	var h Hello
	if err := ReadFrame(r, &h); err != nil || h.Protocol != Protocol {
		t.Fatalf("hello %+v, %v", h, err)
	}
}

// TestMemoryLimit: the parent's hello says how much memory the helper
// may use; the helper bounds itself before it reads a chart and says
// the bound it set. A helper that cannot bound itself renders nothing;
// one asked by another build is not bounded for it either.
func TestMemoryLimit(t *testing.T) {
	var asked []int64
	limit := func(n int64) (int64, error) { asked = append(asked, n); return n, nil }
	r, w, done := pairLimit("b", limit, func(*Request) *Result { return &Result{Chart: "c"} })
	c, err := Dial(r, w, "b", 256<<20)
	if err != nil || c.MemoryLimit != 256<<20 || len(asked) != 1 || asked[0] != 256<<20 {
		t.Fatalf("Dial: %+v, %v; the helper was asked %v", c, err, asked)
	}
	if res, err := c.Render(&Request{}); err != nil || res.Chart != "c" {
		t.Fatalf("Render: %+v, %v", res, err)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// No bound asked: none set.
	asked = nil
	r, w, _ = pairLimit("b", limit, func(*Request) *Result { return &Result{} })
	if c, err := Dial(r, w, "b", 0); err != nil || c.MemoryLimit != 0 || asked != nil {
		t.Fatalf("no bound: %+v, %v, asked %v", c, err, asked)
	}
	w.Close()

	// Another build: refused before any bound is set.
	r, w, _ = pairLimit("b", limit, func(*Request) *Result { return &Result{} })
	if _, err := Dial(r, w, "other", 1<<30); !errors.Is(err, ErrMismatch) || asked != nil {
		t.Fatalf("another build: %v, asked %v", err, asked)
	}
	w.Close()

	// A bound that cannot be set: the helper answers (bound 0) and ends.
	r, w, done = pairLimit("b", func(int64) (int64, error) { return 0, errors.New("operation not permitted") }, func(*Request) *Result {
		t.Error("rendered without a bound")
		return &Result{}
	})
	c, err = Dial(r, w, "b", 1<<30)
	if err != nil || c.MemoryLimit != 0 {
		t.Fatalf("Dial: %+v, %v", c, err)
	}
	rendered := make(chan error, 1)
	go func() { _, err := c.Render(&Request{}); rendered <- err }()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "bound memory to 1024 MiB as packgen asks: operation not permitted") {
		t.Errorf("Serve = %v", err)
	}
	w.Close() // as the parent kills the helper
	if err := <-rendered; err == nil {
		t.Error("a helper that could not bound itself rendered")
	}
}

func TestBuildID(t *testing.T) {
	if id := BuildID(); id == "" || !strings.Contains(id, "go1.") {
		t.Errorf("BuildID() = %q", id)
	}
}

// FuzzReadFrame: any bytes give a message or an error, never a panic
// or an allocation beyond what arrived.
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	WriteFrame(&buf, &Request{Files: []File{{Name: "a", Data: []byte("b")}}, Values: []byte("x: 1")})
	f.Add(buf.Bytes())
	buf.Reset()
	WriteFrame(&buf, &Result{Chart: "c", Err: &Error{Template: "t", Line: 1, Msg: "m"}})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var req Request
		for ReadFrame(r, &req) == nil {
		}
		var res Result
		ReadFrame(bytes.NewReader(b), &res)
	})
}

// TestResultBound: a chart that renders more than the parent reads is
// that chart's error, sent by the helper, which goes on serving; a
// result frame announced larger than that is refused by the parent
// before it reads (or allocates) any of it. A request too large to
// send is the chart's error, the conversation intact.
func TestResultBound(t *testing.T) {
	defer func(m int) { maxResult = m }(maxResult)
	maxResult = 1 << 10
	r, w, done := pair("b", func(req *Request) *Result {
		return &Result{Chart: "c", Manifests: []Manifest{{Name: "c/templates/x.yaml", Data: bytes.Repeat([]byte("a: 1\n"), len(req.Namespace)*100)}}}
	})
	c, err := Dial(r, w, "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Render(&Request{Namespace: "huge-namespace"})
	if err != nil || res.Err == nil || !strings.Contains(res.Err.Msg, "more than packgen reads (0 MiB)") || res.Manifests != nil {
		t.Fatalf("a huge result: %+v, %v", res, err)
	}
	if res, err := c.Render(&Request{Namespace: "n"}); err != nil || res.Err != nil || len(res.Manifests) != 1 {
		t.Fatalf("after a huge result: %+v, %v", res, err)
	}
	// A request too large to send is the chart's error; nothing is sent.
	defer func(m int) { maxRequest = m }(maxRequest)
	maxRequest = 1 << 10
	res, err = c.Render(&Request{Archive: make([]byte, 2<<10)})
	if err != nil || res.Err == nil || !strings.Contains(res.Err.Msg, "the chart is more than packgen-helm reads (0 MiB)") {
		t.Fatalf("a huge request: %+v, %v", res, err)
	}
	if res, err := c.Render(&Request{Namespace: "n"}); err != nil || res.Err != nil || len(res.Manifests) != 1 {
		t.Fatalf("after a huge request: %+v, %v", res, err)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v", err)
	}

	// The parent's side: a result frame announcing more than maxResult.
	var in bytes.Buffer
	WriteFrame(&in, &Hello{Protocol: Protocol, Build: "b"})
	binary.Write(&in, binary.BigEndian, uint32(maxResult+1))
	c, err = Dial(&in, io.Discard, "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Render(&Request{}); !errors.Is(err, ErrFrame) || !strings.Contains(err.Error(), "at most 1024 allowed") {
		t.Errorf("an oversized result frame: %v", err)
	}
}

// TestHelloBound: an executable that answers the handshake with text
// (no packgen-helm) is refused at once, not read as a frame of up to
// a GiB; so is a hello frame from another protocol's build.
func TestHelloBound(t *testing.T) {
	for _, out := range []string{"Usage: foo [options]\n", "\x00\x01\x00\x00garbage"} {
		_, err := Dial(strings.NewReader(out), io.Discard, "b", 0)
		if !errors.Is(err, ErrFrame) || !strings.Contains(err.Error(), "at most 4096 allowed") {
			t.Errorf("%q: %v", out, err)
		}
	}
	// A frame cut short by the helper's exit.
	var in bytes.Buffer
	WriteFrame(&in, &Hello{Protocol: Protocol, Build: "b"})
	in.Truncate(in.Len() - 3)
	if _, err := Dial(&in, io.Discard, "b", 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut short: %v", err)
	}
	var me *MismatchError
	in.Reset()
	WriteFrame(&in, &Hello{Protocol: Protocol, Build: "other"})
	if _, err := Dial(&in, io.Discard, "b", 0); !errors.As(err, &me) || me.Helper.Build != "other" || me.Parent.Build != "b" {
		t.Errorf("mismatch: %v", err)
	}
}
