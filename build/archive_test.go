package build

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/pack"
)

// An archive's bytes depend on its release's tree alone (issue 13 item 3):
// a commit that touches nothing of a pack, and a build at HEAD rather than
// with history, leave its archive's sha256 unchanged.
func TestArchiveBytesIndependentOfCommit(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
	commit(t, r, "one")
	res1 := built(t, r.Dir, filepath.Join(tmp, "one"), func(o *Options) { o.History = false })

	must(t, r.Write("README.md", []byte("# packs\n")))
	commit(t, r, "README only")
	res2 := built(t, r.Dir, filepath.Join(tmp, "two"), func(o *Options) { o.History = false })
	res3 := built(t, r.Dir, filepath.Join(tmp, "three"))

	digest := func(res *Result) string {
		t.Helper()
		for _, s := range res.Shards {
			if s.Name == "calico" && len(s.Releases) == 1 {
				return s.Releases[0].Archive.SHA256
			}
		}
		t.Fatalf("no calico release in %+v", res.Shards)
		return ""
	}
	d1, d2, d3 := digest(res1), digest(res2), digest(res3)
	if d1 != d2 || d1 != d3 {
		t.Errorf("calico@3.26.0 archive sha256 differs between builds: %s (commit one), %s (README commit), %s (history)", d1, d2, d3)
	}
}

// commitFiles writes a pack with extra files (symlinks as "->target")
// through a real directory, so git records real symlinks.
func commitFiles(t *testing.T, r *gitfixture.Repo, dir, name string, files map[string]string) {
	t.Helper()
	src := t.TempDir()
	for rel, body := range files {
		p := filepath.Join(src, filepath.FromSlash(rel))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if target, ok := strings.CutPrefix(body, "->"); ok {
			must(t, os.Symlink(target, p))
			continue
		}
		must(t, os.WriteFile(p, []byte(body), 0o644))
	}
	writePack(t, r, dir, name, "1.0.0", "addon", "")
	must(t, r.CopyDir(src, dir))
	commit(t, r, "add "+name)
}

// Issue 14 item 2 through the build: two symlinks that each stay inside
// when read alone, chained to reach /etc/passwd, are refused by the
// build (and skipped, not archived, with --skip-invalid).
func TestBuildRefusesChainedSymlinks(t *testing.T) {
	tmp, r := newRepo(t)
	var dirs []string
	for i := 1; i <= 30; i++ {
		dirs = append(dirs, fmt.Sprintf("d%02d", i))
	}
	deep := strings.Join(dirs, "/") + "/l"
	commitFiles(t, r, "packs/evil", "evil", map[string]string{
		deep:     "->" + strings.TrimSuffix(strings.Repeat("../", 30), "/"),
		"escape": "->" + deep + "/" + strings.Repeat("../", 31) + "etc/passwd",
	})
	_, err := run(t, r.Dir, filepath.Join(tmp, "site"))
	var inv *InvalidError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "packs/evil/escape") {
		t.Fatalf("want an InvalidError naming packs/evil/escape, got %v", err)
	}
	if res := skipsOne(t, r.Dir, filepath.Join(tmp, "site")); res.Root.Releases != 0 {
		t.Errorf("skip-invalid: %d releases published", res.Root.Releases)
	}
}

// Issue 14 item 3 through the build: a 74-byte logo.png whose header
// claims 100000×100000 pixels is an error naming the logo, not an out of
// memory crash, and --skip-invalid skips just that pack.
func TestBuildHugeLogoHeader(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/good", "good", "1.0.0", "cni", "")
	writePack(t, r, "packs/logo", "logo", "1.0.0", "addon", "")
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(append(b, typ...), data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 100000), 100000)
	logo := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", append(ihdr, 8, 6, 0, 0, 0))...)
	logo = append(logo, chunk("IDAT", []byte{0x78, 0x01, 0x01, 0x06, 0x00, 0xf9, 0xff, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1})...)
	logo = append(logo, chunk("IEND", nil)...)
	must(t, r.Write("packs/logo/logo.png", logo))
	commit(t, r, "huge logo")
	_, err := run(t, r.Dir, filepath.Join(tmp, "site"))
	if err == nil || !strings.Contains(err.Error(), "packs/logo/logo.png") || !strings.Contains(err.Error(), "100000x100000") {
		t.Fatalf("want an error naming packs/logo/logo.png and its size, got %v", err)
	}
	if res := skipsOne(t, r.Dir, filepath.Join(tmp, "site")); res.Root.Packs != 1 {
		t.Errorf("skip-invalid: %d packs published", res.Root.Packs)
	}
}

// Issue 14 item 4 through the build: non-ASCII and long names and link
// targets from git are archived (PAX) and extract back byte for byte.
func TestBuildNonASCIINames(t *testing.T) {
	tmp, r := newRepo(t)
	long := strings.Repeat("sous-répertoire/", 7) + "fichier.yaml"
	files := map[string]string{
		"café.md":           "# café\n",
		"docs/日本語.txt":      "ja\n",
		long:                "long\n",
		"links/" + "ü-link": "->../" + long,
	}
	commitFiles(t, r, "packs/intl", "intl", files)
	out := filepath.Join(tmp, "site")
	res := built(t, r.Dir, out)
	if res.Archived != 1 {
		t.Fatalf("archived %d", res.Archived)
	}
	f, err := os.Open(filepath.Join(out, filepath.FromSlash(res.Shards[0].Releases[0].Archive.Path)))
	must(t, err)
	defer f.Close()
	dest := filepath.Join(tmp, "intl")
	_, err = pack.Extract(f, dest, pack.ExtractOptions{Root: "intl"})
	must(t, err)
	for rel, body := range files {
		p := filepath.Join(dest, filepath.FromSlash(rel))
		if target, ok := strings.CutPrefix(body, "->"); ok {
			if got, err := os.Readlink(p); err != nil || got != target {
				t.Errorf("%s -> %q, %v", rel, got, err)
			}
			continue
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != body {
			t.Errorf("%s: %q, %v", rel, got, err)
		}
	}
}

// Over a history of several commits, with and without history, a fresh
// build and an incremental one of each commit give the same archive
// bytes, and an archive's bytes never change from one commit to the next.
func TestArchivesSameFreshAndIncremental(t *testing.T) {
	tmp, r := newRepo(t)
	var commits []string
	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
	commits = append(commits, commit(t, r, "calico"))
	must(t, r.Write("README.md", []byte("# packs\n")))
	commits = append(commits, commit(t, r, "readme"))
	writePack(t, r, "packs/calico", "calico", "3.27.0", "cni", "x: 1\n")
	writePack(t, r, "packs/prom", "prom", "57.0.0", "addon", "")
	commits = append(commits, commit(t, r, "bump calico, add prom"))
	must(t, r.Write("README.md", []byte("# packs, again\n")))
	commits = append(commits, commit(t, r, "readme again"))

	archives := func(dir string) map[string]string {
		out := map[string]string{}
		for p, sum := range siteHashes(t, dir) {
			if strings.HasSuffix(p, ".tar.gz") {
				out[p] = sum
			}
		}
		return out
	}
	for _, history := range []bool{false, true} {
		seen := map[string]string{} // archive path -> sha256, across commits
		inc := filepath.Join(tmp, fmt.Sprintf("inc-%v", history))
		for i, c := range commits {
			set := func(o *Options) { o.Ref, o.History = c, history }
			built(t, r.Dir, inc, set)
			built(t, r.Dir, filepath.Join(tmp, fmt.Sprintf("fresh-%v-%d", history, i)), set)
			a, b := archives(inc), archives(filepath.Join(tmp, fmt.Sprintf("fresh-%v-%d", history, i)))
			for p, sum := range b {
				if a[p] != sum {
					t.Errorf("history=%v commit %d: %s is %.12s fresh, %.12s incremental", history, i, p, sum, a[p])
				}
				if prev, ok := seen[p]; ok && prev != sum {
					t.Errorf("history=%v commit %d: %s changed from %.12s to %.12s", history, i, p, prev, sum)
				}
				seen[p] = sum
			}
			if len(b) == 0 {
				t.Fatalf("commit %d: no archives built", i)
			}
		}
	}
}
