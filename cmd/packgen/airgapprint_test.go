package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/packgen/packgen/airgap"
)

// airgap import prints the image swap the platform needs; a bundle whose
// packs deploy no image has none, and says so rather than printing the
// swap's header over nothing. -o json is the same document either way.
func TestPrintAirgapImport(t *testing.T) {
	swap := []airgap.Mapping{{From: "docker.io", To: "air.example/palette"}}
	for _, c := range []struct {
		name     string
		mappings []airgap.Mapping
		quiet    bool
		want     string // stdout's last lines
		lacks    string
	}{
		{"images", swap, false, "image swap (original registry → air-gapped):\n  docker.io  air.example/palette\n", "no images"},
		{"no images", nil, false, "no images: the packs deploy none, so the platform needs no image swap\n", "image swap (original"},
		{"no images -q", nil, true, "no images: the packs deploy none, so the platform needs no image swap\n", "imported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			g := &globalOptions{stdout: &out, stderr: &bytes.Buffer{}, quiet: c.quiet}
			res := &airgap.ImportResult{Dest: "oci://air.example/palette", Packs: []airgap.ImportedPack{{Pack: "hello", Version: "0.1.0"}}, Mappings: c.mappings}
			if err := printAirgapImport(g, &jsonOutput{output: "text"}, "b.tar", res); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); !strings.HasSuffix(got, c.want) || strings.Contains(got, c.lacks) {
				t.Errorf("printed\n%s\nwant it to end with\n%s\nand lack %q", got, c.want, c.lacks)
			}
			// -o json: the document, mappings and all, as before.
			out.Reset()
			if err := printAirgapImport(g, &jsonOutput{output: "json"}, "b.tar", res); err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if _, ok := doc["mappings"]; !ok || strings.Contains(out.String(), "no images") {
				t.Errorf("-o json:\n%s", out.String())
			}
		})
	}
}
