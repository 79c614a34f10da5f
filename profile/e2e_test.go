package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/serve"
	"github.com/packgen/packgen/sign"
)

// registry is a real signed registry built from examples/packs in a real
// git repository and served over loopback HTTP; the served site can be
// switched to simulate publishing.
type registry struct {
	t      *testing.T
	repo   *gitfixture.Repo
	signer *sign.Signer
	pub    []byte
	tmp    string
	srv    *httptest.Server
	mu     sync.Mutex
	dir    string
	reqs   []string // every path asked for, in order
	gen    time.Time
}

func newRegistry(t *testing.T) *registry {
	return newRegistryOf(t, func(repo *gitfixture.Repo) error {
		abs, _ := filepath.Abs("../examples/packs")
		return repo.CopyDir(abs, "packs")
	})
}

func newRegistryOf(t *testing.T, populate func(*gitfixture.Repo) error) *registry {
	t.Helper()
	r := &registry{t: t, tmp: t.TempDir(), gen: time.Now()}
	var err error
	if r.repo, err = gitfixture.Init(filepath.Join(r.tmp, "repo")); err != nil {
		t.Fatal(err)
	}
	if err := populate(r.repo); err != nil {
		t.Fatal(err)
	}
	k := testutil.NewKey(t)
	r.pub, r.signer = k.Pub, k.Signer
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		dir := r.dir
		r.reqs = append(r.reqs, req.URL.Path)
		r.mu.Unlock()
		serve.Handler(dir).ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.serve(r.build("first", "site1", ""))
	return r
}

// build commits the repo and builds a signed site into a new directory,
// reusing previous when given; each build gets a later serial.
func (r *registry) build(msg, out, previous string) string {
	r.t.Helper()
	if _, err := r.repo.Commit(msg); err != nil {
		r.t.Fatal(err)
	}
	r.gen = r.gen.Add(time.Minute)
	out = filepath.Join(r.tmp, out)
	if _, err := build.Run(context.Background(), build.Options{Repo: r.repo.Dir, PacksDir: "packs", Out: out, Previous: previous, Registry: "e2e", Signer: r.signer, GeneratedAt: r.gen}); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r *registry) serve(dir string) { r.mu.Lock(); r.dir = dir; r.mu.Unlock() }

// asked says whether a path ending in suffix was requested.
func (r *registry) asked(suffix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.reqs {
		if strings.HasSuffix(p, suffix) {
			return true
		}
	}
	return false
}

// env returns a profile environment with its own cache and a state dir
// shared by every env of the test (so serials only move forward).
func (r *registry) env(state string) *Env {
	return &Env{
		Registries: []client.Registry{{Name: "e2e", URL: r.srv.URL, Keys: []string{string(r.pub)}}},
		Client:     client.Options{CacheDir: filepath.Join(r.t.TempDir(), "cache"), StateDir: state, Timeout: 10 * time.Second},
	}
}

// lockedAWSProd starts a registry and resolves a copy of
// examples/profiles/aws-prod.yaml against it with a new client state dir,
// writing its lock beside it; it returns the registry, the state dir,
// the profile and the lock's path.
func lockedAWSProd(t *testing.T) (r *registry, state string, p *Profile, lockPath string) {
	t.Helper()
	r, state = newRegistry(t), t.TempDir()
	profiles := copyProfiles(t)
	p, err := Load(filepath.Join(profiles, "aws-prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Resolve(context.Background(), p, r.env(state), ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lockPath = filepath.Join(profiles, "aws-prod.lock")
	testutil.Must(t, res.Lock.Write(lockPath))
	return r, state, p, lockPath
}

// copyProfiles copies the example profiles to a temp dir so locks are
// written beside them there.
func copyProfiles(t *testing.T) string {
	dir := t.TempDir()
	files, _ := filepath.Glob("../examples/profiles/*.yaml")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644)
	}
	return dir
}

func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	state := t.TempDir()
	env := reg.env(state)
	profiles := copyProfiles(t)
	aws := filepath.Join(profiles, "aws-prod.yaml")
	p, err := Load(aws)
	if err != nil {
		t.Fatal(err)
	}

	// Resolve: every layer pinned and verified; the lock is deterministic.
	res, err := Resolve(ctx, p, env, ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ubuntu": "22.4.4", "kubernetes": "1.29.4", "calico": "3.27.3", "csi-aws-ebs": "1.30.0", "prometheus-operator": "58.2.1", "grafana-dashboards": "1.2.0", "ingress-nginx": "4.10.1", "falco": "4.2.5"}
	if len(res.Lock.Layers) != len(want) {
		t.Fatalf("%d layers", len(res.Lock.Layers))
	}
	for i, l := range res.Lock.Layers {
		if want[l.Pack] != l.Version || l.Registry.Name != "e2e" || l.Registry.URL != reg.srv.URL || l.Signature == nil || len(l.Signature.SHA256) != 64 || l.Pack != p.Layers[i].Pack {
			t.Errorf("layer %d: %+v", i, l)
		}
		if !res.Layers[i].Verified || res.Layers[i].Searched[0] != "e2e" {
			t.Errorf("layer %d not verified or not searched: %+v", i, res.Layers[i])
		}
	}
	if res.Lock.Profile.File != "aws-prod.yaml" || res.Lock.Profile.SHA256 != p.SHA256 || res.Lock.Profile.CloudType != "aws" {
		t.Errorf("lock profile: %+v", res.Lock.Profile)
	}
	lockPath := DefaultLockPath(aws)
	if err := res.Lock.Write(lockPath); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(lockPath)
	res2, err := Resolve(ctx, p, reg.env(state), ResolveOptions{}) // cold cache
	if err != nil {
		t.Fatal(err)
	}
	if second, _ := res2.Lock.Encode(); !bytes.Equal(first, second) {
		t.Errorf("lock is not deterministic:\n%s\n%s", first, second)
	}
	lock, err := LoadLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, stale := lock.Stale(lockPath); stale {
		t.Error("fresh lock is stale")
	}

	// The partial example needs --partial; without it every missing core
	// layer and the unmet kubernetes dependency are reported at once.
	part, _ := Load(filepath.Join(profiles, "vsphere-edge-addons.yaml"))
	_, err = Resolve(ctx, part, env, ResolveOptions{})
	var re *ResolveError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
		t.Fatalf("partial profile accepted without --partial: %v", err)
	}
	msg := err.Error()
	for _, w := range []string{"no pack provides the os layer", "no pack provides the csi layer", "prometheus-operator@57.0.3 requires kubernetes >= 1.25.0, which the profile does not include", "[rule core-layer-missing]", "[rule dependency-required]"} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in %s", w, msg)
		}
	}
	pres, err := Resolve(ctx, part, env, ResolveOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if !pres.Lock.Partial || pres.Lock.Find("prometheus-operator").Version != "57.0.3" || !strings.Contains(strings.Join(pres.Warnings, "\n"), "partial profile leaves out") {
		t.Errorf("partial: %+v %v", pres.Lock, pres.Warnings)
	}

	// Refusals against the real registry: wrong cloud, unknown pack, a
	// constraint nothing matches, a registry that is not configured.
	bad, err := Parse(filepath.Join(profiles, "bad.yaml"), []byte(`name: bad
cloudType: gcp
layers:
  - {pack: ubuntu, version: "*"}
  - {pack: kubernetes, version: "*"}
  - {pack: calico, version: "*"}
  - {pack: csi-aws-ebs, version: "*"}
  - {pack: nope, version: "*"}
  - {pack: falco, version: "^9"}
  - {pack: grafana-dashboards, version: "*"}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(ctx, bad, env, ResolveOptions{})
	if !errors.As(err, &re) {
		t.Fatalf("bad profile: %v", err)
	}
	var rules []string
	for _, v := range re.Violations {
		rules = append(rules, v.Rule+" "+strings.Join(v.Packs, ","))
	}
	if got := strings.Join(rules, "; "); got != "not-found nope; not-found falco; cloud-type csi-aws-ebs; dependency-required grafana-dashboards,prometheus-operator" {
		t.Errorf("violations: %s\n%s", got, err)
	}
	if !strings.Contains(err.Error(), "bad.yaml:8:5: nope: no release matching \"*\": pack \"nope\" is not in registry e2e [") || !strings.Contains(err.Error(), "available: 4.2.5") {
		t.Errorf("not-found message: %s", err)
	}
	// The registry is named once: the client's message already says it.
	if strings.Contains(err.Error(), "e2e: pack \"nope\" is not in registry e2e") || !strings.Contains(err.Error(), "falco: no release matching \"^9\": in e2e: pack falco has no version") {
		t.Errorf("registry named twice or not at all: %s", err)
	}
	bad.Layers[0].Registry = "elsewhere"
	if _, err := Resolve(ctx, bad, env, ResolveOptions{}); err == nil || !strings.Contains(err.Error(), `registry "elsewhere" is not configured (configured: e2e)`) {
		t.Errorf("unconfigured registry: %v", err)
	}

	// Fetch: exactly the locked bytes, extracted per layer. The stage a
	// killed fetch left beside DEST is removed on the way.
	dest := filepath.Join(t.TempDir(), "cluster")
	leftover := filepath.Join(filepath.Dir(dest), ".packgen-profile-killed")
	if err := os.MkdirAll(filepath.Join(leftover, "calico-3.27.3"), 0o755); err != nil {
		t.Fatal(err)
	}
	var progress []string
	fr, err := Fetch(ctx, lock, reg.env(state), FetchOptions{Dest: dest, Jobs: 3, Progress: func(done, total int, l LockedPack) {
		progress = append(progress, l.ID())
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.Layers) != 8 || len(progress) != 8 {
		t.Fatalf("fetched %d layers, %d progress calls", len(fr.Layers), len(progress))
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("a killed fetch's stage is still there: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".packgen-profile-*")); len(left) > 0 {
		t.Errorf("stages left after a fetch: %v", left)
	}
	for _, f := range []string{"calico-3.27.3/manifests/calico.yaml", "ubuntu-22.4.4/pack.json", "prometheus-operator-58.2.1/values.yaml", "ingress-nginx-4.10.1/charts/ingress-nginx-4.10.1.tgz"} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := Fetch(ctx, lock, env, FetchOptions{Dest: dest}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("existing dest: %v", err)
	}

	// Cancelled after the first layer: the layers not yet started are not
	// fetched, and that fails the fetch: Dest is never a partial profile.
	cctx, cancel := context.WithCancel(ctx)
	partial := filepath.Join(t.TempDir(), "cancelled")
	_, err = Fetch(cctx, lock, reg.env(state), FetchOptions{Dest: partial, Jobs: 1, Progress: func(done, total int, l LockedPack) { cancel() }})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("fetch cancelled after one layer: %v", err)
	}
	if _, serr := os.Stat(partial); !os.IsNotExist(serr) {
		t.Errorf("a cancelled fetch made %s: %v", partial, serr)
	}

	// A registry that moved (same name, another URL) still serves the
	// pinned bytes: fetch works and says so.
	mirror := httptest.NewServer(serve.Handler(reg.dir))
	defer mirror.Close()
	moved := reg.env(state)
	moved.Registries[0].URL = mirror.URL
	var warn bytes.Buffer
	moved.Warn = &warn
	if _, err := Fetch(ctx, lock, moved, FetchOptions{Dest: filepath.Join(t.TempDir(), "moved")}); err != nil {
		t.Fatal(err)
	}
	if w := warn.String(); strings.Count(w, "warning:") != 1 || !strings.Contains(w, "registry e2e is configured at "+mirror.URL+" but the lock was resolved from "+reg.srv.URL) {
		t.Errorf("moved registry warning: %q", w)
	}
	moved.Registries[0].Name = "other"
	if _, err := Fetch(ctx, lock, moved, FetchOptions{Dest: filepath.Join(t.TempDir(), "x")}); err == nil || !strings.Contains(err.Error(), `registry "e2e" is not configured (configured: other); the lock was resolved from `+reg.srv.URL) {
		t.Errorf("unconfigured registry: %v", err)
	}

	// Render: the pack's values with the profile's overrides, comments kept.
	out := filepath.Join(t.TempDir(), "render")
	files, err := Render(ctx, p, lock, env, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 8 {
		t.Fatalf("rendered %d", len(files))
	}
	calico, _ := os.ReadFile(filepath.Join(out, "values", "calico.yaml"))
	for _, w := range []string{"# Should be one of Always, CrossSubnet, Never.\n    encapsulationMode: \"CrossSubnet\"", "ipamType: \"calico-ipam\"", "- image: docker.io/calico/cni:v3.27.3"} {
		if !strings.Contains(string(calico), w) {
			t.Errorf("calico.yaml lacks %q:\n%s", w, calico)
		}
	}
	k8s, _ := os.ReadFile(filepath.Join(out, "values", "kubernetes.yaml"))
	if !strings.Contains(string(k8s), "  k8sHardening: True\n  # Pods get addresses from the VPC-sized range.\n  podCIDR: \"100.64.0.0/16\"\n") {
		t.Errorf("kubernetes.yaml:\n%s", k8s)
	}
	falco, _ := os.ReadFile(filepath.Join(out, "values", "falco.yaml"))
	if !strings.Contains(string(falco), "webhook:\n        enabled: true\n        url: \"https://alerts.example.com/falco\"") || !strings.Contains(string(falco), "# Driver used to capture syscalls") {
		t.Errorf("falco.yaml:\n%s", falco)
	}
	// A values file an earlier render wrote for a layer the profile no
	// longer has is removed; other files are left alone, a user's own
	// notes.yaml too (it had been removed as stale: only what render
	// wrote, by its .packgen-rendered list, is render's to remove).
	os.WriteFile(filepath.Join(out, "values", "old-layer.yaml"), []byte("a: 1\n"), 0o644)
	list := filepath.Join(out, "values", ".packgen-rendered")
	written, err := os.ReadFile(list)
	if err != nil || !strings.Contains(string(written), "calico.yaml\n") {
		t.Fatalf("render's list of what it wrote: %q, %v", written, err)
	}
	os.WriteFile(list, append(written, "old-layer.yaml\n"...), 0o644)
	os.WriteFile(filepath.Join(out, "values", "notes.txt"), []byte("mine\n"), 0o644)
	os.WriteFile(filepath.Join(out, "values", "notes.yaml"), []byte("mine: 1\n"), 0o644)
	if _, err := Render(ctx, p, lock, env, out, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "values", "old-layer.yaml")); !os.IsNotExist(err) {
		t.Errorf("stale values file kept: %v", err)
	}
	for _, mine := range []string{"notes.txt", "notes.yaml"} {
		if _, err := os.Stat(filepath.Join(out, "values", mine)); err != nil {
			t.Errorf("the user's %s removed: %v", mine, err)
		}
	}
	out2 := filepath.Join(t.TempDir(), "render")
	Render(ctx, p, lock, env, out2, false)
	for _, f := range files {
		a, _ := os.ReadFile(f.File)
		b, _ := os.ReadFile(filepath.Join(out2, "values", f.Pack+".yaml"))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: render is not deterministic", f.Pack)
		}
	}

	// A link planted in the output directory (a GitOps checkout: anyone
	// who can commit) is refused before anything is written; nothing
	// lands behind it and no stale file is removed there. The output
	// directory itself may be a link: the path the user named.
	for _, tc := range []struct{ name, at, to string }{
		{"values dir", "values", ""},
		{"values file", "values/calico.yaml", "victim.yaml"},
		{"values dir inside", "values", "../elsewhere"},
	} {
		t.Run("planted link "+tc.name, func(t *testing.T) {
			dir, outside := filepath.Join(t.TempDir(), "render"), t.TempDir()
			os.MkdirAll(filepath.Join(dir, "values"), 0o755)
			os.WriteFile(filepath.Join(outside, "victim.yaml"), []byte("mine: 1\n"), 0o644)
			os.Remove(filepath.Join(dir, filepath.FromSlash(tc.at)))
			to := filepath.Join(outside, tc.to)
			if strings.HasPrefix(tc.to, "..") {
				to = tc.to
			}
			if err := os.Symlink(to, filepath.Join(dir, filepath.FromSlash(tc.at))); err != nil {
				t.Fatal(err)
			}
			_, err := Render(ctx, p, lock, env, dir, false)
			if !errors.Is(err, ErrOutputLink) || !strings.Contains(err.Error(), filepath.Join(dir, filepath.FromSlash(tc.at))) {
				t.Fatalf("err = %v, want ErrOutputLink naming %s", err, tc.at)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("written behind the link: %v", entries)
			}
			if got, _ := os.ReadFile(filepath.Join(outside, "victim.yaml")); string(got) != "mine: 1\n" {
				t.Errorf("victim.yaml now %q", got)
			}
			if entries, _ := os.ReadDir(filepath.Join(dir, "values")); tc.at != "values" && len(entries) != 1 {
				t.Errorf("half-written output: %v", entries)
			}
		})
	}
	t.Run("output dir itself a link", func(t *testing.T) {
		real, link := t.TempDir(), filepath.Join(t.TempDir(), "render")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		if _, err := Render(ctx, p, lock, env, link, false); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(real, "values", "calico.yaml")); err != nil {
			t.Error(err)
		}
	})

	// Tamper with an archive on the server: a fetch with a cold cache fails,
	// naming the digests, and leaves DEST and its parent untouched.
	site1 := reg.dir
	tampered := filepath.Join(t.TempDir(), "tampered")
	testutil.CopyDir(t, site1, tampered)
	for _, a := range []string{"packs/calico/3.27.3/calico-3.27.3.tar.gz", "packs/falco/4.2.5/falco-4.2.5.tar.gz"} {
		arch := filepath.Join(tampered, a)
		data, _ := os.ReadFile(arch)
		data[len(data)/2] ^= 1
		os.WriteFile(arch, data, 0o644)
	}
	reg.serve(tampered)
	parent := t.TempDir()
	dest2 := filepath.Join(parent, "cluster")
	_, err = Fetch(ctx, lock, reg.env(state), FetchOptions{Dest: dest2})
	if !errors.Is(err, client.ErrDigestMismatch) || !strings.Contains(err.Error(), "calico-3.27.3.tar.gz: expected sha256 "+lock.Find("calico").Archive.SHA256) || !strings.Contains(err.Error(), "falco-4.2.5.tar.gz") {
		t.Fatalf("tampered archives (both must be reported): %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("failed fetch left %v behind", entries)
	}
	// An existing DEST survives a failed --force fetch unchanged.
	_, err = Fetch(ctx, lock, reg.env(state), FetchOptions{Dest: dest, Force: true})
	if err == nil {
		t.Fatal("tampered fetch with --force succeeded")
	}
	if _, err := os.Stat(filepath.Join(dest, "calico-3.27.3/manifests/calico.yaml")); err != nil {
		t.Errorf("DEST damaged by a failed fetch: %v", err)
	}
	reg.serve(site1)

	// Publish new versions: outdated sees them; the lock still fetches.
	for _, v := range []string{"3.27.5", "4.0.0"} {
		pj, _ := os.ReadFile("../examples/packs/calico-3.27.3/pack.json")
		reg.repo.Write("packs/calico-"+v+"/pack.json", bytes.Replace(pj, []byte(`"3.27.3"`), []byte(`"`+v+`"`), 1))
		vals, _ := os.ReadFile("../examples/packs/calico-3.27.3/values.yaml")
		reg.repo.Write("packs/calico-"+v+"/values.yaml", vals)
		man, _ := os.ReadFile("../examples/packs/calico-3.27.3/manifests/calico.yaml")
		reg.repo.Write("packs/calico-"+v+"/manifests/calico.yaml", man)
	}
	pj, _ := os.ReadFile("../examples/packs/prometheus-operator-58.2.1/pack.json")
	reg.repo.Write("packs/prometheus-operator-59.0.0/pack.json", bytes.Replace(pj, []byte(`"58.2.1"`), []byte(`"59.0.0"`), 1))
	for _, f := range []string{"values.yaml", "manifests/servicemonitor.yaml"} {
		data, _ := os.ReadFile("../examples/packs/prometheus-operator-58.2.1/" + f)
		reg.repo.Write("packs/prometheus-operator-59.0.0/"+f, data)
	}
	reg.serve(reg.build("new calico and prometheus-operator", "site2", site1))
	rows, err := Outdated(ctx, p, lock, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		switch r.Pack {
		case "calico":
			if r.Locked != "3.27.3" || r.Wanted != "3.27.5" || r.Latest != "4.0.0" || !r.Outdated || !r.Beyond || r.Registry != "e2e" {
				t.Errorf("calico row: %+v", r)
			}
		case "prometheus-operator":
			if r.Locked != "58.2.1" || r.Wanted != "58.2.1" || r.Latest != "59.0.0" || r.Outdated || !r.Beyond {
				t.Errorf("prometheus row: %+v", r)
			}
		default:
			if r.Outdated || r.Beyond || r.Locked == "" || r.Locked != r.Wanted {
				t.Errorf("row: %+v", r)
			}
		}
	}
	// A constraint that now picks prometheus-operator 59 breaks
	// grafana-dashboards' range; the refusal says which version fits.
	wide, _ := Parse("wide.yaml", []byte("name: wide\ncloudType: aws\nlayers:\n  - {pack: prometheus-operator, version: \">=57\"}\n  - {pack: grafana-dashboards, version: \"*\"}\n"))
	_, err = Resolve(ctx, wide, env, ResolveOptions{Partial: true})
	if !errors.As(err, &re) || len(re.Violations) != 1 || re.Violations[0].Rule != RuleVersionRange ||
		!strings.Contains(err.Error(), "grafana-dashboards@1.2.0 needs prometheus-operator 57.0.0 to 58.99.99, but the profile resolves prometheus-operator@59.0.0") ||
		re.Violations[0].Hint != `prometheus-operator 58.2.1 is in range and matches ">=57"; pin it (version: "58.2.1") or narrow the constraint` {
		t.Errorf("range violation: %v", err)
	}
	if _, err := Fetch(ctx, lock, reg.env(state), FetchOptions{Dest: filepath.Join(t.TempDir(), "again")}); err != nil {
		t.Errorf("lock no longer fetches after a new version: %v", err)
	}

	// Retire what the lock pins (docs/FORMAT.md#retiring-a-release):
	// calico 3.27.3 deleted for a CVE, prometheus-operator 58.2.1
	// deprecated, calico 4.0.0 deleted. outdated says so, and never
	// offers a deleted release as wanted or latest; fetching the lock
	// fails, naming the release and why, unless AllowDeleted; resolving
	// the exact version is a violation unless AllowDeleted.
	reg.repo.Write("packs/retired.yaml", []byte("calico:\n  3.27.3: {state: deleted, reason: \"CVE-2026-0001 \\e[31m: use 3.27.5\"}\n  4.0.0: {state: deleted, reason: broken upgrade}\nprometheus-operator:\n  58.2.1: {state: deprecated, reason: slow}\n  59.0.0: {state: deprecated, reason: slower}\n"))
	reg.serve(reg.build("retire calico 3.27.3", "site2r", filepath.Join(reg.tmp, "site2")))
	rows, err = Outdated(ctx, p, lock, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		switch r.Pack {
		case "calico":
			if r.State != "deleted" || r.StateWhy != "retired: CVE-2026-0001 \x1b[31m: use 3.27.5" || r.Wanted != "3.27.5" || r.Latest != "3.27.5" || r.Beyond {
				t.Errorf("retired calico row: %+v", r)
			}
		case "prometheus-operator":
			// The latest, newer outside the constraint, deprecated
			// too: said with why (the NOTE), never hidden.
			if r.State != "deprecated" || r.StateWhy != "retired: slow" || r.Latest != "59.0.0" || r.LatestRetirement != (Retirement{"deprecated", "retired: slower"}) || r.WantedRetirement != (Retirement{"deprecated", "retired: slow"}) {
				t.Errorf("deprecated prometheus row: %+v", r)
			}
		default:
			if r.State != "" {
				t.Errorf("row: %+v", r)
			}
		}
	}
	var warned bytes.Buffer
	renv := reg.env(state)
	renv.Warn = &warned
	// Refused before its archive is downloaded: not asked for, not in
	// the cache (render and a lock's images read a lock alike).
	reg.mu.Lock()
	reg.reqs = nil
	reg.mu.Unlock()
	_, err = Fetch(ctx, lock, renv, FetchOptions{Dest: filepath.Join(t.TempDir(), "deleted")})
	if !errors.Is(err, ErrDeleted) || !strings.Contains(err.Error(), `calico@3.27.3 is deleted (retired: CVE-2026-0001 \x1b[31m: use 3.27.5): its registry withdrew it`) || !strings.Contains(err.Error(), "--allow-deleted") {
		t.Errorf("fetch of a deleted locked release: %v", err)
	}
	deleted := lock.Find("calico")
	if _, err := Archives(ctx, lock, renv, 2, false); !errors.Is(err, ErrDeleted) || !strings.Contains(err.Error(), "calico@3.27.3 is deleted") {
		t.Errorf("the archives of a lock pinning a deleted release: %v", err)
	}
	rendered := t.TempDir()
	if _, err := Render(ctx, p, lock, renv, rendered, false); !errors.Is(err, ErrDeleted) || !strings.Contains(err.Error(), "calico@3.27.3 is deleted") {
		t.Errorf("render of a deleted locked release: %v", err)
	}
	cached, _ := filepath.Glob(filepath.Join(renv.Client.CacheDir, "archives", deleted.Archive.SHA256+"*"))
	if reg.asked(path.Base(deleted.Archive.Path)) || len(cached) > 0 {
		t.Errorf("a deleted release's archive was downloaded before it was refused (cached: %v)", cached)
	}
	if _, err := os.Stat(filepath.Join(rendered, "values")); !os.IsNotExist(err) {
		t.Errorf("a refused render wrote %s/values", rendered)
	}
	fr, err = Fetch(ctx, lock, renv, FetchOptions{Dest: filepath.Join(t.TempDir(), "allowed"), AllowDeleted: true})
	if err != nil || fr.Layers[2].State != "deleted" || fr.Layers[4].State != "deprecated" || fr.Layers[0].State != "" ||
		!strings.Contains(warned.String(), "warning: DELETED RELEASE IN USE: calico@3.27.3 is deleted (retired: CVE-2026-0001 \\x1b[31m: use 3.27.5)") ||
		!strings.Contains(warned.String(), "warning: prometheus-operator@58.2.1 is deprecated (retired: slow): move the layer") || strings.Contains(warned.String(), "\x1b") {
		t.Errorf("fetch --allow-deleted: %v %+v\n%s", err, fr, warned.String())
	}
	warned.Reset()
	if _, err := Render(ctx, p, lock, renv, rendered, true); err != nil || !strings.Contains(warned.String(), "warning: DELETED RELEASE IN USE: calico@3.27.3") || !strings.Contains(warned.String(), "prometheus-operator@58.2.1 is deprecated") {
		t.Errorf("render --allow-deleted: %v\n%s", err, warned.String())
	}
	if !reg.asked(path.Base(deleted.Archive.Path)) {
		t.Error("the archive of a deleted release allowed was not downloaded: is the request log blind?")
	}
	pinned, _ := Parse("pinned.yaml", []byte("name: pinned\ncloudType: aws\nlayers:\n  - {pack: calico, version: \"3.27.3\"}\n"))
	_, err = Resolve(ctx, pinned, env, ResolveOptions{Partial: true})
	if !errors.As(err, &re) || len(re.Violations) != 1 || re.Violations[0].Rule != RuleDeleted || !strings.Contains(err.Error(), "pinned.yaml:4:5: calico@3.27.3 is deleted (retired: CVE-2026-0001") {
		t.Errorf("resolve of a deleted exact version: %v", err)
	}
	if res, err := Resolve(ctx, pinned, env, ResolveOptions{Partial: true, AllowDeleted: true}); err != nil || res.Layers[0].State != "deleted" || !strings.Contains(strings.Join(res.Warnings, "\n"), "DELETED RELEASE IN USE: calico@3.27.3") {
		t.Errorf("resolve --allow-deleted: %v %+v", err, res)
	}
	reg.repo.Write("packs/retired.yaml", nil)

	// Republish calico 3.27.3 with different content (a registry that
	// breaks immutability): a machine that saw the registry before
	// refuses its rewritten log; one that never did still refuses the
	// locked version, naming both digests.
	reg.repo.Write("packs/calico-3.27.3/values.yaml", []byte("changed: true\n"))
	reg.serve(reg.build("rewrite history", "site3", ""))
	_, err = Fetch(ctx, lock, reg.env(state), FetchOptions{Dest: filepath.Join(t.TempDir(), "x")})
	if !errors.Is(err, client.ErrLogInconsistent) {
		t.Fatalf("rewritten history, seen before: %v", err)
	}
	state = t.TempDir()
	_, err = Fetch(ctx, lock, reg.env(state), FetchOptions{Dest: filepath.Join(t.TempDir(), "x")})
	if !errors.Is(err, ErrLockMismatch) || !strings.Contains(err.Error(), "calico@3.27.3: registry e2e now serves different bytes") || !strings.Contains(err.Error(), lock.Find("calico").Archive.SHA256) {
		t.Fatalf("rewritten version: %v", err)
	}
	if _, err := Render(ctx, p, lock, env, t.TempDir(), false); !errors.Is(err, client.ErrLogInconsistent) {
		t.Errorf("render of a rewritten history, seen before: %v", err)
	}
	if _, err := Render(ctx, p, lock, reg.env(state), t.TempDir(), false); !errors.Is(err, ErrLockMismatch) {
		t.Errorf("render of a rewritten version: %v", err)
	}

	// Editing the profile makes the lock stale.
	os.WriteFile(aws, append(mustRead(t, aws), []byte("\n# edited\n")...), 0o644)
	if _, stale := lock.Stale(lockPath); !stale {
		t.Error("edited profile not reported stale")
	}
}

// TestSearchOrder: a layer without a registry comes from the first
// configured registry with a matching version, and the result says which.
func TestSearchOrder(t *testing.T) {
	ctx := context.Background()
	full := newRegistry(t)
	// "edge" only has falco 5.0.0, a newer major than the examples'.
	edge := newRegistryOf(t, func(repo *gitfixture.Repo) error {
		for _, f := range []string{"pack.json", "values.yaml", "README.md", "presets.yaml", "schema.yaml", "manifests/falco-rules.yaml"} {
			data, err := os.ReadFile("../examples/packs/falco-4.2.5/" + f)
			if err != nil {
				return err
			}
			if f == "pack.json" {
				data = bytes.Replace(data, []byte(`"4.2.5"`), []byte(`"5.0.0"`), 1)
			}
			if err := repo.Write("packs/falco/"+f, data); err != nil {
				return err
			}
		}
		return nil
	})
	state := t.TempDir()
	env := full.env(state)
	env.Registries = []client.Registry{
		{Name: "edge", URL: edge.srv.URL, Keys: []string{string(edge.pub)}},
		{Name: "main", URL: full.srv.URL, Keys: []string{string(full.pub)}},
	}
	p, err := Parse("p.yaml", []byte(`name: search
cloudType: aws
layers:
  - {pack: falco, version: "*"}
  - {pack: ingress-nginx, version: "^4"}
  - {pack: prometheus-operator, version: "~57.0", registry: main}
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Resolve(ctx, p, env, ResolveOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, l := range res.Layers {
		got += fmt.Sprintf("%s@%s from %s (searched %s); ", l.Pack, l.Version, l.Registry, strings.Join(l.Searched, ","))
	}
	if want := "falco@5.0.0 from edge (searched edge); ingress-nginx@4.10.1 from main (searched edge,main); prometheus-operator@57.0.3 from main (searched ); "; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if l := res.Lock.Find("falco"); l.Registry.Name != "edge" || l.Registry.URL != edge.srv.URL {
		t.Errorf("falco lock: %+v", l.Registry)
	}
	// falco matches in both: the choice, and how to pin it, said once;
	// ingress-nginx only in main, prometheus-operator pinned: nothing.
	if w := strings.Join(res.Warnings, "\n"); strings.Count(w, "also match") != 1 ||
		!strings.Contains(w, "p.yaml:4:5: falco: registries main (4.2.5) also match \"*\"; falco@5.0.0 comes from edge, the first configured registry with a match: add `registry: edge` to the layer to keep it") {
		t.Errorf("warnings of a layer two registries match:\n%s", w)
	}
	// Re-resolved with main first, over the lock: the move is said.
	lockPath := filepath.Join(t.TempDir(), "p.lock")
	testutil.Must(t, res.Lock.Write(lockPath))
	env.Registries[0], env.Registries[1] = env.Registries[1], env.Registries[0]
	moved, err := Resolve(ctx, p, env, ResolveOptions{Partial: true, LockPath: lockPath})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(moved.Warnings, "\n"); !strings.Contains(w, "falco: "+lockPath+" locked it from registry edge ("+edge.srv.URL+"); it now comes from main ("+full.srv.URL+")") || strings.Contains(w, "ingress-nginx: "+lockPath) {
		t.Errorf("warnings of a re-resolve that moved falco:\n%s", w)
	}
	env.Registries[0], env.Registries[1] = env.Registries[1], env.Registries[0]
	// Narrowing the constraint skips the registry without a match.
	p.Layers[0].Constraint = "^4"
	res, err = Resolve(ctx, p, env, ResolveOptions{Partial: true})
	if err != nil || res.Layers[0].Registry != "main" || res.Layers[0].Version != "4.2.5" {
		t.Fatalf("falco ^4: %v %+v", err, res)
	}
	// A registry signed by another key is refused, not skipped.
	env.Registries[0].Keys = []string{string(full.pub)}
	if _, err := Resolve(ctx, p, env, ResolveOptions{Partial: true}); !errors.Is(err, client.ErrBadSignature) {
		t.Errorf("wrong key: %v", err)
	}
}

var mustRead = testutil.ReadFile
