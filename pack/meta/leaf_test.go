package meta

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// The parsers of outside input that are fuzzed stay leaves: a fuzz test
// binary instruments every package it links, and linking pack (sprig,
// go-git) or profile (the client, sigstore) made index's and profile's
// targets several times slower (docs/PERFORMANCE.md, "Fuzzing speed").
// This fails when one of them, tests included, links anything else.
func TestFuzzedParsersAreLeaves(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to list imports with")
	}
	allowed := map[string]bool{
		"github.com/Masterminds/semver/v3":               true,
		"gopkg.in/yaml.v3":                               true,
		"golang.org/x/sys/unix":                          true, // internal/atomicfile
		"github.com/packgen/packgen/pack/meta":           true,
		"github.com/packgen/packgen/index":               true,
		"github.com/packgen/packgen/profile/spec":        true,
		"github.com/packgen/packgen/internal/safefile":   true,
		"github.com/packgen/packgen/internal/atomicfile": true,
		"github.com/packgen/packgen/images/ref":          true,
		"github.com/distribution/reference":              true, // images/ref
		"github.com/opencontainers/go-digest":            true, // distribution/reference
		"golang.org/x/mod/sumdb/tlog":                    true, // index.KindOf: a log tile's name (standard library only)
	}
	for _, pkg := range []string{"pack/meta", "index", "profile/spec", "images/ref"} {
		cmd := exec.Command(goTool, "list", "-deps", "-test", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./"+pkg)
		cmd.Dir = "../.."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		var extra []string
		for _, p := range strings.Fields(string(out)) {
			// The test variants: "X [X.test]" lists as two fields, and X.test.
			if strings.HasPrefix(p, "[") || strings.HasSuffix(p, ".test") || strings.HasSuffix(p, ".test]") {
				continue
			}
			if !allowed[p] {
				extra = append(extra, p)
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			t.Errorf("%s links %s: keep it a leaf (move what it needs into pack/meta or profile/spec)", pkg, strings.Join(extra, ", "))
		}
	}
}
