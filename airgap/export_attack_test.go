package airgap

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/publish"
)

// exportImages runs the image half of Export (the manifests, the tar's
// layout and downloads, the signature checks, the list, the rename) for
// images alone: what an image registry serves reaches export there.
func exportImages(ctx context.Context, t testing.TB, out string, o ExportOptions, refs ...string) (*ExportResult, error) {
	return exportImagesBudget(ctx, t, out, o, 0, refs...)
}

// exportImagesBudget is exportImages with the stage's memory budget
// (0: export's own).
func exportImagesBudget(ctx context.Context, t testing.TB, out string, o ExportOptions, budget int64, refs ...string) (*ExportResult, error) {
	t.Helper()
	o.Output = out
	o.OCI = plainHTTP
	o.defaults(8)
	e := &exporter{o: o, res: &ExportResult{Output: out, Warnings: []string{}}}
	e.warn = warner(&e.res.Warnings, o.Warn)
	cleanup, err := e.makeStage()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if budget != 0 {
		e.store.budget = budget
	}
	e.list = &list.List{SchemaVersion: list.ListVersion, Profile: "attack", Packs: []list.Pack{}, Images: []list.Image{}}
	if e.list.Index, err = exportIndex(ctx, e.store, &publish.Subset{Files: map[string][]byte{}}); err != nil {
		return nil, err
	}
	e.needs = map[string][]string{}
	for _, r := range refs {
		e.needs[r] = []string{"p@1.0.0"}
	}
	err = e.writeBundle(ctx)
	if err == nil {
		err = e.finish(ctx)
	}
	err = noSpace(err, out)
	if err != nil {
		return nil, err
	}
	return e.res, nil
}

// crafted pushes raw manifest bytes (an attacker's) to the registry.
type crafted struct {
	t   *testing.T
	reg *ocitest.Registry
}

func (c crafted) blob(repo string, data []byte) ocispec.Descriptor {
	c.t.Helper()
	d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageLayer, data)
	if err := repoOf(c.t, c.reg.Host()+"/"+repo).Blobs().Push(context.Background(), d, bytes.NewReader(data)); err != nil {
		c.t.Fatal(err)
	}
	return d
}

// parts pushes the blobs of a small linux/amd64 image to repo: its
// config, then its one layer.
func (c crafted) parts(repo string) (config, layer ocispec.Descriptor) {
	c.t.Helper()
	config = c.blob(repo, []byte(`{"architecture":"amd64","os":"linux"}`))
	config.MediaType = ocispec.MediaTypeImageConfig
	return config, c.blob(repo, []byte("layer"))
}

// sized is d declaring n bytes.
func sized(d ocispec.Descriptor, n int64) ocispec.Descriptor { d.Size = n; return d }

func (c crafted) manifest(repo, tag, mediaType string, v any) ocispec.Descriptor {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	d := content.NewDescriptorFromBytes(mediaType, data)
	r := repoOf(c.t, c.reg.Host()+"/"+repo)
	if tag == "" {
		err = r.Manifests().Push(context.Background(), d, bytes.NewReader(data))
	} else {
		err = r.Manifests().PushReference(context.Background(), d, bytes.NewReader(data), tag)
	}
	if err != nil {
		c.t.Fatalf("push %s: %v", repo, err)
	}
	return d
}

func image(config ocispec.Descriptor, layers ...ocispec.Descriptor) ocispec.Manifest {
	return ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: layers}
}

// TestAttackDeclaredSizes: a manifest's sizes are an upstream
// registry's word. One that is negative, too big for any bundle, that
// overflows summed with the others, more than the disk holds, or that
// lies about the bytes served is refused with an error naming the image
// and the blob; nothing is reserved for what is refused before it is
// placed, nothing is left in the output's directory, and nothing of an
// impossible size is fetched.
func TestAttackDeclaredSizes(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.Start(t, ocitest.Anonymous)
	c := crafted{t, reg}
	cfg, l := c.parts("x/y")
	l2 := c.blob("x/y", []byte("other layer"))
	mark := len(reg.AccessLog()) // the log's length before each case
	for _, tc := range []struct {
		name   string
		layers []ocispec.Descriptor
		want   error
		says   []string // besides the image
		fetch  bool     // the lie shows only in the download
	}{
		{"negative", []ocispec.Descriptor{sized(l, -5)}, publish.ErrRegistry, []string{l.Digest.String(), "size -5", "0 or more"}, false},
		{"negative-config", nil, publish.ErrRegistry, []string{cfg.Digest.String(), "size -1"}, false},
		{"two-to-62", []ocispec.Descriptor{sized(l, 1<<62)}, publish.ErrRegistry, []string{"x/y@" + l.Digest.String(), "declares 4611686018427387904 bytes", "expected 0 to"}, false},
		{"max-int64", []ocispec.Descriptor{sized(l, math.MaxInt64)}, publish.ErrRegistry, []string{"x/y@" + l.Digest.String(), "declares 9223372036854775807 bytes"}, false},
		{"sum-overflows", []ocispec.Descriptor{sized(l, 1<<61), sized(l2, 1<<61)}, publish.ErrRegistry, []string{"x/y@" + l2.Digest.String(), "declares 2305843009213693952 bytes"}, false},
		{"past-the-disk", []ocispec.Descriptor{sized(l, 1<<52)}, ErrNoSpace, []string{"x/y@" + l.Digest.String(), "declares 4503599627370496"}, false},
		{"bigger-than-served", []ocispec.Descriptor{sized(l, 1<<20)}, nil, []string{"x/y@" + l.Digest.String(), "Content-Length"}, true},
		{"smaller-than-served", []ocispec.Descriptor{sized(l, 2)}, nil, []string{"x/y@" + l.Digest.String(), "Content-Length"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := cfg
			if tc.name == "negative-config" {
				config = sized(cfg, -1)
			}
			crafted{t, reg}.manifest("x/y", tc.name, ocispec.MediaTypeImageManifest, image(config, tc.layers...))
			dir := t.TempDir()
			ref := reg.Host() + "/x/y:" + tc.name
			_, err := exportImages(ctx, t, filepath.Join(dir, "b.tar"), ExportOptions{}, ref)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			for _, s := range append(tc.says, "image "+ref) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%v: does not say %q", err, s)
				}
			}
			assertOnly(t, dir)
			blobGETs := 0
			log := reg.AccessLog()
			lines := log[mark:]
			mark = len(log)
			for _, line := range lines {
				if m := imageRequest.FindStringSubmatch(line); m != nil && m[1] == "GET" && m[3] == "blobs" {
					blobGETs++
				}
			}
			if !tc.fetch && blobGETs != 0 {
				t.Errorf("%d blobs fetched for a size refused up front", blobGETs)
			}
		})
	}
}

// TestAttackStageMemory: what upstream serves cannot grow export's
// memory without bound. An index whose platform manifests are near
// 1 MiB each (thousands of them would be gigabytes, which oras.Copy
// would hold until it returns) is refused once its manifests pass 4 MiB,
// naming the image; a signature naming 128 blobs of 1 MiB each (each
// small enough for the stage's memory) is exported with the stage's
// blobs past its 32 MiB budget in files: peak RSS stays under 128 MiB
// (the goal), measured in a process of its own. And a stage
// with no memory at all writes the same bundle, byte for byte, as one
// that keeps everything in memory.
func TestAttackStageMemory(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.Start(t, ocitest.Anonymous)
	c := crafted{t, reg}
	cfg, l := c.parts("big/index")

	t.Run("fat-index", func(t *testing.T) {
		var mans []ocispec.Descriptor
		for i := range 6 {
			m := image(cfg, l)
			m.Annotations = map[string]string{"pad": strings.Repeat(string(rune('a'+i)), 1<<20-512)}
			d := crafted{t, reg}.manifest("big/index", "", ocispec.MediaTypeImageManifest, m)
			d.Platform = &ocispec.Platform{OS: "linux", Architecture: fmt.Sprintf("arch%d", i)}
			mans = append(mans, d)
		}
		crafted{t, reg}.manifest("big/index", "fat", ocispec.MediaTypeImageIndex, ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: mans})
		dir := t.TempDir()
		ref := reg.Host() + "/big/index:fat"
		_, err := exportImages(ctx, t, filepath.Join(dir, "b.tar"), ExportOptions{}, ref)
		if !errors.Is(err, publish.ErrRegistry) || !strings.Contains(err.Error(), "image "+ref) || !strings.Contains(err.Error(), "expected at most 4194304") {
			t.Errorf("an index of 6 manifests of 1 MiB: %v", err)
		}
		assertOnly(t, dir)
	})

	// A signature of 128 distinct 1 MiB blobs, on a small image.
	img := c.manifest("big/sig", "1.0", ocispec.MediaTypeImageManifest, image(c.blob("big/sig", []byte(`{"os":"linux"}`)), c.blob("big/sig", []byte("own layer"))))
	layers := make([]ocispec.Descriptor, 128)
	var wg sync.WaitGroup
	for w := range 4 { // pushed 4 at once: the test's time is mostly this
		wg.Go(func() {
			blob := make([]byte, 1<<20)
			for i := w; i < len(layers); i += 4 {
				binary.BigEndian.PutUint64(blob, uint64(i))
				layers[i] = c.blob("big/sig", blob)
			}
		})
	}
	wg.Wait()
	sigCfg := c.blob("big/sig", []byte(`{}`))
	c.manifest("big/sig", list.CosignTag(img.Digest), ocispec.MediaTypeImageManifest, image(sigCfg, layers...))
	ref := reg.Host() + "/big/sig:1.0"

	t.Run("rss", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("VmHWM is Linux's")
		}
		out := filepath.Join(t.TempDir(), "b.tar")
		cmd := exec.Command(os.Args[0], "-test.run=^TestExportMemoryHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "PACKGEN_TEST_EXPORT_REF="+ref, "PACKGEN_TEST_EXPORT_OUT="+out)
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, got)
		}
		m := regexp.MustCompile(`peak RSS (\d+) KiB, heap (\d+) KiB`).FindSubmatch(got)
		if m == nil {
			t.Fatalf("no figure in\n%s", got)
		}
		rss, _ := strconv.Atoi(string(m[1]))
		heap, _ := strconv.Atoi(string(m[2]))
		t.Logf("export of 128 MiB of signature blobs: peak RSS %d KiB, peak heap %d KiB", rss, heap)
		if heap > 128<<10 || !raceEnabled && rss > 128<<10 {
			t.Errorf("peak RSS %d KiB, heap %d KiB: want at most 128 MiB", rss, heap)
		}
		if testutil.FileSize(t, out) < 128<<20 {
			t.Errorf("bundle of %d bytes: the signature's blobs are missing", testutil.FileSize(t, out))
		}
	})

	// An image of 128 distinct layers and one
	// naming the same layer 5,000 times: exported, each blob once, in a
	// bundle import's check accepts.
	t.Run("thousands-of-layers", func(t *testing.T) {
		c := crafted{t, reg}
		many := make([]ocispec.Descriptor, 128)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < len(many); i += 8 {
					many[i] = c.blob("big/layers", []byte(fmt.Sprintf("layer %d", i)))
				}
			})
		}
		wg.Wait()
		c.manifest("big/layers", "distinct", ocispec.MediaTypeImageManifest, image(c.blob("big/layers", []byte("{}")), many...))
		c.manifest("big/layers", "same", ocispec.MediaTypeImageManifest, image(c.blob("big/layers", []byte("{}")), slices.Repeat(many[:1], 5000)...))
		out := filepath.Join(t.TempDir(), "b.tar")
		res, err := exportImages(ctx, t, out, ExportOptions{}, reg.Host()+"/big/layers:distinct", reg.Host()+"/big/layers:same")
		if err != nil {
			t.Fatal(err)
		}
		importVerifies(ctx, t, out)
		if res.Blobs < 129 || res.Blobs > 137 {
			t.Errorf("%d blobs in the bundle, want the 128 layers, a config and a few manifests", res.Blobs)
		}
	})

	// Images each under the bound on one image's manifests, together
	// past the descriptors the images may name in all (100,000; 1,000
	// here, for the test's time: the registry checks every blob a
	// manifest it is given names): the one that passes it is refused.
	t.Run("many-images-many-layers", func(t *testing.T) {
		c := crafted{t, reg}
		one := c.blob("big/many", []byte("one"))
		big := newDirect()
		big.maxNamed = 1000
		clients := ocireg.NewClients(plainHTTP)
		for i, want := range []string{"", "expected at most 1000 in all"} {
			c.manifest("big/many", fmt.Sprint("v", i), ocispec.MediaTypeImageManifest, image(c.blob("big/many", []byte(fmt.Sprint(i))), slices.Repeat([]ocispec.Descriptor{one}, 600)...))
			ref := reg.Host() + fmt.Sprint("/big/many:v", i)
			_, err := exportImage(ctx, newTestStage(t), big, ref, nil, clients)
			if want == "" && err != nil || want != "" && (!errors.Is(err, publish.ErrRegistry) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "image "+ref)) {
				t.Errorf("%s, the %d descriptors named before it: %v, want %q", ref, big.named, err, want)
			}
		}
	})

	t.Run("same-bytes", func(t *testing.T) {
		dir := t.TempDir()
		small := reg.Host() + "/big/index:small"
		c := crafted{t, reg}
		sm := c.manifest("big/index", "small", ocispec.MediaTypeImageManifest, image(cfg, l))
		c.manifest("big/index", list.CosignTag(sm.Digest), ocispec.MediaTypeImageManifest, image(c.blob("big/index", []byte("{}")), c.blob("big/index", bytes.Repeat([]byte("s"), 4096)), c.blob("big/index", []byte("sig"))))
		var sums [][32]byte
		for _, budget := range []int64{1 << 40, -1} { // everything in memory; nothing
			p := filepath.Join(dir, fmt.Sprint(budget)+".tar")
			if _, err := exportImagesBudget(ctx, t, p, ExportOptions{uncheckedSigs: true}, budget, small); err != nil {
				t.Fatal(err)
			}
			sums = append(sums, testutil.SHA256File(t, p))
		}
		if sums[0] != sums[1] {
			t.Error("the stage in files and in memory wrote different bundles")
		}
	})
}

// TestExportMemoryHelper is TestAttackStageMemory/rss's export, in a
// process of its own: it prints the process's peak RSS (VmHWM) and its
// peak heap (polled every 5 ms; the race detector's shadow memory is in
// the RSS, not the heap).
func TestExportMemoryHelper(t *testing.T) {
	ref, out := os.Getenv("PACKGEN_TEST_EXPORT_REF"), os.Getenv("PACKGEN_TEST_EXPORT_OUT")
	if ref == "" {
		t.Skip("run by TestAttackStageMemory")
	}
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if h := ms.HeapInuse + ms.StackInuse; h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	_, err := exportImages(context.Background(), t, out, ExportOptions{uncheckedSigs: true}, ref)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no VmHWM in\n%s", status)
	}
	fmt.Printf("peak RSS %s KiB, heap %d KiB\n", m[1], peak.Load()>>10)
}

// TestAttackGraph: the shapes of an image's graph that content
// addressing allows an upstream registry. (A manifest naming itself, or
// a cycle through an index, cannot be written: a manifest's digest
// covers the digests it names, and every manifest is checked against
// its digest as it is read.) The same blob named with two sizes, within
// an image or across two, is refused as the manifests are read (its
// digest fixes its bytes, so one manifest lies; before, the bundle kept
// the size named first and import refused it, or the download did, as
// the images' order had it); the same blob as config and layer, a manifest named
// twice by an index, and an index nested 64 deep export once each blob
// and make a bundle import's check accepts.
func TestAttackGraph(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.Start(t, ocitest.Anonymous)
	c := crafted{t, reg}
	cfg, l := c.parts("g/r")
	asLayer := cfg
	asLayer.MediaType = ocispec.MediaTypeImageLayer
	index := func(tag string, ms ...ocispec.Descriptor) ocispec.Descriptor {
		return c.manifest("g/r", tag, ocispec.MediaTypeImageIndex, ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: ms})
	}
	c.manifest("g/r", "config-is-layer-other-size", ocispec.MediaTypeImageManifest, image(cfg, sized(asLayer, 1<<20)))
	c.manifest("g/r", "config-is-layer", ocispec.MediaTypeImageManifest, image(cfg, asLayer, l))
	// The true image sorts first, so the shared layer is placed and
	// fetched at its true size and the lie is met as its manifest is
	// read. Were the lying image first, its download of the layer could
	// fail on the registry's Content-Length before the second manifest
	// is read: refused either way, but under another message.
	c.manifest("g/r", "a-true-size", ocispec.MediaTypeImageManifest, image(cfg, l))
	c.manifest("g/r", "b-lying-size", ocispec.MediaTypeImageManifest, image(cfg, sized(l, l.Size+1)))
	m := c.manifest("g/r", "", ocispec.MediaTypeImageManifest, image(cfg, l))
	index("twice", m, m)
	deep := m
	for range 64 {
		deep = index("", deep)
	}
	index("deep", deep)
	for _, tc := range []struct {
		name string
		tags []string
		want []string // in the error; none: exported
	}{
		{"config-is-layer-other-size", []string{"config-is-layer-other-size"}, []string{cfg.Digest.String(), "size 1048576", fmt.Sprintf("size %d", cfg.Size)}},
		{"shared-other-size", []string{"a-true-size", "b-lying-size"}, []string{l.Digest.String(), fmt.Sprintf("size %d", l.Size), fmt.Sprintf("size %d", l.Size+1)}},
		{"config-is-layer", []string{"config-is-layer"}, nil},
		{"named-twice", []string{"twice"}, nil},
		{"deep", []string{"deep"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var refs []string
			for _, tag := range tc.tags {
				refs = append(refs, reg.Host()+"/g/r:"+tag)
			}
			out := filepath.Join(dir, "b.tar")
			_, err := exportImages(ctx, t, out, ExportOptions{}, refs...)
			if tc.want != nil {
				if !errors.Is(err, publish.ErrRegistry) {
					t.Fatalf("%v, want ErrRegistry", err)
				}
				for _, s := range tc.want {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%v: does not say %q", err, s)
					}
				}
				assertOnly(t, dir)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			importVerifies(ctx, t, out)
			for name, n := range tarEntries(t, out) {
				if n != 1 {
					t.Errorf("%s stored %d times", name, n)
				}
			}
		})
	}
}

// TestDirectArtifactManifest: an OCI 1.1-rc artifact manifest in an
// image's graph is a manifest to oras (content.Successors reads its
// blobs; import's copy pushes them): export's copy walks it, as it does
// an image manifest, and streams its blobs, not it. Before, it was
// streamed as a blob (from the blob endpoint, which holds no manifest)
// and its blobs were never bundled. (No registry test: distribution
// refuses artifact manifests.)
func TestDirectArtifactManifest(t *testing.T) {
	ctx := context.Background()
	store, push := memStore(t)
	sbom := push("application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	am, _ := json.Marshal(map[string]any{"mediaType": artifactManifest, "artifactType": "application/spdx+json", "blobs": []ocispec.Descriptor{sbom}})
	art := push(artifactManifest, am)
	cfg := push(ocispec.MediaTypeImageConfig, []byte("{}"))
	im, _ := json.Marshal(image(cfg))
	img := push(ocispec.MediaTypeImageManifest, im)
	ix, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{img, art}})
	idx := push(ocispec.MediaTypeImageIndex, ix)
	repo, err := remote.NewRepository("example.com/app")
	if err != nil {
		t.Fatal(err)
	}
	d := newDirect()
	find := d.successors(repo)
	// oras.Copy's walk: each node's successors found, in turn.
	var copied []digest.Digest
	for todo := []ocispec.Descriptor{idx}; len(todo) > 0; todo = todo[1:] {
		copied = append(copied, todo[0].Digest)
		next, err := find(ctx, store, todo[0])
		if err != nil {
			t.Fatal(err)
		}
		todo = append(todo, next...)
	}
	if want := []digest.Digest{idx.Digest, img.Digest, art.Digest}; !slices.Equal(copied, want) {
		t.Errorf("copied as manifests: %v, want the index, the image and the artifact manifest %v", copied, want)
	}
	var streamed []digest.Digest
	for _, e := range d.entries("example.com/app:1", idx.Digest) {
		if e.remote == nil || e.remote.repo != repo {
			t.Errorf("%s: not streamed from the image's repository", e.name)
			continue
		}
		streamed = append(streamed, e.remote.desc.Digest)
	}
	if want := []digest.Digest{cfg.Digest, sbom.Digest}; !slices.Equal(streamed, want) {
		t.Errorf("streamed as blobs: %v, want the config and the artifact's blob %v", streamed, want)
	}
	// The stage lists every manifest oras copies into it by digest (the
	// staged index.json), the artifact manifest too; blobs it does not.
	stage, err := newStage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{{idx, ix}, {img, im}, {art, am}, {cfg, []byte("{}")}, {sbom, []byte(`{"spdxVersion":"SPDX-2.3"}`)}} {
		if err := stage.Push(ctx, c.desc, bytes.NewReader(c.data)); err != nil {
			t.Fatal(err)
		}
	}
	var listed []digest.Digest
	for _, d := range []ocispec.Descriptor{idx, img, art, cfg, sbom} {
		if _, ok := stage.refs[d.Digest.String()]; ok {
			listed = append(listed, d.Digest)
		}
	}
	if want := []digest.Digest{idx.Digest, img.Digest, art.Digest}; !slices.Equal(listed, want) {
		t.Errorf("staged as manifests: %v, want the index, the image and the artifact manifest %v", listed, want)
	}
}

// importVerifies: import's check (Open, Verify) accepts the bundle at out.
func importVerifies(ctx context.Context, t *testing.T, out string) {
	t.Helper()
	b, err := Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Verify(ctx); err != nil {
		t.Errorf("import's check of the bundle: %v", err)
	}
}
