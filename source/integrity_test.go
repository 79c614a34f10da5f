package source

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
)

// crdYAML renders a CustomResourceDefinition whose OpenAPI v3 schema has
// props properties (≈ 330 bytes each), as chart CRDs look. rev changes a
// few descriptions and adds a field every revision, so consecutive
// revisions are near-identical: git stores them as deltas of each other.
func crdYAML(kind string, props, rev int) []byte {
	rnd := rand.New(rand.NewSource(int64(len(kind)*7919 + props)))
	var b strings.Builder
	b.WriteString(synth.CRDHeader(kind))
	types := []string{"string", "integer", "boolean", "array", "object"}
	for i := 0; i < props+rev; i++ {
		typ := types[rnd.Intn(len(types))]
		desc := fmt.Sprintf("%s configures field %d of the %s: when unset the controller picks a default suited to the cluster size, see the operator guide", kind, i, kind)
		if i%97 == rev%97 {
			desc = fmt.Sprintf("revision %d rewrote this description of field %d", rev, i)
		}
		fmt.Fprintf(&b, "            field%05d:\n              description: %s\n              type: %s\n", i, desc, typ)
		switch typ {
		case "integer":
			fmt.Fprintf(&b, "              format: int64\n              minimum: %d\n              maximum: %d\n", rnd.Intn(10), 100+rnd.Intn(1e6))
		case "array":
			fmt.Fprintf(&b, "              items:\n                type: string\n              maxItems: %d\n", 1+rnd.Intn(64))
		case "object":
			fmt.Fprintf(&b, "              x-kubernetes-preserve-unknown-fields: true\n              additionalProperties:\n                type: string\n")
		case "string":
			fmt.Fprintf(&b, "              pattern: ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$\n              maxLength: %d\n", 63+rnd.Intn(200))
		}
	}
	return []byte(b.String())
}

// largeCRDRepo makes a repository of packs holding CRDs of 300 KB to
// 2 MB, edited in place and copied into sibling versions across commits,
// packed by `git gc --aggressive` so the large blobs are deltas (what a
// normal clone of a real pack repository holds). It returns the commits,
// newest first.
func largeCRDRepo(t testing.TB, commits int) (dir string, hashes []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git binary not installed")
	}
	r := newRepo(t)
	sizes := map[string]int{"Certificate": 1000, "Prometheus": 2600, "Cluster": 6000} // ≈ 330 KB, 860 KB, 2 MB
	for c := 0; c < commits; c++ {
		for kind, props := range sizes {
			name := strings.ToLower(kind)
			// In place: the pack's current version edited every commit,
			// bumped every other commit; the old version is kept as a
			// sibling dir, as repositories with several live versions do.
			v := fmt.Sprintf("1.%d.0", c/2)
			dir := fmt.Sprintf("packs/%s-%s", name, v)
			must(t, r.Write(dir+"/pack.json", []byte(fmt.Sprintf(`{"name": %q, "version": %q, "layer": "addon", "addonType": "system app", "displayName": %q, "cloudTypes": ["all"]}`, name, v, kind))))
			must(t, r.Write(dir+"/values.yaml", []byte(fmt.Sprintf("pack:\n  namespace: %s\n  revision: %d\n", name, c))))
			must(t, r.Write(dir+"/charts/crds/"+name+".yaml", crdYAML(kind, props, c)))
		}
		commit(t, r, fmt.Sprint("revision ", c))
	}
	testutil.Git(t, r.Dir, "gc", "--aggressive", "--prune=now", "--quiet")
	for _, l := range strings.Fields(string(testutil.Git(t, r.Dir, "rev-list", "--first-parent", "HEAD"))) {
		hashes = append(hashes, l)
	}
	return r.Dir, hashes
}

// readAllFiles reads every regular file of fsys, keyed by path.
func readAllFiles(t testing.TB, fsys fs.FS) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	must(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out[p] = data
		return nil
	}))
	return out
}

// TestLargeDeltaBlobsExact reads every file of every commit of a
// repository of large delta-compressed CRDs through the tree FS a build
// uses, and compares each byte for byte with `git cat-file`.
func TestLargeDeltaBlobsExact(t *testing.T) {
	dir, commits := largeCRDRepo(t, 8)
	if pk := testutil.Git(t, dir, "count-objects", "-v"); !strings.Contains(string(pk), "packs: 1") {
		t.Fatalf("not packed: %s", pk)
	}
	repo, err := Open(dir)
	must(t, err)
	// Through Release.Open, as the build reads releases.
	res, err := repo.Releases(context.Background(), Options{History: true})
	must(t, err)
	if len(res.Releases) != 3*4 {
		t.Fatalf("releases: %s", ids(res))
	}
	checked := 0
	for _, rel := range res.Releases {
		fsys, done, err := rel.Open()
		must(t, err)
		for p, data := range readAllFiles(t, fsys) {
			want := testutil.Git(t, dir, "cat-file", "blob", rel.Commit+":"+path.Join(rel.Dir, p))
			if !bytes.Equal(data, want) {
				t.Errorf("%s at %s: %d bytes differ from git's %d (first difference at byte %d)", path.Join(rel.Dir, p), rel.Commit[:8], len(data), len(want), firstDiff(data, want))
			}
			checked++
		}
		done()
	}
	// And every commit's whole tree through a reader handle.
	for _, c := range commits {
		h, err := repo.acquire()
		must(t, err)
		co, err := object.GetCommit(h.git.Storer, plumbing.NewHash(c))
		must(t, err)
		tree, err := co.Tree()
		must(t, err)
		for p, data := range readAllFiles(t, &treeFS{s: h.git.Storer, stream: h.stream, root: tree}) {
			want := testutil.Git(t, dir, "cat-file", "blob", c+":"+p)
			if !bytes.Equal(data, want) {
				t.Errorf("%s at %s: %d bytes differ from git's %d (first difference at byte %d)", p, c[:8], len(data), len(want), firstDiff(data, want))
			}
			checked++
		}
		repo.release(h)
	}
	if checked < 100 {
		t.Fatalf("only %d files checked", checked)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// BenchmarkReadReleases reads every file of every release of a packed
// repository shaped like a real one (200 packs of small YAML plus a
// chart archive, ten of them with CRDs of 300 KB to 2 MB), as a cold
// build reads them: the cost of reading blobs, and of checking them.
func BenchmarkReadReleases(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git binary not installed")
	}
	r := newRepo(b)
	rnd := rand.New(rand.NewSource(1))
	noise := make([]byte, 24<<10)
	for i := 0; i < 200; i++ {
		dir := fmt.Sprintf("packs/p%03d", i)
		must(b, r.Write(dir+"/pack.json", []byte(fmt.Sprintf(`{"name":"p%03d","version":"1.0.0","layer":"addon","addonType":"system app","displayName":"P","cloudTypes":["all"]}`, i))))
		must(b, r.Write(dir+"/values.yaml", crdYAML("Values", 10+i%20, i)))
		for m := 0; m < 3; m++ {
			must(b, r.Write(fmt.Sprintf("%s/manifests/m%d.yaml", dir, m), crdYAML(fmt.Sprintf("M%d", m), 15+i%40, i)))
		}
		rnd.Read(noise) // incompressible, like a chart .tgz
		must(b, r.Write(dir+"/charts/chart.tgz", noise))
		if i%20 == 0 {
			must(b, r.Write(dir+"/charts/crds/crd.yaml", crdYAML("Big", 1000+i*25, i)))
		}
	}
	commit(b, r, "packs")
	testutil.Git(b, r.Dir, "gc", "--aggressive", "--prune=now", "--quiet")
	repo := openRepo(b, r.Dir)
	res, err := repo.Releases(context.Background(), Options{})
	must(b, err)
	b.ResetTimer()
	var total int64
	for n := 0; n < b.N; n++ {
		total = 0
		for _, rel := range res.Releases {
			fsys, done, err := rel.Open()
			must(b, err)
			// Streamed, as an archive is written: nothing kept.
			must(b, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return err
				}
				f, err := fsys.Open(p)
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, f)
				f.Close()
				total += n
				return err
			}))
			must(b, IntegrityError(fsys))
			done()
		}
	}
	b.SetBytes(total)
}

// TestCorruptObjectDetected corrupts one blob at a time in a real
// repository and reads the release as a build does: the read fails, or,
// when its caller stops early or drops the error, IntegrityError says so,
// naming the object and the path; the other files still read.
func TestCorruptObjectDetected(t *testing.T) {
	big := crdYAML("Big", 1200, 0) // > smallBlob: streamed, not cached
	for _, tc := range []struct {
		name, file string
		content    []byte
		read       func(fsys fs.FS, name string) error
	}{
		{"small blob, same size", "values.yaml", []byte("pack: {x}\n"), readWhole},
		{"small blob, other size", "values.yaml", []byte("pack: {}\nmore: 1\n"), readWhole},
		{"large blob streamed", "crds/big.yaml", append(bytes.Clone(big[:len(big)-1]), 'X'), readWhole},
		{"large blob shorter", "crds/big.yaml", big[:len(big)/2], readWhole},
		{"large blob, reader stops early", "crds/big.yaml", append(bytes.Clone(big[:len(big)-1]), 'X'), readHead},
		{"small blob, reader stops early", "values.yaml", []byte("pack: {x}\n"), readHead},
		{"symlink", "link", []byte("crds/big.yaml"), func(fsys fs.FS, name string) error {
			_, err := fs.ReadLink(fsys, name)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			dir := r.Dir
			writePack(t, r, "packs/a", "calico", "1.0.0")
			must(t, r.Write("packs/a/crds/big.yaml", big))
			must(t, os.Symlink("values.yaml", filepath.Join(dir, "packs/a/link")))
			commit(t, r, "one")
			id := testutil.CorruptLoose(t, dir, "HEAD:packs/a/"+tc.file, tc.content)

			fsys, done := openFirst(t, dir)
			defer done()
			rerr := tc.read(fsys, tc.file)
			ierr := IntegrityError(fsys)
			if !errors.Is(ierr, ErrCorruptObject) {
				t.Fatalf("IntegrityError = %v (read: %v)", ierr, rerr)
			}
			for _, want := range []string{id, "packs/a/" + tc.file} {
				if !strings.Contains(ierr.Error(), want) {
					t.Errorf("error does not name %s: %v", want, ierr)
				}
			}
			t.Logf("read: %v\nintegrity: %v", rerr, ierr)
			if rerr != nil && !errors.Is(rerr, ErrCorruptObject) {
				t.Errorf("read error does not wrap ErrCorruptObject: %v", rerr)
			}
			if _, err := fs.ReadFile(fsys, "pack.json"); err != nil {
				t.Errorf("intact file: %v", err)
			}
		})
	}
}

func readWhole(fsys fs.FS, name string) error {
	_, err := fs.ReadFile(fsys, name)
	return err
}

// readHead reads a few bytes and closes, as a format sniffer does.
func readHead(fsys fs.FS, name string) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	if _, err := f.Read(make([]byte, 4)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// TestCorruptManifestFailsWalk: a pack.json whose bytes are not its
// object's fails the walk, naming object and path.
func TestCorruptManifestFailsWalk(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0")
	commit(t, r, "one")
	id := testutil.CorruptLoose(t, r.Dir, "HEAD:packs/a/pack.json", []byte(`{"name": "calico", "version": "9.9.9", "layer": "cni", "displayName": "x", "cloudTypes": ["all"]}`))
	repo := openRepo(t, r.Dir)
	_, err := repo.Releases(context.Background(), Options{})
	if !errors.Is(err, ErrCorruptObject) || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "packs/a/pack.json") {
		t.Fatalf("got %v", err)
	}
}

// BenchmarkBlobCheck is the checking pass alone: a 2 MB CRD read
// through checkedReader against the same bytes read plainly.
func BenchmarkBlobCheck(b *testing.B) {
	data := crdYAML("Cluster", 6000, 0)
	id := plumbing.ComputeHash(plumbing.BlobObject, data)
	buf := make([]byte, 32<<10)
	for _, checked := range []bool{false, true} {
		b.Run(fmt.Sprint("checked=", checked), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for n := 0; n < b.N; n++ {
				var r io.Reader = bytes.NewReader(data)
				if checked {
					r = newCheckedReader(io.NopCloser(r), id, int64(len(data)), "crd.yaml", nil)
				}
				if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLargeWholeBlobStreams: a large blob stored whole, loose or in a
// pack, is streamed from disk (read with far less memory than its size)
// and its bytes are git's; a large delta is resolved in memory.
func TestLargeWholeBlobStreams(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0")
	big := make([]byte, 24<<20)
	rand.New(rand.NewSource(3)).Read(big) // incompressible: never a delta
	must(t, r.Write("packs/a/charts/big.tgz", big))
	commit(t, r, "one")
	for _, state := range []string{"loose", "packed"} {
		if state == "packed" {
			testutil.Git(t, r.Dir, "gc", "--aggressive", "--prune=now", "--quiet")
		}
		fsys, done := openFirst(t, r.Dir)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f, err := fsys.Open("charts/big.tgz")
		must(t, err)
		h := sha1.New()
		n, err := io.Copy(h, f)
		must(t, err)
		must(t, f.Close())
		runtime.ReadMemStats(&after)
		done()
		must(t, IntegrityError(fsys))
		if n != int64(len(big)) {
			t.Fatalf("%s: read %d bytes", state, n)
		}
		t.Logf("%s: %d MiB allocated", state, (after.TotalAlloc-before.TotalAlloc)>>20)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%s: reading a %d MiB blob allocated %d MiB: not streamed", state, len(big)>>20, alloc>>20)
		}
	}
}
