package publish

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/textsafe"
)

// ErrLink: a symbolic link below a directory destination where publish
// would read or write (a pack's or a version's directory, index/, log/,
// a signature): never followed.
var ErrLink = errors.New("a symbolic link in the destination directory")

// DirTarget publishes into a local directory (a web server's root, a
// mounted bucket, a GitHub Pages checkout). Each file is written to a
// temporary file and renamed into place, so readers see whole files.
//
// The directory is often shared: whoever else can write there could
// plant a link (packs/NAME -> ~/.ssh, index -> /etc) to send the site's
// files elsewhere. So every file is reached through an os.Root of Dir,
// out of which no path resolves, and a link on the way to a file
// publish touches is refused (ErrLink) rather than followed, even one
// pointing inside. Dir itself may be a link: it is the path the user
// named, followed as `cp -r site/. DIR` follows it.
type DirTarget struct{ Dir string }

func (d DirTarget) String() string { return d.Dir }

// name checks a key and returns it as a name inside the root.
func (d DirTarget) name(key string) (string, error) {
	if !fs.ValidPath(key) || key == "." || strings.Contains(key, `\`) {
		return "", fmt.Errorf("invalid key %q", key)
	}
	return filepath.FromSlash(key), nil
}

// root opens Dir (creating it first when create is set).
func (d DirTarget) root(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(d.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(d.Dir)
}

// existing opens Dir; where it does not exist yet (an empty target) it
// returns no root and no error. The caller closes the root.
func (d DirTarget) existing() (*os.Root, error) {
	root, err := d.root(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return root, err
}

// open checks key, opens Dir (made first with create) and refuses a
// link on the way to key (and, with self, at key): what every method
// does first. The caller closes the root.
func (d DirTarget) open(key string, create, self bool) (*os.Root, string, error) {
	name, err := d.name(key)
	if err != nil {
		return nil, "", err
	}
	root, err := d.root(create)
	if err != nil {
		return nil, "", err
	}
	if err := d.noLinks(root, key, self, nil); err != nil {
		root.Close()
		return nil, "", err
	}
	return root, name, nil
}

// noLinks refuses a symbolic link at any directory on the way to key
// and, with self, at key itself (safefile.LinkOnPath; seen: the real
// directories already checked in this publish).
func (d DirTarget) noLinks(root *os.Root, key string, self bool, seen map[string]bool) error {
	link, err := safefile.LinkOnPath(root, filepath.FromSlash(key), self, seen)
	if err != nil || link == "" {
		return err
	}
	return d.linkErr(root, link)
}

// linkErr is ErrLink for the link at name inside root.
func (d DirTarget) linkErr(root *os.Root, name string) error {
	full := filepath.Join(d.Dir, name)
	to, _ := root.Readlink(name)
	return fmt.Errorf("%w: %s is a symbolic link (to %s), where publish writes the site's own files; publish never writes through a link below the directory it was given. Remove it (rm %s) and publish again, after checking who planted it", ErrLink, full, textsafe.Escape(to), full)
}

// ErrExposedDir: a directory below a directory destination, on the way
// to the site's files, that someone else can change (exposed).
var ErrExposedDir = errors.New("a directory in the destination that others can change")

// checkPaths refuses, before anything is written, a link on the way to
// any of keys (publish's planned uploads) and a directory of dirs (the
// site's: siteDirs, top down) that is a link or exposed: whoever can
// rename in it could put a file of theirs over one publish wrote or
// kept there the moment publish has said all is well; and one that is
// a file (ErrOverwrite).
//
// Refused rather than made again: a directory another user owns cannot
// be emptied by this one (nor, as root, without taking in the files it
// holds beyond the site's), a rename onto a directory needs it empty,
// and its owner may add names while publish moves them out, so no
// rebuild loses nothing and cannot be raced. A refusal writes nothing,
// and a directory found not exposed stays so: only this user may rename
// in it or change its mode, and its parent is checked too (the top,
// Dir, is the user's choice: exposed counts only what it does not grant
// already).
func (d DirTarget) checkPaths(keys, dirs []string) error {
	root, err := d.existing()
	if root == nil {
		return err
	}
	defer root.Close()
	top, err := root.Stat(".")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, dir := range dirs {
		if dir == "." {
			continue
		}
		name := filepath.FromSlash(dir)
		fi, err := root.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // publish makes it, this user's
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return d.linkErr(root, name)
		case !fi.IsDir():
			// Nothing could be written below it (the next directory's
			// Lstat would say only "not a directory"), and publish
			// replaces no file that is not the site's.
			full := filepath.Join(d.Dir, name)
			return fmt.Errorf("%w: %s is a file where the site has a directory, which publish writes the site's files in. Move it aside (mv %s %s.old) or remove it, after checking what it is and who put it there; then publish again", ErrOverwrite, full, full, full)
		}
		if why := exposed(fi, top); why != "" {
			full := filepath.Join(d.Dir, name)
			return fmt.Errorf("%w: %s is %s: whoever else can rename in it can put a file of theirs over a page publish writes or keeps there, after publish has reported success. Make it this user's and writable by no one else (chown %d %s; chmod go-w %s, or chmod +t %s to keep it shared: others then cannot replace this user's files), or move it aside (mv %s %s.old) for publish to write a new one, after checking who changed it and what is in it; then publish again",
				ErrExposedDir, full, why, os.Geteuid(), full, full, full, full, full)
		}
		seen[name] = true
	}
	for _, k := range keys {
		if err := d.noLinks(root, k, true, seen); err != nil {
			return err
		}
	}
	return nil
}

// pathChecker is a target that can refuse a publish's keys before any
// upload (DirTarget: links planted in the directory, and directories
// others can change).
type pathChecker interface {
	checkPaths(keys, dirs []string) error
}

// List walks the directory as publish walks a site (walkRoot): a link
// is not listed, so neither compared nor pruned; a missing directory is
// an empty target.
func (d DirTarget) List(ctx context.Context) (map[string]Object, error) {
	out := map[string]Object{}
	root, err := d.existing()
	if root == nil {
		return out, err
	}
	defer root.Close()
	top, err := root.Stat(".")
	if err != nil {
		return nil, err
	}
	files, err := walkRoot(ctx, root)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		out[f.key] = Object{Size: f.size, MD5: f.md5, SHA256: f.sha256, ETag: f.md5, Exposed: exposed(f.info, top)}
	}
	return out, nil
}

// hashIn hashes the regular file name inside root, and keeps what an
// fstat of it says (exposed: a directory target's file that someone
// else can change in place is written again).
func hashIn(root *os.Root, name string) (localFile, error) {
	f, err := safefile.OpenIn(root, filepath.FromSlash(name))
	if err != nil {
		return localFile{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return localFile{}, err
	}
	m, s := md5.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(m, s), f)
	return localFile{key: name, size: n, md5: hex.EncodeToString(m.Sum(nil)), sha256: hex.EncodeToString(s.Sum(nil)), info: fi}, err
}

// Stat hashes one file.
func (d DirTarget) Stat(ctx context.Context, key string) (Object, error) {
	root, _, err := d.open(key, false, true)
	if err != nil {
		return Object{}, err
	}
	defer root.Close()
	top, err := root.Stat(".")
	if err != nil {
		return Object{}, err
	}
	f, err := hashIn(root, key)
	if err != nil {
		return Object{}, err
	}
	return Object{Size: f.size, MD5: f.md5, SHA256: f.sha256, Exposed: exposed(f.info, top)}, nil
}

// Get opens one file.
func (d DirTarget) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	root, name, err := d.open(key, false, true)
	if err != nil {
		return nil, err
	}
	defer root.Close() // the file opened stays open
	return safefile.OpenIn(root, name)
}

// Put writes a file via a temporary file and a rename, checking that what
// was written has the size planned; its bytes are the reader's to check
// (publish's siteReader does).
func (d DirTarget) Put(ctx context.Context, key string, r io.ReadSeeker, info PutInfo) error {
	root, name, err := d.open(key, true, true)
	if err != nil {
		return err
	}
	defer root.Close()
	// A rename replaces whatever name is, a link included, never what
	// it points at.
	return atomicfile.WriteWithIn(root, name, 0o644, func(w io.Writer) error {
		if f, ok := w.(*os.File); ok {
			// Held while written: a later publish's sweepTemps leaves
			// it alone (the lock goes with the process, however it ends).
			stale.HoldFile(f)
		}
		// What it copies is not hashed again here: publish's reader
		// (siteReader) fails the read that reaches the size unless the
		// bytes are the ones it hashed and checked, so io.Copy fails
		// and nothing is renamed. The size is the store's Content-Length.
		n, err := io.Copy(w, r)
		if f, ok := w.(interface{ Sync() error }); ok && err == nil {
			err = f.Sync() // the temp file (atomicfile.WriteWithIn)
		}
		if err != nil {
			return err
		}
		if n != info.Size {
			return fmt.Errorf("%w: %s changed while uploading (%d bytes, not %d): publish a site that no build is writing to", ErrSiteChanged, key, n, info.Size)
		}
		// Conditions are checked just before the rename: a narrow
		// window, unlike a store's atomic conditional write, but enough
		// to catch a publish that overlapped this one.
		if info.IfMatch == "" && !info.IfAbsent {
			return nil
		}
		cur, err := hashIn(root, key)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if info.IfMatch != "" {
				return fmt.Errorf("%w: %s was removed", ErrConflict, key)
			}
		case err != nil:
			return err
		case info.IfAbsent || cur.md5 != info.IfMatch:
			return fmt.Errorf("%w: %s was replaced", ErrConflict, key)
		}
		return nil
	})
}

// Delete removes a file (a link itself, never what it points at).
func (d DirTarget) Delete(ctx context.Context, key string) error {
	root, name, err := d.open(key, false, false)
	if err != nil {
		return err
	}
	defer root.Close()
	return root.Remove(name)
}

// tempAge: a temporary file last written this long ago, that no live
// publish holds, was left by one that was killed. (A Put holds its file
// from just after creating it until just before the rename; the age
// spares those two moments.)
const tempAge = time.Minute

// tempSweeper is a target that can remove what killed publishes left
// there (DirTarget: atomicfile's temporary files), which List never
// lists.
type tempSweeper interface {
	sweepTemps(ctx context.Context, now time.Time, dryRun bool, dirs []string) ([]string, error)
}

// sweepTemps removes (with dryRun, only lists) the temporary files that
// killed publishes left in dirs (the directories of the site's files:
// where a publish writes), never below them, nor anywhere else (a .git/,
// another tool's directory): regular files named as atomicfile names
// its temporary files (atomicfile.IsTempName, not any ".tmp-*"), no
// live publish holds, last written tempAge before now, reached through
// Dir's root with no link on the way (a link is neither followed nor
// removed).
func (d DirTarget) sweepTemps(ctx context.Context, now time.Time, dryRun bool, dirs []string) ([]string, error) {
	root, err := d.existing()
	if root == nil {
		return nil, err
	}
	defer root.Close()
	var found []string
	for _, dir := range dirs {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ents, err := fs.ReadDir(root.FS(), dir)
		if err != nil {
			continue // not there (yet), or a link: nothing of ours
		}
		for _, e := range ents {
			if e.Type().IsRegular() && atomicfile.IsTempName(e.Name()) {
				found = append(found, path.Join(dir, e.Name()))
			}
		}
	}
	var removed []string
	for _, p := range found {
		name := filepath.FromSlash(p)
		if link, err := safefile.LinkOnPath(root, name, true, nil); err != nil || link != "" {
			continue
		}
		if fi, err := root.Lstat(name); err != nil || !fi.Mode().IsRegular() || now.Sub(fi.ModTime()) < tempAge {
			continue
		}
		f, err := safefile.OpenIn(root, name)
		if err != nil {
			continue
		}
		if stale.TryLock(f) && (dryRun || root.Remove(name) == nil) {
			removed = append(removed, p)
		}
		f.Close()
	}
	return removed, nil
}

// siteDirs lists the directories of the site's files and every one on
// the way to them, the top (".") included, sorted: the directories a
// publish of it writes into.
func siteDirs(local []localFile) []string {
	seen := map[string]bool{".": true}
	for _, f := range local {
		for dir := path.Dir(f.key); dir != "." && !seen[dir]; dir = path.Dir(dir) {
			seen[dir] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// pruneTemps is prune's part for a target that keeps killed publishes'
// temporary files (tempSweeper): they are deleted (or, in a dry run,
// listed) with the rest. A failure to look is a warning: they are
// never the registry's files.
func pruneTemps(ctx context.Context, t Target, local []localFile, o Options, res *Result) {
	s, ok := t.(tempSweeper)
	if !ok {
		return
	}
	temps, err := s.sweepTemps(ctx, time.Now(), o.DryRun, siteDirs(local))
	if err != nil {
		fmt.Fprintf(o.Log, "warning: --prune: could not look for what killed publishes left in %s: %v\n", t, err)
	}
	for _, p := range temps {
		res.Deleted = append(res.Deleted, p)
		if o.DryRun {
			fmt.Fprintf(o.Log, "would delete %s\n", textsafe.Escape(p))
		} else {
			fmt.Fprintf(o.Log, "deleted %s (left by a publish that was killed)\n", textsafe.Escape(p))
		}
	}
}
