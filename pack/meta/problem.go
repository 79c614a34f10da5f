package meta

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a problem blocks a pack (error) or only deserves
// attention (warning). Real pack repositories carry many warnings.
type Severity string

const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
)

// Problem is one finding about a pack (or a profile or lock file: package
// profile reports with it too), positioned as precisely as the
// format allows: File is slash-separated and relative to where the
// validation started; Line and Col are 1-based and 0 when unknown.
type Problem struct {
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"`
	Col      int      `json:"col,omitempty"`
	Severity Severity `json:"severity"`
	Msg      string   `json:"message"`
}

// String renders the problem the way compilers do: file:line:col: severity: msg.
func (p Problem) String() string {
	if p.File == "" { // of the whole run (a history that cannot be read), not of a file
		return fmt.Sprintf("%s: %s", p.Severity, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.Position(), p.Severity, p.Msg)
}

// Position is where the problem is: file, file:line or file:line:col.
func (p Problem) Position() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	return b.String()
}

// Problems is a list of findings.
type Problems []Problem

// HasErrors reports whether any problem is an error.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == SevError {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ps Problems) Errors() Problems { return ps.only(SevError) }

// Warnings returns only the warnings.
func (ps Problems) Warnings() Problems { return ps.only(SevWarning) }

func (ps Problems) only(sev Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == sev {
			out = append(out, p)
		}
	}
	return out
}

// Sort orders problems by file, line, column, severity and message so
// output is stable whatever order the checks ran in.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Severity.rank(), b.Severity.rank()),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}

// rank puts errors before warnings.
func (s Severity) rank() int {
	if s == SevError {
		return 0
	}
	return 1
}

// Error makes a non-empty error list usable as an error value.
func (ps Problems) Error() string {
	var lines []string
	for _, p := range ps.Errors() {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}
