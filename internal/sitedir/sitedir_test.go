package sitedir

import (
	"context"
	"errors"
	"github.com/packgen/packgen/internal/siteassets"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// root is an index.json ParseRoot accepts.
const root = `{"bucketBits":1,"buckets":[{"path":"index/994db948deb1e8b341520645aa8a08203339c2efeca16ceacd909d2df9f66ad3.json","sha256":"994db948deb1e8b341520645aa8a08203339c2efeca16ceacd909d2df9f66ad3","size":353},{"path":"index/845e985e512b2f8bf1f3b74e16fd303847a9a3ed1f374eecb52356bc9aaa8b3f.json","sha256":"845e985e512b2f8bf1f3b74e16fd303847a9a3ed1f374eecb52356bc9aaa8b3f","size":31}],"expires":"2027-12-06T22:56:41Z","generatedAt":"2026-12-06T22:56:41Z","packs":1,"registry":"repo","releases":1,"schemaVersion":1,"serial":1796597801,"signed":false,"source":{"commit":"130ed6c374379602dc554a035b6c0ce8dd60f1f3","ref":"HEAD"}}`

func TestInspect(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string // "" content and a trailing / make a directory
		state   State
		foreign string // Foreign, joined by " "
		noIndex string // in NoIndex
		packs   string // Packs, relative
	}{
		{"missing", nil, Missing, "", "", ""},
		{"empty", map[string]string{}, Empty, "", "", ""},
		{"a site", map[string]string{"index.json": root, "index.json.sig": "s", "index/": "", "packs/": "", "signatures/": "", "log/": "", "assets/": "", "index.html": "", "catalog.json": "", "feed.xml": "", ".packgen-build.json": "{}"}, Site, "", "", ""},
		{"a site a killed update left", map[string]string{"index.json": root, "index.json.new": "x", "index.json.new.sig": "x", ".tmp-8123": "x"}, Site, "", "", ""},
		{"a thesis", map[string]string{"thesis.txt": "ch. 1"}, Other, "thesis.txt", "holds no index.json", ""},
		{"packs", map[string]string{"hello-1.0.0/pack.json": "{}", "wip-1.0.0/pack.json": "{}"}, Other, "hello-1.0.0/ wip-1.0.0/", "holds no index.json", "hello-1.0.0/pack.json"},
		{"one pack", map[string]string{"pack.json": "{}", "values.yaml": ""}, Other, "pack.json values.yaml", "holds no index.json", "pack.json"},
		{"a git dir", map[string]string{"HEAD": "ref: refs/heads/main", "objects/": "", "refs/": "", "config": ""}, Other, "HEAD config objects/ refs/", "holds no index.json", ""},
		{"a site and notes", map[string]string{"index.json": root, "notes.txt": "x"}, Other, "notes.txt", "", ""},
		{"a site and a dot file", map[string]string{"index.json": root, ".DS_Store": "x"}, Other, ".DS_Store", "", ""},
		{"site names, no index", map[string]string{"packs/": "", "index/": ""}, Other, "", "holds no index.json", ""},
		{"another index.json", map[string]string{"index.json": `{"a": 1}`}, Other, "", "is not a packgen registry index", ""},
		{"a directory named as a file", map[string]string{"index.json": root, "index.html/": ""}, Other, "index.html/", "", ""},
		{"a file named as a directory", map[string]string{"index.json": root, "packs": "x"}, Other, "packs", "", ""},
		{"index.json a directory", map[string]string{"index.json/": ""}, Other, "index.json/", "index.json", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if c.files != nil {
				must(t, os.Mkdir(dir, 0o755))
			}
			for name, data := range c.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if strings.HasSuffix(name, "/") {
					must(t, os.MkdirAll(p, 0o755))
					continue
				}
				must(t, os.MkdirAll(filepath.Dir(p), 0o755))
				must(t, os.WriteFile(p, []byte(data), 0o644))
			}
			r, err := Inspect(dir)
			must(t, err)
			if r.State != c.state || strings.Join(r.Foreign, " ") != c.foreign {
				t.Errorf("state %v, foreign %q; want %v, %q", r.State, r.Foreign, c.state, c.foreign)
			}
			if got := ""; r.NoIndex != nil {
				got = r.NoIndex.Error()
				if c.noIndex == "" || !strings.Contains(got, c.noIndex) {
					t.Errorf("NoIndex = %q, want %q", got, c.noIndex)
				}
			} else if c.noIndex != "" {
				t.Errorf("NoIndex = nil, want %q", c.noIndex)
			}
			if want := ""; c.packs != "" {
				want = filepath.Join(dir, filepath.FromSlash(c.packs))
				if r.Packs != want {
					t.Errorf("Packs = %q, want %q", r.Packs, want)
				}
			} else if r.Packs != "" {
				t.Errorf("Packs = %q, want none", r.Packs)
			}
			// The hint names dir as --out only where a build may write.
			hint := BuildHint(dir)
			if may := c.state == Missing || c.state == Empty; may != strings.Contains(hint, "--out "+dir+"`") {
				t.Errorf("BuildHint = %s", hint)
			}
			if c.packs != "" && !strings.Contains(hint, "--packs-dir "+filepath.ToSlash(dir)) {
				t.Errorf("BuildHint = %s, want --packs-dir", hint)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "f")
	must(t, os.WriteFile(file, nil, 0o644))
	if _, err := Inspect(file); !errors.Is(err, ErrNotSite) {
		t.Errorf("a file: %v", err)
	}
}

func TestOwned(t *testing.T) {
	for key, want := range map[string]bool{
		"index.json":                   true,
		"index.json.sig":               true,
		"index/abc.json":               true,
		"signatures/abc.sig":           true,
		"log/checkpoint":               true,
		"log/tile/8/0/000":             true,
		"log/tile/8/x/evil.html":       false, // no tile's name
		"packs/a/shards/abc.json":      true,
		"packs/a/index.json":           true,
		"packs/a/1.0.0/a-1.0.0.tar.gz": true,
		"packs/a/index.html":           true,
		"packs/a/logo.png":             true,
		"packs/a/feed.xml":             true,
		"assets/app.js":                true,
		"assets/style.css":             true,
		"assets/icon.svg":              true,
		"assets/catalog.js":            true,
		"assets/brand.css":             false, // a web root's own, beside the registry
		"assets/app.js/x":              false,
		"assets/fonts/a.woff2":         false,
		"assets":                       false,
		"index.html":                   true,
		"catalog.json":                 true,
		"feed.xml":                     true,
		"notes.txt":                    false,
		"registry.pub":                 false,
		"CNAME":                        false,
		"docs/x.md":                    false,
		"packs/a-1.0.0/pack.json":      false,
		"packs/a-1.0.0/values.yaml":    false,
		"packs/a-1.0.0/charts/x.tgz":   false,
		"packs/a/README.md":            false,
		"packs/a/1.0.0/notes.txt":      false,
		"index.json.bak":               false,
	} {
		if got := Owned(key); got != want {
			t.Errorf("Owned(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestInCatalogueDir(t *testing.T) {
	packs := map[string]bool{"alpha": true}
	for key, want := range map[string]bool{
		"assets/app.js":                            true,
		"assets/evil.js":                           true,
		"assets/fonts/a.woff2":                     true,
		"packs/alpha/index.html":                   true,
		"packs/alpha/evil.html":                    true,
		"packs/alpha/1.0.0/evil.html":              true,
		"packs/alpha/index.json":                   false, // the registry's
		"packs/alpha/shards/abc.json":              false,
		"packs/alpha/1.0.0/alpha-1.0.0.tar.gz":     false,
		"packs/alpha/1.0.0/alpha-1.0.0.tar.gz.sig": false,
		"packs/ghost/evil.html":                    false, // no pack the index lists
		"packs/evil.html":                          false,
		"login.html":                               false, // top level: not the catalogue's directory
		"CNAME":                                    false,
		"assets":                                   false,
		"docs/x.html":                              false,
		"log/tile/8/x/evil.html":                   true, // no tile's name (attackX F2)
		"log/evil.html":                            true,
		"log/tile/8/0/000":                         false, // the log's
		"log/tile/8/0/000.p/7":                     false,
		"log/checkpoint":                           false,
		"log/witness/witness.example":              false, // publish parses it (a witness's)
		"logs/evil.html":                           false,
	} {
		if got := InCatalogueDir(key, packs); got != want {
			t.Errorf("InCatalogueDir(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestPrunable(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	packs := map[string]bool{"a": true}
	for key, want := range map[string]bool{
		"index.json":                                  true,
		"index/" + sha + ".json":                      true,
		"signatures/" + sha + ".sig":                  true,
		"signatures/" + sha + ".sigstore.json":        true,
		"packs/a/shards/" + sha + ".json":             true,
		"packs/a/index.json":                          true,
		"packs/a/logo.png":                            true,
		"packs/a/1.0.0/a-1.0.0.tar.gz":                true,
		"assets/app.js":                               true,
		"assets/catalog.js":                           true,
		"assets/brand.css":                            false,
		"assets/img/logo.png":                         false,
		"log/tile/8/0/000":                            true,
		"notes.txt":                                   false,
		"index/abc.json":                              false,
		"index/" + sha + ".json/x":                    false,
		"signatures/abc.sig":                          false,
		"signatures/" + strings.ToUpper(sha) + ".sig": false,
		"packs/a/shards/abc.json":                     false,
		"packs/a-1.0.0/logo.png":                      false,
		"packs/a-1.0.0/index.html":                    false,
		"packs/b/feed.xml":                            false,
		"packs/b/shards/" + sha + ".json":             false,
		"packs/a-1.0.0/pack.json":                     false,
	} {
		if got := Prunable(key, packs); got != want {
			t.Errorf("Prunable(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestContentAddressed(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for key, want := range map[string]string{
		"index/" + sha + ".json":                      sha,
		"packs/a/shards/" + sha + ".json":             sha,
		"index/search.json":                           "",
		"index/" + sha + ".json/x":                    "",
		"index/" + strings.ToUpper(sha) + ".json":     "",
		"signatures/" + sha + ".sig":                  "", // named by the root's digest, not its own
		"log/tile/8/0/000":                            "",
		"packs/a/shards/abc.json":                     "",
		"packs/a/" + sha + ".json":                    "",
		"other/index/" + sha + ".json":                "",
		"packs/a/shards/" + sha + ".json.sigstore.js": "",
	} {
		got, ok := ContentAddressed(key)
		if got != want || ok != (want != "") {
			t.Errorf("ContentAddressed(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
}

func TestPackSource(t *testing.T) {
	for _, c := range []struct {
		keys []string
		want string
	}{
		{nil, ""},
		{[]string{"index.json", "packs/a/logo.png", "pack.jsonx", "packs/xpack.json"}, ""},
		{[]string{"pack.json"}, "pack.json"},
		{[]string{"z/pack.json", "packs/hello-0.1.0/pack.json", "index.json"}, "packs/hello-0.1.0/pack.json"},
	} {
		m := map[string]bool{}
		for _, k := range c.keys {
			m[k] = true
		}
		if got := PackSource(m); got != c.want {
			t.Errorf("PackSource(%v) = %q, want %q", c.keys, got, c.want)
		}
	}
}

// FuzzOwned: prune asks Owned and Prunable about every key a remote
// lists (outside input). They never panic, a key Owned owns lies in one
// of a site's top entries, and Prunable is only ever narrower.
func FuzzOwned(f *testing.F) {
	for _, s := range []string{"index.json", "packs/a/1.0.0/a-1.0.0.tar.gz", "packs/a/logo.png", "assets/x", "assets/style.css", "assets/brand.css", "notes.txt", "", "/", "packs//", "..", "log/witness/w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		// Prunable narrows Owned: never a key Owned refuses.
		if Prunable(key, map[string]bool{"a": true, "": true}) && !Owned(key) {
			t.Errorf("Prunable(%q) but not Owned", key)
		}
		if !Owned(key) {
			return
		}
		top, rest, deeper := strings.Cut(key, "/")
		if !Entry(top, deeper) {
			t.Errorf("Owned(%q), but its top %q (rest %q) is no site entry", key, top, rest)
		}
		// Under assets/ only the catalogue's own files: a web root
		// serving the registry keeps its brand.css through a prune.
		if top == "assets" && !siteassets.Owned(rest) {
			t.Errorf("Owned(%q), but the catalogue never writes assets/%s", key, rest)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWalk: every file of a site, links too, in order; no dot file or
// anything below a dot directory; a done context stops the walk.
func TestWalk(t *testing.T) {
	site := fstest.MapFS{
		"index.json":                   {},
		".packgen-build.json":          {},
		".packgen-tmp-1/index.json":    {},
		"packs/a/1.0.0/a-1.0.0.tar.gz": {},
		"packs/a/.index.html.swp":      {},
		"packs/a/latest":               {Mode: fs.ModeSymlink},
		"log":                          {Mode: fs.ModeDir}, // a directory: not a file
	}
	var got []string
	if err := Walk(context.Background(), site, func(p string, _ fs.DirEntry) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	if want := "index.json packs/a/1.0.0/a-1.0.0.tar.gz packs/a/latest"; strings.Join(got, " ") != want {
		t.Errorf("Walk = %q, want %q", got, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Walk(ctx, site, func(string, fs.DirEntry) { t.Error("a file after the context was done") }); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a done context = %v, want context.Canceled", err)
	}
}
