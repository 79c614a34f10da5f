package site

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
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
// the rest of that directory. No cache dir: nothing is reused. Being of
// any generation, they do not say which feed or logo goes with a page:
// the page names them (keyMeta).
//
// It also remembers, as verified-archives-v1.txt does for archives, that
// the file at a path, as a stat described it (factfile.State), held
// bytes with a given SHA-256 when this machine read and vouched for
// them ("stat REL STATE SHA256"), and which reuse key a page with a
// given SHA-256 carries ("meta KEY FEED LOGO SHA256", keyMeta: with the
// feed and logo it names): an update in place
// then keeps a page, feed or logo nothing touched since with a stat,
// not a read, and a rebuild stays O(what changed). A file whose stat
// differs (rewritten, even in place, or swapped) is read and checked
// as before.
type fileFacts struct {
	*factfile.Set // no file: nothing vouched for, nothing reused
	// stat maps "REL STATE" to the SHA-256 a "stat" fact read back names.
	stat map[string]string
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
	f := &fileFacts{stat: map[string]string{}}
	f.Set = factfile.Load(file, maxFileFacts, func(line string) bool {
		i := len(line) - 65
		if i <= 0 || line[i] != ' ' || len(line) >= 512 {
			return false
		}
		if rest, ok := strings.CutPrefix(line, "stat "); ok {
			f.stat[rest[:len(rest)-65]] = line[i+1:]
		}
		return true
	})
	return f
}

// hasSum reports whether the bytes with SHA-256 sha are what this
// machine wrote at rel.
func (f *fileFacts) hasSum(rel, sha string) bool {
	return f != nil && f.Enabled() && f.Has(rel+" "+sha)
}

// add records that data was written (or proved written) at rel.
func (f *fileFacts) add(rel string, data []byte) { f.addSum(rel, index.Digest(data)) }

// addSum is add of the bytes with SHA-256 sha.
func (f *fileFacts) addSum(rel, sha string) {
	if f != nil && f.Enabled() {
		f.Add(rel + " " + sha)
	}
}

// addStat records that the file at rel, as state describes it
// (factfile.State; "" describes nothing), holds the bytes with SHA-256
// sha, which were vouched for there.
func (f *fileFacts) addStat(rel, state, sha string) {
	if f != nil && f.Enabled() && state != "" {
		f.Add("stat " + rel + " " + state + " " + sha)
	}
}

// statSum is the SHA-256 of the bytes remembered at rel in state (""
// when none is).
func (f *fileFacts) statSum(rel, state string) string {
	if f == nil || !f.Enabled() || state == "" {
		return ""
	}
	return f.stat[rel+" "+state]
}

// metaFact names "the page with SHA-256 sha carries the reuse key meta
// (keyMeta)": a fact of its content, which never goes stale.
func metaFact(meta, sha string) string { return "meta " + meta + " " + sha }

// save appends what this build wrote (a cache: errors are dropped).
func (f *fileFacts) save() {
	if f != nil {
		f.Save(0o644)
	}
}

// readVouched reads the file rel of the site in dir and returns its
// bytes and their SHA-256 when vouched says bytes of that SHA-256 and
// size may be reused there (this machine wrote them: fileFacts.hasSum;
// or the previous build's verified manifest lists them:
// gen.vouchedSum); nil otherwise (missing, not a regular file, a link,
// too large, or other bytes). It also describes the file as it was
// opened, before it was read (factfile.State; "" when it cannot be
// described): the stat a later build may find it unchanged by.
func readVouched(dir, rel string, vouched func(rel, sha string, size int64) bool) (data []byte, sha, state string) {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	// Not a link either: one kept in a site updated in place could be
	// pointed elsewhere after the build.
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return nil, "", ""
	}
	b, info, err := safefile.ReadFileInfo(p, maxReused)
	if err != nil {
		return nil, "", ""
	}
	if sha = index.Digest(b); !vouched(rel, sha, int64(len(b))) {
		return nil, "", ""
	}
	return b, sha, factfile.State(info)
}

// CheckWritten returns an error (ErrNotWritten) naming the first
// catalogue file of the site in dir whose bytes this machine's packgen
// did not write there, per the facts in cache (the build's VerifiedDir);
// a missing root file or asset is one too. The build's "nothing to do"
// short cut asks it before trusting an out dir a CI cache or another
// user may have written: an edited assets/app.js runs on every page
// whatever the CSP. It reads every file of the catalogue whose stat it
// does not remember (fileFacts), and remembers the stats of those.
// A stat catches a file written, truncated, renamed, copied or restored
// (a new ctime), not one edited through a shared mapping a local writer
// already holds (factfile.State): reading every file instead costs
// about 100 ms at 1,000 packs, where the short cut takes 16 ms. It
// signs nothing; publish and verify --site read every catalogue file
// against the signed manifest (docs/SECURITY.md).
//
// A symbolic link on the way to any of them (packs/NAME pointed at a
// directory someone else owns) is refused as the build's writes refuse
// it (build.ErrOutLink): the bytes there may be genuine today, and the
// link's owner edits what the out dir serves tomorrow (attackX F7).
func CheckWritten(cache, dir string) error {
	f := loadFileFacts(cache)
	if !f.Enabled() {
		return fmt.Errorf("%w: no cache directory records what the build wrote", ErrNotWritten)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotWritten, err)
	}
	defer root.Close()
	links := newLinkFree(root)
	must := []string{IndexFile, CatalogJSON, FeedFile}
	for _, n := range siteassets.Names() {
		must = append(must, path.Join(assetsDir, n))
	}
	noLink := func(rel string, self bool) error {
		link, err := links.find(filepath.FromSlash(rel), self)
		switch {
		case err != nil:
			return fmt.Errorf("%w: %w", ErrNotWritten, err)
		case link != "":
			return fmt.Errorf("%w: %w", ErrNotWritten, build.OutLinkError(filepath.Join(dir, link), "the catalogue keeps its files"))
		}
		return nil
	}
	// written, and no link on the way to rel: its own Lstat (unchanged,
	// readVouched) takes nothing but a regular file.
	check := func(rel string) error {
		if err := noLink(rel, false); err != nil {
			return err
		}
		if !f.written(dir, rel) {
			return fmt.Errorf("%w: %s holds bytes packgen did not write there", ErrNotWritten, filepath.Join(dir, filepath.FromSlash(rel)))
		}
		return nil
	}
	defer f.save() // the stats of what it read, for the next one
	for _, rel := range must {
		if err := check(rel); err != nil {
			return err
		}
	}
	if err := noLink("packs", true); err != nil { // before it is listed
		return err
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
			if err := check(rel); err != nil {
				return err
			}
		}
	}
	return nil
}

// written reports whether the file rel of the site in dir holds bytes
// this machine wrote there: found by a stat it remembers, or read.
func (f *fileFacts) written(dir, rel string) bool {
	if sha, _ := f.unchanged(dir, rel); sha != "" && f.hasSum(rel, sha) {
		return true
	}
	data, _ := f.read(dir, rel, func(rel, sha string, _ int64) bool { return f.hasSum(rel, sha) })
	return data != nil
}

// unchanged returns the SHA-256 and size of the bytes the file rel of
// the site in dir holds when a stat (not following a link) finds it as
// remembered ("" when it is not).
func (f *fileFacts) unchanged(dir, rel string) (string, int64) {
	fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return "", 0
	}
	return f.statSum(rel, factfile.State(fi)), fi.Size()
}

// read is readVouched that remembers the stat of a file it vouched for;
// it returns the bytes (nil: not vouched for) and their SHA-256.
func (f *fileFacts) read(dir, rel string, vouched func(rel, sha string, size int64) bool) ([]byte, string) {
	data, sha, state := readVouched(dir, rel, vouched)
	if data == nil {
		return nil, ""
	}
	f.addStat(rel, state, sha)
	return data, sha
}
