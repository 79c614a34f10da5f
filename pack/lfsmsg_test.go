package pack

import (
	"strings"
	"testing"
)

// TestLFSMessages: a Git LFS pointer in place of a logo or a chart says
// how to find the pattern that tracks it (any of .gitattributes', not
// the file's name, which untracking does nothing for) and names the
// file once (the problem's File already names it).
func TestLFSMessages(t *testing.T) {
	pointer := lfsPointer + "v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n"
	_, msg := logoProblem([]byte(pointer), 4096)
	if strings.HasPrefix(msg, "logo.png:") || strings.Count(msg, "logo.png") != 1 || !strings.Contains(msg, "`git check-attr filter -- logo.png`") || !strings.Contains(msg, "`git lfs track` lists") || strings.Contains(msg, "git lfs untrack logo.png") {
		t.Errorf("logo: %s", msg)
	}
	_, _, _, err := inspectChart(strings.NewReader(pointer))
	if err != errChartLFS {
		t.Fatalf("chart: %v, want errChartLFS", err)
	}
	if msg := lfsMsg("chart archive", "charts/app-1.0.0.tgz"); !strings.Contains(msg, "`git check-attr filter -- charts/app-1.0.0.tgz`") || strings.Contains(msg, "'*.tgz'") {
		t.Errorf("chart: %s", msg)
	}
}
