package images

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"reflect"
	"sync"

	"github.com/packgen/packgen/internal/chartproto"
)

// Memo renders each distinct chart request once: a build renders the
// charts of every release it archives, and a repository that bumps a
// pack's version in place mostly leaves its chart and values as they
// were, so release after release sends the renderer the same request.
//
// A rendering is a function of the request alone for one packgen build:
// the helper is of this build (the handshake refuses another), and
// Helm's engine in template mode reads no file, environment or cluster.
// So the key is the SHA-256 of every field of the request, each with
// its length (exact: nothing else decides the outcome), the chart
// archive by its own SHA-256: the same whether the request carries the
// archive or the tar validation inflated from it (pack.KeptChart), a
// function of the archive that the renderer reads to the same chart. Helm's clock
// and random functions (now, randAlphaNum, uuidv4) make two renderings
// of a chart that calls them differ anyway; the memo gives identical
// requests one of those outcomes.
//
// Remembered: what the chart gives (its images, or its own error), and
// a chart past the renderer's time or memory bound (ErrChartLimit):
// within one build a runaway chart that took 30 s or 1 GiB once is not
// run again for every release that carries it, and a build refusing
// for it writes no record, so the next build renders it afresh. Not
// remembered: any other renderer failure (no helper, one that died, an
// abort), the machine's, which fails a build anyway; the requests
// waiting on it share it, later ones render again.
//
// Bounded: what it keeps (renderedChart, not the rendered manifests)
// adds up to at most the bytes NewMemo is given, the least recently
// used dropped first. Safe for concurrent use: a request rendering now
// is waited for, not rendered twice.
type Memo struct {
	max int
	// factsDir is where Remember keeps facts; they are opened at the
	// first render (a rebuild that renders nothing reads none).
	factsDir  string
	factsOnce sync.Once
	facts     *renderFacts // nil: none kept across builds

	mu   sync.Mutex
	size int
	m    map[[sha256.Size]byte]*memoEntry
	lru  list.List // of *memoEntry, kept ones, most recently used first
}

type memoEntry struct {
	key  [sha256.Size]byte
	done chan struct{} // closed once ch, err are set
	ch   *renderedChart
	err  error
	size int
	elem *list.Element // nil: not kept (in flight, or dropped)
}

// DefaultMemoBytes bounds a build's Memo: about 20,000 images' worth
// (the benchmark's charts, of 46 images each, take about 14 KB), small
// beside a cold build's peak, which a memo of misses adds to.
const DefaultMemoBytes = 8 << 20

// NewMemo is an empty memo keeping at most maxBytes.
func NewMemo(maxBytes int) *Memo {
	return &Memo{max: maxBytes, m: map[[sha256.Size]byte]*memoEntry{}}
}

// render renders req through the memo; archiveSum is the SHA-256 of the
// archive req.Archive is or was inflated from.
func (m *Memo) render(req *chartproto.Request, archiveSum [sha256.Size]byte) (*renderedChart, error) {
	k := requestKey(req, archiveSum)
	m.mu.Lock()
	if e := m.entry(k); e != nil {
		m.mu.Unlock()
		return e.wait()
	}
	e := &memoEntry{key: k, done: make(chan struct{})}
	m.m[k] = e
	m.mu.Unlock()

	e.ch, e.err = m.renderOnce(req, k)

	m.mu.Lock()
	m.keep(e)
	m.mu.Unlock()
	close(e.done)
	return e.ch, e.err
}

// entry is the memo's entry for key k (rendered, or rendering now),
// counted as a use; nil if none. Under m.mu.
func (m *Memo) entry(k [sha256.Size]byte) *memoEntry {
	e := m.m[k]
	if e != nil && e.elem != nil {
		m.lru.MoveToFront(e.elem)
	}
	return e
}

// wait is e's outcome, once it is set.
func (e *memoEntry) wait() (*renderedChart, error) {
	<-e.done
	return e.ch, e.err
}

// keep keeps e, its outcome set, within the memo's bound (the least
// recently used dropped first), or drops it: an outcome not to
// remember, or larger than the memo. Under m.mu; e is in m.m.
func (m *Memo) keep(e *memoEntry) {
	if e.err == nil || errors.Is(e.err, ErrChartLimit) {
		e.size = e.ch.memoSize()
	}
	if e.size == 0 || e.size > m.max {
		delete(m.m, e.key)
		return
	}
	e.elem = m.lru.PushFront(e)
	m.size += e.size
	for m.size > m.max {
		old := m.lru.Remove(m.lru.Back()).(*memoEntry)
		old.elem = nil
		m.size -= old.size
		delete(m.m, old.key)
	}
}

// known is the memo's entry for the request whose key is k when it
// needs no rendering: one rendered (or rendering now), or one a build
// before this one on the machine remembered (then kept as a rendering
// would be); nil when the chart must be rendered. Asking counts as a
// use.
func (m *Memo) known(k [sha256.Size]byte) *memoEntry {
	m.mu.Lock()
	e := m.entry(k)
	m.mu.Unlock()
	if e != nil {
		return e
	}
	if m.openFacts(); m.facts == nil {
		return nil
	}
	ch, ok := m.facts.lookup(m.facts.key(k))
	if !ok {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entry(k); e != nil { // asked or rendered meanwhile
		return e
	}
	e = &memoEntry{key: k, done: make(chan struct{}), ch: ch}
	close(e.done)
	m.m[k] = e
	m.keep(e)
	return e
}

// openFacts opens the facts Remember named, once, at the first question
// (a rebuild that renders nothing reads none).
func (m *Memo) openFacts() {
	m.factsOnce.Do(func() { m.facts = openRenderFacts(m.factsDir) })
}

// Remember keeps, in dir (the build machine's cache: "" for none), the
// requests that rendered clean for the next build on this machine, and
// reads those of the builds before (renderFacts). Close ends it.
func (m *Memo) Remember(dir string) { m.factsDir = dir }

// Close closes what Remember opened; the memo then remembers no more.
func (m *Memo) Close() {
	if m == nil {
		return
	}
	m.factsOnce.Do(func() {}) // none opened from now on
	if m.facts != nil {
		m.facts.close()
	}
}

// renderOnce renders req, or takes what a build before this one on the
// machine remembered of it.
func (m *Memo) renderOnce(req *chartproto.Request, reqKey [sha256.Size]byte) (*renderedChart, error) {
	if m.openFacts(); m.facts == nil {
		return renderChart(req)
	}
	k := m.facts.key(reqKey)
	if ch, ok := m.facts.lookup(k); ok {
		return ch, nil
	}
	ch, err := renderChart(req)
	if err == nil && ch.err == nil {
		m.facts.add(k, ch)
	}
	return ch, err
}

// memoSize estimates what ch holds, for the memo's bound: its strings
// and a fixed cost per value (nil: a renderer error, ErrChartLimit's
// message alone).
func (ch *renderedChart) memoSize() int {
	const overhead = 256 // entry, map slot, list element, key
	n := overhead
	if ch == nil {
		return n
	}
	n += len(ch.name)
	if ch.err != nil {
		n += len(ch.err.Error())
	}
	for _, im := range ch.images {
		s := im.src
		n += 160 + len(im.written) + len(s.Kind) + len(s.Template) + len(s.Object) + len(s.Field) + len(s.Values)
	}
	return n
}

// requestKey is the SHA-256 of every field of req, each with its length
// so that no two requests write the same bytes; of the chart archive,
// its SHA-256 archiveSum: req.Archive is the archive or the tar
// validation inflated from it (pack.KeptChart), one chart and one key
// either way, and no hash of the larger tar.
func requestKey(req *chartproto.Request, archiveSum [sha256.Size]byte) [sha256.Size]byte {
	h := sha256.New()
	field := func(b []byte) {
		writeLen(h, len(b))
		h.Write(b)
	}
	if req.Archive != nil || !req.Dir { // an archive, kept or not, or one known by its sum alone (ReleaseMemo)
		field(archiveSum[:])
	} else {
		field(nil)
	}
	dir := []byte{0}
	if req.Dir {
		dir[0] = 1
	}
	h.Write(dir)
	writeLen(h, len(req.Files))
	for _, f := range req.Files {
		field([]byte(f.Name))
		field(f.Data)
	}
	field(req.Values)
	field([]byte(req.Namespace))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func writeLen(h hash.Hash, n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
}

// ReleaseMemo is a build's Memo as one release asks it, twice: first
// validation, before it inflates each chart archive, whether the tar is
// wanted (KeepChart, the release's pack.Options.KeepChart); then the
// image check, which renders through it (CheckRelease). A chart whose
// rendering the memo already holds, or a build before this one on the
// machine remembered, is not kept: a warm build copies no tar it will
// not send. The answer KeepChart found is the one the image check takes,
// however the memo changes in between, so a chart not kept is never
// read again; the charts section of values.yaml is encoded once for
// both, and the request's key computed once (by KeepChart, for a chart
// it found). One release, one goroutine: not safe for concurrent use.
type ReleaseMemo struct {
	memo *Memo
	// values is the map vals (or valsErr) was encoded from.
	values  map[string]any
	vals    []byte
	valsErr error
	encoded bool
	// asked are the entries KeepChart found for values, by the
	// archive's SHA-256 (the rest of the request's key is values'):
	// forgotten when other values are encoded (the image check then
	// reads those archives, a miss, never another chart's answer).
	asked map[[sha256.Size]byte]*memoEntry
}

// ForRelease is m for one release's validation and image check; nil
// for a nil m (no memo: every chart kept and rendered).
func (m *Memo) ForRelease() *ReleaseMemo {
	if m == nil {
		return nil
	}
	return &ReleaseMemo{memo: m}
}

// KeepChart says whether validation is to keep the tar of the chart
// archive whose SHA-256 is archiveSum, for the pack whose template
// values are values: false when the chart's rendering is known
// (Memo.known), which the image check then takes without the archive.
func (r *ReleaseMemo) KeepChart(archiveSum [sha256.Size]byte, values map[string]any) bool {
	if r == nil {
		return true
	}
	vals, err := r.chartValues(values)
	if err != nil {
		return true // the image check reports the values
	}
	// The request the image check makes of the archive (collector.charts).
	e := r.memo.known(requestKey(&chartproto.Request{Values: vals, Namespace: namespaceOf(values)}, archiveSum))
	if e == nil {
		return true
	}
	if r.asked == nil {
		r.asked = map[[sha256.Size]byte]*memoEntry{}
	}
	r.asked[archiveSum] = e
	return false
}

// answered is the entry KeepChart found for the archive whose SHA-256
// is archiveSum with these values; nil if none (read the archive).
func (r *ReleaseMemo) answered(archiveSum [sha256.Size]byte, values map[string]any) *memoEntry {
	if r == nil || r.asked == nil {
		return nil
	}
	if _, err := r.chartValues(values); err != nil {
		return nil
	}
	return r.asked[archiveSum]
}

// chartValues is chartValues(values), encoded once for a release's
// questions and its charts: the map validation asked with is the one the
// image check reads (pack.ValuesAndManifests of a kept Pack), and any
// other is encoded afresh.
func (r *ReleaseMemo) chartValues(values map[string]any) ([]byte, error) {
	if !r.encoded || reflect.ValueOf(values).UnsafePointer() != reflect.ValueOf(r.values).UnsafePointer() {
		r.values, r.encoded = values, true
		r.vals, r.valsErr = chartValues(values)
		r.asked = nil // found for other values
	}
	return r.vals, r.valsErr
}
