package rebuild_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/rebuild"
)

// TestCheckRetired: the rebuild check agrees with a build that retired
// releases from packs/retired.yaml, and finds an index whose retirements
// are not the file's at the built commit (dropped, added, altered), or
// the file looked for in the wrong packs directory.
func TestCheckRetired(t *testing.T) {
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	must(t, err)
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		testutil.WriteRetiredPack(t, r, "calico", v, "")
	}
	must(t, r.Write("packs/retired.yaml", []byte("calico:\n  1.1.0: {state: deleted, reason: CVE-1}\n")))
	testutil.Commit(t, r, "calico, 1.1.0 retired")
	site := filepath.Join(tmp, "site")
	_, err = build.Run(context.Background(), build.Options{Repo: r.Dir, PacksDir: "packs", Out: site, History: true, Registry: "test", GeneratedAt: time.Now()})
	must(t, err)
	check := func(packsDir string) string {
		t.Helper()
		tr, err := transport.New(site, "", time.Minute, 0)
		must(t, err)
		s, err := rebuild.Open(context.Background(), tr, site, nil, r.Dir)
		must(t, err)
		s.PacksDir = packsDir
		rep, err := s.Check(context.Background())
		must(t, err)
		var out []string
		for _, p := range rep.Problems {
			out = append(out, p.Pack+"@"+p.Version+": "+p.Msg)
		}
		return strings.Join(out, "\n")
	}
	if got := check("packs"); got != "" {
		t.Fatalf("the build's own site: %s", got)
	}
	if got := check(""); !strings.Contains(got, "calico@1.1.0: the index records it retired (deleted: CVE-1), retired.yaml at the built commit") || !strings.Contains(got, "give verify --packs-dir") {
		t.Errorf("wrong packs dir: %s", got)
	}
	for _, tc := range []struct {
		name string
		edit func(rs []index.Release)
		want string
	}{
		{"dropped", func(rs []index.Release) { rs[1].Retired = nil }, "calico@1.1.0: the index records it not retired, packs/retired.yaml at the built commit"},
		{"altered", func(rs []index.Release) { rs[1].Retired.State = "deprecated" }, "calico@1.1.0: the index records it retired (deprecated: CVE-1), packs/retired.yaml at the built commit"},
		{"added", func(rs []index.Release) { rs[2].Retired = &index.Retirement{State: "deleted", Reason: "x"} }, "calico@1.2.0: the index records it retired (deleted: x), packs/retired.yaml at the built commit"},
	} {
		testutil.ForgeShard(t, site, "calico", func(s *index.Shard) { tc.edit(s.Releases) })
		if got := check("packs"); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		testutil.ForgeShard(t, site, "calico", func(s *index.Shard) {
			for i := range s.Releases {
				s.Releases[i].Retired = nil
			}
			s.Releases[1].Retired = &index.Retirement{State: "deleted", Reason: "CVE-1"}
		})
	}
}
