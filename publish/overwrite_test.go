package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestOverwriteNotSwitchedOffByNames: a web root without index.json
// holding its own index.html is refused (ErrOverwrite) whatever else it
// holds at paths that look like a registry's: only a bucket or shard
// whose content hashes to its name says an unfinished publish was there
// (attackR F4: any signatures/*, index/*.json or log/tile/* switched the
// refusal off).
func TestOverwriteNotSwitchedOffByNames(t *testing.T) {
	_, site := calicoSite(t)
	const page = "<h1>my downloads page</h1>\n"
	fake := "index/" + strings.Repeat("ab", 32) + ".json" // a digest's name, not its content's
	for _, extra := range []string{"", "signatures/release-1.0.tar.gz.asc", "index/search.json", "log/tile/notes.txt", "log/tile/8/0/000", fake, "packs/calico/shards/" + strings.Repeat("0", 64) + ".json"} {
		t.Run(extra, func(t *testing.T) {
			web := t.TempDir()
			files := map[string]string{"index.html": page}
			if extra != "" {
				files[extra] = "theirs\n"
			}
			filetest.Write(t, web, files)
			_, err := Publish(context.Background(), site, DirTarget{Dir: web}, Options{})
			if !errors.Is(err, ErrOverwrite) {
				t.Errorf("publish over a web root holding %s: %v, want ErrOverwrite", extra, err)
			}
			if got, _ := os.ReadFile(filepath.Join(web, "index.html")); string(got) != page {
				t.Errorf("the web root's index.html was replaced: %q", got)
			}
		})
	}
}
