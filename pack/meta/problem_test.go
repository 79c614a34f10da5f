package meta

import (
	"reflect"
	"testing"
)

// TestProblemsBySeverity: Errors and Warnings keep the problems of their
// severity in their order, and nothing (nil) when there is none.
func TestProblemsBySeverity(t *testing.T) {
	e1 := Problem{File: "pack.json", Line: 2, Severity: SevError, Msg: "e1"}
	w1 := Problem{File: "pack.json", Line: 1, Severity: SevWarning, Msg: "w1"}
	e2 := Problem{File: "values.yaml", Line: 1, Severity: SevError, Msg: "e2"}
	w2 := Problem{File: "README.md", Severity: SevWarning, Msg: "w2"}
	for _, tc := range []struct {
		name        string
		ps          Problems
		errs, warns Problems
	}{
		{"none", nil, nil, nil},
		{"errors only", Problems{e1, e2}, Problems{e1, e2}, nil},
		{"warnings only", Problems{w1, w2}, nil, Problems{w1, w2}},
		{"mixed, order kept", Problems{w2, e2, w1, e1}, Problems{e2, e1}, Problems{w2, w1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ps.Errors(); !reflect.DeepEqual(got, tc.errs) {
				t.Errorf("Errors() = %v, want %v", got, tc.errs)
			}
			if got := tc.ps.Warnings(); !reflect.DeepEqual(got, tc.warns) {
				t.Errorf("Warnings() = %v, want %v", got, tc.warns)
			}
		})
	}
}
