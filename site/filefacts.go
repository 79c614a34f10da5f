package site

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/packgen/packgen/internal/factfile"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/siteassets"
)

// fileFacts remembers, in the build machine's cache (the build's
// VerifiedDir, beside verified-archives-v1.txt), which bytes this
// machine's packgen wrote as which catalogue file: a line "PATH SHA256"
// for every page, feed and logo it rendered, and every file of the
// catalogue it wrote. A previous site (a bucket synced to a dir, a CI
// cache, a shared out dir) is not trusted: its page, feed or logo is
// reused only when its bytes are ones this machine wrote at that path;
// anything else is rendered again, so a planted page (an inline script,
// its CSP removed) is never carried into a signed build. The facts are
// content hashes, so they never go stale; they are trusted as much as
// the rest of that directory. No cache dir: nothing is reused.
type fileFacts struct {
	*factfile.Set // no file: nothing vouched for, nothing reused
}

// fileFactsName names the file; a change to what a line means starts a
// new one.
const fileFactsName = "catalogue-files-v1.txt"

// maxFileFacts bounds the file: past it, it starts over (the next build
// renders every page once more).
const maxFileFacts = 64 << 20

// ErrNotWritten: a catalogue file in the out dir holds bytes this
// machine's packgen did not write there.
var ErrNotWritten = errors.New("a catalogue file is not one packgen wrote")

func loadFileFacts(dir string) *fileFacts {
	file := ""
	if dir != "" {
		file = filepath.Join(dir, fileFactsName)
	}
	return &fileFacts{factfile.Load(file, maxFileFacts, func(line string) bool {
		i := len(line) - 65
		return i > 0 && line[i] == ' ' && len(line) < 512
	})}
}

func fileFact(rel string, data []byte) string {
	sum := sha256.Sum256(data)
	return rel + " " + hex.EncodeToString(sum[:])
}

// has reports whether data is what this machine wrote at rel.
func (f *fileFacts) has(rel string, data []byte) bool {
	return f != nil && f.Enabled() && f.Has(fileFact(rel, data))
}

// add records that data was written (or proved written) at rel.
func (f *fileFacts) add(rel string, data []byte) {
	if f != nil && f.Enabled() {
		f.Add(fileFact(rel, data))
	}
}

// save appends what this build wrote (a cache: errors are dropped).
func (f *fileFacts) save() {
	if f != nil {
		f.Save(0o644)
	}
}

// readVouched reads the file rel of the site in dir and returns its
// bytes when vouched says they may be reused there (this machine wrote
// them: fileFacts.has; or the previous build's verified manifest lists
// them: gen.vouched); nil otherwise (missing, not a regular file, a
// link, too large, or other bytes).
func readVouched(dir, rel string, vouched func(rel string, data []byte) bool) []byte {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	// Not a link either: one kept in a site updated in place could be
	// pointed elsewhere after the build.
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	b, err := safefile.ReadFile(p, maxReused)
	if err != nil || !vouched(rel, b) {
		return nil
	}
	return b
}

// CheckWritten returns an error (ErrNotWritten) naming the first
// catalogue file of the site in dir whose bytes this machine's packgen
// did not write there, per the facts in cache (the build's VerifiedDir);
// a missing root file or asset is one too. The build's "nothing to do"
// short cut asks it before trusting an out dir a CI cache or another
// user may have written: an edited assets/app.js runs on every page
// whatever the CSP. It reads every file of the catalogue once.
func CheckWritten(cache, dir string) error {
	f := loadFileFacts(cache)
	if !f.Enabled() {
		return fmt.Errorf("%w: no cache directory records what the build wrote", ErrNotWritten)
	}
	must := []string{IndexFile, CatalogJSON, FeedFile}
	for _, n := range siteassets.Names() {
		must = append(must, path.Join(assetsDir, n))
	}
	bad := func(rel string) error {
		return fmt.Errorf("%w: %s holds bytes packgen did not write there", ErrNotWritten, filepath.Join(dir, filepath.FromSlash(rel)))
	}
	for _, rel := range must {
		if readVouched(dir, rel, f.has) == nil {
			return bad(rel)
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "packs"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrNotWritten, err)
	}
	for _, e := range ents {
		for _, n := range []string{pageFile, FeedFile, logoFile} {
			rel := path.Join(packDir(e.Name()), n)
			if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel))); errors.Is(err, os.ErrNotExist) {
				continue // a pack without a logo (or a page: not a pack)
			}
			if readVouched(dir, rel, f.has) == nil {
				return bad(rel)
			}
		}
	}
	return nil
}
