package pack

import "fmt"

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
