package site

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/factfile"
	"github.com/packgen/packgen/internal/sitedir"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

func writeSite(t testing.TB, packs []synthPack, o Options) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	root, shards := synth(t, dir, packs)
	if err := WriteOptions(dir, root, shards, o); err != nil {
		t.Fatal(err)
	}
	return dir, catalogueFiles(t, dir)
}

func diffFiles(t *testing.T, what string, a, b map[string]string) {
	t.Helper()
	for k, v := range a {
		if w, ok := b[k]; !ok {
			t.Errorf("%s: %s missing", what, k)
		} else if v != w {
			t.Errorf("%s: %s differs", what, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("%s: unexpected %s", what, k)
		}
	}
}

func TestDeterministic(t *testing.T) {
	packs := manyPacks(40, 3)
	_, a := writeSite(t, packs, Options{Jobs: 1})
	_, b := writeSite(t, packs, Options{Jobs: 8})
	diffFiles(t, "two writes", a, b)
	if len(a) < 40+4 {
		t.Fatalf("only %d files", len(a))
	}
}

func TestReuse(t *testing.T) {
	// split's latest view compares files and images (image: names), and
	// its Images section lists what its templated manifest renders.
	packs := append(manyPacks(12, 2), splitPack("1.0.0", "1.1.0"))
	cache := t.TempDir()
	prev, first := writeSite(t, packs, Options{Cache: cache})
	if !strings.Contains(first["packs/split/index.html"], `<strong>Images</strong> <span class="chg add">+ <code>docker.io/library/busybox:2</code>`) {
		t.Fatal("split's latest view compares no images")
	}

	// Unchanged: the pages come from the previous build, so the archives
	// are not even read (remove them to prove it), and the bytes match.
	dir := t.TempDir()
	root, shards := synth(t, dir, packs)
	if err := os.RemoveAll(filepath.Join(dir, "packs")); err != nil {
		t.Fatal(err)
	}
	var st Stats
	if err := WriteOptions(dir, root, shards, Options{Previous: prev, Cache: cache, Stats: &st}); err != nil {
		t.Fatalf("reuse read an archive: %v", err)
	}
	diffFiles(t, "reused", first, catalogueFiles(t, dir))
	if st.Reused != len(packs) || st.Rendered != 0 {
		t.Errorf("reused %d, rendered %d; want all %d reused", st.Reused, st.Rendered, len(packs))
	}

	// Changes: a new version of two packs (split's new latest view
	// compares files and images again), a removed dependency target, a
	// new registry name for everything — reuse, with the previous
	// build's image cache, must equal a first build of the same commit.
	changed := append(manyPacks(12, 2), splitPack("1.0.0", "1.1.0", "1.2.0"))
	changed[4].versions = append(changed[4].versions, "2.0.0")
	changed[4].files["README.md"] = []byte("# New readme\n")
	// A new logo; and retired.yaml deprecates a release: its shard
	// changes, its archives do not.
	changed[0].files["logo.png"] = encodePNG(t, image.NewGray(image.Rect(0, 0, 2, 2)))
	changed[6].release = func(r *index.Release) {
		if r.Version == "1.1.0" {
			r.Retired = &index.Retirement{State: index.StateDeprecated, Reason: "CVE-2026-9999"}
		}
	}
	changed = append(changed[:2], changed[3:]...) // pack-00003 depends on pack-00002
	_, fresh := writeSite(t, changed, Options{})
	_, reused := writeSite(t, changed, Options{Previous: prev, Cache: cache})
	diffFiles(t, "after changes", fresh, reused)
	for _, w := range []string{`<strong>Files</strong> <span class="chg add">+ <code>NOTES.md (1 line)</code></span>`,
		`<span class="chg add">+ <code>docker.io/library/busybox:3</code></span> <span class="chg del">− <code>docker.io/library/busybox:2</code></span>`} {
		if !strings.Contains(reused["packs/split/index.html"], w) {
			t.Errorf("split's new latest view lacks %s", w)
		}
	}
	if !strings.Contains(reused["packs/pack-00004/index.html"], "New readme") {
		t.Error("changed pack was reused")
	}
	if strings.Contains(reused["packs/pack-00003/index.html"], `href="../pack-00002/`) {
		t.Error("link to a removed pack kept")
	}

	// In place (the previous site is the target): same result as fresh.
	// A page planted there (attackS F1: an inline script, the reuse key
	// kept) is rendered again, not kept.
	inPlace, _ := writeSite(t, packs, Options{Cache: cache})
	planted := filepath.Join(inPlace, "packs", "pack-00005", "index.html")
	evil := bytes.Replace(testutil.ReadFile(t, planted), []byte("<body>"), []byte("<body><script>alert(1)</script>"), 1)
	testutil.Must(t, os.WriteFile(planted, evil, 0o644))
	root2, shards2 := synth(t, inPlace, changed)
	if err := WriteOptions(inPlace, root2, shards2, Options{Previous: inPlace, Cache: cache}); err != nil {
		t.Fatal(err)
	}
	got := catalogueFiles(t, inPlace)
	delete(got, "packs/pack-00002/index.html") // left over: removing packs is the build's job
	delete(got, "packs/pack-00002/feed.xml")
	diffFiles(t, "in place", fresh, got)

	// In place again, each file described by its stat at once (as the
	// racy window will once it has passed): the first build remembers
	// the stats of the files it read, the next keeps every page, feed
	// and logo on a stat, unread. A page changed in place since (same
	// inode, same size) is read, refused and rendered again (attackS F1).
	old := factfile.RacyWindow
	factfile.RacyWindow = 0
	t.Cleanup(func() { factfile.RacyWindow = old })
	for i, want := range []int{0, len(changed)} {
		var st Stats
		testutil.Must(t, WriteOptions(inPlace, root2, shards2, Options{Previous: inPlace, Cache: cache, Stats: &st}))
		if st.Unread != want || st.Reused != len(changed) {
			t.Errorf("in place, build %d: %d of %d pages reused, %d unread; want all reused, %d unread", i, st.Reused, len(changed), st.Unread, want)
		}
	}
	time.Sleep(20 * time.Millisecond) // a later clock tick than the builds'
	f, err := os.OpenFile(planted, os.O_RDWR, 0)
	testutil.Must(t, err)
	script := []byte("<script>alert(1)</script>")
	fi, err := f.Stat()
	testutil.Must(t, err)
	_, err = f.WriteAt(script, fi.Size()-int64(len(script))-64)
	testutil.Must(t, err)
	testutil.Must(t, f.Close())
	st = Stats{}
	testutil.Must(t, WriteOptions(inPlace, root2, shards2, Options{Previous: inPlace, Cache: cache, Stats: &st}))
	if st.Rendered != 1 || st.Unread != len(changed)-1 {
		t.Errorf("a page changed in place after its stat was remembered: %d rendered, %d unread; want 1 and %d", st.Rendered, st.Unread, len(changed)-1)
	}
	got = catalogueFiles(t, inPlace)
	delete(got, "packs/pack-00002/index.html")
	delete(got, "packs/pack-00002/feed.xml")
	diffFiles(t, "in place, a page changed after its stat was remembered", fresh, got)

	// attackV F1: an older generation's genuine feed or logo put back
	// beside a newer page (pack-00006's feed of the first build, before
	// the deprecation, and pack-00000's old logo, which this machine
	// wrote there: the facts vouch for their bytes) is not kept with that
	// page, found by a read or by a stat (a stat fact of any generation:
	// injected here, as no writer can set a ctime back), nor read into
	// the registry's feed: the page names its own feed's and logo's digest.
	const staleRel, staleLogo = "packs/pack-00006/feed.xml", "packs/pack-00000/logo.png"
	if strings.Contains(first[staleRel], "deprecated") || !strings.Contains(fresh[staleRel], "deprecated") ||
		!strings.Contains(fresh[FeedFile], "pack-00006@1.1.0: Add-on (logging), deprecated.") || first[staleLogo] == fresh[staleLogo] {
		t.Fatal("pack-00006's deprecation is not in the new feeds alone, or pack-00000's logo did not change")
	}
	staleFeed := filepath.Join(inPlace, filepath.FromSlash(staleRel))
	for _, byStat := range []bool{false, true} {
		for _, rel := range []string{staleRel, staleLogo} {
			p := filepath.Join(inPlace, filepath.FromSlash(rel))
			testutil.Must(t, os.WriteFile(p, []byte(first[rel]), 0o644))
			if byStat {
				fi, err := os.Lstat(p)
				testutil.Must(t, err)
				factfile.Append(filepath.Join(cache, fileFactsName), []string{"stat " + rel + " " + factfile.State(fi) + " " + index.Digest([]byte(first[rel]))}, maxFileFacts, 0o644)
			}
		}
		st = Stats{}
		testutil.Must(t, WriteOptions(inPlace, root2, shards2, Options{Previous: inPlace, Cache: cache, Stats: &st}))
		// By stat, every other pack is kept unread (pack-00005's page,
		// rendered above, was read the first time).
		if st.Rendered != 2 || st.Reused != len(changed)-2 || byStat && st.Unread != len(changed)-2 {
			t.Errorf("a stale feed and logo put back (found by stat %t): %d rendered, %d reused, %d unread; want 2, %d and %d", byStat, st.Rendered, st.Reused, st.Unread, len(changed)-2, len(changed)-2)
		}
		got = catalogueFiles(t, inPlace)
		delete(got, "packs/pack-00002/index.html")
		delete(got, "packs/pack-00002/feed.xml")
		diffFiles(t, fmt.Sprintf("in place, a stale feed and logo put back (found by stat %t)", byStat), fresh, got)
	}
	// Put back after the check, it is not read into the registry's feed.
	out, err := os.OpenRoot(inPlace)
	testutil.Must(t, err)
	defer out.Close()
	g := &gen{dir: inPlace, out: out}
	if _, err := g.readPackFeed("pack-00006", index.Digest([]byte(fresh[staleRel]))); err != nil {
		t.Fatal(err)
	}
	testutil.Must(t, os.WriteFile(staleFeed, []byte(first[staleRel]), 0o644))
	if _, err := g.readPackFeed("pack-00006", index.Digest([]byte(fresh[staleRel]))); !errors.Is(err, ErrNotWritten) {
		t.Errorf("a pack feed changed after its check, read into the registry's feed: %v", err)
	}

	// A logo the old page relied on has gone: re-read, not a broken page.
	if err := os.Remove(filepath.Join(prev, "packs/pack-00000/logo.png")); err != nil {
		t.Fatal(err)
	}
	_, again := writeSite(t, packs, Options{Previous: prev, Cache: cache})
	diffFiles(t, "logo gone", first, again)
}

func TestEscaping(t *testing.T) {
	evil := synthPack{
		name: "evil", layer: "addon", addonType: `"><script>alert(1)</script>`,
		display:  `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`,
		clouds:   []string{`<b>aws</b>`},
		versions: []string{"1.0.0"},
		deps:     []string{"x<script>"},
		files: map[string][]byte{
			"README.md": []byte("# Hi <script>window.__xss=3</script>\n\n<img src=x onerror=alert(1)>\n\n" +
				"[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](data:text/html,<script>alert(1)</script>) <javascript:alert(2)> " +
				"![i](https://example.com/i.png) [ok](https://example.com/) [rel](docs/x.md) [frag](#top)\n\n" +
				"<a href=\"javascript:alert(3)\">raw</a>\n\n| a |\n|:-:|\n| b |\n"),
			"values.yaml": []byte("# </code></pre><script>alert(1)</script>\nk: \"<img src=x onerror=alert(1)>\"\n"),
		},
	}
	_, files := writeSite(t, []synthPack{evil}, Options{})
	page := files["packs/evil/index.html"]
	index := files["index.html"]
	for name, html := range map[string]string{"page": page, "index": index} {
		if strings.Contains(strings.ToLower(html), "<script>") {
			t.Errorf("%s has an inline <script>", name)
		}
		for _, bad := range []string{"<img src=x", "onerror=", "javascript:", "data:text", "<b>", `href="docs/x.md"`, "style="} {
			if strings.Contains(strings.ToLower(html), strings.ToLower(bad)) && !escapedOnly(html, bad) {
				t.Errorf("%s contains %q unescaped", name, bad)
			}
		}
	}
	for _, want := range []string{
		`&lt;script&gt;window.__xss=1&lt;/script&gt;`,
		`<a href="https://example.com/" rel="nofollow noopener noreferrer">ok</a>`,
		`<a href="https://example.com/i.png" rel="nofollow noopener noreferrer">i</a>`,
		`<a href="#top"`,
		`<h3>Hi <!-- raw HTML omitted -->`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	js := files[CatalogJS]
	if strings.ContainsAny(strings.TrimPrefix(js, "// Generated by packgen build; the same data as catalog.json.\n"), "<>") {
		t.Error("catalog.js has raw < or >")
	}
}

// escapedOnly reports whether every occurrence of s in html is inside
// escaped text (i.e. the raw form appears only after &lt; or in text).
func escapedOnly(html, s string) bool {
	// Tags can only start with a raw '<'; attribute text like onerror= is
	// harmless when not inside a tag.
	re := regexp.MustCompile(`<[^>]*` + regexp.QuoteMeta(strings.ToLower(s)))
	return !re.MatchString(strings.ToLower(html))
}

func TestLogos(t *testing.T) {
	packs := []synthPack{
		{name: "with-logo", layer: "os", versions: []string{"1.0.0"}, files: map[string][]byte{"logo.png": tinyPNG}},
		{name: "no-logo", display: "No Logo Here", layer: "os", versions: []string{"1.0.0"}},
		{name: "fake-logo", layer: "os", versions: []string{"1.0.0"}, files: map[string][]byte{"logo.png": []byte("<svg onload=alert(1)>")}},
		{name: "big-logo", layer: "os", versions: []string{"1.0.0"}, files: map[string][]byte{"logo.png": append(append([]byte{}, pngMagic...), make([]byte, maxLogo)...)}},
	}
	dir, files := writeSite(t, packs, Options{})
	if files["packs/with-logo/logo.png"] != string(tinyPNG) {
		t.Error("logo not copied")
	}
	if !strings.Contains(files["index.html"], `src="packs/with-logo/logo.png"`) {
		t.Error("index does not show the logo")
	}
	for _, n := range []string{"no-logo", "fake-logo", "big-logo"} {
		if _, err := os.Stat(filepath.Join(dir, "packs", n, "logo.png")); err == nil {
			t.Errorf("%s: logo.png written", n)
		}
		if !regexp.MustCompile(`<span class="logo ph ph\d" aria-hidden="true">`).MatchString(files["packs/"+n+"/index.html"]) {
			t.Errorf("%s: no placeholder", n)
		}
	}
	if !strings.Contains(files["packs/no-logo/index.html"], `aria-hidden="true">NL</span>`) {
		t.Error("placeholder initials")
	}
	if !strings.Contains(files["packs/fake-logo/index.html"], "not a PNG") || !strings.Contains(files["packs/big-logo/index.html"], "larger than 2 MiB") {
		t.Error("logo notices missing")
	}
	// What the catalogue writes is what sitedir says a site holds: a
	// build refuses an out dir holding anything else, and prune deletes
	// nothing else.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !sitedir.Entry(e.Name(), e.IsDir()) {
			t.Errorf("the catalogue wrote %s at the top, which sitedir.Entry does not know", e.Name())
		}
	}
	for f := range files {
		if !sitedir.Owned(f) {
			t.Errorf("the catalogue wrote %s, which sitedir.Owned does not know", f)
		}
	}
}

func TestLimits(t *testing.T) {
	big := bytes.Repeat([]byte("a: b\n"), maxReadme/5+1)
	p := synthPack{name: "big", layer: "os", versions: []string{"1.0.0"}, files: map[string][]byte{"README.md": big, "values.yaml": big}}
	_, files := writeSite(t, []synthPack{p}, Options{})
	page := files["packs/big/index.html"]
	if !strings.Contains(page, "README.md is larger than 1 MiB") || !strings.Contains(page, "values.yaml is larger than 1 MiB") {
		t.Error("no notice for oversized files")
	}
	if len(page) > 64<<10 {
		t.Errorf("page is %d bytes", len(page))
	}
}

// TestMarkdownBounds: shapes that make Markdown parsers quadratic are shown
// as escaped text instead of rendered.
func TestMarkdownBounds(t *testing.T) {
	for name, src := range map[string]string{
		"links":   strings.Repeat("[a](", 3000),
		"lists":   strings.Repeat("- ", 20000) + "<script>x</script>",
		"quotes":  strings.Repeat("> ", 20000),
		"ordered": strings.Repeat("1. ", 20000),
		"indent": func() string {
			var b strings.Builder
			for i := 0; i < 200; i++ {
				b.WriteString(strings.Repeat("  ", i) + "- a\n")
			}
			return b.String()
		}(),
		"large": strings.Repeat("a ", maxMarkdown/2+1),
	} {
		if markdownTame([]byte(src)) {
			t.Errorf("%s: rendered as Markdown", name)
		}
	}
	for _, src := range []string{"# Title\n\n- a\n  - b\n    - c\n\n> quote\n\n1. x\n2. y\n", strings.Repeat("[link](https://example.com) ", 500)} {
		if !markdownTame([]byte(src)) {
			t.Errorf("%.30q: not rendered", src)
		}
	}
	p := synthPack{name: "nested", layer: "os", versions: []string{"1.0.0"}, files: map[string][]byte{"README.md": []byte(strings.Repeat("- ", 20000) + "<script>x</script>")}}
	_, files := writeSite(t, []synthPack{p}, Options{})
	page := files["packs/nested/index.html"]
	if !strings.Contains(page, "shown as plain text") || !strings.Contains(page, "- - - &lt;script&gt;") && !strings.Contains(page, "- &lt;script&gt;x&lt;/script&gt;") {
		t.Error("plain README not shown escaped")
	}
}

func TestCommitLinks(t *testing.T) {
	sha := "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct{ repo, want string }{
		{"https://github.com/o/r", "https://github.com/o/r/commit/" + sha},
		{"https://github.com/o/r.git", "https://github.com/o/r/commit/" + sha},
		{"git@github.com:o/r.git", "https://github.com/o/r/commit/" + sha},
		{"ssh://git@github.com/o/r.git", "https://github.com/o/r/commit/" + sha},
		{"https://GitHub.com/o/r/", "https://github.com/o/r/commit/" + sha},
		{"https://gitlab.com/g/sub/r.git", "https://gitlab.com/g/sub/r/-/commit/" + sha},
		{"git@gitlab.com:g/r.git", "https://gitlab.com/g/r/-/commit/" + sha},
		{"https://bitbucket.org/o/r", "https://bitbucket.org/o/r/commits/" + sha},
		{"git@bitbucket.org:o/r.git", "https://bitbucket.org/o/r/commits/" + sha},
		{"https://git.example.com/o/r", ""},
		{"/srv/git/packs", ""},
		{"", ""},
		{"javascript:alert(1)//github.com/o/r", ""},
		{"https://github.com/o/r/extra", ""},
		{"https://github.com/o/\"><script>", ""},
		{"https://github.com/../r", ""},
		{"file:///github.com/o/r", ""},
	} {
		if got := parseRepo(c.repo).commitURL(sha); got != c.want {
			t.Errorf("%q: got %q, want %q", c.repo, got, c.want)
		}
	}
	if got := parseRepo("https://github.com/o/r").commitURL("not-a-sha"); got != "" {
		t.Errorf("bad sha linked: %q", got)
	}
	for _, c := range []struct{ raw, url string }{
		{"git@github.com:o/r.git", "https://github.com/o/r"},
		{"https://git.example.com/o/r", "https://git.example.com/o/r"},
		{"javascript:alert(1)", ""},
		{"https://user:pw@git.example.com/r", ""},
		{"https://ghp_secret@github.com/o/r.git", "https://github.com/o/r"},
		{"/srv/git", ""},
	} {
		ref := repoRefOf(c.raw)
		if ref.URL != c.url {
			t.Errorf("repoRefOf(%q) = %q, want %q", c.raw, ref.URL, c.url)
		}
		if strings.Contains(ref.Text, "pw") || strings.Contains(ref.Text, "secret") {
			t.Errorf("repoRefOf(%q) shows credentials: %q", c.raw, ref.Text)
		}
	}
	// A build from a local checkout must not publish the builder's path.
	for _, raw := range []string{"/srv/git/packs", "/tmp/TestBuild123/repo", "file:///home/me/packs", "../packs", `C:\\src\\packs`, "packs"} {
		if ref := repoRefOf(raw); ref != (repoRef{}) {
			t.Errorf("repoRefOf(%q) = %+v, want nothing shown", raw, ref)
		}
	}
	root := &index.Root{Registry: "r", Source: index.Source{Repo: "/tmp/secret-place/repo", Commit: "0123456789abcdef0123456789abcdef01234567"}}
	dir := t.TempDir()
	if err := Write(dir, root, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{IndexFile, CatalogJSON} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); bytes.Contains(b, []byte("secret-place")) {
			t.Errorf("%s shows the local path of the source repository", f)
		}
	}
}

func TestCatalogJSON(t *testing.T) {
	_, files := writeSite(t, manyPacks(9, 2), Options{})
	var c Catalog
	if err := json.Unmarshal([]byte(files[CatalogJSON]), &c); err != nil {
		t.Fatal(err)
	}
	if c.Registry != "synthetic" || len(c.Packs) != 9 || c.SchemaVersion != 1 {
		t.Fatalf("catalog: %+v", c)
	}
	p := c.Packs[0]
	if p.Name != "pack-00000" || p.Latest != "1.2.0" || len(p.Versions) != 2 || p.Page != "packs/pack-00000/index.html" || p.Logo != "packs/pack-00000/logo.png" || p.Group != "Operating systems" {
		t.Errorf("entry: %+v", p)
	}
	if c.Packs[1].Logo != "" || c.Packs[4].Group != "Add-ons: storage" {
		t.Errorf("entries: %+v %+v", c.Packs[1], c.Packs[4])
	}
	js := files[CatalogJS]
	i := strings.Index(js, "window.packgenCatalog = ")
	if i < 0 || !strings.HasSuffix(js, ";\n") {
		t.Fatalf("catalog.js: %.80q", js)
	}
	var c2 Catalog
	if err := json.Unmarshal([]byte(strings.TrimSuffix(js[i+len("window.packgenCatalog = "):], ";\n")), &c2); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(c2)
	if !bytes.Equal(a, b) {
		t.Error("catalog.js and catalog.json differ")
	}
}

func TestGroupsAndLinks(t *testing.T) {
	_, files := writeSite(t, manyPacks(16, 1), Options{})
	idx := files["index.html"]
	var order []string
	for _, m := range regexp.MustCompile(`<h2 id="[^"]+">([^<]+) <span`).FindAllStringSubmatch(idx, -1) {
		order = append(order, m[1])
	}
	want := []string{"Operating systems", "Kubernetes", "Networking (CNI)", "Storage (CSI)", "Add-ons: ingress", "Add-ons: logging", "Add-ons: monitoring", "Add-ons: security", "Add-ons: storage"}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Errorf("groups %q", order)
	}
	// Relative links only.
	for name, html := range files {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		for _, m := range regexp.MustCompile(`(?:href|src)="([^"]*)"`).FindAllStringSubmatch(html, -1) {
			u := m[1]
			if strings.HasPrefix(u, "/") || (strings.Contains(u, "://") && !strings.HasPrefix(u, "https://")) {
				t.Errorf("%s: link %q", name, u)
			}
		}
		if !strings.Contains(html, `http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;self&#39;`) {
			t.Errorf("%s: no CSP", name)
		}
	}
	page := files["packs/pack-00006/index.html"]
	if !strings.Contains(page, `<a href="../pack-00005/index.html">pack-00005</a>`) {
		t.Error("dependency not linked")
	}
	if !strings.Contains(page, `href="https://github.com/example/packs/commit/0000000000000000000000000000000000000001"`) {
		t.Error("commit not linked")
	}
	if !strings.Contains(page, `<code id="fetch-cmd" class="lang-shell">packgen fetch pack-00006@1.1.0</code>`) {
		t.Error("fetch snippet")
	}
}

func TestHighlightYAML(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a: 1", `<span class="yk">a</span><span class="yp">:</span> <span class="yn">1</span>`},
		{"# c <b>", `<span class="yc"># c &lt;b&gt;</span>`},
		{"k: \"v # x\" # real", `<span class="yk">k</span><span class="yp">:</span> <span class="ys">&#34;v # x&#34;</span> <span class="yc"># real</span>`},
		{"- on: true", `<span class="yp">- </span><span class="yk">on</span><span class="yp">:</span> <span class="yb">true</span>`},
		{"s: |\n  <x>: 1\nn: ~", `<span class="yk">s</span><span class="yp">:</span> <span class="yp">|</span>` + "\n" + `<span class="ys">  &lt;x&gt;: 1</span>` + "\n" + `<span class="yk">n</span><span class="yp">:</span> <span class="yb">~</span>`},
	} {
		if got := string(highlightYAML([]byte(c.in))); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestEmptyRegistry(t *testing.T) {
	_, files := writeSite(t, nil, Options{})
	if !strings.Contains(files["index.html"], "no packs yet") || !strings.Contains(files[CatalogJSON], `"packs": []`) {
		t.Error("empty registry")
	}
}

// FuzzRender checks that hostile README and values text never yields a
// tag or attribute that could run script.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"# x", "<script>alert(1)</script>", "[a](javascript:alert(1))", "<javascript:x>", "![x](data:image/png;base64,AAAA)", "a: '<b>'", "<img src=x onerror=1>", "[x]: javascript:1\n[y][x]"} {
		f.Add(s)
	}
	tag := regexp.MustCompile(`<[^>]*>?`)
	bad := regexp.MustCompile(`(?i)^<(?:script|img|iframe|svg|style|object|embed|form)|\son[a-z]+\s*=|(?:href|src)="\s*(?:javascript|data|vbscript|file):|style=`)
	// The one input allowed is the disabled checkbox of a task list item.
	input := regexp.MustCompile(`(?i)^<input\b`)
	checkbox := regexp.MustCompile(`^<input (?:checked="" )?disabled="" type="checkbox">$`)
	spans := regexp.MustCompile(`<span class="y[a-z]">|</span>`)
	f.Fuzz(func(t *testing.T, s string) {
		if !markdownTame([]byte(s)) {
			return // shown as escaped text, as renderPack does
		}
		h, err := renderMarkdown([]byte(s))
		if err != nil {
			return
		}
		for _, m := range tag.FindAllString(string(h), -1) {
			if bad.MatchString(m) || input.MatchString(m) && !checkbox.MatchString(m) {
				t.Fatalf("markdown %q rendered %q", s, h)
			}
		}
		if y := spans.ReplaceAllString(string(highlightYAML([]byte(s))), ""); strings.Contains(y, "<") {
			t.Fatalf("yaml %q rendered %q", s, y)
		}
	})
}

func TestArchiveErrors(t *testing.T) {
	dir := t.TempDir()
	root, shards := synth(t, dir, []synthPack{{name: "broken", layer: "os", versions: []string{"1.0.0"}}})
	a := filepath.Join(dir, filepath.FromSlash(shards[0].Releases[0].Archive.Path))
	if err := os.WriteFile(a, []byte("this is not a gzip stream at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(dir, root, shards)
	if err == nil || !strings.Contains(err.Error(), "pack broken@1.0.0") || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("corrupt archive: %v", err)
	}
	os.Remove(a)
	err = Write(dir, root, shards)
	if err == nil || !strings.Contains(err.Error(), "pack broken@1.0.0: open release archive") {
		t.Errorf("missing archive: %v", err)
	}
	// Another pack's archive under this one's name.
	writeTGZ(t, a, "other", map[string][]byte{"pack.json": []byte(`{"name":"other"}`)})
	if err := Write(dir, root, shards); err == nil || !strings.Contains(err.Error(), `pack broken@1.0.0: read packs/broken/1.0.0/broken-1.0.0.tar.gz: unsafe path in archive: the archive's top directory is "other", not "broken"`) {
		t.Errorf("archive of another pack: %v", err)
	}
	shards[0].Releases[0].Archive.Path = "packs/other/1.0.0/x.tar.gz"
	if err := Write(dir, root, shards); err == nil || !strings.Contains(err.Error(), "is not under packs/broken/") {
		t.Errorf("foreign archive path: %v", err)
	}
}

// TestArchiveEntries: only regular files at the pack's top level count;
// links and look-alikes elsewhere are ignored.
func TestArchiveEntries(t *testing.T) {
	dir := t.TempDir()
	root, shards := synth(t, dir, []synthPack{{name: "odd", layer: "os", versions: []string{"1.0.0"}, files: map[string][]byte{
		"sub/README.md":   []byte("# nested readme"),
		"charts/logo.png": tinyPNG,
		"values.yaml":     []byte("a: 1\n"),
	}}})
	if err := Write(dir, root, shards); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "packs/odd/index.html"))
	if strings.Contains(string(page), "nested readme") || strings.Contains(string(page), "logo.png") {
		t.Error("files below the top level used")
	}
	if !strings.Contains(string(page), `<span class="yk">a</span>`) {
		t.Error("values.yaml not shown")
	}
}

// TestSystemState: a deprecated release is badged with a note; a deleted
// one is marked on its page and not listed; a pack whose every release is
// deleted keeps its page but leaves the index and catalog.json.
func TestSystemState(t *testing.T) {
	packs := []synthPack{
		{name: "old", layer: "addon", addonType: "monitoring", versions: []string{"1.0.0", "1.1.0"}, state: map[string]string{"1.1.0": "deprecated"}},
		{name: "yanked", layer: "addon", addonType: "monitoring", versions: []string{"1.0.0", "2.0.0"}, state: map[string]string{"2.0.0": "Deleted"}},
		{name: "gone", layer: "addon", addonType: "monitoring", versions: []string{"1.0.0"}, state: map[string]string{"1.0.0": "deleted"}},
		// Retired by the repository's retired.yaml: the reason is shown
		// (escaped: it is the repository's text).
		{name: "retired", layer: "addon", addonType: "monitoring", versions: []string{"1.0.0", "1.1.0"}, release: func(r *index.Release) {
			r.Retired = &index.Retirement{State: index.StateDeprecated, Reason: "CVE-2026-1 <b>"}
		}},
	}
	_, files := writeSite(t, packs, Options{})
	retired := files["packs/retired/index.html"]
	if !strings.Contains(retired, `<span class="tag warn">deprecated</span><br><span class="reason">CVE-2026-1 &lt;b&gt;</span>`) ||
		!strings.Contains(retired, "Version 1.1.0 is marked deprecated (retired: CVE-2026-1 &lt;b&gt;)") {
		t.Error("retired release: no reason in its row or note")
	}
	old := files["packs/old/index.html"]
	if !strings.Contains(old, `<span class="tag warn">deprecated</span>`) || !strings.Contains(old, "Version 1.1.0 is marked deprecated") {
		t.Error("deprecated release: no badge or note")
	}
	yanked := files["packs/yanked/index.html"]
	if !strings.Contains(yanked, `class="deleted"`) || !strings.Contains(yanked, `<span class="tag bad">deleted</span>`) || !strings.Contains(yanked, "latest <span class=\"ver\">1.0.0</span>") {
		t.Error("deleted release not marked, or chosen as latest")
	}
	gone := files["packs/gone/index.html"]
	if !strings.Contains(gone, "Every version of this pack is marked deleted") {
		t.Error("deleted pack's page not marked")
	}
	// Nor does it tag the deleted release latest or offer it to fetch
	// (attackS F3): the hero says no release is live.
	if strings.Contains(gone, `<span class="tag ok">latest</span>`) || strings.Contains(gone, `class="latest"`) || strings.Contains(gone, `id="fetch-cmd"`) ||
		strings.Contains(gone, "packgen fetch gone@") || !strings.Contains(gone, `no live release (newest: <span class="ver">1.0.0</span>, deleted)`) {
		t.Error("a pack with no live release: its deleted release is tagged latest or offered to fetch")
	}
	idx := files["index.html"]
	if strings.Contains(idx, `id="pack-gone"`) || !strings.Contains(idx, `id="pack-yanked"`) || !strings.Contains(idx, "3 packs, 5 releases") {
		t.Errorf("index lists deleted packs or releases")
	}
	if !regexp.MustCompile(`id="pack-old"[\s\S]*?<span class="tag warn">deprecated</span>`).MatchString(idx) {
		t.Error("index card of a deprecated pack has no badge")
	}
	var c Catalog
	if err := json.Unmarshal([]byte(files[CatalogJSON]), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Packs) != 3 || c.Packs[2].Name != "yanked" || strings.Join(c.Packs[2].Versions, ",") != "1.0.0" {
		t.Errorf("catalog.json: %+v", c.Packs)
	}
}

// TestPublished: each version shows the date its release was created (the
// commit it first appeared in), not one date for all.
func TestPublished(t *testing.T) {
	_, files := writeSite(t, manyPacks(1, 3), Options{})
	page := files["packs/pack-00000/index.html"]
	for _, d := range []string{"2024-01-01", "2024-01-02", "2024-01-03"} {
		if !strings.Contains(page, "<td>"+d+"</td>") {
			t.Errorf("no row published %s", d)
		}
	}
}

// TestAddonTypeGroups: spellings of one add-on type share a group.
func TestAddonTypeGroups(t *testing.T) {
	var packs []synthPack
	for i, typ := range []string{"app services", "app-services", "App_Services ", "app  services", "monitoring"} {
		packs = append(packs, synthPack{name: fmt.Sprintf("p%d", i), layer: "addon", addonType: typ, versions: []string{"1.0.0"}})
	}
	_, files := writeSite(t, packs, Options{})
	var groups []string
	for _, m := range regexp.MustCompile(`<h2 id="[^"]+">([^<]+) <span class="n">(\d+)`).FindAllStringSubmatch(files["index.html"], -1) {
		groups = append(groups, m[1]+"="+m[2])
	}
	if strings.Join(groups, "|") != "Add-ons: app services=4|Add-ons: monitoring=1" {
		t.Errorf("groups %q", groups)
	}
}

func TestAdmonitions(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{":::tip\nUse **this**.\n:::\n", `<aside class="admonition tip" role="note"><p class="admonition-title">Tip</p>` + "\n<p>Use <strong>this</strong>.</p>\n</aside>\n"},
		{":::warning Mind the <gap>\ntext\n:::", `<aside class="admonition warning" role="note"><p class="admonition-title">Mind the &lt;gap&gt;</p>` + "\n<p>text</p>\n</aside>\n"},
		{":::info[Heads up]\n- a\n- b\n:::", `<aside class="admonition info" role="note"><p class="admonition-title">Heads up</p>` + "\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n</aside>\n"},
		{"para\n:::danger\nno\n:::\nafter", "<p>para</p>\n" + `<aside class="admonition danger" role="note"><p class="admonition-title">Danger</p>` + "\n<p>no</p>\n</aside>\n<p>after</p>\n"},
		{"::::note\nouter\n:::tip\ninner\n:::\nstill outer\n::::", `<aside class="admonition note" role="note"><p class="admonition-title">Note</p>` + "\n<p>outer</p>\n" + `<aside class="admonition tip" role="note"><p class="admonition-title">Tip</p>` + "\n<p>inner</p>\n</aside>\n<p>still outer</p>\n</aside>\n"},
		{":::unknown\ntext\n:::", "<p>:::unknown\ntext\n:::</p>\n"},
		{":::note\n<script>alert(1)</script>\n[x](javascript:alert(1))\n:::", `<aside class="admonition note" role="note"><p class="admonition-title">Note</p>` + "\n<!-- raw HTML omitted -->\n<p>x</p>\n</aside>\n"},
		{":::tip\nunclosed", `<aside class="admonition tip" role="note"><p class="admonition-title">Tip</p>` + "\n<p>unclosed</p>\n</aside>\n"},
		{"```\n:::tip\n```", "<pre><code>:::tip\n</code></pre>\n"},
	} {
		got, err := renderMarkdown([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	if markdownTame([]byte(strings.Repeat(":::note\n", maxMarkdownFences+1))) {
		t.Error("thousands of nested admonitions rendered as Markdown")
	}
}

// FuzzAdmonition: whatever the fences, asides balance and nothing that
// could run script comes out.
func FuzzAdmonition(f *testing.F) {
	for _, s := range []string{":::tip\nx\n:::", "::::note\n:::tip\n:::\n::::", ":::warning <b>t</b>\n<script>x</script>\n:::", ":::info[a\n:::", "> :::tip\n> x\n> :::", "- :::note\n  x\n  :::", ":::danger\n```\n:::\n```\n:::"} {
		f.Add(s)
	}
	tag := regexp.MustCompile(`<[^>]*>?`)
	bad := regexp.MustCompile(`(?i)^<(?:script|img|iframe|svg|style|object|embed|form)|\son[a-z]+\s*=|(?:href|src)="\s*(?:javascript|data|vbscript|file):|style=`)
	f.Fuzz(func(t *testing.T, s string) {
		if !markdownTame([]byte(s)) {
			return
		}
		h, err := renderMarkdown([]byte(s))
		if err != nil {
			return
		}
		out := string(h)
		if o, c := strings.Count(out, "<aside "), strings.Count(out, "</aside>"); o != c {
			t.Fatalf("%q: %d <aside> but %d </aside> in %q", s, o, c, out)
		}
		for _, m := range tag.FindAllString(out, -1) {
			if bad.MatchString(m) {
				t.Fatalf("%q rendered %q", s, out)
			}
		}
	})
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestScaleLogo: large logos are scaled to fit 144 px, by area average,
// the same bytes every time; small ones pass through; bombs are refused.
func TestScaleLogo(t *testing.T) {
	// 1000×500, left half opaque red, right half transparent: noise-free
	// PNGs compress well, so add a gradient to make it large.
	src := image.NewNRGBA(image.Rect(0, 0, 1000, 500))
	for y := 0; y < 500; y++ {
		for x := 0; x < 1000; x++ {
			if x < 500 {
				src.SetNRGBA(x, y, color.NRGBA{255, uint8(y * x % 7), uint8((x ^ y) & 3), 255})
			}
		}
	}
	in := encodePNG(t, src)
	a, note := scaleLogo(in)
	b, _ := scaleLogo(in)
	if note != "" || !bytes.Equal(a, b) {
		t.Fatalf("note %q, deterministic %v", note, bytes.Equal(a, b))
	}
	img, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 144 || img.Bounds().Dy() != 72 || len(a) >= len(in)/4 {
		t.Errorf("scaled to %v, %d bytes from %d", img.Bounds(), len(a), len(in))
	}
	if r, _, _, al := img.At(10, 10).RGBA(); r>>8 != 255 || al>>8 != 255 {
		t.Errorf("left pixel %v", img.At(10, 10))
	}
	if _, _, _, al := img.At(130, 10).RGBA(); al != 0 {
		t.Errorf("right pixel %v", img.At(130, 10))
	}
	// The column straddling the edge (source x 500 falls in destination
	// column 72 exactly at its start) and an odd split average.
	odd, _ := scaleLogo(encodePNG(t, src.SubImage(image.Rect(0, 0, 999, 500))))
	if img2, err := png.Decode(bytes.NewReader(odd)); err != nil || img2.Bounds().Dx() != 144 {
		t.Errorf("odd size: %v %v", err, img2)
	}

	if out, note := scaleLogo(tinyPNG); !bytes.Equal(out, tinyPNG) || note != "" {
		t.Error("a tiny logo was changed")
	}
	// A header claiming 50,000 pixels square.
	bomb := append([]byte{}, tinyPNG...)
	binary.BigEndian.PutUint32(bomb[16:], 50000)
	binary.BigEndian.PutUint32(bomb[20:], 50000)
	binary.BigEndian.PutUint32(bomb[29:], crc32.ChecksumIEEE(bomb[12:29]))
	if out, note := scaleLogo(bomb); out != nil || !strings.Contains(note, "50000×50000") {
		t.Errorf("bomb: %d bytes, %q", len(out), note)
	}
	if out, note := scaleLogo(append(append([]byte{}, pngMagic...), "junk"...)); out != nil || note == "" {
		t.Error("broken PNG accepted")
	}
	// Through the catalogue: the published logo is the scaled one.
	_, files := writeSite(t, []synthPack{{name: "big", layer: "os", versions: []string{"1.0.0"}, files: map[string][]byte{"logo.png": in}}}, Options{})
	if files["packs/big/logo.png"] != string(a) {
		t.Error("the catalogue did not publish the scaled logo")
	}
}

func TestShares(t *testing.T) {
	for _, c := range [][2]int{{10, 3}, {7, 7}, {2192, 144}, {145, 144}, {3, 1}} {
		for d, ss := range shares(c[0], c[1]) {
			sum := 0
			for _, s := range ss {
				sum += s.w
				if s.i < 0 || s.i >= c[0] {
					t.Fatalf("%v: index %d", c, s.i)
				}
			}
			if sum != c[0] {
				t.Errorf("%v: destination %d weighs %d", c, d, sum)
			}
		}
	}
}

func TestPresetsAndSchema(t *testing.T) {
	presets := []byte("presets:\n  - name: a\n    displayName: Small\n    group: Size\n    remove: [x.y]\n    add: |\n      x:\n        y: 1 # <b>\n  - name: b\n    group: Other\n  - name: c\n    displayName: Large\n    group: Size\n")
	groups, err := parsePresets(presets)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0].Name != "Size" || len(groups[0].Presets) != 2 || groups[1].Presets[0].Display != "b" || groups[0].Presets[0].Remove[0] != "x.y" {
		t.Fatalf("groups %+v", groups)
	}
	if !strings.Contains(string(groups[0].Presets[0].Add), `<span class="yc"># &lt;b&gt;</span>`) {
		t.Errorf("add not highlighted and escaped: %s", groups[0].Presets[0].Add)
	}
	for _, bad := range []string{"presets: 3", "presets: [", "presets:\n" + strings.Repeat("  - name: x\n", maxPresets+1)} {
		if _, err := parsePresets([]byte(bad)); !errors.Is(err, errPlatformFile) {
			t.Errorf("%.30q: %v", bad, err)
		}
	}
	rows, err := parseSchema([]byte("b.path:\n  schema: '{{ required }}'\na.path:\n  schema: '{{ format \"${boolean}\" }}'\nc: '{{ readonly }}'\n"))
	if err != nil || len(rows) != 3 || rows[0].Path != "b.path" || !rows[0].Required || rows[1].Type != "boolean" || !rows[2].Readonly {
		t.Errorf("rows %+v, %v", rows, err)
	}
	for _, bad := range []string{"- a", "a: [", "3"} {
		if _, err := parseSchema([]byte(bad)); !errors.Is(err, errPlatformFile) {
			t.Errorf("%q: %v", bad, err)
		}
	}

	p := synthPack{name: "ui", layer: "addon", versions: []string{"1.0.0"}, files: map[string][]byte{
		"presets.yaml": presets,
		"schema.yaml":  []byte("x.y:\n  schema: '{{ required | format \"${string}\" | options \"<one>\",\"two\" }}'\n"),
	}}
	broken := synthPack{name: "broken-ui", layer: "addon", versions: []string{"1.0.0"}, files: map[string][]byte{"presets.yaml": []byte("presets: ["), "schema.yaml": []byte("- 1")}}
	huge := bytes.Repeat([]byte("# padding\n"), maxValues/10+1)
	big := synthPack{name: "big-ui", layer: "addon", versions: []string{"1.0.0"}, files: map[string][]byte{"presets.yaml": huge, "schema.yaml": huge}}
	_, files := writeSite(t, []synthPack{p, broken, big}, Options{})
	page := files["packs/ui/index.html"]
	for _, want := range []string{`<h2 id="presets-h">Presets</h2>`, `<h3 class="sub-h">Size</h3>`, `<strong>Large</strong>`, `<code>x.y</code>`, `<h2 id="schema-h">Parameters`, `<code class="opt">&lt;one&gt;</code>`, `<span class="tag ok">required</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	bp := files["packs/broken-ui/index.html"]
	if !strings.Contains(bp, "presets.yaml could not be read") || !strings.Contains(bp, "schema.yaml could not be read") {
		t.Error("no note for unreadable presets.yaml or schema.yaml")
	}
	gp := files["packs/big-ui/index.html"]
	if !strings.Contains(gp, "presets.yaml is larger than 1 MiB and is not shown.") || !strings.Contains(gp, "schema.yaml is larger than 1 MiB and is not shown.") || strings.Contains(gp, "padding") {
		t.Error("no note for presets.yaml or schema.yaml over 1 MiB, or its text shown")
	}
}

func TestConstraintsSnippetsTrust(t *testing.T) {
	p := synthPack{name: "app", layer: "addon", versions: []string{"1.0.0", "2.0.0"}, deps: []string{"base", "elsewhere"}, release: func(r *index.Release) {
		r.Resources = []meta.Resource{{Type: "cpu", MinLimit: 2000}, {Type: "memory", MinLimit: 1536}, {Type: "diskSize", MinLimit: 20, Components: []meta.ResourceComponent{{ScheduleType: "worker", ResourceRequestParamRef: "a.b", ReplicaCountParamRef: "a.n"}}}}
		if r.Version == "2.0.0" {
			r.Signature = "packs/app/app-2.0.0.tar.gz.sig"
			r.Bundle = "packs/app/app-2.0.0.tar.gz.bundle"
		}
	}}
	base := synthPack{name: "base", layer: "k8s", versions: []string{"1.0.0"}}
	_, files := writeSite(t, []synthPack{p, base}, Options{})
	page := files["packs/app/index.html"]
	for _, want := range []string{
		`<a href="../base/index.html">base</a>`, `<span class="mono">elsewhere</span> <span class="tag">external</span>`,
		`<td>2 cores (2000 m)</td>`, `<td>1536 MiB</td>`, `<td>20 GB</td>`, `on worker nodes, request at a.b, × replicas at a.n`,
		`<code id="fetch-cmd" class="lang-shell">packgen fetch app@2.0.0</code>`,
		"  - pack: app\n    version: &#34;2.0.0&#34;\n    registry: synthetic\n",
		`data &#34;spectrocloud_pack&#34; &#34;app&#34; {` + "\n" + `  name         = &#34;app&#34;` + "\n" + `  version      = &#34;2.0.0&#34;` + "\n" + `  registry_uid = data.spectrocloud_registry.registry.id`,
		`<span class="tag ok">signed</span>`, `<a href="app-2.0.0.tar.gz.sig" download>signature</a>`, `<a href="app-2.0.0.tar.gz.bundle" download>Sigstore bundle</a>`,
		`<span class="muted">unsigned</span>`, // 1.0.0's row
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`id="latest-digest">[0-9a-f]{64}<`).MatchString(page) {
		t.Error("no full digest of the latest archive")
	}
	if b := files["packs/base/index.html"]; !strings.Contains(b, `<span class="tag warn">unsigned</span>`) {
		t.Error("unsigned pack not marked")
	}
	// Terraform names cannot start with a digit.
	g := &gen{root: &index.Root{}}
	if s := g.snippets("1password", "1.0.0"); !strings.Contains(s[2].Text, `"spectrocloud_pack" "pack_1password"`) || !strings.Contains(s[1].Text, "registry: REGISTRY") {
		t.Errorf("snippets %+v", s)
	}
}

// lcs is the length of the longest common subsequence, for checking that
// Myers' diff is minimal.
func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

// checkDiff: the ops rebuild both sides and keep as many lines as an LCS.
func checkDiff(t *testing.T, a, b []string, ops []diffOp) {
	t.Helper()
	var ga, gb []string
	same := 0
	for _, op := range ops {
		if op.kind != '+' {
			ga = append(ga, op.text)
		}
		if op.kind != '-' {
			gb = append(gb, op.text)
		}
		if op.kind == ' ' {
			same++
		}
	}
	if strings.Join(ga, "\n") != strings.Join(a, "\n") || strings.Join(gb, "\n") != strings.Join(b, "\n") || len(ga) != len(a) || len(gb) != len(b) {
		t.Fatalf("diff of %q and %q does not rebuild them: %v", a, b, ops)
	}
	if want := lcs(a, b); same != want {
		t.Fatalf("diff of %q and %q keeps %d lines, LCS is %d", a, b, same, want)
	}
}

func TestLineDiff(t *testing.T) {
	for _, c := range [][2]string{
		{"", ""}, {"a", ""}, {"", "a"}, {"a\nb\nc", "a\nc"}, {"a\nb\nc", "a\nx\nb\nc\ny"},
		{"x\ny\nz", "p\nq"}, {"a\na\na\nb", "b\na\na\na"}, {"1\n2\n3\n4\n5\n6", "6\n5\n4\n3\n2\n1"},
	} {
		a, b := splitLines([]byte(c[0])), splitLines([]byte(c[1]))
		ops, ok := lineDiff(a, b, 100)
		if !ok {
			t.Fatalf("%q: gave up", c)
		}
		checkDiff(t, a, b, ops)
	}
	if _, ok := lineDiff(strings.Split(strings.Repeat("a\n", 50), "\n"), strings.Split(strings.Repeat("b\n", 50), "\n"), 20); ok {
		t.Error("100 edits found within 20")
	}
	a := splitLines([]byte("k: 1\nl: 2\nm: 3\nn: 4\no: 5\np: 6\nq: 7\nr: 8\ns: <9>\n"))
	b := splitLines([]byte("k: 1\nl: 2\nm: 3\nn: 4\no: 5\np: 6\nq: 7\nr: 8\ns: <10>\n"))
	ops, _ := lineDiff(a, b, 100)
	h, add, del := renderUnified(ops, 3, 100)
	want := `<span class="dh">@@ -6,4 +6,4 @@` + "\n" + `</span><span class="dc"> p: 6` + "\n" + `</span><span class="dc"> q: 7` + "\n" + `</span><span class="dc"> r: 8` + "\n" + `</span><span class="dd">-s: &lt;9&gt;` + "\n" + `</span><span class="da">+s: &lt;10&gt;` + "\n" + `</span>`
	if string(h) != want || add != 1 || del != 1 {
		t.Errorf("unified:\n%s\nwant\n%s", h, want)
	}
}

// FuzzDiff: any two texts diff minimally and rebuild, and the rendered
// diff is escaped.
func FuzzDiff(f *testing.F) {
	f.Add("a\nb\nc", "a\nc\nd")
	f.Add("<x>\n&", "&\n<y>")
	f.Add("", "z")
	spans := regexp.MustCompile(`<span class="d[acdh]">|</span>`)
	f.Fuzz(func(t *testing.T, x, y string) {
		a, b := splitLines([]byte(x)), splitLines([]byte(y))
		if len(a) > 60 || len(b) > 60 {
			return // the LCS check is quadratic
		}
		ops, ok := lineDiff(a, b, 200)
		if !ok {
			t.Fatalf("gave up on %d+%d lines", len(a), len(b))
		}
		checkDiff(t, a, b, ops)
		h, _, _ := renderUnified(ops, 3, 50)
		if strings.Contains(spans.ReplaceAllString(string(h), ""), "<") {
			t.Fatalf("unescaped diff: %s", h)
		}
	})
}

func TestChanges(t *testing.T) {
	p := synthPack{name: "app", layer: "addon", versions: []string{"1.0.0", "1.1.0", "2.0.0"},
		vfiles: map[string]map[string][]byte{
			"1.0.0": {"values.yaml": []byte("image: repo/app:1.0.0\nreplicas: 1\n"), "manifests/a.yaml": []byte("spec:\n  containers:\n    - image: \"repo/sidecar:0.1\"\n")},
			"1.1.0": {"values.yaml": []byte("image: repo/app:1.1.0\nreplicas: 1\n"), "manifests/a.yaml": []byte("spec:\n  containers:\n    - image: \"repo/sidecar:0.1\"\n")},
		},
		files: map[string][]byte{"values.yaml": []byte("image: repo/app:1.1.0\nreplicas: 3 # <more>\n")},
		release: func(r *index.Release) {
			switch r.Version {
			case "1.0.0":
				r.KubeManifests = []string{"manifests/a.yaml"}
				r.Charts = []string{"charts/app-1.0.0.tgz"}
			case "1.1.0":
				r.KubeManifests = []string{"manifests/a.yaml"}
				r.Charts = []string{"charts/app-1.1.0.tgz"}
				r.Dependencies = []meta.Dependency{{PackName: "k8s", MinVersion: "1.25.0", Type: "required"}}
			case "2.0.0":
				r.KubeManifests = []string{"manifests/b.yaml"}
				r.Charts = []string{"charts/app-1.1.0.tgz"}
				r.Dependencies = []meta.Dependency{{PackName: "k8s", MinVersion: "1.27.0", Type: "required"}, {PackName: "cm", Type: "optional"}}
			}
		}}
	_, files := writeSite(t, []synthPack{p}, Options{})
	page := files["packs/app/index.html"]
	for _, want := range []string{
		`<details class="change" id="changes-2.0.0" open>`, `<details class="change" id="changes-1.1.0">`,
		`<strong>Charts</strong> <span class="chg add">+ <code>app-1.1.0.tgz</code></span> <span class="chg del">− <code>app-1.0.0.tgz</code></span>`,
		`<strong>Manifests</strong> <span class="chg add">+ <code>manifests/b.yaml</code></span> <span class="chg del">− <code>manifests/a.yaml</code></span>`,
		`<span class="chg add">+ <code>cm (optional any)</code></span>`, `k8s: required &gt;= 1.25.0 → required &gt;= 1.27.0`,
		"The files of the two archives were not compared for this version",
		`<strong>Images</strong> <span class="chg del">− <code>docker.io/repo/sidecar:0.1</code></span>`,
		"<span class=\"dd\">-replicas: 1\n</span>", "<span class=\"da\">+replicas: 3 # &lt;more&gt;\n</span>",
		`<a href="#changes-2.0.0">what changed</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="changes-1.0.0"`) {
		t.Error("the first version has a change view")
	}
}

func TestFeeds(t *testing.T) {
	packs := manyPacks(3, 2)
	packs[1].state = map[string]string{"1.2.0": "deleted"}
	packs[2].display = `Evil <b>&</b>`
	// app 2.0.0 changes a manifest and values.yaml: its entries say so.
	app := synthPack{name: "app", layer: "addon", addonType: "monitoring", versions: []string{"1.0.0", "2.0.0"},
		vfiles: map[string]map[string][]byte{"1.0.0": {"values.yaml": []byte("replicas: 1\nimage: repo/app:1\n")}},
		files:  map[string][]byte{"values.yaml": []byte("replicas: 2\nimage: repo/app:2\n")},
		release: func(r *index.Release) {
			r.KubeManifests = []string{"manifests/" + map[string]string{"1.0.0": "a.yaml", "2.0.0": "b<i>.yaml"}[r.Version]}
		},
	}
	packs = append(packs, app)
	_, files := writeSite(t, packs, Options{})
	var f atomFeed
	if err := xml.Unmarshal([]byte(files[FeedFile]), &f); err != nil {
		t.Fatal(err)
	}
	var got []string
	byLink := map[string]atomEntry{}
	for _, e := range f.Entries {
		got = append(got, e.Title+"|"+e.Updated+"|"+e.Links[0].Href)
		byLink[e.Links[0].Href] = e
		if !strings.HasPrefix(e.ID, "urn:uuid:") || len(e.ID) != len("urn:uuid:")+36 {
			t.Errorf("entry id %q", e.ID)
		}
		if e.Summary.Type != "text" || e.Content.Type != "html" || !strings.Contains(e.Summary.Body, "Fetch with: packgen fetch ") {
			t.Errorf("entry %s: summary %+v, content type %q", e.Title, e.Summary, e.Content.Type)
		}
	}
	// synth dates releases 2024-01-01 + version index, the same for
	// every pack: newest first, then by name. A release with a change
	// view on its page links to it; a first release to the page.
	want := []string{
		"app 2.0.0|2024-01-02T00:00:00Z|packs/app/index.html#changes-2.0.0",
		"Pack 0 monitoring 1.2.0|2024-01-02T00:00:00Z|packs/pack-00000/index.html#changes-1.2.0",
		"Evil <b>&</b> 1.2.0|2024-01-02T00:00:00Z|packs/pack-00002/index.html#changes-1.2.0",
		"app 1.0.0|2024-01-01T00:00:00Z|packs/app/index.html",
		"Pack 0 monitoring 1.1.0|2024-01-01T00:00:00Z|packs/pack-00000/index.html",
		"Pack 1 logging 1.1.0|2024-01-01T00:00:00Z|packs/pack-00001/index.html",
		"Evil <b>&</b> 1.1.0|2024-01-01T00:00:00Z|packs/pack-00002/index.html",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || f.Updated != "2024-01-02T00:00:00Z" || f.Title != "New releases · synthetic" {
		t.Errorf("registry feed (updated %s, %q):\n%s", f.Updated, f.Title, strings.Join(got, "\n"))
	}
	if !strings.HasPrefix(files[FeedFile], `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<feed xmlns="http://www.w3.org/2005/Atom">`) || strings.Contains(files[FeedFile], "<b>") || strings.Contains(files[FeedFile], "<li>") {
		t.Errorf("feed head or escaping: %.120s", files[FeedFile])
	}
	// What changed, as the page's view says it: the manifests (index),
	// values.yaml's lines, the files and the images (archives).
	changed := byLink["packs/app/index.html#changes-2.0.0"]
	wantSummary := "app@2.0.0: Add-on (monitoring). What changed since 1.0.0 (values.yaml +2 −2 lines): Manifests + manifests/b<i>.yaml, − manifests/a.yaml; " +
		"Files values.yaml: +2 −2 lines; Images + docker.io/repo/app:2, − docker.io/repo/app:1. Fetch with: packgen fetch app@2.0.0 (sha256 "
	if !strings.HasPrefix(changed.Summary.Body, wantSummary) {
		t.Errorf("summary of app 2.0.0:\n%s\nwant it to start\n%s", changed.Summary.Body, wantSummary)
	}
	for _, w := range []string{`What changed since <strong>1.0.0</strong> (values.yaml +2 −2 lines):`,
		`<li><strong>Manifests</strong> + <code>manifests/b&lt;i&gt;.yaml</code> − <code>manifests/a.yaml</code></li>`,
		`<li><strong>Files</strong> values.yaml: &#43;2 −2 lines</li>`,
		`<code>packgen fetch app@2.0.0</code>`} {
		if !strings.Contains(changed.Content.Body, w) {
			t.Errorf("content of app 2.0.0 lacks %s:\n%s", w, changed.Content.Body)
		}
	}
	if first := byLink["packs/app/index.html"]; strings.Contains(first.Summary.Body, "What changed") || strings.Contains(first.Content.Body, "What changed") {
		t.Errorf("a first release says what changed: %+v", first)
	}
	// The pack's feed has the same entries, linked from its own place.
	var pf atomFeed
	if err := xml.Unmarshal([]byte(files["packs/app/feed.xml"]), &pf); err != nil {
		t.Fatal(err)
	}
	if len(pf.Entries) != 2 || pf.Entries[0].Links[0].Href != "index.html#changes-2.0.0" || pf.Entries[0].Summary != changed.Summary || pf.Entries[0].Content != changed.Content || pf.Entries[1].Links[0].Href != "index.html" {
		t.Errorf("app's feed: %+v", pf.Entries)
	}
	if !strings.Contains(files["packs/app/index.html"], `<details class="change" id="changes-2.0.0" open>`) {
		t.Error("the feed links to a change view the page lacks")
	}
	pf = atomFeed{}
	if err := xml.Unmarshal([]byte(files["packs/pack-00001/feed.xml"]), &pf); err != nil {
		t.Fatal(err)
	}
	if len(pf.Entries) != 1 || pf.Entries[0].Title != "Pack 1 logging 1.1.0" || pf.Entries[0].Links[0].Href != "index.html" {
		t.Errorf("pack feed: %+v", pf.Entries)
	}
	if !strings.Contains(files["packs/pack-00001/index.html"], `<link rel="alternate" type="application/atom+xml" title="pack-00001 releases (Atom)" href="feed.xml">`) {
		t.Error("pack page does not announce its feed")
	}
}

func TestVersionsData(t *testing.T) {
	p := synthPack{name: "app", layer: "addon", versions: []string{"1.0.0", "1.1.0", "2.0.0"},
		vfiles: map[string]map[string][]byte{"1.1.0": {"values.yaml": []byte("a: </script><b>\n")}},
		files:  map[string][]byte{"values.yaml": []byte("a: 2\nimage: repo/x:2\n")},
		state:  map[string]string{"1.0.0": "deprecated"},
	}
	one := synthPack{name: "one", layer: "os", versions: []string{"1.0.0"}}
	_, files := writeSite(t, []synthPack{p, one}, Options{})
	page := files["packs/app/index.html"]
	m := regexp.MustCompile(`<script type="application/json" id="versions-data">([^<]*)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no versions data in the page")
	}
	var d struct {
		Name     string        `json:"name"`
		Versions []versionData `json:"versions"`
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "app" || len(d.Versions) != 3 || d.Versions[0].State != "deprecated" || d.Versions[0].HasValues ||
		!d.Versions[1].HasValues || d.Versions[1].Values != "a: </script><b>\n" || d.Versions[2].Values != "a: 2\nimage: repo/x:2\n" ||
		strings.Join(d.Versions[2].Images, ",") != "repo/x:2" || d.Versions[2].Created != "2024-01-03" {
		t.Errorf("versions: %+v", d.Versions)
	}
	if !strings.Contains(page, `<a class="feed small" href="#compare">compare any two versions</a>`) {
		t.Error("no compare link")
	}
	if strings.Contains(files["packs/one/index.html"], `id="compare"`) {
		t.Error("a one-version pack offers to compare")
	}
}

func TestRelLink(t *testing.T) {
	for in, want := range map[string]string{
		"1.0.0/a-1.0.0.tar.gz":  "1.0.0/a-1.0.0.tar.gz",
		"javascript:alert(1)":   "./javascript:alert%281%29",
		`x"><script>/y`:         "x%22%3E%3Cscript%3E/y",
		"1.0.0+meta/a b.tar.gz": "1.0.0+meta/a%20b.tar.gz",
	} {
		if got := relLink(in); got != want {
			t.Errorf("relLink(%q) = %q, want %q", in, got, want)
		}
	}
}

// imagesPack is a valid pack whose newest release declares one image its
// manifest deploys, one it does not, and deploys one it does not declare
// (with markup in the name, which must come out escaped).
func imagesPack(name string) synthPack {
	return synthPack{name: name, layer: "addon", versions: []string{"1.0.0", "2.0.0"}, files: map[string][]byte{
		"pack.json": []byte(`{"name":"` + name + `","version":"2.0.0","layer":"addon","addonType":"tools","cloudTypes":["all"],"kubeManifests":["manifests/app.yaml"]}`),
		"values.yaml": []byte("pack:\n  namespace: tools\n  content:\n    images:\n      - image: registry.example.com/app:2.0.0\n      - image: registry.example.com/old:1.0.0\n" +
			"manifests:\n  app:\n    sidecar: \"registry.example.com/side:1.0.0\"\n"),
		"manifests/app.yaml": []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/app:2.0.0\n        - name: side\n          image: {{ .Values.sidecar }}\n      initContainers:\n        - name: init\n          image: \"registry.example.com/x<b>y:1\"\n"),
	}}
}

func TestImagesView(t *testing.T) {
	cache := t.TempDir()
	var st Stats
	dir, files := writeSite(t, []synthPack{imagesPack("app")}, Options{Cache: cache, Stats: &st})
	page := files["packs/app/index.html"]
	i := strings.Index(page, `id="images-h"`)
	if i < 0 {
		t.Fatal("no Images section")
	}
	sec := page[i : i+strings.Index(page[i:], "</section>")]
	for _, want := range []string{
		`<strong>2</strong> declared`, `<strong>2</strong> deployed`, `<span class="tag warn">1 not declared</span>`, `<span class="tag warn">1 unused</span>`,
		`<code class="img">registry.example.com/old:1.0.0</code> <span class="tag warn">unused</span>`,
		`<code class="img">registry.example.com/side:1.0.0</code> <span class="tag warn">not declared</span>`,
		`manifest manifests/app.yaml Deployment/app spec.template.spec.containers[1].image`,
		`values.yaml:6: warning: image registry.example.com/old:1.0.0 is declared`,
		`packgen images app@2.0.0`,
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("Images section lacks %q:\n%s", want, sec)
		}
	}
	if strings.Contains(page, "x<b>y") {
		t.Error("an image name came out unescaped")
	}
	if st.Rendered != 1 || st.ImagesFound != 1 || st.ImagesCached != 0 {
		t.Errorf("cold: %+v", st)
	}
	// Another build with the same cache renders the page again (no
	// previous site) but takes the images from the cache: same bytes.
	dir2 := t.TempDir()
	root, shards := synth(t, dir2, []synthPack{imagesPack("app")})
	if err := WriteOptions(dir2, root, shards, Options{Cache: cache, Stats: &st}); err != nil {
		t.Fatal(err)
	}
	if st.Rendered != 1 || st.ImagesFound != 0 || st.ImagesCached != 1 {
		t.Errorf("cached: %+v", st)
	}
	diffFiles(t, "from the image cache", files, catalogueFiles(t, dir2))
	// The build's own report (build.Snapshot.Images: found under the
	// release's directory in git, then redisplayed) renders no chart
	// again and gives the same page.
	dir3 := t.TempDir()
	root, shards = synth(t, dir3, []synthPack{imagesPack("app")})
	latest := shards[0].Latest()
	f, err := os.Open(filepath.Join(dir3, filepath.FromSlash(latest.Archive.Path)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := pack.OpenArchive(f, pack.ArchiveLimits{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := images.Accepted(a, "packs/app-2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	given := map[string]*images.Report{latest.Archive.SHA256: rep.Redisplay(".")}
	if err := WriteOptions(dir3, root, shards, Options{Images: given, Stats: &st}); err != nil {
		t.Fatal(err)
	}
	if st.Rendered != 1 || st.ImagesFound != 0 || st.ImagesBuilt != 1 || len(given) != 0 {
		t.Errorf("from the build: %+v, %d report(s) still held", st, len(given))
	}
	diffFiles(t, "from the build's report", files, catalogueFiles(t, dir3))
	// A damaged cache is ignored, not trusted or fatal.
	if err := os.WriteFile(filepath.Join(cache, imageCacheFile), []byte(`{"key":`), 0o600); err != nil {
		t.Fatal(err)
	}
	root, shards = synth(t, dir2, []synthPack{imagesPack("app")})
	if err := WriteOptions(dir2, root, shards, Options{Cache: cache, Stats: &st}); err != nil || st.ImagesFound != 1 {
		t.Errorf("damaged cache: %v, %+v", err, st)
	}
	_ = dir
}

func TestImagesViewErrors(t *testing.T) {
	// An archive too large to hold whole: a note, and the page as ever.
	defer func(old int64) { maxWholeArchive = old }(maxWholeArchive)
	maxWholeArchive = 1 << 10
	big := imagesPack("big")
	big.files["README.md"] = []byte("# Big\n\n" + strings.Repeat("A line of the README.\n", 100))
	_, files := writeSite(t, []synthPack{big}, Options{})
	if page := files["packs/big/index.html"]; !strings.Contains(page, "The images could not be listed: the archive holds more than 0 MiB") || !strings.Contains(page, "A line of the README.") {
		t.Error("a large archive's page lacks the note or its README")
	}
	maxWholeArchive = 64 << 20

	// A chart that does not render: a note on the page, not a failed build.
	p := imagesPack("bad")
	p.files["manifests/app.yaml"] = []byte("kind: Deployment\nspec: {{ .Values.x.y.z }\n")
	_, files = writeSite(t, []synthPack{p}, Options{})
	if page := files["packs/bad/index.html"]; !strings.Contains(page, `<p class="note">The images could not be listed: `) {
		t.Error("no note for a pack whose images cannot be listed")
	}
	// An OS layer without manifests: the platform deploys its images.
	osPack := synthPack{name: "os", layer: "os", versions: []string{"1.0.0"}, files: map[string][]byte{
		"pack.json":   []byte(`{"name":"os","version":"1.0.0","layer":"os","cloudTypes":["all"]}`),
		"values.yaml": []byte("pack:\n  content:\n    images:\n      - image: registry.example.com/os:1\n"),
	}}
	_, files = writeSite(t, []synthPack{osPack}, Options{})
	page := files["packs/os/index.html"]
	if !strings.Contains(page, "The pack has no manifests or charts") || strings.Contains(page, `tag warn">unused`) {
		t.Error("an OS layer's declared images are not shown as deployed by the platform")
	}
}

func TestTrustLog(t *testing.T) {
	key := strings.Repeat("ab", 32)
	p := synthPack{name: "app", layer: "addon", versions: []string{"1.0.0", "2.0.0"}, release: func(r *index.Release) {
		r.Signature = "packs/app/app-" + r.Version + ".tar.gz.sig"
		if r.Version == "2.0.0" {
			r.Log = &index.ReleaseLog{Index: 41, KeyID: key}
		}
	}}
	dir := t.TempDir()
	root, shards := synth(t, dir, []synthPack{p})
	root.Log = &index.LogRef{Size: 42, Hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Key: "synthetic+01234567+AQID"}
	if err := WriteOptions(dir, root, shards, Options{}); err != nil {
		t.Fatal(err)
	}
	page := catalogueFiles(t, dir)["packs/app/index.html"]
	for _, want := range []string{
		`Entry <strong class="mono" id="log-index">#41</strong>`, `published with key <code class="key" title="` + key + `">abababababababab</code>`,
		`checkpoints signed as <code>synthetic</code>: <a href="../../log/checkpoint">`, `packgen log show app --registry synthetic`,
		`key <code>abababababababab</code> · log <span class="mono">#41</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Count(page, "· log <span") != 1 {
		t.Error("a release without a log entry shows one")
	}
	// The log's size is not on the page: it grows with every other pack's
	// release, and the page must stay reusable.
	if strings.Contains(page, ">42<") || strings.Contains(page, " 42 ") {
		t.Error("the log's size is on the page")
	}
}

func TestImageViewBounds(t *testing.T) {
	v := &imageView{}
	long := strings.Repeat("é", maxImageText) // two bytes each
	for i := 0; i < maxImageRows+3; i++ {
		var srcs []images.Source
		for k := 0; k < maxImageSources+2; k++ {
			srcs = append(srcs, images.Source{Kind: images.Declared, File: "values.yaml", Line: k + 1})
		}
		v.add(images.Image{Image: fmt.Sprintf("%s/%d", long, i), Declared: true, Sources: srcs}, true)
	}
	if len(v.Rows) != maxImageRows || v.More != 3 || v.Declared != maxImageRows+3 || v.Unused != maxImageRows+3 {
		t.Fatalf("%d rows, %d more, %d declared, %d unused", len(v.Rows), v.More, v.Declared, v.Unused)
	}
	r := v.Rows[0]
	if len(r.Image) > maxImageText+len("…") || !utf8.ValidString(r.Image) || !strings.HasSuffix(r.Image, "…") {
		t.Errorf("image text not clipped on a rune boundary: %d bytes", len(r.Image))
	}
	if len(r.Sources) != maxImageSources+1 || r.Sources[maxImageSources] != "and 2 more" {
		t.Errorf("sources %q", r.Sources)
	}
}

// TestChangesCompareFiles: a version whose CRD, README, pack.json
// (annotations), chart or other files changed under the same names is
// never said to be unchanged (stranger4 S3, S10): every file of the two
// archives is compared by digest, text files are diffed.
func TestChangesCompareFiles(t *testing.T) {
	crd := func(desc string, last int) []byte {
		var b strings.Builder
		b.WriteString("kind: CustomResourceDefinition\nspec:\n")
		for i := 0; i <= last; i++ {
			d := "a field"
			if i == 5 {
				d = desc
			}
			fmt.Fprintf(&b, "  field%d:\n    description: %s\n", i, d)
		}
		return []byte(b.String())
	}
	p := synthPack{name: "mycrd", layer: "addon", versions: []string{"1.1.0", "1.2.0"},
		vfiles: map[string]map[string][]byte{
			"1.1.0": {"pack.json": []byte(`{"name":"mycrd","version":"1.1.0"}`), "manifests/crd.yaml": crd("field 5 first", 1999),
				"README.md": []byte("# crd\n"), "charts/app-1.0.0.tgz": []byte("\x1f\x8b\x00old"), "old.txt": []byte("gone\n")},
			"1.2.0": {"pack.json": []byte(`{"name":"mycrd","version":"1.2.0","annotations":{"homepage":"x"}}`), "manifests/crd.yaml": crd("field 5 now REQUIRED", 1998),
				"README.md": []byte("# crd\nhello <b>\n"), "charts/app-1.0.0.tgz": []byte("\x1f\x8b\x00new"), "new.yaml": []byte("a: 1\nb: 2\n")},
		},
		release: func(r *index.Release) { r.KubeManifests = []string{"manifests/crd.yaml"} },
	}
	same := synthPack{name: "same", layer: "addon", versions: []string{"1.0.0", "1.0.1"},
		vfiles: map[string]map[string][]byte{"1.0.0": {"values.yaml": []byte("a: 1\n")}, "1.0.1": {"values.yaml": []byte("a: 1\n")}}}
	_, files := writeSite(t, []synthPack{p, same}, Options{})
	page := files["packs/mycrd/index.html"]
	for _, want := range []string{
		`<strong>Files</strong> <span class="chg add">+ <code>new.yaml (2 lines)</code></span> <span class="chg del">− <code>old.txt (1 line)</code></span>` +
			` <span class="chg mod">README.md: &#43;1 −0 lines</span> <span class="chg mod">charts/app-1.0.0.tgz (binary)</span>` +
			` <span class="chg mod">manifests/crd.yaml: &#43;1 −3 lines</span> <span class="chg mod">pack.json: &#43;1 −1 lines</span>`,
		`<p class="preset-k">manifests/crd.yaml</p>`,
		"<span class=\"dd\">-    description: field 5 first\n</span><span class=\"da\">+    description: field 5 now REQUIRED\n</span>",
		"<span class=\"dd\">-  field1999:\n</span>",
		"<span class=\"da\">+hello &lt;b&gt;\n</span>",
		`<span class="da">+{&#34;name&#34;:&#34;mycrd&#34;,&#34;version&#34;:&#34;1.2.0&#34;,&#34;annotations&#34;:{&#34;homepage&#34;:&#34;x&#34;}}`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "No change to") || strings.Contains(page, "No file changed") {
		t.Error("a version whose files changed is said to be unchanged")
	}
	if !strings.Contains(files["packs/same/index.html"], "No file changed: every file of the two archives has the same content.") {
		t.Error("two archives with the same files are not said to be the same")
	}
}

// TestChangesOwnLine: a patch on an older line published after a newer
// version (3.27.11 after 3.28.0) is compared with its own line's
// previous release, and 3.28.0 keeps its base (stranger4 S9). Both
// views are computed from the archives, never from the previous build's
// page: a previous page edited to say something else changes nothing,
// and the page equals a fresh one.
func TestChangesOwnLine(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	calico := func(versions ...string) synthPack {
		return synthPack{name: "calico", layer: "cni", versions: versions,
			vfiles: map[string]map[string][]byte{
				"3.27.10": {"values.yaml": []byte("a: 1\nb: 1\n")},
				"3.27.11": {"values.yaml": []byte("a: 1\nb: 1\n# 3.27.11 security fix\n")},
				"3.28.0":  {"values.yaml": []byte("a: 2\nb: 1\n")},
			},
			release: func(r *index.Release) {
				r.Created = map[string]time.Time{"3.27.10": day(1), "3.28.0": day(2), "3.27.11": day(3)}[r.Version]
			}}
	}
	first, _ := writeSite(t, []synthPack{calico("3.27.10", "3.28.0")}, Options{})
	// Someone who can edit the previous site rewrites 3.28.0's view.
	pagePath := filepath.Join(first, "packs", "calico", "index.html")
	b, err := os.ReadFile(pagePath)
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.ReplaceAll(b, []byte("+a: 2"), []byte("+a: 2 (forged)"))
	if bytes.Equal(forged, b) {
		t.Fatal("the first page shows no +a: 2 to forge")
	}
	if err := os.WriteFile(pagePath, forged, 0o644); err != nil {
		t.Fatal(err)
	}

	next := []synthPack{calico("3.27.10", "3.28.0", "3.27.11")}
	_, fresh := writeSite(t, next, Options{})
	var st Stats
	_, files := writeSite(t, next, Options{Previous: first, Stats: &st})
	diffFiles(t, "rebuild after a forged previous page", fresh, files)
	page := files["packs/calico/index.html"]
	for _, want := range []string{
		`<span class="ver">3.28.0</span> <span class="muted">since 3.27.10</span>`,
		`<span class="ver">3.27.11</span> <span class="muted">since 3.27.10</span>`,
		"<span class=\"da\">+a: 2\n</span>",
		"<span class=\"da\">+# 3.27.11 security fix\n</span>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "forged") {
		t.Error("the rebuilt page took text from the previous build's page")
	}
	if strings.Contains(page, "since 3.27.11") || strings.Contains(page, "The files of the two archives were not compared") {
		t.Error("3.28.0 changed its base, or 3.27.11 was not compared")
	}
	if st.Compared != 2 {
		t.Errorf("compared %d views, want 2 (the latest version's and the newest release's)", st.Compared)
	}
}

// splitPack names its app image through templated values (repository
// and tag, as a chart would) and a sidecar with image: lines, both
// bumped by each version; 1.2.0 also adds a file.
func splitPack(versions ...string) synthPack {
	manifest := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {{ .Values.repository }}:{{ .Values.tag }}\n        - name: side\n          image: {{ .Values.side }}\n")
	packJSON := func(v string) []byte {
		return []byte(`{"name":"split","version":"` + v + `","layer":"addon","addonType":"tools","cloudTypes":["all"],"kubeManifests":["manifests/app.yaml"]}`)
	}
	values := func(tag, side string) []byte {
		return []byte("pack:\n  namespace: s\nmanifests:\n  app:\n    repository: nginx\n    tag: \"" + tag + "\"\n    side: \"" + side + "\"\n" +
			"  other:\n    image: " + side + "\n")
	}
	files := func(v, tag, side string) map[string][]byte {
		return map[string][]byte{"values.yaml": values(tag, side), "manifests/app.yaml": manifest, "pack.json": packJSON(v)}
	}
	vf := map[string]map[string][]byte{
		"1.0.0": files("1.0.0", "1.25", "busybox:1"),
		"1.1.0": files("1.1.0", "1.27", "busybox:2"),
		"1.2.0": files("1.2.0", "1.29", "busybox:3"),
	}
	vf["1.2.0"]["NOTES.md"] = []byte("new in 1.2.0\n")
	return synthPack{name: "split", layer: "addon", versions: versions, vfiles: vf,
		release: func(r *index.Release) { r.KubeManifests = []string{"manifests/app.yaml"} }}
}

// TestChangesRenderedImages: the change view's Images line is a pure
// function of the two archives: the images named by image: in
// values.yaml and the manifests, normalised as the Images table names
// them (stranger4 S8), on both sides. Images that templated manifests
// or charts render are not diffed (the base's are never rendered), and
// the page says so and points at the Images section, which lists them.
// Neither the machine's image cache nor the previous page changes it.
func TestChangesRenderedImages(t *testing.T) {
	want := `<strong>Images</strong> <span class="chg add">+ <code>docker.io/library/busybox:2</code></span> <span class="chg del">− <code>docker.io/library/busybox:1</code></span>`
	note := `images that charts or templated manifests render are not compared here: the <a href="#images-h">Images</a> section lists those of the latest version.`
	cache := t.TempDir()
	first, _ := writeSite(t, []synthPack{splitPack("1.0.0")}, Options{Cache: cache})
	_, fresh := writeSite(t, []synthPack{splitPack("1.0.0", "1.1.0")}, Options{})
	page := fresh["packs/split/index.html"]
	for _, w := range []string{want, note} {
		if !strings.Contains(page, w) {
			i := strings.Index(page, `<strong>Images</strong>`)
			t.Errorf("page lacks %s:\n%.1500s", w, page[max(i, 0):])
		}
	}
	i := strings.Index(page, `id="images-h"`)
	if i < 0 || !strings.Contains(page[i:], "docker.io/library/nginx:1.27") {
		t.Error("the Images section does not list the image the templated manifest renders")
	}
	if strings.Contains(page[:max(i, 0)], "nginx:1.25") {
		t.Error("the change view diffed the images a templated manifest renders")
	}
	for what, o := range map[string]Options{"previous page": {Previous: first}, "image cache": {Cache: cache}, "both": {Previous: first, Cache: cache}} {
		_, files := writeSite(t, []synthPack{splitPack("1.0.0", "1.1.0")}, o)
		diffFiles(t, what, fresh, files)
	}
}

// TestSnippetsPinExactly: a version that is not strict semver gets
// snippets that pin it exactly; as written, "1.30" would float to any
// 1.30.x (stranger4 S4; client.TestResolvePinConstraint resolves them).
func TestSnippetsPinExactly(t *testing.T) {
	for v, want := range map[string]string{"1.30": "=1.30.0", "v2.0.0": "=2.0.0", "1.2.3": "1.2.3"} {
		_, files := writeSite(t, []synthPack{{name: "tmpl", layer: "addon", versions: []string{v}}}, Options{})
		page := files["packs/tmpl/index.html"]
		for _, s := range []string{
			`<code id="fetch-cmd" class="lang-shell">packgen fetch tmpl@` + want + `</code>`,
			`version: &#34;` + want + `&#34;`,
			`version      = &#34;` + v + `&#34;`, // Terraform looks the version up as written
		} {
			if !strings.Contains(page, s) {
				t.Errorf("%s: page lacks %s", v, s)
			}
		}
	}
}

// TestWriteSum: the SHA-256 writeSum hands back (a pack page's fact,
// its feed's and logo's digests, hashed once) is the file's as written
// and as the catalogue's manifest records it.
func TestWriteSum(t *testing.T) {
	dir := t.TempDir()
	out, err := os.OpenRoot(dir)
	testutil.Must(t, err)
	defer out.Close()
	g := &gen{dir: dir, out: out, links: newLinkFree(out)}
	for _, rel := range []string{"packs/a/index.html", "packs/a/feed.xml"} {
		sha, err := g.writeSum(rel, []byte("<p>"+rel+"</p>"))
		testutil.Must(t, err)
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		testutil.Must(t, err)
		if want := index.Digest(data); sha != want || g.files[len(g.files)-1] != (index.FileRef{Path: rel, SHA256: want, Size: int64(len(data))}) {
			t.Errorf("%s: sha %s, manifest %+v; the file's is %s", rel, sha, g.files[len(g.files)-1], want)
		}
	}
}
