package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/index"
)

// ForgeShard rewrites pack name's shard in a built site (one bucket
// level) with edit, as an attacker with write access to the bucket
// would: the shard, its human-friendly copy, its bucket and index.json
// are written again with matching digests; the signatures are left as
// they are.
func ForgeShard(t testing.TB, site, name string, edit func(*index.Shard)) {
	t.Helper()
	read := func(p string) []byte {
		data, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(p)))
		Must(t, err)
		return data
	}
	write := func(p string, data []byte) index.FileRef {
		Must(t, os.MkdirAll(filepath.Dir(filepath.Join(site, filepath.FromSlash(p))), 0o755))
		Must(t, os.WriteFile(filepath.Join(site, filepath.FromSlash(p)), data, 0o644))
		return index.FileRef{Path: p, SHA256: index.Digest(data), Size: int64(len(data))}
	}
	root, err := index.ParseRoot(read(index.RootFile))
	Must(t, err)
	if root.Levels() != 1 {
		t.Fatal("ForgeShard handles one bucket level")
	}
	for i, bref := range root.Buckets {
		b, err := index.ParseNode(read(bref.Path), root.BucketBits, 1, 1, i)
		Must(t, err)
		for j, s := range b.Packs {
			if s.Name != name {
				continue
			}
			shard, err := index.ParseShard(read(s.Shard.Path), name)
			Must(t, err)
			edit(shard)
			data, err := index.Encode(shard)
			Must(t, err)
			b.Packs[j].Shard = write(index.ShardPath(name, index.Digest(data)), data)
			write(index.LatestShardPath(name), data)
			data, err = index.Encode(b)
			Must(t, err)
			root.Buckets[i] = write(index.BucketPath(index.Digest(data)), data)
			data, err = index.Encode(root)
			Must(t, err)
			write(index.RootFile, data)
			return
		}
	}
	t.Fatalf("no pack %s in %s", name, site)
}
