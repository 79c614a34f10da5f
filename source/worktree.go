package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"

	"github.com/packgen/packgen/internal/safefile"
)

// WorkFile is a file of the work tree as git would commit it: the blob
// hash of its content and its mode.
type WorkFile struct {
	Hash plumbing.Hash
	Mode filemode.FileMode
}

// WorkFiles returns the files of the work tree under dir (a directory
// of the repository, slash-separated), keyed by their path below dir, as
// `git add dir` would stage them: tracked files as they are on disk,
// untracked ones unless ignored; nil for a bare repository. Unreadable
// paths are errors here (a pack judged from disk must be read whole).
func (r *Repo) WorkFiles(dir string) (map[string]WorkFile, error) {
	d, err := r.scanWorkTree(dir, true)
	if d == nil || err != nil {
		return nil, err
	}
	if len(d.unsure) > 0 {
		return nil, d.unsureErr
	}
	out := make(map[string]WorkFile, len(d.files))
	for _, f := range d.files {
		rel := f.path
		if d.prefix != "" {
			rel = rel[len(d.prefix)+1:]
		}
		out[rel] = WorkFile{f.hash, f.mode}
	}
	return out, nil
}

// workScan is the work tree under prefix, as git would stage it.
type workScan struct {
	root      string
	prefix    string
	indexTime time.Time // when the index was written
	cfg       workConfig
	excludes  []gitignore.Pattern // core.excludesFile, then info/exclude: lowest first
	tracked   map[string]bool     // index entries under prefix
	folded    map[string]bool     // the same, lower-cased, with core.ignorecase
	gitlinks  map[string]bool     // submodules among them
	files     []dirtyFile         // the work tree under prefix, sorted
	conflicts []string            // paths in a merge conflict (index stages 1-3)
	// unsure are paths that could not be read (a directory or file the
	// user may not read): Dirty counts them as changed, as git warns and
	// goes on; unsureErr is the first such error.
	unsure    []string
	unsureErr error
	// asStaged hashes text files as `git add` would store them under
	// core.autocrlf (WorkFiles); without it a file whose size changed
	// is changed, as git's status says (Dirty).
	asStaged bool
}

// workConfig is what of git's configuration changes how the work tree
// maps to blobs.
type workConfig struct {
	fileMode bool // core.fileMode (default true): the executable bit counts
	symlinks bool // core.symlinks (default true): links are links
	autocrlf bool // core.autocrlf true or input: CRLF on disk may be LF in git
	ctime    bool // core.trustctime and not core.checkStat=minimal: ctime and inode count
	// ignoreCase is core.ignorecase (git sets it on case-insensitive
	// volumes, macOS's and Windows' defaults): a file on disk is the
	// tracked one whatever the case of its name.
	ignoreCase bool
}

// scanWorkTree reads the index entries under dir and the work tree under
// it; nil for a bare repository.
func (r *Repo) scanWorkTree(dir string, asStaged bool) (*workScan, error) {
	wt, err := r.git.Worktree()
	if err != nil {
		if errors.Is(err, git.ErrIsBareRepository) {
			return nil, nil
		}
		return nil, err
	}
	idx, err := r.git.Storer.Index()
	if err != nil {
		return nil, fmt.Errorf("read the git index: %w", err)
	}
	d := &workScan{root: wt.Filesystem.Root(), prefix: strings.Trim(path.Clean("/"+filepath.ToSlash(dir)), "/"),
		indexTime: idx.ModTime, tracked: map[string]bool{}, folded: map[string]bool{}, gitlinks: map[string]bool{}, asStaged: asStaged}
	d.cfg, d.excludes = r.workSettings()
	if err := d.fromIndex(idx); err != nil {
		return nil, err
	}
	d.untracked()
	sort.Slice(d.files, func(i, j int) bool { return d.files[i].path < d.files[j].path })
	return d, nil
}

// workSettings reads what of git's configuration the work tree's
// mapping to blobs depends on (core.fileMode, core.symlinks,
// core.autocrlf, core.trustctime, core.checkStat), each from the
// repository's configuration, else the user's, else the system's, as
// git does; and the ignore rules that are not .gitignore files:
// core.excludesFile (by default $XDG_CONFIG_HOME/git/ignore), then the
// repository's info/exclude.
func (r *Repo) workSettings() (workConfig, []gitignore.Pattern) {
	var scopes []*config.Config
	if c, err := r.git.Config(); err == nil {
		scopes = append(scopes, c)
	}
	for _, s := range []config.Scope{config.GlobalScope, config.SystemScope} {
		if c, err := config.LoadConfig(s); err == nil {
			scopes = append(scopes, c)
		}
	}
	option := func(key string) (string, bool) {
		for _, c := range scopes {
			if c.Raw != nil && c.Raw.Section("core").Options.Has(key) {
				return c.Raw.Section("core").Options.Get(key), true
			}
		}
		return "", false
	}
	isTrue := func(key string, def bool) bool {
		v, ok := option(key)
		if !ok {
			return def
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "false", "no", "off", "0", "":
			return false
		}
		return true
	}
	c := workConfig{fileMode: isTrue("filemode", true), symlinks: isTrue("symlinks", true), ctime: isTrue("trustctime", true), ignoreCase: isTrue("ignorecase", false)}
	if v, _ := option("checkstat"); strings.EqualFold(v, "minimal") {
		c.ctime = false
	}
	if v, _ := option("autocrlf"); strings.EqualFold(v, "input") || isTrue("autocrlf", false) {
		c.autocrlf = true
	}
	excludes := xdgIgnore()
	if v, ok := option("excludesfile"); ok {
		excludes = expandHome(v)
	}
	ps := readIgnore(excludes, nil)
	if st, ok := r.git.Storer.(interface{ Filesystem() billy.Filesystem }); ok {
		ps = append(ps, readIgnore(filepath.Join(commonDir(st.Filesystem().Root()), "info", "exclude"), nil)...)
	}
	return c, ps
}

// expandHome expands a leading ~/ as git does in core.excludesFile.
func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}

// xdgIgnore is git's default core.excludesFile.
func xdgIgnore() string {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "git", "ignore")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".config", "git", "ignore")
	}
	return ""
}

// commonDir is the git dir that holds info/ for gitDir: a linked work
// tree's names its repository's in the file commondir.
func commonDir(gitDir string) string {
	data, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	c := strings.TrimSpace(string(data))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return c
}

func (d *workScan) under(p string) bool {
	return d.prefix == "" || strings.HasPrefix(p, d.prefix+"/")
}

// unreadable records a path that could not be read.
func (d *workScan) unreadable(p string, err error) {
	d.unsure = append(d.unsure, p)
	if d.unsureErr == nil {
		d.unsureErr = err
	}
}

// fromIndex takes each index entry under prefix as the work tree holds
// it: its own hash when the file's stat data still matches the entry
// (mode, size, mtime and, where the system has them, ctime and inode;
// and the file older than the index, git's guard against an edit within
// the index's own timestamp), else the hash of what is on disk.
func (d *workScan) fromIndex(idx *index.Index) error {
	if d.prefix != "" {
		if fi, err := os.Lstat(filepath.Join(d.root, filepath.FromSlash(d.prefix))); err == nil && !fi.IsDir() {
			return fmt.Errorf("%s is not a directory in the work tree (%s): the packs directory must be one", d.prefix, fi.Mode().Type())
		}
	}
	for _, e := range idx.Entries {
		if d.prefix != "" && e.Name == d.prefix {
			return fmt.Errorf("%s is a file in the git index, not a directory: the packs directory must be one", d.prefix)
		}
		if !d.under(e.Name) {
			continue
		}
		// Stages 1-3 hold a merge conflict's sides. (go-git's
		// index.Merged is 1, AncestorMode's value: a merged entry
		// decodes as 0.)
		if e.Stage != 0 {
			if !d.tracked[e.Name] {
				d.conflicts = append(d.conflicts, e.Name)
			}
			d.tracked[e.Name] = true
			continue
		}
		d.tracked[e.Name] = true
		if d.cfg.ignoreCase {
			d.folded[strings.ToLower(e.Name)] = true
		}
		if e.Mode == filemode.Submodule || e.SkipWorktree {
			// A submodule's commit, or a file a sparse checkout left out
			// of the work tree: git takes the entry as it is.
			if e.Mode == filemode.Submodule {
				d.gitlinks[e.Name] = true
			}
			d.files = append(d.files, dirtyFile{e.Name, e.Hash, e.Mode})
			continue
		}
		fi, err := os.Lstat(filepath.Join(d.root, filepath.FromSlash(e.Name)))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue // deleted
		}
		if err != nil {
			d.unreadable(e.Name, err)
			continue
		}
		mode, ok := d.mode(fi, e.Mode)
		if !ok {
			continue // a directory or special file where the file was: gone
		}
		if mode == e.Mode && uint32(fi.Size()) == e.Size && fi.ModTime().Equal(e.ModifiedAt) && (!d.cfg.ctime || sameInode(fi, e)) && fi.ModTime().Before(d.indexTime) {
			d.files = append(d.files, dirtyFile{e.Name, e.Hash, e.Mode})
			continue
		}
		// A file whose size changed is modified to git, whatever a
		// conversion (core.autocrlf) would make of it.
		want := e.Hash
		if uint32(fi.Size()) != e.Size {
			want = plumbing.ZeroHash
		}
		h, err := d.blobHash(e.Name, fi, want)
		if err != nil {
			d.unreadable(e.Name, err)
			continue
		}
		d.files = append(d.files, dirtyFile{e.Name, h, mode})
	}
	return nil
}

// mode is the mode git would stage for a file on disk whose index entry
// has mode was (0 for none); false for what git does not track (a
// directory, a FIFO, a device). With core.fileMode false the executable
// bit is the index's; with core.symlinks false a link checked out as a
// plain file stays a link.
func (d *workScan) mode(fi fs.FileInfo, was filemode.FileMode) (filemode.FileMode, bool) {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return filemode.Symlink, true
	case !fi.Mode().IsRegular():
		return 0, false
	case !d.cfg.symlinks && was == filemode.Symlink:
		return filemode.Symlink, true
	case !d.cfg.fileMode && (was == filemode.Regular || was == filemode.Executable):
		return was, true
	case !d.cfg.fileMode:
		return filemode.Regular, true // git add takes 0644 when the bit is not trusted
	case fi.Mode()&0o100 != 0: // git looks at the owner's bit only
		return filemode.Executable, true
	}
	return filemode.Regular, true
}

// untracked adds the files on disk under prefix that the index does not
// hold and git's ignore rules do not ignore: the excludes, the
// .gitignore files on the way to prefix, and those met in it (read as
// the walk reaches their directories, with go-git's pattern parser and
// matcher; go-git's own reader walks the whole work tree through a
// filesystem that checks every path's components). What cannot be read
// is recorded (unreadable), not returned.
func (d *workScan) untracked() {
	start := filepath.Join(d.root, filepath.FromSlash(d.prefix))
	if fi, err := os.Lstat(start); err != nil || !fi.IsDir() {
		return
	}
	var parts []string
	if d.prefix != "" {
		parts = strings.Split(d.prefix, "/")
	}
	patterns := d.excludes
	for i := range parts {
		patterns = append(patterns[:len(patterns):len(patterns)], readIgnore(filepath.Join(d.root, filepath.Join(parts[:i]...), ".gitignore"), parts[:i])...)
	}
	d.walk(start, parts, patterns)
}

// walk adds the untracked files of the directory abs (rel: its path's
// elements), whose ignore patterns so far are patterns.
func (d *workScan) walk(abs string, rel []string, patterns []gitignore.Pattern) {
	ents, err := os.ReadDir(abs)
	if err != nil {
		d.unreadable(strings.Join(rel, "/")+"/", err)
		return
	}
	for _, e := range ents {
		if e.Name() == ".gitignore" && e.Type().IsRegular() {
			patterns = append(patterns[:len(patterns):len(patterns)], readIgnore(filepath.Join(abs, e.Name()), rel)...)
		}
	}
	m := gitignore.NewMatcher(patterns)
	for _, e := range ents {
		p := append(rel[:len(rel):len(rel)], e.Name())
		name := strings.Join(p, "/")
		if e.IsDir() {
			// A repository inside, a submodule, an ignored directory.
			if e.Name() != ".git" && !d.gitlinks[name] && !m.Match(p, true) {
				d.walk(filepath.Join(abs, e.Name()), p, patterns)
			}
			continue
		}
		if d.tracked[name] || (d.cfg.ignoreCase && d.folded[strings.ToLower(name)]) || m.Match(p, false) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			d.unreadable(name, err)
			continue
		}
		mode, ok := d.mode(fi, 0)
		if !ok {
			continue
		}
		h, err := d.blobHash(name, fi, plumbing.ZeroHash)
		if err != nil {
			d.unreadable(name, err)
			continue
		}
		d.files = append(d.files, dirtyFile{name, h, mode})
	}
}

// readIgnore parses an ignore file's patterns, for paths under domain,
// as go-git's reader does; none when it cannot be read.
func readIgnore(file string, domain []string) []gitignore.Pattern {
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
			ps = append(ps, gitignore.ParsePattern(line, domain))
		}
	}
	return ps
}

// maxCRLF bounds a file read again to undo core.autocrlf's CRLF.
const maxCRLF = 64 << 20

// blobHash is the git blob hash of the file rel: its content, streamed
// (an untracked file may be of any size), or a symbolic link's target.
// The file is opened as a regular file only: a FIFO swapped in since the
// directory was read must not block the build. With core.autocrlf, a
// text file whose hash is not want's is hashed again with CRLF as LF,
// as git would store it.
func (d *workScan) blobHash(rel string, fi fs.FileInfo, want plumbing.Hash) (plumbing.Hash, error) {
	p := filepath.Join(d.root, filepath.FromSlash(rel))
	if fi.Mode()&fs.ModeSymlink != 0 {
		t, err := os.Readlink(p)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(filepath.ToSlash(t))), nil
	}
	f, err := safefile.Open(p)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	h := plumbing.NewHasher(plumbing.BlobObject, st.Size())
	if n, err := io.Copy(h, f); err != nil {
		return plumbing.ZeroHash, err
	} else if n != st.Size() {
		return plumbing.ZeroHash, fmt.Errorf("%s changed while it was read", rel)
	}
	sum := h.Sum()
	if sum == want || !d.cfg.autocrlf || (want.IsZero() && !d.asStaged) || st.Size() > maxCRLF {
		return sum, nil
	}
	data, err := safefile.ReadFile(p, maxCRLF)
	if err != nil || bytes.IndexByte(data, 0) >= 0 || !bytes.Contains(data, []byte("\r\n")) {
		return sum, nil // binary, or no CRLF to undo
	}
	return plumbing.ComputeHash(plumbing.BlobObject, bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), nil
}

// sameInode compares what git's stat check compares beyond size and
// mtime: an edit that puts the mtime back (touch -r, cp -p, an archive
// restored over the file) still changes the ctime, and a file replaced
// by another changes the inode. Fields the index does not hold (0), or
// the system does not give, are not compared.
func sameInode(fi fs.FileInfo, e *index.Entry) bool {
	ino, ctime, ok := statIDs(fi)
	if !ok {
		return true
	}
	if e.Inode != 0 && e.Inode != uint32(ino) {
		return false
	}
	return ctime.IsZero() || sameTime(e.CreatedAt, ctime)
}

// sameTime compares an index time with the file's: to the nanosecond
// when the index holds nanoseconds, else to the second; a time the
// index does not hold is not compared.
func sameTime(idx, file time.Time) bool {
	switch {
	case idx.IsZero() || idx.Unix() == 0:
		return true
	case idx.Nanosecond() == 0:
		return idx.Unix() == file.Unix()
	}
	return idx.Equal(file)
}
