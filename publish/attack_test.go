package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/s3test"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
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

var mustRead = testutil.ReadFile

// TestUnreferencedFilesNotUploaded: a killed in-place build leaves signed
// archives, shards and buckets in the site that index.json does not
// reference (143 of them in the report), and publish uploaded them all.
// Only what the index references is uploaded, with the site's own pages.
func TestUnreferencedFilesNotUploaded(t *testing.T) {
	f := newFixture(t)
	f.pack("a", "1.0.0", "a: 1\n")
	site := f.build(t)
	arch := filepath.Join(site, filepath.FromSlash(index.ArchivePath("a", "1.0.0")))
	leftovers := map[string][]byte{
		"packs/a/9.9.9/a-9.9.9.tar.gz":                        mustRead(t, arch),
		"packs/a/9.9.9/a-9.9.9.tar.gz.sig":                    mustRead(t, arch+".sig"),
		"packs/a/shards/" + strings.Repeat("0", 64) + ".json": []byte(`{}`),
		"index/" + strings.Repeat("1", 64) + ".json":          []byte(`{}`),
		"signatures/" + strings.Repeat("2", 64) + ".sig":      []byte(`x`),
		"packs/ghost/index.html":                              []byte(`<p>ghost</p>`),
		"packs/ghost/1.0.0/ghost-1.0.0.tar.gz":                []byte(`x`),
		"index.json.new":                                      []byte(`{}`),
	}
	filetest.Write(t, site, leftovers)
	dest := filepath.Join(t.TempDir(), "remote")
	res, err := Publish(context.Background(), site, DirTarget{Dir: dest}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range leftovers {
		if _, err := os.Stat(filepath.Join(dest, filepath.FromSlash(k))); err == nil {
			t.Errorf("%s uploaded", k)
		}
		if !slices.Contains(res.Skipped, k) {
			t.Errorf("%s not reported skipped: %v", k, res.Skipped)
		}
	}
	for _, k := range []string{"index.html", "packs/a/index.html", index.ArchivePath("a", "1.0.0"), index.LatestShardPath("a"), index.RootFile} {
		if _, err := os.Stat(filepath.Join(dest, filepath.FromSlash(k))); err != nil {
			t.Errorf("%s not uploaded: %v", k, err)
		}
	}
	verifyRemoteDir(t, f, dest, 1)
}

func verifyRemoteDir(t *testing.T, f *fixture, dir string, releases int) {
	t.Helper()
	rep, err := client.VerifySite(context.Background(), dir, f.verifier(t))
	if err != nil || len(rep.Problems) != 0 || rep.Releases != releases {
		t.Fatalf("verify %s: %v %+v", dir, err, rep)
	}
}

// TestAttackBucketArchiveReplaced: someone with write access to the
// bucket (no key) replaces a published archive between two publishes, on
// the real S3-protocol server. The next publish refuses before
// uploading anything (the remote archive is not the site's) and, since
// no build of this registry changes a published archive, its message
// points at the bucket too, not only at a version bump.
func TestAttackBucketArchiveReplaced(t *testing.T) {
	srv := s3test.Start(t, "packs")
	_, site := calicoSite(t)
	ctx := context.Background()
	target := newS3(t, srv, "registry")
	if _, err := Publish(ctx, site, target, Options{}); err != nil {
		t.Fatal(err)
	}
	key := "packs/calico/1.0.0/calico-1.0.0.tar.gz"
	srv.Tamper(t, "registry/"+key, testutil.Flipped(t, filepath.Join(site, filepath.FromSlash(key))))
	srv.Reset()
	_, err := Publish(ctx, site, target, Options{})
	if !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "packgen verify --site") {
		t.Errorf("archive replaced in the bucket: %v", err)
	}
	if puts := srv.PutOrder(); len(puts) != 0 {
		t.Errorf("refused publish uploaded %v", puts)
	}
}
