package pack

import (
	"fmt"

	"github.com/packgen/packgen/pack/meta"
)

// Severity, Problem and Problems live in pack/meta, a leaf package, so
// that profile parsing reports with them without linking pack.
type (
	Severity = meta.Severity
	Problem  = meta.Problem
	Problems = meta.Problems
)

const (
	SevError   = meta.SevError
	SevWarning = meta.SevWarning
)

// ValidationError is returned by functions that fail because a pack is invalid.
type ValidationError struct {
	Problems Problems
}

func (e *ValidationError) Error() string {
	return "invalid pack:\n" + e.Problems.Error()
}

type problemSink struct {
	file string
	ps   Problems
}

func (s *problemSink) add(sev Severity, line, col int, format string, args ...any) {
	s.ps = append(s.ps, Problem{File: s.file, Line: line, Col: col, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}
