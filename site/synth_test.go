package site

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack/meta"
)

// tinyPNG is a valid 1x1 PNG.
var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

// synthPack describes a pack of a synthetic snapshot.
type synthPack struct {
	name, display, layer, addonType string
	clouds                          []string
	versions                        []string
	deps                            []string
	files                           map[string][]byte // files of the latest archive, besides pack.json
	// vfiles are files of other versions' archives, by version.
	vfiles map[string]map[string][]byte
	// state is annotations.system_state by version.
	state map[string]string
	// release edits each release after synth fills it in.
	release func(r *index.Release)
}

// gzPool saves allocating a compressor per synthetic archive.
var gzPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// writeTGZ writes a tar.gz rooted at name/ with the given files.
func writeTGZ(t testing.TB, file, name string, files map[string][]byte) index.FileRef {
	t.Helper()
	var buf bytes.Buffer
	zw := gzPool.Get().(*gzip.Writer)
	defer gzPool.Put(zw)
	zw.Reset(&buf)
	if err := tartest.Write(zw, tartest.Files(name+"/", files)...); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return index.FileRef{SHA256: hex.EncodeToString(sum[:]), Size: int64(buf.Len())}
}

// synth writes the archives of packs into dir and returns the snapshot a
// build would hand to Write.
func synth(t testing.TB, dir string, packs []synthPack) (*index.Root, []*index.Shard) {
	t.Helper()
	root := &index.Root{SchemaVersion: 1, Registry: "synthetic", Source: index.Source{Repo: "https://github.com/example/packs.git", Commit: "0123456789abcdef0123456789abcdef01234567"}}
	var shards []*index.Shard
	for _, p := range packs {
		s := &index.Shard{SchemaVersion: 1, Name: p.name}
		for i, v := range p.versions {
			files := map[string][]byte{"pack.json": []byte(`{"name":"` + p.name + `"}`)}
			if i == len(p.versions)-1 {
				for k, b := range p.files {
					files[k] = b
				}
			}
			for k, b := range p.vfiles[v] {
				files[k] = b
			}
			ap := index.ArchivePath(p.name, v)
			ref := writeTGZ(t, filepath.Join(dir, filepath.FromSlash(ap)), p.name, files)
			ref.Path = ap
			r := index.Release{
				Version: v, Layer: p.layer, DisplayName: p.display, AddonType: p.addonType,
				CloudTypes: p.clouds, Archive: ref,
				Commit:  fmt.Sprintf("%040x", i+1),
				Tree:    fmt.Sprintf("%040x", i+100),
				Created: time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC),
				Dir:     "packs/" + p.name + "-" + v,
			}
			for _, d := range p.deps {
				r.Dependencies = append(r.Dependencies, meta.Dependency{PackName: d, MinVersion: "1.0.0", Type: "required"})
			}
			if st := p.state[v]; st != "" {
				r.Annotations = map[string]string{index.SystemStateAnnotation: st}
			}
			if p.release != nil {
				p.release(&r)
			}
			s.Releases = append(s.Releases, r)
		}
		s.Sort()
		shards = append(shards, s)
		root.Packs++
		root.Releases += len(s.Releases)
	}
	return root, shards
}

// writeIndexOnly writes the index page, catalogue data and assets of n
// synthetic packs without their pages or archives (only the feeds the
// registry's feed reads): the browser's
// 5,000-pack test needs only the index, and this keeps it fast under -race.
func writeIndexOnly(t testing.TB, dir string, n int) {
	t.Helper()
	out, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	g := &gen{dir: dir, out: out, links: newLinkFree(out), root: &index.Root{Registry: "synthetic"}}
	var entries []*entry
	for i, p := range manyPacks(n, 1) {
		r := index.Release{Version: p.versions[0], Layer: p.layer, DisplayName: p.display, AddonType: p.addonType, CloudTypes: p.clouds}
		s := &index.Shard{SchemaVersion: 1, Name: p.name, Releases: []index.Release{r}}
		e := &entry{Shard: s, Latest: &s.Releases[0], HasLogo: i%10 == 0}
		entries = append(entries, e)
		// The registry's feed takes its entries from the packs' feeds
		// (the first 100 packs by name: the releases have one date).
		if i < maxFeedItems {
			feed, err := g.packFeed(s, nil)
			if err == nil {
				err = g.writeFile(path.Join(packDir(p.name), FeedFile), feed)
			}
			if err != nil {
				t.Fatal(err)
			}
			e.feed = index.Digest(feed)
		}
		if i%10 == 0 {
			if err := g.writeFile(path.Join(packDir(p.name), logoFile), tinyPNG); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := g.writeIndex(entries); err != nil {
		t.Fatal(err)
	}
}

// manyPacks is a synthetic registry of n packs with k versions each.
func manyPacks(n, k int) []synthPack {
	layers := []string{"os", "k8s", "cni", "csi", "addon", "addon", "addon", "addon"}
	types := []string{"monitoring", "logging", "security", "ingress", "storage"}
	clouds := [][]string{{"all"}, {"aws"}, {"azure", "gcp"}, {"vsphere", "maas"}, {"aws", "eks"}}
	var out []synthPack
	for i := 0; i < n; i++ {
		p := synthPack{
			name:    fmt.Sprintf("pack-%05d", i),
			display: fmt.Sprintf("Pack %d %s", i, types[i%len(types)]),
			layer:   layers[i%len(layers)],
			clouds:  clouds[i%len(clouds)],
			files: map[string][]byte{
				"values.yaml": []byte(fmt.Sprintf("pack:\n  namespace: ns-%d # where it goes\n  replicas: %d\n  enabled: true\n", i, i%5)),
				"README.md":   []byte(fmt.Sprintf("# Pack %d\n\nSome *text* and a [link](https://example.com/%d).\n", i, i)),
			},
		}
		if i%10 == 0 {
			p.files["logo.png"] = tinyPNG
		}
		if p.layer == "addon" {
			p.addonType = types[i%len(types)]
		}
		if i > 0 && i%3 == 0 {
			p.deps = []string{fmt.Sprintf("pack-%05d", i-1)}
		}
		for v := 1; v <= k; v++ {
			p.versions = append(p.versions, fmt.Sprintf("1.%d.0", v))
		}
		out = append(out, p)
	}
	return out
}

// catalogueFiles reads every file Write owns (pages, logos, assets,
// catalog), keyed by slash path.
func catalogueFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch path.Ext(rel) {
		case ".html", ".png", ".js", ".css", ".svg", ".xml":
		default:
			if rel != CatalogJSON {
				return nil
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
