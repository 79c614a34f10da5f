package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

// ReleasesOf returns, keyed by ReleaseID, the releases among ids that
// Releases(ctx, opts) gives, with the same Name, Version, Dir, Commit,
// Time, TreeHash, ContentCommit and ContentDir; an id Releases does not
// give is absent. FirstCommit and FirstTime are not filled. It is what a
// pull-request check asks of the base's history (`validate
// --changed-since`), and costs what history changed, not its size:
//
//   - the ref's pack directories and manifests are read through the
//     scanner Changes used, so they are read once for both;
//   - each older first-parent commit is diffed against its child, the
//     packs dir only, skipping subtrees whose hash did not change, and
//     only the pack.json of a directory the parent holds otherwise is
//     read, once per blob; one that cannot name a wanted pack (checked
//     on its bytes, as parsed JSON needs the name's quoted bytes or an
//     escape) is not parsed;
//   - once every id is found no pack.json is read: the walk goes on
//     comparing tree hashes only, for ContentCommit.
//
// Every object read is checked (ErrCorruptObject); a shallow clone with
// opts.History is ErrShallow; an id defined by two directories at the
// ref is ErrDuplicate, as Releases refuses it (duplicates of other ids
// are not looked for). opts.Known and opts.Found are not supported.
func (r *Repo) ReleasesOf(ctx context.Context, opts Options, ids []string) (map[string]Release, error) {
	if opts.Known != nil || opts.Found != nil {
		return nil, errors.New("source: ReleasesOf does not take Options.Known or Options.Found")
	}
	span, err := r.walkBounds(opts)
	if err != nil {
		return nil, err
	}
	w := newIDWalk(r, strings.Trim(path.Clean("/"+opts.PacksDir), "/"), ids)
	if len(w.want) == 0 {
		return map[string]Release{}, nil
	}
	if err := w.atRef(span.head); err != nil {
		return nil, err
	}
	pt, err := w.packsTree(span.head)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", span.head.Hash.String()[:12], err)
	}
	for c := span.head; opts.History; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := span.parent(c)
		if err != nil {
			return nil, err
		}
		if p == nil {
			break
		}
		pp, err := w.packsTree(p)
		if err == nil {
			err = w.step(pt, pp)
		}
		if err == nil {
			err = w.at(p)
		}
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", p.Hash.String()[:12], err)
		}
		c, pt = p, pp
	}
	out := make(map[string]Release, len(w.found))
	for id, rel := range w.found {
		rel.ContentCommit, rel.ContentDir = rel.Commit, rel.Dir
		if cd, ok := w.content[id]; ok {
			rel.ContentCommit, rel.ContentDir = cd[0], cd[1]
		}
		out[id] = *rel
	}
	return out, nil
}

// idWalk is ReleasesOf's first-parent walk, newest first. Of each
// commit it knows only the pack directories holding a wanted release
// (holders), carried from the child commit and changed where the
// commit's packs tree differs.
type idWalk struct {
	repo     *Repo
	packsDir string
	sc       *scanner // history's: its trees memo is bounded, see step
	// want is the ids not found yet; names the names of every id asked,
	// which a pack.json's bytes must hold to be parsed.
	want  map[string]bool
	names *names
	trees map[plumbing.Hash]*object.Tree // decoded trees of the last commits
	subs  map[plumbing.Hash]map[string]plumbing.Hash
	// holders is the wanted releases' directories at the current commit.
	holders map[string]holder
	found   map[string]*Release
	byTree  map[plumbing.Hash]string // a found release's tree → its id
	content map[string][2]string     // see releaseWalk.content
}

// holder is a pack directory holding a wanted release.
type holder struct {
	id   string
	tree plumbing.Hash
	mi   *manifestInfo
}

// noRelease is the manifest of no wanted release.
var noRelease = &manifestInfo{}

// maxMemo bounds the walk's memo of decoded and scanned trees: it only
// serves the next commit (an unchanged subtree is never read again).
const maxMemo = 4096

func newIDWalk(r *Repo, packsDir string, ids []string) *idWalk {
	w := &idWalk{repo: r, packsDir: packsDir,
		sc:   &scanner{repo: r.git, trees: map[plumbing.Hash][]packDir{}, manifests: map[plumbing.Hash]*manifestInfo{}},
		want: map[string]bool{}, names: newNames(),
		trees: map[plumbing.Hash]*object.Tree{}, subs: map[plumbing.Hash]map[string]plumbing.Hash{}, holders: map[string]holder{},
		found: map[string]*Release{}, byTree: map[plumbing.Hash]string{}, content: map[string][2]string{},
	}
	for _, id := range ids {
		// A release's key is a valid name, "@", a canonical version:
		// an id that cannot be one is never found.
		name, _, ok := strings.Cut(id, "@")
		if !ok || !meta.ValidName(name) {
			continue
		}
		w.want[id] = true
		w.names.add(name)
	}
	return w
}

// atRef reads the ref's pack directories through the scanner Changes
// shares, and judges the ref's commit.
func (w *idWalk) atRef(c *object.Commit) error {
	sc, done := w.repo.prScanner()
	dirs, err := sc.packsAt(c, w.packsDir)
	if err == nil {
		for _, d := range dirs {
			var mi *manifestInfo
			if mi, err = sc.naming(d.manifest, path.Join(d.rel, pack.ManifestFile), w.names); err != nil {
				break
			}
			if w.want[mi.key] {
				w.holders[d.rel] = holder{id: mi.key, tree: d.tree, mi: mi}
			}
		}
	}
	done()
	if err != nil {
		return fmt.Errorf("commit %s: %w", c.Hash.String()[:12], err)
	}
	return w.judge(c, true)
}

// at judges an older commit, its holders known.
func (w *idWalk) at(c *object.Commit) error { return w.judge(c, false) }

// judge is releaseWalk.key for the wanted releases at commit c: the
// newest commit where one directory alone holds a release is where it
// is taken from; the oldest holding its very tree, where its content
// came from.
func (w *idWalk) judge(c *object.Commit, first bool) error {
	if len(w.holders) == 0 {
		return nil
	}
	byID := map[string][]string{}
	for rel, h := range w.holders {
		byID[h.id] = append(byID[h.id], rel)
	}
	for id, rels := range byID {
		// In the order scan lists them: git's tree order, depth first,
		// which is the byte order of the paths with a slash after each.
		sort.Slice(rels, func(i, j int) bool { return rels[i]+"/" < rels[j]+"/" })
		if rel := w.found[id]; rel != nil {
			for _, d := range rels {
				if w.holders[d].tree.String() == rel.TreeHash {
					w.content[id] = [2]string{c.Hash.String(), d}
					break
				}
			}
			continue
		}
		if len(rels) > 1 {
			if first {
				names := slices.Sorted(slices.Values(rels)) // as Releases words it
				return errmark.New(ErrDuplicate, "%s is defined by more than one directory at commit %s: %s; keep one, or bump the version in the others", id, c.Hash.String()[:12], strings.Join(names, " and "))
			}
			continue // as Releases: taken from an older commit, if any
		}
		h := w.holders[rels[0]]
		w.found[id] = &Release{Name: h.mi.name, Version: h.mi.version, Dir: rels[0], Commit: c.Hash.String(), Time: c.Committer.When.UTC(), TreeHash: h.tree.String(), repo: w.repo}
		w.byTree[h.tree] = id
		delete(w.want, id)
	}
	return nil
}

// packsTree returns the packs dir's tree at c, nil when c has none (as
// packsAt reads it).
func (w *idWalk) packsTree(c *object.Commit) (*object.Tree, error) {
	tree, err := c.Tree()
	if err != nil || w.packsDir == "" {
		return tree, err
	}
	e, err := tree.FindEntry(w.packsDir)
	if errors.Is(err, ErrCorruptObject) {
		return nil, err
	}
	if err != nil || e.Mode != filemode.Dir {
		return nil, nil
	}
	return w.tree(e.Hash)
}

// tree decodes a tree once for this and the next commit.
func (w *idWalk) tree(h plumbing.Hash) (*object.Tree, error) {
	if t, ok := w.trees[h]; ok {
		return t, nil
	}
	t, err := object.GetTree(w.sc.repo.Storer, h)
	if err != nil {
		return nil, err
	}
	w.trees[h] = t
	return t, nil
}

// step moves the holders from a child's packs tree (ct) to its parent's
// (pt): those where the two differ are dropped, and the directories the
// parent holds there are added when they hold a wanted release.
func (w *idWalk) step(ct, pt *object.Tree) error {
	if len(w.trees) > maxMemo || len(w.sc.trees) > maxMemo {
		// Kept: the trees this commit's diff starts from.
		keep := map[plumbing.Hash]*object.Tree{}
		for _, t := range []*object.Tree{ct, pt} {
			if t != nil {
				keep[t.Hash] = t
			}
		}
		w.trees, w.sc.trees, w.subs = keep, map[plumbing.Hash][]packDir{}, map[plumbing.Hash]map[string]plumbing.Hash{}
	}
	var parent []packDir
	var err error
	switch {
	case ct == nil && pt == nil, ct != nil && pt != nil && ct.Hash == pt.Hash:
	case pt == nil:
		w.dropUnder("")
	case ct == nil:
		err = w.scanInto(pt, "", &parent)
	default:
		err = w.diff(ct, pt, "", &parent)
	}
	if err != nil {
		return err
	}
	for _, d := range parent {
		rel := w.rel(d.rel)
		if id, ok := w.byTree[d.tree]; ok {
			// A found release's very tree: its pack.json is known.
			w.holders[rel] = holder{id: id, tree: d.tree, mi: noRelease}
			continue
		}
		if len(w.want) == 0 {
			continue // every release found: only its tree matters
		}
		mi, err := w.manifest(d.manifest, path.Join(rel, pack.ManifestFile))
		if err != nil {
			return err
		}
		if w.want[mi.key] {
			w.holders[rel] = holder{id: mi.key, tree: d.tree, mi: mi}
		}
	}
	return nil
}

// rel is a directory of the packs tree as packsAt names it.
func (w *idWalk) rel(d string) string {
	if d = path.Join(w.packsDir, d); d == "" {
		return "."
	}
	return d
}

// dropUnder forgets the holders at or below prefix of the packs tree:
// the child's directories there are not the parent's.
func (w *idWalk) dropUnder(prefix string) {
	p := w.rel(prefix)
	for rel := range w.holders {
		if prefix == "" || rel == p || strings.HasPrefix(rel, p+"/") {
			delete(w.holders, rel)
		}
	}
}

// scanInto lists the pack directories of t, at prefix of the packs
// tree, as scan finds them.
func (w *idWalk) scanInto(t *object.Tree, prefix string, out *[]packDir) error {
	dirs, err := w.sc.scan(t)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		d.rel = path.Join(prefix, d.rel)
		*out = append(*out, d)
	}
	return nil
}

// diff drops the holders where a child tree (ct) and a parent tree
// (pt), at prefix of the packs tree, differ, and lists the parent's pack
// directories there: a subtree whose hash did not change holds the same
// directories in both. The child's side is read only to go down past a
// directory both hold that is no pack (a directory of pack directories,
// whose other entries may be unchanged); where either side is a pack
// directory, the parent's side is listed whole, so a directory that
// became a pack, or stopped being one, is seen as scan sees it.
func (w *idWalk) diff(ct, pt *object.Tree, prefix string, parent *[]packDir) error {
	if isPackTree(ct) || isPackTree(pt) {
		w.dropUnder(prefix)
		return w.scanInto(pt, prefix, parent)
	}
	cs, ps := w.sub(ct), w.sub(pt)
	names := make([]string, 0, len(ps)+8)
	for n, h := range ps {
		if cs[n] != h {
			names = append(names, n)
		}
	}
	for n := range cs {
		if _, ok := ps[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		at := path.Join(prefix, n)
		ch, inC := cs[n]
		ph, inP := ps[n]
		if !inP {
			w.dropUnder(at)
			continue
		}
		p, err := w.tree(ph)
		if err != nil {
			return err
		}
		if !inC || isPackTree(p) {
			w.dropUnder(at)
			if err := w.scanInto(p, at, parent); err != nil {
				return err
			}
			continue
		}
		c, err := w.tree(ch)
		if err != nil {
			return err
		}
		if err := w.diff(c, p, at, parent); err != nil {
			return err
		}
	}
	return nil
}

// sub is the subdirectories scan looks into of a tree that is no pack,
// once per tree.
func (w *idWalk) sub(t *object.Tree) map[string]plumbing.Hash {
	if m, ok := w.subs[t.Hash]; ok {
		return m
	}
	m := map[string]plumbing.Hash{}
	for _, e := range t.Entries {
		if e.Mode == filemode.Dir && !pack.IsJunk(e.Name) && !isJunkDir(e.Name) {
			m[e.Name] = e.Hash
		}
	}
	w.subs[t.Hash] = m
	return m
}

// isPackTree says whether scan takes t as a pack directory.
func isPackTree(t *object.Tree) bool {
	for _, e := range t.Entries {
		if e.Name == pack.ManifestFile && e.Mode.IsFile() {
			return true
		}
	}
	return false
}

// manifest is the wanted release a pack.json blob defines (noRelease:
// none), read once and checked; see scanner.naming.
func (w *idWalk) manifest(h plumbing.Hash, file string) (*manifestInfo, error) {
	return w.sc.naming(h, file, w.names)
}

// names is a set of pack names with their quoted bytes, which a
// pack.json's bytes must hold to define a release of one of them.
type names struct {
	set    map[string]bool
	quoted [][]byte
}

func newNames() *names { return &names{set: map[string]bool{}} }

func (n *names) add(name string) {
	if !n.set[name] {
		n.set[name] = true
		n.quoted = append(n.quoted, []byte(`"`+name+`"`))
	}
}

// mayName says whether data may define a pack of one of the names: JSON
// writes a string without escapes as its very bytes, quoted.
func (n *names) mayName(data []byte) bool {
	if bytes.IndexByte(data, '\\') >= 0 {
		return true
	}
	for _, q := range n.quoted {
		if bytes.Contains(data, q) {
			return true
		}
	}
	return false
}

// naming is manifest for a caller that only needs the releases of some
// names: a pack.json whose bytes cannot name one of them is read and
// checked but not parsed, and gives noRelease (remembered, with the
// names, so a later caller asking for no other name reads it not again).
func (sc *scanner) naming(h plumbing.Hash, file string, ns *names) (*manifestInfo, error) {
	if mi, ok := sc.manifests[h]; ok {
		return mi, nil
	}
	if not := sc.notNaming[h]; not != nil && subset(ns.set, not.set) {
		return noRelease, nil
	}
	data, tooLarge, err := readBlob(sc.repo.Storer, h, file, maxManifest)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if tooLarge || ns.mayName(data) {
		return sc.parsed(h, file, data, tooLarge), nil
	}
	if sc.notNaming == nil {
		sc.notNaming = map[plumbing.Hash]*names{}
	}
	sc.notNaming[h] = ns
	return noRelease, nil
}

func subset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
