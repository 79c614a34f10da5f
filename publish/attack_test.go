package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/index"
)

// TestSignedSiteNeedsItsSignatures: a signed build says so in index.json
// (it used to always say "signed": false, so this check never ran), and
// publish refuses to upload a signed site whose signatures are missing:
// the digest-named root signature clients read, or a release's .sig.
// Nothing is uploaded.
func TestSignedSiteNeedsItsSignatures(t *testing.T) {
	f := newFixture(t)
	f.pack("a", "1.0.0", "a: 1\n")
	site := f.build(t)
	data, err := os.ReadFile(filepath.Join(site, index.RootFile))
	if err != nil {
		t.Fatal(err)
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	if !root.Signed {
		t.Fatal(`a build with a key wrote "signed": false`)
	}
	shard, _ := index.ParseShard(mustRead(t, filepath.Join(site, index.LatestShardPath("a"))), "a")
	for _, missing := range []string{index.RootSignaturePath(index.Digest(data)), shard.Releases[0].Signature} {
		t.Run(missing, func(t *testing.T) {
			file := filepath.Join(site, filepath.FromSlash(missing))
			saved := mustRead(t, file)
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(file, saved, 0o644)
			dest := filepath.Join(t.TempDir(), "remote")
			_, err := Publish(context.Background(), site, DirTarget{Dir: dest}, Options{})
			if !errors.Is(err, ErrMissingSignature) || !errors.Is(err, ErrNotSite) {
				t.Fatalf("published a signed site without %s: %v", missing, err)
			}
			if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("something was uploaded: %v", err)
			}
		})
	}
	// Complete, it publishes.
	if _, err := Publish(context.Background(), site, DirTarget{Dir: filepath.Join(t.TempDir(), "remote")}, Options{}); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
