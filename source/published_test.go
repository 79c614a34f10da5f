package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack/meta"
)

// messyHistory commits a first-parent history with what ReleasesOf must
// read as Releases does, and returns its first-parent commits, oldest
// first:
//   - a 2-part version removed, then brought back as 1.0.0 with other
//     content, then with the very content it had (in its old directory);
//   - a v-prefixed in-place bump, later reverted to the same tree;
//   - a directory renamed with its content unchanged;
//   - twins: identical copies at once (tree order differs from path
//     order: packs/tw-b before packs/tw), and a version two directories
//     defined in one past commit with other content;
//   - a nested pack hidden for a commit by a pack.json above it, and a
//     pack in a junk directory;
//   - the packs dir removed for a commit and restored;
//   - a merge whose second parent held a version the first-parent
//     history never did.
func messyHistory(t *testing.T) (*gitfixture.Repo, []string) {
	r := newRepo(t)
	var cs []string
	c := func(msg string) { cs = append(cs, commit(t, r, msg)) }
	pk := func(dir, name, version, values string) {
		testutil.WritePack(t, r, dir, name, version, "addon", values)
	}
	pk("packs/app-1.0", "app", "1.0", "a: 1\n")
	pk("packs/other", "other", "2.0.0", "")
	pk("packs/web", "web", "v1.0.0", "w: 1\n")
	pk("packs/grp/nested", "nested", "1.0.0", "")
	pk("packs/tw", "twin", "1.0.0", "t: 1\n")
	pk("packs/tw-b", "twin", "1.0.0", "t: 1\n")
	must(t, r.Write("README.md", []byte("packs\n")))
	c("one")
	must(t, r.Remove("packs/app-1.0"))
	must(t, r.Remove("packs/tw-b"))
	pk("packs/app-1.1.0", "app", "1.1.0", "a: 1\n")
	c("two: app 1.0 removed")
	pk("packs/web", "web", "v1.1.0", "w: 2\n")
	must(t, os.Rename(filepath.Join(r.Dir, "packs/other"), filepath.Join(r.Dir, "packs/other-2.0.0")))
	c("three: web bumped in place, other renamed")
	must(t, r.CopyDir(filepath.Join(r.Dir, "packs/app-1.1.0"), "packs/app-copy"))
	pk("packs/dup-x", "dup", "1.0.0", "d: x\n")
	pk("packs/dup-y", "dup", "1.0", "d: y\n")
	c("four: twins")
	must(t, r.Remove("packs/app-copy"))
	must(t, r.Remove("packs/dup-y"))
	pk("packs/app-1.0.0", "app", "v1.0.0", "a: 2\n")
	c("five: app 1.0.0 back with other content")
	pk("packs/grp", "grp", "1.0.0", "")
	pk("packs/node_modules/junk", "junk", "1.0.0", "")
	c("six: grp above nested")
	must(t, r.Remove("packs/grp/pack.json"))
	must(t, r.Remove("packs/grp/values.yaml"))
	pk("packs/web", "web", "v1.0.0", "w: 1\n")
	must(t, r.Remove("packs/app-1.0.0"))
	c("seven: nested again, web reverted")
	must(t, os.Rename(filepath.Join(r.Dir, "packs"), filepath.Join(r.Dir, "attic")))
	c("eight: packs moved away")
	must(t, os.Rename(filepath.Join(r.Dir, "attic"), filepath.Join(r.Dir, "packs")))
	c("nine: packs back")
	// A pull-request branch: app 3.0.0 added then removed there, other
	// bumped; merged with the first parent an empty commit on main.
	base := cs[len(cs)-1]
	pk("packs/app-3", "app", "3.0.0", "")
	commit(t, r, "side: app 3")
	must(t, r.Remove("packs/app-3"))
	pk("packs/other-2.0.0", "other", "2.1.0", "o: 2\n")
	side := commit(t, r, "side: other 2.1.0")
	main := plumbCommit(t, r, base, []string{base}, "main: empty")
	cs = append(cs, main, plumbCommit(t, r, side, []string{main, side}, "Merge pull request"))
	pk("packs/app-1.0", "app", "1.0", "a: 1\n") // the very tree of "one"
	c("ten: app 1.0 back as it was")
	return r, cs
}

// plumbCommit writes a commit of treeOf's tree with parents and moves
// main to it: go-git's work tree cannot merge.
func plumbCommit(t *testing.T, r *gitfixture.Repo, treeOf string, parents []string, msg string) string {
	t.Helper()
	g := r.Git()
	tc, err := g.CommitObject(plumbing.NewHash(treeOf))
	must(t, err)
	sig := object.Signature{Name: "packgen test", Email: "test@packgen.invalid", When: r.Now}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tc.TreeHash}
	for _, p := range parents {
		c.ParentHashes = append(c.ParentHashes, plumbing.NewHash(p))
	}
	obj := g.Storer.NewEncodedObject()
	must(t, c.Encode(obj))
	h, err := g.Storer.SetEncodedObject(obj)
	must(t, err)
	must(t, g.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), h)))
	r.Now = r.Now.Add(time.Minute)
	return h.String()
}

// sameAsReleases checks that ReleasesOf gives, for each set of ids,
// what Releases gives with the same options, or fails alike.
func sameAsReleases(t *testing.T, dir string, o Options, idSets ...[]string) {
	t.Helper()
	full, ferr := openRepo(t, dir).Releases(context.Background(), o)
	repo := openRepo(t, dir) // its memo of the ref shared, as validate shares it
	for _, ids := range idSets {
		sameAs(t, repo, o, full, ferr, ids)
	}
}

func sameAs(t *testing.T, repo *Repo, o Options, full *Result, ferr error, ids []string) {
	t.Helper()
	got, gerr := repo.ReleasesOf(context.Background(), o, ids)
	if errors.Is(ferr, ErrDuplicate) && gerr == nil {
		// Only the ids asked for are looked for twice at the ref.
		at, err := repo.PackIDs(cmp.Or(o.Ref, "HEAD"), o.PacksDir)
		must(t, err)
		n := map[string]int{}
		for _, id := range at {
			n[id]++
		}
		for _, id := range ids {
			if n[id] > 1 {
				t.Fatalf("%+v: %s is defined twice at the ref: ReleasesOf gave no error (Releases: %v)", o, id, ferr)
			}
		}
		return
	}
	if ferr != nil || gerr != nil {
		if ferr == nil || gerr == nil || errors.Is(ferr, ErrDuplicate) != errors.Is(gerr, ErrDuplicate) || errors.Is(ferr, ErrShallow) != errors.Is(gerr, ErrShallow) {
			t.Fatalf("%+v: Releases: %v; ReleasesOf: %v", o, ferr, gerr)
		}
		return
	}
	want := map[string]Release{}
	for _, r := range full.Releases {
		if id := meta.ReleaseID(r.Name, r.Version); r.Name != "" && slices.Contains(ids, id) {
			want[id] = r
		}
	}
	show := func(r Release) string {
		return fmt.Sprintf("%s@%s dir=%s commit=%s time=%s tree=%s content=%s:%s", r.Name, r.Version, r.Dir, r.Commit, r.Time, r.TreeHash, r.ContentCommit, r.ContentDir)
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("%+v: %s missing; Releases: %s", o, id, show(w))
			continue
		}
		if show(g) != show(w) {
			t.Errorf("%+v: %s\n got  %s\n want %s", o, id, show(g), show(w))
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%+v: %s found (%s), Releases has none", o, id, show(g))
		}
	}
}

// everID lists every name@version on dir's first-parent history, with
// ids no commit ever held.
func everID(t *testing.T, dir string, extra ...string) []string {
	t.Helper()
	res, err := openRepo(t, dir).Releases(context.Background(), Options{History: true})
	must(t, err)
	ids := extra
	for _, r := range res.Releases {
		if r.Name != "" {
			ids = append(ids, meta.ReleaseID(r.Name, r.Version))
		}
	}
	return ids
}

// TestReleasesOfMessyHistory compares ReleasesOf with Releases at every
// first-parent commit of a messy history, with history, without, and
// from a Since, for every id history ever held and some it never did.
func TestReleasesOfMessyHistory(t *testing.T) {
	r, cs := messyHistory(t)
	ids := everID(t, r.Dir, "app@3.0.0", "app@9.9.9", "nested@1.0.0", "grp@1.0.0", "junk@1.0.0", "Bad Name@1.0.0", "nope", meta.ReleaseID("app", "v1.1"))
	for _, want := range []string{"app@1.0.0", "web@1.0.0", "twin@1.0.0", "dup@1.0.0", "other@2.1.0"} {
		if !slices.Contains(ids, want) {
			t.Fatalf("the fixture lost %s: %v", want, ids)
		}
	}
	for i, ref := range cs {
		sets := [][]string{ids}
		if i == len(cs)-1 || i == 5 {
			// One id at a time stops early: the same answer.
			for _, id := range ids {
				sets = append(sets, []string{id})
			}
		}
		sameAsReleases(t, r.Dir, Options{Ref: ref, PacksDir: "packs", History: true}, sets...)
		if i%3 == 0 || i == len(cs)-1 {
			sameAsReleases(t, r.Dir, Options{Ref: ref, PacksDir: "packs/", History: false}, ids)
			sameAsReleases(t, r.Dir, Options{Ref: ref, History: true}, ids) // the whole tree
			sameAsReleases(t, r.Dir, Options{Ref: ref, PacksDir: "packs", History: true, Since: cs[min(i, 2)]}, ids)
		}
	}
	// Spot checks of what the comparison rests on.
	got, err := openRepo(t, r.Dir).ReleasesOf(context.Background(), Options{PacksDir: "packs", History: true}, []string{"app@1.0.0", "web@1.0.0", "twin@1.0.0", "app@3.0.0"})
	must(t, err)
	for id, want := range map[string][2]string{
		"app@1.0.0":  {cs[0], "packs/app-1.0"}, // back as it was at "one"
		"web@1.0.0":  {cs[0], "packs/web"},     // reverted: the oldest commit with its tree
		"twin@1.0.0": {cs[0], "packs/tw-b"},    // git's tree order: "tw-b/" < "tw/"
	} {
		if g := got[id]; g.ContentCommit != want[0] || g.ContentDir != want[1] {
			t.Errorf("%s: content %s:%s, want %s:%s", id, g.ContentCommit, g.ContentDir, want[0], want[1])
		}
	}
	if _, ok := got["app@3.0.0"]; ok {
		t.Error("app@3.0.0 was only on a merged branch, not on the first-parent history")
	}
	// An id two directories define at the ref is refused, as Releases
	// refuses it; one they defined in a past commit is not.
	_, err = openRepo(t, r.Dir).ReleasesOf(context.Background(), Options{Ref: cs[3], PacksDir: "packs", History: true}, []string{"dup@1.0.0"})
	if !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), "packs/dup-x and packs/dup-y") {
		t.Fatalf("duplicate at the ref: got %v", err)
	}
	if _, err = openRepo(t, r.Dir).ReleasesOf(context.Background(), Options{Ref: cs[4], PacksDir: "packs", History: true}, []string{"dup@1.0.0"}); err != nil {
		t.Fatalf("duplicate in the past: %v", err)
	}
}

// TestReleasesOfSynth compares on a packed synthetic repository whose
// versions are bumped in place, as the bench repository's are.
func TestReleasesOfSynth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	res, err := synth.Generate(dir, synth.Full(12, 4, 0, 5, true))
	must(t, err)
	ids := everID(t, dir, meta.ReleaseID(synth.Name(3), "1.9"), meta.ReleaseID(synth.Name(99), "1.0.0"))
	sameAsReleases(t, dir, Options{PacksDir: "packs", History: true}, ids)
	sameAsReleases(t, dir, Options{Ref: "HEAD~1", PacksDir: "packs", History: true}, ids)
	sameAsReleases(t, dir, Options{PacksDir: "packs", History: true}, []string{meta.ReleaseID(synth.Name(3), synth.Version(0))})
	if res.Releases != 48 {
		t.Fatalf("synth: %d releases", res.Releases)
	}
}

// TestReleasesOfShallow: history cannot be read from a shallow clone.
func TestReleasesOfShallow(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/app-1.0", "app", "1.0")
	commit(t, r, "one")
	must(t, r.Remove("packs/app-1.0"))
	commit(t, r, "two")
	writePack(t, r, "packs/b", "bee", "1.0.0")
	commit(t, r, "three")
	clone := filepath.Join(t.TempDir(), "clone")
	testutil.Git(t, "", "clone", "-q", "--depth", "2", "file://"+r.Dir, clone)
	_, err := openRepo(t, clone).ReleasesOf(context.Background(), Options{PacksDir: "packs", History: true}, []string{"app@1.0.0"})
	if !errors.Is(err, ErrShallow) {
		t.Fatalf("got %v, want ErrShallow", err)
	}
	if _, err := openRepo(t, clone).ReleasesOf(context.Background(), Options{PacksDir: "packs"}, []string{"app@1.0.0"}); err != nil {
		t.Fatalf("without history: %v", err)
	}
}

// TestReleasesOfCorrupt: a damaged pack.json or tree the walk reads in
// history fails it with ErrCorruptObject naming the object; it is never
// skipped.
func TestReleasesOfCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name, rev string
		content   func(t *testing.T, dir string) []byte
	}{
		{"pack.json", "HEAD~2:packs/app-1.0/pack.json", func(*testing.T, string) []byte {
			return []byte(`{"name": "app", "version": "9.9.9", "layer": "addon"}`)
		}},
		{"pack.json not naming the pack", "HEAD~2:packs/b/pack.json", func(*testing.T, string) []byte {
			return []byte(`{"name": "zzz", "version": "1.0.0", "layer": "addon"}`)
		}},
		{"tree", "HEAD~2:packs/app-1.0", func(t *testing.T, dir string) []byte {
			return testutil.Git(t, dir, "cat-file", "tree", "HEAD:packs/b")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			writePack(t, r, "packs/app-1.0", "app", "1.0")
			writePack(t, r, "packs/b", "bee", "1.0.0")
			commit(t, r, "one")
			must(t, r.Remove("packs/app-1.0"))
			writePack(t, r, "packs/b", "bee", "1.1.0")
			commit(t, r, "two")
			must(t, r.Write("README.md", []byte("x\n")))
			commit(t, r, "three")
			id := testutil.CorruptLoose(t, r.Dir, tc.rev, tc.content(t, r.Dir))
			_, err := openRepo(t, r.Dir).ReleasesOf(context.Background(), Options{PacksDir: "packs", History: true}, []string{"app@2.0.0"})
			if !errors.Is(err, ErrCorruptObject) || !strings.Contains(err.Error(), id) {
				t.Fatalf("got %v, want ErrCorruptObject naming %s", err, id)
			}
		})
	}
}

// TestNameFilterSound: a pack.json ReleasesOf does not parse (its bytes
// hold neither the wanted name quoted nor an escape) is one the build's
// parser gives no release of that name; the tricky spellings are parsed.
func TestNameFilterSound(t *testing.T) {
	for _, tc := range []struct {
		data  string
		parse bool // mayName must say so
	}{
		{`{"name": "app", "version": "1.0.0", "layer": "addon"}`, true},
		{"\ufeff{\"name\":\"app\",\"version\":\"1.0\",\"layer\":\"addon\"}", true},
		{`{"name": "\u0061pp", "version": "1.0.0", "layer": "addon"}`, true}, // an escape
		{`{"name": "ap\/p", "version": "1.0.0", "layer": "addon"}`, true},
		{`{"name": "other", "version": "1.0.0", "layer": "addon", "x": "app"}`, true},
		{`{"name": "other", "version": "1.0.0", "layer": "addon", "app": 1}`, true},
		{`{"name": "other", "version": "1.0.0", "layer": "addon"}`, false},
		{`{"name": "apps", "version": "1.0.0", "layer": "addon"}`, false},
		{`{"Name": "APP", "version": "1.0.0", "layer": "addon"}`, false},
		{`{"name": "app ", "version": "1.0.0", "layer": "addon"}`, false},
		{`{"name": ["app"], "version": "1.0.0"}`, true},
		{`not json "app"`, true},
	} {
		w := newIDWalk(&Repo{}, "packs", []string{"app@1.0.0"})
		if got := w.names.mayName([]byte(tc.data)); got != tc.parse {
			t.Errorf("mayName(%s) = %v, want %v", tc.data, got, tc.parse)
		}
		if mi := parseManifest("pack.json", []byte(tc.data)); mi.name == "app" && !tc.parse {
			t.Errorf("%s: the build reads app@%s, the filter would skip it", tc.data, mi.version)
		}
	}
}
