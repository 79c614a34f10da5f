package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
)

// TestPrintBuildAdded (stranger4 S15): a build says which releases it
// added: in text the first few and how many more, in -o json all of them
// ("added", [] when none).
func TestPrintBuildAdded(t *testing.T) {
	many := make([]string, 12)
	for i := range many {
		many[i] = fmt.Sprintf("p%02d@1.0.0", i)
	}
	for _, c := range []struct {
		name  string
		added []string
		text  string // "" : no added line
	}{
		{"one", []string{"falco@4.2.6"}, "added: falco@4.2.6\n"},
		{"none", nil, ""},
		{"many", many, "added: p00@1.0.0, p01@1.0.0, p02@1.0.0, p03@1.0.0, p04@1.0.0, p05@1.0.0, p06@1.0.0, p07@1.0.0, p08@1.0.0, p09@1.0.0 and 2 more\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := &build.Result{Snapshot: build.Snapshot{Root: &index.Root{Expires: time.Now().Add(24 * time.Hour * 365)}}, Archived: len(c.added), Added: c.added}
			var out, errs bytes.Buffer
			g := &globalOptions{stdout: &out, stderr: &errs}
			if err := printBuild(g, &buildCmdOptions{}, res); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(out.String(), "added:"); got != (c.text != "") || c.text != "" && !strings.Contains(out.String(), c.text) {
				t.Errorf("text output:\n%s\nwant %q", out.String(), c.text)
			}
			out.Reset()
			if err := printBuild(g, &buildCmdOptions{output: "json"}, res); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Added []string `json:"added"`
			}
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Added == nil || len(doc.Added) != len(c.added) || !strings.Contains(out.String(), `"added": [`) {
				t.Errorf("-o json added = %v, want %v\n%s", doc.Added, c.added, out.String())
			}
		})
	}
}
