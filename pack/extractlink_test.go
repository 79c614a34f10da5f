package pack

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// TestExtractOverPlantedLinks: fetch --dest DIR --force into a DIR where
// someone planted links (a directory and files of the pack pointing
// outside, or DIR itself a link). Extract unpacks into a fresh stage and
// swaps it in, so nothing is written behind any link: what they point at
// is unchanged, and DEST ends up a real directory holding the pack.
func TestExtractOverPlantedLinks(t *testing.T) {
	m := baseFS()
	m["bin/run.sh"] = &fstest.MapFile{Data: []byte("#!/bin/sh\n"), Mode: 0o755}
	a, _ := archiveOf(t, m)
	for _, at := range []string{"bin", "values.yaml", "pack.json", ""} {
		t.Run("link at "+at, func(t *testing.T) {
			dest, outside := filepath.Join(t.TempDir(), "demo"), t.TempDir()
			os.WriteFile(filepath.Join(outside, "victim"), []byte("secret"), 0o600)
			os.WriteFile(filepath.Join(outside, "run.sh"), []byte("mine"), 0o600)
			target := outside
			if at != "bin" && at != "" {
				target = filepath.Join(outside, "victim")
			}
			if at != "" {
				if _, err := Extract(bytes.NewReader(a), dest, ExtractOptions{}); err != nil {
					t.Fatal(err)
				}
				os.RemoveAll(filepath.Join(dest, at))
			}
			if err := os.Symlink(target, filepath.Join(dest, at)); err != nil {
				t.Fatal(err)
			}
			if _, err := Extract(bytes.NewReader(a), dest, ExtractOptions{Overwrite: true}); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]string{"victim": "secret", "run.sh": "mine"} {
				if got, _ := os.ReadFile(filepath.Join(outside, name)); string(got) != want {
					t.Errorf("written behind the link: %s is %q", name, got)
				}
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 2 {
				t.Errorf("outside holds %v", entries)
			}
			for _, p := range []string{"", "bin", "bin/run.sh", "values.yaml", "pack.json"} {
				if fi, err := os.Lstat(filepath.Join(dest, p)); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
					t.Errorf("dest/%s: %v %v", p, fi, err)
				}
			}
		})
	}
}
