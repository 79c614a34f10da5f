package publish

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
)

// snapshot reads every file below dir (.git included), by slash path.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameFiles(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if got, ok := after[k]; !ok || got != v {
			t.Errorf("%s: %s changed or gone (present %v)", what, k, ok)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s: %s written", what, k)
		}
	}
}

// A stranger's report: `publish site . --prune` in the repository the
// site was built from deleted packs/hello-0.1.0/logo.png (uncommitted,
// gone for good). A destination holding pack sources is refused before
// anything is written, and prune never deletes under packs/ a file of a
// name no index lists.
func TestPublishIntoPackSources(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// As `packgen new` lays it out: the directory is NAME-VERSION.
	f.repo.Write("packs/hello-0.1.0/pack.json", []byte(`{"name": "hello", "version": "0.1.0", "layer": "cni", "displayName": "x", "cloudTypes": ["all"]}`))
	f.repo.Write("packs/hello-0.1.0/values.yaml", []byte("a: 1\n"))
	site := f.build(t)
	logo := []byte("\x89PNG the user's logo, not committed")
	if err := os.WriteFile(filepath.Join(f.repo.Dir, "packs", "hello-0.1.0", "logo.png"), logo, 0o644); err != nil {
		t.Fatal(err)
	}
	// A registry published there by an older packgen: its index.json is
	// what made prune take the pack's logo for a stale catalogue file.
	old := filepath.Join(t.TempDir(), "old")
	if _, err := Publish(ctx, site, DirTarget{Dir: old}, Options{}); err != nil {
		t.Fatal(err)
	}
	withIndex := t.TempDir()
	if err := os.CopyFS(withIndex, os.DirFS(f.repo.Dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(withIndex, os.DirFS(old)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, dir, found string }{
		{"the repository", f.repo.Dir, "packs/hello-0.1.0/pack.json"},
		{"its packs dir", filepath.Join(f.repo.Dir, "packs"), "hello-0.1.0/pack.json"},
		{"one pack", filepath.Join(f.repo.Dir, "packs", "hello-0.1.0"), "pack.json"},
		{"a repository a registry was published into", withIndex, "packs/hello-0.1.0/pack.json"},
	} {
		for _, o := range []Options{{}, {Prune: true}, {Prune: true, Force: true}, {DryRun: true}} {
			before := snapshot(t, c.dir)
			_, err := Publish(ctx, site, DirTarget{Dir: c.dir}, o)
			if !errors.Is(err, ErrPackSources) || !errors.Is(err, ErrDestination) {
				t.Fatalf("%s %+v: %v", c.name, o, err)
			}
			for _, want := range []string{c.dir + " holds pack sources (" + c.found + ",", "Nothing was written", "directory of its own"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %q lacks %q", c.name, err, want)
				}
			}
			sameFiles(t, c.name, before, snapshot(t, c.dir))
		}
	}

	// A gh-pages work tree (git, no packs) is a fine destination.
	pages := filepath.Join(t.TempDir(), "pages")
	r, err := gitfixture.Init(pages)
	if err != nil {
		t.Fatal(err)
	}
	r.Write("README.md", []byte("pages\n"))
	if _, err := r.Commit("pages"); err != nil {
		t.Fatal(err)
	}
	if res, err := Publish(ctx, site, DirTarget{Dir: pages}, Options{Prune: true}); err != nil || len(res.Uploaded) == 0 {
		t.Fatalf("gh-pages work tree: %v", err)
	}

	// A web root whose owner keeps pages under packs/ of names no index
	// lists: prune, once a registry is live there, leaves them.
	www := filepath.Join(t.TempDir(), "www")
	if _, err := Publish(ctx, site, DirTarget{Dir: www}, Options{}); err != nil {
		t.Fatal(err)
	}
	theirs := map[string]string{
		"packs/hello-0.1.0/logo.png":   string(logo),
		"packs/hello-0.1.0/index.html": "<p>our page</p>",
		"packs/team/feed.xml":          "<feed/>",
		"packs/team/shards/x.json":     "{}",
		"index/notes.json":             "{}",
		"signatures/team.sig":          "sig",
	}
	for k, v := range theirs {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(www, k)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(www, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []Options{{Prune: true, DryRun: true}, {Prune: true}} {
		res, err := Publish(ctx, site, DirTarget{Dir: www}, o)
		if err != nil || len(res.Deleted) != 0 || len(res.Kept) != len(theirs) {
			t.Errorf("%+v: %v: deleted %v, kept %v", o, err, res.Deleted, res.Kept)
		}
	}
	after := snapshot(t, www)
	for k, v := range theirs {
		if after[k] != v {
			t.Errorf("%s after prune: %q", k, after[k])
		}
	}
	if after[index.RootFile] == "" {
		t.Error("the registry is gone")
	}
}

// TestCheckSource: a registry URL as the site goes only to a destination
// that reads one (oci://, promotion); to a tree of files it is refused
// as the user's mistake (ErrSource, also ErrDestination), saying what
// exists instead. A stranger's report: oci://… to ./mirror was read as a
// directory without index.json, with advice to build into the registry.
func TestCheckSource(t *testing.T) {
	for _, c := range []struct {
		site, dest string
		want       []string // nil: accepted
	}{
		{"site", "www", nil},
		{"site", "oci://127.0.0.1:5000/acme", nil},
		{"file:///srv/site", "s3://bucket/registry", nil},
		{"oci://127.0.0.1:5031/acme", "oci://127.0.0.1:5032/prod", nil},
		{"https://packs.example/registry", "oci://127.0.0.1:5032/prod", nil},
		{"oci://127.0.0.1:5031/acme", "./mirror", []string{"SITE oci://127.0.0.1:5031/acme is a registry URL (oci://)", "./mirror is a tree of files", "only to oci://REGISTRY/BASE", "`packgen build --previous oci://127.0.0.1:5031/acme --out site && packgen publish site ./mirror`"}},
		{"oci://127.0.0.1:5031/acme", "s3://bucket/mirror", []string{"s3://bucket/mirror is a tree of files"}},
		{"https://packs.example/registry", "/srv/www", []string{"is a registry URL (https://)"}},
		{"s3:/bucket", "/srv/www", []string{"SITE s3:/bucket is a registry URL"}},
	} {
		err := CheckSource(c.site, c.dest)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s → %s: %v", c.site, c.dest, err)
			}
			continue
		}
		if !errors.Is(err, ErrSource) || !errors.Is(err, ErrDestination) {
			t.Fatalf("%s → %s: %v", c.site, c.dest, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s → %s: %q lacks %q", c.site, c.dest, err, w)
			}
		}
		// To refuses it too, before reading anything.
		if _, err := To(context.Background(), c.site, c.dest, DestOptions{}, Options{}); !errors.Is(err, ErrSource) {
			t.Errorf("To %s → %s: %v", c.site, c.dest, err)
		}
	}
}
