package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// airgapped makes site (a copy of a whole built registry) what airgap
// import leaves: the signed root and the files on the way to the kept
// releases (NAME@VERSION), nothing else of the index, and, unless
// marker is false, the marker naming them.
func airgapped(t *testing.T, site string, keep []string, marker bool) {
	t.Helper()
	ctx := context.Background()
	fetch := index.DirFetcher(site)
	data := mustRead(t, filepath.Join(site, index.RootFile))
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	b := bundleOf(t, keep)
	for _, id := range keep {
		name, version, _ := strings.Cut(id, "@")
		sum, err := index.Lookup(ctx, func(ctx context.Context, p string, max int64) ([]byte, error) {
			want[p] = true
			return fetch(ctx, p, max)
		}, root, name)
		if err != nil || sum == nil {
			t.Fatalf("%s: %v", name, err)
		}
		want[sum.Shard.Path] = true
		want[filepath.ToSlash(filepath.Dir(index.ArchivePath(name, version)))] = true
	}
	for _, glob := range []string{"index/*.json", "packs/*/shards/*.json", "packs/*/*"} {
		m, _ := filepath.Glob(filepath.Join(site, glob))
		for _, f := range m {
			rel, _ := filepath.Rel(site, f)
			rel = filepath.ToSlash(rel)
			if k := index.KindOf(rel + "/x.tar.gz"); glob == "packs/*/*" && (k != index.KindArchive || strings.HasSuffix(rel, "/shards")) {
				continue
			}
			if !want[rel] {
				os.RemoveAll(f)
			}
		}
	}
	if marker {
		data, _ := index.NewAirgap(b).Encode()
		os.WriteFile(filepath.Join(site, index.AirgapFile), data, 0o644)
	}
}

// bundleOf is the marker's entry of a bundle carrying releases
// (NAME@VERSION), as import writes it: the list manifest's digest, its
// bytes and the list's (list.Bound reads them back).
func bundleOf(t *testing.T, releases []string) index.AirgapBundle {
	t.Helper()
	fake := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("x"), Size: 1}
	l := list.List{SchemaVersion: list.ListVersion, Index: fake, Packs: []list.Pack{}, Images: []list.Image{}}
	var b index.AirgapBundle
	for _, id := range releases {
		name, version, _ := strings.Cut(id, "@")
		tag, err := ocimap.Tag(version)
		if err != nil {
			t.Fatal(err)
		}
		l.Packs = append(l.Packs, list.Pack{Name: name, Version: version, Tag: tag, Manifest: fake, Archive: fake})
		b.Releases = append(b.Releases, index.AirgapRelease{Name: name, Version: version})
	}
	var err error
	if b.Listing, err = json.Marshal(l); err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, ArtifactType: list.ListArtifactType, Config: ocispec.DescriptorEmptyJSON,
		Layers: []ocispec.Descriptor{{MediaType: list.ListMediaType, Digest: digest.FromBytes(b.Listing), Size: int64(len(b.Listing))}}}
	if b.Manifest, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	b.List = digest.FromBytes(b.Manifest).String()
	return b
}

// TestAirgapped: a registry as airgap import leaves it (the source's
// signed index, the files of some releases, the marker), read by the
// client and by verify --site. One built registry for both: a build is
// most of the time.
func TestAirgapped(t *testing.T) {
	f := emptyFixture(t)
	for _, v := range []string{"1.0.0", "1.2.0", "1.2.5", "1.10.0", "2.0.0-rc.1"} {
		packFiles(f.repo, "packs/calico-"+v, "calico", v)
	}
	for _, v := range []string{"0.12", "0.13.2", "0.13.9", "0.14.0"} { // a 2-part version among them
		packFiles(f.repo, "packs/metallb-"+v, "metallb", v)
	}
	packFiles(f.repo, "packs/falco", "falco", "4.2.5")
	packFiles(f.repo, "packs/falco-v4.3", "falco", "v4.3")
	f.commitAndBuild(t, "packs")
	t.Run("client", func(t *testing.T) { testAirgappedClient(t, f) })
	t.Run("verify", func(t *testing.T) { testVerifyAirgapped(t, f) })
}

// testAirgappedClient: the air-gapped registry reads as what it holds,
// and what it lacks is "not in this air-gapped registry", for each way
// a client reads it.
func testAirgappedClient(t *testing.T, f *fixture) {
	site := f.latest(t)
	airgapped(t, site, []string{"calico@1.2.0", "calico@1.10.0", "metallb@0.13.9"}, true)
	ctx := context.Background()
	e := newEnv(t)

	// Fetching before anything else has read the marker: an absent
	// archive is found absent, and said so.
	var warn bytes.Buffer
	c := e.client(t, site, f.pub, func(o *Options) { o.Warn = &warn })
	rel, err := c.Resolve(ctx, "calico", "1.0.0", false)
	if err == nil {
		_, err = c.Archive(ctx, "calico", rel)
	}
	if !errors.Is(err, ErrNotInBundle) || !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "calico@1.0.0 is not in this air-gapped registry: its signed index lists it") || !strings.Contains(err.Error(), "packgen airgap export") {
		t.Fatalf("fetch of an absent release: %v", err)
	}

	// list and search: the packs present, each by its newest present version.
	c = e.client(t, site, f.pub, func(o *Options) { o.Warn = &warn })
	warn.Reset()
	packs, err := c.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range packs {
		got = append(got, p.Name+"@"+p.Latest)
	}
	if strings.Join(got, " ") != "calico@1.10.0 metallb@0.13.9" || packs[0].Versions != 2 || !strings.Contains(warn.String(), "1 pack(s) and 8 release(s) its signed index lists are not here") {
		t.Errorf("catalogue %v (%d versions of calico)\n%s", got, packs[0].Versions, warn.String())
	}
	for _, tc := range []struct {
		pack, constraint string
		want             string // a version, or the error's words
		warn             string
	}{
		{"calico", "^1.2", "1.10.0", ""},
		{"calico", "~1.2.0", "1.2.0", "calico@1.2.5 matches \"~1.2.0\" but is not in air-gapped registry test"},
		{"calico", "", "1.10.0", ""},
		{"calico", "1.0.0", "calico@1.0.0 is not in this air-gapped registry: its signed index lists it", ""},
		{"calico", "2.0.0-rc.1", "calico@2.0.0-rc.1 is not in this air-gapped registry", ""},
		{"metallb", "*", "0.13.9", "metallb@0.14.0 matches \"*\" but is not in air-gapped registry test"},
		{"metallb", "0.12", "metallb@0.12 is not in this air-gapped registry", ""},
		{"falco", "v4.3", "pack falco is not in this air-gapped registry", ""},
		{"nosuch", "*", "not in", ""},
	} {
		warn.Reset()
		rel, err := c.Resolve(ctx, tc.pack, tc.constraint, false)
		switch {
		case err != nil && !strings.Contains(tc.want, "."):
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrNotFound) {
				t.Errorf("%s@%s: %v, want %q", tc.pack, tc.constraint, err, tc.want)
			}
		case err != nil && strings.Contains(tc.want, " "):
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrNotInBundle) {
				t.Errorf("%s@%s: %v, want %q", tc.pack, tc.constraint, err, tc.want)
			}
		case err != nil || rel.Version != tc.want:
			t.Errorf("%s@%s: %v %v, want %s", tc.pack, tc.constraint, rel, err, tc.want)
		}
		if !strings.Contains(warn.String(), tc.warn) {
			t.Errorf("%s@%s: warned %q, want %q", tc.pack, tc.constraint, warn.String(), tc.warn)
		}
	}
	if rel, err := c.Resolve(ctx, "calico", "~1.2.0", false); err != nil {
		t.Fatal(err)
	} else if _, err := c.Archive(ctx, "calico", rel); err != nil {
		t.Errorf("fetch of a present release: %v", err)
	}
	if shard, err := c.Shard(ctx, "calico"); err != nil || len(shard.Releases) != 2 {
		t.Errorf("info calico: %v %+v", err, shard)
	}

	// A marker that does not read excuses nothing: the registry reads as
	// a whole one, its missing files an error as before, with a warning.
	os.WriteFile(filepath.Join(site, index.AirgapFile), []byte(`{"schemaVersion":1,"bundles":[{"list":"md5:x","releases":[]}]}`), 0o644)
	warn.Reset()
	c = e.client(t, site, f.pub, func(o *Options) { o.Warn = &warn })
	if _, err := c.Catalog(ctx); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotInBundle) || !strings.Contains(warn.String(), "not a sha256 digest: read as a whole registry") {
		t.Errorf("a broken marker: %v\n%s", err, warn.String())
	}
}

// testVerifyAirgapped: verify --site of an air-gapped registry checks
// every file present and lists the absent ones; they fail it unless
// accepted, and the marker cannot hide a deleted archive from a default
// verify, nor excuse one it claims.
func testVerifyAirgapped(t *testing.T, f *fixture) {
	v, _ := sign.LoadPublicKey(f.pub)
	ctx := context.Background()
	verify := func(site string, accept bool) *SiteReport {
		t.Helper()
		rep, err := VerifySite(ctx, site, v)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Subset != nil {
			rep.Subset.Accepted = accept
		}
		return rep
	}
	paths := func(ps []SiteProblem) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Path)
		}
		return strings.Join(out, " ")
	}

	subset := f.latest(t)
	airgapped(t, subset, []string{"calico@1.2.0", "metallb@0.13.9"}, true)
	rep := verify(subset, false)
	all := rep.AllProblems()
	if len(rep.Problems) != 0 || rep.Subset == nil || len(rep.Subset.Absent) == 0 || paths(all) != index.AirgapFile || !strings.Contains(all[0].Err, "Pass --subset") {
		t.Fatalf("subset, not accepted: %+v %+v", rep.Subset, all)
	}
	for _, want := range []string{"index/", "packs/calico/1.0.0/calico-1.0.0.tar.gz"} {
		if !strings.Contains(strings.Join(rep.Subset.Absent, " "), want) {
			t.Errorf("absent %v: no %s", rep.Subset.Absent, want)
		}
	}
	if rep.Subset.Releases != 9 { // 11, less the 2 there
		t.Errorf("%d releases absent, want 9", rep.Subset.Releases)
	}
	if rep := verify(subset, true); len(rep.AllProblems()) != 0 {
		t.Errorf("subset, accepted: %+v", rep.AllProblems())
	}
	// A present file altered is a problem, subset or not.
	testutil.Flip(t, filepath.Join(subset, "packs/calico/1.2.0/calico-1.2.0.tar.gz"))
	if rep := verify(subset, true); paths(rep.AllProblems()) != "packs/calico/1.2.0/calico-1.2.0.tar.gz" {
		t.Errorf("altered archive in a subset: %+v", rep.AllProblems())
	}

	// An attacker deletes an archive of a whole registry and writes a
	// marker leaving it out: a default verify still fails, naming it.
	whole := f.latest(t)
	os.Remove(filepath.Join(whole, "packs/calico/1.0.0/calico-1.0.0.tar.gz"))
	keep := []string{"calico@1.2.0", "calico@1.2.5", "calico@1.10.0", "calico@2.0.0-rc.1", "metallb@0.12", "metallb@0.13.2", "metallb@0.13.9", "metallb@0.14.0", "falco@4.2.5", "falco@v4.3"}
	data, _ := index.NewAirgap(bundleOf(t, keep)).Encode()
	os.WriteFile(filepath.Join(whole, index.AirgapFile), data, 0o644)
	rep = verify(whole, false)
	if all := rep.AllProblems(); len(all) != 1 || !strings.Contains(all[0].Err, "packs/calico/1.0.0/calico-1.0.0.tar.gz") {
		t.Errorf("deleted archive behind a forged marker: %+v", all)
	}
	// The same marker claiming the deleted release: a problem even when
	// the subset is accepted.
	data, _ = index.NewAirgap(bundleOf(t, append(keep, "calico@1.0.0"))).Encode()
	os.WriteFile(filepath.Join(whole, index.AirgapFile), data, 0o644)
	if all := verify(whole, true).AllProblems(); paths(all) != "packs/calico/1.0.0/calico-1.0.0.tar.gz" || !strings.Contains(all[0].Err, "airgap.json says a bundle carried it") {
		t.Errorf("a claimed release deleted: %+v", all)
	}
	// A marker that does not parse is a problem.
	os.WriteFile(filepath.Join(whole, index.AirgapFile), []byte(`{"schemaVersion":1}{}`), 0o644)
	if all := verify(whole, true).AllProblems(); !strings.Contains(paths(all), index.AirgapFile) {
		t.Errorf("a broken marker: %+v", all)
	}
	// So is one that does not read (index.ReadAirgap, as clients read it).
	os.Remove(filepath.Join(whole, index.AirgapFile))
	os.Mkdir(filepath.Join(whole, index.AirgapFile), 0o755)
	if all := verify(whole, true).AllProblems(); !strings.Contains(fmt.Sprint(all), index.AirgapFile+" is not a regular file") {
		t.Errorf("an unreadable marker: %+v", all)
	}
}

// TestAirgapMarkerBoundToList: the releases the marker claims are bound
// to the bundle list digest the operator compares (verify --site
// --subset): the marker carries the list, and a release deleted with its
// line there, the digest kept, is a problem, as is a marker without the
// list (an older packgen's, or one stripped to hide the deletion).
// (attackR F5: the report read exactly as before the deletion.)
func TestAirgapMarkerBoundToList(t *testing.T) {
	f := emptyFixture(t)
	for _, v := range []string{"1.2.0", "1.10.0"} {
		packFiles(f.repo, "packs/calico-"+v, "calico", v)
	}
	packFiles(f.repo, "packs/metallb", "metallb", "0.13.9")
	f.commitAndBuild(t, "packs")
	v, _ := sign.LoadPublicKey(f.pub)
	ctx := context.Background()
	carried := []string{"calico@1.2.0", "calico@1.10.0"}
	for _, tc := range []struct {
		name    string
		delete  string // a release directory removed
		marker  func() []index.AirgapBundle
		want    string // in the one problem at airgap.json ("": none)
		dropped string
	}{
		{"genuine", "", func() []index.AirgapBundle { return []index.AirgapBundle{bundleOf(t, carried)} }, "", ""},
		{"release-deleted-with-its-line", "packs/calico/1.10.0", func() []index.AirgapBundle {
			b := bundleOf(t, carried)
			b.Releases = []index.AirgapRelease{{Name: "calico", Version: "1.2.0"}}
			return []index.AirgapBundle{b}
		}, "carried calico@1.10.0 (its list says so), but airgap.json does not claim it", ""},
		{"list-stripped", "packs/calico/1.10.0", func() []index.AirgapBundle {
			b := bundleOf(t, carried)
			b.Manifest, b.Listing = nil, nil
			b.Releases = []index.AirgapRelease{{Name: "calico", Version: "1.2.0"}}
			return []index.AirgapBundle{b}
		}, "carries no copy of its list", ""},
		{"claims-what-the-list-does-not-carry", "", func() []index.AirgapBundle {
			b := bundleOf(t, carried[:1])
			b.Releases = append(b.Releases, index.AirgapRelease{Name: "calico", Version: "1.10.0"})
			return []index.AirgapBundle{b}
		}, "did not carry calico@1.10.0", ""},
		{"another-list's-bytes", "", func() []index.AirgapBundle {
			b, other := bundleOf(t, carried), bundleOf(t, carried[:1])
			b.Manifest, b.Listing = other.Manifest, other.Listing
			return []index.AirgapBundle{b}
		}, "its list manifest is " + bundleOf(t, carried[:1]).List, ""},
		{"dropped-by-a-later-import", "", func() []index.AirgapBundle {
			// metallb changed at the source since bundle a: its new
			// shard is not here, so import dropped metallb@0.13.9.
			a, b := bundleOf(t, []string{"calico@1.2.0", "metallb@0.13.9"}), bundleOf(t, carried[1:])
			a.Releases = a.Releases[:1]
			return []index.AirgapBundle{a, b}
		}, "", "metallb@0.13.9 (bundle " + bundleOf(t, []string{"calico@1.2.0", "metallb@0.13.9"}).List + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := f.latest(t)
			airgapped(t, site, carried, false)
			if tc.delete != "" {
				os.RemoveAll(filepath.Join(site, tc.delete))
			}
			data, err := index.NewAirgap(tc.marker()...).Encode()
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(site, index.AirgapFile), data, 0o644)
			rep, err := VerifySite(ctx, site, v)
			if err != nil || rep.Subset == nil {
				t.Fatal(err)
			}
			rep.Subset.Accepted = true // --subset
			all := rep.AllProblems()
			switch {
			case tc.want == "" && len(all) != 0:
				t.Errorf("problems: %+v", all)
			case tc.want != "" && (len(all) == 0 || all[0].Path != index.AirgapFile || !strings.Contains(all[0].Err, tc.want)):
				t.Errorf("problems %+v, want one at %s saying %q", all, index.AirgapFile, tc.want)
			}
			if got := strings.Join(rep.Subset.Dropped, " "); got != tc.dropped {
				t.Errorf("dropped %q, want %q", got, tc.dropped)
			}
		})
	}
}

// TestWarnOnceEscapes: a marker's read error quotes the server; the
// warning shows a terminal sequence in it, it does not obey it.
func TestWarnOnceEscapes(t *testing.T) {
	var warn bytes.Buffer
	c := &Client{opts: Options{Warn: &warn}, air: &subsetOnce{}}
	c.warnOnce("registry r: airgap.json: 500 \x1b[2J\r")
	if got := warn.String(); got != "warning: registry r: airgap.json: 500 \\x1b[2J\\r\n" {
		t.Errorf("warned %q", got)
	}
}
