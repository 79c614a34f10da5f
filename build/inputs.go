package build

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/gitsafe"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/source"
)

// ErrKeyFile: a --previous-key file, or the set of trusted keys, cannot be
// read as public keys.
var ErrKeyFile = errors.New("bad trusted key")

// UncommittedPacks lists the uncommitted changes under packsDir of the
// work tree at repo that a build of the committed content leaves out,
// without what packgen itself writes there (own: the out dir, a
// --previous dir; and the staging dirs) and without files outside pack
// directories. Nil when there is no repository (the build says so); an
// error when the work tree could not be checked (an index go-git cannot
// read), which the caller reports rather than staying silent.
func UncommittedPacks(repo, packsDir string, own ...string) ([]string, error) {
	r, err := source.Open(repo)
	if err != nil {
		return nil, nil
	}
	dirty, err := r.Dirty(packsDir)
	if err != nil {
		return nil, err
	}
	return ownFiles(repo, own, dirty), nil
}

// ownFiles drops from the work tree's uncommitted changes what packgen
// itself writes there: the out dir, its staging dirs, a --previous dir.
func ownFiles(repo string, dirs, dirty []string) []string {
	root := gitsafe.WorkTreeRoot(repo)
	if repo == "" {
		root = gitsafe.WorkTreeRoot(".")
	}
	if root == "" {
		return dirty
	}
	var own []string
	for _, d := range dirs {
		if d == "" || strings.Contains(d, "://") {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil {
			if rel, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(rel, "..") {
				own = append(own, filepath.ToSlash(rel))
			}
		}
	}
	var out []string
	for _, p := range dirty {
		mine := strings.HasPrefix(path.Base(path.Dir(p)), ".packgen-build-") || strings.Contains(p, "/.packgen-build-") || strings.HasPrefix(p, ".packgen-build-")
		for _, d := range own {
			if p == d || strings.HasPrefix(p, d+"/") {
				mine = true
			}
		}
		// Only pack content is built: a README or .gitignore beside the
		// packs is no reason to warn.
		if !mine && inPackDir(root, p) {
			out = append(out, p)
		}
	}
	return out
}

// inPackDir: the repository path p is in a directory holding pack.json
// (on disk, or p is a pack.json that was removed).
func inPackDir(root, p string) bool {
	if path.Base(p) == "pack.json" {
		return true
	}
	for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(d), "pack.json")); err == nil {
			return true
		}
	}
	return false
}

// TrustedKeys are the keys a build trusts for what it did not make: the
// signing key's public half and the public key files (--previous-key).
// Nil when there are none.
func TrustedKeys(signer Signer, files []string) (*sign.Verifier, error) {
	var pems [][]byte
	if signer != nil {
		pem, err := signer.PublicKeyPEM()
		if err != nil {
			return nil, fmt.Errorf("public key of --key: %w", err)
		}
		pems = append(pems, pem)
	}
	for _, f := range files {
		pem, err := sign.ReadKeyFile(f)
		if err == nil {
			// Parsed alone first, so an error names the file.
			_, err = sign.LoadPublicKey(pem)
		}
		if err != nil {
			return nil, errmark.New(ErrKeyFile, "--previous-key %s: %v", f, err)
		}
		pems = append(pems, pem)
	}
	if len(pems) == 0 {
		return nil, nil
	}
	v, err := sign.NewVerifierSet(pems...)
	if err != nil {
		return nil, errmark.New(ErrKeyFile, "trusted keys: %v", err)
	}
	return v, nil
}
