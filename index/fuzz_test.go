package index

import (
	"path"
	"strings"
	"testing"
)

// Seeds for these targets live in testdata/fuzz/<target>/: real files of
// a built registry and the crashers found so far.

// inside reports whether p is a clean relative path under prefix.
func inside(p, prefix string) bool {
	if p != path.Clean(p) || !strings.HasPrefix(p, prefix) || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return false
		}
	}
	return true
}

// FuzzParseRoot: an accepted index.json is consistent, points only into
// index/, and survives a canonical re-encoding.
func FuzzParseRoot(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"registry":"r","source":{"commit":"c"},"serial":1,"generatedAt":"2024-01-01T00:00:00Z","expires":"2025-01-01T00:00:00Z","packs":0,"releases":0,"bucketBits":0,"buckets":[{"path":"index/` + sha + `.json","sha256":"` + sha + `","size":3}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRoot(data)
		if err != nil {
			return
		}
		if len(r.Buckets) != 1<<r.BucketBits || r.Serial < 1 || CheckShape(r.BucketBits, r.Levels()) != nil || r.Depth == 1 {
			t.Fatalf("inconsistent root accepted: bits %d, depth %d, %d buckets, serial %d", r.BucketBits, r.Depth, len(r.Buckets), r.Serial)
		}
		for _, b := range r.Buckets {
			if !inside(b.Path, "index/") || len(b.SHA256) != 64 || b.Size < 0 {
				t.Fatalf("bucket ref %+v accepted", b)
			}
		}
		again, err := Encode(r)
		if err != nil {
			t.Fatalf("accepted root does not encode: %v", err)
		}
		if _, err := ParseRoot(again); err != nil {
			t.Fatalf("re-encoded root rejected: %v\n%s", err, again)
		}
	})
}

// FuzzParseBucket: an accepted bucket holds only names of its own bucket,
// sorted, each pointing into its own packs/<name>/.
func FuzzParseBucket(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"packs":[{"name":"a","layer":"os","latest":"1","versions":1,"shard":{"path":"packs/a/shards/x.json","sha256":"`+sha+`","size":1}}]}`), uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, bits uint8, idx uint16) {
		b, err := ParseBucket(data, int(bits%13), int(idx))
		if err != nil {
			return
		}
		for i, s := range b.Packs {
			if BucketOf(s.Name, int(bits%13)) != int(idx) {
				t.Fatalf("pack %q of another bucket accepted", s.Name)
			}
			if !inside(s.Shard.Path, "packs/"+s.Name+"/") {
				t.Fatalf("shard path %q of %s accepted", s.Shard.Path, s.Name)
			}
			if b.Find(s.Name) != &b.Packs[i] {
				t.Fatalf("Find(%q) does not find it", s.Name)
			}
		}
	})
}

// FuzzParseNode: an accepted node of a bucket tree is an interior node
// with exactly 1<<bits children pointing into index/, or a leaf whose
// names all hash to its full path; never both.
func FuzzParseNode(f *testing.F) {
	ref := `{"path":"index/` + sha + `.json","sha256":"` + sha + `","size":1}`
	f.Add([]byte(`{"buckets":[`+ref+`,`+ref+`,`+ref+`,`+ref+`],"schemaVersion":1}`), uint8(2), uint8(2), uint8(1), uint32(1))
	f.Add([]byte(`{"packs":[{"name":"a","layer":"os","latest":"1","versions":1,"shard":{"path":"packs/a/shards/x.json","sha256":"`+sha+`","size":1}}],"schemaVersion":1}`), uint8(2), uint8(2), uint8(2), uint32(BucketOf("a", 4)))
	f.Add([]byte(`{"buckets":[],"packs":[],"schemaVersion":1}`), uint8(1), uint8(3), uint8(3), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, bits, depth, level uint8, idx uint32) {
		bi, d, l, i := int(bits%14), int(depth%6), int(level%6), int(idx%(1<<25))
		b, err := ParseNode(data, bi, d, l, i)
		if err != nil {
			return
		}
		if CheckShape(bi, d) != nil {
			t.Fatalf("node of an invalid shape %d×%d accepted", bi, d)
		}
		if (b.Buckets != nil) == (b.Packs != nil) {
			t.Fatalf("node both or neither interior and leaf accepted: %+v", b)
		}
		if l < d {
			if len(b.Buckets) != 1<<bi {
				t.Fatalf("interior node with %d children accepted (bits %d)", len(b.Buckets), bi)
			}
			for _, c := range b.Buckets {
				if !inside(c.Path, "index/") || len(c.SHA256) != 64 || c.Size < 0 {
					t.Fatalf("child ref %+v accepted", c)
				}
			}
		} else {
			for _, s := range b.Packs {
				if BucketOf(s.Name, bi*d) != i {
					t.Fatalf("pack %q of another leaf accepted", s.Name)
				}
			}
		}
		again, err := Encode(b)
		if err != nil {
			t.Fatalf("accepted node does not encode: %v", err)
		}
		if _, err := ParseNode(again, bi, d, l, i); err != nil {
			t.Fatalf("re-encoded node rejected: %v\n%s", err, again)
		}
	})
}

// FuzzParseShard: an accepted shard's files all lie under their own
// packs/<name>/<version>/, and resolution never panics.
func FuzzParseShard(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"name":"p","releases":[{"version":"1.0.0","layer":"os","archive":{"path":"packs/p/1.0.0/p-1.0.0.tar.gz","sha256":"` + sha + `","size":1},"commit":"c","tree":"t","created":"2024-01-01T00:00:00Z","dir":"p"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseShard(data, "p")
		if err != nil {
			return
		}
		for _, r := range s.Releases {
			dir := "packs/p/" + r.Version + "/"
			for _, p := range []string{r.Archive.Path, r.Signature, r.Bundle} {
				if p != "" && !inside(p, dir) {
					t.Fatalf("release %s: path %q accepted", r.Version, p)
				}
			}
		}
		s.Sort()
		s.Latest()
		s.Resolve(nil, true)
		s.Versions()
		if _, err := Encode(s); err != nil {
			t.Fatalf("accepted shard does not encode: %v", err)
		}
	})
}

// FuzzParseAirgap: an accepted marker names only valid packs, versions
// and list digests, and encodes back to what it reads as.
func FuzzParseAirgap(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"bundles":[{"list":"sha256:` + sha + `","releases":[{"name":"web","version":"v1.0"}]}]}`))
	f.Add([]byte(`{"schemaVersion":1,"bundles":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAirgap(data)
		if err != nil {
			return
		}
		for _, b := range a.Bundles {
			for _, r := range b.Releases {
				if !a.Has(r.Name, r.Version) || !a.HasPack(r.Name) || !ValidVersionPath(r.Version) || strings.Contains(r.Name, "/") {
					t.Fatalf("accepted %q@%q", r.Name, r.Version)
				}
			}
		}
		enc, err := NewAirgap(a.Bundles...).Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseAirgap(enc); err != nil {
			t.Fatalf("what NewAirgap writes does not read: %v\n%s", err, enc)
		}
	})
}

// FuzzParseCatalogue: an accepted catalogue manifest names index.json,
// lists clean paths of the catalogue only (none of the registry's own
// files), sorted and each once, Find finds each, and it encodes to
// bytes that parse again.
func FuzzParseCatalogue(f *testing.F) {
	ref := func(p string) string { return `{"path":"` + p + `","sha256":"` + sha + `","size":1}` }
	f.Add([]byte(`{"files":[` + ref("assets/app.js") + `,` + ref("index.html") + `,` + ref("packs/a/index.html") + `],"index":` + ref("index.json") + `,"schemaVersion":1}`))
	f.Add([]byte(`{"files":[],"index":` + ref("index.json") + `,"schemaVersion":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCatalogue(data)
		if err != nil {
			return
		}
		if c.Index.Path != RootFile || len(c.Index.SHA256) != 64 || c.Index.Size < 0 {
			t.Fatalf("index ref %+v accepted", c.Index)
		}
		for i, f := range c.Files {
			if !inside(f.Path, "") || KindOf(f.Path) != KindOther || (i > 0 && c.Files[i-1].Path >= f.Path) {
				t.Fatalf("file %+v accepted (at %d)", f, i)
			}
			if got, ok := c.Find(f.Path); !ok || got != f {
				t.Fatalf("Find(%q) = %+v, %v", f.Path, got, ok)
			}
		}
		again, err := Encode(c)
		if err != nil {
			t.Fatalf("accepted manifest does not encode: %v", err)
		}
		if _, err := ParseCatalogue(again); err != nil {
			t.Fatalf("re-encoded manifest rejected: %v\n%s", err, again)
		}
	})
}
