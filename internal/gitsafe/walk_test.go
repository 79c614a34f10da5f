package gitsafe

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
)

// TestTrackedPrivateKeysWalksWhatChanged: the key check finds a private
// key committed anywhere, in a new directory or in one found clean
// before, and walks only the trees a commit changed: the clean ones are
// remembered by hash in the user's cache.
func TestTrackedPrivateKeysWalksWhatChanged(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	r, err := gitfixture.Init(filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIG\n-----END EC PRIVATE KEY-----\n")
	remembered := func() int {
		data, _ := os.ReadFile(cleanTreesFile(cache))
		return strings.Count(string(data), "\n")
	}
	step := func(msg string, change func(), want []string, walked int) {
		t.Helper()
		change()
		h, err := r.Commit(msg)
		if err != nil {
			t.Fatal(err)
		}
		before := remembered()
		found, err := TrackedPrivateKeys(r.Git(), h, cache)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(found, want) {
			t.Errorf("%s: found %v, want %v", msg, found, want)
		}
		if got := remembered() - before; got != walked {
			t.Errorf("%s: %d trees newly found clean, want %d", msg, got, walked)
		}
	}
	write := func(p string, data []byte) func() {
		return func() {
			if err := r.Write(p, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, p := range []string{"packs/a/1.0.0/values.yaml", "packs/b/1.0.0/values.yaml", "packs/c/2.0.0/values.yaml", "docs/keys.md"} {
		must(t, r.Write(p, []byte{byte('a' + i)}))
	}
	// Root, packs, a, a/1.0.0, b, b/1.0.0, c, c/2.0.0, docs.
	step("clean", func() {}, nil, 9)
	step("key in a new directory", write("deploy/signing.key", key), []string{"deploy/signing.key"}, 0)
	// Back to the first commit's tree: known, nothing walked.
	step("removed", func() { must(t, r.Remove("deploy/signing.key")) }, nil, 0)
	// A key in a directory found clean before: its hash changed, walked.
	step("key in a clean directory", write("packs/b/1.0.0/id_ecdsa", key), []string{"packs/b/1.0.0/id_ecdsa"}, 0)
	step("one pack changed", func() {
		must(t, r.Remove("packs/b/1.0.0/id_ecdsa"))
		must(t, r.Write("packs/c/2.0.0/values.yaml", []byte("changed")))
	}, nil, 4) // root, packs, c, c/2.0.0 (b is as first found clean)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
