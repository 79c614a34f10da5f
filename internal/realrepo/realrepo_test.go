package realrepo

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"gopkg.in/yaml.v3"
)

var (
	smallOnce sync.Once
	smallRepo *Repo
	smallErr  error
	smallDir  string
)

// small is one Small repository shared by the tests that only read it.
func small(t testing.TB) *Repo {
	t.Helper()
	smallOnce.Do(func() {
		smallDir, smallErr = os.MkdirTemp("", "realrepo-small-")
		if smallErr == nil {
			start := time.Now()
			smallRepo, smallErr = Generate(filepath.Join(smallDir, "repo"), Small)
			t.Logf("generated Small in %v", time.Since(start))
		}
	})
	if smallErr != nil {
		t.Fatal(smallErr)
	}
	return smallRepo
}

func TestMain(m *testing.M) {
	code := m.Run()
	if smallDir != "" {
		os.RemoveAll(smallDir)
	}
	os.Exit(code)
}

func TestOptionsRefused(t *testing.T) {
	for _, o := range []Options{{Packs: 5, Commits: 60}, {Packs: 40, Commits: 3}} {
		if _, err := Generate(t.TempDir(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: got %v, want ErrOptions", o, err)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := Generate(dir, Small); !errors.Is(err, ErrOptions) {
		t.Errorf("non-empty dir: got %v, want ErrOptions", err)
	}
}

func TestShape(t *testing.T) {
	r := small(t)
	if got := len(r.Commits); got != Small.Commits {
		t.Errorf("%d first-parent commits, want %d", got, Small.Commits)
	}
	names := map[string]bool{}
	layers := map[string]bool{}
	addonTypes := map[string]bool{}
	for _, rel := range r.Releases {
		names[rel.Name] = true
		layers[rel.Layer] = true
		addonTypes[rel.AddonType] = true
	}
	if len(names) != Small.Packs {
		t.Errorf("%d pack names, want %d", len(names), Small.Packs)
	}
	for _, l := range []string{"os", "k8s", "cni", "csi", "addon"} {
		if !layers[l] {
			t.Errorf("no pack of layer %s", l)
		}
	}
	for _, a := range []string{"monitoring", "logging", "ingress", "security", "load balancer", "servicemesh", "authentication", "system app", "app services"} {
		if !addonTypes[a] {
			t.Errorf("no add-on of type %q", a)
		}
	}
	all := []Feature{SiblingVersions, InPlaceBump, Nested, TwoPartVersion, VPrefixVersion, ZeroPadVersion, PreRelease, DirMismatch,
		TemplatedManifest, MacroManifest, Chart, UnpackedChart, DotRootedChart, LargeCRD, Logo, Admonitions, Presets, Schema,
		NonASCIIName, Images, Resources, Dependencies, Deprecated, Junk, CRLF, Executable, Moved, Deleted, Edited}
	for _, f := range all {
		if len(r.Features[f]) == 0 {
			t.Errorf("no release with feature %s", f)
		}
	}
	var readmeOnly, multi, merges, bumps int
	for _, c := range r.Commits {
		if c.ReadmeOnly() {
			readmeOnly++
		}
		if len(c.Packs) > 1 {
			multi++
		}
		if c.Merge {
			merges++
		}
		for _, k := range c.Kinds {
			if k == "bump" {
				bumps++
			}
		}
	}
	t.Logf("%d releases, %d README-only commits, %d touching several packs, %d merges, %d bumps", len(r.Releases), readmeOnly, multi, merges, bumps)
	if readmeOnly == 0 || multi == 0 || merges == 0 || bumps == 0 {
		t.Errorf("history lacks a kind of commit: README-only %d, several packs %d, merges %d, bumps %d", readmeOnly, multi, merges, bumps)
	}
	// CRDs edited across versions, above go-git's 256 KiB threshold.
	crdVersions := map[string]int{}
	for _, id := range r.Features[LargeCRD] {
		rel := r.Release(id)
		for _, f := range rel.Large {
			if strings.Contains(f, "crds") {
				crdVersions[rel.Name]++
			}
		}
	}
	n := 0
	for _, v := range crdVersions {
		if v >= 3 {
			n++
		}
	}
	if n < 3 {
		t.Errorf("want 3 packs with a large CRD in 3 versions or more, got %v", crdVersions)
	}
}

// TestMatchesGit checks every recorded release against git itself:
// its files at Commit:Dir, its pack.json, where it was introduced, and
// that Commit is the newest first-parent commit holding that version.
func TestMatchesGit(t *testing.T) { matchesGit(t, small(t)) }

func matchesGit(t *testing.T, r *Repo) {
	cat := newCatFile(t, r.Dir)
	index := map[string]int{}
	for i, c := range r.Commits {
		index[c.Hash] = i
	}
	for _, rel := range r.Releases {
		files := lsTree(t, r.Dir, rel.Commit, rel.Dir)
		got := slices.Sorted(maps.Keys(files))
		if !reflect.DeepEqual(got, rel.Files) {
			t.Errorf("%s: git has %v at %s:%s, recorded %v", rel.ID(), got, rel.Commit[:8], rel.Dir, rel.Files)
		}
		for _, at := range []struct{ rev, dir string }{{rel.Commit, rel.Dir}, {rel.Introduced, rel.IntroducedDir}} {
			data, ok, err := cat.show(at.rev, at.dir+"/pack.json")
			if err != nil || !ok {
				t.Fatalf("%s: no pack.json at %s:%s (%v)", rel.ID(), at.rev[:8], at.dir, err)
			}
			var m struct{ Name, Version, Layer string }
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("%s: %s:%s/pack.json: %v", rel.ID(), at.rev[:8], at.dir, err)
			}
			if m.Name != rel.Name || m.Version != rel.Version || m.Layer != rel.Layer {
				t.Errorf("%s: %s:%s/pack.json says %s@%s layer %s", rel.ID(), at.rev[:8], at.dir, m.Name, m.Version, m.Layer)
			}
		}
		if index[rel.Introduced] > index[rel.Commit] {
			t.Errorf("%s: introduced at commit %d after its last commit %d", rel.ID(), index[rel.Introduced], index[rel.Commit])
		}
		if rel.AtHead != (rel.Commit == r.Head) {
			t.Errorf("%s: AtHead %v but Commit %s, head %s", rel.ID(), rel.AtHead, rel.Commit[:8], r.Head[:8])
		}
		if !rel.AtHead { // the version is gone from the next commit
			next := r.Commits[index[rel.Commit]+1].Hash
			for _, id := range releasesAt(t, r.Dir, cat, next) {
				if id == rel.ID() {
					t.Errorf("%s: recorded last at %s but still in %s", rel.ID(), rel.Commit[:8], next[:8])
				}
			}
		}
	}
}

// releasesAt lists name@version of every pack.json of a commit.
func releasesAt(t testing.TB, repo string, cat *catFile, rev string) []string {
	var out []string
	for f := range lsTree(t, repo, rev, "packs") {
		if path.Base(f) != "pack.json" {
			continue
		}
		data, _, err := cat.show(rev, "packs/"+f)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Name, Version string }
		json.Unmarshal(data, &m)
		out = append(out, m.Name+"@"+m.Version)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	o := Options{Seed: 5, Packs: 24, Commits: 20, PastDuplicate: true}
	a, err := Generate(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	var ha, hb []string
	for i := range a.Commits {
		ha, hb = append(ha, a.Commits[i].Hash), append(hb, b.Commits[i].Hash)
	}
	if !reflect.DeepEqual(ha, hb) {
		t.Fatalf("same seed, different commits:\n%v\n%v", ha, hb)
	}
	if !reflect.DeepEqual(a.Releases, b.Releases) {
		t.Error("same seed, different releases recorded")
	}
	o.Seed = 6
	c, err := Generate(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Head == a.Head {
		t.Error("another seed gave the same head")
	}
}

// TestPacked: a normal packed clone, large blobs stored as deltas, fsck clean.
func TestPacked(t *testing.T) {
	r := small(t)
	counts := map[string]int{}
	for _, line := range strings.Split(git(t, r.Dir, "count-objects", "-v"), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			counts[k], _ = strconv.Atoi(v)
		}
	}
	if counts["in-pack"] < 500 || counts["count"] > 10 || counts["packs"] != 1 {
		t.Errorf("not a packed repository: %v", counts)
	}
	// Every blob of 200 KB or more, and whether git stores it as a delta.
	out := git(t, r.Dir, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize) %(deltabase)")
	large, deltas, deltasOver256K := 0, 0, 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		size, _ := strconv.Atoi(f[1])
		if f[0] != "blob" || size < 200<<10 {
			continue
		}
		large++
		if strings.Trim(f[2], "0") != "" {
			deltas++
			if size > 256<<10 {
				deltasOver256K++
			}
		}
	}
	t.Logf("%d large blobs, %d stored as deltas (%d above 256 KiB)", large, deltas, deltasOver256K)
	if large < 9 || deltas*3 < large*2 || deltasOver256K < 5 {
		t.Errorf("large blobs are not deltified: %d of %d (%d above 256 KiB)", deltas, large, deltasOver256K)
	}
	if out := git(t, r.Dir, "fsck", "--strict", "--full", "--no-progress"); strings.TrimSpace(out) != "" {
		t.Errorf("git fsck: %s", out)
	}
	if st := git(t, r.Dir, "status", "--porcelain"); st != "" {
		t.Errorf("work tree differs from HEAD:\n%s", st)
	}
}

func TestLoose(t *testing.T) {
	o := Options{Seed: 3, Packs: 20, Commits: 12, Loose: true}
	r, err := Generate(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	out := git(t, r.Dir, "count-objects", "-v")
	if !strings.Contains(out, "in-pack: 0\n") || strings.Contains(out, "\ncount: 0\n") || strings.HasPrefix(out, "count: 0\n") {
		t.Errorf("want loose objects only:\n%s", out)
	}
	git(t, r.Dir, "fsck", "--strict", "--full", "--no-progress")
}

func TestPastDuplicate(t *testing.T) {
	r, err := Generate(t.TempDir(), Options{Seed: 1, Packs: 20, Commits: 16, PastDuplicate: true})
	if err != nil {
		t.Fatal(err)
	}
	d := r.PastDuplicate
	if d == nil || d.FixedIndex != d.ToIndex+1 || d.ToIndex < d.FromIndex {
		t.Fatalf("duplicate not recorded: %+v", d)
	}
	cat := newCatFile(t, r.Dir)
	count := func(rev string) int {
		n := 0
		for _, id := range releasesAt(t, r.Dir, cat, rev) {
			if id == d.ID {
				n++
			}
		}
		return n
	}
	if n := count(d.From); n != 2 {
		t.Errorf("%s in %d directories at %s, want 2", d.ID, n, d.From[:8])
	}
	if n := count(d.To); n != 2 {
		t.Errorf("%s in %d directories at %s, want 2", d.ID, n, d.To[:8])
	}
	if d.FromIndex > 0 {
		if n := count(r.Commits[d.FromIndex-1].Hash); n != 1 {
			t.Errorf("%s in %d directories before the duplicate, want 1", d.ID, n)
		}
	}
	// The fix bumps the version: it is in no newer commit, so a history
	// walk from HEAD meets the duplicate before any clean commit of it.
	if n := count(r.Commits[d.FixedIndex].Hash); n != 0 {
		t.Errorf("%s in %d directories after the fix, want 0", d.ID, n)
	}
	if n := count(r.Head); n != 0 {
		t.Errorf("%s in %d directories at HEAD, want 0", d.ID, n)
	}
	if rel := r.Release(d.ID); rel == nil || rel.AtHead || rel.Dir != d.Dirs[0] || rel.Commit != d.To {
		t.Errorf("release %s recorded as %+v", d.ID, rel)
	}
	if len(r.Features[PastDuplicateRel]) != 1 {
		t.Errorf("feature %s: %v", PastDuplicateRel, r.Features[PastDuplicateRel])
	}
}

// TestAddCommit: a README-only commit changes nothing but the head and
// the commit of every release still there.
func TestAddCommit(t *testing.T) {
	r, err := Generate(t.TempDir(), Options{Seed: 4, Packs: 20, Commits: 12})
	if err != nil {
		t.Fatal(err)
	}
	before := append([]Release(nil), r.Releases...)
	old := r.Head
	h, err := r.AddCommit("docs: README", map[string][]byte{"README.md": []byte("# packs\n")})
	if err != nil {
		t.Fatal(err)
	}
	if h == old || r.Head != h || len(r.Commits) != 13 || !r.Commits[12].ReadmeOnly() {
		t.Fatalf("head %s (was %s), %d commits, last %+v", h, old, len(r.Commits), r.Commits[len(r.Commits)-1])
	}
	if got := git(t, r.Dir, "show", "HEAD:README.md"); got != "# packs\n" {
		t.Errorf("README.md at HEAD: %q", got)
	}
	for i, b := range before {
		a := r.Releases[i]
		want := b.Commit
		if b.AtHead {
			want = h
		}
		if a.ID() != b.ID() || a.Commit != want || a.Dir != b.Dir || !reflect.DeepEqual(a.Files, b.Files) {
			t.Errorf("%s changed: %+v", b.ID(), a)
		}
	}
}

// TestTemplatedManifestsRender: the templated manifests are not YAML as
// they are, and are Kubernetes objects once rendered as Palette does
// (text/template, sprig functions, the values under
// manifests.<file-basename>, .spectro macros).
func TestTemplatedManifestsRender(t *testing.T) {
	r := small(t)
	cat := newCatFile(t, r.Dir)
	funcs := template.FuncMap{ // the sprig functions the templates use
		"default": func(d any, v ...any) any {
			if len(v) == 0 || v[0] == nil || v[0] == "" || v[0] == 0 || v[0] == false {
				return d
			}
			return v[0]
		},
		"quote": func(v any) string { return strconv.Quote(strings.TrimSpace(toString(v))) },
		"upper": func(s string) string { return strings.ToUpper(s) },
		"lower": func(s string) string { return strings.ToLower(s) },
		"trunc": func(n int, s string) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
	}
	spectro := map[string]any{"system": map[string]any{"cluster": map[string]any{"name": "demo", "uid": "6543"}, "reverseproxy": map[string]any{"server": "proxy.example"}, "project": map[string]any{"name": "Default"}}}
	checked := 0
	for _, id := range r.Features[TemplatedManifest] {
		rel := r.Release(id)
		values, _, _ := cat.show(rel.Commit, rel.Dir+"/values.yaml")
		var v struct {
			Manifests map[string]map[string]any `yaml:"manifests"`
		}
		if err := yaml.Unmarshal(values, &v); err != nil {
			t.Fatalf("%s values.yaml: %v", id, err)
		}
		for _, f := range rel.Templated {
			src, _, _ := cat.show(rel.Commit, rel.Dir+"/"+f)
			base := strings.TrimSuffix(path.Base(f), ".yaml")
			tmpl, err := template.New(f).Funcs(funcs).Parse(string(src))
			if err != nil {
				t.Fatalf("%s %s: %v", id, f, err)
			}
			var out strings.Builder
			if err := tmpl.Execute(&out, map[string]any{"Values": v.Manifests[base], "spectro": spectro}); err != nil {
				t.Fatalf("%s %s: render: %v", id, f, err)
			}
			dec := yaml.NewDecoder(strings.NewReader(out.String()))
			docs := 0
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); err != nil {
					if err.Error() == "EOF" {
						break
					}
					t.Fatalf("%s %s rendered is not YAML: %v\n%s", id, f, err, out.String())
				}
				if doc["apiVersion"] == nil || doc["kind"] == nil {
					t.Errorf("%s %s: rendered document without apiVersion/kind", id, f)
				}
				docs++
			}
			if docs == 0 {
				t.Errorf("%s %s renders to nothing", id, f)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no templated manifest checked")
	}
}

func toString(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestHeadValidates runs packgen's validator over HEAD's work tree: the
// only errors allowed are those of features the validator is being
// taught to accept (issue 13, item 6); any other is a generator bug.
func TestHeadValidates(t *testing.T) { headValidates(t, small(t)) }

func headValidates(t *testing.T, r *Repo) {
	_, probs, err := pack.ValidateTree(os.DirFS(r.Dir), "packs", pack.Options{Prefix: "packs"})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]string{}
	for _, rel := range r.Releases {
		if !rel.AtHead {
			continue
		}
		for _, f := range rel.Templated {
			allowed[rel.Dir+"/"+f] = "templated manifest"
		}
		for _, f := range rel.Features {
			switch f {
			case DotRootedChart:
				for _, file := range rel.Files {
					if strings.HasPrefix(file, "charts/") && strings.HasSuffix(file, ".tgz") {
						allowed[rel.Dir+"/"+file] = "./-rooted chart"
					}
				}
			case Resources:
				allowed[rel.Dir+"/pack.json"] = "constraints.resources"
			}
		}
	}
	seen := map[string]int{}
	for _, p := range probs.Errors() {
		why, ok := allowed[p.File]
		if !ok {
			t.Errorf("unexpected error: %s", p)
			continue
		}
		seen[why]++
	}
	t.Logf("errors today for features being fixed: %v; %d warnings", seen, len(probs)-len(probs.Errors()))
}

func BenchmarkGenerateSmall(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Generate(filepath.Join(b.TempDir(), strconv.Itoa(i)), Small); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFull generates the full size (REALREPO_FULL=1): 220 packs, 330
// commits, as the real repository.
func TestFull(t *testing.T) {
	if os.Getenv("REALREPO_FULL") == "" {
		t.Skip("set REALREPO_FULL=1 to generate the full-size repository")
	}
	start := time.Now()
	r, err := Generate(t.TempDir(), Full)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, rel := range r.Releases {
		names[rel.Name] = true
	}
	t.Logf("%d packs, %d releases, %d commits in %v", len(names), len(r.Releases), len(r.Commits), time.Since(start))
	if len(names) < 200 || len(r.Commits) < 300 {
		t.Errorf("%d packs, %d commits", len(names), len(r.Commits))
	}
	matchesGit(t, r)
	headValidates(t, r)
}

// TestRealErrors: the real mistakes put at HEAD are reported by
// packgen's validator on the very file, as errors where issue 13 says
// they must stay errors.
func TestRealErrors(t *testing.T) {
	r, err := Generate(t.TempDir(), Options{Seed: 7, Packs: 30, Commits: 14, RealErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.RealErrors) != 5 {
		t.Fatalf("want 5 real errors, got %+v", r.RealErrors)
	}
	_, probs, err := pack.ValidateTree(os.DirFS(r.Dir), "packs", pack.Options{Prefix: "packs"})
	if err != nil {
		t.Fatal(err)
	}
	mustError := map[string]bool{BadDuplicateKey: true, BadMissingChart: true, BadDependency: true}
	for _, e := range r.RealErrors {
		var found []meta.Problem
		for _, p := range probs {
			if p.File == e.File {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			t.Errorf("%s (%s): nothing reported on %s", e.Kind, e.ID, e.File)
			continue
		}
		if mustError[e.Kind] && !meta.Problems(found).HasErrors() {
			t.Errorf("%s (%s): want an error on %s, got %v", e.Kind, e.ID, e.File, found)
		}
		t.Logf("%s: %s", e.Kind, found[0])
	}
}
