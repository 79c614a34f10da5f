package source

import (
	"context"
	"fmt"
	"sort"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
)

// Change is a pack directory whose content differs between two commits.
type Change struct {
	Dir         string // pack directory at head
	Name        string // from pack.json at head ("" when unreadable)
	Version     string
	BaseVersion string // version in the same directory at base; "" for a new pack dir
	BaseName    string
	// BaseDir is where the base held this release: Dir itself, or, for a
	// new directory holding a name@version the base already had elsewhere
	// with other content (a copied directory whose version was not bumped),
	// that other directory.
	BaseDir string
	// Twin is another directory at head holding this name@version (a
	// directory copied without a bump, or a version changed to one that
	// exists): the build refuses a release two directories define.
	Twin string
	// Files are the files that differ from the base, relative to Dir,
	// sorted: filled only when the version stayed the same (what the
	// version rule reports).
	Files []string
	// Retire is set when the only change is pack.json's system_state:
	// the retirement hint (retire.Hint) the version rule gives instead.
	Retire  string
	Release Release // the pack at head, for loading and validation
}

// sameVersion: the same name and semantic version as the base's.
func (c Change) sameVersion() bool {
	if c.BaseVersion == "" || c.Name == "" || c.Name != c.BaseName {
		return false
	}
	nv, err1 := semver.NewVersion(c.Version)
	ov, err2 := semver.NewVersion(c.BaseVersion)
	return err1 == nil && err2 == nil && nv.Equal(ov)
}

// changedFiles lists the files that differ between two trees of a pack
// directory (go-git's tree diff descends only into subtrees whose hashes
// differ: it costs what changed).
func changedFiles(repo *git.Repository, base, head plumbing.Hash) ([]string, error) {
	bt, err := object.GetTree(repo.Storer, base)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", base, err)
	}
	ht, err := object.GetTree(repo.Storer, head)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", head, err)
	}
	changes, err := object.DiffTree(bt, ht)
	if err != nil {
		return nil, fmt.Errorf("compare trees %s and %s: %w", base, head, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, ch := range changes {
		for _, n := range []string{ch.From.Name, ch.To.Name} {
			if n != "" && !seen[n] {
				seen[n] = true
				files = append(files, n)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// FilesSaid names a few of files, then how many more.
func FilesSaid(files []string) string { return phrase.Few(files, 3) }

// Changes lists the pack directories under packsDir whose tree differs
// between base and head (new directories included), so a pull request is
// validated in O(what it changed).
func (r *Repo) Changes(ctx context.Context, base, head, packsDir string) ([]Change, error) {
	bc, hc, err := r.changeCommits(base, head)
	if err != nil {
		return nil, err
	}
	sc, done := r.prScanner()
	defer done()
	dir := trimDir(packsDir)
	baseDirs, err := sc.packsAt(bc, dir)
	if err != nil {
		return nil, err
	}
	headDirs, err := sc.packsAt(hc, dir)
	if err != nil {
		return nil, err
	}
	b := &changeBase{sc: sc, dirs: baseDirs, byDir: map[string]packDir{}}
	for _, d := range baseDirs {
		b.byDir[d.rel] = d
	}
	var out []Change
	for _, d := range headDirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		old, existed := b.byDir[d.rel]
		if existed && old.tree == d.tree {
			continue
		}
		c, err := r.change(sc, b, hc, d, dir)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := markTwins(sc, out, headDirs); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out, nil
}

// markTwins sets each change's Twin: another directory at head defining
// its name@version, as Releases refuses at the ref. A directory the
// change left alone holds at head what it held at base, so its
// pack.json is the same blob, read once (the base's, when a new
// directory made changeBase read them), and parsed only when its bytes
// can name a changed pack (scanner.naming).
func markTwins(sc *scanner, changes []Change, head []packDir) error {
	if len(changes) == 0 {
		return nil
	}
	dirs := map[string][]string{} // name@version → directories at head
	changed := map[string]bool{}
	ns := newNames()
	for _, c := range changes {
		changed[c.Dir] = true
		if c.Name != "" {
			id := meta.ReleaseID(c.Name, c.Version)
			dirs[id] = append(dirs[id], c.Dir)
			ns.add(c.Name)
		}
	}
	for _, d := range head {
		if changed[d.rel] {
			continue
		}
		mi, err := sc.naming(d.manifest, d.rel+"/"+pack.ManifestFile, ns)
		if err != nil {
			return err
		}
		if id := meta.ReleaseID(mi.name, mi.version); mi.name != "" && dirs[id] != nil {
			dirs[id] = append(dirs[id], d.rel)
		}
	}
	for i, c := range changes {
		if c.Name == "" {
			continue
		}
		for _, d := range dirs[meta.ReleaseID(c.Name, c.Version)] {
			if d != c.Dir {
				changes[i].Twin = d
				break
			}
		}
	}
	return nil
}

// prScanner returns the repository's scanner of pull-request-sized reads
// (see Repo.pr) and the function that lets another caller have it.
func (r *Repo) prScanner() (*scanner, func()) {
	r.prMu.Lock()
	if r.pr == nil {
		r.pr = &scanner{repo: r.git, trees: map[plumbing.Hash][]packDir{}, manifests: map[plumbing.Hash]*manifestInfo{}}
	}
	return r.pr, r.prMu.Unlock
}

// changeCommits resolves the base and head (default HEAD) commits.
func (r *Repo) changeCommits(base, head string) (bc, hc *object.Commit, err error) {
	resolve := func(ref string) (*plumbing.Hash, error) {
		h, err := r.git.ResolveRevision(plumbing.Revision(ref))
		if err != nil {
			return nil, fmt.Errorf("resolve %q: %w (is the base branch fetched? actions/checkout needs fetch-depth: 0)", ref, err)
		}
		return h, nil
	}
	if head == "" {
		head = "HEAD"
	}
	bh, err := resolve(base)
	if err != nil {
		return nil, nil, err
	}
	hh, err := resolve(head)
	if err != nil {
		return nil, nil, err
	}
	if bc, err = r.git.CommitObject(*bh); err != nil {
		return nil, nil, err
	}
	if hc, err = r.git.CommitObject(*hh); err != nil {
		return nil, nil, err
	}
	return bc, hc, nil
}

// changeBase is the pack directories at the base commit.
type changeBase struct {
	sc    *scanner
	dirs  []packDir
	byDir map[string]packDir
	// ids is name@version → directory at base, built only when a PR adds
	// a directory (copying a pack dir to start the next version is common).
	ids map[string]packDir
}

func (b *changeBase) releases() (map[string]packDir, error) {
	if b.ids != nil {
		return b.ids, nil
	}
	b.ids = map[string]packDir{}
	for _, d := range b.dirs {
		mi, err := b.sc.manifest(d.manifest, d.rel+"/"+pack.ManifestFile)
		if err != nil {
			return nil, err
		}
		if mi.name != "" {
			b.ids[meta.ReleaseID(mi.name, mi.version)] = d
		}
	}
	return b.ids, nil
}

// change describes head directory d, changed or added since the base.
func (r *Repo) change(sc *scanner, b *changeBase, hc *object.Commit, d packDir, packsDir string) (Change, error) {
	mi, err := sc.manifest(d.manifest, d.rel+"/"+pack.ManifestFile)
	if err != nil {
		return Change{}, err
	}
	c := Change{Dir: d.rel, Name: mi.name, Version: mi.version,
		Release: Release{Name: mi.name, Version: mi.version, Dir: d.rel, Commit: hc.Hash.String(), Time: hc.Committer.When.UTC(), TreeHash: d.tree.String(), ManifestProblems: mi.problems, repo: r}}
	c.Release.FirstCommit, c.Release.FirstTime = c.Release.Commit, c.Release.Time
	if old, existed := b.byDir[d.rel]; existed {
		omi, err := sc.manifest(old.manifest, old.rel+"/"+pack.ManifestFile)
		if err != nil {
			return Change{}, err
		}
		c.BaseName, c.BaseVersion, c.BaseDir = omi.name, omi.version, old.rel
		if c.sameVersion() {
			// The version rule fails it: say what changed, so a change
			// outside pack.json (a README the archive holds) is named.
			if c.Files, err = changedFiles(sc.repo, old.tree, d.tree); err != nil {
				return Change{}, err
			}
			if stateOnlyChange(sc.repo, old.tree, d.tree) {
				c.Retire = retire.Hint(packsDir, c.Name, c.Version)
			}
		}
	} else if mi.name != "" {
		ids, err := b.releases()
		if err != nil {
			return Change{}, err
		}
		if od, ok := ids[meta.ReleaseID(mi.name, mi.version)]; ok && od.tree != d.tree {
			c.BaseName, c.BaseVersion, c.BaseDir = mi.name, mi.version, od.rel
		}
	}
	return c, nil
}

// VersionProblem says what is wrong with a change's version, if anything:
// content changed without a version bump, or the version went down (the
// chart-testing "version increment" rule), or another directory defines
// the same version.
func (c Change) VersionProblem() string {
	if msg := c.versionRule(); msg != "" {
		return msg
	}
	if c.Twin != "" {
		return TwinProblem(c.Name, c.Version, c.Twin)
	}
	return ""
}

// TwinProblem is the problem of a directory holding name@version that
// the directory twin defines too.
func TwinProblem(name, version, twin string) string {
	hint := ""
	if v, err := semver.NewVersion(version); err == nil {
		hint = fmt.Sprintf(" (e.g. to %s)", v.IncPatch().String())
	}
	return fmt.Sprintf("%s@%s is also defined by %s: a version is one directory, and the build refuses two; bump \"version\" in this pack.json%s or remove one of them", name, version, twin, hint)
}

// PackIDs returns the meta.ReleaseID of each pack directory under packsDir at
// ref, by directory (slash-separated, from the repository root); a
// directory whose pack.json has no usable name and version is left out.
// Each pack.json blob is read once and checked against its ID.
func (r *Repo) PackIDs(ref, packsDir string) (map[string]string, error) {
	h, err := r.resolve(ref)
	if err != nil {
		return nil, err
	}
	c, err := r.git.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", h, err)
	}
	sc, done := r.prScanner()
	defer done()
	dirs, err := sc.packsAt(c, trimDir(packsDir))
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(dirs))
	for _, d := range dirs {
		mi, err := sc.manifest(d.manifest, d.rel+"/"+pack.ManifestFile)
		if err != nil {
			return nil, err
		}
		if mi.name != "" {
			out[d.rel] = meta.ReleaseID(mi.name, mi.version)
		}
	}
	return out, nil
}

// versionRule is the version increment rule of VersionProblem.
func (c Change) versionRule() string {
	if c.BaseVersion == "" || c.Name == "" || c.Name != c.BaseName {
		return ""
	}
	nv, err1 := semver.NewVersion(c.Version)
	ov, err2 := semver.NewVersion(c.BaseVersion)
	if err1 != nil || err2 != nil {
		return ""
	}
	switch {
	case nv.Equal(ov) && c.BaseDir != "" && c.BaseDir != c.Dir:
		return fmt.Sprintf("%s@%s already exists in %s with other content: published versions are immutable, set a new \"version\" in this pack.json (e.g. %s)", c.Name, c.Version, c.BaseDir, ov.IncPatch().String())
	case nv.Equal(ov) && c.Retire != "":
		return fmt.Sprintf("the annotations.system_state of %s@%s changed: published versions are immutable; %s", c.Name, c.Version, c.Retire)
	case nv.Equal(ov):
		what := ""
		if len(c.Files) > 0 {
			what = " (changed: " + FilesSaid(c.Files) + ")"
		}
		return fmt.Sprintf("the content of %s@%s changed but its version did not%s: published versions are immutable, bump \"version\" in pack.json (e.g. to %s)", c.Name, c.Version, what, ov.IncPatch().String())
	case nv.LessThan(ov):
		return fmt.Sprintf("version went down from %s to %s: versions must increase", c.BaseVersion, c.Version)
	}
	return ""
}

func trimDir(d string) string {
	for len(d) > 0 && (d[0] == '/' || d[len(d)-1] == '/') {
		if d[0] == '/' {
			d = d[1:]
		} else {
			d = d[:len(d)-1]
		}
	}
	if d == "." {
		return ""
	}
	return d
}
