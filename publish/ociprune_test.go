package publish

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"net/http"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// repoAt opens the repository ref on reg as the tests read it
// (anonymous or with reg's credentials, no signer).
func repoAt(t *testing.T, reg *ocitest.Registry, f *fixture, ref string) *remote.Repository {
	t.Helper()
	repo, err := ociOptions(reg, false, f).OCI.Repos(ref)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// threeGenerations publishes three builds of hello (1.0.0, 1.1.0, 1.2.0)
// in turn to oci://REGISTRY/acme and returns the registry, the fixture
// and the three sites.
func threeGenerations(t *testing.T) (*ocitest.Registry, *fixture, []string) {
	t.Helper()
	reg, f := ociSetup(t, ocitest.Anonymous)
	var sites []string
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		f.pack("hello", v, "v: "+v+"\n")
		sites = append(sites, f.build(t))
		mustPublish(t, reg, f, sites[i], "oci://"+reg.Host()+"/acme")
	}
	return reg, f, sites
}

// TestOCIPrune: --prune deletes the meta manifests of generations older
// than the one a publish replaces, and the cosign signatures of release
// manifests that are gone (below this base); it keeps every release, the
// two newest generations, a signature whose subject is still there, and
// one that names a repository outside the base. --dry-run lists the same
// and deletes nothing.
func TestOCIPrune(t *testing.T) {
	reg, f, sites := threeGenerations(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	sigRepo := repoAt(t, reg, f, reg.Host()+"/acme/packgen/signatures")
	// Three signatures of manifests that are no release of the site: one
	// whose manifest is then deleted by hand (gone), one whose manifest
	// stays, one naming a repository outside this base.
	signed := func(repoPath, tag string, deleteAfter bool) string {
		t.Helper()
		ref := reg.Host() + "/" + repoPath
		file := filepath.Join(t.TempDir(), "x.tar.gz")
		os.WriteFile(file, []byte(repoPath+tag), 0o644)
		cmd := exec.Command(ocitest.Tool(t, "oras"), "push", "--plain-http", ref+":"+tag, "x.tar.gz")
		cmd.Dir, cmd.Env = filepath.Dir(file), append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("oras push: %v\n%s", err, out)
		}
		repo := repoAt(t, reg, f, ref)
		desc, err := repo.Resolve(ctx, tag)
		if err != nil {
			t.Fatal(err)
		}
		sigTag := pushCosignSig(t, sigRepo, f.signer, ref, desc.Digest)
		if deleteAfter {
			if err := repo.Delete(ctx, desc); err != nil {
				t.Fatal(err)
			}
		}
		return sigTag
	}
	gone := signed("acme/spectro-packs/archive/ghost", "9.9.9", true)
	there := signed("acme/spectro-packs/archive/other", "1.0.0", false)
	outside := signed("elsewhere/ghost", "1.0.0", true)

	f.pack("hello", "1.3.0", "v: 1.3.0\n")
	site := f.build(t)
	var log bytes.Buffer
	dry, err := To(ctx, site, dest, ociOptions(reg, true, f), Options{Prune: true, DryRun: true, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	meta := func(site string) string {
		return ocimap.MetaTagPrefix + strconv.FormatInt(testutil.ReadRoot(t, site).Serial, 10)
	}
	want := []string{reg.Host() + "/acme/packgen/index:" + meta(sites[0]), reg.Host() + "/acme/packgen/index:" + meta(sites[1]), reg.Host() + "/acme/packgen/signatures:" + gone}
	if got := slices.Sorted(slices.Values(dry.Deleted)); !slices.Equal(got, want) {
		t.Fatalf("dry run would delete %v, want %v\n%s", got, want, log.String())
	}
	if n := reg.Requests("DELETE", ""); n != 2 { // the two by hand above
		t.Fatalf("a dry run sent %d DELETEs", n-2)
	}
	res, err := To(ctx, site, dest, ociOptions(reg, true, f), Options{Prune: true, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(res.Deleted)); !slices.Equal(got, want) {
		t.Fatalf("deleted %v, want %v\n%s", got, want, log.String())
	}
	idx, _ := ociOptions(reg, false, f).OCI.Repos(reg.Host() + "/acme/packgen/index")
	tags, err := listTags(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	for tag, keep := range map[string]bool{meta(sites[0]): false, meta(sites[1]): false, meta(sites[2]): true, meta(site): true, "root": true} {
		if tags[tag] != keep {
			t.Errorf("index tag %s present %v, want %v", tag, tags[tag], keep)
		}
	}
	sigs, err := listTags(ctx, sigRepo)
	if err != nil {
		t.Fatal(err)
	}
	if sigs[gone] || !sigs[there] || !sigs[outside] {
		t.Errorf("signature tags after prune: gone %v (want false), there %v, outside %v (want true)", sigs[gone], sigs[there], sigs[outside])
	}
	if got := releaseTags(t, reg, "acme/spectro-packs/archive/hello"); !slices.Equal(got, []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}) {
		t.Fatalf("releases after prune: %v", got)
	}
	// Every release still verifies under cosign's layout, and the
	// registry still reads as a site.
	for _, r := range shardOf(t, site, "hello").Releases {
		m, _ := ocimap.ArchiveManifest(r.Archive.SHA256, r.Archive.Size, ocimap.ArchiveTitle("hello", r.Version), r.Created)
		if !sigs[ocimap.CosignTag(m.Desc.Digest)] {
			t.Errorf("hello@%s lost its signature", r.Version)
		}
	}
	verifyOCI(t, reg, f, dest, 4)
	// Nothing left to prune: a second prune deletes nothing.
	again, err := To(ctx, site, dest, ociOptions(reg, true, f), Options{Prune: true})
	if err != nil || len(again.Deleted) != 0 {
		t.Fatalf("second prune: %v %v", err, again.Deleted)
	}

	// attackV F6: a publish pushes a release's signature, then its
	// manifest (the tag); until then the signature's subject is 404.
	// Publish A of a site with cilium@1.0.0: its freshly pushed signature
	// is deleted right after its PUT (a cleanup, an older packgen's
	// prune), and a --prune of the live site runs to the end
	// right before A's tag PUT. A pushes the signature again and the
	// prune keeps it (written just now), so cilium is tagged signed.
	f.pack("cilium", "1.0.0", "c: 1\n")
	site2 := f.build(t)
	cr := shardOf(t, site2, "cilium").Releases[0]
	cm, _ := ocimap.ArchiveManifest(cr.Archive.SHA256, cr.Archive.Size, ocimap.ArchiveTitle("cilium", cr.Version), cr.Created)
	ciliumSig := ocimap.CosignTag(cm.Desc.Digest)
	var deleted, pruned sync.Once
	var prune *Result
	var pruneLog bytes.Buffer
	do := ociOptions(reg, true, f)
	open := do.OCI.Repos
	do.OCI.Repos = func(ref string) (*remote.Repository, error) {
		r, err := open(ref)
		if err == nil {
			r.Client = hookDo{r.Client, func(req *http.Request, sent bool) {
				switch {
				case sent && req.Method == http.MethodPut && strings.HasSuffix(req.URL.Path, "/signatures/manifests/"+ciliumSig):
					deleted.Do(func() {
						desc, err := sigRepo.Resolve(ctx, ciliumSig)
						if err == nil {
							err = sigRepo.Delete(ctx, desc)
						}
						if err != nil {
							t.Errorf("deleting cilium's signature: %v", err)
						}
					})
				case !sent && req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/archive/cilium/manifests/"):
					pruned.Do(func() {
						if prune, err = To(ctx, site, dest, ociOptions(reg, true, f), Options{Prune: true, Log: &pruneLog}); err != nil {
							t.Errorf("concurrent prune: %v", err)
						}
					})
				}
			}}
		}
		return r, err
	}
	if _, err := To(ctx, site2, dest, do, Options{Jobs: 1}); err != nil {
		t.Fatalf("publish A: %v", err)
	}
	if n := reg.Requests("PUT", "/v2/acme/packgen/signatures/manifests/"+ciliumSig); n != 2 {
		t.Errorf("cilium's signature was pushed %d times, want 2 (again once deleted)", n)
	}
	if prune == nil || len(prune.Deleted) != 0 || !strings.Contains(pruneLog.String(), "kept "+reg.Host()+"/acme/packgen/signatures:"+ciliumSig) {
		t.Fatalf("the concurrent prune: %+v\n%s", prune, pruneLog.String())
	}
	if sigs, err = listTags(ctx, sigRepo); err != nil || !sigs[ciliumSig] {
		t.Fatalf("cilium:1.0.0 is tagged, but its signature %s is gone (%v)", ciliumSig, err)
	}
	verifyOCI(t, reg, f, dest, 5)
}

// hookDo calls hook with each request before sending it, and again
// (sent) once it was answered.
type hookDo struct {
	c    remote.Client
	hook func(req *http.Request, sent bool)
}

func (h hookDo) Do(req *http.Request) (*http.Response, error) {
	h.hook(req, false)
	resp, err := h.c.Do(req)
	h.hook(req, true)
	return resp, err
}

// TestOCIPruneAttackRetaggedMeta: someone who may push tags to the
// index repository (but not delete) points old meta-SERIAL tags at the
// live root manifest and at a release's archive signatures manifest. A
// registry deletes manifests by digest, so a prune that trusted the tag
// would delete the live generation and a release's signatures with the
// publisher's delete right. Prune deletes only a manifest that is a
// generation's metadata, and never one a kept generation reads.
func TestOCIPruneAttackRetaggedMeta(t *testing.T) {
	reg, f, sites := threeGenerations(t)
	ctx := context.Background()
	dest := "oci://" + reg.Host() + "/acme"
	idx := repoAt(t, reg, f, reg.Host()+"/acme/packgen/index")
	root, err := idx.Resolve(ctx, ocimap.RootTag)
	if err != nil {
		t.Fatal(err)
	}
	rel := shardOf(t, sites[2], "hello").Releases[0]
	sigTag := ocimap.SigTag(rel.Archive.Path)
	sigs, err := idx.Resolve(ctx, sigTag)
	if err != nil {
		t.Fatal(err)
	}
	// The oldest generation's meta tag (a legitimate prune target) now
	// names the live root; a lower, unused serial names the signatures.
	first := testutil.ReadRoot(t, sites[0])
	if first.Serial < 1 {
		t.Fatalf("first serial %d: the test needs a lower one free", first.Serial)
	}
	oldest := ocimap.MetaTagPrefix + strconv.FormatInt(first.Serial, 10)
	lower := ocimap.MetaTagPrefix + strconv.FormatInt(first.Serial-1, 10)
	if err := idx.Tag(ctx, root, oldest); err != nil {
		t.Fatal(err)
	}
	if err := idx.Tag(ctx, sigs, lower); err != nil {
		t.Fatal(err)
	}
	// Publishing the live site again with --prune: nothing to push, prune only.
	var log bytes.Buffer
	res, err := To(ctx, sites[2], dest, ociOptions(reg, true, f), Options{Prune: true, Log: &log})
	if err != nil {
		t.Fatalf("prune: %v\n%s", err, log.String())
	}
	for _, d := range res.Deleted {
		if strings.HasSuffix(d, ":"+oldest) || strings.HasSuffix(d, ":"+lower) {
			t.Errorf("prune deleted %s, a tag naming a manifest that is no generation's metadata\n%s", d, log.String())
		}
	}
	for tag, want := range map[string]ocispec.Descriptor{ocimap.RootTag: root, sigTag: sigs} {
		if got, err := idx.Resolve(ctx, tag); err != nil || got.Digest != want.Digest {
			t.Fatalf("after prune, %s resolves to %v (%v), want %s\n%s", tag, got.Digest, err, want.Digest, log.String())
		}
	}
	if !strings.Contains(log.String(), oldest) || !strings.Contains(log.String(), lower) {
		t.Errorf("no warning naming the retagged %s and %s:\n%s", oldest, lower, log.String())
	}
	verifyOCI(t, reg, f, dest, 3)
}

// pushCosignSig signs the manifest dg of ref with s as cosign does and
// pushes the signature manifest into sigs under its cosign tag, which it
// returns.
func pushCosignSig(t *testing.T, sigs *remote.Repository, s *sign.Signer, ref string, dg digest.Digest) string {
	t.Helper()
	ctx := context.Background()
	payload, sig, err := s.SignManifest(ref, dg.String())
	if err != nil {
		t.Fatal(err)
	}
	// Written long ago: a young orphan is kept (TestOCIPrune's race).
	p, err := ocimap.CosignManifest(payload, sig, time.Now().Add(-2*pruneGrace))
	if err != nil {
		t.Fatal(err)
	}
	if err := pushNew(ctx, sigs, p.Layers[0], payload); err != nil {
		t.Fatal(err)
	}
	if err := pushNew(ctx, sigs, p.Config, p.ConfigB); err != nil {
		t.Fatal(err)
	}
	tag := ocimap.CosignTag(dg)
	if err := sigs.Manifests().PushReference(ctx, p.Desc, bytes.NewReader(p.Manifest), tag); err != nil {
		t.Fatal(err)
	}
	return tag
}
