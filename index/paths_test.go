package index

import (
	"regexp"
	"strings"
	"testing"
)

// The hand-written checks say exactly what the regular expressions they
// replaced said.
var (
	versionPathRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$`)
	hexRE         = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func checkPathRules(t *testing.T, s string) {
	if got, want := ValidVersionPath(s), versionPathRE.MatchString(s) && !strings.Contains(s, ".."); got != want {
		t.Errorf("ValidVersionPath(%q) = %v, want %v", s, got, want)
	}
	if got, want := isHex64(s), hexRE.MatchString(s); got != want {
		t.Errorf("isHex64(%q) = %v, want %v", s, got, want)
	}
}

var pathRuleSeeds = []string{"", "1", "1.2.3", "v1.2.3", "0.30.0-5.5.2026", "1.0.0+build_7", ".1", "-1", "_1", "+1", "1..2", "1/2", "1 2", "1\n",
	"é", "1é", strings.Repeat("a", 128), strings.Repeat("a", 129), strings.Repeat("0", 64), strings.Repeat("f", 64), strings.Repeat("F", 64),
	strings.Repeat("0", 63), strings.Repeat("0", 65), strings.Repeat("0", 63) + "g", strings.Repeat("a", 63) + "\n"}

func TestPathRules(t *testing.T) {
	for _, s := range pathRuleSeeds {
		checkPathRules(t, s)
	}
}

func FuzzPathRules(f *testing.F) {
	for _, s := range pathRuleSeeds {
		f.Add(s)
	}
	f.Fuzz(checkPathRules)
}
