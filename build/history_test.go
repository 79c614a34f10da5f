package build

import (
	"path/filepath"
	"strings"
	"testing"
	stdtime "time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/pack/meta"
)

func shardRelease(t *testing.T, res *Result, name, version string) index.Release {
	t.Helper()
	for _, s := range res.Shards {
		for _, rel := range s.Releases {
			if s.Name == name && rel.Version == version {
				return rel
			}
		}
	}
	t.Fatalf("%s@%s not in the index", name, version)
	return index.Release{}
}

// TestBuildPastDuplicateWarnsAndSince: two directories holding one
// version in past commits no longer fail a history build (a warning
// naming the commits), the version is taken from where one directory
// alone defines it, and --since starts the history later.
func TestBuildPastDuplicateWarnsAndSince(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0", "cni", "")
	first := commit(t, r, "calico")
	writePack(t, r, "packs/csi", "aws", "1.0.0", "csi", "")
	writePack(t, r, "packs/addon", "aws", "1.0.0", "addon", "")
	dup := commit(t, r, "two dirs, one version")
	must(t, r.Remove("packs/addon"))
	writePack(t, r, "packs/csi", "aws", "1.1.0", "csi", "")
	commit(t, r, "fixed")

	res := built(t, r.Dir, filepath.Join(tmp, "site"))
	if got := strings.Join(versionsOf(t, res, "aws"), " "); got != "1.1.0" {
		t.Errorf("aws versions %s: 1.0.0 is never defined by one directory alone", got)
	}
	if len(res.Problems) != 1 || res.Problems[0].Severity != meta.SevWarning || !strings.Contains(res.Problems[0].String(), "aws@1.0.0 is defined by more than one directory (packs/addon, packs/csi) in commit "+dup[:12]) {
		t.Errorf("problems: %v", res.Problems)
	}
	if got := shardRelease(t, res, "calico", "1.0.0"); got.Commit != first || !got.Created.Equal(gitfixture.Epoch) {
		t.Errorf("calico@1.0.0: commit %s created %v", got.Commit[:8], got.Created)
	}

	res = built(t, r.Dir, filepath.Join(tmp, "since"), func(o *Options) { o.Since = "main" })
	if len(res.Problems) != 0 || strings.Join(versionsOf(t, res, "aws"), " ") != "1.1.0" {
		t.Errorf("since HEAD: %v %v", res.Problems, versionsOf(t, res, "aws"))
	}
	if got := shardRelease(t, res, "calico", "1.0.0"); !got.Created.Equal(gitfixture.Epoch.Add(2 * 60e9)) {
		t.Errorf("since HEAD, calico created %v: the walk starts at HEAD", got.Created)
	}
	_, err := run(t, r.Dir, filepath.Join(tmp, "bad"), func(o *Options) { o.Since = "nope" })
	if err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("bad --since: %v", err)
	}
}

// TestBuildCreatedIsFirstAppearance: a release's created time is that of
// the commit where its version first appeared, though later commits
// hold it too; the incremental build keeps it.
func TestBuildCreatedIsFirstAppearance(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
	commit(t, r, "calico 3.26.0")
	writePack(t, r, "packs/calico", "calico", "3.27.0", "cni", "")
	added := r.Now
	bump := commit(t, r, "calico 3.27.0")
	must(t, r.Write("README.md", []byte("docs\n")))
	commit(t, r, "readme")
	writePack(t, r, "packs/prom", "prom", "57.0.0", "addon", "")
	commit(t, r, "prom")

	out := filepath.Join(tmp, "site")
	res := built(t, r.Dir, out)
	for _, want := range []struct {
		version string
		created int // minutes after the first commit
	}{{"3.26.0", 0}, {"3.27.0", 1}} {
		rel := shardRelease(t, res, "calico", want.version)
		if !rel.Created.Equal(gitfixture.Epoch.Add(minutes(want.created))) {
			t.Errorf("calico@%s created %v, want %v", want.version, rel.Created, gitfixture.Epoch.Add(minutes(want.created)))
		}
	}
	if rel := shardRelease(t, res, "calico", "3.27.0"); rel.Commit != bump || !rel.Created.Equal(added) {
		t.Errorf("calico@3.27.0: commit %s (want the one that brought it, %s), created %v", rel.Commit[:8], bump[:8], rel.Created)
	}
	// An incremental build after another commit keeps the published time.
	must(t, r.Write("README.md", []byte("more docs\n")))
	commit(t, r, "readme again")
	res = built(t, r.Dir, out)
	if rel := shardRelease(t, res, "calico", "3.27.0"); !rel.Created.Equal(added) {
		t.Errorf("incremental: created %v, want %v", rel.Created, added)
	}
}

func minutes(n int) stdtime.Duration { return stdtime.Duration(n) * stdtime.Minute }
