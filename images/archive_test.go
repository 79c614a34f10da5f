package images

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
)

// TestArchive: the images of a release archive as the client fetched it
// (testdata's webapp pack, with its chart, written by the build's
// archive writer), and archives that are not one: each matches
// ErrArchive and names the file; a file that cannot be read does not.
func TestArchive(t *testing.T) {
	dir := t.TempDir()
	good := testutil.PackArchive(t, "testdata/packs/webapp-1.2.0")
	// An archive whose pack.json does not validate.
	invalid := tartest.TarGz(t, tartest.File("webapp/pack.json", `{"name": "webapp", "layer": "addon"}`))
	files := map[string][]byte{
		"good.tar.gz":      good,
		"truncated.tar.gz": good[:len(good)/2],
		"text.tar.gz":      []byte("this is not a gzip stream\n"),
		"invalid.tar.gz":   invalid,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		file    string
		archive bool   // the error matches ErrArchive
		notFile bool   // the error is the file's absence
		says    string // the error says it
	}{
		{file: "good.tar.gz"},
		{file: "truncated.tar.gz", archive: true, says: "truncated.tar.gz"},
		{file: "text.tar.gz", archive: true, says: "text.tar.gz"},
		{file: "invalid.tar.gz", archive: true, says: "version"},
		{file: "missing.tar.gz", notFile: true, says: "missing.tar.gz"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rs, err := Archive(filepath.Join(dir, tc.file), "webapp@1.2.0")
			if !tc.archive && !tc.notFile {
				if err != nil || len(rs) != 1 {
					t.Fatalf("Archive: %v, %d reports", err, len(rs))
				}
				r := rs[0]
				if r.Pack != "webapp" || r.Version != "1.2.0" || !strings.HasPrefix(r.Dir, "webapp@1.2.0") {
					t.Errorf("report names %s@%s in %s", r.Pack, r.Version, r.Dir)
				}
				states := map[string]string{}
				for _, im := range r.Images {
					states[im.Image] = im.State()
				}
				// As from the pack's directory (TestFindTestdata): the
				// chart inside the archive is rendered.
				for im, want := range map[string]string{
					"ghcr.io/acme/webapp:v2.3.1":      "declared, deployed",
					"docker.io/library/postgres:15.6": "deployed, NOT DECLARED",
					"docker.io/library/busybox:1.36":  "declared, deployed",
				} {
					if states[im] != want {
						t.Errorf("%s: %q, want %q (all: %v)", im, states[im], want, states)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("Archive(%s) = %d reports, want an error", tc.file, len(rs))
			}
			if errors.Is(err, ErrArchive) != tc.archive || errors.Is(err, fs.ErrNotExist) != tc.notFile {
				t.Errorf("Archive = %v: ErrArchive %v (want %v), not exist %v (want %v)", err, errors.Is(err, ErrArchive), tc.archive, errors.Is(err, fs.ErrNotExist), tc.notFile)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}
