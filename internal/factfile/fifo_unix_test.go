//go:build unix

package factfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestAppendFIFO: a FIFO planted at a fact file's path is passed over at
// once (a cache), never opened for writing and waited on for a reader.
func TestAppendFIFO(t *testing.T) {
	file := filepath.Join(t.TempDir(), "facts.txt")
	filetest.FIFO(t, file) // its cleanup lets go a writer that waited
	filetest.Within(t, 5*time.Second, "Append waited on a FIFO", func() error {
		Append(file, []string{"a"}, 1<<20, 0o600)
		return nil
	})
	if fi, err := os.Lstat(file); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v, %v", fi, err)
	}
}
