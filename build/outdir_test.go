package build

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutDirRefused: --out may be missing, empty or a site packgen
// built; anything else (a repository's packs, its root, its .git, a
// folder of someone's files, a site with a stranger's file in it) is
// refused with ErrOutDir naming what is there, and not one byte of it
// (or of the repository) changes. A stranger's report: `build -d packs`
// swapped the packs directory, uncommitted work included, for the site.
func TestOutDirRefused(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/hello-1.0.0", "hello", "1.0.0", "addon", "")
	commit(t, r, "one")
	// New work, not committed: what the stranger lost.
	writePack(t, r, "packs/wip-1.0.0", "wip", "1.0.0", "addon", "")
	site := filepath.Join(tmp, "site")
	built(t, r.Dir, site, func(o *Options) { o.PacksDir = "packs" })

	file := func(dir, name, data string) string {
		must(t, os.MkdirAll(dir, 0o755))
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
		return dir
	}
	copySite := func(name string) string {
		dst := filepath.Join(tmp, name)
		must(t, os.CopyFS(dst, os.DirFS(site)))
		return dst
	}
	must(t, os.Symlink(r.Dir, filepath.Join(tmp, "repo-link")))
	cases := []struct {
		name     string
		out      func() string
		packsDir string
		want     string // in the message; "" = the build succeeds
	}{
		{"missing", func() string { return filepath.Join(tmp, "new") }, "packs", ""},
		{"empty", func() string { d := filepath.Join(tmp, "empty"); must(t, os.Mkdir(d, 0o755)); return d }, "packs", ""},
		{"a site packgen built", func() string { return copySite("old-site") }, "packs", ""},
		{"a site left by a killed update (temp files)", func() string {
			d := copySite("killed-site")
			file(d, ".tmp-123", "x")
			file(d, "index.json.new", "x")
			return d
		}, "packs", ""},
		{"the packs dir", func() string { return filepath.Join(r.Dir, "packs") }, "packs", "the packs directory --packs-dir packs"},
		{"the packs dir, spelt with ./", func() string { return filepath.Join(r.Dir, "packs") }, "./packs/", "the packs directory --packs-dir ./packs/"},
		{"the repository root", func() string { return r.Dir }, "packs", "the repository's work tree"},
		{"the repository root, whole tree built", func() string { return r.Dir }, "", "the repository's work tree"},
		{"the repository, through a link", func() string { return filepath.Join(tmp, "repo-link") }, "packs", "the repository's work tree"},
		{"a directory holding the repository", func() string { return tmp }, "packs", "the repository's work tree"},
		{".git", func() string { return filepath.Join(r.Dir, ".git") }, "packs", "is the repository's git directory"},
		{"inside .git", func() string { return filepath.Join(r.Dir, ".git", "site") }, "packs", "is the repository's git directory"},
		{"someone's files", func() string { return file(filepath.Join(tmp, "thesis"), "thesis.txt", "chapter 1") }, "packs", "holds thesis.txt, which a site packgen builds never holds"},
		{"packs outside the repository", func() string {
			d := filepath.Join(tmp, "other-packs")
			file(filepath.Join(d, "a-1.0.0"), "pack.json", "{}")
			return d
		}, "packs", "It holds packs (" + filepath.Join(tmp, "other-packs", "a-1.0.0", "pack.json") + "): -d/--out is where the site goes"},
		{"a site with a stranger's file", func() string { return file(copySite("site-plus"), "notes.txt", "mine") }, "packs", "holds notes.txt,"},
		{"a site with a stranger's directory", func() string {
			d := copySite("site-plus-dir")
			file(filepath.Join(d, "docs"), "x.md", "mine")
			return d
		}, "packs", "holds docs/,"},
		{"only site names, no index.json", func() string {
			d := copySite("no-index")
			must(t, os.Remove(filepath.Join(d, "index.json")))
			return d
		}, "packs", "holds no index.json"},
		{"an index.json of someone else", func() string { return file(filepath.Join(tmp, "web"), "index.json", `{"hello": "world"}`) }, "packs", "index.json is not a packgen registry index"},
		{"a site name of the wrong kind", func() string { return file(filepath.Join(tmp, "wrong-kind"), "packs", "a file") }, "packs", "holds packs,"},
		// A stranger's report: --out oci://… was read as the previous
		// build, then failed as a path (exit 3, "oci:/HOST/…lock").
		{"an OCI registry", func() string { return "oci://127.0.0.1:1/acme" }, "packs", "is a URL, not a local directory"},
		{"a bucket", func() string { return "s3://bucket/registry" }, "packs", "`packgen publish site s3://bucket/registry`"},
		{"a web server", func() string { return "https://packs.example/registry" }, "packs", "is a URL, not a local directory"},
		{"a file URL", func() string { return "file://" + filepath.ToSlash(filepath.Join(tmp, "file-url")) }, "packs", "is a URL, not a local directory"},
		{"a URL missing a slash", func() string { return "s3:/bucket" }, "packs", "is a URL, not a local directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := c.out()
			before, repoBefore := snapshot(t, out), snapshot(t, r.Dir)
			_, err := run(t, r.Dir, out, func(o *Options) { o.PacksDir = c.packsDir })
			if c.want == "" {
				must(t, err)
				return
			}
			if !errors.Is(err, ErrOutDir) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--out "+out) {
				t.Fatalf("err = %v\nwant ErrOutDir naming --out %s and %q", err, out, c.want)
			}
			if after := snapshot(t, out); after != before {
				t.Errorf("--out changed:\n%s\nwas\n%s", after, before)
			}
			if after := snapshot(t, r.Dir); after != repoBefore {
				t.Errorf("the repository changed:\n%s\nwas\n%s", after, repoBefore)
			}
		})
	}
}

// snapshot lists every path below dir (links not followed) with its
// mode and content digest.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v", p, fi.Mode())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", sha256.Sum256(data))
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return b.String()
}

// TestOutDirParentsMade: --out in directories that do not exist yet
// makes them, as mkdir -p would (a stranger's `build --out x/y/site` in a
// fresh checkout failed, exit 3, on the staging directory's lock file).
func TestOutDirParentsMade(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/a", "a", "1.0.0", "cni", "")
	commit(t, r, "one")
	out := filepath.Join(tmp, "sites", "prod", "site")
	built(t, r.Dir, out)
	if _, err := os.Stat(filepath.Join(out, "index.json")); err != nil {
		t.Fatal(err)
	}
}
