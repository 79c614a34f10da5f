package publish

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/s3test"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
)

// TestSignedSiteNeedsItsSignatures: a signed build says so in index.json
// (it used to always say "signed": false, so this check never ran), and
// publish refuses to upload a signed site whose signatures are missing:
// the digest-named root signature clients read (index.json.sig beside
// it: without a key, as verify --site says, index.json may have been
// changed after signing: walk's RootStep), or a release's .sig.
// Nothing is uploaded.
func TestSignedSiteNeedsItsSignatures(t *testing.T) {
	f := newFixture(t)
	f.pack("a", "1.0.0", "a: 1\n")
	site := f.build(t)
	data, err := os.ReadFile(filepath.Join(site, index.RootFile))
	if err != nil {
		t.Fatal(err)
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	if !root.Signed {
		t.Fatal(`a build with a key wrote "signed": false`)
	}
	shard, _ := index.ParseShard(mustRead(t, filepath.Join(site, index.LatestShardPath("a"))), "a")
	for missing, want := range map[string]error{index.RootSignaturePath(index.Digest(data)): sign.ErrBadSignature, shard.Releases[0].Signature: ErrMissingSignature} {
		t.Run(missing, func(t *testing.T) {
			file := filepath.Join(site, filepath.FromSlash(missing))
			saved := mustRead(t, file)
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(file, saved, 0o644)
			dest := filepath.Join(t.TempDir(), "remote")
			_, err := Publish(context.Background(), site, DirTarget{Dir: dest}, Options{})
			if !errors.Is(err, want) || !errors.Is(err, ErrNotSite) {
				t.Fatalf("published a signed site without %s: %v", missing, err)
			}
			if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("something was uploaded: %v", err)
			}
		})
	}
	// Complete, it publishes.
	if _, err := Publish(context.Background(), site, DirTarget{Dir: filepath.Join(t.TempDir(), "remote")}, Options{}); err != nil {
		t.Fatal(err)
	}
}

var mustRead = testutil.ReadFile

// TestUnreferencedFilesNotUploaded: a killed in-place build leaves signed
// archives, shards and buckets in the site that index.json does not
// reference (143 of them in the report), and publish uploaded them all.
// Only what the index references is uploaded, with the site's own pages.
func TestUnreferencedFilesNotUploaded(t *testing.T) {
	f := newFixture(t)
	f.pack("a", "1.0.0", "a: 1\n")
	site := f.build(t)
	arch := filepath.Join(site, filepath.FromSlash(index.ArchivePath("a", "1.0.0")))
	leftovers := map[string][]byte{
		"packs/a/9.9.9/a-9.9.9.tar.gz":                        mustRead(t, arch),
		"packs/a/9.9.9/a-9.9.9.tar.gz.sig":                    mustRead(t, arch+".sig"),
		"packs/a/shards/" + strings.Repeat("0", 64) + ".json": []byte(`{}`),
		"index/" + strings.Repeat("1", 64) + ".json":          []byte(`{}`),
		"signatures/" + strings.Repeat("2", 64) + ".sig":      []byte(`x`),
		"packs/ghost/index.html":                              []byte(`<p>ghost</p>`),
		"packs/ghost/1.0.0/ghost-1.0.0.tar.gz":                []byte(`x`),
		"index.json.new":                                      []byte(`{}`),
	}
	filetest.Write(t, site, leftovers)
	dest := filepath.Join(t.TempDir(), "remote")
	res, err := Publish(context.Background(), site, DirTarget{Dir: dest}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range leftovers {
		if _, err := os.Stat(filepath.Join(dest, filepath.FromSlash(k))); err == nil {
			t.Errorf("%s uploaded", k)
		}
		if !slices.Contains(res.Skipped, k) {
			t.Errorf("%s not reported skipped: %v", k, res.Skipped)
		}
	}
	for _, k := range []string{"index.html", "packs/a/index.html", index.ArchivePath("a", "1.0.0"), index.LatestShardPath("a"), index.RootFile} {
		if _, err := os.Stat(filepath.Join(dest, filepath.FromSlash(k))); err != nil {
			t.Errorf("%s not uploaded: %v", k, err)
		}
	}
	verifyRemoteDir(t, f, dest, 1)
}

func verifyRemoteDir(t *testing.T, f *fixture, dir string, releases int) {
	t.Helper()
	rep, err := client.VerifySite(context.Background(), dir, f.verifier(t))
	if err != nil || len(rep.Problems) != 0 || rep.Releases != releases {
		t.Fatalf("verify %s: %v %+v", dir, err, rep)
	}
}

// TestAttackBucketArchiveReplaced: someone with write access to the
// bucket (no key) replaces a published archive between two publishes, on
// the real S3-protocol server. The next publish refuses before
// uploading anything (the remote archive is not the site's) and, since
// no build of this registry changes a published archive, its message
// points at the bucket too, not only at a version bump.
func TestAttackBucketArchiveReplaced(t *testing.T) {
	srv := s3test.Start(t, "packs")
	_, site := calicoSite(t)
	ctx := context.Background()
	target := newS3(t, srv, "registry")
	if _, err := Publish(ctx, site, target, Options{}); err != nil {
		t.Fatal(err)
	}
	key := "packs/calico/1.0.0/calico-1.0.0.tar.gz"
	srv.Tamper(t, "registry/"+key, testutil.Flipped(t, filepath.Join(site, filepath.FromSlash(key))))
	srv.Reset()
	_, err := Publish(ctx, site, target, Options{})
	if !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "packgen verify --site") {
		t.Errorf("archive replaced in the bucket: %v", err)
	}
	if puts := srv.PutOrder(); len(puts) != 0 {
		t.Errorf("refused publish uploaded %v", puts)
	}
}

// TestLogEscapesNames: publish's log (the plan a text dry run prints on
// stdout, the lines of a real run) shows the destination's names, which
// whoever writes the bucket or web root chooses, with terminal escapes
// and line breaks escaped, never raw (attackR F7).
func TestLogEscapesNames(t *testing.T) {
	site, dst := calicoPublished(t)
	ctx := context.Background()
	filetest.Write(t, dst, map[string]string{
		"assets/x\x1b]0;PWNED\a\x1b[2J.css": "theirs\n",
		"log/tile/x\x1b[2J":                 "theirs\n",
		"notes/y\x1b[31mRED":                "theirs\n",
		"notes/a\nwarning: all is well":     "theirs\n",
	})
	for _, o := range []Options{{Prune: true, DryRun: true}, {Prune: true}} {
		var log bytes.Buffer
		o.Log = &log
		if _, err := Publish(ctx, site, DirTarget{Dir: dst}, o); err != nil {
			t.Fatal(err)
		}
		out := log.String()
		if strings.ContainsAny(out, "\x1b\a") || strings.Contains(out, "\nwarning: all is well") {
			t.Errorf("dry run %v: the log carries a destination's name raw:\n%q", o.DryRun, out)
		}
		if !strings.Contains(out, `\x1b`) {
			t.Errorf("dry run %v: the log does not show the escaped names:\n%q", o.DryRun, out)
		}
	}
}

// TestPruneSweepsOnlyOwnTemps: --prune removes what killed publishes
// left only in the directories a publish of the site writes, and only
// files named as packgen names its temporary files; another tool's
// ".tmp-*" files (in .git/, in its own directory, at the top) stay
// (attackR F2: the sweep walked the whole destination).
func TestPruneSweepsOnlyOwnTemps(t *testing.T) {
	site, dst := calicoPublished(t)
	ctx := context.Background()
	files := map[string]bool{ // path: a killed publish's, to be removed
		".git/.tmp-objects-pack":       false,
		".git/objects/.tmp-123":        false, // packgen's name, not packgen's directory
		"blog/.tmp-draft.md":           false,
		"blog/.tmp-42":                 false,
		".tmp-notes.txt":               false,
		"index/.tmp-Upper":             false,
		"packs/calico/.tmp-3w5e11264s": true,
		"index/.tmp-123":               true,
		".tmp-9z":                      true,
	}
	old := time.Now().Add(-2 * time.Hour)
	for k := range files {
		p := filepath.Join(dst, filepath.FromSlash(k))
		filetest.WriteFile(t, p, "x\n")
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	for k, ours := range files {
		_, err := os.Stat(filepath.Join(dst, filepath.FromSlash(k)))
		if gone := os.IsNotExist(err); gone != ours || slices.Contains(res.Deleted, k) != ours {
			t.Errorf("%s: removed %v (deleted %v), want %v", k, gone, res.Deleted, ours)
		}
	}
}

// TestDirWitnessAndMarker: a directory (or S3) publish keeps the OCI
// publisher's rules for what others put into a registry (attackR F6): a
// witness's newer cosignature on the destination is not replaced by the
// site's older copy, a witness file that is not a cosigned checkpoint of
// this log is refused before anything is written, and an airgap.json in
// the site is never uploaded (only airgap import writes one).
func TestDirWitnessAndMarker(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	site1 := f.build(t)
	dst := filepath.Join(t.TempDir(), "www")
	if _, err := Publish(ctx, site1, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	wsk, _, err := translog.GenerateWitnessKey(rand.Reader, "w1.example")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cosign := func(site, out string) {
		t.Helper()
		cosignSite(t, f, site, transport.Config{}, wsk, state, out)
	}
	p := translog.WitnessPath("w1.example")
	cosign(site1, site1) // the site's copy: one entry

	f.pack("metallb", "0.13.0", "b: 1\n")
	site2 := f.build(t) // staged from site1: carries its witness file as it is
	if _, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	cosign(dst, dst) // the witness writes its newer one into the served directory
	newer, err := os.ReadFile(filepath.Join(dst, p))
	if err != nil {
		t.Fatal(err)
	}
	older, err := os.ReadFile(filepath.Join(site2, p))
	if err != nil || bytes.Equal(older, newer) {
		t.Fatalf("the site's witness file should be the older one: %v", err)
	}

	// The same site published again, with a marker it picked up.
	if err := os.WriteFile(filepath.Join(site2, index.AirgapFile), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, p)); !bytes.Equal(got, newer) {
		t.Errorf("the witness's newer cosignature was replaced by the site's older copy")
	}
	if !slices.Contains(res.Kept, p) || slices.Contains(res.Uploaded, p) {
		t.Errorf("%s: uploaded %v, kept %v", p, res.Uploaded, res.Kept)
	}
	if _, err := os.Stat(filepath.Join(dst, index.AirgapFile)); err == nil || slices.Contains(res.Uploaded, index.AirgapFile) {
		t.Errorf("the site's %s was published", index.AirgapFile)
	}

	// A witness file that is not a cosigned checkpoint of this log:
	// refused, nothing written.
	if err := os.WriteFile(filepath.Join(site2, p), []byte("older cosignature\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dst, p)); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, site2, DirTarget{Dir: dst}, Options{}); !errors.Is(err, ErrWitnessFile) {
		t.Fatalf("a site with a witness file that is no checkpoint: %v, want ErrWitnessFile", err)
	}
	if _, err := os.Stat(filepath.Join(dst, p)); err == nil {
		t.Errorf("the refused witness file was written")
	}
}

// TestPublishRefusesFork: a site signed by the live registry's own key
// whose log does not extend the live one (built from a replayed older
// generation at --previous, from a history that no longer holds a
// published release) is refused, even with --force, and nothing is
// written: every client that read the live registry would refuse it for
// ever (attackR F1).
func TestPublishRefusesFork(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	gen1 := f.build(t)
	f.pack("metallb", "0.13.0", "b: 1\n")
	live := f.build(t) // calico, metallb: a log of 2 entries

	// HEAD no longer holds metallb (a rewritten history, a moved packs
	// dir) and adds hello; the build reads the replayed generation 1.
	if err := os.RemoveAll(filepath.Join(f.repo.Dir, "packs", "metallb")); err != nil {
		t.Fatal(err)
	}
	f.pack("hello", "1.0.0", "c: 1\n")
	if _, err := f.repo.Commit("rewrite"); err != nil {
		t.Fatal(err)
	}
	forked := filepath.Join(f.tmp, "forked")
	if _, err := build.Run(ctx, build.Options{Repo: f.repo.Dir, Out: forked, Previous: gen1, Registry: "pub", Signer: f.signer, GeneratedAt: f.t0.Add(10 * time.Hour), Site: catalogue}); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "www")
	if _, err := Publish(ctx, live, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	before, err := DirTarget{Dir: dst}.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		_, err := Publish(ctx, forked, DirTarget{Dir: dst}, Options{Force: force})
		if !errors.Is(err, ErrFork) {
			t.Fatalf("force=%v: a site whose log forks the live one: %v", force, err)
		}
		for _, want := range []string{"2 entries", "--previous", "--force does not override"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("force=%v: the refusal lacks %q: %v", force, want, err)
			}
		}
	}
	after, err := DirTarget{Dir: dst}.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("a refused publish changed the destination: %d files, %d before", len(after), len(before))
	}
	for k, o := range before {
		if after[k] != o {
			t.Errorf("a refused publish changed %s", k)
		}
	}

	// A forced rollback to generation 1, whose log the live one extends,
	// is still the operator's choice (and the live generation is then
	// published again over it).
	if _, err := Publish(ctx, gen1, DirTarget{Dir: dst}, Options{Force: true}); err != nil {
		t.Fatalf("forced rollback to a prefix of the live log: %v", err)
	}

	// attackS F4 at the destination: generation 1 is what a bucket
	// writer put back, so the fork check compares with it, and the
	// forked site, which extends it, would pass. --log-anchor, the live
	// generation's checkpoint kept elsewhere, refuses it (even with
	// --force, nothing written); the live generation, which extends the
	// anchor, replaces the replay with a warning that names it.
	anchor, err := os.ReadFile(filepath.Join(live, filepath.FromSlash(translog.CheckpointPath)))
	if err != nil {
		t.Fatal(err)
	}
	replayed, err := DirTarget{Dir: dst}.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		_, err := Publish(ctx, forked, DirTarget{Dir: dst}, Options{Force: force, LogAnchor: anchor})
		if !errors.Is(err, translog.ErrBehindAnchor) || !strings.Contains(err.Error(), "the site: ") || !strings.Contains(err.Error(), "not even --force") {
			t.Errorf("force=%v: a site whose log does not extend the anchor: %v", force, err)
		}
	}
	if now, err := (DirTarget{Dir: dst}).List(ctx); err != nil || !maps.Equal(now, replayed) {
		t.Errorf("a publish refused for its anchor changed the destination (%v)", err)
	}
	var log bytes.Buffer
	if _, err := Publish(ctx, live, DirTarget{Dir: dst}, Options{LogAnchor: anchor, Log: &log}); err != nil {
		t.Fatalf("the live generation again: %v", err)
	}
	if !strings.Contains(log.String(), "warning: --log-anchor: "+dst+" serves a log of 1 entries") || !strings.Contains(log.String(), "the anchor's has 2") {
		t.Errorf("a live log behind the anchor, not warned of:\n%s", log.String())
	}
	log.Reset()
	// With the registry's key, nothing else to warn of either (without
	// it, that the catalogue's signatures were not checked).
	pub, err := sign.LoadPublicKey(f.pub)
	testutil.Must(t, err)
	if _, err := Publish(ctx, live, DirTarget{Dir: dst}, Options{LogAnchor: anchor, Log: &log, Verify: pub}); err != nil || strings.Contains(log.String(), "warning") {
		t.Errorf("a live log at the anchor: %v\n%s", err, log.String())
	}
}

// TestAttackServedOtherwise: whoever can write the bucket (no key) puts
// files that change in place back with their genuine bytes (the store's
// checksum right) but other headers: cached for a year, another
// Content-Type, gzip-encoded, a download, a website redirect; whoever
// can write the directory swaps a page for a hard link to a file of
// theirs, or leaves a file they own or anyone may write (attackY Y-A).
// The next publish writes each again, says why, and its HEADs stay one
// per file that changes in place (index.json's headers come with the
// GET that reads it); then nothing more is written.
func TestAttackServedOtherwise(t *testing.T) {
	_, site := calicoSite(t)
	ctx := context.Background()
	read := func(k string) []byte { return testutil.ReadFile(t, filepath.Join(site, filepath.FromSlash(k))) }
	inPlace := 0
	files, err := walk(ctx, site)
	testutil.Must(t, err)
	for _, l := range files {
		if !pinned(l.key) && l.key != index.RootFile {
			inPlace++
		}
	}

	t.Run("s3", func(t *testing.T) {
		srv := s3test.Start(t, "packs")
		target := newS3(t, srv, "registry")
		if _, err := Publish(ctx, site, target, Options{}); err != nil {
			t.Fatal(err)
		}
		plant := map[string]func(*s3.PutObjectInput){
			index.RootFile: func(in *s3.PutObjectInput) {
				in.CacheControl = aws.String("public, max-age=31536000, immutable")
			},
			"index.html":                     func(in *s3.PutObjectInput) { in.ContentType = aws.String("text/plain") },
			"packs/calico/index.html":        func(in *s3.PutObjectInput) { in.ContentEncoding = aws.String("gzip") },
			"packs/calico/index.json":        func(in *s3.PutObjectInput) { in.ContentDisposition = aws.String("attachment") },
			index.LogCheckpoint:              func(in *s3.PutObjectInput) { in.WebsiteRedirectLocation = aws.String("/index.json") },
			index.RootFile + ".sig":          func(in *s3.PutObjectInput) { in.ContentType = aws.String("text/html") },
			index.CatalogueFile:              func(in *s3.PutObjectInput) { in.CacheControl = nil },
			index.RootFile + index.BundleExt: func(in *s3.PutObjectInput) {}, // published as publish sends it: kept
		}
		for k, change := range plant {
			data := read(k)
			in := &s3.PutObjectInput{
				Bucket: aws.String("packs"), Key: aws.String("registry/" + k), Body: bytes.NewReader(data),
				ContentType: aws.String(index.ContentType(k)), CacheControl: aws.String(index.CacheControl(k)),
				ChecksumSHA256: aws.String(b64(t, index.Digest(data))),
			}
			change(in)
			testutil.Must(t, rawPut(target, in))
		}
		srv.Reset()
		var log bytes.Buffer
		res, err := Publish(ctx, site, target, Options{Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		if c := srv.Requests(); c.Head != inPlace || c.Get != 1 || c.Put != len(plant)-1 {
			t.Errorf("publish over %d planted files (%d in place) sent %+v", len(plant), inPlace, c)
		}
		for k := range plant {
			again := k != index.RootFile+index.BundleExt
			if slices.Contains(res.Uploaded, k) != again || strings.Contains(log.String(), "warning: "+k+" on ") != again {
				t.Errorf("%s: uploaded %v, want %v; log:\n%s", k, !again, again, log.String())
			}
			resp, err := http.Head(srv.URL() + "/registry/" + k)
			testutil.Must(t, err)
			resp.Body.Close()
			h := resp.Header
			if h.Get("Content-Type") != index.ContentType(k) || h.Get("Cache-Control") != index.CacheControl(k) ||
				h.Get("Content-Encoding") != "" || h.Get("Content-Disposition") != "" || h.Get("X-Amz-Website-Redirect-Location") != "" {
				t.Errorf("%s is served with the bucket writer's headers after publish: %v", k, h)
			}
		}
		srv.Reset()
		if res, err := Publish(ctx, site, target, Options{}); err != nil || len(res.Uploaded) != 0 {
			t.Errorf("published again: uploaded %v (%v)", res.Uploaded, err)
		}
	})

	t.Run("dir", func(t *testing.T) {
		tmp := t.TempDir()
		dst := filepath.Join(tmp, "www")
		if _, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{}); err != nil {
			t.Fatal(err)
		}
		theirs := filepath.Join(tmp, "theirs.html")
		testutil.Must(t, os.WriteFile(theirs, read("index.html"), 0o644))
		testutil.Must(t, os.Remove(filepath.Join(dst, "index.html")))
		testutil.Must(t, os.Link(theirs, filepath.Join(dst, "index.html")))
		testutil.Must(t, os.Chmod(filepath.Join(dst, "packs", "calico", "index.html"), 0o666))
		planted := []string{"index.html", "packs/calico/index.html"}
		if os.Geteuid() == 0 {
			testutil.Must(t, os.Chown(filepath.Join(dst, index.RootFile), 4242, 4242))
			planted = append(planted, index.RootFile)
		} else {
			t.Log("not root: a file of another owner is not planted")
		}
		var log bytes.Buffer
		res, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		top, err := os.Stat(dst)
		testutil.Must(t, err)
		for _, k := range planted {
			fi, err := os.Stat(filepath.Join(dst, filepath.FromSlash(k)))
			testutil.Must(t, err)
			if !slices.Contains(res.Uploaded, k) || !strings.Contains(log.String(), "warning: "+k+" on ") || exposed(fi, top) != "" {
				t.Errorf("%s: uploaded %v, %q after publish; log:\n%s", k, res.Uploaded, exposed(fi, top), log.String())
			}
		}
		if len(res.Uploaded) != len(planted) {
			t.Errorf("uploaded %v, want only %v", res.Uploaded, planted)
		}
		// Their file is theirs alone now: what they write is not served.
		f, err := os.OpenFile(theirs, os.O_APPEND|os.O_WRONLY, 0)
		testutil.Must(t, err)
		_, err = f.WriteString("<script>alert(1)</script>")
		testutil.Must(t, errors.Join(err, f.Close()))
		if !bytes.Equal(testutil.ReadFile(t, filepath.Join(dst, "index.html")), read("index.html")) {
			t.Error("the planter's edit of their file reaches the served page")
		}
		if res, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{}); err != nil || len(res.Uploaded) != 0 {
			t.Errorf("published again: uploaded %v (%v)", res.Uploaded, err)
		}
	})

	// A directory on the way to the site's files left to a former writer
	// (theirs, or one anyone may rename in) is refused before anything is
	// written, naming it (attackZ Z1: its files all looked fine, publish
	// said nothing, and the planter renamed a page of theirs over the
	// served one after); made the user's and closed, it publishes.
	t.Run("dir: planted directories", func(t *testing.T) {
		me := os.Geteuid()
		for _, c := range []struct {
			name, dir string      // dir: the directory changed, "" for none
			mode      os.FileMode // its mode, or 0
			owner     int         // its owner (root only), or 0
			top       os.FileMode // the destination's mode, or 0
			want      string      // in the refusal; "" = published
		}{
			{name: "another owner", dir: "packs/calico", owner: 4242, want: "owned by uid 4242"},
			{name: "anyone may rename in it", dir: "packs", mode: 0o777, want: "writable by group or others without the sticky bit (mode 0777)"},
			{name: "group may rename in it", dir: "signatures", mode: 0o775, want: "(mode 0775)"},
			{name: "nested, another owner", dir: "packs/calico/1.0.0", owner: 4242, want: "owned by uid 4242"},
			{name: "nested, anyone may rename in it", dir: "log/tile/8/data", mode: 0o777, want: "(mode 0777)"},
			{name: "anyone may add names, sticky", dir: "packs", mode: 0o777 | os.ModeSticky},
			{name: "the destination grants as much", dir: "packs/calico", mode: 0o775, top: 0o775},
			{name: "a sticky destination grants nothing", dir: "packs", mode: 0o777, top: 0o777 | os.ModeSticky, want: "(mode 0777)"},
		} {
			t.Run(c.name, func(t *testing.T) {
				if c.owner != 0 && me != 0 {
					t.Skip("needs root to chown")
				}
				dst := filepath.Join(t.TempDir(), "www")
				if _, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{}); err != nil {
					t.Fatal(err)
				}
				dir := filepath.Join(dst, filepath.FromSlash(c.dir))
				if c.owner != 0 {
					testutil.Must(t, os.Chown(dir, c.owner, c.owner))
				}
				if c.mode != 0 {
					testutil.Must(t, os.Chmod(dir, c.mode))
				}
				if c.top != 0 {
					testutil.Must(t, os.Chmod(dst, c.top))
				}
				// A page to write again: refused, it stays as it was.
				page := filepath.Join(dst, "packs", "calico", "index.html")
				testutil.Must(t, os.WriteFile(page, []byte("stale"), 0o644))
				res, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{})
				if c.want == "" {
					if err != nil || !slices.Equal(res.Uploaded, []string{"packs/calico/index.html"}) {
						t.Fatalf("uploaded %v (%v), want only the page", res, err)
					}
					return
				}
				if !errors.Is(err, ErrExposedDir) || !strings.Contains(err.Error(), dir+" is ") || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "chmod go-w "+dir) {
					t.Fatalf("err = %v, want ErrExposedDir naming %s, %q and what to do", err, dir, c.want)
				}
				if got := string(testutil.ReadFile(t, page)); got != "stale" {
					t.Errorf("a refused publish wrote the page: %q", got)
				}
				// What the refusal says to do.
				testutil.Must(t, errors.Join(os.Chown(dir, me, -1), os.Chmod(dir, 0o755)))
				if res, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{}); err != nil || !slices.Equal(res.Uploaded, []string{"packs/calico/index.html"}) {
					t.Errorf("after chown and chmod go-w: uploaded %v (%v), want only the page", res, err)
				}
			})
		}
	})
}
