package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/pack"
)

// openFirst walks the repository at dir and opens its first release's
// tree; the caller closes it with done.
func openFirst(t *testing.T, dir string) (fsys fs.FS, done func()) {
	t.Helper()
	repo, err := Open(dir)
	must(t, err)
	res, err := repo.Releases(context.Background(), Options{})
	must(t, err)
	fsys, done, err = res.Releases[0].Open()
	must(t, err)
	return fsys, done
}

// newRepo makes an empty git repository in a temporary directory.
func newRepo(t testing.TB) *gitfixture.Repo {
	t.Helper()
	r, err := gitfixture.Init(t.TempDir())
	must(t, err)
	return r
}

// openRepo opens the git repository at dir.
func openRepo(t testing.TB, dir string) *Repo {
	t.Helper()
	repo, err := Open(dir)
	must(t, err)
	return repo
}

func writePack(t *testing.T, r *gitfixture.Repo, dir, name, version string) {
	t.Helper()
	testutil.WritePack(t, r, dir, name, version, "cni", "")
}

var (
	must   = testutil.Must
	commit = testutil.Commit
)

func ids(res *Result) string {
	var s []string
	for _, r := range res.Releases {
		s = append(s, r.Name+"@"+r.Version+"="+r.Dir)
	}
	return strings.Join(s, " ")
}

func releases(t *testing.T, dir string, o Options) *Result {
	t.Helper()
	repo, err := Open(dir)
	must(t, err)
	res, err := repo.Releases(context.Background(), o)
	must(t, err)
	return res
}

func TestReleases(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/calico", "calico", "1.0.0")
	writePack(t, r, "packs/old", "old", "0.1.0")
	must(t, r.Write("README.md", []byte("# packs\n")))
	writePack(t, r, "other/x", "x", "1.0.0")
	c1 := commit(t, r, "one")
	must(t, r.Tag("v1"))
	writePack(t, r, "packs/calico", "calico", "1.1.0")
	writePack(t, r, "packs/calico-2", "calico", "2.0.0")
	must(t, r.Remove("packs/old"))
	c2 := commit(t, r, "two")

	res := releases(t, r.Dir, Options{History: true})
	if got := ids(res); got != "calico@1.0.0=packs/calico calico@1.1.0=packs/calico calico@2.0.0=packs/calico-2 old@0.1.0=packs/old x@1.0.0=other/x" {
		t.Fatalf("history: %s", got)
	}
	if res.Commit != c2 || res.Releases[0].Commit != c1 || res.Releases[1].Commit != c2 {
		t.Errorf("commits: %s %s %s", res.Commit[:8], res.Releases[0].Commit[:8], res.Releases[1].Commit[:8])
	}
	if res.Releases[0].TreeHash == res.Releases[1].TreeHash {
		t.Error("different content, same tree hash")
	}
	if got := ids(releases(t, r.Dir, Options{})); got != "calico@1.1.0=packs/calico calico@2.0.0=packs/calico-2 x@1.0.0=other/x" {
		t.Errorf("no history: %s", got)
	}
	if got := ids(releases(t, r.Dir, Options{PacksDir: "packs/", History: true})); strings.Contains(got, "x@") {
		t.Errorf("packs dir not honoured: %s", got)
	}
	if got := ids(releases(t, r.Dir, Options{Ref: "v1", History: true})); got != "calico@1.0.0=packs/calico old@0.1.0=packs/old x@1.0.0=other/x" {
		t.Errorf("tag: %s", got)
	}
	if got := ids(releases(t, r.Dir, Options{Ref: c1[:10]})); !strings.Contains(got, "calico@1.0.0") {
		t.Errorf("short hash: %s", got)
	}
	// Found hears of every release, once, newest commit first, before
	// Releases returns; the keyless ones of the ref too.
	must(t, r.Write("packs/broken/pack.json", []byte("{")))
	commit(t, r, "three")
	var heard []string
	res = releases(t, r.Dir, Options{History: true, Found: func(rel Release) { heard = append(heard, rel.Name+"@"+rel.Version+"="+rel.Dir) }})
	if len(heard) != len(res.Releases) || len(heard) != 6 {
		t.Fatalf("Found heard %v, Releases returned %s", heard, ids(res))
	}
	sort.Strings(heard)
	if got := strings.Join(heard, " "); got != "@=packs/broken calico@1.0.0=packs/calico calico@1.1.0=packs/calico calico@2.0.0=packs/calico-2 old@0.1.0=packs/old x@1.0.0=other/x" {
		t.Errorf("Found heard %s", got)
	}
	// Opening from a subdirectory finds the repository.
	if got := ids(releases(t, filepath.Join(r.Dir, "packs"), Options{})); !strings.Contains(got, "calico@2.0.0") {
		t.Errorf("subdir: %s", got)
	}
}

func TestTreeFSMatchesDirFS(t *testing.T) {
	r := newRepo(t)
	dir := r.Dir
	writePack(t, r, "p", "calico", "1.0.0")
	must(t, r.Write("p/manifests/a.yaml", []byte("apiVersion: v1\nkind: ConfigMap\n")))
	must(t, r.Write("p/bin/run.sh", []byte("#!/bin/sh\n")))
	must(t, os.Chmod(filepath.Join(dir, "p/bin/run.sh"), 0o755))
	must(t, os.Symlink("../values.yaml", filepath.Join(dir, "p/bin/values")))
	writePack(t, r, "q", "other", "1.0.0")
	must(t, os.Symlink("../../outside", filepath.Join(dir, "q/passwd")))
	commit(t, r, "one")

	res := releases(t, dir, Options{})
	for _, rel := range res.Releases {
		fsys, done, err := rel.Open()
		must(t, err)
		fromGit, gitProbs := pack.Load(fsys, ".", pack.Options{Prefix: rel.Dir})
		fromDisk, diskProbs := pack.Load(os.DirFS(filepath.Join(dir, rel.Dir)), ".", pack.Options{Prefix: rel.Dir})
		done()
		if !reflect.DeepEqual(fromGit.Files, fromDisk.Files) {
			t.Errorf("files differ:\ngit  %+v\ndisk %+v", fromGit.Files, fromDisk.Files)
		}
		if !reflect.DeepEqual(gitProbs, diskProbs) {
			t.Errorf("problems differ:\ngit  %v\ndisk %v", gitProbs, diskProbs)
		}
		if rel.Name == "other" && !strings.Contains(gitProbs.Error(), `symlink to "../../outside" points outside the pack`) {
			t.Errorf("escaping symlink not reported from git: %v", gitProbs)
		}
	}
	fsys, done, err := res.Releases[0].Open()
	must(t, err)
	defer done()
	if err := fstest.TestFS(fsys, "pack.json", "values.yaml", "manifests/a.yaml", "bin/run.sh", "bin/values"); err != nil {
		t.Error(err)
	}
}

func TestDuplicateVersionNamesBothDirs(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "a", "calico", "1.0.0")
	writePack(t, r, "b", "calico", "1.0")
	commit(t, r, "dup")
	repo := openRepo(t, r.Dir)
	_, err := repo.Releases(context.Background(), Options{History: true})
	if err == nil || !strings.Contains(err.Error(), "a and b") || !strings.Contains(err.Error(), "calico@1.0.0") {
		t.Fatalf("got %v", err)
	}
}

func TestShallowAndEmptyAndNotARepo(t *testing.T) {
	r := newRepo(t)
	repo := openRepo(t, r.Dir)
	if _, err := repo.Releases(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "no commits yet") {
		t.Errorf("empty repo: %v", err)
	}
	writePack(t, r, "a", "calico", "1.0.0")
	c1 := commit(t, r, "one")
	writePack(t, r, "a", "calico", "1.1.0")
	commit(t, r, "two")
	must(t, os.WriteFile(filepath.Join(r.Dir, ".git", "shallow"), []byte(c1+"\n"), 0o644))
	repo = openRepo(t, r.Dir)
	_, err := repo.Releases(context.Background(), Options{History: true})
	if !errors.Is(err, ErrShallow) || !strings.Contains(err.Error(), "--history=false") {
		t.Errorf("shallow: %v", err)
	}
	res, err := repo.Releases(context.Background(), Options{History: false})
	must(t, err)
	if ids(res) != "calico@1.1.0=a" {
		t.Errorf("shallow without history: %s", ids(res))
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRepo) || !strings.Contains(err.Error(), "not inside a git repository") {
		t.Errorf("not a repo: %v", err)
	}
}

func TestDirty(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0")
	commit(t, r, "one")
	must(t, r.Write("packs/a/values.yaml", []byte("changed: true\n")))
	must(t, r.Write("elsewhere.txt", []byte("x")))
	repo := openRepo(t, r.Dir)
	d, err := repo.Dirty("packs")
	must(t, err)
	if strings.Join(d, ",") != "packs/a/values.yaml" {
		t.Errorf("dirty: %v", d)
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"git@github.com:acme/packs.git":              "https://github.com/acme/packs",
		"https://user:tok@github.com/acme/packs.git": "https://github.com/acme/packs",
		"https://gitlab.com/acme/packs":              "https://gitlab.com/acme/packs",
		"/srv/git/packs":                             "/srv/git/packs",
	} {
		if got := NormalizeURL(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// BenchmarkHistory walks a repository of 300 packs and 200 commits that
// each bump a few packs.
func BenchmarkHistory(b *testing.B) {
	r := newRepo(b)
	for i := 0; i < 300; i++ {
		r.Write(fmt.Sprintf("packs/p%03d/pack.json", i), []byte(fmt.Sprintf(`{"name":"p%03d","version":"1.0.0","layer":"cni"}`, i)))
		r.Write(fmt.Sprintf("packs/p%03d/values.yaml", i), []byte("a: 1\n"))
	}
	r.Commit("init")
	for c := 1; c < 200; c++ {
		for k := 0; k < 3; k++ {
			i := (c*7 + k*101) % 300
			r.Write(fmt.Sprintf("packs/p%03d/pack.json", i), []byte(fmt.Sprintf(`{"name":"p%03d","version":"1.0.%d","layer":"cni"}`, i, c)))
		}
		r.Commit(fmt.Sprint("c", c))
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		repo, err := Open(r.Dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := repo.Releases(context.Background(), Options{History: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDropCaches: a build drops git's caches once every release is read
// (they held 30 MB in the benchmark's cold build); the pooled handles go,
// the walk's cached objects go, and a release read afterwards reads the
// same, through a handle opened again.
func TestDropCaches(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0")
	writePack(t, r, "packs/b", "cilium", "1.0.0")
	commit(t, r, "one")
	repo := openRepo(t, r.Dir)
	res, err := repo.Releases(context.Background(), Options{})
	must(t, err)
	read := func() map[string]string {
		out := map[string]string{}
		var dones []func()
		for _, rel := range res.Releases { // both open at once: two handles
			fsys, done, err := rel.Open()
			must(t, err)
			dones = append(dones, done)
			b, err := fs.ReadFile(fsys, "values.yaml")
			must(t, err)
			out[rel.Name] = string(b)
		}
		for _, done := range dones {
			done()
		}
		return out
	}
	before := read()
	if len(repo.handles) != 2 {
		t.Fatalf("%d handles pooled, want 2", len(repo.handles))
	}
	head := plumbing.NewHash(res.Commit)
	if _, ok := repo.objects.Get(head); !ok {
		t.Fatal("the walk's commit is not in git's object cache")
	}
	repo.DropCaches()
	if len(repo.handles) != 0 {
		t.Errorf("%d handles left after DropCaches", len(repo.handles))
	}
	if _, ok := repo.objects.Get(head); ok {
		t.Error("the object cache still holds the walk's commit")
	}
	if after := read(); !reflect.DeepEqual(after, before) || len(after) != 2 {
		t.Errorf("read after DropCaches: %v, want %v", after, before)
	}
	again, err := repo.Releases(context.Background(), Options{})
	must(t, err)
	if ids(again) != ids(res) {
		t.Errorf("walk after DropCaches: %s, want %s", ids(again), ids(res))
	}
}
