// Package realrepo generates a realistic, messy pack repository for tests
// and benchmarks, deterministic from a seed: shaped like the vendor's
// public pack repository (spectrocloud/pack-central), which synthetic
// fixtures never resembled closely enough to show its defects.
//
// What it holds: packs of every layer (os, k8s, cni, csi) and add-on type,
// sibling version directories (packs/cni-calico-3.26.1 beside
// packs/cni-calico-3.27.0), packs bumped in place, packs nested one level
// deeper (packs/aws-ssm/aws-ssm-1.0.0, with a stray file beside), 2-part,
// v-prefixed, zero-padded and pre-release versions, a directory whose
// name says another version than its pack.json, Go-templated manifests
// (sprig functions, .Values and Palette's .spectro macros), Helm charts as
// archives (some rooted at "./") with the unpacked chart beside them,
// CRDs of 200 KB to 2 MB edited a little in every version (so git stores
// them as deltas), real PNG logos, READMEs with Docusaurus admonitions,
// presets.yaml, schema.yaml, non-ASCII file names, .DS_Store junk,
// executable scripts and pack.json files in several styles (CRLF,
// 4-space indents, trailing blanks).
//
// History is on main: first-parent commits, a third of them merges of a
// pull-request branch, with README-only commits, commits touching several
// packs, new versions, in-place bumps, value fixes without a version bump,
// deleted and moved version directories, all at fixed times by a fixed
// set of authors. The objects are written with `git fast-import` and
// then packed with the real `git gc --aggressive` (unless Options.Loose),
// as a normal clone is.
//
// Generate returns what it made (Repo): every release with the commit
// that introduced it, the commit and directory packgen must read it from,
// its files, and which of the features above it carries, so tests can
// assert against git itself.
package realrepo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options says what to generate.
type Options struct {
	Seed    int64
	Packs   int // distinct pack names, at least 20
	Commits int // first-parent commits on main, at least 10
	// Loose leaves every object loose, as a repository that was never
	// packed; by default `git gc --aggressive` packs them with deltas.
	Loose bool
	// PastDuplicate makes a csi pack's current version appear a second
	// time, as an add-on directory with the same name@version, for three
	// commits in the middle of history (as happened in the real
	// repository); HEAD is clean again.
	PastDuplicate bool
	// RealErrors makes the last commit add to five packs, one each, the
	// real mistakes the vendor's repository holds (Repo.RealErrors), which
	// packgen must keep reporting; HEAD is then not valid.
	RealErrors bool
	// Omit leaves features out (those a pack has, see omit in plan.go),
	// everything else unchanged: to tell one defect from another.
	Omit []Feature
	// Git is the git binary; default /usr/bin/git, then git on PATH.
	Git string
}

// Small is the size for unit tests: seconds to generate.
var Small = Options{Seed: 1, Packs: 40, Commits: 60}

// Full is the size of the real repository (220 packs, 330 commits).
var Full = Options{Seed: 1, Packs: 220, Commits: 330}

// ErrOptions is returned for options that cannot be generated.
var ErrOptions = errors.New("realrepo: bad options")

// Feature names something real repositories contain that a release or
// the repository carries.
type Feature string

// Features of releases (Release.Features, Repo.Features).
const (
	SiblingVersions   Feature = "sibling-versions"    // packs/<name>-<version> beside other versions
	InPlaceBump       Feature = "in-place-bump"       // one directory whose pack.json version changed over commits
	Nested            Feature = "nested-dir"          // packs/<group>/<name>-<version>
	TwoPartVersion    Feature = "two-part-version"    // "1.16"
	VPrefixVersion    Feature = "v-prefix-version"    // "v1.2.3"
	ZeroPadVersion    Feature = "zero-pad-version"    // "20.09.0"
	PreRelease        Feature = "pre-release-version" // "0.30.0-5.5.2026"
	DirMismatch       Feature = "dir-version-mismatch"
	TemplatedManifest Feature = "templated-manifest" // Go template that is not YAML before rendering
	MacroManifest     Feature = "macro-manifest"     // {{ .spectro.* }} inside YAML strings
	Chart             Feature = "chart-archive"
	UnpackedChart     Feature = "unpacked-chart" // charts/<chart>/ beside charts/<chart>-<v>.tgz
	DotRootedChart    Feature = "dot-rooted-chart"
	LargeCRD          Feature = "large-crd" // a file of 200 KB or more
	Logo              Feature = "logo"
	Admonitions       Feature = "readme-admonitions"
	Presets           Feature = "presets"
	Schema            Feature = "schema"
	NonASCIIName      Feature = "non-ascii-name"
	Images            Feature = "content-images"
	Resources         Feature = "constraints-resources"
	Dependencies      Feature = "dependencies"
	Deprecated        Feature = "system-state-deprecated"
	Junk              Feature = "junk-files" // .DS_Store: never archived
	CRLF              Feature = "crlf-pack-json"
	Executable        Feature = "executable"
	Moved             Feature = "moved-dir"   // the release's directory was renamed in history
	Deleted           Feature = "deleted-dir" // the version's directory is gone at HEAD
	Edited            Feature = "edited-without-bump"
	PastDuplicateRel  Feature = "past-duplicate"
)

// Repo is what Generate made.
type Repo struct {
	Dir      string
	Head     string // commit hash of main
	Branch   string // "main"
	PacksDir string // "packs"
	Options  Options
	Commits  []Commit  // first-parent history of main, oldest first
	Releases []Release // sorted by name, then version
	// Features maps each feature to the releases (name@version) carrying it.
	Features map[Feature][]string
	// PastDuplicate names the two directories that held one name@version
	// at once, and the commits where they did (Options.PastDuplicate).
	PastDuplicate *Duplicate
	RealErrors    []RealError

	m *model
}

// Commit is one first-parent commit of main.
type Commit struct {
	Hash    string
	Message string
	Time    time.Time
	Author  string
	Merge   bool     // a merge of a pull-request branch (its second parent holds the change)
	Kinds   []string // what it does: "add", "bump", "readme", "root-readme", "edit", "delete", "move", "duplicate", "dedupe"
	Packs   []string // names of the packs it touches
}

// ReadmeOnly reports whether the commit changes README files and nothing else.
func (c Commit) ReadmeOnly() bool {
	for _, k := range c.Kinds {
		if k != "readme" && k != "root-readme" {
			return false
		}
	}
	return len(c.Kinds) > 0
}

// Release is one name@version found in history.
type Release struct {
	Name      string
	Version   string // as written in pack.json
	Layer     string
	AddonType string
	// Dir and Commit: the pack directory at the newest first-parent
	// commit where this version existed, which is what the release's
	// content is.
	Dir    string
	Commit string
	// Introduced is the first commit where the version appeared, in
	// IntroducedDir.
	Introduced    string
	IntroducedDir string
	AtHead        bool
	Files         []string // every file at Commit:Dir, relative to Dir, sorted
	Ignored       []string // of Files, those packgen leaves out of archives (.DS_Store)
	Large         []string // of Files, those of 200 KB or more
	Templated     []string // of Files, manifests holding {{ }}
	Features      []Feature
}

// ID is name@version as written.
func (r Release) ID() string { return r.Name + "@" + r.Version }

// Duplicate records Options.PastDuplicate.
type Duplicate struct {
	ID         string
	Dirs       [2]string
	From, To   string // first and last commit where both existed
	FromIndex  int
	ToIndex    int
	FixedIndex int // the commit that removed the second directory
}

// Kinds of RealError.
const (
	BadDuplicateKey = "duplicate-key"     // a manifest sets one key twice
	BadJPEGLogo     = "jpeg-logo"         // logo.png holds a JPEG
	BadMissingChart = "missing-chart"     // pack.json names a chart archive that is not there
	BadDependency   = "dependency-type"   // a dependency without type
	BadAddonType    = "addon-type-spaced" // addonType "app-services" for "app services"
)

// RealError is a real mistake Options.RealErrors put at HEAD.
type RealError struct {
	ID   string // name@version
	Dir  string
	File string // the file at fault, relative to the repository
	Kind string
}

// Release returns the release name@version (as written), or nil.
func (r *Repo) Release(id string) *Release {
	for i := range r.Releases {
		if r.Releases[i].ID() == id {
			return &r.Releases[i]
		}
	}
	return nil
}

// Generate creates the repository in dir (which must be empty or absent)
// on branch main, checked out. The same options give the same commits
// with the same Go release (chart archives and logos are compressed by
// the standard library, whose output may change between releases).
func Generate(dir string, o Options) (*Repo, error) {
	if o.Packs < 20 || o.Commits < 10 {
		return nil, fmt.Errorf("%w: need at least 20 packs and 10 commits, got %d and %d", ErrOptions, o.Packs, o.Commits)
	}
	if o.Git == "" {
		o.Git = "/usr/bin/git"
		if _, err := os.Stat(o.Git); err != nil {
			o.Git = "git"
		}
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%w: %s is not empty", ErrOptions, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	g := &gitRunner{bin: o.Git, dir: dir}
	if _, err := g.run(nil, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	m := newModel(o)
	plan := m.plan()
	if err := g.fastImport(func(w *bufio.Writer) error { return m.write(w, plan) }); err != nil {
		return nil, err
	}
	// Pull-request branches are merged; drop their ref as GitHub does.
	if _, err := g.run(nil, "update-ref", "-d", "refs/heads/pr"); err != nil {
		return nil, err
	}
	hashes, err := g.firstParents()
	if err != nil {
		return nil, err
	}
	if len(hashes) != len(m.commits) {
		return nil, fmt.Errorf("realrepo: git has %d first-parent commits, generated %d", len(hashes), len(m.commits))
	}
	for i := range m.commits {
		m.commits[i].Hash = hashes[i]
	}
	if o.Loose {
		if err := g.unpackAll(); err != nil {
			return nil, err
		}
	} else if _, err := g.run(nil, "gc", "--aggressive", "--prune=now", "-q"); err != nil {
		return nil, err
	}
	if _, err := g.run(nil, "reset", "-q", "--hard", "main"); err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, Branch: "main", PacksDir: "packs", Options: o, m: m}
	r.refresh()
	return r, nil
}

// AddCommit adds one commit on main (not a merge) writing files (path ->
// content; nil content deletes the path) and checks it out. Paths inside
// a pack directory change that release's content as in any commit; the
// returned hash is also r.Head.
func (r *Repo) AddCommit(msg string, files map[string][]byte) (string, error) {
	g := &gitRunner{bin: r.Options.Git, dir: r.Dir}
	m := r.m
	var paths, packs []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var readme, root, edit bool
	for _, p := range paths {
		d, rel := m.dirOf(p)
		switch {
		case d == "" && strings.HasSuffix(p, ".md"):
			root = true
		case d == "":
			edit = true
		case rel == "README.md":
			readme = true
			packs = append(packs, m.dirs[d].spec.name)
		default:
			edit = true
			packs = append(packs, m.dirs[d].spec.name)
		}
	}
	c := m.newCommit(strings.TrimSuffix(msg, "\n")+"\n", false)
	for k, ok := range map[string]bool{"readme": readme, "root-readme": root, "edit": edit} {
		if ok {
			c.Kinds = append(c.Kinds, k)
		}
	}
	sort.Strings(c.Kinds)
	c.Packs = dedupe(packs)
	a := authorByName(c.Author)
	err := g.fastImport(func(w *bufio.Writer) error {
		// A new stream: marks of the first one mean nothing to it.
		m.w, m.marks, m.nextMark, m.ops = w, map[[32]byte]int{}, 1, nil
		for _, p := range paths {
			if files[p] == nil {
				m.remove(p)
			} else {
				m.put(p, files[p], 0o644)
			}
		}
		fmt.Fprintf(w, "commit refs/heads/main\nauthor %s\ncommitter %s\ndata %d\n%s\nfrom refs/heads/main^0\n", sig(a, c.Time), sig(a, c.Time), len(c.Message), c.Message)
		m.writeOps()
		m.ops = m.ops[:0]
		m.record(len(m.commits) - 1)
		return nil
	})
	if err != nil {
		return "", err
	}
	hashes, err := g.firstParents()
	if err != nil {
		return "", err
	}
	m.commits[len(m.commits)-1].Hash = hashes[len(hashes)-1]
	if _, err := g.run(nil, "reset", "-q", "--hard", "main"); err != nil {
		return "", err
	}
	r.refresh()
	return r.Head, nil
}

// refresh fills the exported fields from the model.
func (r *Repo) refresh() {
	m := r.m
	r.Commits = append([]Commit(nil), m.commits...)
	r.Head = m.commits[len(m.commits)-1].Hash
	r.Releases = m.releases()
	r.Features = map[Feature][]string{}
	for _, rel := range r.Releases {
		for _, f := range rel.Features {
			r.Features[f] = append(r.Features[f], rel.ID())
		}
	}
	r.RealErrors = append([]RealError(nil), m.bad...)
	if d := m.dup; d != nil && d.FixedIndex > 0 {
		cp := *d
		cp.From, cp.To = m.commits[d.FromIndex].Hash, m.commits[d.ToIndex].Hash
		r.PastDuplicate = &cp
	}
}

// gitRunner runs the git binary in one repository with a clean
// configuration, so a user's settings cannot change what is generated.
type gitRunner struct {
	bin, dir string
}

func (g *gitRunner) cmd(args ...string) *exec.Cmd {
	c := exec.Command(g.bin, args...)
	c.Dir = g.dir
	c.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
	return c
}

func (g *gitRunner) run(stdin io.Reader, args ...string) ([]byte, error) {
	c := g.cmd(args...)
	c.Stdin = stdin
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return out, fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), g.dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// fastImport streams what write produces into `git fast-import`.
func (g *gitRunner) fastImport(write func(*bufio.Writer) error) error {
	c := g.cmd("fast-import", "--quiet", "--done")
	stdin, err := c.StdinPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		return fmt.Errorf("git fast-import: %w", err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	werr := write(w)
	if werr == nil {
		_, werr = w.WriteString("done\n")
	}
	if werr == nil {
		werr = w.Flush()
	}
	stdin.Close()
	err = c.Wait()
	if werr != nil {
		return fmt.Errorf("git fast-import: %w (%s)", werr, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return fmt.Errorf("git fast-import: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func (g *gitRunner) firstParents() ([]string, error) {
	out, err := g.run(nil, "rev-list", "--first-parent", "--reverse", "main")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// unpackAll turns the packfiles fast-import wrote into loose objects.
func (g *gitRunner) unpackAll() error {
	packDir := filepath.Join(g.dir, ".git", "objects", "pack")
	packs, err := filepath.Glob(filepath.Join(packDir, "*.pack"))
	if err != nil {
		return err
	}
	for _, p := range packs {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		base := strings.TrimSuffix(p, ".pack")
		for _, ext := range []string{".pack", ".idx", ".rev"} {
			if err := os.Remove(base + ext); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		if _, err := g.run(bytes.NewReader(data), "unpack-objects", "-q"); err != nil {
			return err
		}
	}
	return nil
}

// fiQuote quotes a path for fast-import when it needs it (LF, a leading
// quote); other bytes, UTF-8 included, are taken as they are.
func fiQuote(p string) string {
	if strings.ContainsAny(p, "\n\"\\") || strings.HasPrefix(p, " ") {
		return strconv.Quote(p)
	}
	return p
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}
