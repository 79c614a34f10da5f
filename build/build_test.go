package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
)

var (
	packJSON  = testutil.PackJSON
	writePack = testutil.WritePack
	commit    = testutil.Commit
	// siteHashes maps every file of a site to its sha256.
	siteHashes = testutil.FileHashes
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newRepo makes an empty git repository TMP/repo in a new temp dir TMP
// and returns TMP and the repository.
func newRepo(t *testing.T) (string, *gitfixture.Repo) {
	t.Helper()
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	must(t, err)
	return tmp, r
}

// builtCalico commits one calico pack, version at dir, in a new
// repository TMP/repo and builds it into TMP/site (mod as for built); it
// returns TMP, the repository, the commit and the site.
func builtCalico(t *testing.T, dir, version string, mod ...func(*Options)) (tmp string, r *gitfixture.Repo, c, out string) {
	t.Helper()
	tmp, r = newRepo(t)
	writePack(t, r, dir, "calico", version, "cni", "")
	c = commit(t, r, "calico "+version)
	out = filepath.Join(tmp, "site")
	built(t, r.Dir, out, mod...)
	return tmp, r, c, out
}

// skipsOne builds repo into out with SkipInvalid and fails unless the
// build succeeds skipping exactly one pack; it returns the result.
func skipsOne(t *testing.T, repo, out string) *Result {
	t.Helper()
	res := built(t, repo, out, func(o *Options) { o.SkipInvalid = true })
	if res.Skipped != 1 {
		t.Errorf("skip-invalid: skipped %d, want 1", res.Skipped)
	}
	return res
}

func versionsOf(t *testing.T, res *Result, name string) []string {
	t.Helper()
	for _, s := range res.Shards {
		if s.Name == name {
			return s.Versions()
		}
	}
	return nil
}

func run(t *testing.T, repo, out string, mod ...func(*Options)) (*Result, error) {
	t.Helper()
	// Fixtures are dated by their commits (gitfixture.Epoch, 2024) and
	// expire a year on: their previous builds are judged then.
	o := Options{Repo: repo, Out: out, History: true, Registry: "test", Clock: func() time.Time { return gitfixture.Epoch }}
	for _, m := range mod {
		m(&o)
	}
	return Run(context.Background(), o)
}

// built is run for a build that must succeed.
func built(t *testing.T, repo, out string, mod ...func(*Options)) *Result {
	t.Helper()
	res, err := run(t, repo, out, mod...)
	must(t, err)
	return res
}

func TestBuildHistoryAndIncremental(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
	writePack(t, r, "packs/prom-57.0.0", "prom", "57.0.0", "addon", "")
	writePack(t, r, "packs/old-1.0.0", "old", "1.0.0", "addon", "")
	c1 := commit(t, r, "one")
	// Bump calico in place, add a sibling version of prom, remove old.
	writePack(t, r, "packs/calico", "calico", "3.27.0", "cni", "x: 1\n")
	writePack(t, r, "packs/prom-58.0.0", "prom", "58.0.0", "addon", "")
	must(t, r.Remove("packs/old-1.0.0"))
	c2 := commit(t, r, "two")

	out := filepath.Join(tmp, "site")
	res := built(t, r.Dir, out)
	if got := strings.Join(versionsOf(t, res, "calico"), ","); got != "3.26.0,3.27.0" {
		t.Errorf("calico versions = %s", got)
	}
	if got := strings.Join(versionsOf(t, res, "prom"), ","); got != "57.0.0,58.0.0" {
		t.Errorf("prom versions = %s", got)
	}
	if got := strings.Join(versionsOf(t, res, "old"), ","); got != "1.0.0" {
		t.Errorf("removed pack must stay published, got %q", got)
	}
	if res.Archived != 5 || res.Reused != 0 {
		t.Errorf("archived %d reused %d, want 5 and 0", res.Archived, res.Reused)
	}
	if got := strings.Join(res.Added, ","); got != "calico@3.26.0,calico@3.27.0,old@1.0.0,prom@57.0.0,prom@58.0.0" {
		t.Errorf("added %s", got)
	}
	for _, s := range res.Shards {
		for _, rel := range s.Releases {
			// The commit that brought the content: unchanged releases
			// keep the first, not the newest.
			want := c1
			if (s.Name == "calico" && rel.Version == "3.27.0") || (s.Name == "prom" && rel.Version == "58.0.0") {
				want = c2
			}
			if rel.Commit != want {
				t.Errorf("%s@%s from commit %s, want %s", s.Name, rel.Version, rel.Commit[:8], want[:8])
			}
			if _, err := os.Stat(filepath.Join(out, rel.Archive.Path)); err != nil {
				t.Errorf("archive missing: %v", err)
			}
		}
	}
	if res.Root.Source.Commit != c2 || res.Root.Releases != 5 || res.Root.Packs != 3 {
		t.Errorf("root = %+v", res.Root)
	}
	if !res.Unsigned {
		t.Error("a build without key must say it is unsigned")
	}
	before := siteHashes(t, out)

	// A second build of the same commit re-archives nothing and changes no byte.
	res2 := built(t, r.Dir, out)
	if res2.Archived != 0 || res2.Reused != 5 {
		t.Errorf("rebuild archived %d reused %d, want 0 and 5", res2.Archived, res2.Reused)
	}
	if len(res2.Added) != 0 {
		t.Errorf("rebuild added %v", res2.Added)
	}
	if after := siteHashes(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("rebuild of the same commit changed the site")
	}

	// A fresh build elsewhere of the same commit is byte-identical.
	other := filepath.Join(tmp, "site2")
	built(t, r.Dir, other)
	if got := siteHashes(t, other); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Error("two builds of the same commit differ")
	}

	// A build reusing the published site over HTTP re-archives nothing
	// and gives the same bytes.
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()
	viaURL := filepath.Join(tmp, "site3")
	resURL := built(t, r.Dir, viaURL, func(o *Options) { o.Previous = srv.URL })
	if resURL.Archived != 0 || resURL.Reused != 5 {
		t.Errorf("--previous URL: archived %d reused %d", resURL.Archived, resURL.Reused)
	}
	if got := siteHashes(t, viaURL); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Error("build with --previous URL differs")
	}

	// One changed pack: exactly one new archive, serial grows.
	writePack(t, r, "packs/prom-58.0.0", "prom", "58.1.0", "addon", "y: 2\n")
	commit(t, r, "three")
	res3 := built(t, r.Dir, out)
	if res3.Archived != 1 || res3.Reused != 5 {
		t.Errorf("after one change archived %d reused %d, want 1 and 5", res3.Archived, res3.Reused)
	}
	if got := strings.Join(res3.Added, ","); got != "prom@58.1.0" {
		t.Errorf("after one change added %s, want prom@58.1.0", got)
	}
	if res3.Root.Serial <= res.Root.Serial {
		t.Errorf("serial did not grow: %d -> %d", res.Root.Serial, res3.Root.Serial)
	}
	// Old content-addressed metadata is not left behind in the out dir.
	if _, err := os.Stat(filepath.Join(out, index.LatestShardPath("prom"))); err != nil {
		t.Error(err)
	}
}

// TestImmutableNamesVersionAsPublished: "1.30" rewritten "1.30.0" in
// place is the same version changed; the message names it as published.
func TestImmutableNamesVersionAsPublished(t *testing.T) {
	_, r, _, out := builtCalico(t, "packs/calico", "1.30")
	writePack(t, r, "packs/calico", "calico", "1.30.0", "cni", "")
	commit(t, r, "rewrite the version")
	_, err := run(t, r.Dir, out)
	var ie *ImmutableError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "pack calico version 1.30 (written 1.30.0 now) was published from commit") {
		t.Fatalf("want an ImmutableError naming 1.30 as published, got %v", err)
	}
}

func TestBuildRefusesInPlaceChange(t *testing.T) {
	tmp, r, c1, out := builtCalico(t, "packs/calico", "3.26.0")
	before := siteHashes(t, out)

	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "sneaky: change\n")
	c2 := commit(t, r, "change without bump")
	_, err := run(t, r.Dir, out)
	var ie *ImmutableError
	if !errors.As(err, &ie) {
		t.Fatalf("want ImmutableError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"calico", "3.26.0", c1[:12], c2[:12], "bump the version"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if after := siteHashes(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("a failed build touched the out dir")
	}
	left, _ := filepath.Glob(filepath.Join(tmp, ".packgen-build-*"))
	if len(left) > 0 {
		t.Errorf("staging dirs left behind: %v", left)
	}

	// Without a previous build (a fresh runner, a mirror) nothing
	// published is known: the newer content is built, with a warning
	// naming the release, both commits and what to do.
	fresh := filepath.Join(tmp, "fresh")
	res := built(t, r.Dir, fresh)
	var warned []string
	for _, p := range res.Problems {
		if strings.Contains(p.Msg, "without a version bump") {
			warned = append(warned, p.String())
		}
	}
	if len(warned) != 1 {
		t.Fatalf("fresh build: want one edited-without-a-bump warning, got %q", warned)
	}
	for _, want := range []string{"packs/calico/pack.json: warning: calico@3.26.0 was edited", c1[:12], c2[:12], "bump the version", "never published, nothing to do"} {
		if !strings.Contains(warned[0], want) {
			t.Errorf("warning %q lacks %q", warned[0], want)
		}
	}
	// Its own out dir is then the previous build, which vouches for it.
	for _, p := range built(t, r.Dir, fresh, func(o *Options) { o.Stamp = "x" }).Problems {
		if strings.Contains(p.Msg, "without a version bump") {
			t.Errorf("rebuild over the fresh build warns again: %s", p)
		}
	}
}

func TestBuildInvalid(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/good", "good", "1.0.0", "cni", "")
	must(t, r.Write("packs/bad/pack.json", packJSON("bad", "1.0.0", "nope", "")))
	must(t, r.Write("packs/bad/values.yaml", []byte("a: [\n")))
	commit(t, r, "one")
	out := filepath.Join(tmp, "site")
	_, err := run(t, r.Dir, out)
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("want InvalidError, got %v", err)
	}
	if !strings.Contains(err.Error(), "packs/bad/pack.json:4:12") || !strings.Contains(err.Error(), "packs/bad/values.yaml:") {
		t.Errorf("error lacks validate-style positions:\n%v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Error("failed build created the out dir")
	}
	if res := skipsOne(t, r.Dir, out); res.Root.Packs != 1 {
		t.Errorf("skip-invalid: %d packs published", res.Root.Packs)
	}
}

// TestSkipInvalidNamesTheDirectory: a release whose pack.json does not
// parse has no name or version: --skip-invalid names its directory.
func TestSkipInvalidNamesTheDirectory(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/good", "good", "1.0.0", "cni", "")
	must(t, r.Write("packs/broken-1.0.0/pack.json", []byte("{\n  \"name\": \"broken\",\n  \"version\": \"1.0.0\"\n  \"layer\": \"cni\"\n}\n")))
	must(t, r.Write("packs/broken-1.0.0/values.yaml", []byte("pack:\n  namespace: x\n")))
	commit(t, r, "one")
	var log strings.Builder
	res := built(t, r.Dir, filepath.Join(tmp, "site"), func(o *Options) { o.SkipInvalid, o.Log = true, &log })
	if res.Skipped != 1 || !strings.Contains(log.String(), "skipping invalid pack packs/broken-1.0.0 (its pack.json gives no name and version; at commit ") || strings.Contains(log.String(), "@ (") {
		t.Errorf("skipped %d; log:\n%s", res.Skipped, log.String())
	}
	if !strings.Contains(res.Problems.Error(), "packs/broken-1.0.0/pack.json:4:") || !strings.Contains(res.Problems.Error(), "(missing comma after line 3?)") {
		t.Errorf("problems:\n%s", res.Problems.Error())
	}
	_, err := run(t, r.Dir, filepath.Join(tmp, "failed"))
	var inv *InvalidError
	if !errors.As(err, &inv) || len(inv.Releases) != 1 || inv.Releases[0] != "packs/broken-1.0.0" {
		t.Errorf("want an InvalidError naming packs/broken-1.0.0, got %v", err)
	}
}

func TestBuildDuplicateVersion(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0", "cni", "")
	writePack(t, r, "packs/b", "calico", "1.0.0", "cni", "")
	commit(t, r, "dup")
	_, err := run(t, r.Dir, filepath.Join(tmp, "site"))
	if err == nil || !strings.Contains(err.Error(), "packs/a") || !strings.Contains(err.Error(), "packs/b") {
		t.Fatalf("want an error naming both dirs, got %v", err)
	}
}

func TestBucketsSpreadPacks(t *testing.T) {
	tmp, r := newRepo(t)
	var names []string
	for i := 0; i < 40; i++ {
		n := fmt.Sprintf("p%02d", i)
		names = append(names, n)
		writePack(t, r, "packs/"+n, n, "1.0.0", "csi", "")
	}
	commit(t, r, "many")
	out := filepath.Join(tmp, "site")
	res := built(t, r.Dir, out)
	if res.Root.BucketBits != index.BucketBitsFor(40) || len(res.Root.Buckets) != 1<<res.Root.BucketBits {
		t.Fatalf("buckets: %d bits, %d files", res.Root.BucketBits, len(res.Root.Buckets))
	}
	prev, err := loadPrevious(context.Background(), out, nil)
	must(t, err)
	got := slices.Sorted(maps.Keys(prev.shards))
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("read back %v", got)
	}
}

// TestDefaultRegistryName: without --name, the registry is named after
// the repository's top-level directory wherever the build runs from (a
// subdirectory, the packs dir), and a bare repository after its
// directory without ".git": the signed name must not depend on the
// current directory.
func TestDefaultRegistryName(t *testing.T) {
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "My Packs"))
	must(t, err)
	writePack(t, r, "packs/calico-3.27.0", "calico", "3.27.0", "cni", "")
	commit(t, r, "one")
	bare := filepath.Join(tmp, "mirror.git")
	_, err = git.PlainClone(bare, true, &git.CloneOptions{URL: r.Dir})
	must(t, err)
	for _, tc := range []struct{ repo, want string }{
		{r.Dir, "my-packs"},
		{filepath.Join(r.Dir, "packs"), "my-packs"},
		{filepath.Join(r.Dir, "packs", "calico-3.27.0"), "my-packs"},
		{bare, "mirror"},
	} {
		res := built(t, tc.repo, filepath.Join(t.TempDir(), "site"), func(o *Options) { o.Registry = "" })
		if res.Root.Registry != tc.want {
			t.Errorf("built from %s: registry %q, want %q", tc.repo, res.Root.Registry, tc.want)
		}
	}
	// A signed previous build of another name, extended without --name:
	// the refusal names the --name that extends it, and why it matters.
	s, v := testKey(t)
	key := func(o *Options) { o.Signer, o.Trust = s, v }
	prev := filepath.Join(tmp, "prev")
	built(t, r.Dir, prev, key, func(o *Options) { o.Registry = "packs" })
	out := filepath.Join(tmp, "out")
	_, err = run(t, r.Dir, out, key, func(o *Options) { o.Registry, o.Previous = "", prev })
	refused(t, out, err, ErrUntrustedPrevious)
	for _, want := range []string{`--name "packs"`, `"my-packs" (no --name`, "signed identity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not say %s: %v", want, err)
		}
	}
}
