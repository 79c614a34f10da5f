package site

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/packgen/packgen/images/ref"
	"github.com/packgen/packgen/index"
)

// What changed from one version of a pack to the next: the release
// fields of the shard (charts, manifests, dependencies, resources) and,
// from the two archives, values.yaml line by line and the container
// images named in values.yaml and the manifests.

// Bounds: a diff is for reading, so past these it says so instead.
const (
	maxDiffEdits   = 600  // Myers edit distance searched
	maxDiffLines   = 1500 // lines of diff output per version
	maxDiffSources = 20000
	diffContext    = 3
	// maxDeepViews bounds the views one page compares archives for
	// (each reads an archive or two, and reading archives is most of the
	// catalogue's time); past it, and for older versions in a first
	// build, a view shows the changes the index records (charts,
	// manifests, dependencies, resources), which cost nothing to compare.
	maxDeepViews = 10
	// maxChangeViews bounds the change views of one page.
	maxChangeViews = 50
)

type diffOp struct {
	kind byte // ' ', '-', '+'
	text string
}

// lineDiff is Myers' O(ND) diff of a and b; ok is false when they differ
// by more than maxD edits (after their common head and tail).
func lineDiff(a, b []string, maxD int) ([]diffOp, bool) {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out []diffOp
	for _, s := range a[:pre] {
		out = append(out, diffOp{' ', s})
	}
	mid, ok := myers(a[pre:len(a)-suf], b[pre:len(b)-suf], maxD)
	if !ok {
		return nil, false
	}
	out = append(out, mid...)
	for _, s := range a[len(a)-suf:] {
		out = append(out, diffOp{' ', s})
	}
	return out, true
}

func myers(a, b []string, maxD int) ([]diffOp, bool) {
	n, m := len(a), len(b)
	if n == 0 && m == 0 {
		return nil, true
	}
	if n+m < maxD {
		maxD = n + m
	}
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	// trace[d] holds v[-d-1 .. d+1] as it was at the start of step d.
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		snap := make([]int, 2*d+3)
		copy(snap, v[off-d-1:off+d+2])
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace, d), true
			}
		}
	}
	return nil, false
}

func backtrack(a, b []string, trace [][]int, D int) []diffOp {
	var rev []diffOp
	x, y := len(a), len(b)
	for d := D; d > 0; d-- {
		t := trace[d]
		at := func(k int) int { return t[k+d+1] }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			rev = append(rev, diffOp{' ', a[x-1]})
			x--
			y--
		}
		if x == px {
			rev = append(rev, diffOp{'+', b[y-1]})
			y--
		} else {
			rev = append(rev, diffOp{'-', a[x-1]})
			x--
		}
	}
	for x > 0 && y > 0 {
		rev = append(rev, diffOp{' ', a[x-1]})
		x--
		y--
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// splitLines splits text into lines for diffing (CRLF as LF, valid UTF-8).
func splitLines(b []byte) []string {
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	s := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// renderUnified renders ops as unified-diff hunks with context, escaped,
// and counts added and removed lines. Past maxLines it stops and says so.
func renderUnified(ops []diffOp, context, maxLines int) (h template.HTML, added, removed int) {
	text, added, removed, _ := unifiedText(ops, context, maxLines)
	return diffHTML(text), added, removed
}

// diffCut ends a diff cut short by its line bound.
const diffCut = "… the rest of the diff is not shown"

// unifiedText is ops as unified-diff hunks with context, as plain text
// (each line starts with '@' for a hunk's head, ' ', '-', '+', or '…'
// when cut), and counts added and removed lines. Past maxLines it stops
// and says so; lines says how many it wrote. Kept as text, not HTML, so
// a page can store it for the next build and escape it again there.
func unifiedText(ops []diffOp, context, maxLines int) (text string, added, removed, lines int) {
	// Mark which ops are shown: changes and their context.
	show := make([]bool, len(ops))
	for i, op := range ops {
		if op.kind == ' ' {
			continue
		}
		if op.kind == '+' {
			added++
		} else {
			removed++
		}
		for j := max(0, i-context); j <= min(len(ops)-1, i+context); j++ {
			show[j] = true
		}
	}
	if added+removed == 0 {
		return "", 0, 0, 0
	}
	var b strings.Builder
	la, lb := 1, 1 // line numbers in a and b
	for i := 0; i < len(ops); {
		if !show[i] {
			if ops[i].kind != '+' {
				la++
			}
			if ops[i].kind != '-' {
				lb++
			}
			i++
			continue
		}
		j := i
		ca, cb := 0, 0
		for j < len(ops) && show[j] {
			if ops[j].kind != '+' {
				ca++
			}
			if ops[j].kind != '-' {
				cb++
			}
			j++
		}
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", la, ca, lb, cb)
		for ; i < j; i++ {
			if lines++; lines > maxLines {
				b.WriteString(diffCut + "\n")
				return b.String(), added, removed, lines
			}
			b.WriteByte(ops[i].kind)
			b.WriteString(ops[i].text)
			b.WriteByte('\n')
		}
		la += ca
		lb += cb
	}
	return b.String(), added, removed, lines
}

// diffHTML renders unifiedText's output, every line escaped.
func diffHTML(text string) template.HTML {
	var b strings.Builder
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		class := "dc"
		switch {
		case line == "":
			continue
		case line[0] == '@' || strings.HasPrefix(line, "…"):
			class = "dh"
		case line[0] == '+':
			class = "da"
		case line[0] == '-':
			class = "dd"
		}
		b.WriteString(`<span class="` + class + `">`)
		b.WriteString(html.EscapeString(line))
		// The newline inside the line's block: between blocks it
		// would render as an empty line.
		b.WriteString("\n</span>")
	}
	return template.HTML(b.String()) // #nosec: every line is escaped
}

// imageLine finds container images: `image: repo/name:tag` in YAML
// (values or manifests), quoted or not.
//
// Compiled on first use, not in the initialiser every packgen process runs.
var imageLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*(?:-\s+)?["']?image["']?\s*:\s*["']?([A-Za-z0-9][A-Za-z0-9._/:@-]*[A-Za-z0-9])["']?\s*(?:#.*)?$`)
})

// imagesIn adds the images named in a YAML text to set.
func imagesIn(b []byte, set map[string]bool) {
	if !bytes.Contains(b, []byte("image")) {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "image") {
			continue
		}
		if m := imageLine().FindStringSubmatch(strings.TrimRight(line, "\r")); m != nil && strings.ContainsAny(m[1], "/:") && len(set) < 1000 {
			set[m[1]] = true
		}
	}
}

// change is what changed in one version since the one before it.
type change struct {
	Version, From, ID string
	Items             []changeItem
	// Diffs are the files whose diff is shown, values.yaml first.
	Diffs          []fileChange
	Added, Removed int // lines of values.yaml
	Open           bool
	Shallow        bool // the archives' files were not compared
}

// HTML is the file's diff, escaped.
func (c fileChange) HTML() template.HTML { return diffHTML(c.Diff) }

type changeItem struct {
	What         string
	Added, Gone  []string
	Changed      []string
	Unchanged    bool
	ExternalNote string
}

// setDiff lists what b has that a lacks, and the reverse, sorted.
func setDiff(a, b []string) (added, gone []string) {
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	for x := range mb {
		if !ma[x] {
			added = append(added, x)
		}
	}
	for x := range ma {
		if !mb[x] {
			gone = append(gone, x)
		}
	}
	sort.Strings(added)
	sort.Strings(gone)
	return added, gone
}

func baseNames(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p[strings.LastIndexByte(p, '/')+1:]
	}
	return out
}

// releaseChanges compares the shard fields of two releases.
func releaseChanges(a, b *index.Release) []changeItem {
	var out []changeItem
	add := func(what string, x, y []string) {
		ad, gone := setDiff(x, y)
		if len(ad)+len(gone) > 0 {
			out = append(out, changeItem{What: what, Added: ad, Gone: gone})
		}
	}
	add("Charts", baseNames(a.Charts), baseNames(b.Charts))
	add("Manifests", a.KubeManifests, b.KubeManifests)
	add("Cloud types", a.CloudTypes, b.CloudTypes)

	deps := changeItem{What: "Dependencies"}
	da, db := map[string]string{}, map[string]string{}
	for _, d := range a.Dependencies {
		da[d.PackName] = d.Type + " " + depRange(d.MinVersion, d.MaxVersion)
	}
	for _, d := range b.Dependencies {
		db[d.PackName] = d.Type + " " + depRange(d.MinVersion, d.MaxVersion)
	}
	either := maps.Clone(da)
	maps.Copy(either, db)
	for _, n := range slices.Sorted(maps.Keys(either)) {
		x, inA := da[n]
		y, inB := db[n]
		switch {
		case !inA:
			deps.Added = append(deps.Added, n+" ("+y+")")
		case !inB:
			deps.Gone = append(deps.Gone, n+" ("+x+")")
		case x != y:
			deps.Changed = append(deps.Changed, n+": "+x+" → "+y)
		}
	}
	if len(deps.Added)+len(deps.Gone)+len(deps.Changed) > 0 {
		out = append(out, deps)
	}
	if ra, rb := resourceSummary(a), resourceSummary(b); ra != rb {
		out = append(out, changeItem{What: "Resource constraints", Changed: []string{orDash(ra) + " → " + orDash(rb)}})
	}
	if a.KubeVersion != b.KubeVersion {
		out = append(out, changeItem{What: "Kubernetes versions", Changed: []string{orDash(a.KubeVersion) + " → " + orDash(b.KubeVersion)}})
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func resourceSummary(r *index.Release) string {
	var parts []string
	for _, row := range resourceRows(r) {
		p := row.Type + " " + row.Min
		if len(row.Components) > 0 {
			p += " (" + strings.Join(row.Components, "; ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// changes builds the change views of the newest versions of a pack,
// newest first. The archives are compared for the view of the latest
// version and of the newest release (the one a build adds, which may be
// a patch on an older line); the others show what the index records.
// Which views are compared depends on the shard alone, and each is
// computed from the two archives (never taken from a previous page), so
// a page is the same whether it is rendered fresh or again; pages are
// rendered only for packs that changed, so this is O(what changed).
// read holds the archives of the latest version and its base, for the
// page's compare data.
func (g *gen) changes(s *index.Shard, latest *index.Release, lf *latestFiles) ([]change, map[string]*latestFiles, error) {
	rs := s.Releases
	read := map[string]*latestFiles{latest.Version: lf}
	if len(rs) < 2 {
		return nil, read, nil
	}
	var newest time.Time
	for i := range rs {
		if rs[i].Created.After(newest) {
			newest = rs[i].Created
		}
	}
	files := map[int]*latestFiles{}
	get := func(i int) (*latestFiles, error) {
		if f := files[i]; f != nil {
			return f, nil
		}
		f := lf
		if &rs[i] != latest {
			var err error
			if f, err = readRelease(g.dir, s.Name, &rs[i], false); err != nil {
				return nil, fmt.Errorf("%s@%s: %w", s.Name, rs[i].Version, err)
			}
		}
		files[i] = f
		read[rs[i].Version] = f
		return f, nil
	}
	var out []change
	deep := 0
	for i := len(rs) - 1; i >= 1 && len(out) < maxChangeViews; i-- {
		j := baseOf(rs, i)
		if j < 0 {
			continue
		}
		a, b := &rs[j], &rs[i]
		c := change{Version: b.Version, From: a.Version, ID: "changes-" + b.Version, Items: releaseChanges(a, b), Open: len(out) == 0}
		var rec changeRecord
		if (b != latest && !b.Created.Equal(newest)) || deep == maxDeepViews {
			rec.Shallow = true
		} else {
			deep++
			g.compared.Add(1)
			fa, err := get(j)
			if err != nil {
				return nil, nil, err
			}
			fb, err := get(i)
			if err != nil {
				return nil, nil, err
			}
			rec.compare(fa, fb)
		}
		// Every view with base i was made before this one (bases are
		// lower): the archive's text is not needed again.
		if f := files[i]; f != nil && f != lf {
			f.files = nil
			delete(files, i)
		}
		c.apply(rec)
		out = append(out, c)
	}
	// The compare data holds values.yaml and the images of the latest
	// version and its base, whatever this build compared.
	shown := map[string]*latestFiles{latest.Version: lf}
	for i := range rs {
		if &rs[i] != latest {
			continue
		}
		if j := baseOf(rs, i); j >= 0 {
			f := read[rs[j].Version]
			if f == nil {
				var err error
				if f, err = readRelease(g.dir, s.Name, &rs[j], false); err != nil {
					return nil, nil, fmt.Errorf("%s@%s: %w", s.Name, rs[j].Version, err)
				}
			}
			shown[rs[j].Version] = f
		}
	}
	return out, shown, nil
}

// compare records what the two archives' files say: every file compared
// by digest, text files diffed, and the images their YAML names
// (image: in values.yaml and the manifests), normalised as the Images
// section names them. Images that charts or templated manifests render
// are not diffed: the base's charts would have to be rendered too,
// doubling a first build's chart rendering, and using the image cache
// or the previous page would make the page depend on the machine or on
// history. The page says so.
func (r *changeRecord) compare(fa, fb *latestFiles) {
	r.Files, r.More = compareFiles(fa.files, fb.files)
	r.ImagesAdd, r.ImagesGone = setDiff(normalised(keys(fa.images)), normalised(keys(fb.images)))
}

// normalised names images as the Images section does (docker.io/library/
// added, a tag given); a name that does not parse stays as written.
func normalised(xs []string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if n, err := ref.Normalize(x); err == nil {
			x = n
		}
		out = append(out, x)
	}
	return out
}

// apply adds a record to the view.
func (c *change) apply(r changeRecord) {
	if r.Shallow {
		c.Shallow = true
		return
	}
	it := changeItem{What: "Files"}
	for _, f := range r.Files {
		switch f.State {
		case "added":
			it.Added = append(it.Added, f.summary())
		case "removed":
			it.Gone = append(it.Gone, f.summary())
		default:
			it.Changed = append(it.Changed, f.summary())
		}
		if f.Path == "values.yaml" {
			c.Added, c.Removed = f.Added, f.Removed
		}
		if f.Diff != "" {
			c.Diffs = append(c.Diffs, f)
		}
	}
	if r.More > 0 {
		it.Changed = append(it.Changed, fmt.Sprintf("and %d more files", r.More))
	}
	if len(r.Files) > 0 {
		c.Items = append(c.Items, it)
	}
	if len(r.ImagesAdd)+len(r.ImagesGone) > 0 {
		c.Items = append(c.Items, changeItem{What: "Images", Added: r.ImagesAdd, Gone: r.ImagesGone})
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
