package validate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/pack/meta"
)

func TestDirsInput(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "pack.json")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"missing": filepath.Join(tmp, "nope"), "a file": file, "no pack": t.TempDir()} {
		if _, err := Dirs([]string{dir}); !errors.Is(err, ErrInput) {
			t.Errorf("%s: %v, want ErrInput", name, err)
		}
	}
}

// The example packs validate clean, every one listed with its identity.
func TestDirsExamples(t *testing.T) {
	rep, err := Dirs([]string{"../examples/packs"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || len(rep.Packs) < 5 {
		t.Fatalf("examples: %d packs, %d errors: %v", len(rep.Packs), rep.Errors, rep.Problems)
	}
	for _, p := range rep.Packs {
		if p.Name == "" || p.Version == "" || p.Layer == "" {
			t.Errorf("pack without identity: %+v", p)
		}
	}
}

func TestGitHubAnnotation(t *testing.T) {
	for _, tc := range []struct {
		p    meta.Problem
		want string
	}{
		{meta.Problem{File: "packs/a/pack.json", Line: 3, Col: 14, Severity: meta.SevError, Msg: "bad version"},
			"::error file=packs/a/pack.json,line=3,col=14::bad version"},
		{meta.Problem{File: "x,y:z.yaml", Severity: meta.SevWarning, Msg: "50%\nmore"},
			"::warning file=x%2Cy%3Az.yaml::50%25%0Amore"},
		{meta.Problem{File: "f", Line: 2, Severity: meta.SevError, Msg: "m"}, "::error file=f,line=2::m"},
		// Of the run, not of a file (a history that cannot be read): no
		// empty file= property, and no ": " before the severity.
		{meta.Problem{Severity: meta.SevError, Msg: "HEAD's history leaves main's"}, "::error::HEAD's history leaves main's"},
	} {
		if got := GitHubAnnotation(tc.p); got != tc.want {
			t.Errorf("GitHubAnnotation(%+v) = %q, want %q", tc.p, got, tc.want)
		}
		if got, want := tc.p.String(), tc.p.Position()+": "; tc.p.File == "" && strings.HasPrefix(got, ":") || tc.p.File != "" && !strings.HasPrefix(got, want) {
			t.Errorf("%+v.String() = %q", tc.p, got)
		}
	}
}

// -o json: "warnings" is the list of warning problems, as in every
// command (docs/JSON.md); the counts are "errors", "errorCount" and
// "warningCount"; a report decodes back into a Report.
func TestReportJSON(t *testing.T) {
	rep := newReport()
	rep.Packs = append(rep.Packs, Pack{Dir: "packs/x", Name: "x", Version: "1.0.0", Layer: "addon"})
	rep.Problems = append(rep.Problems,
		meta.Problem{File: "packs/x/pack.json", Line: 4, Col: 12, Severity: meta.SevError, Msg: "bad layer"},
		meta.Problem{File: "packs/x/values.yaml", Severity: meta.SevWarning, Msg: "no images"})
	rep.tally()
	for _, c := range []struct {
		name string
		rep  *Report
		want string
	}{
		{"one of each", rep, `{"packs":[{"dir":"packs/x","name":"x","version":"1.0.0","layer":"addon"}],` +
			`"problems":[{"file":"packs/x/pack.json","line":4,"col":12,"severity":"error","message":"bad layer"},` +
			`{"file":"packs/x/values.yaml","severity":"warning","message":"no images"}],` +
			`"errors":1,"warningCount":1,"errorCount":1,` +
			`"warnings":[{"file":"packs/x/values.yaml","severity":"warning","message":"no images"}]}`},
		{"clean", newReport().tally(), `{"packs":[],"problems":[],"errors":0,"warningCount":0,"errorCount":0,"warnings":[]}`},
	} {
		got, err := json.Marshal(c.rep)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %v\n got %s\nwant %s", c.name, err, got, c.want)
			continue
		}
		var back Report
		if err := json.Unmarshal(got, &back); err != nil || back.Errors != c.rep.Errors || back.Warnings != c.rep.Warnings || len(back.Problems) != len(c.rep.Problems) {
			t.Errorf("%s: decoded %+v, %v", c.name, back, err)
		}
	}
}
