package rebuild_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/rebuild"
	"github.com/packgen/packgen/source"
)

var must = testutil.Must

// fixture is a repository with one pack holding what real packs hold
// (nested dirs, an executable, a symlink, an ignored file), built.
func fixture(t *testing.T) (repo, site string, rel *source.Release) {
	t.Helper()
	tmp := t.TempDir()
	r, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	must(t, err)
	must(t, r.Write("packs/calico/pack.json", []byte(`{"name":"calico","version":"3.27.0","layer":"cni","displayName":"Calico","cloudTypes":["all"]}`)))
	must(t, r.Write("packs/calico/values.yaml", []byte("pack:\n  namespace: calico\n")))
	must(t, r.Write("packs/calico/manifests/crd.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")))
	must(t, r.Write("packs/calico/scripts/run.sh", []byte("#!/bin/sh\necho hi\n")))
	must(t, r.Write("packs/calico/notes.tmp", []byte("scratch\n")))
	must(t, r.Write("packs/calico/.packignore", []byte("*.tmp\n")))
	must(t, os.Chmod(filepath.Join(r.Dir, "packs/calico/scripts/run.sh"), 0o755))
	must(t, os.Symlink("manifests/crd.yaml", filepath.Join(r.Dir, "packs/calico/crd-link.yaml")))
	_, err = r.Commit("calico")
	must(t, err)
	site = filepath.Join(tmp, "site")
	_, err = build.Run(context.Background(), build.Options{Repo: r.Dir, Out: site, History: true, Registry: "t"})
	must(t, err)
	sr, err := source.Open(r.Dir)
	must(t, err)
	res, err := sr.Releases(context.Background(), source.Options{History: true})
	must(t, err)
	return r.Dir, site, &res.Releases[0]
}

func archiveOf(t *testing.T, site string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(site, "packs/calico/3.27.0/calico-3.27.0.tar.gz"))
	must(t, err)
	return data
}

// rewrite rewrites an archive, letting edit change its entries (a nil
// header drops the entry).
func rewrite(t *testing.T, data []byte, edit func(hd *tar.Header, body []byte) (*tar.Header, []byte)) []byte {
	t.Helper()
	var out []tartest.Entry
	for _, e := range entriesOf(t, data) {
		if nh, nb := edit(e.Header, e.Body); nh != nil {
			out = append(out, tartest.Entry{Header: nh, Body: nb})
		}
	}
	return tarGz(t, out, true)
}

// entriesOf are the entries of a .tar.gz, to edit and write again.
func entriesOf(t *testing.T, data []byte) []tartest.Entry {
	t.Helper()
	var out []tartest.Entry
	tartest.Each(t, data, func(hd *tar.Header, body []byte) {
		out = append(out, tartest.Entry{Header: hd, Body: body})
	})
	return out
}

// tarGz packs entries as one gzip member, each header's Size set to its
// body's length; eof false leaves out tar's end-of-archive blocks (two
// zero blocks of 512 bytes), so another member can go on.
func tarGz(t *testing.T, entries []tartest.Entry, eof bool) []byte {
	t.Helper()
	for _, e := range entries {
		e.Header.Size = int64(len(e.Body))
	}
	raw := tartest.Tar(t, entries...)
	if !eof {
		raw = raw[:len(raw)-2*512]
	}
	return tartest.Gzip(t, raw)
}

func TestCompare(t *testing.T) {
	_, site, rel := fixture(t)
	orig := archiveOf(t, site)
	if err := rebuild.Compare(bytes.NewReader(orig), "calico", rel); err != nil {
		t.Fatalf("the build's own archive: %v", err)
	}
	d, err := rebuild.Rebuild(rel)
	must(t, err)
	if got := index.Digest(orig); d.SHA256 != got {
		t.Errorf("rebuild sha256 %s, published %s", d.SHA256, got)
	}
	type edit = func(hd *tar.Header, b []byte) (*tar.Header, []byte)
	same := func(hd *tar.Header, b []byte) (*tar.Header, []byte) { return hd, b }
	// onFile edits the entry whose name ends in suffix, keeps the rest.
	onFile := func(suffix string, e edit) edit {
		return func(hd *tar.Header, b []byte) (*tar.Header, []byte) {
			if strings.HasSuffix(hd.Name, suffix) {
				return e(hd, b)
			}
			return hd, b
		}
	}
	renamed := func(suffix, name string) edit {
		return onFile(suffix, func(hd *tar.Header, b []byte) (*tar.Header, []byte) {
			hd.Name = name
			return hd, b
		})
	}
	for _, tc := range []struct {
		name string
		edit edit
		root string
		want string // in the error
	}{
		{"other bytes, same files", same, "calico", ""},
		{"content changed at byte 850 of a file", onFile("crd.yaml", func(hd *tar.Header, b []byte) (*tar.Header, []byte) {
			b = append([]byte(nil), b...)
			b[len(b)-2] ^= 1
			return hd, b
		}), "calico", "manifests/crd.yaml: content differs"},
		{"file added", renamed("crd.yaml", "calico/manifests/evil.yaml"), "calico", "manifests/evil.yaml: file in the archive that git does not hold"},
		{"file dropped", onFile("values.yaml", func(*tar.Header, []byte) (*tar.Header, []byte) { return nil, nil }), "calico", "values.yaml: in git, missing from the archive"},
		{"mode changed", onFile("run.sh", func(hd *tar.Header, b []byte) (*tar.Header, []byte) {
			hd.Mode = 0o644
			return hd, b
		}), "calico", "scripts/run.sh: mode 644 in the archive, 755 in git"},
		{"link retargeted", func(hd *tar.Header, b []byte) (*tar.Header, []byte) {
			if hd.Typeflag == tar.TypeSymlink {
				hd.Linkname = "values.yaml"
			}
			return hd, b
		}, "calico", "crd-link.yaml: content differs"},
		{"ignored file smuggled in", renamed("values.yaml", "calico/notes.tmp"), "calico", "notes.tmp: file in the archive that git does not hold"},
		{"another root", same, "tigera", "is not under tigera/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := rebuild.Compare(bytes.NewReader(rewrite(t, orig, tc.edit)), tc.root, rel)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("same files re-packed: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := rebuild.Compare(bytes.NewReader(orig[:len(orig)/2]), "calico", rel); err == nil || errors.Is(err, rebuild.ErrDiffers) {
		t.Errorf("truncated archive: %v, want a read error", err)
	}
}

func TestCheckSite(t *testing.T) {
	repo, site, _ := fixture(t)
	rep, err := rebuild.CheckSite(context.Background(), site, repo)
	must(t, err)
	if rep.Releases != 1 || len(rep.Problems) != 0 {
		t.Fatalf("a fresh build: %+v", rep)
	}
	// The same site against a repository whose history was rewritten:
	// the recorded commit is gone.
	other := t.TempDir()
	cmd := exec.Command("git", "init", "-q", other)
	must(t, cmd.Run())
	r2, err := gitfixture.Init(filepath.Join(other, "r"))
	must(t, err)
	must(t, r2.Write("x", []byte("x")))
	_, err = r2.Commit("x")
	must(t, err)
	rep, err = rebuild.CheckSite(context.Background(), site, r2.Dir)
	must(t, err)
	// (TestCheckLogRepositories has the words of each.)
	if len(rep.Problems) != 2 || !strings.Contains(rep.Problems[0].Msg, "does not contain that commit") || !strings.Contains(rep.Problems[1].Msg, "release not in the repository") {
		t.Fatalf("against another repository: %+v", rep.Problems)
	}
	// A flipped byte in the archive is reported (digest or content).
	a := filepath.Join(site, "packs/calico/3.27.0/calico-3.27.0.tar.gz")
	data := archiveOf(t, site)
	data[len(data)/2] ^= 1
	must(t, os.WriteFile(a, data, 0o644))
	rep, err = rebuild.CheckSite(context.Background(), site, repo)
	must(t, err)
	if len(rep.Problems) == 0 {
		t.Fatal("a corrupted archive passed the rebuild check")
	}
}
