package testutil

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/sign"
)

// WithoutProofTiles makes a built site what a packgen before the log's
// height-4 tiles built: no log/tile/4/, no log.proofTileHeight in
// index.json, which s signs again (live and digest-named signatures).
func WithoutProofTiles(t testing.TB, site string, s *sign.Signer) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.RemoveAll(filepath.Join(site, index.LogDir, "tile", "4")))
	file := filepath.Join(site, index.RootFile)
	data, err := os.ReadFile(file)
	must(err)
	root, err := index.ParseRoot(data)
	must(err)
	if root.Log == nil {
		t.Fatalf("%s: index.json names no log", site)
	}
	root.Log.ProofTileHeight = 0
	data, err = index.Encode(root)
	must(err)
	must(os.WriteFile(file, data, 0o644))
	sig, bundle, err := s.SignBlob(sha256.Sum256(data), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	must(err)
	d := index.Digest(data)
	for p, b := range map[string][]byte{index.RootFile + index.SignatureExt: sig, index.RootFile + index.BundleExt: bundle, index.RootSignaturePath(d): sig, index.RootBundlePath(d): bundle} {
		must(os.WriteFile(filepath.Join(site, filepath.FromSlash(p)), b, 0o644))
	}
}
