package pack

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack/meta"
)

// Attacks on the pack format, as an attacker would try them (issue 14),
// kept together so the next one is easy to add.

// chainedLinks is issue 14 item 2: two symlinks, each inside the pack when
// read lexically and alone; together they reach /etc/passwd.
//
//	d1/…/d30/l -> ../../…/..  (30 levels up: the pack root)
//	escape     -> d1/…/d30/l/../../…/etc/passwd  (31 levels up from the root)
//
// Read lexically, "d1/…/d30/l/.." is d1/…/d30; followed, l is the root and
// the 31 ".." climb out of it.
func chainedLinks() (deep, deepTarget, escape, escapeTarget string) {
	var dirs []string
	for i := 1; i <= 30; i++ {
		dirs = append(dirs, "d"+string(rune('0'+i/10))+string(rune('0'+i%10)))
	}
	deep = strings.Join(dirs, "/") + "/l"
	deepTarget = strings.TrimSuffix(strings.Repeat("../", 30), "/")
	return deep, deepTarget, "escape", deep + "/" + strings.Repeat("../", 31) + "etc/passwd"
}

func TestChainedLinksAreLexicallyInside(t *testing.T) {
	deep, deepTarget, escape, escapeTarget := chainedLinks()
	// The premise of the attack: each link passes the old, lexical check.
	if msg := linkEscapes(deep, deepTarget); msg != "" {
		t.Fatalf("deep link: %s", msg)
	}
	if msg := linkEscapes(escape, escapeTarget); msg != "" {
		t.Fatalf("escape link: %s", msg)
	}
}

func chainedFS() fstest.MapFS {
	deep, deepTarget, escape, escapeTarget := chainedLinks()
	m := baseFS()
	m[deep] = &fstest.MapFile{Data: []byte(deepTarget), Mode: fs.ModeSymlink}
	m[escape] = &fstest.MapFile{Data: []byte(escapeTarget), Mode: fs.ModeSymlink}
	return m
}

func TestValidateRefusesChainedLinks(t *testing.T) {
	disk := t.TempDir()
	for name, f := range chainedFS() {
		p := filepath.Join(disk, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.Mode&fs.ModeSymlink != 0 {
			if err := os.Symlink(string(f.Data), p); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// On disk, the kernel agrees the link escapes (the test's premise).
	if real, err := filepath.EvalSymlinks(filepath.Join(disk, "escape")); err == nil && strings.HasPrefix(real, disk) {
		t.Fatalf("escape resolves to %s, inside the pack", real)
	}
	for name, fsys := range map[string]fs.FS{"memory": chainedFS(), "disk": os.DirFS(disk)} {
		t.Run(name, func(t *testing.T) {
			_, ps := Load(fsys, ".", Options{})
			found := false
			for _, p := range ps {
				if p.File == "escape" && p.Severity == meta.SevError && strings.Contains(p.Msg, "symlink") {
					found = true
				}
			}
			if !found {
				t.Fatalf("no error on escape; problems:\n%s", ps.Error())
			}
		})
	}
}

func TestArchiveRefusesChainedLinks(t *testing.T) {
	// The build archives what Load listed; WriteArchive must refuse the
	// chain even if a caller ignores the problems.
	p, _ := Load(chainedFS(), ".", Options{})
	if _, ok := p.file("escape"); !ok {
		p.Files = append(p.Files, File{Path: "escape", Mode: fs.ModeSymlink | 0o777, Link: "x"})
	}
	_, _, escape, escapeTarget := chainedLinks()
	for i := range p.Files {
		if p.Files[i].Path == escape {
			p.Files[i].Link = escapeTarget
		}
	}
	_, err := WriteArchive(io.Discard, p, ArchiveOptions{})
	if !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("WriteArchive: %v, want ErrUnsafePath", err)
	}
}

func TestExtractRefusesChainedLinks(t *testing.T) {
	deep, deepTarget, escape, escapeTarget := chainedLinks()
	for _, order := range []string{"deep first", "escape first"} {
		t.Run(order, func(t *testing.T) {
			es := []entry{{name: "p/", typ: tar.TypeDir}, {name: "p/pack.json", body: "{}"}}
			links := []entry{
				{name: "p/" + deep, link: deepTarget, typ: tar.TypeSymlink},
				{name: "p/" + escape, link: escapeTarget, typ: tar.TypeSymlink},
			}
			if order == "escape first" {
				links[0], links[1] = links[1], links[0]
			}
			dest := filepath.Join(t.TempDir(), "out")
			_, err := Extract(bytes.NewReader(rawTGZ(t, append(es, links...))), dest, ExtractOptions{})
			if real, rerr := filepath.EvalSymlinks(filepath.Join(dest, escape)); rerr == nil && !strings.HasPrefix(real, dest+string(filepath.Separator)) {
				t.Errorf("DEST/escape resolves to %s, outside DEST", real)
			}
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("Extract: %v, want ErrUnsafePath", err)
			}
			if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("refused archive left %s: %v", dest, err)
			}
		})
	}
}

func TestChartRefusesChainedLinks(t *testing.T) {
	deep, deepTarget, escape, escapeTarget := chainedLinks()
	files := map[string]string{
		"app/Chart.yaml":          "name: app\nversion: 1.0.0\n",
		"app/" + deep:             "->" + deepTarget,
		"app/templates/" + escape: "->" + "../" + escapeTarget,
	}
	_, _, _, err := inspectChart(bytes.NewReader(tgz(t, files)))
	if err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("inspectChart: %v, want a symlink error", err)
	}
}

// Link rules beyond the one attack: the virtual tree refuses a link to a
// link and any path through a link, in every order, and still accepts
// plain links to files and directories.
func TestLinkTree(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links map[string]string // path -> target
		paths []string          // other entries
		bad   string            // the entries refused, sorted, "," between
	}{
		{"link to file", map[string]string{"docs/v": "../values.yaml"}, []string{"values.yaml"}, ""},
		{"link to dir", map[string]string{"m": "manifests"}, []string{"manifests/a.yaml"}, ""},
		{"link to root", map[string]string{"a/root": ".."}, nil, ""},
		{"dotted but plain", map[string]string{"a/b": "./../c/./d"}, []string{"c/d"}, ""},
		{"link to link", map[string]string{"a": "b", "b": "c"}, []string{"c"}, "a"},
		{"through a link", map[string]string{"a": "sub", "b": "a/x"}, []string{"sub/x"}, "b"},
		{"through a link then up", map[string]string{"up": ".", "b": "up/../x"}, nil, "b"},
		{"through itself", map[string]string{"s": "s/../.."}, nil, "s"},
		{"entry below a link", map[string]string{"a": "sub"}, []string{"a/x"}, "a/x"},
		{"entry below a link, other case", map[string]string{"A": "sub"}, []string{"a/x"}, "a,a/x"},
		{"through a link, other case", map[string]string{"L": ".", "b": "l/../x"}, nil, "b"},
		{"climbs out", map[string]string{"a/b": "../../x"}, nil, "a/b"},
		// Found by FuzzWriteArchive: targets validate took and the archive
		// or the extractor could not hold.
		{"nul in target", map[string]string{"l": "x\x00"}, nil, "l"},
		{"backslash in target", map[string]string{"l": `..\x`}, nil, "l"},
		{"target not UTF-8", map[string]string{"l": "\xb4"}, nil, "l"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bad := refusedLinks(t, tc.links, tc.paths, true); bad != tc.bad {
				t.Errorf("refused %q, want %q", bad, tc.bad)
			}
		})
	}
}

// refusedLinks runs checkLinks over links (path → target) and paths
// (regular files, with their parent directories when dirs) and returns
// the entries it refused, sorted, "," between; each refusal must say
// why.
func refusedLinks(t *testing.T, links map[string]string, paths []string, dirs bool) string {
	t.Helper()
	var files []File
	for p, target := range links {
		files = append(files, File{Path: p, Mode: fs.ModeSymlink | 0o777, Link: target})
	}
	for _, p := range paths {
		files = append(files, File{Path: p, Mode: 0o644})
		for d := path.Dir(p); dirs && d != "."; d = path.Dir(d) {
			files = append(files, File{Path: d, Mode: fs.ModeDir | 0o755})
		}
	}
	var bad []string
	checkLinks(files, func(rel, msg string) {
		if msg == "" {
			t.Errorf("%s: empty message", rel)
		}
		bad = append(bad, rel)
	})
	sort.Strings(bad)
	return strings.Join(bad, ",")
}

// Issue 14 item 4: names the USTAR format cannot hold (non-ASCII, longer
// than 100 bytes, long link targets) validate, archive deterministically
// through PAX records (only path and linkpath: no times) and extract back.
func TestArchiveNonASCIIAndLongNames(t *testing.T) {
	long := strings.Repeat("directory-name/", 8) + "file.yaml" // > 100 bytes
	longUnicode := strings.Repeat("répertoire/", 10) + "fichier.md"
	m := baseFS()
	files := map[string]string{
		"café.md":                "# café\n",
		"docs/日本語/ファイル.txt":      "ja\n",
		"emoji/🚀 launch.txt":     "go\n",
		"Ωmega/ü.txt":            "u\n",
		long:                     "long\n",
		longUnicode:              "long unicode\n",
		"NFD-cafe\u0301.txt":     "combining accent\n",
		"spaces and 'quotes'.md": "q\n",
	}
	for name, body := range files {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	links := map[string]string{
		"links/café":     "../café.md",
		"links/long":     "../" + long,
		"links/longüber": "../" + longUnicode,
	}
	for name, target := range links {
		m[name] = &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink}
	}
	p, ps := Load(m, ".", Options{})
	if ps.HasErrors() {
		t.Fatalf("validate refused: %s", ps.Error())
	}
	var a1, a2 bytes.Buffer
	d1, err := WriteArchive(&a1, p, ArchiveOptions{})
	if err != nil {
		t.Fatalf("validate accepted the pack but WriteArchive refused it: %v", err)
	}
	d2, err := WriteArchive(&a2, p, ArchiveOptions{})
	if err != nil || d1 != d2 || !bytes.Equal(a1.Bytes(), a2.Bytes()) {
		t.Fatalf("two archives differ (%v)", err)
	}
	// Only path and linkpath PAX records, never times.
	tartest.Each(t, a1.Bytes(), func(h *tar.Header, _ []byte) {
		for k := range h.PAXRecords {
			if k != "path" && k != "linkpath" {
				t.Errorf("%s: PAX record %q", h.Name, k)
			}
		}
		if !h.ModTime.Equal(archiveModTime) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v %v %v", h.Name, h.ModTime, h.AccessTime, h.ChangeTime)
		}
	})
	dest := filepath.Join(t.TempDir(), "demo")
	if _, err := Extract(bytes.NewReader(a1.Bytes()), dest, ExtractOptions{}); err != nil {
		t.Fatalf("extract: %v", err)
	}
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(name)))
		if err != nil || string(got) != body {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	for name, target := range links {
		if got, err := os.Readlink(filepath.Join(dest, filepath.FromSlash(name))); err != nil || got != target {
			t.Errorf("%s -> %q, %v; want %q", name, got, err, target)
		}
	}
}

// A name no archive (or other OS) can hold faithfully is a validation
// error naming the file, so validate and build agree.
func TestValidateRefusesUnencodableNames(t *testing.T) {
	m := baseFS()
	m["latin1-caf\xe9.md"] = &fstest.MapFile{Data: []byte("x")}
	p, ps := Load(m, ".", Options{})
	errs := ps.Errors()
	if len(errs) != 1 || !strings.HasPrefix(errs[0].File, "latin1-caf") || !strings.Contains(errs[0].Msg, "UTF-8") {
		t.Fatalf("want one error on the file saying UTF-8, got:\n%s", ps.Error())
	}
	if _, err := WriteArchive(io.Discard, p, ArchiveOptions{}); err == nil {
		t.Error("WriteArchive wrote a name validate refuses")
	}
}

// Issue 14 item 6: an archive holding no pack extracted to an empty DEST
// (the root passed by fetch stood in for the missing entries).
func TestExtractRefusesEmptyArchive(t *testing.T) {
	root := entry{name: "p/", typ: tar.TypeDir}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"no entries", rawTGZ(t, nil)},
		{"no tar at all", tartest.Gzip(t, nil)},
		{"only the root", rawTGZ(t, []entry{root})},
		{"no pack.json", rawTGZ(t, []entry{root, {name: "p/values.yaml", body: "a: 1\n"}})},
		{"pack.json not a file", rawTGZ(t, []entry{root, {name: "p/pack.json/", typ: tar.TypeDir}})},
		{"pack.json below the root only", rawTGZ(t, []entry{root, {name: "p/sub/pack.json", body: "{}"}})},
	} {
		for _, opts := range []ExtractOptions{{}, {Root: "p"}} {
			t.Run(tc.name+"/root="+opts.Root, func(t *testing.T) {
				parent := t.TempDir()
				dest := filepath.Join(parent, "out")
				_, err := Extract(bytes.NewReader(tc.data), dest, opts)
				if !errors.Is(err, ErrEmpty) || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %v, want ErrEmpty and ErrCorrupt", err)
				}
				if left, _ := os.ReadDir(parent); len(left) != 0 {
					t.Errorf("left behind: %v", left)
				}
			})
		}
	}
}

// Issue 14 item 6: a full disk during extraction is an operational
// failure (ErrWrite wrapping ENOSPC, exit 3), not a corrupt archive (exit
// 1). The disk is /dev/full: every write fails with the kernel's ENOSPC.
func TestExtractFullDiskIsNotCorrupt(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	orig := createFile
	t.Cleanup(func() { createFile = orig })
	createFile = func(name string, mode os.FileMode) (*os.File, error) {
		f, err := orig(name, mode)
		if err != nil {
			return nil, err
		}
		f.Close()
		return os.OpenFile("/dev/full", os.O_WRONLY, 0)
	}
	a, _ := archiveOf(t, baseFS())
	parent := t.TempDir()
	dest := filepath.Join(parent, "demo")
	_, err := Extract(bytes.NewReader(a), dest, ExtractOptions{})
	if !errors.Is(err, ErrWrite) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want ErrWrite wrapping ENOSPC", err)
	}
	for _, bad := range []error{ErrCorrupt, ErrUnsafePath, ErrTooLarge, ErrUnsupportedEntry} {
		if errors.Is(err, bad) {
			t.Errorf("a full disk is reported as %v: %v", bad, err)
		}
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
