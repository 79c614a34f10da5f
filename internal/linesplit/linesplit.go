// Package linesplit cuts a stream written in arbitrary pieces into whole
// lines, for the io.Writers that read a log a line at a time (a
// command's warnings kept for -o json, publish's progress passed on by an
// import).
package linesplit

import (
	"bytes"
	"sync"
)

// Splitter keeps the unfinished last line between writes. The zero
// value is ready; it is safe for concurrent use.
type Splitter struct {
	mu      sync.Mutex
	partial []byte
}

// Split adds p to the stream and calls line with each line it
// completes, without its "\n", in order (under the splitter's lock, so
// lines of concurrent writes are never interleaved or reordered). A line
// not yet ended waits for the next write.
func (s *Splitter) Split(p []byte, line func(string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return
		}
		l := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		line(l)
	}
}
