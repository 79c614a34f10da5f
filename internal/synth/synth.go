// Package synth generates synthetic pack repositories at scale for
// benchmarks and scale tests: a real git repository whose objects are
// written directly with go-git's plumbing (no work tree, so generating
// thousands of packs and hundreds of commits stays fast), with realistic
// files: a values.yaml of a few KB, a few manifests and a Helm chart
// archive of a chosen size shaped like a real packaged chart (chart.go).
package synth

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Spec describes a repository.
type Spec struct {
	Packs     int // distinct packs
	Versions  int // versions per pack, as sibling dirs added over commits
	ChartSize int // bytes of the chart archive in each version (0 = no chart)
	// Commits after the initial one; each bumps one pack by adding its
	// next version, until every pack has Versions versions, then edits
	// README files so history is long.
	Commits int
	Seed    int64
	// PerCommit is how many packs each commit bumps (default 1), so
	// thousands of releases need only tens of commits.
	PerCommit int
	// InPlace bumps a version by rewriting the pack's one directory
	// (packs/<name>), so older versions live only in history, as in most
	// real repositories; otherwise versions are sibling dirs
	// (packs/<name>-<version>).
	InPlace bool
	// Packed writes every object into one packfile, as a clone or
	// `git gc` leaves a repository, instead of loose objects.
	Packed bool
}

func (s Spec) perCommit() int { return max(s.PerCommit, 1) }

// Full returns a spec whose commits bring every pack to Versions
// versions, PerCommit packs at a time, with no README-only commits.
func Full(packs, versions, chartSize, perCommit int, inPlace bool) Spec {
	perCommit = max(perCommit, 1)
	bumps := packs * max(versions-1, 0)
	return Spec{Packs: packs, Versions: versions, ChartSize: chartSize, PerCommit: perCommit, InPlace: inPlace,
		Commits: (bumps + perCommit - 1) / perCommit, Seed: 1, Packed: true}
}

// Result describes what was generated.
type Result struct {
	Releases int
	Commits  int
	Head     string
	Versions []int // versions generated per pack
}

type gen struct {
	s    storer.EncodedObjectStorer
	rng  *rand.Rand
	spec Spec
	// packs/<dir> -> tree hash
	dirs map[string]plumbing.Hash
}

// Generate creates the repository in dir (git init) on branch main.
func Generate(dir string, spec Spec) (*Result, error) {
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}, Bare: true})
	if err != nil {
		return nil, err
	}
	var objects storer.EncodedObjectStorer = repo.Storer
	var mem *memory.Storage
	if spec.Packed {
		mem = memory.NewStorage()
		objects = mem
	}
	g := &gen{s: objects, rng: rand.New(rand.NewSource(spec.Seed)), spec: spec, dirs: map[string]plumbing.Hash{}}
	when := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	next := make([]int, spec.Packs) // versions added so far per pack
	for i := range next {
		if err := g.addVersion(i, 0); err != nil {
			return nil, err
		}
		next[i] = 1
	}
	res := &Result{Releases: spec.Packs}
	parent := plumbing.ZeroHash
	commit := func(msg string) error {
		tree, err := g.rootTree()
		if err != nil {
			return err
		}
		sig := object.Signature{Name: "synth", Email: "synth@packgen.invalid", When: when}
		c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree}
		if !parent.IsZero() {
			c.ParentHashes = []plumbing.Hash{parent}
		}
		h, err := g.store(c)
		if err != nil {
			return err
		}
		parent = h
		when = when.Add(time.Minute)
		res.Commits++
		return nil
	}
	if err := commit("initial packs"); err != nil {
		return nil, err
	}
	bump := 0 // bumps so far, so packs take turns
	for c := 0; c < spec.Commits; c++ {
		for k := 0; k < spec.perCommit(); k++ {
			i := bump % max(spec.Packs, 1)
			bump++
			if spec.Packs == 0 {
				break
			}
			if next[i] < spec.Versions {
				if err := g.addVersion(i, next[i]); err != nil {
					return nil, err
				}
				next[i]++
				res.Releases++
			} else if err := g.touchReadme(i, next[i]-1, c); err != nil {
				return nil, err
			}
		}
		if err := commit(fmt.Sprintf("change %d", c)); err != nil {
			return nil, err
		}
	}
	if mem != nil {
		if err := writePack(repo.Storer, mem); err != nil {
			return nil, fmt.Errorf("write packfile: %w", err)
		}
	}
	ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), parent)
	if err := repo.Storer.SetReference(ref); err != nil {
		return nil, err
	}
	res.Head = parent.String()
	res.Versions = next
	return res, nil
}

// writePack encodes every object of mem into one packfile (with its
// index) in the repository's storage. No deltas: charts do not delta.
func writePack(st storage.Storer, mem *memory.Storage) error {
	pw, ok := st.(storer.PackfileWriter)
	if !ok {
		return errors.New("storage cannot write packfiles")
	}
	var hashes []plumbing.Hash
	for h := range mem.ObjectStorage.Objects {
		hashes = append(hashes, h)
	}
	sort.Slice(hashes, func(i, j int) bool { return bytes.Compare(hashes[i][:], hashes[j][:]) < 0 })
	w, err := pw.PackfileWriter()
	if err != nil {
		return err
	}
	if _, err := packfile.NewEncoder(w, mem, false).Encode(hashes, 0); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// ChartFor returns the chart archive that version v of pack i carries in
// a repository generated from spec, byte for byte.
func ChartFor(spec Spec, i, v int) ([]byte, error) {
	return Chart(name(i), version(v), spec.ChartSize, rngFor(spec, i, v))
}

// WriteCharts writes the chart archive of every generated release to dir
// as <name>-<version>.tgz, the layout of a Helm chart repository, so Helm
// can index the same releases. It returns the number of files written.
func WriteCharts(dir string, spec Spec, res *Result) (int, error) {
	if spec.ChartSize <= 0 {
		return 0, errors.New("synth: spec has no charts (ChartSize 0)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	n := 0
	for i, versions := range res.Versions {
		for v := 0; v < versions; v++ {
			data, err := ChartFor(spec, i, v)
			if err != nil {
				return n, err
			}
			if err := os.WriteFile(filepath.Join(dir, name(i)+"-"+version(v)+".tgz"), data, 0o644); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Bump adds one commit on main to a repository made by Generate with the
// same spec: version v of pack i (replacing the pack's dir when
// InPlace). It returns the new commit's hash.
func Bump(dir string, spec Spec, i, v int) (string, error) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return "", err
	}
	head, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		return "", err
	}
	parent, err := repo.CommitObject(head.Hash())
	if err != nil {
		return "", err
	}
	root, err := parent.Tree()
	if err != nil {
		return "", err
	}
	packsEntry, err := root.FindEntry("packs")
	if err != nil {
		return "", err
	}
	packs, err := repo.TreeObject(packsEntry.Hash)
	if err != nil {
		return "", err
	}
	g := &gen{s: repo.Storer, spec: spec, dirs: map[string]plumbing.Hash{}}
	for _, e := range packs.Entries {
		g.dirs[e.Name] = e.Hash
	}
	if err := g.writeVersion(i, v, "Synthetic pack."); err != nil {
		return "", err
	}
	tree, err := g.rootTree()
	if err != nil {
		return "", err
	}
	sig := object.Signature{Name: "synth", Email: "synth@packgen.invalid", When: parent.Committer.When.Add(time.Minute)}
	h, err := g.store(&object.Commit{Author: sig, Committer: sig, Message: fmt.Sprintf("bump %s to %s", name(i), version(v)), TreeHash: tree, ParentHashes: []plumbing.Hash{parent.Hash}})
	if err != nil {
		return "", err
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), h)); err != nil {
		return "", err
	}
	return h.String(), nil
}

func name(i int) string { return fmt.Sprintf("pack-%04d", i) }

func version(v int) string { return fmt.Sprintf("1.%d.0", v) }

// Name is the name of pack i.
func Name(i int) string { return name(i) }

// Version is the version string of version v of every pack.
func Version(v int) string { return version(v) }

func (s Spec) dir(i, v int) string {
	if s.InPlace {
		return name(i)
	}
	return name(i) + "-" + version(v)
}

func (g *gen) blob(data []byte) (plumbing.Hash, error) {
	obj := g.s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return g.s.SetEncodedObject(obj)
}

type encoder interface {
	Encode(plumbing.EncodedObject) error
}

func (g *gen) store(e encoder) (plumbing.Hash, error) {
	obj := g.s.NewEncodedObject()
	if err := e.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return g.s.SetEncodedObject(obj)
}

// tree stores a directory given as path -> blob hash (nested paths allowed).
func (g *gen) tree(files map[string]plumbing.Hash) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	sub := map[string]map[string]plumbing.Hash{}
	for p, h := range files {
		if i := strings.IndexByte(p, '/'); i >= 0 {
			if sub[p[:i]] == nil {
				sub[p[:i]] = map[string]plumbing.Hash{}
			}
			sub[p[:i]][p[i+1:]] = h
			continue
		}
		entries[p] = object.TreeEntry{Name: p, Mode: filemode.Regular, Hash: h}
	}
	for d, fs := range sub {
		h, err := g.tree(fs)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries[d] = object.TreeEntry{Name: d, Mode: filemode.Dir, Hash: h}
	}
	return g.storeEntries(entries)
}

func (g *gen) storeEntries(entries map[string]object.TreeEntry) (plumbing.Hash, error) {
	t := &object.Tree{}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	// git orders tree entries by name, with directories compared as "name/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
	return g.store(t)
}

func (g *gen) rootTree() (plumbing.Hash, error) {
	packs := map[string]object.TreeEntry{}
	for d, h := range g.dirs {
		packs[d] = object.TreeEntry{Name: d, Mode: filemode.Dir, Hash: h}
	}
	ph, err := g.storeEntries(packs)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return g.storeEntries(map[string]object.TreeEntry{"packs": {Name: "packs", Mode: filemode.Dir, Hash: ph}})
}

// Files returns the files of one pack version.
func Files(spec Spec, i, v int, rng *rand.Rand, readme string) (map[string][]byte, error) {
	n, ver := name(i), version(v)
	files := map[string][]byte{}
	charts := ""
	if spec.ChartSize > 0 {
		chart, err := Chart(n, ver, spec.ChartSize, rng)
		if err != nil {
			return nil, err
		}
		files["charts/"+n+"-"+ver+".tgz"] = chart
		charts = fmt.Sprintf(`,
  "charts": ["charts/%s-%s.tgz"]`, n, ver)
	}
	files["pack.json"] = []byte(fmt.Sprintf(`{
  "name": %q,
  "version": %q,
  "layer": "addon",
  "addonType": "monitoring",
  "displayName": "Synthetic %s",
  "cloudTypes": ["all"],
  "kubeManifests": ["manifests/a.yaml", "manifests/b.yaml"],
  "annotations": {"source": "community"}%s
}
`, n, ver, n, charts))
	var values strings.Builder
	values.WriteString("pack:\n  namespace: " + n + "\n  content:\n    images:\n")
	for k := 0; values.Len() < 3000; k++ {
		fmt.Fprintf(&values, "      - image: registry.example.com/%s/component-%d:v%s\n", n, k, ver)
	}
	files["values.yaml"] = []byte(values.String())
	for _, m := range []string{"a", "b"} {
		files["manifests/"+m+".yaml"] = []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-%s\n  namespace: %s\ndata:\n  version: %q\n", n, m, n, ver))
	}
	files["README.md"] = []byte("# " + n + "\n\n" + readme + "\n")
	return files, nil
}

func (g *gen) addVersion(i, v int) error {
	return g.writeVersion(i, v, "Synthetic pack.")
}

func (g *gen) touchReadme(i, v, c int) error {
	return g.writeVersion(i, v, fmt.Sprintf("Synthetic pack, edit %d.", c))
}

// rngFor seeds the content of one pack version, so a chart can be made
// again outside git (ChartFor) byte for byte.
func rngFor(spec Spec, i, v int) *rand.Rand {
	return rand.New(rand.NewSource(spec.Seed + int64(i)*1000 + int64(v)))
}

func (g *gen) writeVersion(i, v int, readme string) error {
	files, err := Files(g.spec, i, v, rngFor(g.spec, i, v), readme)
	if err != nil {
		return err
	}
	hashes := map[string]plumbing.Hash{}
	for p, data := range files {
		if hashes[p], err = g.blob(data); err != nil {
			return err
		}
	}
	h, err := g.tree(hashes)
	if err != nil {
		return err
	}
	g.dirs[g.spec.dir(i, v)] = h
	return nil
}
