package publish

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/s3test"
	"github.com/packgen/packgen/internal/safefile"
	stalelock "github.com/packgen/packgen/internal/stale"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
)

type fixture struct {
	repo   *gitfixture.Repo
	signer *sign.Signer
	pub    []byte
	tmp    string
	n      int
	t0     time.Time
	shape  func(int) (int, int) // nil: the default bucket tree
}

// One signing key for every test: making and decrypting a key costs a
// second each under the race detector.
var testKey = sync.OnceValues(func() (*sign.Signer, []byte) {
	k, err := testutil.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k.Signer, k.Pub
})

func newFixture(t testing.TB) *fixture {
	// A fixed hour of the last month: the sites' times are stable within a
	// run, and their default year of validity never runs out under the
	// tests (a fixed date would expire them all a year on).
	t0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, -1, 0)
	f := &fixture{tmp: t.TempDir(), t0: t0}
	var err error
	if f.repo, err = gitfixture.Init(filepath.Join(f.tmp, "repo")); err != nil {
		t.Fatal(err)
	}
	f.signer, f.pub = testKey()
	return f
}

func (f *fixture) verifier(t *testing.T) *sign.Verifier {
	v, err := sign.LoadPublicKey(f.pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) pack(name, version, values string) {
	f.repo.Write("packs/"+name+"/pack.json", []byte(`{"name": "`+name+`", "version": "`+version+`", "layer": "cni", "displayName": "x", "cloudTypes": ["all"]}`))
	f.repo.Write("packs/"+name+"/values.yaml", []byte(values))
}

// catalogue stands in for the HTML catalogue: mutable pages, which a
// signing build lists in its signed manifest.
func catalogue(dir string, s *build.Snapshot) error {
	write := func(rel string, data []byte) error {
		s.Catalogue = append(s.Catalogue, index.FileRef{Path: rel, SHA256: index.Digest(data), Size: int64(len(data))})
		return os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), data, 0o644)
	}
	if err := write("index.html", fmt.Appendf(nil, "<p>serial %d</p>\n", s.Root.Serial)); err != nil {
		return err
	}
	for _, sh := range s.Shards {
		if err := write("packs/"+sh.Name+"/index.html", fmt.Appendf(nil, "<p>%s %v</p>\n", sh.Name, sh.Versions())); err != nil {
			return err
		}
	}
	return nil
}

// build commits and builds generation n+1 from generation n.
func (f *fixture) build(t testing.TB) string {
	t.Helper()
	if _, err := f.repo.Commit("c"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(f.tmp, fmt.Sprintf("site%d", f.n+1))
	prev := ""
	if f.n > 0 {
		prev = filepath.Join(f.tmp, fmt.Sprintf("site%d", f.n))
	}
	f.n++
	_, err := build.Run(context.Background(), build.Options{Repo: f.repo.Dir, Out: out, Previous: prev, History: true, Registry: "pub", Signer: f.signer, GeneratedAt: f.t0.Add(time.Duration(f.n) * time.Hour), Site: catalogue, Shape: f.shape})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newS3(t *testing.T, srv *s3test.Server, prefix string) *S3Target {
	t.Helper()
	target, err := NewS3(context.Background(), S3Options{Bucket: srv.Bucket, Prefix: prefix, Endpoint: srv.Server.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// twoPacks adds calico 1.0.0 and metallb 0.13.0 to f's repository and
// builds its site.
func (f *fixture) twoPacks(t *testing.T) string {
	t.Helper()
	f.pack("calico", "1.0.0", "a: 1\n")
	f.pack("metallb", "0.13.0", "b: 1\n")
	return f.build(t)
}

// calicoSite builds a site of one pack, calico 1.0.0, with a new fixture.
func calicoSite(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t)
	f.pack("calico", "1.0.0", "a: 1\n")
	return f, f.build(t)
}

// calicoSites builds calicoSite's site, then the next generation's with
// calico 1.1.0 added.
func calicoSites(t *testing.T) (f *fixture, site1, site2 string) {
	t.Helper()
	f, site1 = calicoSite(t)
	f.pack("calico", "1.1.0", "a: 2\n")
	return f, site1, f.build(t)
}

// calicoPublished publishes calicoSite's site into a new directory and
// returns the site and the directory.
func calicoPublished(t *testing.T) (site, dst string) {
	t.Helper()
	_, site = calicoSite(t)
	dst = filepath.Join(t.TempDir(), "www")
	if _, err := Publish(context.Background(), site, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	return site, dst
}

// stillServed fails unless base still serves every file of gen (a
// generation's metadata) after a prune.
func stillServed(t *testing.T, base string, gen map[string]bool) {
	t.Helper()
	for k := range gen {
		resp, err := http.Get(base + "/" + k)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("generation 2's %s: %d after prune", k, resp.StatusCode)
		}
	}
}

func verifyRemote(t *testing.T, f *fixture, base string, releases int) *index.Root {
	t.Helper()
	ctx := context.Background()
	rep, err := client.VerifySite(ctx, base, f.verifier(t))
	if err != nil || len(rep.Problems) != 0 || rep.Releases != releases {
		t.Fatalf("verify %s: %v %+v", base, err, rep)
	}
	return remoteRoot(t, base)
}

func remoteRoot(t *testing.T, base string) *index.Root {
	t.Helper()
	return testutil.FetchRoot(t, base)
}

// keys strips the bucket and prefix from PUT paths.
func keys(paths []string, prefix string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, strings.TrimPrefix(p, prefix+"/"))
	}
	return out
}

func TestPublishS3(t *testing.T) {
	srv := s3test.Start(t, "packs")
	f := newFixture(t)
	site1 := f.twoPacks(t)
	ctx := context.Background()
	target := newS3(t, srv, "registry")
	base := srv.URL() + "/registry"

	res, err := Publish(ctx, site1, target, Options{Jobs: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.RemoteSerial != 0 || res.Serial == 0 || len(res.Uploaded) == 0 || res.Unchanged != 0 {
		t.Fatalf("first publish: %+v", res)
	}
	// Order: stages never interleave, index.json last but for the log's
	// checkpoint, which follows the index naming its tree.
	order := keys(srv.PutOrder(), "/packs/registry")
	if len(order) != len(res.Uploaded) || order[len(order)-2] != "index.json" || order[len(order)-1] != "log/checkpoint" {
		t.Fatalf("index.json must be uploaded last, order: %v", order)
	}
	for i := 1; i < len(order); i++ {
		if stage(order[i]) < stage(order[i-1]) {
			t.Errorf("%s (stage %d) uploaded after %s (stage %d)", order[i], stage(order[i]), order[i-1], stage(order[i-1]))
		}
	}
	// The catalogue's manifest follows the pages it lists and precedes
	// the switch to the index.json it names.
	if m, page := slices.Index(order, index.CatalogueFile), slices.Index(order, "packs/calico/index.html"); m < 0 || page < 0 || m < page || m > len(order)-2 {
		t.Errorf("%s uploaded at %d, the pages at %d, index.json at %d: %v", index.CatalogueFile, m, page, len(order)-2, order)
	}
	verifyRemote(t, f, base, 2)

	// What the store serves: long-lived immutable files, short-lived index
	// and pages, the right media types.
	for _, c := range []struct{ key, ct, cc string }{
		{"packs/calico/1.0.0/calico-1.0.0.tar.gz", "application/gzip", "public, max-age=31536000, immutable"},
		{"packs/calico/1.0.0/calico-1.0.0.tar.gz.sig", "text/plain; charset=utf-8", "public, max-age=60, must-revalidate"},
		{"index.json", "application/json", "public, max-age=60, must-revalidate"},
		{"index.json.sigstore.json", "application/vnd.dev.sigstore.bundle.v0.3+json", "public, max-age=60, must-revalidate"},
		{"index.html", "text/html; charset=utf-8", "public, max-age=60, must-revalidate"},
		{"packs/calico/index.html", "text/html; charset=utf-8", "public, max-age=60, must-revalidate"},
		// The log's right edge at both tile heights: superseded as it grows.
		{"log/tile/8/0/000.p/2", "application/octet-stream", "public, max-age=60, must-revalidate"},
		{"log/tile/4/0/000.p/2", "application/octet-stream", "public, max-age=60, must-revalidate"},
	} {
		resp, err := http.Get(base + "/" + c.key)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.ct || resp.Header.Get("Cache-Control") != c.cc {
			t.Errorf("%s: %d Content-Type %q Cache-Control %q, want %q %q", c.key, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), c.ct, c.cc)
		}
	}

	// Nothing changed: nothing uploaded. A file that changes in place is
	// compared by S3's own checksum (a HEAD each), index.json by the
	// bytes read for its serial, the rest by the listing's MD5.
	srv.Reset()
	res, err = Publish(ctx, site1, target, Options{})
	if err != nil || len(res.Uploaded) != 0 || len(srv.PutOrder()) != 0 || res.Unchanged == 0 {
		t.Fatalf("republish uploaded %v (%v)", res.Uploaded, err)
	}
	files, err := walk(ctx, site1)
	testutil.Must(t, err)
	inPlace := 0
	for _, l := range files {
		if !pinned(l.key) && l.key != index.RootFile {
			inPlace++
		}
	}
	if c := srv.Requests(); c.List != 1 || c.Get != 1 || c.Head != inPlace || c.Put != 0 || len(files) != res.Unchanged {
		t.Errorf("republish of %d files (%d in place) sent %+v", res.Unchanged, inPlace, c)
	}

	// One pack bumped: a dry run lists, uploads nothing; then only what
	// changed goes up.
	f.pack("calico", "1.1.0", "a: 2\n")
	site2 := f.build(t)
	srv.Reset()
	var log strings.Builder
	dry, err := Publish(ctx, site2, target, Options{DryRun: true, Log: &log})
	if err != nil || len(srv.PutOrder()) != 0 || !dry.DryRun || !slices.Contains(dry.Uploaded, "packs/calico/1.1.0/calico-1.1.0.tar.gz") || !strings.Contains(log.String(), "would upload index.json\n") {
		t.Fatalf("dry run: %v %v %+v %s", err, srv.PutOrder(), dry, log.String())
	}
	if r := remoteRoot(t, base); r.Releases != 2 {
		t.Fatalf("dry run changed the remote: %+v", r)
	}
	res, err = Publish(ctx, site2, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Uploaded, dry.Uploaded) {
		t.Errorf("dry run said %v, publish did %v", dry.Uploaded, res.Uploaded)
	}
	for _, k := range res.Uploaded {
		if strings.Contains(k, "metallb/0.13.0/") || strings.Contains(k, "calico/1.0.0/") {
			t.Errorf("unchanged release re-uploaded: %s", k)
		}
	}
	if res.RemoteSerial == 0 || res.Serial <= res.RemoteSerial {
		t.Errorf("serials: %+v", res)
	}
	verifyRemote(t, f, base, 3)
	if len(res.Kept) == 0 || len(res.Deleted) != 0 || len(srv.Deletes()) != 0 {
		t.Fatalf("without --prune nothing is deleted: %+v", res)
	}

	// Generation 3. Prune may delete generation 1's metadata, never
	// generation 2's (live until the switch: clients may be resolving
	// against it) and never a release file.
	f.pack("metallb", "0.14.0", "b: 2\n")
	site3 := f.build(t)
	gen1 := metadata(t, site1)
	gen2 := metadata(t, site2)
	gen3 := metadata(t, site3)
	// A witness's cosigned checkpoint is put on the remote by the
	// operator, never by a build: prune must not delete it.
	const cosigned = "log/witness/witness.example"
	body := "cosigned checkpoint\n"
	md, sh := md5.Sum([]byte(body)), sha256.Sum256([]byte(body))
	info := PutInfo{Size: int64(len(body)), MD5: hex.EncodeToString(md[:]), SHA256: hex.EncodeToString(sh[:]), ContentType: "text/plain"}
	if err := target.Put(ctx, cosigned, strings.NewReader(body), info); err != nil {
		t.Fatal(err)
	}
	res, err = Publish(ctx, site3, target, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res.Deleted, cosigned) || !slices.Contains(res.Kept, cosigned) {
		t.Errorf("prune deleted the witness file %s: %+v", cosigned, res.Deleted)
	}
	if _, err := target.Stat(ctx, cosigned); err != nil {
		t.Errorf("witness file after prune: %v", err)
	}
	for _, k := range res.Deleted {
		if isReleaseFile(k) || gen2[k] || gen3[k] {
			t.Errorf("prune deleted %s", k)
		}
	}
	for k := range gen1 {
		if !gen2[k] && !gen3[k] && !slices.Contains(res.Deleted, k) {
			t.Errorf("prune kept generation 1's %s", k)
		}
	}
	for k := range gen2 {
		if !gen3[k] && !slices.Contains(res.Kept, k) {
			t.Errorf("%s of the previous live generation not kept", k)
		}
	}
	verifyRemote(t, f, base, 4)
	// A client that read generation 2's index just before the switch can
	// still resolve through it.
	stillServed(t, base, gen2)

	// Rollback protection: an older site is refused, and nothing moves.
	srv.Reset()
	_, err = Publish(ctx, site2, target, Options{})
	if !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), "lower than the serial") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("older site: %v", err)
	}
	if len(srv.PutOrder()) != 0 {
		t.Fatalf("a refused publish uploaded %v", srv.PutOrder())
	}
	if _, err := Publish(ctx, site2, target, Options{Force: true}); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if r := verifyRemote(t, f, base, 3); r.Serial != gen2Serial(t, site2) {
		t.Fatalf("forced rollback serves serial %d", r.Serial)
	}
}

func gen2Serial(t *testing.T, site string) int64 {
	return testutil.ReadRoot(t, site).Serial
}

// metadata lists a site's content-addressed metadata and digest-named
// root signatures.
func metadata(t *testing.T, site string) map[string]bool {
	out := map[string]bool{}
	files, err := walk(context.Background(), site)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		// Partial log tiles too: a generation's readers need them.
		if (index.Immutable(f.key) || index.KindOf(f.key) == index.KindLogPartialTile) && !isReleaseFile(f.key) {
			out[f.key] = true
		}
	}
	return out
}

func TestPublishRefusals(t *testing.T) {
	srv := s3test.Start(t, "packs")
	ctx := context.Background()
	f := newFixture(t)
	site1 := f.twoPacks(t)
	target := newS3(t, srv, "r")
	if _, err := Publish(ctx, site1, target, Options{}); err != nil {
		t.Fatal(err)
	}

	// A build from scratch that lost a release (no history, no previous).
	g := newFixture(t)
	g.signer, g.pub = f.signer, f.pub
	g.pack("calico", "1.0.0", "a: 1\n")
	g.repo.Commit("c")
	lost := filepath.Join(g.tmp, "lost")
	if _, err := build.Run(ctx, build.Options{Repo: g.repo.Dir, Out: lost, Registry: "pub", Signer: g.signer, GeneratedAt: f.t0.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	if _, err := Publish(ctx, lost, target, Options{}); !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), "lists 1 releases but s3://packs/r publishes 2") {
		t.Fatalf("lost releases: %v", err)
	}

	// Same serial, other content: two builds that diverged.
	g.pack("calico", "1.0.0", "a: 1\n")
	g.pack("other", "1.0.0", "o: 1\n")
	g.pack("metallb", "0.13.0", "b: 1\n")
	g.repo.Commit("c2")
	diverged := filepath.Join(g.tmp, "diverged")
	if _, err := build.Run(ctx, build.Options{Repo: g.repo.Dir, Out: diverged, Registry: "pub", Signer: g.signer, GeneratedAt: f.t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, diverged, target, Options{}); !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), "both have serial") {
		t.Fatalf("diverged: %v", err)
	}

	// A published archive never changes: same name@version, other content,
	// refused before anything is uploaded, even with --force.
	g.pack("calico", "1.0.0", "a: changed\n")
	g.repo.Commit("c3")
	changed := filepath.Join(g.tmp, "changed")
	if _, err := build.Run(ctx, build.Options{Repo: g.repo.Dir, Out: changed, Registry: "pub", Signer: g.signer, GeneratedAt: f.t0.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, changed, target, Options{Force: true}); !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), "packs/calico/1.0.0/calico-1.0.0.tar.gz") {
		t.Fatalf("changed archive: %v", err)
	}
	if len(srv.PutOrder()) != 0 {
		t.Fatalf("refused publishes uploaded %v", srv.PutOrder())
	}
	verifyRemote(t, f, srv.URL()+"/r", 2)

	// Not a site, or a site that does not hold what its index lists.
	if _, err := Publish(ctx, t.TempDir(), target, Options{}); !errors.Is(err, ErrNotSite) || !strings.Contains(err.Error(), "packgen build") {
		t.Fatalf("empty dir: %v", err)
	}
	// A directory of packs (the build's input): the hint never names it
	// as --out, where a build would refuse it.
	packsDir := filepath.Join(t.TempDir(), "packs")
	if err := os.MkdirAll(filepath.Join(packsDir, "hello-1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(packsDir, "hello-1.0.0", "pack.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, packsDir, target, Options{}); !errors.Is(err, ErrNotSite) || !strings.Contains(err.Error(), "`packgen build --packs-dir "+packsDir+" --out site`") || strings.Contains(err.Error(), "--out "+packsDir) {
		t.Fatalf("a packs dir: %v", err)
	}
	broken := filepath.Join(t.TempDir(), "broken")
	if _, err := Publish(ctx, site1, DirTarget{Dir: broken}, Options{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(broken, "packs/metallb/0.13.0/metallb-0.13.0.tar.gz"))
	if _, err := Publish(ctx, broken, newS3(t, srv, "other"), Options{}); !errors.Is(err, ErrNotSite) || !strings.Contains(err.Error(), "metallb-0.13.0.tar.gz, which is missing") {
		t.Fatalf("incomplete site: %v", err)
	}

	// An assets/app.js changed after the build (attackS F1b: it runs on
	// every catalogue page, CSP or not): refused, naming it.
	edited := filepath.Join(t.TempDir(), "edited")
	if _, err := Publish(ctx, site1, DirTarget{Dir: edited}, Options{}); err != nil {
		t.Fatal(err)
	}
	testutil.Must(t, os.MkdirAll(filepath.Join(edited, "assets"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(edited, "assets", "app.js"), []byte(`document.title="PWNED"`), 0o644))
	srv.Reset()
	if _, err := Publish(ctx, edited, newS3(t, srv, "other"), Options{}); !errors.Is(err, ErrAssetChanged) || !errors.Is(err, ErrNotSite) || !strings.Contains(err.Error(), "assets/app.js is not the app.js this packgen's catalogue writes") {
		t.Fatalf("edited assets/app.js: %v", err)
	}
	if len(srv.PutOrder()) != 0 {
		t.Fatalf("a refused publish uploaded %v", srv.PutOrder())
	}

	// A page edited, or added, between build and publish: the site's
	// signed catalogue manifest lists other bytes, or none; and the
	// manifest of another build: refused, naming the file. With the
	// registry's public key (--source-key), the manifest is read as
	// verify --site reads it (package walk): one edited together with a
	// page, or unsigned, is refused too; and a signed site whose
	// manifest is gone is refused with or without the key.
	pub, err := sign.LoadPublicKey(f.pub)
	testutil.Must(t, err)
	editPage := func(site string) {
		testutil.Must(t, os.WriteFile(filepath.Join(site, "packs", "calico", "index.html"), []byte("<script>evil()</script>"), 0o644))
	}
	pageAndManifest := func(site string) {
		testutil.EditCataloguePage(t, site, "packs/calico/index.html", []byte("<script>evil()</script>"))
	}
	remove := func(rel string) func(string) {
		return func(site string) { testutil.Must(t, os.Remove(filepath.Join(site, rel))) }
	}
	// "signed" turned false after the build, its signatures left beside
	// it (and the catalogue's manifest, which names the signed
	// index.json, removed): index.json changed after signing, as
	// verify --site says (walk's RootStep), with the key or without; and
	// with a signature named by its new digest copied in, one that says
	// it is unsigned beside its signature (walk's RootClaim).
	unsignedRoot := func(site string) {
		testutil.EditRoot(t, site, func(r *index.Root) { r.Signed = false })
		for _, rel := range []string{index.CatalogueFile, index.CatalogueFile + ".sig", index.CatalogueFile + ".sigstore.json"} {
			testutil.Must(t, os.Remove(filepath.Join(site, rel)))
		}
	}
	olderManifest := func(site string) {
		for _, rel := range []string{index.CatalogueFile, index.CatalogueFile + ".sig", index.CatalogueFile + ".sigstore.json", "index.html"} {
			testutil.Must(t, os.WriteFile(filepath.Join(site, rel), testutil.ReadFile(t, filepath.Join(site1, rel)), 0o644))
		}
	}
	// A later build has one release more: its log, one entry more.
	f.pack("cilium", "1.0.0", "c: 1\n")
	_, err = f.repo.Commit("cilium")
	testutil.Must(t, err)
	for _, tc := range []struct {
		name, want string
		later      bool           // tamper with a later build (one release more): another index.json
		key        *sign.Verifier // Options.Verify
		sentinel   error          // beside ErrNotSite
		tamper     func(site string)
	}{
		{"a page edited", "packs/calico/index.html is not the file " + index.CatalogueFile + " lists", false, nil, ErrCatalogueChanged, editPage},
		{"a page added", "packs/metallb/logo.png is not listed in " + index.CatalogueFile, false, nil, ErrCatalogueChanged, func(site string) {
			testutil.Must(t, os.WriteFile(filepath.Join(site, "packs", "metallb", "logo.png"), []byte("png"), 0o644))
		}},
		// attackV F7: any other file in the catalogue's directories is
		// served from the registry's origin too, whatever its name.
		{"a page of another name added in a pack's directory", "edited: packs/calico/evil.html in a directory the catalogue or the log owns (assets/, packs/NAME/, log/), which " + index.CatalogueFile + " does not list", false, nil, ErrCatalogueChanged, func(site string) {
			testutil.Must(t, os.WriteFile(filepath.Join(site, "packs", "calico", "evil.html"), []byte("<script>evil()</script>"), 0o644))
		}},
		{"a script added under assets/, and a page in a release's directory", "assets/x/evil.js, packs/metallb/0.13.0/evil.html in a directory the catalogue or the log owns", false, pub, ErrCatalogueChanged, func(site string) {
			filetest.Write(t, site, map[string]string{"assets/x/evil.js": "evil()", "packs/metallb/0.13.0/evil.html": "<script>evil()</script>"})
		}},
		{"an older build's manifest and pages", index.ErrCatalogueGeneration.Error(), true, nil, ErrCatalogueChanged, olderManifest},
		{"an older build's manifest and pages, the key given", index.ErrCatalogueGeneration.Error(), true, pub, ErrCatalogueChanged, olderManifest},
		{"a page and the manifest edited together, the key given", "the manifest or its signature was changed after the build", false, pub, ErrCatalogueUnverified, pageAndManifest},
		{"the manifest's signature deleted, the key given", "missing, though the registry has a key", false, pub, ErrCatalogueUnverified, remove(index.CatalogueFile + ".sig")},
		{"the manifest deleted", index.CatalogueFile + " is missing, though index.json is signed and the site has a catalogue (index.html, packs/calico/index.html, packs/metallb/index.html)", false, nil, ErrCatalogueUnverified, remove(index.CatalogueFile)},
		{"the manifest deleted, the key given", "the next build writes the manifest", false, pub, ErrCatalogueUnverified, remove(index.CatalogueFile)},
		{"signed turned false, its signatures left beside it", ", the signature named by its digest, is missing, and index.json.sig is there (whether it signs index.json takes the key to tell); index.json was modified after signing", false, nil, sign.ErrBadSignature, unsignedRoot},
		{"signed turned false, the key given", ", the signature named by its digest, is missing, and index.json.sig does not sign it; index.json was modified after signing", false, pub, sign.ErrBadSignature, unsignedRoot},
		{"signed turned false, a signature named by its digest copied in", `index.json says it is unsigned ("signed": false), but signatures/`, false, nil, ErrStraySignature, func(site string) {
			signed := filepath.Join(site, filepath.FromSlash(index.RootSignaturePath(index.Digest(testutil.ReadFile(t, filepath.Join(site, index.RootFile))))))
			unsignedRoot(site)
			named := filepath.Join(site, filepath.FromSlash(index.RootSignaturePath(index.Digest(testutil.ReadFile(t, filepath.Join(site, index.RootFile))))))
			testutil.Must(t, os.Rename(signed, named))
		}},
		{"signed, both root signatures deleted", "nor index.json.sig is there: clients with the registry's key refuse it as unsigned", false, nil, ErrMissingSignature, func(site string) {
			root := testutil.ReadFile(t, filepath.Join(site, index.RootFile))
			remove(index.RootSignaturePath(index.Digest(root)))(site)
			remove(index.RootFile + ".sig")(site)
		}},
		{"index.json under another key", "index.json does not verify under --source-key", false, testutil.NewKey(t).Verifier, ErrNotSite, func(string) {}},
		// attackX F2: below log/, only the log's own names (a tile's
		// by tlog's parser); on S3 too, where it would be served.
		{"files of no log file's name below log/", "log/evil.html, log/tile/8/x/evil.html in a directory the catalogue or the log owns", false, pub, ErrCatalogueChanged, func(site string) {
			filetest.Write(t, site, map[string]string{"log/tile/8/x/evil.html": "<script>evil()</script>", "log/evil.html": "x"})
		}},
		// attackX F3: the latest-shard copy is the shard's bytes.
		{"the latest-shard copy edited", "packs/calico/index.json is not a copy of packs/calico/shards/", false, pub, ErrNotSite, func(site string) {
			filetest.WriteFile(t, filepath.Join(site, "packs/calico/index.json"), `{"name":"calico","releases":[{"version":"9.9.9","archive":{"path":"https://evil.example/calico.tgz"}}]}`)
		}},
		// attackX F4: an older checkpoint, genuinely signed, and junk
		// copies of the root's and the catalogue's signatures.
		{"an older build's checkpoint", "a tree of 2 entries", true, pub, translog.ErrCheckpoint, func(site string) {
			testutil.Must(t, os.WriteFile(filepath.Join(site, translog.CheckpointPath), testutil.ReadFile(t, filepath.Join(site1, translog.CheckpointPath)), 0o644))
		}},
		{"index.json.sig another's", index.RootFile + ".sig is not a copy of signatures/", false, pub, sign.ErrBadSignature, func(site string) {
			testutil.Must(t, os.WriteFile(filepath.Join(site, index.RootFile+".sig"), testutil.ReadFile(t, filepath.Join(site, index.CatalogueFile+".sig")), 0o644))
		}},
		{"index.json.sigstore.json junk", index.RootFile + ".sigstore.json: bad signature: not a Sigstore bundle carrying the signature in", false, nil, sign.ErrBadSignature, func(site string) {
			filetest.WriteFile(t, filepath.Join(site, index.RootFile+".sigstore.json"), "{}")
		}},
		// A copy that cannot be read within its bound is that, no bad
		// signature (checked below).
		{"index.json.sig too large", index.RootFile + ".sig: " + index.ErrTooLarge.Error(), false, nil, index.ErrTooLarge, func(site string) {
			filetest.WriteFile(t, filepath.Join(site, index.RootFile+".sig"), strings.Repeat("x", sign.MaxSigFileSize+1))
		}},
		// verify --site checks a release's bundle (walk's BundleOf).
		{"a release's bundle junk", "packs/calico/1.0.0/calico-1.0.0.tar.gz.sigstore.json: bad signature: not a Sigstore bundle carrying the signature in calico-1.0.0.tar.gz.sig", false, nil, sign.ErrBadSignature, func(site string) {
			filetest.WriteFile(t, filepath.Join(site, "packs/calico/1.0.0/calico-1.0.0.tar.gz.sigstore.json"), "{}")
		}},
		// A .sig and its bundle swapped together (another release's
		// pair, which agree): under the key, the .sig must sign the
		// archive the signed shard pins.
		{"a release's .sig and bundle another release's", "calico@1.0.0: packs/calico/1.0.0/calico-1.0.0.tar.gz.sig does not sign the archive its signed shard pins", false, pub, sign.ErrBadSignature, func(site string) {
			for _, ext := range []string{".sig", ".sigstore.json"} {
				testutil.Must(t, os.WriteFile(filepath.Join(site, "packs/calico/1.0.0/calico-1.0.0.tar.gz"+ext), testutil.ReadFile(t, filepath.Join(site, "packs/metallb/0.13.0/metallb-0.13.0.tar.gz"+ext)), 0o644))
			}
		}},
		// Checked on o.Jobs at once: either refusal stops the publish.
		{"every release's bundle junk", ".tar.gz.sigstore.json: bad signature: not a Sigstore bundle carrying the signature in", false, pub, sign.ErrBadSignature, func(site string) {
			filetest.WriteFile(t, filepath.Join(site, "packs/calico/1.0.0/calico-1.0.0.tar.gz.sigstore.json"), "{}")
			filetest.WriteFile(t, filepath.Join(site, "packs/metallb/0.13.0/metallb-0.13.0.tar.gz.sigstore.json"), "{}")
		}},
		{"the manifest's bundle another's", index.CatalogueFile + ".sigstore.json: bad signature: not a Sigstore bundle carrying the signature in " + index.CatalogueFile + ".sig", false, pub, ErrCatalogueUnverified, func(site string) {
			testutil.Must(t, os.WriteFile(filepath.Join(site, index.CatalogueFile+".sigstore.json"), testutil.ReadFile(t, filepath.Join(site, index.RootFile+".sigstore.json")), 0o644))
		}},
	} {
		edited := filepath.Join(t.TempDir(), "edited")
		testutil.CopyDir(t, site1, edited)
		if tc.later {
			edited = filepath.Join(t.TempDir(), "later")
			_, err := build.Run(ctx, build.Options{Repo: f.repo.Dir, Out: edited, Previous: site1, Registry: "pub", Signer: f.signer, GeneratedAt: f.t0.Add(96 * time.Hour), Site: catalogue})
			testutil.Must(t, err)
		}
		tc.tamper(edited)
		srv.Reset()
		_, err := Publish(ctx, edited, newS3(t, srv, "other"), Options{Verify: tc.key})
		if !errors.Is(err, tc.sentinel) || !errors.Is(err, ErrNotSite) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.sentinel, tc.want)
		}
		if tc.sentinel == index.ErrTooLarge && errors.Is(err, sign.ErrBadSignature) {
			t.Errorf("%s: %v is no bad signature", tc.name, err)
		}
		// What to do about a bundle, said once (walk's words for verify
		// --site are not publish's).
		if n := strings.Count(err.Error(), "rebuild it with packgen build") + strings.Count(err.Error(), "build the site again") + strings.Count(err.Error(), "copy the file from the build"); (strings.Contains(tc.name, "bundle") || strings.Contains(tc.name, "signature deleted")) && n > 1 {
			t.Errorf("%s: advice given %d times: %v", tc.name, n, err)
		}
		if len(srv.PutOrder()) != 0 {
			t.Fatalf("%s: a refused publish uploaded %v", tc.name, srv.PutOrder())
		}
	}
	// Without the key, a page and the manifest edited together cannot be
	// told from a build's: published, with a warning saying how to have
	// them verified (docs/SECURITY.md); the untouched site verifies.
	// Files at the top that are none of the catalogue's (a CNAME, a web
	// root's own page) are published, and listed as no part of the
	// registry (attackV F7).
	for _, tc := range []struct {
		name    string
		key     *sign.Verifier
		tamper  func(string)
		warning bool
		extra   []string
	}{
		{"edited together, no key", nil, pageAndManifest, true, []string{}},
		{"as built, the key given", pub, func(string) {}, false, []string{}},
		{"a CNAME and a page at the top, the key given", pub, func(site string) {
			filetest.Write(t, site, map[string]string{"CNAME": "packs.example", "login.html": "<form>", "docs/x.html": "x"})
		}, false, []string{"CNAME", "docs/x.html", "login.html"}},
	} {
		site := filepath.Join(t.TempDir(), "site")
		testutil.CopyDir(t, site1, site)
		tc.tamper(site)
		var log strings.Builder
		res, err := Publish(ctx, site, DirTarget{Dir: filepath.Join(t.TempDir(), "www")}, Options{Verify: tc.key, Log: &log})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(res.Extra, tc.extra) || !slices.Equal(slices.DeleteFunc(slices.Clone(tc.extra), func(p string) bool { return slices.Contains(res.Uploaded, p) }), []string{}) {
			t.Errorf("%s: extra %q, want %q, all uploaded (%q)", tc.name, res.Extra, tc.extra, res.Uploaded)
		}
		if got := strings.Contains(log.String(), "warning: "+site+": index.json and "+index.CatalogueFile+" were not verified (publish was given no key)"); got != tc.warning {
			t.Errorf("%s: warning %v, want %v:\n%s", tc.name, got, tc.warning, log.String())
		}
	}

	// A prefix of a bucket holding others' files at the site's paths and
	// no index.json: refused before any upload.
	srv.Reset()
	foreign := newS3(t, srv, "web")
	feed := []byte("<h1>ours</h1>")
	md, sh := md5.Sum(feed), sha256.Sum256(feed)
	if err := foreign.Put(ctx, "index.html", strings.NewReader(string(feed)), PutInfo{Size: int64(len(feed)), MD5: hex.EncodeToString(md[:]), SHA256: hex.EncodeToString(sh[:])}); err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	if _, err := Publish(ctx, site1, foreign, Options{}); !errors.Is(err, ErrOverwrite) || !strings.Contains(err.Error(), "s3://packs/web holds no index.json") || !strings.Contains(err.Error(), ": index.html.") {
		t.Fatalf("publish over others' index.html: %v", err)
	}
	if len(srv.PutOrder()) != 0 {
		t.Fatalf("the refused publish uploaded %v", srv.PutOrder())
	}

	// A remote index.json that is not a packgen index.
	junk := DirTarget{Dir: t.TempDir()}
	os.WriteFile(filepath.Join(junk.Dir, "index.json"), []byte("<html>"), 0o644)
	if _, err := Publish(ctx, site1, junk, Options{}); err == nil || !strings.Contains(err.Error(), "not a packgen registry index") {
		t.Fatalf("junk remote index: %v", err)
	}
}

func TestS3Errors(t *testing.T) {
	srv := s3test.Start(t, "packs")
	ctx := context.Background()
	f, site := calicoSite(t)

	cases := []struct {
		name, key, secret, bucket, want string
	}{
		{"wrong secret", s3test.AccessKey, "wrong", "packs", "SignatureDoesNotMatch"},
		{"unknown key", "NOSUCHKEY", s3test.SecretKey, "packs", "InvalidAccessKeyId"},
		{"missing bucket", s3test.AccessKey, s3test.SecretKey, "nope", `bucket "nope" does not exist`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", c.key)
			t.Setenv("AWS_SECRET_ACCESS_KEY", c.secret)
			target, err := NewS3(ctx, S3Options{Bucket: c.bucket, Endpoint: srv.Server.URL, PathStyle: true})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Publish(ctx, site, target, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		target, err := NewS3(ctx, S3Options{Bucket: "packs", Endpoint: srv.Server.URL, PathStyle: true})
		if err == nil {
			_, err = Publish(ctx, site, target, Options{})
		}
		if !errors.Is(err, ErrNoCredentials) || strings.Contains(err.Error(), "operation error") {
			t.Fatalf("got %v, want ErrNoCredentials without the SDK's chain", err)
		}
	})
	t.Run("endpoint from AWS_ENDPOINT_URL", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL", srv.Server.URL)
		if !CustomEndpoint("") {
			t.Fatal("AWS_ENDPOINT_URL not seen")
		}
		target, err := Open(ctx, "s3://packs/env/", DestOptions{S3: S3Options{PathStyle: true}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Publish(ctx, site, target, Options{}); err != nil {
			t.Fatal(err)
		}
		verifyRemote(t, f, srv.URL()+"/env", 1)
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	s3test.Env(t)
	for _, c := range []struct {
		dest, want, err string
	}{
		{"s3://bucket/some/prefix/", "s3://bucket/some/prefix", ""},
		{"s3://bucket", "s3://bucket", ""},
		{"/srv/www", "/srv/www", ""},
		{"file:///srv/www", "/srv/www", ""},
		{"file://localhost/srv/www", "/srv/www", ""},
		{"s3://", "", "not an s3://BUCKET/PREFIX URL"},
		{"s3://b/a/../c", "", "segment"},
		{"s3://b//c", "", "segment"},
		{"s3://user@b/c", "", "not an s3://BUCKET/PREFIX URL"},
		{"https://example.com/site", "", "give oci://REGISTRY/BASE, s3://BUCKET/PREFIX"},
		{"gs://bucket", "", "give oci://REGISTRY/BASE, s3://BUCKET/PREFIX"},
		{"file://host/x", "", "not a file:///PATH URL"},
		{"", "", "no destination"},
		// A bucket or registry typed without its scheme is no directory
		// to create from nothing: refused, the URL forms named.
		{"my-packs/registry", "", "my-packs/registry: no such directory, nor its parent my-packs: a bucket or registry is a URL (s3://my-packs/registry, oci://my-packs/registry); to publish into a new directory, create my-packs first"},
		{"127.0.0.1:5000/acme", "", "(s3://127.0.0.1:5000/acme, oci://127.0.0.1:5000/acme)"},
		{"www", "www", ""}, // a new directory in one that exists: a first publish
	} {
		target, err := Open(ctx, c.dest, DestOptions{})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: got %v, want error %q", c.dest, err, c.err)
			}
			continue
		}
		if err != nil || target.String() != c.want {
			t.Errorf("%q: %v %v", c.dest, target, err)
		}
	}
	if _, err := NewS3(ctx, S3Options{Bucket: "b", Endpoint: "127.0.0.1:9000"}); err == nil || !strings.Contains(err.Error(), "http(s)://") {
		t.Errorf("endpoint without scheme: %v", err)
	}
}

// TestCheckOptions: an option another kind of destination uses is
// refused, naming the option and the destinations it is for; options no
// destination claims (--dry-run, --prune…) go with every one.
func TestCheckOptions(t *testing.T) {
	for _, c := range []struct {
		dest  string
		given []string
		err   string // "": accepted
	}{
		{"/srv/www", []string{"dry-run", "prune", "force", "jobs", "output", "source-key"}, ""},
		{"s3://b/p", []string{"endpoint", "region", "path-style", "dry-run", "stall-timeout", "timeout"}, ""},
		{"oci://r.example/acme", []string{"key", "source-key", "plain-http", "ca-file", "username", "prune", "stall-timeout", "timeout"}, ""},
		{"/srv/www", []string{"timeout"}, ""},
		{"/srv/www", []string{"stall-timeout"}, "--stall-timeout is for oci://REGISTRY/BASE, s3://BUCKET/PREFIX"},
		{"/srv/www", []string{"key", "plain-http", "ca-file", "username", "endpoint", "dry-run"}, "publishing to /srv/www (a directory) takes no such option: --key is for oci://REGISTRY/BASE; --plain-http is for oci://REGISTRY/BASE; --ca-file is for oci://REGISTRY/BASE; --username is for oci://REGISTRY/BASE; --endpoint is for s3://BUCKET/PREFIX"},
		{"file:///srv/www", []string{"region"}, "--region is for s3://BUCKET/PREFIX"},
		{"oci://r.example/acme", []string{"endpoint"}, "publishing to oci://r.example/acme (oci://REGISTRY/BASE) takes no such option: --endpoint is for s3://BUCKET/PREFIX"},
		{"s3://b/p", []string{"plain-http", "source-key"}, "publishing to s3://b/p (s3://BUCKET/PREFIX) takes no such option: --plain-http is for oci://REGISTRY/BASE; leave it out"},
		{"/srv/www", []string{"source-key"}, ""}, // the key every destination verifies the site under
		{"gs://b", nil, "cannot publish to"},
	} {
		err := CheckOptions(c.dest, c.given)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s %v: %v", c.dest, c.given, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %v: got %v, want %q", c.dest, c.given, err, c.err)
		case err != nil && c.dest != "gs://b" && !errors.Is(err, ErrOption):
			t.Errorf("%s %v: %v is not ErrOption", c.dest, c.given, err)
		}
	}
}

func TestPublishDir(t *testing.T) {
	f, site := calicoSite(t)
	dst := filepath.Join(t.TempDir(), "www")
	ctx := context.Background()
	res, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{})
	if err != nil || len(res.Uploaded) == 0 {
		t.Fatal(err)
	}
	if rep, err := client.VerifySite(ctx, "file://"+dst, f.verifier(t)); err != nil || len(rep.Problems) != 0 {
		t.Fatalf("%v %+v", err, rep)
	}
	res, _ = Publish(ctx, site, DirTarget{Dir: dst}, Options{})
	if len(res.Uploaded) != 0 {
		t.Errorf("second publish uploaded %v", res.Uploaded)
	}
	// A leftover temp file of a killed publish is neither published nor
	// listed (--prune removes it: below).
	os.WriteFile(filepath.Join(dst, "packs", ".tmp-123"), []byte("x"), 0o644)
	if objs, _ := (DirTarget{Dir: dst}).List(ctx); len(objs) != res.Unchanged {
		t.Errorf("listing has %d objects, site %d", len(objs), res.Unchanged)
	}
	if _, err := (DirTarget{Dir: dst}).Get(ctx, "../etc/passwd"); err == nil {
		t.Error("key escaping the directory accepted")
	}
	// A twin planted in the directory with the page's MD5 (attackX F8:
	// a collision a pack author can make of a logo's bytes): the
	// directory's listing has the SHA-256, which decides.
	page := filepath.Join(dst, "packs", "calico", "index.html")
	genuine := testutil.ReadFile(t, page)
	testutil.Must(t, os.WriteFile(page, bytes.Repeat([]byte("X"), len(genuine)), 0o644))
	sum := md5.Sum(genuine)
	twin := md5Twin{DirTarget{Dir: dst}, "packs/calico/index.html", hex.EncodeToString(sum[:])}
	if res, err := Publish(ctx, site, twin, Options{}); err != nil || !slices.Equal(res.Uploaded, []string{"packs/calico/index.html"}) || !bytes.Equal(testutil.ReadFile(t, page), genuine) {
		t.Errorf("an MD5 twin in the directory: %v, uploaded %v", err, res.Uploaded)
	}
	// A site named through a link ("latest" -> a build) is the build's
	// files, not an empty site: the same files, nothing to upload.
	latest := filepath.Join(t.TempDir(), "latest")
	if err := os.Symlink(site, latest); err != nil {
		t.Fatal(err)
	}
	res, err = Publish(ctx, latest, DirTarget{Dir: dst}, Options{})
	if err != nil || len(res.Uploaded) != 0 || res.Unchanged == 0 {
		t.Errorf("publish through a link to the site: %v, %+v", err, res)
	}

	// What killed publishes left (their temp files): removed by the next
	// --prune once a minute old and held by no live publish; a link of
	// that name is neither followed nor removed.
	stale := filepath.Join(dst, "packs", ".tmp-123")
	fresh := filepath.Join(dst, "packs", "calico", ".tmp-fresh")
	held := filepath.Join(dst, "index", ".tmp-held")
	outside := filepath.Join(t.TempDir(), "outside")
	for _, f := range []string{fresh, held, outside} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dst, ".tmp-link")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, f := range []string{stale, held, outside} {
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
	hf, err := os.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	if !stalelock.HoldFile(hf) {
		t.Skip("no file locks here")
	}
	for i, step := range []struct {
		o       Options
		deleted []string
		gone    bool
	}{
		{Options{}, []string{}, false},
		{Options{Prune: true, DryRun: true}, []string{"packs/.tmp-123"}, false},
		{Options{Prune: true}, []string{"packs/.tmp-123"}, true},
		{Options{Prune: true}, []string{}, true},
	} {
		res, err := Publish(ctx, site, DirTarget{Dir: dst}, step.o)
		if err != nil || !slices.Equal(res.Deleted, step.deleted) {
			t.Errorf("step %d, %+v: deleted %v, want %v (%v)", i, step.o, res.Deleted, step.deleted, err)
		}
		if _, err := os.Stat(stale); step.gone != os.IsNotExist(err) {
			t.Errorf("step %d, %+v: the killed publish's temp file: %v", i, step.o, err)
		}
	}
	for _, f := range []string{fresh, held, outside, filepath.Join(dst, ".tmp-link")} {
		if _, err := os.Lstat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	// A stranger's report: the first --prune into a directory of other
	// files deleted them. With no index.json there before, nothing there
	// is the registry's; after, prune deletes only what a site holds.
	www := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	theirs := map[string]string{"notes.txt": "secret", "docs/x.md": "# x", "registry.pub": "key", "packs/hello-1.0.0/logo.png": "png", "CNAME": "packs.example",
		// The web root's own stylesheet beside the catalogue's
		// (assets/style.css…): only those are packgen's to prune.
		"assets/brand.css": "body { color: teal }"}
	for k, v := range theirs {
		must(os.MkdirAll(filepath.Dir(filepath.Join(www, k)), 0o755))
		must(os.WriteFile(filepath.Join(www, k), []byte(v), 0o644))
	}
	for _, o := range []Options{{Prune: true, DryRun: true}, {Prune: true}, {Prune: true}} {
		var log strings.Builder
		o.Log = &log
		res, err := Publish(ctx, site, DirTarget{Dir: www}, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Deleted) != 0 || len(res.Kept) != len(theirs) {
			t.Errorf("%+v: deleted %v, kept %v", o, res.Deleted, res.Kept)
		}
		if first := len(res.Uploaded) > 0; !strings.Contains(log.String(), "warning: --prune: ") || first != strings.Contains(log.String(), "held no index.json before this publish") {
			t.Errorf("%+v: the log does not say why nothing was deleted:\n%s", o, log.String())
		}
	}
	for k, v := range theirs {
		if data, err := os.ReadFile(filepath.Join(www, k)); err != nil || string(data) != v {
			t.Errorf("%s after prune: %q, %v", k, data, err)
		}
	}
	// A catalogue's asset an earlier publish left (this site has no
	// catalogue) is packgen's, and goes; the web root's stays.
	must(os.WriteFile(filepath.Join(www, "assets", "app.js"), []byte("// catalogue"), 0o644))
	if res, err := Publish(ctx, site, DirTarget{Dir: www}, Options{Prune: true}); err != nil || !slices.Equal(res.Deleted, []string{"assets/app.js"}) {
		t.Errorf("prune of the catalogue's assets/app.js: %v, deleted %v", err, res.Deleted)
	}
	if _, err := os.Stat(filepath.Join(www, "assets", "brand.css")); err != nil {
		t.Errorf("assets/brand.css after prune: %v", err)
	}

	// A web root whose own index.html the catalogue's would replace: no
	// registry is there (no index.json), so the publish is refused before
	// anything is written, dry run or not; --force replaces it.
	webroot := t.TempDir()
	must(os.WriteFile(filepath.Join(webroot, "index.html"), []byte("<h1>our team</h1>"), 0o644))
	for _, o := range []Options{{DryRun: true}, {Prune: true}} {
		_, err := Publish(ctx, site, DirTarget{Dir: webroot}, o)
		if !errors.Is(err, ErrOverwrite) || !strings.Contains(err.Error(), "holds 1 file(s) the site would replace with other content: index.html") || !strings.Contains(err.Error(), "--force") {
			t.Errorf("%+v: publish over a web root's index.html: %v", o, err)
		}
		if entries, _ := os.ReadDir(webroot); len(entries) != 1 {
			t.Errorf("%+v: the refused publish wrote %d entries", o, len(entries))
		}
	}
	if res, err := Publish(ctx, site, DirTarget{Dir: webroot}, Options{Force: true}); err != nil || !slices.Contains(res.Uploaded, "index.html") {
		t.Errorf("--force over the web root: %v, %+v", err, res)
	}
	// A first publish killed before its root went out, then a rebuild
	// from a newer commit: its pages differ, but the content-addressed
	// files only a packgen publish writes say whose they are.
	unfinished := t.TempDir()
	if _, err := Publish(ctx, site, DirTarget{Dir: unfinished}, Options{}); err != nil {
		t.Fatal(err)
	}
	must(os.Remove(filepath.Join(unfinished, "index.json")))
	must(os.Remove(filepath.Join(unfinished, "log", "checkpoint")))
	f.pack("calico", "1.1.0", "a: 2\n")
	if _, err := Publish(ctx, f.build(t), DirTarget{Dir: unfinished}, Options{}); err != nil {
		t.Errorf("publish over an unfinished first publish: %v", err)
	}
}

// etagless hides MD5s from the listing, as a store does for multipart or
// KMS-encrypted objects, so comparisons fall back to stored SHA-256s.
type etagless struct {
	Target
	stats int
	mu    sync.Mutex
}

func (e *etagless) List(ctx context.Context) (map[string]Object, error) {
	m, err := e.Target.List(ctx)
	for k, o := range m {
		m[k] = Object{Size: o.Size}
	}
	return m, err
}

func (e *etagless) Stat(ctx context.Context, key string) (Object, error) {
	e.mu.Lock()
	e.stats++
	e.mu.Unlock()
	return e.Target.Stat(ctx, key)
}

// TestCompareBySHA256Metadata: whoever can write the bucket sets an
// object's metadata, and S3 lists no MD5 for a multipart upload
// (etagless). A file that changes in place is then compared by the
// SHA-256 checksum S3 checked its upload against, never by the sha256
// metadata (attackX F1): the previous generation's genuinely signed
// index.json (checkpoint, catalogue manifest...) put back with the new
// one's digest as metadata would otherwise stay live through a publish
// that reports success.
func TestCompareBySHA256Metadata(t *testing.T) {
	srv := s3test.Start(t, "packs")
	ctx := context.Background()
	f, site1, site2 := calicoSites(t)
	s3t := newS3(t, srv, "m")
	target := &etagless{Target: s3t}
	if _, err := Publish(ctx, site1, target, Options{}); err != nil {
		t.Fatal(err)
	}
	// The attacker: each file of generation 1 that generation 2 changes
	// in place at the same size, written again with generation 2's
	// digest as its metadata; a page of theirs likewise.
	page := testutil.ReadFile(t, filepath.Join(site2, "packs", "calico", "index.html"))
	plant := map[string][]byte{"packs/calico/index.html": bytes.Repeat([]byte("X"), len(page))}
	local1, err := walk(ctx, site1)
	testutil.Must(t, err)
	for _, l := range local1 {
		data := testutil.ReadFile(t, filepath.Join(site1, l.key))
		if now, err := os.ReadFile(filepath.Join(site2, l.key)); err == nil && !pinned(l.key) && len(now) == len(data) && !bytes.Equal(now, data) {
			plant[l.key] = data
		}
	}
	for _, k := range []string{index.RootFile, index.LogCheckpoint, index.RootFile + index.SignatureExt} {
		if plant[k] == nil {
			t.Fatalf("%s: generation 2's is not generation 1's size: the attack needs it (planted: %v)", k, slices.Sorted(maps.Keys(plant)))
		}
	}
	for k, data := range plant {
		want := index.Digest(testutil.ReadFile(t, filepath.Join(site2, k)))
		in := &s3.PutObjectInput{Bucket: aws.String("packs"), Key: aws.String("m/" + k), Body: bytes.NewReader(data), Metadata: map[string]string{"sha256": want}}
		testutil.Must(t, rawPut(s3t, in))
		// Claiming the checksum instead: the store checks it.
		in.Body, in.ChecksumSHA256 = bytes.NewReader(data), aws.String(b64(t, want))
		if err := rawPut(s3t, in); err == nil || !strings.Contains(err.Error(), "BadDigest") {
			t.Fatalf("%s stored with a SHA-256 checksum that is not its body's: %v", k, err)
		}
	}
	res, err := Publish(ctx, site2, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range plant {
		if !slices.Contains(res.Uploaded, k) {
			t.Errorf("%s taken as unchanged on the metadata its writer set", k)
		}
	}
	verifyRemote(t, f, srv.URL()+"/m", 2)
	if r := remoteRoot(t, srv.URL()+"/m"); r.Serial != res.Serial {
		t.Fatalf("FREEZE: the live index.json is serial %d, publish reported %d", r.Serial, res.Serial)
	}
	for k := range plant {
		resp, err := http.Get(srv.URL() + "/m/" + k)
		testutil.Must(t, err)
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, testutil.ReadFile(t, filepath.Join(site2, k))) {
			t.Errorf("%s: the bucket's copy stayed live", k)
		}
	}
	// Published again: nothing goes up, every file compared by one Stat
	// (the store's checksum, or a pinned file's metadata) but index.json,
	// which publish reads anyway.
	target.stats = 0
	res, err = Publish(ctx, site2, target, Options{})
	if err != nil || len(res.Uploaded) != 0 || target.stats != res.Unchanged-1 {
		t.Fatalf("republish: %v, uploaded %v, %d stats for %d unchanged files", err, res.Uploaded, target.stats, res.Unchanged)
	}
}

// kmsProxy is a reverse proxy in front of srv that answers as a bucket
// whose objects are encrypted with SSE-KMS does: every ETag (a listing's,
// a HEAD's, a GET's) is 32 hex digits that are no MD5 of the object, and
// an object's HEAD and GET say aws:kms (x-amz-server-side-encryption).
func kmsProxy(t *testing.T, srv *s3test.Server) string {
	up, err := url.Parse(srv.Server.URL)
	testutil.Must(t, err)
	rp := httputil.NewSingleHostReverseProxy(up)
	etag := regexp.MustCompile(`(?i)(&#34;|&quot;|")([0-9a-f]{32})(&#34;|&quot;|")`)
	kms := func(m []byte) []byte {
		sub := etag.FindSubmatch(m)
		s := md5.Sum(sub[2])
		return []byte(string(sub[1]) + hex.EncodeToString(s[:]) + string(sub[3]))
	}
	rp.ModifyResponse = func(r *http.Response) error {
		if e := r.Header.Get("ETag"); e != "" {
			r.Header.Set("ETag", string(kms([]byte(e))))
			r.Header.Set("X-Amz-Server-Side-Encryption", "aws:kms")
		}
		if r.Request.URL.Query().Get("list-type") == "2" {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return err
			}
			b = etag.ReplaceAllFunc(b, kms)
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
			r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		}
		return nil
	}
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	return proxy.URL
}

// TestKMSETags: in a bucket whose default encryption is SSE-KMS the
// listing's ETags are no MD5s (attackY Y-C). The same site published a
// second time went up whole and refused every archive as "already on
// ... with other content" (ErrImmutable): an MD5 that differs now only
// says to ask, and the store's checksum (a HEAD per file, no upload)
// says each is unchanged. An archive whose bytes really differ, without
// a checksum or metadata to say so, is read and hashed: still refused.
func TestKMSETags(t *testing.T) {
	srv := s3test.Start(t, "packs")
	target, err := NewS3(context.Background(), S3Options{Bucket: "packs", Prefix: "kms", Endpoint: kmsProxy(t, srv), PathStyle: true})
	testutil.Must(t, err)
	_, site := calicoSite(t)
	ctx := context.Background()
	if _, err := Publish(ctx, site, target, Options{}); err != nil {
		t.Fatalf("first publish: %v", err)
	}
	srv.Reset()
	res, err := Publish(ctx, site, target, Options{})
	if err != nil || len(res.Uploaded) != 0 {
		t.Fatalf("published again into an SSE-KMS bucket: uploaded %v (%v)", res.Uploaded, err)
	}
	// Every file asked once but index.json, which publish reads.
	if c := srv.Requests(); c.Head != res.Unchanged-1 || c.Get != 1 || c.Put != 0 {
		t.Errorf("republish of %d files sent %+v", res.Unchanged, c)
	}
	key := "packs/calico/1.0.0/calico-1.0.0.tar.gz"
	flipped := testutil.Flipped(t, filepath.Join(site, filepath.FromSlash(key)))
	testutil.Must(t, rawPut(newS3(t, srv, "kms"), &s3.PutObjectInput{Bucket: aws.String("packs"), Key: aws.String("kms/" + key), Body: bytes.NewReader(flipped)}))
	srv.Reset()
	if _, err := Publish(ctx, site, target, Options{}); !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), key) {
		t.Errorf("archive replaced in an SSE-KMS bucket: %v", err)
	}
	if c := srv.Requests(); c.Put != 0 || c.BytesDown < int64(len(flipped)) {
		t.Errorf("the refusal did not read the archive, or wrote: %+v", c)
	}
}

// rawPut writes as whoever can write the bucket would: no checks of packgen's.
func rawPut(t *S3Target, in *s3.PutObjectInput) error {
	_, err := t.client.PutObject(context.Background(), in)
	return err
}

func b64(t *testing.T, hexSum string) string {
	raw, err := hex.DecodeString(hexSum)
	testutil.Must(t, err)
	return base64.StdEncoding.EncodeToString(raw)
}

// statTarget answers Stat with obj and Get with body, counting Stats.
type statTarget struct {
	Target
	obj   Object
	body  []byte
	stats int
}

func (s *statTarget) Stat(context.Context, string) (Object, error) {
	s.stats++
	return s.obj, nil
}

func (s *statTarget) Get(context.Context, string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(s.body)), nil
}

func (s *statTarget) String() string { return "test" }

// md5Twin lists key with the MD5 md5, as if what the directory holds
// there collided with the site's file.
type md5Twin struct {
	DirTarget
	key, md5 string
}

func (m md5Twin) List(ctx context.Context) (map[string]Object, error) {
	l, err := m.DirTarget.List(ctx)
	if o, ok := l[m.key]; ok {
		o.MD5 = m.md5
		l[m.key] = o
	}
	return l, err
}

// TestSameContent: MD5 alone never says a file is unchanged where a
// SHA-256 the destination computed is known (a directory's listing:
// attackX F8, an MD5-colliding twin of a logo planted there), and the
// writer's sha256 metadata says so only of pinned files. An ETag that
// differs from the MD5 only asks (SSE-KMS, attackY Y-C), and right bytes
// served with a writer's headers, or a directory's file someone else
// can change in place, are written again, never a conflict (Y-A).
func TestSameContent(t *testing.T) {
	body := []byte("the site's file")
	m, sh := md5.Sum(body), sha256.Sum256(body)
	md, sha := hex.EncodeToString(m[:]), hex.EncodeToString(sh[:])
	other := index.Digest([]byte("another file"))
	n := int64(len(body))
	const (
		logo  = "packs/calico/logo.png"
		shard = "packs/calico/shards/" + "91000b0a9d8cae8da799d6c1e2afa2c2883c391a7bc4cc938dcabe69c2627aef.json"
		arch  = "packs/calico/1.0.0/calico-1.0.0.tar.gz"
		page  = "packs/calico/index.html"
	)
	pageCT, pageCC := index.ContentType(page), index.CacheControl(page)
	for _, c := range []struct {
		name        string
		key         string
		listed      Object // as List gave it
		stat        Object // as Stat gives it
		body        []byte // as Get gives it
		same, known bool
		stats       int
		why         string // in the reason it is written again
	}{
		{"dir: MD5 twin, SHA-256 differs", logo, Object{Size: n, MD5: md, SHA256: other}, Object{}, nil, false, true, 0, ""},
		{"dir: MD5 twin of a pinned file", shard, Object{Size: n, MD5: md, SHA256: other}, Object{}, nil, false, true, 0, ""},
		{"dir: same", logo, Object{Size: n, MD5: md, SHA256: sha}, Object{}, nil, true, true, 0, ""},
		{"s3: MD5 differs, the store says nothing more", logo, Object{Size: n, MD5: other[:32]}, Object{}, nil, false, true, 1, ""},
		{"s3: MD5 and the store's checksum", logo, Object{Size: n, MD5: md}, Object{Size: n, SHA256: sha}, nil, true, true, 1, ""},
		{"s3: MD5 twin, checksum differs", logo, Object{Size: n, MD5: md}, Object{Size: n, SHA256: other}, nil, false, true, 1, ""},
		{"s3: MD5 and metadata only", logo, Object{Size: n, MD5: md}, Object{Size: n, ClaimedSHA256: sha}, nil, false, false, 1, ""},
		{"s3 multipart: metadata only (F1)", index.LogCheckpoint, Object{Size: n}, Object{Size: n, ClaimedSHA256: sha}, nil, false, false, 1, ""},
		{"s3 multipart: the store's checksum", index.LogCheckpoint, Object{Size: n}, Object{Size: n, SHA256: sha, ClaimedSHA256: other}, nil, true, true, 1, ""},
		{"s3: pinned by MD5", shard, Object{Size: n, MD5: md}, Object{}, nil, true, true, 0, ""},
		{"s3 multipart: pinned by metadata", shard, Object{Size: n}, Object{Size: n, ClaimedSHA256: sha}, nil, true, true, 1, ""},
		{"s3 multipart: archive signature by metadata", arch + ".sig", Object{Size: n}, Object{Size: n, ClaimedSHA256: sha}, nil, true, true, 1, ""},
		{"no digest: archive hashed", arch, Object{Size: n}, Object{Size: n}, body, true, true, 1, ""},
		{"no digest: archive of other bytes", arch, Object{Size: n}, Object{Size: n}, []byte("other bytes of it"), false, true, 1, ""},
		{"no digest: uploaded again", logo, Object{Size: n}, Object{Size: n}, nil, false, false, 1, ""},
		{"size differs", logo, Object{Size: n + 1, SHA256: sha}, Object{}, nil, false, true, 0, ""},
		// attackY Y-C: the ETag of an SSE-KMS or SSE-C object is no MD5.
		{"s3 KMS: archive by the store's checksum", arch, Object{Size: n, MD5: other[:32]}, Object{Size: n, SHA256: sha, ETagNotMD5: true}, nil, true, true, 1, ""},
		{"s3 KMS: archive by metadata", arch, Object{Size: n, MD5: other[:32]}, Object{Size: n, ClaimedSHA256: sha, ETagNotMD5: true}, nil, true, true, 1, ""},
		{"s3 KMS: shard by metadata", shard, Object{Size: n, MD5: other[:32]}, Object{Size: n, ClaimedSHA256: sha, ETagNotMD5: true}, nil, true, true, 1, ""},
		{"s3 KMS: page by the store's checksum", logo, Object{Size: n, MD5: other[:32]}, Object{Size: n, SHA256: sha, ETagNotMD5: true}, nil, true, true, 1, ""},
		{"s3: shard whose MD5 differs", shard, Object{Size: n, MD5: other[:32]}, Object{Size: n, ClaimedSHA256: sha}, nil, false, true, 1, ""},
		{"s3: archive whose ETag differs, no store word: hashed", arch, Object{Size: n, MD5: other[:32]}, Object{Size: n, ClaimedSHA256: sha}, body, true, true, 1, ""},
		{"s3: archive whose ETag differs, other bytes", arch, Object{Size: n, MD5: other[:32]}, Object{Size: n}, []byte("the site's fil_"), false, true, 1, ""},
		// attackY Y-A: right bytes, served otherwise than publish sets.
		{"s3: as publish serves it", page, Object{Size: n, MD5: md}, Object{Size: n, SHA256: sha, Served: &Served{ContentType: "text/html;charset=UTF-8", CacheControl: pageCC}}, nil, true, true, 1, ""},
		{"s3: served as text/plain", page, Object{Size: n, MD5: md}, Object{Size: n, SHA256: sha, Served: &Served{ContentType: "text/plain", CacheControl: pageCC}}, nil, false, false, 1, `Content-Type "text/plain"`},
		{"s3: cached for a year", page, Object{Size: n, MD5: md}, Object{Size: n, SHA256: sha, Served: &Served{ContentType: pageCT, CacheControl: "public, max-age=31536000, immutable"}}, nil, false, false, 1, "Cache-Control"},
		{"s3: gzip encoded", page, Object{Size: n, MD5: md}, Object{Size: n, SHA256: sha, Served: &Served{ContentType: pageCT, CacheControl: pageCC, Extra: []string{"Content-Encoding: gzip"}}}, nil, false, false, 1, "Content-Encoding: gzip"},
		{"s3: archive redirected: written again, no conflict", arch, Object{Size: n, MD5: other[:32]}, Object{Size: n, SHA256: sha, ETagNotMD5: true, Served: &Served{ContentType: "application/gzip", CacheControl: index.CacheControl(arch), Extra: []string{"x-amz-website-redirect-location: /old.tar.gz"}}}, nil, false, false, 1, "redirect"},
		{"index.json read by GET, served as text/plain", index.RootFile, Object{Size: n, SHA256: sha, Served: &Served{ContentType: "text/plain", CacheControl: index.CacheControl(index.RootFile)}}, Object{}, nil, false, false, 0, "text/plain"},
		// attackY Y-A: a directory's file someone else can change in place.
		{"dir: hard link", logo, Object{Size: n, MD5: md, SHA256: sha, Exposed: "a hard link (2 names for one file)"}, Object{}, nil, false, false, 0, "hard link"},
		{"dir: exposed archive of other bytes", arch, Object{Size: n, MD5: md, SHA256: other, Exposed: "writable by group or others (mode 0666)"}, Object{}, nil, false, true, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tg := &statTarget{obj: c.stat, body: c.body}
			f := localFile{key: c.key, size: n, md5: md, sha256: sha}
			v, err := sameContent(context.Background(), tg, f, map[string]Object{c.key: c.listed})
			if err != nil || v.same != c.same || v.known != c.known || tg.stats != c.stats || (v.why != "") != (c.why != "") || !strings.Contains(v.why, c.why) {
				t.Errorf("same %v known %v why %q (%v) after %d stats, want %v %v %q after %d", v.same, v.known, v.why, err, tg.stats, c.same, c.known, c.why, c.stats)
			}
		})
	}
}

func TestParallelWithinStage(t *testing.T) {
	srv := s3test.Start(t, "packs")
	ctx := context.Background()
	f := newFixture(t)
	for i := range 6 {
		f.pack(fmt.Sprintf("p%d", i), "1.0.0", fmt.Sprintf("v: %d\n", i))
	}
	site := f.build(t)
	var mu sync.Mutex
	inFlight, most := 0, 0
	srv.OnPut = func(p string, n int) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	}
	if _, err := Publish(ctx, site, newS3(t, srv, "par"), Options{Jobs: 3}); err != nil {
		t.Fatal(err)
	}
	if most < 2 || most > 3 {
		t.Errorf("at most %d uploads at once, want 2..3", most)
	}
	order := keys(srv.PutOrder(), "/packs/par")
	for i := 1; i < len(order); i++ {
		if stage(order[i]) < stage(order[i-1]) {
			t.Errorf("stages interleaved: %s after %s", order[i], order[i-1])
		}
	}
	if order[len(order)-2] != "index.json" || order[len(order)-1] != "log/checkpoint" {
		t.Errorf("last uploads %v, want index.json then log/checkpoint", order[len(order)-2:])
	}
}

// Two publishes overlap: the one that switches index.json second finds it
// changed since it started and stops instead of replacing a newer index.
func TestOverlappingPublishes(t *testing.T) {
	srv := s3test.Start(t, "packs")
	ctx := context.Background()
	f, site1, site2 := calicoSites(t)
	f.pack("calico", "1.2.0", "a: 3\n")
	site3 := f.build(t)
	for _, c := range []struct {
		name   string
		target Target
		base   string
	}{
		{"s3", newS3(t, srv, "overlap"), srv.URL() + "/overlap"},
		{"dir", DirTarget{Dir: filepath.Join(t.TempDir(), "www")}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Publish(ctx, site1, c.target, Options{}); err != nil {
				t.Fatal(err)
			}
			// Publishing site2 is slowed down; site3 is published, whole,
			// while site2's first upload is under way.
			var once sync.Once
			var inner error
			slow := &hooked{Target: c.target, before: func() {
				once.Do(func() { _, inner = Publish(ctx, site3, c.target, Options{}) })
			}}
			_, err := Publish(ctx, site2, slow, Options{Jobs: 1})
			if inner != nil {
				t.Fatal(inner)
			}
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "Run it again") {
				t.Fatalf("overlapping publish: %v", err)
			}
			if c.base != "" {
				// The registry verifies; the catalogue the loser uploaded
				// (its pages are mutable, its manifest names its own
				// index.json) does not match until site3 is published
				// again (docs/FORMAT.md, "The catalogue's manifest").
				rep, err := client.VerifySite(ctx, c.base, f.verifier(t))
				testutil.Must(t, err)
				if rep.Root.Serial != gen2Serial(t, site3) || len(rep.Problems) == 0 {
					t.Fatalf("serves serial %d (want site3's), catalogue problems %+v (want some)", rep.Root.Serial, rep.Problems)
				}
				for _, p := range rep.Problems {
					if k := index.KindOf(p.Path); k != index.KindOther && k != index.KindCatalogue {
						t.Errorf("a problem with a registry file after a lost race: %+v", p)
					}
				}
				if _, err := Publish(ctx, site3, c.target, Options{}); err != nil {
					t.Fatal(err)
				}
				verifyRemote(t, f, c.base, 3)
			}
			// Run again: the serial check now refuses the older site.
			if _, err := Publish(ctx, site2, c.target, Options{}); !errors.Is(err, ErrRollback) {
				t.Fatalf("rerun: %v", err)
			}
		})
	}
}

// hooked runs before() ahead of every upload.
type hooked struct {
	Target
	before func()
}

func (h *hooked) Put(ctx context.Context, key string, body io.ReadSeeker, info PutInfo) error {
	h.before()
	return h.Target.Put(ctx, key, body, info)
}

// blind hides every digest, as a store that keeps no metadata nor
// checksums and lists no MD5 would: archives are then downloaded and
// hashed, never blindly replaced; other files are uploaded again.
type blind struct{ etagless }

func (b *blind) Stat(ctx context.Context, key string) (Object, error) {
	o, err := b.Target.Stat(ctx, key)
	return Object{Size: o.Size}, err
}

func TestCompareByDownloadingArchives(t *testing.T) {
	srv := s3test.Start(t, "packs")
	ctx := context.Background()
	_, site := calicoSite(t)
	s3t := newS3(t, srv, "blind")
	target := &blind{etagless{Target: s3t}}
	if _, err := Publish(ctx, site, target, Options{}); err != nil {
		t.Fatal(err)
	}
	// index.json is compared by the bytes publish reads to check the
	// serial: not uploaded again.
	res, err := Publish(ctx, site, target, Options{})
	if err != nil || slices.Contains(res.Uploaded, "packs/calico/1.0.0/calico-1.0.0.tar.gz") || !slices.Contains(res.Uploaded, index.LogCheckpoint) || slices.Contains(res.Uploaded, index.RootFile) {
		t.Fatalf("unknown digests: %v %+v", err, res)
	}
	// Same size, other bytes: found by hashing, refused.
	key := "packs/calico/1.0.0/calico-1.0.0.tar.gz"
	data := testutil.Flipped(t, filepath.Join(site, key))
	other := t.TempDir()
	testutil.Must(t, os.MkdirAll(filepath.Join(other, filepath.Dir(key)), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(other, key), data, 0o644))
	files, err := walk(ctx, other)
	if err != nil || len(files) != 1 || files[0].key != key {
		t.Fatal(files, err)
	}
	src, err := os.OpenRoot(other)
	testutil.Must(t, err)
	defer src.Close()
	if err := put(ctx, s3t, src, files[0], nil, Options{Log: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, site, target, Options{Force: true}); !errors.Is(err, ErrImmutable) {
		t.Fatalf("changed archive behind an unknown digest: %v", err)
	}
}

// A publish past Options.Timeout stops where it is, with
// transport.ErrTimeout naming the limit, and the remote serves the
// generation it served before, whole: index.json goes last.
func TestPublishTimeout(t *testing.T) {
	srv := s3test.Start(t, "packs")
	ctx := context.Background()
	f, site1, site2 := calicoSites(t)
	do := DestOptions{S3: S3Options{Endpoint: srv.Server.URL, PathStyle: true}}
	if _, err := To(ctx, site1, "s3://packs/limit", do, Options{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	var slow atomic.Bool
	slow.Store(true)
	srv.OnPut = func(string, int) {
		if slow.Load() {
			time.Sleep(2 * time.Second)
		}
	}
	start := time.Now()
	_, err := To(ctx, site2, "s3://packs/limit", do, Options{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, transport.ErrTimeout) || !strings.Contains(err.Error(), "the publish to s3://packs/limit did not finish within the time limit of 300ms") {
		t.Fatalf("timed-out publish: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
	slow.Store(false)
	if r := verifyRemote(t, f, srv.URL()+"/limit", 1); r.Serial != gen2Serial(t, site1) {
		t.Errorf("after a timed-out publish the remote serves serial %d, want site1's", r.Serial)
	}
}

// The index.json publish checks is the one it uploads: read first, then
// hashed with the other files, an index.json swapped in between is
// refused (the swap is played by handing checkSite other bytes than the
// hashed file's). A file the walk hashed that the checks then cannot
// read as hashed (a catalogue manifest, index.json's signature) is a
// failure to read the site, exit 3, never a verdict on it (ErrNotSite,
// exit 1): the change is made between readLocal's walk and checkSite.
func TestCheckSiteIndexSwapped(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	site := f.twoPacks(t)
	pub, err := sign.LoadPublicKey(f.pub)
	testutil.Must(t, err)
	dirInPlace := func(rel string) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, rel)
			testutil.Must(t, os.Remove(p))
			testutil.Must(t, os.Mkdir(p, 0o755))
		}
	}
	for _, tc := range []struct {
		name    string
		swapped bool           // checkSite handed other index.json bytes
		change  func(string)   // the site changed after the walk
		key     *sign.Verifier // Options.Verify
		want    []error
		notSite bool
		says    string
	}{
		{name: "as read"},
		{name: "index.json swapped", swapped: true, want: []error{ErrNotSite}, notSite: true, says: "index.json changed while publish was reading the site"},
		{name: "the manifest a directory", change: dirInPlace(index.CatalogueFile), want: []error{safefile.ErrNotRegular},
			says: site + ": read " + index.CatalogueFile + ": not a regular file (it is a directory): give a regular file; publish had listed and hashed it a moment before"},
		{name: "the manifest changed", change: func(dir string) {
			testutil.Must(t, os.WriteFile(filepath.Join(dir, index.CatalogueFile), []byte("{}"), 0o644))
		}, want: []error{ErrSiteChanged}, says: index.CatalogueFile + " changed while publish read the site"},
		{name: "index.json's signature a directory, the key given", key: pub, change: func(dir string) {
			rootData := testutil.ReadFile(t, filepath.Join(dir, index.RootFile))
			dirInPlace(index.RootSignaturePath(index.Digest(rootData)))(dir)
		}, want: []error{safefile.ErrNotRegular}, says: "publish had listed and hashed it a moment before"},
		// The tree check parses the bytes it uploads: a shard swapped
		// after the walk (same size, other releases) is not read past.
		{name: "a shard changed", change: func(dir string) {
			shards, err := filepath.Glob(filepath.Join(dir, "packs", "*", "shards", "*.json"))
			testutil.Must(t, err)
			if len(shards) == 0 {
				t.Fatal("no shard in the site")
			}
			data := testutil.ReadFile(t, shards[0])
			data[len(data)-2] ^= 1 // the closing brace: a different file, same size
			testutil.Must(t, os.WriteFile(shards[0], data, 0o644))
		}, want: []error{ErrSiteChanged}, says: "changed while publish read the site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, rootData, src, local, _, err := readLocal(ctx, site, Options{Log: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if tc.change != nil {
				// A copy, changed: its hashes are the site's.
				copied := filepath.Join(t.TempDir(), "site")
				testutil.CopyDir(t, site, copied)
				tc.change(copied)
				src.Close()
				src, err = os.OpenRoot(copied)
				testutil.Must(t, err)
			}
			if tc.swapped {
				rootData = append(bytes.Clone(rootData), '\n')
			}
			_, err = checkSite(ctx, site, root, rootData, src, local, Options{Log: io.Discard, Verify: tc.key})
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("checkSite: %v, want %v", err, want)
				}
			}
			if (len(tc.want) == 0) != (err == nil) || errors.Is(err, ErrNotSite) != tc.notSite || (err != nil && !strings.Contains(err.Error(), tc.says)) {
				t.Errorf("checkSite: %v, want ErrNotSite %v, saying %q", err, tc.notSite, tc.says)
			}
		})
	}
}
