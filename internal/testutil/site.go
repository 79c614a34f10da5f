package testutil

import (
	"os"
	"path/filepath"
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
