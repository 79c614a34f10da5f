package index

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestShapeFor(t *testing.T) {
	for _, tc := range []struct{ n, bits, depth int }{
		{0, 0, 1}, {20, 4, 1}, {200, 5, 1}, {256, 5, 1}, // small registries: unchanged
		{257, 4, 2}, {1000, 4, 2}, {2048, 4, 2}, {2049, 4, 3}, {32768, 4, 3}, {32769, 4, 4}, {1 << 30, 4, 4},
	} {
		bits, depth := ShapeFor(tc.n)
		if bits != tc.bits || depth != tc.depth {
			t.Errorf("ShapeFor(%d) = %d bits × %d levels, want %d × %d", tc.n, bits, depth, tc.bits, tc.depth)
		}
		if err := CheckShape(bits, depth); err != nil {
			t.Errorf("ShapeFor(%d) gives a shape readers refuse: %v", tc.n, err)
		}
	}
	for _, bad := range [][2]int{{4, 0}, {4, 5}, {13, 1}, {-1, 1}, {0, 2}, {12, 3}, {9, 3}} {
		if err := CheckShape(bad[0], bad[1]); err == nil {
			t.Errorf("CheckShape(%d bits, depth %d) accepted", bad[0], bad[1])
		}
	}
}

// memTree builds a bucket tree the way build does, in memory: leaves,
// then interior levels bottom-up, each node stored under its digest.
func memTree(t *testing.T, names []string, bits, depth int) (*Root, map[string][]byte) {
	t.Helper()
	files := map[string][]byte{}
	put := func(b Bucket) FileRef {
		data, err := Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		ref := FileRef{Path: BucketPath(Digest(data)), SHA256: Digest(data), Size: int64(len(data))}
		files[ref.Path] = data
		return ref
	}
	leaves := make([]Bucket, 1<<(bits*depth))
	for i := range leaves {
		leaves[i] = Bucket{SchemaVersion: 1, Packs: []Summary{}}
	}
	for _, n := range names { // names sorted
		l := &leaves[BucketOf(n, bits*depth)]
		l.Packs = append(l.Packs, Summary{Name: n, Layer: "addon", Latest: "1.0.0", Versions: 1, Shard: FileRef{Path: ShardPath(n, sha), SHA256: sha, Size: 1}})
	}
	refs := make([]FileRef, len(leaves))
	for i := range leaves {
		refs[i] = put(leaves[i])
	}
	for level := depth - 1; level >= 1; level-- {
		up := make([]FileRef, len(refs)>>bits)
		for i := range up {
			up[i] = put(Bucket{SchemaVersion: 1, Buckets: refs[i<<bits : (i+1)<<bits]})
		}
		refs = up
	}
	root := &Root{SchemaVersion: 1, Registry: "r", Source: Source{Commit: "c"}, Serial: 1, GeneratedAt: time.Unix(0, 0).UTC(), Expires: time.Unix(10, 0).UTC(),
		Packs: len(names), BucketBits: bits, Buckets: refs}
	if depth > 1 {
		root.Depth = depth
	}
	return root, files
}

func memFetch(files map[string][]byte) FetchFunc {
	return func(_ context.Context, p string, _ int64) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
	}
}

// memStat is memFetch's StatFunc.
func memStat(files map[string][]byte) StatFunc {
	return func(ctx context.Context, ref FileRef) error {
		_, err := memFetch(files)(ctx, ref.Path, 0)
		return err
	}
}

func TestTreeRoundTrip(t *testing.T) {
	var names []string
	for i := 0; i < 60; i++ {
		names = append(names, fmt.Sprintf("pack-%03d", i))
	}
	for _, shape := range [][2]int{{0, 1}, {3, 1}, {1, 2}, {2, 3}, {4, 2}, {3, 4}} {
		bits, depth := shape[0], shape[1]
		t.Run(fmt.Sprintf("%dx%d", bits, depth), func(t *testing.T) {
			root, files := memTree(t, names, bits, depth)
			data, err := Encode(root)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(data), `"depth"`); got != (depth > 1) {
				t.Fatalf("depth field present = %v for depth %d: %s", got, depth, data)
			}
			root, err = ParseRoot(data)
			if err != nil {
				t.Fatal(err)
			}
			files[RootFile] = data
			fetch := memFetch(files)
			_, _, all, err := ReadCatalog(context.Background(), fetch)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != len(names) {
				t.Fatalf("catalog has %d packs, want %d", len(all), len(names))
			}
			for i, s := range all {
				if s.Name != names[i] {
					t.Fatalf("catalog[%d] = %s, want %s", i, s.Name, names[i])
				}
				got, err := Lookup(context.Background(), fetch, root, s.Name)
				if err != nil || got == nil || got.Name != s.Name {
					t.Fatalf("Lookup(%s) = %v, %v", s.Name, got, err)
				}
			}
			if got, err := Lookup(context.Background(), fetch, root, "absent"); err != nil || got != nil {
				t.Fatalf("Lookup(absent) = %v, %v", got, err)
			}
		})
	}
}

func TestTreeRefusals(t *testing.T) {
	leaf := func(names ...string) []byte {
		b := Bucket{SchemaVersion: 1, Packs: []Summary{}}
		for _, n := range names {
			b.Packs = append(b.Packs, Summary{Name: n, Latest: "1", Shard: FileRef{Path: ShardPath(n, sha), SHA256: sha, Size: 1}})
		}
		data, _ := Encode(b)
		return data
	}
	ref := FileRef{Path: BucketPath(sha), SHA256: sha, Size: 1}
	interior := func(n int) []byte {
		refs := make([]FileRef, n)
		for i := range refs {
			refs[i] = ref
		}
		data, _ := Encode(Bucket{SchemaVersion: 1, Buckets: refs})
		return data
	}
	const bits, depth = 2, 3
	full := BucketOf("calico", bits*depth)
	if _, err := ParseNode(leaf("calico"), bits, depth, depth, full); err != nil {
		t.Fatalf("good leaf refused: %v", err)
	}
	if _, err := ParseNode(interior(4), bits, depth, 2, full>>bits); err != nil {
		t.Fatalf("good interior node refused: %v", err)
	}
	if b, _ := ParseNode(leaf(), bits, depth, depth, 0); b == nil || b.Packs == nil || !b.Leaf() {
		t.Fatal("empty leaf not read as a leaf with no packs")
	}
	mixed := []byte(`{"buckets":[],"packs":[],"schemaVersion":1}`)
	for name, c := range map[string]struct {
		data         []byte
		level, index int
		want         string
	}{
		"name in another leaf":       {leaf("calico"), depth, full ^ 1, "belongs to bucket"},
		"name under another parent":  {leaf("calico"), depth, full ^ (1 << bits), "belongs to bucket"},
		"too few children":           {interior(3), 1, 0, "has 3 children, expected 4"},
		"too many children":          {interior(5), 2, 0, "has 5 children, expected 4"},
		"leaf above the last level":  {leaf(), 2, 0, "must be an interior node"},
		"interior at the last level": {interior(4), depth, 0, "must be a leaf"},
		"leaf and interior":          {mixed, depth, 0, "must be a leaf"},
		"interior and leaf":          {mixed, 1, 0, "must be an interior node"},
		"neither":                    {[]byte(`{"schemaVersion":1}`), depth, 0, "must be a leaf"},
		"null packs":                 {[]byte(`{"packs":null,"schemaVersion":1}`), depth, 0, "must be a leaf"},
		"index out of range":         {leaf(), depth, 1 << (bits * depth), "no node"},
		"level out of range":         {leaf(), depth + 1, 0, "no node"},
		"unknown field":              {[]byte(`{"packs":[],"schemaVersion":1,"x":1}`), depth, 0, "unknown field"},
	} {
		_, err := ParseNode(c.data, bits, depth, c.level, c.index)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want ErrFormat mentioning %q, got %v", name, c.want, err)
		}
	}
	for _, shape := range [][2]int{{4, 5}, {0, 2}, {12, 3}, {13, 1}} {
		if _, err := ParseNode(leaf(), shape[0], shape[1], 1, 0); !errors.Is(err, ErrFormat) {
			t.Errorf("shape %d bits × %d levels accepted: %v", shape[0], shape[1], err)
		}
	}

	// The root: depth out of range, or written as 1 (absent is 1).
	root, _ := memTree(t, []string{"calico"}, 2, 2)
	for depthField, want := range map[int]string{1: "depth 1 must be left out", 5: "outside 1..4", -1: "outside 1..4", 2: ""} {
		r := *root
		r.Depth = depthField
		data, _ := Encode(&r)
		_, err := ParseRoot(data)
		if want == "" {
			if err != nil {
				t.Errorf("depth %d refused: %v", depthField, err)
			}
		} else if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), want) {
			t.Errorf("depth %d: want %q, got %v", depthField, want, err)
		}
	}
}

// A tampered interior node is caught by its parent's digest.
func TestTreeTamperedInterior(t *testing.T) {
	root, files := memTree(t, []string{"calico", "cilium"}, 2, 3)
	data, _ := Encode(root)
	files[RootFile] = data
	mid := root.Buckets[BucketOf("calico", 2)].Path
	files[mid] = append([]byte(nil), files[mid]...)
	files[mid][10] ^= 1
	if _, err := Lookup(context.Background(), memFetch(files), root, "calico"); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("tampered interior node: want ErrDigestMismatch, got %v", err)
	}
	if _, _, _, err := ReadCatalog(context.Background(), memFetch(files)); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("catalog over a tampered interior node: want ErrDigestMismatch, got %v", err)
	}
}
