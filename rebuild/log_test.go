package rebuild_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/rebuild"
)

// TestCheckLogRepositories replays a signed site's log, and checks its
// releases against git, with repositories that are not quite the
// registry's: each is a failed check (the command exits 1, not 2: the
// audit cannot tell a wrong --repo from a registry built from commits
// its public repository never had, which is what it exists to catch),
// and each says which it is and what to do, without contradicting
// itself (a built commit "not on the history of" itself).
func TestCheckLogRepositories(t *testing.T) {
	tmp := t.TempDir()
	k := testutil.NewKey(t)
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	must(t, err)
	testutil.WritePack(t, r, "packs/hello-0.1.0", "hello", "0.1.0", "addon", "")
	testutil.Commit(t, r, "hello 0.1.0")
	testutil.Git(t, tmp, "clone", "-q", "repo", "early") // fetched before the build
	testutil.WritePack(t, r, "packs/hello-0.2.0", "hello", "0.2.0", "addon", "")
	testutil.Commit(t, r, "hello 0.2.0")
	testutil.Git(t, tmp, "clone", "-q", "--depth", "1", "file://"+r.Dir, "shallow")
	other, err := gitfixture.Init(filepath.Join(tmp, "other"))
	must(t, err)
	must(t, other.Write("README.md", []byte("another repository\n")))
	testutil.Commit(t, other, "another")

	bld := func(out, prev string) string {
		out = filepath.Join(tmp, out)
		_, err := build.Run(context.Background(), build.Options{Repo: r.Dir, Out: out, Previous: prev, History: true, Registry: "t", RepoURL: "https://git.example/acme/packs", Signer: k.Signer, Trust: k.Verifier, Clock: func() time.Time { return gitfixture.Epoch }})
		must(t, err)
		return out
	}
	site := bld("site", "")
	// A release published from a side branch, kept by a later build of
	// main: its commit is in the repository, off main's first-parent line.
	testutil.Git(t, r.Dir, "checkout", "-q", "-b", "side")
	testutil.WritePack(t, r, "packs/side-1.0.0", "side", "1.0.0", "addon", "")
	testutil.Commit(t, r, "side 1.0.0")
	sideSite := bld("side-site", "")
	testutil.Git(t, r.Dir, "checkout", "-q", "main")
	merged := bld("merged", sideSite)

	// A problem is the release (PACK@VERSION) or file it is of, then key
	// words of its message.
	type problem []string
	for _, tc := range []struct {
		name, site, repo string
		log, check       []problem
	}{
		{"the registry's repository", site, r.Dir, nil, nil},
		{"another repository", site, other.Dir,
			[]problem{{"index.json", "built from commit", "of https://git.example/acme/packs", "does not contain that commit", "another repository", "git fetch"}},
			[]problem{{"index.json", "built from commit"}, {"hello@0.1.0", "does not contain its commit", "another repository"}, {"hello@0.2.0", "does not contain its commit"}}},
		{"a clone fetched before the build", site, filepath.Join(tmp, "early"),
			[]problem{{"index.json", "does not contain that commit", "(origin " + r.Dir + ")", "fetched before the build"}},
			[]problem{{"index.json", "built from commit"}, {"hello@0.2.0", "does not contain its commit", "git fetch"}}},
		{"a shallow clone", site, filepath.Join(tmp, "shallow"),
			[]problem{{"index.json", "first-parent history of the built commit", "cut short", "git fetch --unshallow"}},
			[]problem{{"hello@0.1.0", "does not contain its commit", "shallow: git fetch --unshallow"}}},
		{"a release from another branch", merged, r.Dir,
			[]problem{{"side@1.0.0", "is in " + r.Dir + " but not on the first-parent history of the built commit", "built from ref HEAD", "another branch"}},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := transport.New(tc.site, "", time.Minute, 0)
			must(t, err)
			s, err := rebuild.Open(context.Background(), tr, tc.site, nil, tc.repo)
			must(t, err)
			lg, err := s.CheckLog(context.Background())
			must(t, err)
			rb, err := s.Check(context.Background())
			must(t, err)
			for _, c := range []struct {
				what string
				got  []rebuild.Problem
				want []problem
			}{{"CheckLog", lg.Problems, tc.log}, {"Check", rb.Problems, tc.check}} {
				if len(c.got) != len(c.want) {
					t.Errorf("%s: %d problems, want %d: %+v", c.what, len(c.got), len(c.want), c.got)
					continue
				}
				for i, p := range c.got {
					who := p.Path
					if p.Pack != "" {
						who = p.Pack + "@" + p.Version
					}
					if who != c.want[i][0] {
						t.Errorf("%s: problem %d is of %s, want %s: %s", c.what, i, who, c.want[i][0], p.Msg)
					}
					for _, w := range c.want[i][1:] {
						if !strings.Contains(p.Msg, w) {
							t.Errorf("%s: problem of %s lacks %q: %s", c.what, who, w, p.Msg)
						}
					}
					// The message that contradicted itself: the built
					// commit "not on the history of" itself.
					if strings.Contains(p.Msg, "commit "+lg.Commit[:12]+" is not on") {
						t.Errorf("%s: %s", c.what, p.Msg)
					}
				}
			}
		})
	}
}
