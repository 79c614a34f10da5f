package index

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
)

func TestEncodeCanonical(t *testing.T) {
	type inner struct {
		Z int `json:"z"`
		A int `json:"a"`
	}
	got, err := Encode(struct {
		B string            `json:"b"`
		A inner             `json:"a"`
		M map[string]string `json:"m"`
	}{B: "<x>", A: inner{1, 2}, M: map[string]string{"y": "1", "x": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":{"a":2,"z":1},"b":"<x>","m":{"x":"2","y":"1"}}` + "\n"
	if string(got) != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if _, err := Encode(map[string]float64{"x": 1.5}); err == nil {
		t.Fatal("floats must be refused")
	}
}

func TestBuckets(t *testing.T) {
	for _, tc := range []struct{ packs, bits int }{{0, 0}, {1, 1}, {4, 2}, {100, 5}, {1000, 6}, {2000, 7}, {1 << 30, maxBucketBits}} {
		if got := BucketBitsFor(tc.packs); got != tc.bits {
			t.Errorf("BucketBitsFor(%d) = %d, want %d", tc.packs, got, tc.bits)
		}
	}
	for bits := 0; bits <= maxBucketBits; bits++ {
		for _, n := range []string{"calico", "kubernetes", "a"} {
			b := BucketOf(n, bits)
			if b < 0 || b >= 1<<bits {
				t.Fatalf("BucketOf(%q,%d) = %d out of range", n, bits, b)
			}
			if b != BucketOf(n, bits) {
				t.Fatal("not stable")
			}
		}
	}
}

func shard(versions ...string) *Shard {
	s := &Shard{SchemaVersion: 1, Name: "p"}
	for _, v := range versions {
		s.Releases = append(s.Releases, Release{Version: v})
	}
	s.Sort()
	return s
}

func TestResolve(t *testing.T) {
	s := shard("1.0.0", "1.2.0", "1.2.5", "1.10.0", "2.0.0-rc.1", "0.13.2", "0.13.9", "0.14.0", "1.16")
	for _, tc := range []struct {
		c    string
		pre  bool
		want string
	}{
		{"^1.2", false, "1.16"},
		{"~1.2", false, "1.2.5"},
		{"~0.13", false, "0.13.9"},
		{">=1.0 <2.0", false, "1.16"},
		{"1.2.0", false, "1.2.0"},
		{">=2.0.0-0", false, "2.0.0-rc.1"},
		{"^2", true, "2.0.0-rc.1"},
		{"^3", false, ""},
		{"", false, "1.16"},
	} {
		var c *semver.Constraints
		if tc.c != "" {
			var err error
			if c, err = semver.NewConstraint(tc.c); err != nil {
				t.Fatal(err)
			}
		}
		r := s.Resolve(c, tc.pre)
		got := ""
		if r != nil {
			got = r.Version
		}
		if got != tc.want {
			t.Errorf("Resolve(%q, pre=%v) = %q, want %q", tc.c, tc.pre, got, tc.want)
		}
	}
	if l := s.Latest(); l.Version != "1.16" {
		t.Errorf("Latest = %s", l.Version)
	}
	if got := strings.Join(s.Versions(), ","); got != "0.13.2,0.13.9,0.14.0,1.0.0,1.2.0,1.2.5,1.10.0,1.16,2.0.0-rc.1" {
		t.Errorf("sorted = %s", got)
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseShardRejects(t *testing.T) {
	ok := `{"schemaVersion":1,"name":"p","releases":[{"version":"1.0.0","layer":"addon","archive":{"path":"packs/p/1.0.0/p-1.0.0.tar.gz","sha256":"` + sha + `","size":10},"commit":"c","tree":"t","created":"2024-01-01T00:00:00Z","dir":"p"}]}`
	if _, err := ParseShard([]byte(ok), "p"); err != nil {
		t.Fatalf("valid shard refused: %v", err)
	}
	for name, bad := range map[string]string{
		"traversal":     strings.Replace(ok, "packs/p/1.0.0/p-1.0.0.tar.gz", "packs/p/1.0.0/../../../etc/passwd", 1),
		"absolute":      strings.Replace(ok, "packs/p/1.0.0/p-1.0.0.tar.gz", "/etc/passwd", 1),
		"other pack":    strings.Replace(ok, "packs/p/1.0.0/p-1.0.0.tar.gz", "packs/q/1.0.0/q-1.0.0.tar.gz", 1),
		"bad digest":    strings.Replace(ok, sha, "XYZ", 1),
		"wrong name":    strings.Replace(ok, `"name":"p"`, `"name":"q"`, 1),
		"bad version":   strings.Replace(ok, `"version":"1.0.0"`, `"version":"../1"`, 1),
		"unknown field": strings.Replace(ok, `"name":"p"`, `"name":"p","evil":1`, 1),
		"future schema": strings.Replace(ok, `"schemaVersion":1`, `"schemaVersion":2`, 1),
		"trailing":      ok + "{}",
		"not json":      "<html>",
	} {
		if _, err := ParseShard([]byte(bad), "p"); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: want ErrFormat, got %v", name, err)
		}
	}
	// What a newer packgen wrote says so, and what to do; what no
	// packgen wrote does not.
	for _, c := range []struct {
		name, data string
		newer      bool
		msg        string
	}{
		{"unknown field", strings.Replace(ok, `"name":"p"`, `"name":"p","latestState":"deleted"`, 1), true, `shard of p: unknown field "latestState" (a field of a newer packgen): upgrade packgen`},
		{"future schema", strings.Replace(ok, `"schemaVersion":1`, `"schemaVersion":2`, 1), true, "schemaVersion 2; this packgen reads 1 (upgrade packgen)"},
		{"no schema", strings.Replace(ok, `"schemaVersion":1,`, ``, 1), false, "schemaVersion 0; this packgen reads 1"},
		{"wrong type", strings.Replace(ok, `"name":"p"`, `"name":1`, 1), false, "cannot unmarshal number"},
	} {
		_, err := ParseShard([]byte(c.data), "p")
		if !errors.Is(err, ErrFormat) || errors.Is(err, ErrNewerFormat) != c.newer || err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v (newer: %v, want %v; want %q in it)", c.name, err, errors.Is(err, ErrNewerFormat), c.newer, c.msg)
		}
		if !c.newer && err != nil && strings.Contains(err.Error(), "upgrade") {
			t.Errorf("%s: %v: an upgrade is no fix for it", c.name, err)
		}
	}
}

func TestParseRootAndBucket(t *testing.T) {
	root := &Root{SchemaVersion: 1, Registry: "r", Source: Source{Commit: "c"}, Serial: 5, GeneratedAt: time.Unix(0, 0).UTC(), Expires: time.Unix(10, 0).UTC(),
		BucketBits: 1, Buckets: []FileRef{{Path: "index/" + sha + ".json", SHA256: sha, Size: 1}, {Path: "index/" + sha + ".json", SHA256: sha, Size: 1}}}
	data, err := Encode(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRoot(data); err != nil {
		t.Fatal(err)
	}
	root.Buckets = root.Buckets[:1]
	data, _ = Encode(root)
	if _, err := ParseRoot(data); !errors.Is(err, ErrFormat) {
		t.Fatalf("bucket count mismatch accepted: %v", err)
	}
	// The log's proof tiles: absent or height 4, nothing else.
	for _, c := range []struct {
		height int
		ok     bool
	}{{0, true}, {LogProofTileHeight, true}, {8, false}, {2, false}, {-4, false}} {
		root.Buckets = root.Buckets[:0:0]
		root.Buckets = append(root.Buckets, FileRef{Path: "index/" + sha + ".json", SHA256: sha, Size: 1}, FileRef{Path: "index/" + sha + ".json", SHA256: sha, Size: 1})
		root.Log = &LogRef{Size: 3, Hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Key: "r+01234567+AQID", ProofTileHeight: c.height}
		data, _ = Encode(root)
		got, err := ParseRoot(data)
		switch {
		case c.ok && (err != nil || got.Log.ProofTileHeight != c.height):
			t.Errorf("proofTileHeight %d: %v", c.height, err)
		case !c.ok && !errors.Is(err, ErrFormat):
			t.Errorf("proofTileHeight %d accepted: %v", c.height, err)
		}
		if c.height == 0 && strings.Contains(string(data), "proofTileHeight") {
			t.Errorf("an absent proofTileHeight is written: %s", data)
		}
	}
	b := Bucket{SchemaVersion: 1, Packs: []Summary{{Name: "calico", Latest: "1.0.0", Shard: FileRef{Path: "packs/calico/shards/" + sha + ".json", SHA256: sha}}}}
	data, _ = Encode(b)
	if _, err := ParseBucket(data, 1, BucketOf("calico", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseBucket(data, 1, 1-BucketOf("calico", 1)); !errors.Is(err, ErrFormat) {
		t.Fatal("pack in the wrong bucket accepted")
	}
	b.Packs[0].Shard.Path = "packs/other/shards/x.json"
	data, _ = Encode(b)
	if _, err := ParseBucket(data, 0, 0); !errors.Is(err, ErrFormat) {
		t.Fatal("shard of another pack accepted")
	}
}

func TestCachePolicy(t *testing.T) {
	for p, imm := range map[string]bool{
		"index.json":                       false,
		"index/" + sha + ".json":           true,
		"packs/p/shards/" + sha + ".json":  true,
		"packs/p/index.json":               false,
		"packs/p/1.0.0/p-1.0.0.tar.gz":     true,
		"packs/p/1.0.0/p-1.0.0.tar.gz.sig": false, // rewritten by a key rotation
		"index.html":                       false,
	} {
		if Immutable(p) != imm {
			t.Errorf("Immutable(%s) = %v", p, !imm)
		}
	}
	if ContentType("feed.xml") != "application/atom+xml" || ContentType("packs/a/feed.xml") != "application/atom+xml" {
		t.Error("Atom feeds are not served as Atom")
	}
	if ContentType("index.json") != "application/json" || ContentType("a.tar.gz") != "application/gzip" {
		t.Error("content types")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"name":"p","releases":[]}`))
	f.Add([]byte(`{"schemaVersion":1,"registry":"r","source":{"commit":"c"},"serial":1,"generatedAt":"2024-01-01T00:00:00Z","expires":"2025-01-01T00:00:00Z","packs":0,"releases":0,"bucketBits":0,"buckets":[{"path":"index/` + sha + `.json","sha256":"` + sha + `","size":3}]}`))
	f.Add([]byte(`{"schemaVersion":1,"packs":[{"name":"a","layer":"os","latest":"1","versions":1,"shard":{"path":"packs/a/shards/x.json","sha256":"` + sha + `","size":1}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := ParseShard(data, "p"); err == nil {
			s.Sort()
			s.Latest()
			s.Resolve(nil, true)
		}
		if r, err := ParseRoot(data); err == nil && len(r.Buckets) != 1<<r.BucketBits {
			t.Fatal("inconsistent root accepted")
		}
		if b, err := ParseBucket(data, 0, 0); err == nil {
			b.Find("a")
		}
	})
}

func TestKindOf(t *testing.T) {
	for p, want := range map[string]Kind{
		"index.json":                                 KindRoot,
		"index.json.sig":                             KindRootSignature,
		"index.json.sigstore.json":                   KindRootSignature,
		"signatures/" + sha + ".sig":                 KindDigestSig,
		"index/" + sha + ".json":                     KindBucket,
		"packs/p/shards/" + sha + ".json":            KindShard,
		"packs/p/index.json":                         KindLatestShard,
		"packs/p/1.0.0/p-1.0.0.tar.gz":               KindArchive,
		"packs/p/1.0.0/p-1.0.0.tar.gz.sig":           KindArchiveSig,
		"packs/p/1.0.0/p-1.0.0.tar.gz.sigstore.json": KindArchiveSig,
		"packs/p/index.html":                         KindOther,
		"index.html":                                 KindOther,
		"assets/catalog.js":                          KindOther,
		"packs/p/1.0.0/extra/x.tar.gz":               KindOther,
		"log/checkpoint":                             KindLogCheckpoint,
		"log/tile/8/0/001":                           KindLogTile,
		"log/tile/8/data/x001/234":                   KindLogTile,
		"log/tile/8/1/000.p/7":                       KindLogPartialTile,
		"log/tile/8/data/000.p/7":                    KindLogPartialTile,
		"log/tile/4/0/x001/234":                      KindLogTile,
		"log/tile/4/2/000.p/15":                      KindLogPartialTile,
		"log/other":                                  KindOther,
		"log/tile/8/x/evil.html":                     KindOther, // no tile's name (attackX F2)
		"log/tile/8/0/001.html":                      KindOther,
		"log/tile/8/0/001.p/0":                       KindOther,
		"log/tile/8/0/001.p/256":                     KindOther,
		"log/tile/":                                  KindOther,
		"log/witness/witness.example":                KindLogWitness,
		"catalogue-manifest.json":                    KindCatalogue,
		"catalogue-manifest.json.sig":                KindCatalogueSignature,
		"catalogue-manifest.json.sigstore.json":      KindCatalogueSignature,
		"catalog.json":                               KindOther,
		"airgap.json":                                KindAirgap,
	} {
		if got := KindOf(p); got != want {
			t.Errorf("KindOf(%s) = %d, want %d", p, got, want)
		}
	}
	// A full tile is cached forever; a partial one and the checkpoint,
	// which the next build supersedes, are not.
	for p, want := range map[string]bool{"log/tile/8/0/001": true, "log/tile/8/0/001.p/3": false, "log/tile/4/1/001": true, "log/tile/4/0/001.p/3": false, "log/checkpoint": false} {
		if got := Immutable(p); got != want {
			t.Errorf("Immutable(%s) = %v, want %v", p, got, want)
		}
	}
}
