// Package sitedir knows what a registry site packgen built holds, by
// name: the build asks it before it replaces a directory with a new site
// (a directory holding anything else is not its to replace), publish's
// prune before it deletes a file from a destination (it deletes only
// what a site would hold), and publish and serve when they tell a user
// how to make a site.
package sitedir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/siteassets"
)

// BuildRecord is the build's record of what it made a site from
// (build.StampFile): in the out dir, never published.
const BuildRecord = ".packgen-build.json"

// ErrNotSite: a directory that holds something other than a site
// packgen built.
var ErrNotSite = errors.New("not a site packgen built")

// topFiles and topDirs are every name a site holds at its top: the
// registry's files (package index), the catalogue's (package site,
// whose test writes a catalogue and checks it against Entry), the
// build record, and what an update in place that was killed may leave
// (index.json.new and its signatures).
var (
	topFiles = []string{
		index.RootFile, index.RootFile + index.SignatureExt, index.RootFile + index.BundleExt,
		index.RootFile + ".new", index.RootFile + ".new" + index.SignatureExt, index.RootFile + ".new" + index.BundleExt,
		index.CatalogueFile, index.CatalogueFile + index.SignatureExt, index.CatalogueFile + index.BundleExt,
		catalogueTop[0], catalogueTop[1], catalogueTop[2],
		BuildRecord,
	}
	topDirs = []string{"index", "signatures", "packs", index.LogDir, siteassets.Dir}
)

// The catalogue's files (package site writes them; its tests check
// them against these): at the top, and in each pack's directory.
var (
	catalogueTop  = []string{"index.html", "catalog.json", "feed.xml"}
	cataloguePack = []string{"index.html", "logo.png", "feed.xml"}
)

// CataloguePaths lists every path the catalogue of a site whose index
// lists packs may hold (its assets as this packgen writes them), sorted:
// what verify --site looks for to find a file there that the signed
// catalogue manifest does not list.
func CataloguePaths(packs []string) []string {
	out := append([]string{}, catalogueTop...)
	for _, n := range siteassets.Names() {
		out = append(out, siteassets.Dir+"/"+n)
	}
	for _, p := range packs {
		for _, n := range cataloguePack {
			out = append(out, "packs/"+p+"/"+n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TempPrefix names the temporary files packgen writes a site's files
// under before renaming them (atomicfile): a killed writer leaves them.
const TempPrefix = atomicfile.TempPrefix

// Entry reports whether a site packgen built may hold name at its top,
// as a directory when dir is set. A symbolic link is judged by its name
// alone (the build refuses links in an out dir it updates, ErrOutLink).
func Entry(name string, dir bool) bool {
	switch {
	case slices.Contains(topDirs, name):
		return dir
	case slices.Contains(topFiles, name), strings.HasPrefix(name, TempPrefix):
		return !dir
	}
	return false
}

// Walk calls file with every entry below the site in fsys that is not a
// directory, in lexical order, until ctx is done. Dot files and
// directories are none of the site's files, never published nor listed:
// editor leftovers, the build record, a directory target's in-flight
// temp files.
func Walk(ctx context.Context, fsys fs.FS, file func(p string, e fs.DirEntry)) error {
	return fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !e.IsDir() {
			file(p, e)
		}
		return nil
	})
}

// State is what Inspect found.
type State int

const (
	Missing State = iota // no such directory
	Empty                // a directory with nothing in it
	Site                 // a site packgen built: only what one holds, and its index.json
	Other                // anything else: not packgen's to replace
)

// Report says what a directory is.
type Report struct {
	State State
	// Foreign lists (Other) the top entries a site never holds, sorted,
	// a directory's with a trailing slash.
	Foreign []string
	// NoIndex says (Other) why the directory holds no index.json of a
	// packgen registry, when that is why it is no site.
	NoIndex error
	// Packs names (Other) a pack.json found in the directory or one
	// level below: it holds packs, the build's input.
	Packs string
}

// Inspect reads the top of dir (one directory listing, and index.json
// parsed) and says whether it is missing, empty, a site packgen built,
// or something else. The error is an I/O failure, or ErrNotSite for a
// dir that is not a directory.
func Inspect(dir string) (Report, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Report{State: Missing}, nil
	case err != nil:
		return Report{}, err
	case !fi.IsDir():
		return Report{State: Other}, fmt.Errorf("%w: %s is a file, not a directory", ErrNotSite, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Report{}, err
	}
	if len(entries) == 0 {
		return Report{State: Empty}, nil
	}
	var r Report
	for _, e := range entries {
		isDir := e.IsDir()
		link := e.Type()&fs.ModeSymlink != 0
		ok := Entry(e.Name(), isDir) || (link && (Entry(e.Name(), true) || Entry(e.Name(), false)))
		if !ok {
			name := e.Name()
			if isDir {
				name += "/"
			}
			r.Foreign = append(r.Foreign, name)
		}
	}
	slices.Sort(r.Foreign)
	data, err := safefile.ReadFile(filepath.Join(dir, index.RootFile), index.MaxRootSize)
	if err == nil {
		_, err = index.ParseRoot(data)
		if err != nil {
			err = fmt.Errorf("%s is not a packgen registry index: %w", filepath.Join(dir, index.RootFile), err)
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%s holds no %s", dir, index.RootFile)
	}
	r.NoIndex = err
	if len(r.Foreign) == 0 && r.NoIndex == nil {
		return Report{State: Site}, nil
	}
	r.State = Other
	r.Packs = packsIn(dir, entries)
	return r, nil
}

// maxPackLook bounds the entries looked into for a pack.json.
const maxPackLook = 256

// PackFile is a pack's manifest, the file that makes a directory a pack
// (the build's input). A site never holds one outside its archives, so
// a directory holding one is pack sources: never a site, nor a place to
// publish one (PackSource).
const PackFile = "pack.json"

// packsIn names a pack.json in dir or in one of its first directories.
func packsIn(dir string, entries []fs.DirEntry) string {
	if p := filepath.Join(dir, PackFile); isFile(p) {
		return p
	}
	for i, e := range entries {
		if i == maxPackLook {
			break
		}
		if p := filepath.Join(dir, e.Name(), PackFile); e.IsDir() && isFile(p) {
			return p
		}
	}
	return ""
}

func isFile(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}

// What lists what makes r no site, for a message: "hello-1.0.0/,
// thesis.txt" (at most a few names), else why its index.json does not
// count.
func (r Report) What() string {
	const most = 5
	if len(r.Foreign) > 0 {
		return phrase.Few(r.Foreign, most)
	}
	if r.NoIndex != nil {
		return r.NoIndex.Error()
	}
	return ""
}

// BuildHint says how to make a site for a command given dir as one
// (publish, serve): `packgen build --out DIR` only when a build may
// write there (dir missing or empty); otherwise into a new directory,
// since a build never replaces what is not a site, with --packs-dir DIR
// when dir holds packs.
func BuildHint(dir string) string {
	r, err := Inspect(dir)
	if err == nil && (r.State == Missing || r.State == Empty) {
		return fmt.Sprintf("build one with `packgen build --out %s`", dir)
	}
	if err == nil && r.Packs != "" {
		return fmt.Sprintf("%s holds packs, the build's input (%s): build them with `packgen build --packs-dir %s --out site` and use site", dir, r.Packs, filepath.ToSlash(dir))
	}
	return fmt.Sprintf("%s is not a site packgen built, and a build never replaces it: build into a new directory with `packgen build --out site` and use site", dir)
}

// Owned reports whether key (a slash-separated path in a site or a
// destination) is a file a site packgen built may hold: the registry's
// files (index.KindOf), the catalogue's (its pages, feeds, the assets it
// writes or once wrote, pack pages and logos) and the build record. Prune deletes nothing else: a
// destination may hold files of others (notes, a CNAME, a repository's
// sources).
func Owned(key string) bool {
	if index.KindOf(key) != index.KindOther {
		return true
	}
	parts := strings.Split(key, "/")
	switch {
	case len(parts) == 1:
		return Entry(key, false)
	case parts[0] == siteassets.Dir:
		// The catalogue's files only, not whatever else a web root
		// keeps in its assets/ (internal/siteassets).
		return len(parts) == 2 && siteassets.Owned(parts[1])
	case parts[0] == "packs" && len(parts) == 3:
		return slices.Contains(cataloguePack, parts[2])
	}
	return false
}

// InCatalogueDir reports whether key lies in a directory the catalogue
// owns, assets/ or packs/NAME/ of a pack the index lists (packs), or in
// the log's, log/, and is not one of the registry's files there (a
// shard, a release's archive and signatures, a log tile by tlog's name
// for one, the checkpoint, a witness's cosignature: index.KindOf). Every
// such file of a signing build is in its signed catalogue manifest (the
// log's dir holds none), so one that is not was added after the build,
// and is served from the registry's origin as the pages are: publish
// refuses it, and verify --site reports it where it can list the site
// (a directory). Any depth counts (assets/x/evil.js,
// log/tile/8/x/evil.html), unlike Owned: prune deletes only names the
// catalogue writes.
func InCatalogueDir(key string, packs map[string]bool) bool {
	if index.KindOf(key) != index.KindOther {
		return false
	}
	parts := strings.Split(key, "/")
	switch {
	case len(parts) >= 2 && (parts[0] == siteassets.Dir || parts[0] == index.LogDir):
		return true
	case len(parts) >= 3 && parts[0] == "packs":
		return packs[parts[1]]
	}
	return false
}

// AddedToCatalogue is what publish refuses and verify --site reports:
// the files (sorted) in a directory the catalogue owns (InCatalogueDir)
// that its signed manifest c does not list.
func AddedToCatalogue(c *index.Catalogue, files []string, packs map[string]bool) []string {
	var added []string
	for _, p := range files {
		if _, listed := c.Find(p); !listed && InCatalogueDir(p, packs) {
			added = append(added, p)
		}
	}
	slices.Sort(added)
	return added
}

// PackSource returns the first, in sorted order, of keys (slash paths of
// the files in a directory or under a prefix) that is a pack's manifest
// (PackFile), "" when none is: a destination holding one holds pack
// sources (a repository, its packs directory), which a publish must not
// write among nor prune from.
func PackSource[V any](keys map[string]V) string {
	first := ""
	for k := range keys {
		if (k == PackFile || strings.HasSuffix(k, "/"+PackFile)) && (first == "" || k < first) {
			first = k
		}
	}
	return first
}

// Prunable reports whether prune may delete key from a destination whose
// registry (the live index or the site's) lists the packs in packs: a
// file a site holds (Owned), at a name an index could have referenced.
// Under packs/ only a listed pack's files, since packs/NAME/logo.png of a
// NAME no index lists is someone else's (a repository's pack directory,
// a web root's page); content-addressed files (buckets, the root's
// digest-named signatures, shards) only under a digest's name.
func Prunable(key string, packs map[string]bool) bool {
	if !Owned(key) {
		return false
	}
	parts := strings.Split(key, "/")
	switch parts[0] {
	case "packs":
		if len(parts) < 3 || !packs[parts[1]] {
			return false
		}
		if len(parts) == 4 && parts[2] == "shards" {
			return digestNamed(parts[3], ".json")
		}
	case "index":
		return len(parts) == 2 && digestNamed(parts[1], ".json")
	case "signatures":
		return len(parts) == 2 && digestNamed(parts[1], index.SignatureExt, index.BundleExt)
	}
	return true
}

// ContentAddressed returns the SHA-256 in key's name when key is a file
// a site names by its own content's digest (a bucket, index/<sha>.json;
// a shard, packs/NAME/shards/<sha>.json). Its name alone proves
// nothing (anyone may name a file so); one whose content hashes to it
// was written by a packgen build or publish.
func ContentAddressed(key string) (string, bool) {
	parts := strings.Split(key, "/")
	var name string
	switch {
	case len(parts) == 2 && parts[0] == "index":
		name = parts[1]
	case len(parts) == 4 && parts[0] == "packs" && parts[2] == "shards":
		name = parts[3]
	default:
		return "", false
	}
	if !digestNamed(name, ".json") {
		return "", false
	}
	return strings.TrimSuffix(name, ".json"), true
}

// digestNamed reports whether name is a SHA-256 in lowercase hex
// followed by one of exts.
func digestNamed(name string, exts ...string) bool {
	for _, ext := range exts {
		if d, ok := strings.CutSuffix(name, ext); ok && len(d) == 64 && strings.Trim(d, "0123456789abcdef") == "" {
			return true
		}
	}
	return false
}
