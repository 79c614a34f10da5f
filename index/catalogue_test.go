package index

import (
	"errors"
	"strings"
	"testing"
)

func TestCatalogue(t *testing.T) {
	root := []byte(`{"schemaVersion":1}` + "\n")
	page := []byte("<html>")
	c := NewCatalogue(root, []FileRef{
		{Path: "packs/a/index.html", SHA256: Digest(page), Size: int64(len(page))},
		{Path: "index.html", SHA256: Digest(page), Size: int64(len(page))},
	})
	data, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCatalogue(data)
	if err != nil {
		t.Fatalf("a manifest NewCatalogue made does not parse: %v", err)
	}
	if got.Files[0].Path != "index.html" {
		t.Errorf("files not sorted: %+v", got.Files)
	}
	if f, ok := got.Find("packs/a/index.html"); !ok || f.Verify(page) != nil {
		t.Errorf("Find = %+v, %v", f, ok)
	}
	if _, ok := got.Find("packs/b/index.html"); ok {
		t.Error("Find found a file not listed")
	}
	if err := got.Of(root); err != nil {
		t.Errorf("Of(its own index.json) = %v", err)
	}
	if err := got.Of([]byte("{}\n")); !errors.Is(err, ErrCatalogueGeneration) {
		t.Errorf("Of(another index.json) = %v, want ErrCatalogueGeneration", err)
	}

	sum := Digest(page)
	for name, bad := range map[string]string{
		"registry file":   `{"files":[{"path":"index.json","sha256":"` + sum + `","size":1}],"index":{"path":"index.json","sha256":"` + sum + `","size":1},"schemaVersion":1}`,
		"unsorted":        `{"files":[{"path":"z","sha256":"` + sum + `","size":1},{"path":"a","sha256":"` + sum + `","size":1}],"index":{"path":"index.json","sha256":"` + sum + `","size":1},"schemaVersion":1}`,
		"twice":           `{"files":[{"path":"a","sha256":"` + sum + `","size":1},{"path":"a","sha256":"` + sum + `","size":1}],"index":{"path":"index.json","sha256":"` + sum + `","size":1},"schemaVersion":1}`,
		"the site itself": `{"files":[{"path":".","sha256":"` + sum + `","size":1}],"index":{"path":"index.json","sha256":"` + sum + `","size":1},"schemaVersion":1}`,
		"climbs out":      `{"files":[{"path":"../a","sha256":"` + sum + `","size":1}],"index":{"path":"index.json","sha256":"` + sum + `","size":1},"schemaVersion":1}`,
		"other index":     `{"files":[],"index":{"path":"packs/a/index.json","sha256":"` + sum + `","size":1},"schemaVersion":1}`,
		"unknown field":   `{"files":[],"index":{"path":"index.json","sha256":"` + sum + `","size":1},"schemaVersion":1,"x":1}`,
	} {
		if _, err := ParseCatalogue([]byte(bad)); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), CatalogueFile) {
			t.Errorf("%s: ParseCatalogue = %v, want ErrFormat naming %s", name, err, CatalogueFile)
		}
	}
}
