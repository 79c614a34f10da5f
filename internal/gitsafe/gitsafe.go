// Package gitsafe keeps private keys out of git: a `git add .` after
// `packgen key generate` would otherwise commit the registry's signing
// key, and a push would publish it (issue 17 item 1).
package gitsafe

import (
	"bytes"
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

// maxKeyScan bounds how much of a suspicious file is read: keys are small.
const maxKeyScan = 64 << 10

// privateKeyMarkers are the PEM armour lines of private keys: cosign's and
// packgen's ("ENCRYPTED SIGSTORE PRIVATE KEY"), PKCS#8, RSA, EC, OpenSSH.
var privateKeyMarkers = [][]byte{[]byte("PRIVATE KEY-----")}

// IsPrivateKey reports whether data holds a PEM private key block.
func IsPrivateKey(data []byte) bool {
	for _, m := range privateKeyMarkers {
		if i := bytes.Index(data, m); i >= 0 && bytes.Contains(data[:i], []byte("-----BEGIN ")) {
			return true
		}
	}
	return false
}

// keyLikeName: file names worth reading for a private key. Reading every
// blob of a large repository on each build would cost seconds; keys are
// named like keys.
func keyLikeName(name string) bool {
	n := strings.ToLower(path.Base(name))
	switch path.Ext(n) {
	case ".key", ".pem", ".p8", ".pk8", ".priv", ".private", ".sec", ".asc":
		return true
	}
	return strings.HasPrefix(n, "id_") || strings.Contains(n, "key") || strings.Contains(n, "secret")
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
	// Walking every tree costs ≈ 0.1 s per 10,000 files: a tree found
	// clean once is remembered by its hash (a rebuild of the same commit
	// otherwise returns in milliseconds).
	mark := filepath.Join(cacheDir, "keycheck", tree.Hash.String())
	if _, err := os.Stat(mark); cacheDir != "" && err == nil {
		return nil, nil
	}
	defer func() {
		if len(found) == 0 && err == nil && cacheDir != "" {
			if os.MkdirAll(filepath.Dir(mark), 0o700) == nil {
				_ = os.WriteFile(mark, nil, 0o600)
			}
		}
	}()
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, werr := w.Next()
		if werr == io.EOF {
			break
		}
		if werr != nil {
			return found, werr
		}
		if !e.Mode.IsFile() || e.Mode == filemode.Symlink || !keyLikeName(name) {
			continue
		}
		blob, err := g.BlobObject(e.Hash)
		if err != nil {
			continue
		}
		r, err := blob.Reader()
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(r, maxKeyScan))
		r.Close()
		if IsPrivateKey(data) {
			found = append(found, name)
		}
	}
	sort.Strings(found)
	return found, nil
}

// InRepoError is the ErrKeyInRepo error for files holding a private key
// in commit, saying what to do.
func InRepoError(files []string, commit string) error {
	return fmt.Errorf("%w: %s at %s holds a private key (PEM \"PRIVATE KEY\" block): anyone who can read the repository can sign as you. "+
		"Remove it (git rm --cached %s; add it to .gitignore), rotate the key since history keeps it (docs/SECURITY.md), and build again",
		ErrKeyInRepo, strings.Join(files, ", "), commit, files[0])
}
