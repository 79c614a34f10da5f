// Package factfile appends to the cache files of facts a machine proved
// (the build's verified archives and signatures, the key check's clean
// git trees): one fact a line, appended by concurrent processes without
// interleaving, started over past a bound. Such a file is a cache: one
// that cannot be written costs the next run time, never correctness, so
// errors are dropped.
package factfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
)

// Read returns file's text, "" when it is missing, unreadable, not a
// regular file or past max bytes (the caller's facts then start over).
// One string: every fact the caller keeps is a substring of it, not a
// string of its own (tens of thousands of lines).
func Read(file string, max int64) string {
	if file == "" {
		return ""
	}
	f, err := safefile.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > max {
		return ""
	}
	var b strings.Builder
	b.Grow(int(fi.Size()))
	if _, err := io.Copy(&b, io.LimitReader(f, max)); err != nil {
		return ""
	}
	return b.String()
}

// chunk keeps each write under PIPE_BUF (4 KiB on Linux): a write that
// small with O_APPEND lands whole, so lines of concurrent runs never
// interleave.
const chunk = 3 << 10

// Append appends lines to file, creating it with perm (and its directory
// with perm plus search rights where perm reads). A file already larger
// than max is replaced by these lines alone.
func Append(file string, lines []string, max int64, perm os.FileMode) {
	if file == "" || len(lines) == 0 {
		return
	}
	// 0o600 → 0o700, 0o644 → 0o755: a directory searchable by whoever
	// may read the file.
	if os.MkdirAll(filepath.Dir(file), perm|(perm&0o444)>>2) != nil {
		return
	}
	// Regular files only, opened without blocking: a FIFO planted at the
	// path must not hang the command that appends.
	f, err := safefile.OpenAppend(file, perm)
	if err != nil {
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() > max && f.Truncate(0) != nil {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
		if b.Len() > chunk {
			f.WriteString(b.String())
			b.Reset()
		}
	}
	f.WriteString(b.String())
}

// Set is a fact file's facts in memory: those read back (Load) and
// those this run added, which Save appends. A Set with no file
// remembers only for this run.
type Set struct {
	file  string
	max   int64
	mu    sync.Mutex
	Known map[string]bool // read back or added; for tests
	added []string
}

// Load reads file ("" for none) up to max bytes (Read) and keeps the
// lines keep accepts.
func Load(file string, max int64, keep func(line string) bool) *Set {
	s := &Set{file: file, max: max, Known: map[string]bool{}}
	if file == "" {
		return s
	}
	all := Read(file, max)
	s.Known = make(map[string]bool, strings.Count(all, "\n")+64)
	for line := range strings.Lines(all) {
		if line = strings.TrimSuffix(line, "\n"); keep(line) {
			s.Known[line] = true
		}
	}
	return s
}

// Enabled reports whether the set has a file to remember in.
func (s *Set) Enabled() bool { return s != nil && s.file != "" }

// Has reports whether fact k is known.
func (s *Set) Has(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Known[k]
}

// Add records fact k ("" is ignored).
func (s *Set) Add(k string) {
	if k == "" {
		return
	}
	s.mu.Lock()
	if !s.Known[k] {
		s.Known[k] = true
		s.added = append(s.added, k)
	}
	s.mu.Unlock()
}

// Save appends the facts added (Append, with perm).
func (s *Set) Save(perm os.FileMode) {
	if s.Enabled() {
		Append(s.file, s.added, s.max, perm)
	}
}

// nextLine reads one line of br through its newline, keeping only its
// first keep bytes (a fact's key), however long the line; n is its
// length. For files of facts too large to hold, indexed by key: the
// catalogue's image cache, the build's chart renderings.
func nextLine(br *bufio.Reader, keep int) (start []byte, n int, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if k := min(len(chunk), keep-len(start)); k > 0 {
			start = append(start, chunk[:k]...)
		}
		n += len(chunk)
		if err != bufio.ErrBufferFull {
			return start, n, err
		}
	}
}

// At is where one fact's value lies in a file of "KEY VALUE" lines
// (KEY 64 hex digits): Off its first byte, N its length.
type At struct {
	Off int64
	N   int
}

// keyLen is a key's length: a SHA-256 in hex.
const keyLen = 64

// Index reads a file of facts once and returns where each fact's value
// lies, keeping none of the values: for files too large to hold (the
// catalogue's image cache, the build's chart renderings). Its first line
// must be header and a newline (the header names who wrote the file:
// another's is started over, not indexed); each other line is a key (64
// lowercase hex digits), a space, a value and a newline; other lines are
// skipped. Only the first maxEntries facts are indexed (a caller finding
// that many knows the file is full). False: f is past maxBytes, or not
// the caller's; start it over.
func Index(f *os.File, header string, maxBytes int64, maxEntries int) (map[string]At, bool) {
	if fi, err := f.Stat(); err != nil || fi.Size() > maxBytes {
		return nil, false
	}
	br := bufio.NewReaderSize(io.LimitReader(f, maxBytes), 64<<10)
	head, err := br.ReadSlice('\n')
	if err != nil || string(head) != header+"\n" {
		return nil, false
	}
	off := int64(len(head))
	at := map[string]At{}
	for len(at) < maxEntries {
		start, n, err := nextLine(br, keyLen+1)
		if err != nil { // io.EOF, or a last line without its newline
			break
		}
		if n > keyLen+2 && start[keyLen] == ' ' {
			if k := string(start[:keyLen]); index.LowerHex(k, keyLen) {
				at[k] = At{Off: off + keyLen + 1, N: n - keyLen - 2}
			}
		}
		off += int64(n)
	}
	return at, true
}

// ErrNotFact is Line's refusal of a key or value no file of facts can
// hold as one line that Index would read back.
var ErrNotFact = errors.New("not a fact line")

// Line is the line a file of facts holds for key and value: "KEY VALUE\n".
// It refuses (ErrNotFact) a key that is not 64 lowercase hex digits
// (one holding a newline among them), an empty value and a value
// holding a newline: a line Index would skip, or cut in two, the second
// part read as another fact.
func Line(key string, value []byte) ([]byte, error) {
	switch {
	case !index.LowerHex(key, keyLen):
		return nil, fmt.Errorf("%w: key %q is not %d lowercase hex digits", ErrNotFact, key, keyLen)
	case len(value) == 0:
		return nil, fmt.Errorf("%w: key %s has an empty value", ErrNotFact, key)
	case bytes.IndexByte(value, '\n') >= 0:
		return nil, fmt.Errorf("%w: the value of key %s holds a newline", ErrNotFact, key)
	}
	line := make([]byte, 0, len(key)+1+len(value)+1)
	return append(append(append(append(line, key...), ' '), value...), '\n'), nil
}

// ValueAt is where the value of line (as Line made it) lies in a file
// when the line begins at off.
func ValueAt(line []byte, off int64) At {
	return At{Off: off + keyLen + 1, N: len(line) - keyLen - 2}
}

// ReadAt reads the value of the fact key at at in r, checking the
// whole line: key, the space and the final newline. Anything else (the
// file restarted in place by another packgen under a reader, a line
// cut) is a miss: an offset alone would hand back another fact's value.
func ReadAt(r io.ReaderAt, key string, at At) ([]byte, bool) {
	if len(key) != keyLen || at.Off < keyLen+1 || at.N < 0 {
		return nil, false
	}
	buf := make([]byte, keyLen+1+at.N+1)
	if _, err := r.ReadAt(buf, at.Off-keyLen-1); err != nil {
		return nil, false
	}
	if string(buf[:keyLen]) != key || buf[keyLen] != ' ' || buf[len(buf)-1] != '\n' {
		return nil, false
	}
	return buf[keyLen+1 : len(buf)-1], true
}
