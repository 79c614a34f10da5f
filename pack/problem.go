package pack

import (
	"fmt"

	"github.com/packgen/packgen/pack/meta"
)

// ValidationError is returned by functions that fail because a pack is invalid.
type ValidationError struct {
	Problems meta.Problems
}

func (e *ValidationError) Error() string {
	return "invalid pack:\n" + e.Problems.Error()
}

type problemSink struct {
	file string
	ps   meta.Problems
}

func (s *problemSink) add(sev meta.Severity, line, col int, format string, args ...any) {
	s.ps = append(s.ps, meta.Problem{File: s.file, Line: line, Col: col, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}
