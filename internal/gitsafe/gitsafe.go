// Package gitsafe keeps private keys out of git: a `git add .` after
// `packgen key generate` would otherwise commit the registry's signing
// key, and a push would publish it (issue 17 item 1).
package gitsafe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/internal/factfile"
	"github.com/packgen/packgen/internal/privkey"
	"github.com/packgen/packgen/internal/safefile"
)

// ErrKeyInRepo: a private key would be, or is, committed.
var ErrKeyInRepo = errors.New("private key in a git repository")

// WorkTreeRoot returns the root of the git work tree holding dir ("" when
// dir is in none): the nearest parent with a .git entry (a directory, or
// the file of a linked worktree or submodule).
func WorkTreeRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// gitIgnored reports whether file (inside the work tree at root) is
// ignored by the repository's .gitignore files, .git/info/exclude, or the
// user's global excludes file, as `git add .` would read them.
func gitIgnored(root, file string) bool {
	abs, err := filepath.Abs(file)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	fs := osfs.New(root)
	ps, _ := gitignore.ReadPatterns(fs, nil)
	if global, err := gitignore.LoadGlobalPatterns(osfs.New("/")); err == nil {
		ps = append(global, ps...)
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	m := gitignore.NewMatcher(ps)
	// A file is ignored when it or any parent directory is.
	for i := 1; i <= len(parts); i++ {
		if m.Match(parts[:i], i < len(parts)) {
			return true
		}
	}
	return false
}

// CheckKeyOutside refuses (ErrKeyInRepo) to write the private key file
// keyFile inside a git work tree that does not ignore it.
func CheckKeyOutside(keyFile string) error {
	root := WorkTreeRoot(filepath.Dir(keyFile))
	if root == "" || gitIgnored(root, keyFile) {
		return nil
	}
	base := filepath.Base(keyFile)
	return fmt.Errorf("%w: %s would be inside the git work tree %s and is not git-ignored: `git add .` would commit the private signing key. "+
		"Ignore it first (echo '%s' >> %s), write it outside the repository (--prefix ../%s), or pass --force",
		ErrKeyInRepo, keyFile, root, base, filepath.Join(root, ".gitignore"), strings.TrimSuffix(base, ".key"))
}

// TrackedPrivateKeys lists the files of the commit at ref whose content
// is a PEM private key (files with key-like names are read); a tree found
// clean is remembered under cacheDir ("" remembers nothing).
func TrackedPrivateKeys(g *git.Repository, ref, cacheDir string) (found []string, err error) {
	if ref == "" {
		ref = "HEAD"
	}
	h, err := g.ResolveRevision(plumbing.Revision(ref))
	if err != nil {
		return nil, nil // the build reports a bad ref itself
	}
	c, err := g.CommitObject(*h)
	if err != nil {
		return nil, nil
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	// Walking every tree costs ≈ 0.1 s per 10,000 files. A tree found
	// clean is remembered by its hash, every subtree too: a new commit
	// walks only the trees it changed (the root, the directories down to
	// what changed), O(what changed) like the build.
	clean := loadCleanTrees(cleanTreesFile(cacheDir))
	if clean.known[tree.Hash] {
		return nil, nil
	}
	var walkTree func(t *object.Tree, dir string) (bool, error)
	walkTree = func(t *object.Tree, dir string) (bool, error) {
		ok := true
		for _, e := range t.Entries {
			name := path.Join(dir, e.Name)
			switch {
			case e.Mode == filemode.Dir:
				if clean.known[e.Hash] {
					continue
				}
				sub, err := g.TreeObject(e.Hash)
				if err != nil {
					return false, err
				}
				subOK, err := walkTree(sub, name)
				if err != nil {
					return false, err
				}
				ok = ok && subOK
			case !e.Mode.IsFile() || e.Mode == filemode.Symlink || !privkey.LikelyName(name):
			case holdsPrivateKey(g, e.Hash):
				found = append(found, name)
				ok = false
			}
		}
		if ok {
			clean.add(t.Hash)
		}
		return ok, nil
	}
	if _, err := walkTree(tree, ""); err != nil {
		return found, err
	}
	clean.save()
	sort.Strings(found)
	return found, nil
}

// holdsPrivateKey reports whether blob id's content is a PEM private key
// (an unreadable blob is not; the build reads it and fails on it).
func holdsPrivateKey(g *git.Repository, id plumbing.Hash) bool {
	blob, err := g.BlobObject(id)
	if err != nil {
		return false
	}
	r, err := blob.Reader()
	if err != nil {
		return false
	}
	defer r.Close()
	data, _ := io.ReadAll(io.LimitReader(r, privkey.MaxScan))
	return privkey.IsPEM(data)
}

// cleanTreesFile holds the hashes of trees found to hold no private key,
// one a line, in the user's cache.
func cleanTreesFile(cacheDir string) string {
	if cacheDir == "" {
		return ""
	}
	return filepath.Join(cacheDir, "keycheck", "clean-trees-v1.txt")
}

// maxCleanTrees bounds the file read back; past it, it starts over.
const maxCleanTrees = 16 << 20

type cleanTrees struct {
	file  string
	known map[plumbing.Hash]bool
	added []plumbing.Hash
}

func loadCleanTrees(file string) *cleanTrees {
	c := &cleanTrees{file: file, known: map[plumbing.Hash]bool{}}
	if file == "" {
		return c
	}
	data, err := safefile.ReadFile(file, maxCleanTrees)
	if err != nil {
		return c
	}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(line, "\n")
		if plumbing.IsHash(line) {
			c.known[plumbing.NewHash(line)] = true
		}
	}
	return c
}

func (c *cleanTrees) add(h plumbing.Hash) {
	if !c.known[h] {
		c.known[h] = true
		c.added = append(c.added, h)
	}
}

// save appends the trees found clean (factfile.Append: whole lines,
// concurrent builds not interleaved). Best effort: without it the next
// build walks again.
func (c *cleanTrees) save() {
	lines := make([]string, len(c.added))
	for i, h := range c.added {
		lines[i] = h.String()
	}
	factfile.Append(c.file, lines, maxCleanTrees, 0o600)
}

// InRepoError is the ErrKeyInRepo error for files holding a private key
// in commit, saying what to do.
func InRepoError(files []string, commit string) error {
	return fmt.Errorf("%w: %s at %s holds a private key (PEM \"PRIVATE KEY\" block): anyone who can read the repository can sign as you. "+
		"Remove it (git rm --cached %s; add it to .gitignore), rotate the key since history keeps it (docs/SECURITY.md), and build again",
		ErrKeyInRepo, strings.Join(files, ", "), commit, files[0])
}
