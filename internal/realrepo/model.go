package realrepo

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"maps"
	"math/rand"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// blobRef is a file of the tree being built.
type blobRef struct {
	mark int
	sum  [32]byte
	size int
	mode int
}

// dirState is a pack directory of the tree being built.
type dirState struct {
	dir    string
	spec   *packSpec
	vi     int // index into spec.versions
	edits  int // value fixes without a version bump
	readme int // README edits
	dup    bool
	bad    string             // a real error it carries (Options.RealErrors)
	files  map[string]blobRef // relative to dir
	snap   *snapshot          // nil when files changed since
}

// snapshot is what a pack directory held at a commit.
type snapshot struct {
	name, version string
	files         []string
	large         []string
	templated     []string
	macro         bool // a manifest uses {{ }} only inside YAML strings
	tmpl          bool // a manifest is a template that is not YAML before rendering
}

// relState follows one name@version through history.
type relState struct {
	spec               *packSpec
	vi                 int
	name, version      string
	first, last        int
	firstDir, lastDir  string
	snap               *snapshot
	edited, dupRelease bool
}

// model is the repository being generated: the tree of main, what was
// committed, and the releases seen so far.
type model struct {
	o        Options
	rng      *rand.Rand
	specs    []*packSpec
	byName   map[string]*packSpec
	files    map[string]blobRef
	dirs     map[string]*dirState
	marks    map[[32]byte]int
	nextMark int
	w        *bufio.Writer
	ops      []string
	commits  []Commit
	mainMark int
	when     time.Time
	prs      int
	rels     map[string]*relState
	dup      *Duplicate
	dupDir   string
	bad      []RealError
	crd      map[*packSpec][]string
	crdDone  map[*packSpec]cached[string] // the newest version's only: edits touch no other
	tgz      map[*packSpec]cached[[]byte]
}

type cached[T any] struct {
	vi   int
	data T
}

func newModel(o Options) *model {
	m := &model{
		o:        o,
		rng:      rand.New(rand.NewSource(o.Seed)),
		byName:   map[string]*packSpec{},
		files:    map[string]blobRef{},
		dirs:     map[string]*dirState{},
		marks:    map[[32]byte]int{},
		nextMark: 1,
		when:     time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC),
		rels:     map[string]*relState{},
		crd:      map[*packSpec][]string{},
		crdDone:  map[*packSpec]cached[string]{},
		tgz:      map[*packSpec]cached[[]byte]{},
	}
	m.specs = makeSpecs(o, m.rng)
	for _, s := range m.specs {
		m.byName[s.name] = s
	}
	return m
}

// put writes a file of the tree: a blob (once per content) and a
// file-modify command for the commit being made.
func (m *model) put(p string, data []byte, mode int) {
	sum := sha256.Sum256(data)
	if old, ok := m.files[p]; ok && old.sum == sum && old.mode == mode {
		return
	}
	mark, ok := m.marks[sum]
	if !ok {
		mark = m.nextMark
		m.nextMark++
		m.marks[sum] = mark
		fmt.Fprintf(m.w, "blob\nmark :%d\ndata %d\n", mark, len(data))
		m.w.Write(data)
		m.w.WriteByte('\n')
	}
	b := blobRef{mark: mark, sum: sum, size: len(data), mode: mode}
	m.files[p] = b
	m.ops = append(m.ops, fmt.Sprintf("M %o :%d %s", mode, mark, fiQuote(p)))
	if d, rel := m.dirOf(p); d != "" {
		ds := m.dirs[d]
		ds.files[rel] = b
		ds.snap = nil
	}
}

// remove deletes a file or a whole directory of the tree.
func (m *model) remove(p string) {
	found := false
	for f := range m.files {
		if under(f, p) {
			delete(m.files, f)
			found = true
			if d, rel := m.dirOf(f); d != "" {
				delete(m.dirs[d].files, rel)
				m.dirs[d].snap = nil
			}
		}
	}
	for d := range m.dirs {
		if under(d, p) {
			delete(m.dirs, d)
		}
	}
	if found {
		m.ops = append(m.ops, "D "+fiQuote(p))
	}
}

// dirOf returns the pack directory holding p and p relative to it.
func (m *model) dirOf(p string) (string, string) {
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := m.dirs[d]; ok {
			return d, p[len(d)+1:]
		}
	}
	return "", ""
}

// sync makes a pack directory hold exactly files.
func (m *model) sync(d *dirState, files map[string]file) {
	var gone []string
	for rel := range d.files {
		if _, ok := files[rel]; !ok {
			gone = append(gone, rel)
		}
	}
	sort.Strings(gone)
	for _, rel := range gone {
		m.remove(d.dir + "/" + rel)
	}
	rels := slices.Sorted(maps.Keys(files))
	for _, rel := range rels {
		f := files[rel]
		m.put(d.dir+"/"+rel, f.data, f.mode)
	}
}

func (m *model) newDir(dir string, s *packSpec, vi int) *dirState {
	d := &dirState{dir: dir, spec: s, vi: vi, files: map[string]blobRef{}}
	m.dirs[dir] = d
	return d
}

// newCommit appends the next first-parent commit (its hash comes later).
func (m *model) newCommit(msg string, merge bool) *Commit {
	step := time.Duration(20+m.rng.Intn(60*24*2)) * time.Minute
	if len(m.commits) > 0 {
		m.when = m.when.Add(step)
	}
	a := authors[m.rng.Intn(len(authors))]
	m.commits = append(m.commits, Commit{Message: msg, Time: m.when, Author: a.name, Merge: merge})
	return &m.commits[len(m.commits)-1]
}

type author struct{ name, email, zone string }

// Invented people; one bot, non-ASCII names and several time zones, as
// in any public repository.
var authors = []author{
	{"Asha Raman", "asha.raman@packs.example", "+0530"},
	{"Noé Lefèvre", "noe.lefevre@packs.example", "+0100"},
	{"Kai Johansson", "kai@packs.example", "-0700"},
	{"José Müller", "jose.mueller@example.org", "+0200"},
	{"Tomasz Nowak", "t.nowak@example.net", "-0500"},
	{"dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", "+0000"},
	{"李伟", "li.wei@example.cn", "+0800"},
	{"Ngozi Eze", "ngozi@packs.example", "+0100"},
}

func sig(a author, t time.Time) string {
	loc := time.FixedZone(a.zone, zoneSeconds(a.zone))
	return fmt.Sprintf("%s <%s> %d %s", a.name, a.email, t.In(loc).Unix(), a.zone)
}

func zoneSeconds(z string) int {
	var h, mm int
	fmt.Sscanf(z[1:3], "%d", &h)
	fmt.Sscanf(z[3:5], "%d", &mm)
	s := h*3600 + mm*60
	if z[0] == '-' {
		s = -s
	}
	return s
}

func authorByName(n string) author {
	for _, a := range authors {
		if a.name == n {
			return a
		}
	}
	return authors[0]
}

// emit writes the pending operations as the commit c on main: directly,
// or (merge) as a pull-request branch commit and its merge.
func (m *model) emit(c *Commit, branchMsg string) {
	w := m.w
	a := authorByName(c.Author)
	if !c.Merge {
		mark := m.nextMark
		m.nextMark++
		fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n", mark, sig(a, c.Time), sig(a, c.Time), len(c.Message), c.Message)
		if m.mainMark > 0 {
			fmt.Fprintf(w, "from :%d\n", m.mainMark)
		}
		m.writeOps()
		m.mainMark = mark
		return
	}
	b := m.nextMark
	m.nextMark++
	bt := c.Time.Add(-time.Duration(5+m.rng.Intn(300)) * time.Minute)
	fmt.Fprintf(w, "commit refs/heads/pr\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\nfrom :%d\n", b, sig(a, bt), sig(a, bt), len(branchMsg), branchMsg, m.mainMark)
	m.writeOps()
	mark := m.nextMark
	m.nextMark++
	gh := author{"GitHub", "noreply@github.com", "+0000"}
	fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\nfrom :%d\nmerge :%d\n", mark, sig(a, c.Time), sig(gh, c.Time), len(c.Message), c.Message, m.mainMark, b)
	m.writeOps()
	m.mainMark = mark
}

func (m *model) writeOps() {
	for _, op := range m.ops {
		m.w.WriteString(op)
		m.w.WriteByte('\n')
	}
	m.w.WriteByte('\n')
}

// snapshotOf describes a pack directory's current content.
func (m *model) snapshotOf(d *dirState) *snapshot {
	if d.snap != nil {
		return d.snap
	}
	s := &snapshot{name: d.spec.name, version: d.spec.versions[d.vi]}
	for rel, b := range d.files {
		s.files = append(s.files, rel)
		if b.size >= 200<<10 {
			s.large = append(s.large, rel)
		}
	}
	sort.Strings(s.files)
	sort.Strings(s.large)
	for _, rel := range s.files {
		if !strings.HasPrefix(rel, "manifests/") {
			continue
		}
		switch d.spec.manifestKind(rel) {
		case "templated":
			s.templated = append(s.templated, rel)
			s.tmpl = true
		case "macro":
			s.templated = append(s.templated, rel)
			s.macro = true
		}
	}
	d.snap = s
	return s
}

// record notes, after commit ci, every release its tree holds.
func (m *model) record(ci int) {
	dirs := slices.Sorted(maps.Keys(m.dirs))
	for _, dir := range dirs {
		d := m.dirs[dir]
		if d.dup {
			continue
		}
		s := m.snapshotOf(d)
		key := s.name + "@" + normVersion(s.version)
		rs := m.rels[key]
		if rs == nil {
			rs = &relState{spec: d.spec, vi: d.vi, name: s.name, version: s.version, first: ci, firstDir: dir}
			m.rels[key] = rs
		}
		rs.last, rs.lastDir, rs.snap = ci, dir, s
	}
}

func normVersion(v string) string {
	if sv, err := semver.NewVersion(v); err == nil {
		return sv.String()
	}
	return v
}

// releases lists every release seen, with its features.
func (m *model) releases() []Release {
	last := len(m.commits) - 1
	var out []Release
	for _, rs := range m.rels {
		s := rs.snap
		r := Release{
			Name: rs.name, Version: rs.version, Layer: rs.spec.layer, AddonType: rs.spec.addonType,
			Dir: rs.lastDir, Commit: m.commits[rs.last].Hash,
			Introduced: m.commits[rs.first].Hash, IntroducedDir: rs.firstDir,
			AtHead: rs.last == last,
			Files:  s.files, Large: s.large, Templated: s.templated,
		}
		for _, f := range s.files {
			if path.Base(f) == ".DS_Store" {
				r.Ignored = append(r.Ignored, f)
			}
		}
		r.Features = m.features(rs, r)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		a, _ := semver.NewVersion(out[i].Version)
		b, _ := semver.NewVersion(out[j].Version)
		if a != nil && b != nil && !a.Equal(b) {
			return a.LessThan(b)
		}
		return out[i].Version < out[j].Version
	})
	return out
}

func (m *model) features(rs *relState, r Release) []Feature {
	s, sp := rs.snap, rs.spec
	has := func(p string) bool {
		i := sort.SearchStrings(s.files, p)
		return i < len(s.files) && s.files[i] == p
	}
	var fs []Feature
	add := func(ok bool, f Feature) {
		if ok {
			fs = append(fs, f)
		}
	}
	add(sp.layout != layoutInPlace && len(sp.versions) > 1, SiblingVersions)
	add(sp.layout == layoutInPlace && len(sp.versions) > 1, InPlaceBump)
	add(strings.Count(r.Dir, "/") >= 2, Nested)
	add(sp.scheme == schemeTwoPart, TwoPartVersion)
	add(sp.scheme == schemeV, VPrefixVersion)
	add(sp.scheme == schemeZeroPad, ZeroPadVersion)
	add(sp.scheme == schemePre, PreRelease)
	add(sp.layout != layoutInPlace && path.Base(r.Dir) != sp.name+"-"+r.Version && !rs.dupRelease, DirMismatch)
	add(s.tmpl, TemplatedManifest)
	add(s.macro, MacroManifest)
	chart, unpacked := false, false
	for _, f := range s.files {
		if strings.HasPrefix(f, "charts/") && strings.HasSuffix(f, ".tgz") && strings.Count(f, "/") == 1 {
			chart = true
		}
		if strings.HasPrefix(f, "charts/") && strings.HasSuffix(f, "/Chart.yaml") && strings.Count(f, "/") == 2 {
			unpacked = true
		}
	}
	add(chart, Chart)
	add(unpacked, UnpackedChart)
	add(chart && sp.dotRooted, DotRootedChart)
	add(len(s.large) > 0, LargeCRD)
	add(has("logo.png"), Logo)
	add(has("README.md") && sp.admon, Admonitions)
	add(has("presets.yaml"), Presets)
	add(has("schema.yaml"), Schema)
	nonASCII := false
	for _, f := range s.files {
		for i := 0; i < len(f); i++ {
			if f[i] >= 0x80 {
				nonASCII = true
			}
		}
	}
	add(nonASCII, NonASCIIName)
	add(sp.images > 0, Images)
	add(sp.resources, Resources)
	add(len(sp.deps) > 0, Dependencies)
	add(sp.deprecated && rs.vi == 0, Deprecated)
	add(len(r.Ignored) > 0, Junk)
	add(sp.crlf, CRLF)
	add(has("scripts/preflight.sh"), Executable)
	add(rs.firstDir != rs.lastDir, Moved)
	add(!r.AtHead && sp.layout != layoutInPlace, Deleted)
	add(rs.edited, Edited)
	add(m.dup != nil && m.dup.ID == r.ID(), PastDuplicateRel)
	return fs
}
