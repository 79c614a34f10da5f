package build

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/sitedir"
	"github.com/packgen/packgen/source"
)

// ErrOutDir: --out names a directory the build must not replace (one
// that is not a site packgen built, the repository, its packs or its git
// directory): the caller's mistake, said in the message alone. Nothing
// is written.
var ErrOutDir = errors.New("the out dir is not the build's to replace")

// checkOut refuses an out dir the build would destroy. A staged build
// swaps its site in for the whole out dir, and an update in place
// removes files: both are for a directory that is missing, empty, or a
// site packgen built (internal/sitedir: only what such a site holds at
// its top, and its index.json). Whatever else is there (sources, a
// thesis, .git) is not the build's. The repository's work tree root, its
// git directories and its packs directory are refused by name first,
// whatever they hold.
func checkOut(o Options, repo *source.Repo) error {
	// A URL is no directory: taken as one, oci://HOST/BASE was read as
	// the previous build and then failed as a path ("oci:/HOST/...").
	if loc, err := location.Parse(o.Out); err != nil || loc.Scheme != "file" || loc.Dir != o.Out {
		return errmark.New(ErrOutDir, "--out %s is a URL, not a local directory: the build writes the site into a directory (made when missing), e.g. --out site; to put it on S3, an OCI registry or a web server, publish that directory: `packgen publish site %s`", o.Out, o.Out)
	}
	out := realPath(o.Out)
	workTree, gitDirs := repo.Dirs()
	for i, g := range gitDirs {
		if gitDirs[i] = realPath(g); within(out, gitDirs[i]) {
			return errmark.New(ErrOutDir, "--out %s is the repository's git directory %s or inside it: the build replaces its out dir with the site. Give --out a new directory outside it, e.g. --out site", o.Out, gitDirs[i])
		}
	}
	if workTree != "" {
		wt := realPath(workTree)
		if within(wt, out) {
			return errmark.New(ErrOutDir, "--out %s is (or holds) the repository's work tree %s: the build replaces its out dir with the site. Give --out a new directory, e.g. --out site", o.Out, wt)
		}
		if dir := strings.Trim(filepath.ToSlash(filepath.Clean(o.PacksDir)), "/"); dir != "" && dir != "." {
			if packs := realPath(filepath.Join(wt, filepath.FromSlash(dir))); within(packs, out) {
				return errmark.New(ErrOutDir, "--out %s is (or holds) the packs directory --packs-dir %s: the build replaces its out dir with the site. -d/--out is where the site goes, --packs-dir where the packs are: give --out a new directory, e.g. --out site", o.Out, o.PacksDir)
			}
		}
	}
	for _, g := range gitDirs {
		if within(g, out) {
			return errmark.New(ErrOutDir, "--out %s holds the repository's git directory %s: the build replaces its out dir with the site. Give --out a new directory, e.g. --out site", o.Out, g)
		}
	}
	r, err := sitedir.Inspect(o.Out)
	switch {
	case errors.Is(err, sitedir.ErrNotSite):
		return errmark.New(ErrOutDir, "--out %s is a file, not a directory: give --out a directory (it is made when missing), e.g. --out site", o.Out)
	case err != nil:
		return fmt.Errorf("read --out %s: %w", o.Out, err)
	case r.State != sitedir.Other:
		return nil
	}
	what := fmt.Sprintf("holds %s, which a site packgen builds never holds", r.What())
	if len(r.Foreign) == 0 {
		what = "is not a site packgen built: " + r.What()
	}
	hint := ""
	if r.Packs != "" {
		hint = fmt.Sprintf(" It holds packs (%s): -d/--out is where the site goes, --packs-dir where the packs are.", r.Packs)
	}
	return errmark.New(ErrOutDir, "--out %s %s, and the build replaces its out dir with the site, so nothing was written.%s Give --out a new or empty directory, e.g. --out site; if %s is an old site you no longer need, remove it yourself first", o.Out, what, hint, o.Out)
}

// realPath is p absolute, with the links on the part of it that exists
// resolved, so that two names of one directory compare equal.
func realPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for d := abs; ; {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			return filepath.Join(r, rest)
		}
		up := filepath.Dir(d)
		if up == d {
			return abs
		}
		rest = filepath.Join(filepath.Base(d), rest)
		d = up
	}
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
