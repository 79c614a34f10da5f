// Package chartproto is what packgen and its chart renderer,
// packgen-helm, say to each other over the helper's stdin and stdout:
// a handshake, then requests (a chart and its values) each answered by
// a result (the rendered manifests, or where the chart fails). Each
// message is one frame: a 4-byte big-endian length, then the value in
// encoding/gob, bounded by MaxFrame. It imports only the standard
// library, so packgen can speak it without linking Helm (see
// docs/ARCHITECTURE.md, "Import rules").
package chartproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Protocol numbers the message shapes below; a change to them is a new
// number, so a helper from another build is refused at the handshake
// even when Build cannot tell the two apart (a modified work tree).
// 2: Hello carries the helper's memory limit.
const Protocol = 2

// MaxFrame bounds one message: a chart archive or unpacked chart is at
// most pack.DefaultLimits.MaxFileSize (256 MiB) per file.
const MaxFrame = 1 << 30

// MaxResult bounds what one chart renders, as the parent reads it: the
// manifests are then held and parsed as YAML (several times their size
// in memory), up to GOMAXPROCS at once, and a chart is outside input. A
// real chart renders a few MiB at most (etcd holds 1.5 MiB per object).
// The helper answers a larger result with Result.Err, so the chart is
// refused by name instead of ending the helper.
const MaxResult = 64 << 20

// maxHello bounds a handshake frame: an executable that is no
// packgen-helm and writes text is refused at once, not read as the
// start of a frame of up to a GiB.
const maxHello = 4 << 10

// maxResult and maxRequest are MaxResult and MaxFrame; tests lower
// them.
var maxResult, maxRequest = MaxResult, MaxFrame

// ErrFrame marks a frame that is too large or does not decode.
var ErrFrame = errors.New("chart renderer protocol")

// Hello opens a conversation, each way: the parent's first, the
// helper's answer.
type Hello struct {
	Protocol int
	// Build identifies the packgen build (see BuildID): parent and
	// helper must be the same.
	Build string
	// MemoryLimit, in the parent's hello, is the most memory in bytes
	// the helper may map for its data (0: no bound): packgen decides it,
	// never the chart. In the helper's answer it is the bound the helper
	// set on itself before reading any chart (0: none, where the system
	// has no such limit).
	MemoryLimit int64
}

// File is one file of an unpacked chart, its path relative to the
// chart's directory.
type File struct {
	Name string
	Data []byte
}

// Request is one chart to render: an archive (.tgz) or the files of an
// unpacked chart directory.
type Request struct {
	Archive []byte
	// Dir: the chart is Files, not Archive (gob sends no empty slice).
	Dir   bool
	Files []File
	// Values is the pack's values.yaml `charts` section in YAML: the
	// chart's own values are those under its name.
	Values []byte
	// Namespace is the release namespace the chart sees.
	Namespace string
}

// Manifest is one rendered template (CHART/templates/x.yaml) and its
// source, to map a line of the output back to the template's.
type Manifest struct {
	Name   string
	Data   []byte
	Source []byte // nil when unknown
}

// Leaf is a string value of the chart's merged values: Path is
// dot-separated from the chart's values root (".image.repository").
type Leaf struct {
	Path  string
	Value string
}

// Error is a chart that does not load or render: Helm's message, and
// the template and line it names ("" and 0 when it names none).
type Error struct {
	Template string
	Line     int
	Msg      string
}

func (e *Error) Error() string { return e.Msg }

// Result answers a Request.
type Result struct {
	// Chart is the chart's name from Chart.yaml ("" when it does not
	// load).
	Chart string
	// Manifests are the rendered .yaml, .yml and .tpl templates, sorted
	// by name.
	Manifests []Manifest
	// Strings are the merged values' string leaves in the order a
	// depth-first walk in sorted key order meets them (maps only, at most
	// 100 deep): the first equal to an image's reference names the value
	// it came from.
	Strings []Leaf
	Err     *Error // nil: rendered
}

// WriteFrame writes v as one frame.
func WriteFrame(w io.Writer, v any) error {
	b, err := encodeFrame(v, MaxFrame)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// encodeFrame is v as one frame of at most limit bytes after the
// length.
func encodeFrame(v any, limit int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(make([]byte, 4))
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("%w: encode %T: %v", ErrFrame, v, err)
	}
	n := buf.Len() - 4
	if n > limit {
		return nil, fmt.Errorf("%w: a %T of %d bytes is more than the %d a frame may hold", ErrFrame, v, n, limit)
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b, uint32(n))
	return b, nil
}

// ReadFrame reads one frame of at most MaxFrame bytes into v. io.EOF
// means the other side closed the stream between frames (a clean end);
// a frame cut short is io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, v any) error { return readFrame(r, v, MaxFrame) }

func readFrame(r io.Reader, v any, limit uint32) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > limit {
		return fmt.Errorf("%w: a %T of %d bytes announced, at most %d allowed", ErrFrame, v, n, limit)
	}
	// Grow with what arrives, not with what the header claims.
	var buf bytes.Buffer
	if m, err := io.Copy(&buf, io.LimitReader(r, int64(n))); err != nil {
		return err
	} else if m < int64(n) {
		return io.ErrUnexpectedEOF
	}
	if err := gob.NewDecoder(&buf).Decode(v); err != nil {
		return fmt.Errorf("%w: decode %T: %v", ErrFrame, v, err)
	}
	return nil
}

// BuildID identifies this program's packgen build: its module version
// (a release, or a pseudo-version), the VCS commit and whether the tree
// was modified, and the Go version. packgen and packgen-helm built
// together (make build, go install ./cmd/...@VERSION) share it.
func BuildID() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	parts := []string{info.Main.Version}
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			parts = append(parts, "commit "+s.Value)
		case s.Key == "vcs.modified" && s.Value == "true":
			parts = append(parts, "modified")
		}
	}
	return strings.Join(append(parts, info.GoVersion), " ")
}

// ErrMismatch marks a helper from another packgen build.
var ErrMismatch = errors.New("packgen and packgen-helm are from different builds")

// Conn is the parent's end of a conversation with one helper.
type Conn struct {
	r *bufio.Reader
	w *bufio.Writer
	// MemoryLimit is the bound the helper says it set on its memory
	// (Hello.MemoryLimit; 0: none).
	MemoryLimit int64
}

// Dial says hello over r and w (the helper's stdout and stdin), asking
// the helper to bound its memory to memoryLimit bytes (0: no bound), and
// checks the answer: the same protocol and build, or ErrMismatch naming
// both.
func Dial(r io.Reader, w io.Writer, build string, memoryLimit int64) (*Conn, error) {
	c := &Conn{r: bufio.NewReaderSize(r, 64<<10), w: bufio.NewWriterSize(w, 64<<10)}
	if err := c.send(&Hello{Protocol: Protocol, Build: build, MemoryLimit: memoryLimit}); err != nil {
		return nil, err
	}
	var h Hello
	if err := readFrame(c.r, &h, maxHello); err != nil {
		return nil, err
	}
	if h.Protocol != Protocol || h.Build != build {
		return nil, &MismatchError{Helper: h, Parent: Hello{Protocol: Protocol, Build: build}}
	}
	c.MemoryLimit = h.MemoryLimit
	return c, nil
}

// MismatchError is a helper from another build, as the parent sees it:
// both builds, for the message and for `packgen version`. It matches
// ErrMismatch.
type MismatchError struct{ Helper, Parent Hello }

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: packgen-helm is build %q (protocol %d), this packgen is build %q (protocol %d)", ErrMismatch, e.Helper.Build, e.Helper.Protocol, e.Parent.Build, e.Parent.Protocol)
}

func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

func (c *Conn) send(v any) error {
	if err := WriteFrame(c.w, v); err != nil {
		return err
	}
	return c.w.Flush()
}

// Render sends one request and reads its result. An error is the
// conversation's (the helper died, a frame did not decode), never the
// chart's: that is Result.Err, a request too large to send included.
func (c *Conn) Render(req *Request) (*Result, error) {
	b, err := encodeFrame(req, maxRequest)
	if errors.Is(err, ErrFrame) {
		// Nothing was sent: the chart's error (an unpacked chart of more
		// than a GiB), not the conversation's.
		return &Result{Err: &Error{Msg: fmt.Sprintf("the chart is more than packgen-helm reads (%d MiB): %v", maxRequest>>20, err)}}, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := c.w.Write(b); err != nil {
		return nil, err
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	var res Result
	if err := readFrame(c.r, &res, uint32(maxResult)); err != nil {
		return nil, err
	}
	return &res, nil
}

// Serve is the helper's end: it answers the parent's hello (refusing
// another build with ErrMismatch after saying who it is), then renders
// each request in turn until r ends (nil: the parent is done). A panic
// in render is that chart's error, not the helper's end.
//
// limit, when not nil, bounds the helper's memory to the parent's
// Hello.MemoryLimit before any request is read, and returns the bound
// it set (0: none on this system), which the answer says; when it
// fails, Serve says hello and then returns its error, rendering
// nothing unbounded.
func Serve(r io.Reader, w io.Writer, build string, limit func(bytes int64) (int64, error), render func(*Request) *Result) error {
	br, bw := bufio.NewReaderSize(r, 64<<10), bufio.NewWriterSize(w, 64<<10)
	send := func(v any) error {
		if err := WriteFrame(bw, v); err != nil {
			return err
		}
		return bw.Flush()
	}
	var h Hello
	if err := readFrame(br, &h, maxHello); err != nil {
		if err == io.EOF {
			return nil
		}
		return fmt.Errorf("read hello: %w", err)
	}
	mismatch := h.Protocol != Protocol || h.Build != build
	var set int64
	var limitErr error
	if !mismatch && limit != nil && h.MemoryLimit > 0 {
		set, limitErr = limit(h.MemoryLimit)
	}
	if err := send(&Hello{Protocol: Protocol, Build: build, MemoryLimit: set}); err != nil {
		return err
	}
	if mismatch {
		return fmt.Errorf("%w: packgen is build %q (protocol %d), this packgen-helm is build %q (protocol %d)", ErrMismatch, h.Build, h.Protocol, build, Protocol)
	}
	if limitErr != nil {
		return fmt.Errorf("bound memory to %d MiB as packgen asks: %w", h.MemoryLimit>>20, limitErr)
	}
	for {
		var req Request
		if err := ReadFrame(br, &req); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		}
		res := safeRender(render, &req)
		var b []byte
		var err error
		if n := res.size(); n > maxResult {
			// Refused before gob copies it all: a chart that renders a
			// GiB must not make the helper hold two.
			err = fmt.Errorf("%w: a *chartproto.Result of at least %d bytes is more than the %d a frame may hold", ErrFrame, n, maxResult)
		} else {
			b, err = encodeFrame(res, maxResult)
		}
		if errors.Is(err, ErrFrame) {
			// Too large for the parent to read (or not encodable): the
			// chart's error, and the helper goes on.
			b, err = encodeFrame(&Result{Err: &Error{Msg: fmt.Sprintf("the chart's rendered manifests are more than packgen reads (%d MiB): %v", maxResult>>20, err)}}, maxResult)
		}
		if err != nil {
			return err
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
}

// size is the bytes r's variable-length fields hold: no more than its
// frame's length.
func (r *Result) size() int {
	n := len(r.Chart)
	for _, m := range r.Manifests {
		n += len(m.Name) + len(m.Data) + len(m.Source)
	}
	for _, l := range r.Strings {
		n += len(l.Path) + len(l.Value)
	}
	if r.Err != nil {
		n += len(r.Err.Template) + len(r.Err.Msg)
	}
	return n
}

func safeRender(render func(*Request) *Result, req *Request) (res *Result) {
	defer func() {
		if p := recover(); p != nil {
			res = &Result{Err: &Error{Msg: fmt.Sprintf("the chart renderer panicked: %v", p)}}
		}
	}()
	return render(req)
}
