package site

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/index"
)

// BenchmarkWrite renders the catalogue of a synthetic registry of 1,000
// packs with 5 versions each: cold (every latest archive read and every
// page rendered) and as a no-change rebuild reusing the previous pages.
func BenchmarkWrite(b *testing.B) {
	packs := manyPacks(1000, 5)
	src := b.TempDir()
	root, shards := synth(b, src, packs)
	prev := b.TempDir()
	if err := os.Rename(filepath.Join(src, "packs"), filepath.Join(prev, "packs")); err != nil {
		b.Fatal(err)
	}
	cache := b.TempDir() // records the pages written: only those are reused
	if err := WriteOptions(prev, root, shards, Options{Cache: cache}); err != nil {
		b.Fatal(err)
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := WriteOptions(prev, root, shards, Options{Cache: cache}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A build's stage already has every pack's directory (shards, archives).
	stage := func(b *testing.B) string {
		b.Helper()
		dir := b.TempDir()
		for _, p := range packs {
			if err := os.MkdirAll(filepath.Join(dir, "packs", p.name), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		return dir
	}
	// One pack changed (its archives are read again, its page rendered);
	// the 999 others are reused.
	b.Run("one-changed", func(b *testing.B) {
		changed := append([]*index.Shard(nil), shards...)
		s := *shards[500]
		s.Releases = append([]index.Release(nil), s.Releases...)
		s.Releases[len(s.Releases)-1].Annotations = map[string]string{"changed": "yes"}
		changed[500] = &s
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir := stage(b)
			// As in a build, the stage holds every archive of the pack
			// (its change views read the versions before the newest).
			for _, r := range s.Releases {
				a := r.Archive.Path
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(a)), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.Link(filepath.Join(prev, a), filepath.Join(dir, a)); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			if err := WriteOptions(dir, root, changed, Options{Previous: prev, Cache: cache}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reuse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir := stage(b)
			b.StartTimer()
			if err := WriteOptions(dir, root, shards, Options{Previous: prev, Cache: cache}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
