package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/packgen/packgen/index"
)

// ReadRoot reads and parses the index.json of a built site (no
// signature check: the tests that use it built the site themselves).
func ReadRoot(t testing.TB, site string) *index.Root {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(site, index.RootFile))
	Must(t, err)
	root, err := index.ParseRoot(data)
	Must(t, err)
	return root
}

// EditedRoot is index.json's bytes data with edit applied, encoded
// again; its signatures are the caller's to decide about.
func EditedRoot(t testing.TB, data []byte, edit func(*index.Root)) []byte {
	t.Helper()
	root, err := index.ParseRoot(data)
	Must(t, err)
	edit(root)
	data, err = index.Encode(root)
	Must(t, err)
	return data
}

// EditRoot rewrites the index.json of a built site with edit
// (EditedRoot), leaving every signature as it is (an index.json changed
// after signing), and returns its new bytes.
func EditRoot(t testing.TB, site string, edit func(*index.Root)) []byte {
	t.Helper()
	file := filepath.Join(site, index.RootFile)
	data, err := os.ReadFile(file)
	Must(t, err)
	data = EditedRoot(t, data, edit)
	Must(t, os.WriteFile(file, data, 0o644))
	return data
}

// Flipped returns the bytes of the file at p with its middle byte
// changed: the same size, other content (a tampered archive).
func Flipped(t testing.TB, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	Must(t, err)
	data[len(data)/2] ^= 1
	return data
}

// Flip changes the middle byte of the file at p in place (Flipped).
func Flip(t testing.TB, p string) {
	t.Helper()
	Must(t, os.WriteFile(p, Flipped(t, p), 0o644))
}

// FetchRoot gets and parses base/index.json from a test server (no
// signature check).
func FetchRoot(t testing.TB, base string) *index.Root {
	t.Helper()
	resp, err := http.Get(base + "/" + index.RootFile)
	Must(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	Must(t, err)
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatalf("%s/%s: %v", base, index.RootFile, err)
	}
	return root
}

// FileHashes maps every file below dir (slash-separated, relative) to
// its hex SHA-256: a site or tree to compare byte for byte.
func FileHashes(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	EachFile(t, dir, func(rel string, data []byte) error {
		sum := sha256.Sum256(data)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	return out
}

// EachFile calls fn with every file below dir (directories left out):
// its slash-separated path relative to dir and its content. An error
// fails the test.
func EachFile(t testing.TB, dir string, fn func(rel string, data []byte) error) {
	t.Helper()
	Must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return fn(filepath.ToSlash(rel), data)
	}))
}

// CopyDir copies the tree src (a built site, a fixture pack) to dst,
// which may exist but holds none of its files yet; the attack tests
// then damage the copy.
func CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	Must(t, os.CopyFS(dst, os.DirFS(src)))
}

// ReadFile reads the file at p, failing the test on an error.
func ReadFile(t testing.TB, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	Must(t, err)
	return data
}

// SHA256File is the SHA-256 of the file at p, read as a stream (bundles
// the tests compare run to hundreds of MB); an error fails the test.
func SHA256File(t testing.TB, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	Must(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	Must(t, err)
	return [32]byte(h.Sum(nil))
}

// FileSize is the size of the file at p; an error fails the test.
func FileSize(t testing.TB, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	Must(t, err)
	return fi.Size()
}

// EditCataloguePage writes data as the catalogue file rel of a built
// site and lists those bytes in its catalogue manifest, as someone who
// can write the site but holds no key would: the manifest's signature
// no longer verifies, and nothing else tells.
func EditCataloguePage(t testing.TB, site, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(site, index.CatalogueFile)
	c, err := index.ParseCatalogue(ReadFile(t, p))
	Must(t, err)
	i := slices.IndexFunc(c.Files, func(f index.FileRef) bool { return f.Path == rel })
	if i < 0 {
		t.Fatalf("%s does not list %s", p, rel)
	}
	c.Files[i].SHA256, c.Files[i].Size = index.Digest(data), int64(len(data))
	edited, err := index.Encode(c)
	Must(t, err)
	Must(t, os.WriteFile(filepath.Join(site, filepath.FromSlash(rel)), data, 0o644))
	Must(t, os.WriteFile(p, edited, 0o644))
}
