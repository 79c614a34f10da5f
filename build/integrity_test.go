package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/source"
)

// bigCRD is a CRD of about n*110 bytes; rev edits a few lines, so the
// revisions of one file are stored as deltas by git gc.
func bigCRD(n, rev int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\nspec:\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        properties:\n")
	for i := 0; i < n+rev; i++ {
		note := "default suited to the cluster size"
		if i%211 == rev {
			note = fmt.Sprintf("changed in revision %d", rev)
		}
		fmt.Fprintf(&b, "          f%06d:\n            type: string\n            description: field %d, %s\n", i, i, note)
	}
	return []byte(b.String())
}

// TestBuildLargeDeltaBlobsExact builds a gc --aggressive repository of
// large CRDs edited across versions and compares every archived file
// with `git cat-file` of the commit its release records.
func TestBuildLargeDeltaBlobsExact(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git binary not installed")
	}
	tmp, r := newRepo(t)
	for c := 0; c < 6; c++ {
		v := fmt.Sprintf("1.%d.0", c/2)
		dir := "packs/crds-" + v
		writePack(t, r, dir, "crds", v, "addon", "")
		must(t, r.Write(dir+"/manifests/crd.yaml", bigCRD(16000, c))) // ≈ 1.8 MB
		commit(t, r, fmt.Sprint("rev ", c))
	}
	testutil.Git(t, r.Dir, "gc", "--aggressive", "--prune=now", "--quiet")
	res := built(t, r.Dir, filepath.Join(tmp, "site"))
	checked := 0
	for _, sh := range res.Shards {
		for _, rel := range sh.Releases {
			archive := testutil.ReadFile(t, filepath.Join(tmp, "site", filepath.FromSlash(rel.Archive.Path)))
			tartest.Each(t, archive, func(h *tar.Header, got []byte) {
				if h.Typeflag != tar.TypeReg {
					return
				}
				file := path.Join(rel.Dir, strings.TrimPrefix(h.Name, sh.Name+"/"))
				if want := testutil.Git(t, r.Dir, "cat-file", "blob", rel.Commit+":"+file); !bytes.Equal(got, want) {
					t.Errorf("%s@%s %s: archived bytes differ from git's", sh.Name, rel.Version, file)
				}
				checked++
			})
		}
	}
	if checked != 3*3 {
		t.Fatalf("checked %d files, want 9", checked)
	}
}

// TestBuildFailsOnCorruptObject: a blob whose bytes are not its object's
// fails the build, even with --skip-invalid and even when the corrupt
// bytes make the pack invalid, naming the object and the path; nothing
// is published.
func TestBuildFailsOnCorruptObject(t *testing.T) {
	big := bigCRD(4000, 0) // > 256 KiB: streamed, not cached
	for _, tc := range []struct {
		name, file string
		content    []byte
	}{
		{"valid bytes", "values.yaml", []byte("pack:\n  namespace: other\n")},
		{"bytes that fail validation", "values.yaml", []byte("pack: [\n")},
		{"large blob", "manifests/crd.yaml", append(bytes.Clone(big[:len(big)-2]), "x\n"...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp, r := newRepo(t)
			writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
			must(t, r.Write("packs/calico/manifests/crd.yaml", big))
			commit(t, r, "one")
			id := testutil.CorruptLoose(t, r.Dir, "HEAD:packs/calico/"+tc.file, tc.content)

			out := filepath.Join(tmp, "site")
			_, err := run(t, r.Dir, out, func(o *Options) { o.SkipInvalid = true })
			if !errors.Is(err, source.ErrCorruptObject) {
				t.Fatalf("build: %v", err)
			}
			for _, want := range []string{id, "packs/calico/" + tc.file} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not name %s: %v", want, err)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a failed build left %s: %v", out, err)
			}
		})
	}
}
