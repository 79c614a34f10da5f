package site

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/factfile"
)

// digestOf is a fake archive digest: 64 hex digits from n.
func digestOf(n int) string {
	return strings.Repeat("0", 60) + string("0123456789abcdef"[n/16%16]) + strings.Repeat(string("0123456789abcdef"[n%16]), 3)
}

// TestImageCacheFile reads cache files as a machine may hold them: only
// complete lines of this packgen's cache are indexed, a view longer than
// the reader's buffer is found whole, and nothing is read into memory
// before a page asks for it.
func TestImageCacheFile(t *testing.T) {
	head := imageCacheHeader + imageKeyOnce() + "\n"
	long := `{"note":"` + strings.Repeat("ü", 70<<10) + `"}` // over bufio's 64 KiB
	a, b, c := digestOf(1), digestOf(2), digestOf(3)
	for _, tc := range []struct {
		name string
		file string
		want map[string]string // digest → view JSON; nil: started over
	}{
		{"none", "", nil},
		{"another packgen", imageCacheHeader + "site-0\n" + a + ` {"note":"x"}` + "\n", nil},
		{"no header line", a + ` {"note":"x"}`, nil},
		{"header only", head, map[string]string{}},
		{"two views", head + a + ` {"note":"x"}` + "\n" + b + ` {"declared":2}` + "\n", map[string]string{a: `{"note":"x"}`, b: `{"declared":2}`}},
		{"a view longer than the buffer", head + a + " " + long + "\n" + b + ` {"note":"y"}` + "\n", map[string]string{a: long, b: `{"note":"y"}`}},
		{"a last line cut short", head + a + ` {"note":"x"}` + "\n" + b + ` {"note"`, map[string]string{a: `{"note":"x"}`}},
		{"lines that are not views", head + "short\n" + a + "\n" + a + "x{}\n\n" + c + " " + "\n" + b + ` {}` + "\n", map[string]string{b: `{}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(dir, imageCacheFile), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cache := loadImageCache(dir)
			defer cache.close()
			if tc.want == nil {
				if cache.old != nil || len(cache.oldAt) != 0 {
					t.Fatalf("indexed %d views of a file to start over", len(cache.oldAt))
				}
				return
			}
			got := map[string]string{}
			for k, at := range cache.oldAt {
				buf, ok := factfile.ReadAt(cache.old, k, at)
				if !ok {
					t.Fatalf("view %s: not the line indexed", k)
				}
				got[k] = string(buf)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("indexed %d views, want %d", len(got), len(tc.want))
			}
		})
	}
}

// TestImageCacheRoundTrip stores views, saves, and reads them back in
// another build: the same views, a file sorted by digest that keeps the
// views other builds left, and no spill file left in the cache dir.
func TestImageCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	first := loadImageCache(dir)
	views := map[string]*imageView{
		digestOf(5): {Declared: 1, Rows: []imageRow{{Image: "registry.example.com/a:1", Declared: true, Found: "no", Warn: "unused", Sources: []string{"declared values.yaml:5"}}}},
		digestOf(4): {Note: "the chart does not render: ü"},
	}
	for k, v := range views {
		first.store(k, v)
	}
	if v, ok := first.lookup(digestOf(4)); !ok || v.Note != views[digestOf(4)].Note {
		t.Fatalf("a view stored in this build: %+v, %v", v, ok)
	}
	if err := first.save(); err != nil {
		t.Fatal(err)
	}
	first.close()
	assertOnlyCacheFile(t, dir)

	second := loadImageCache(dir)
	for k, want := range views {
		got, ok := second.lookup(k)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("view %s: %+v, %v; want %+v", k[60:], got, ok, want)
		}
	}
	if _, ok := second.lookup(digestOf(6)); ok {
		t.Error("a view nobody stored was found")
	}
	// Nothing new found: the file is not written again.
	before, _ := os.Stat(filepath.Join(dir, imageCacheFile))
	if err := second.save(); err != nil {
		t.Fatal(err)
	}
	second.close()
	if after, _ := os.Stat(filepath.Join(dir, imageCacheFile)); !os.SameFile(before, after) {
		t.Error("a build that found nothing new rewrote the cache")
	}

	// A third build finds one more: the file holds all three, sorted.
	third := loadImageCache(dir)
	third.store(digestOf(3), &imageView{NoRenders: true})
	if err := third.save(); err != nil {
		t.Fatal(err)
	}
	third.close()
	assertOnlyCacheFile(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, imageCacheFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 4 || lines[0] != imageCacheHeader+imageKeyOnce() {
		t.Fatalf("cache file:\n%s", b)
	}
	for i, d := range []int{3, 4, 5} {
		if !strings.HasPrefix(lines[i+1], digestOf(d)+" {") {
			t.Errorf("line %d: %.70s, want digest %s first", i+2, lines[i+1], digestOf(d)[60:])
		}
	}
}

// TestImageCacheNoDir: without a cache dir nothing is kept or written;
// with one that cannot be written the build goes on without remembering.
func TestImageCacheNoDir(t *testing.T) {
	c := loadImageCache("")
	c.store(digestOf(1), &imageView{Note: "x"})
	if _, ok := c.lookup(digestOf(1)); ok || c.spill != nil || len(c.used) != 0 {
		t.Error("a cache without a dir remembered a view")
	}
	if err := c.save(); err != nil {
		t.Error(err)
	}
	c.close()

	parent := t.TempDir()
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c = loadImageCache(filepath.Join(file, "cache")) // under a regular file: nothing can be made
	c.store(digestOf(1), &imageView{Note: "x"})
	if !c.noSpill || len(c.spillAt) != 0 {
		t.Error("stored a view with no place to keep it")
	}
	if err := c.save(); err != nil {
		t.Error(err)
	}
	c.close()
}

// assertOnlyCacheFile fails when dir holds anything but the cache file
// (a spill or temp file left behind).
func assertOnlyCacheFile(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != imageCacheFile {
			t.Errorf("left in the cache dir: %s", e.Name())
		}
	}
}
