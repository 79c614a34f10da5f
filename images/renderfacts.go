package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/internal/factfile"
	"github.com/packgen/packgen/internal/progid"
	"github.com/packgen/packgen/internal/safefile"
)

// renderFacts remembers on the build machine, across builds, the chart
// requests that rendered clean and the images their rendering names
// (Memo.Remember): a second cold build on the same machine (a fresh out
// dir, a new clone) then renders none of the charts the first one did.
//
// A fact is a line "KEY VALUE": KEY the SHA-256 of this packgen's
// identity, the renderer's (its executable, its memory and time bounds)
// and the request's key (requestKey: every field of the request), so a
// fact never applies to another request or another renderer; VALUE the
// chart's name and images as JSON. Only clean renderings are
// remembered: a chart that fails is rendered, and fails, every time. A
// line that does not parse, or whose value does not decode, is a miss:
// the chart is rendered again. The file's first line names the
// packgen and renderer it is for (renderFactsHeader): another's file,
// one past maxRenderFacts bytes or maxRenderEntries facts, is started
// over, not indexed.
//
// The file is trusted as much as the rest of the user's cache dir (the
// build's verified archives, docs/SECURITY.md): who can write it can
// make a chart that fails pass, as they could replace packgen.
type renderFacts struct {
	id [sha256.Size]byte // this packgen and its renderer
	// rw is the file, read by offset and appended to (one fact a
	// write); nil: none to keep.
	rw *os.File

	mu sync.Mutex
	at map[string]factfile.At // by key in hex: the facts read and added
}

// renderFactsFile names the file; a change to what a fact holds starts
// a new one.
const renderFactsFile = "chart-renders-v1.txt"

// maxRenderFacts and maxRenderEntries bound the file (the 5,000
// releases of bench/cmd/gen -packs 1000 take 1.5 MB, 306 bytes a
// chart: docs/PERFORMANCE.md) and so what its index holds in memory;
// maxRenderFact one value, read or written.
const (
	maxRenderFacts   = 16 << 20
	maxRenderEntries = 50000
	maxRenderFact    = 1 << 20
)

// renderFactsHeader begins the file's first line, followed by the
// identity (renderFacts.id) in hex.
const renderFactsHeader = "packgen chart renders v1 "

// identified is a renderer that can name itself: what it renders is a
// function of the request and of that name.
type identified interface {
	Identity() (string, error)
}

// Identity names the helper this Helper runs by its file (progid.FileID:
// the handshake's build ID cannot tell a helper rebuilt alone from an
// unpinned tree; its file can) and the bounds it runs it with.
func (h *Helper) Identity() (string, error) {
	h.init()
	if h.memErr != nil {
		return "", h.memErr
	}
	exe, err := h.Find()
	if err != nil {
		return "", err
	}
	file, err := progid.FileID(exe)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s protocol=%d memory=%d timeout=%s", file, chartproto.Protocol, h.memory, h.timeout()), nil
}

// openRenderFacts opens the facts in dir for the current renderer; nil
// when there are none to keep: no dir, a renderer or packgen that
// cannot name itself, a dir that cannot be written.
func openRenderFacts(dir string) *renderFacts {
	rendererMu.RLock()
	r := renderer
	rendererMu.RUnlock()
	ir, ok := r.(identified)
	prog := progid.Name()
	if dir == "" || !ok || prog == "" {
		return nil
	}
	rid, err := ir.Identity()
	if err != nil {
		return nil
	}
	f := &renderFacts{id: sha256.Sum256([]byte(prog + "\n" + rid)), at: map[string]factfile.At{}}
	file := filepath.Join(dir, renderFactsFile)
	header := renderFactsHeader + hex.EncodeToString(f.id[:])
	if os.MkdirAll(dir, 0o700) != nil {
		return f
	}
	// One descriptor, read by offset and appended to; opened through
	// safefile, not to block for ever on a FIFO planted at the path.
	if rw, err := safefile.OpenAppend(file, 0o600); err == nil {
		if at, ok := factfile.Index(rw, header, maxRenderFacts, maxRenderEntries); ok && len(at) < maxRenderEntries {
			f.rw, f.at = rw, at
			return f
		}
		rw.Close()
	}
	// None, another's, or full: start over by replacing the file, never
	// truncating it: a build reading it keeps the old inode, and its
	// offsets.
	if atomicfile.WriteFile(file, []byte(header+"\n"), 0o600) == nil {
		f.rw, _ = safefile.OpenAppend(file, 0o600)
	}
	return f
}

// factImage is a chartImage as a fact holds it (Source.Kind is Chart,
// Source.File unset).
type factImage struct {
	Written  string `json:"w"`
	Template string `json:"t,omitempty"`
	Line     int    `json:"l,omitempty"`
	OutLine  int    `json:"o,omitempty"`
	Object   string `json:"j,omitempty"`
	Field    string `json:"f,omitempty"`
	Values   string `json:"v,omitempty"`
	Maybe    bool   `json:"m,omitempty"`
}

type renderFact struct {
	Chart  string      `json:"c"`
	Images []factImage `json:"i"`
}

// key is a fact's key: this renderer's identity and the request's key
// (requestKey).
func (f *renderFacts) key(reqKey [sha256.Size]byte) [sha256.Size]byte {
	return sha256.Sum256(append(f.id[:], reqKey[:]...))
}

// lookup is the clean rendering remembered for key, if any.
func (f *renderFacts) lookup(key [sha256.Size]byte) (*renderedChart, bool) {
	hk := hex.EncodeToString(key[:])
	// rw under the lock too: close may be ending it (a render still
	// running after the build's Close only misses).
	f.mu.Lock()
	at, ok := f.at[hk]
	rw := f.rw
	f.mu.Unlock()
	if !ok || rw == nil || at.N > maxRenderFact { // no larger value is written
		return nil, false
	}
	buf, ok := factfile.ReadAt(rw, hk, at)
	if !ok {
		return nil, false
	}
	var v renderFact
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.DisallowUnknownFields()
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	ch := &renderedChart{name: v.Chart, images: make([]chartImage, len(v.Images))}
	for i, im := range v.Images {
		ch.images[i] = chartImage{im.Written, Source{Kind: Chart, Template: im.Template, Line: im.Line, outLine: im.OutLine,
			Object: im.Object, Field: im.Field, Values: im.Values, Maybe: im.Maybe}}
	}
	return ch, true
}

// add remembers ch, a clean rendering, under key.
func (f *renderFacts) add(key [sha256.Size]byte, ch *renderedChart) {
	if ch.err != nil {
		return
	}
	v := renderFact{Chart: ch.name, Images: make([]factImage, len(ch.images))}
	for i, im := range ch.images {
		s := im.src
		v.Images[i] = factImage{im.written, s.Template, s.Line, s.outLine, s.Object, s.Field, s.Values, s.Maybe}
	}
	b, err := json.Marshal(v) // escapes newlines: one line
	if err != nil || len(b) > maxRenderFact {
		return
	}
	hk := hex.EncodeToString(key[:])
	line, err := factfile.Line(hk, b)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rw == nil {
		return
	}
	// One write: appended whole, after which the offset is the end of
	// this line, wherever other builds' lines went. Indexed, so a request
	// seen again (evicted from the memo) is read, not appended twice.
	if _, err := f.rw.Write(line); err != nil {
		return
	}
	if end, err := f.rw.Seek(0, io.SeekCurrent); err == nil {
		f.at[hk] = factfile.ValueAt(line, end-int64(len(line)))
	}
}

func (f *renderFacts) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rw != nil {
		f.rw.Close()
		f.rw = nil
	}
}
