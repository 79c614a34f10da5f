package build

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/safefile"
)

// Incremental update in place.
//
// A staged build re-creates the whole site (a hard link per archive and
// signature, every shard, then a swap and the removal of the old tree):
// O(releases) file operations even when one pack changed, seconds at
// thousands of releases. When the previous build is the out dir itself,
// made with the same signing key, the build instead updates the out dir
// in place, in the order publish/ uses for object stores: new immutable
// files first (archives, signatures, content-addressed shards and
// buckets, the root's digest-named signatures), which nothing references
// yet; then the per-pack latest shards; then index.json, by rename; then
// the content-addressed files the new index no longer references are
// removed; last, the Site hook runs with dir = the out dir (the catalogue
// writes each file atomically and keeps pages whose inputs did not
// change). Readers and a crash at any point see the old registry or the
// new one, both complete (the SIGKILL test checks this). A failed build
// removes the archives it added. A no-change rebuild writes no metadata.

// canUpdateInPlace reports whether this build may update o.Out in place.
func canUpdateInPlace(o Options, prev *previous) bool {
	if prev.root == nil || prev.dir == "" {
		return false
	}
	if !samePath(prev.dir, o.Out) {
		return false
	}
	// Without a catalogue now, one from an earlier build would go stale:
	// a staged build drops it. (With one, the Site hook is called with
	// dir = Out = the previous site, and updates it in place.)
	if _, err := os.Lstat(filepath.Join(o.Out, "index.html")); err == nil && o.Site == nil {
		return false
	}
	_, err := os.Lstat(filepath.Join(o.Out, filepath.FromSlash(index.RootSignaturePath(prev.rootDigest))))
	if o.Signer == nil {
		// Only an unsigned registry stays unsigned in place.
		_, lerr := os.Lstat(filepath.Join(o.Out, index.RootFile+".sig"))
		return errors.Is(err, fs.ErrNotExist) && errors.Is(lerr, fs.ErrNotExist)
	}
	// Signed by this very key: every release in it is too (a build
	// re-signs what another key signed), so nothing needs re-signing.
	if err != nil {
		return false
	}
	sum, err := hexSum(prev.rootDigest)
	if err != nil {
		return false
	}
	return signedBy(o.own, o.Out, index.RootSignaturePath(prev.rootDigest), filepath.Join(o.Out, index.RootFile), sum)
}

// ErrOutLink: a symbolic link in the out dir where an update in place
// would write (packs/NAME -> ~/.ssh, index -> /etc, planted by whoever
// else can write there): never followed.
var ErrOutLink = errors.New("a symbolic link in the out dir")

// OutLinkError is ErrOutLink for the link at p, where (what) would
// write: the build, or the catalogue it calls.
func OutLinkError(p, what string) error {
	return fmt.Errorf("%w: %s is a symbolic link where %s; packgen never writes through one: remove it (rm %s) and build again, after checking who planted it", ErrOutLink, p, what, p)
}

func outLinkErr(p string) error {
	return OutLinkError(p, "this build would update the registry in place")
}

// linkAtTop refuses, before an update in place writes anything, a link
// among out's entries or packs/'s (every pack's directory): two
// directory listings. Deeper directories are checked as the build
// reaches them (dirMaker); the catalogue writes only at these levels.
func linkAtTop(out string) error {
	for _, dir := range []string{out, filepath.Join(out, "packs")} {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for _, e := range entries {
			if e.Type()&fs.ModeSymlink != 0 {
				return outLinkErr(filepath.Join(dir, e.Name()))
			}
		}
	}
	return nil
}

// putFile writes a metadata file of the site. Staged, it is a plain
// write into the fresh stage. In place, a file already holding these
// bytes is left alone (content-addressed names the previous build wrote
// are known without reading them, and so are the others when the
// previous build finished: a killed one may have rewritten them), and
// any other is replaced by rename.
func putFile(o Options, prev *previous, stage, rel string, data []byte) (index.FileRef, error) {
	if !o.inPlace {
		return writeFile(stage, rel, data)
	}
	if data == nil {
		// A previous build's file kept as it is (writeShard).
		return index.FileRef{Path: rel}, nil
	}
	ref := index.FileRef{Path: rel, SHA256: index.Digest(data), Size: int64(len(data))}
	if prev.refs[rel] == ref.SHA256 && (o.prevFinished || contentAddressed(rel)) {
		return ref, nil
	}
	file := filepath.Join(stage, filepath.FromSlash(rel))
	if err := o.dirs.mkdirAll(filepath.Dir(file)); err != nil {
		return ref, err
	}
	if o.dirs.holds(file, data) {
		return ref, nil
	}
	return ref, o.dirs.replace(file, data)
}

// removeAdded undoes a failed in-place update: the archives and
// signatures of new releases, which no index references.
func removeAdded(d *dirMaker, out string, jobs []*job) {
	for _, j := range jobs {
		if j.prev != nil {
			continue
		}
		for _, p := range j.out.Files() {
			d.remove(filepath.Join(out, filepath.FromSlash(p)))
		}
		if p := j.out.Archive.Path; p != "" {
			d.remove(filepath.Join(out, filepath.FromSlash(path.Dir(p)))) // only if now empty
		}
	}
}

// collectGarbage removes the content-addressed metadata of the previous
// build that the new index no longer references (the shards of changed
// packs, changed buckets, the old root's signatures), after the switch.
func collectGarbage(d *dirMaker, out string, prev *previous, kept map[string]bool) {
	for rel := range prev.refs {
		if kept[rel] || !contentAddressed(rel) {
			continue
		}
		d.remove(filepath.Join(out, filepath.FromSlash(rel)))
	}
}

// sweepUnreferenced removes release files under out/packs that the new
// index does not reference: what a killed in-place build added
// (archives and signatures of releases it never indexed), which publish
// would otherwise upload. Only files of those kinds are touched; the
// catalogue's pages are the Site hook's. When the build before finished
// (prevFinished: its record was in Out), nothing was left but what the
// previous index named, so only its releases the new index dropped are
// removed, without walking packs/ (≈ 80 ms of CPU at 5,000 releases).
func sweepUnreferenced(d *dirMaker, out string, prev *previous, shards []*index.Shard, prevFinished bool) {
	keep := map[string]bool{}
	for _, s := range shards {
		for _, r := range s.Releases {
			for _, p := range r.Files() {
				keep[p] = true
			}
		}
	}
	if prevFinished {
		for _, s := range prev.shards {
			for _, r := range s.Releases {
				for _, p := range r.Files() {
					if !keep[p] && releaseFile(p) {
						d.remove(filepath.Join(out, filepath.FromSlash(p)))
					}
				}
			}
		}
		return
	}
	root := filepath.Join(out, "packs")
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(out, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if releaseFile(rel) && !keep[rel] {
			d.remove(p)
		}
		return nil
	})
}

// releaseFile reports whether rel (slash-separated, in the site) is a
// release's archive or one of its signature files. A path with "." or
// ".." parts is none: the index's paths are checked when parsed, and a
// removal must not leave packs/ whatever it is given.
func releaseFile(rel string) bool {
	parts := strings.Split(rel, "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return false
		}
	}
	return len(parts) == 4 && parts[0] == "packs" && parts[2] != "shards" && (strings.HasSuffix(rel, ".tar.gz") || strings.HasSuffix(rel, ".tar.gz"+index.SignatureExt) || strings.HasSuffix(rel, ".tar.gz"+index.BundleExt))
}

func contentAddressed(rel string) bool {
	return strings.HasPrefix(rel, "index/") || strings.HasPrefix(rel, "signatures/") || strings.Contains(rel, "/shards/")
}

// samePath reports whether two paths name the same place once made
// absolute.
func samePath(a, b string) bool {
	a, err1 := filepath.Abs(a)
	b, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && a == b
}

// The writes of an update in place. The out dir is often shared (a web
// root, a mounted bucket), and a link planted there before the build is
// refused when it plans (linkAtTop); one planted while it runs must be
// refused as well, not followed. So once the build decides to update in
// place, every file it writes, renames or removes there goes through an
// os.Root of the out dir (nothing resolves out of it), after a check
// (safefile.LinkOnPath) that turns a link on the way, or at the file
// itself, into ErrOutLink naming it. A fresh stage is the build's own
// new directory: its writes take plain paths.

// openOut makes every later write under out go through an os.Root of it.
func (d *dirMaker) openOut(out string) error {
	root, err := os.OpenRoot(out)
	if err != nil {
		return err
	}
	d.out, d.root, d.real = filepath.Clean(out), root, map[string]bool{}
	return nil
}

func (d *dirMaker) close() {
	if d != nil && d.root != nil {
		d.root.Close()
	}
}

// inOut returns p's name inside the out dir when the build updates it in
// place (ok false for a fresh stage).
func (d *dirMaker) inOut(p string) (rel string, ok bool) {
	if d == nil || d.root == nil {
		return "", false
	}
	rel, err := filepath.Rel(d.out, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// check refuses a link on the way to each of rels or at it.
func (d *dirMaker) check(rels ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rel := range rels {
		if err := d.noLinks(rel, true); err != nil {
			return err
		}
	}
	return nil
}

// holds reports whether file is a regular file holding data already, so
// that an unchanged file is left alone; in place, read through the out
// dir's root, and false for a link (which replace then refuses).
func (d *dirMaker) holds(file string, data []byte) bool {
	var f *os.File
	var err error
	if rel, ok := d.inOut(file); !ok {
		f, err = safefile.Open(file)
	} else if err = d.check(rel); err == nil {
		f, err = safefile.OpenIn(d.root, rel)
	}
	if err != nil {
		return false
	}
	defer f.Close()
	old, err := safefile.ReadAllInto(io.LimitReader(f, int64(len(data))+1), make([]byte, 0, len(data)+1))
	return err == nil && bytes.Equal(old, data)
}

// replace writes data to file atomically, so that readers of the live
// site see the old content or the new (atomicfile.WriteFile); in place,
// through the out dir's root.
func (d *dirMaker) replace(file string, data []byte) error {
	rel, ok := d.inOut(file)
	if !ok {
		return atomicfile.WriteFile(file, data, 0o644)
	}
	if err := d.check(rel); err != nil {
		return err
	}
	return atomicfile.WriteFileIn(d.root, rel, data, 0o644)
}

// rename renames from to to; in place, through the out dir's root.
func (d *dirMaker) rename(from, to string) error {
	rf, ok := d.inOut(from)
	rt, ok2 := d.inOut(to)
	if !ok || !ok2 {
		return os.Rename(from, to)
	}
	if err := d.check(rf, rt); err != nil {
		return err
	}
	return d.root.Rename(rf, rt)
}

// create makes file, new (O_EXCL: never through a link at its name); in
// place, through the out dir's root, in place of what a killed update
// may have left there (no index references it).
func (d *dirMaker) create(file string) (*os.File, error) {
	const flag = os.O_CREATE | os.O_EXCL | os.O_WRONLY
	rel, ok := d.inOut(file)
	if !ok {
		return os.OpenFile(file, flag, 0o644)
	}
	if err := d.check(rel); err != nil {
		return nil, err
	}
	if err := d.root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return d.root.OpenFile(rel, flag, 0o644)
}

// remove removes file (a link itself, never what it points at); in
// place, through the out dir's root.
func (d *dirMaker) remove(file string) error {
	if rel, ok := d.inOut(file); ok {
		d.mu.Lock()
		err := d.noLinks(rel, false) // the file itself may be a link: it goes
		d.mu.Unlock()
		if err != nil {
			return err
		}
		return d.root.Remove(rel)
	}
	return os.Remove(file)
}

// forget drops what is known of the out dir's directories, so the
// writes that follow check each again: the index phase's writes come
// long after the releases', and a directory checked then may be a link
// now.
func (d *dirMaker) forget() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.real != nil {
		d.real = map[string]bool{}
	}
}
