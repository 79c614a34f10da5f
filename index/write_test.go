package index

import (
	"testing"
	"time"
)

func TestRootStamp(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := func() *Root {
		return &Root{SchemaVersion: SchemaVersion, Registry: "r", Packs: 1, Signed: true, Log: &LogRef{Size: 1, Hash: "aGFzaA==", Key: "r+1+old"}}
	}
	prev := base()
	prev.Stamp(t0, time.Hour, nil)
	for _, tc := range []struct {
		name   string
		gen    time.Time
		edit   func(*Root)
		serial int64
	}{
		{"same content and time keeps the serial", t0, nil, prev.Serial},
		{"a later build takes its time", t0.Add(time.Minute), nil, t0.Add(time.Minute).Unix()},
		{"time going backwards still grows the serial", t0.Add(-time.Hour), nil, prev.Serial + 1},
		{"other content at the same time grows it", t0, func(r *Root) { r.Packs = 2 }, prev.Serial + 1},
		// A key rotation built from the live registry's commit: only the
		// log's key differs. Keeping the serial for other bytes made every
		// client that had seen the old index refuse the new one.
		{"a rotated log key at the same time grows it", t0, func(r *Root) { r.Log.Key = "r+2+new" }, prev.Serial + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			if tc.edit != nil {
				tc.edit(r)
			}
			r.Stamp(tc.gen, time.Hour, prev)
			if r.Serial != tc.serial {
				t.Errorf("serial %d, want %d", r.Serial, tc.serial)
			}
		})
	}
	r := &Root{}
	r.Stamp(time.Unix(0, 0), time.Hour, nil)
	if r.Serial != 1 {
		t.Errorf("serial at the epoch %d, want 1", r.Serial)
	}
}

// TestWriteTreeShares: equal nodes are one file, and every name lands in
// the leaf its path names.
func TestWriteTreeShares(t *testing.T) {
	files := map[string][]byte{}
	put := func(p string, data []byte) (FileRef, error) {
		files[p] = data
		return FileRef{Path: p, SHA256: Digest(data), Size: int64(len(data))}, nil
	}
	shard := func(n string) FileRef {
		return FileRef{Path: ShardPath(n, sha), SHA256: sha, Size: 1}
	}
	sums := []Summary{{Name: "b", Layer: "os", Latest: "1", Versions: 1, Shard: shard("b")}, {Name: "a", Layer: "os", Latest: "1", Versions: 1, Shard: shard("a")}}
	refs, err := WriteTree(sums, 2, 2, put)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 4 {
		t.Fatalf("%d top refs, want 4", len(refs))
	}
	// 16 leaves, at most 2 non-empty: one shared empty leaf file, at most
	// 2 others, and at most 4 interior nodes.
	if len(files) > 1+2+4 {
		t.Errorf("%d node files, equal nodes are not shared", len(files))
	}
	root := &Root{SchemaVersion: SchemaVersion, BucketBits: 2, Depth: 2, Buckets: refs}
	for _, name := range []string{"a", "b"} {
		leaf, err := LeafOf(root, name, func(ref FileRef) ([]byte, error) { return files[ref.Path], nil })
		if err != nil || leaf.Find(name) == nil {
			t.Errorf("%s not found through the tree: %v", name, err)
		}
	}
	if _, err := WriteTree(sums, 0, 3, put); err == nil {
		t.Error("an impossible shape was accepted")
	}
}
