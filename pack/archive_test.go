package pack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/packgen/packgen/internal/testutil/tartest"
)

func archiveOf(t *testing.T, fsys fs.FS) ([]byte, Digest) {
	t.Helper()
	p, ps := Load(fsys, ".", Options{})
	if ps.HasErrors() {
		t.Fatal(ps.Error())
	}
	var buf bytes.Buffer
	d, err := WriteArchive(&buf, p, ArchiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if d.SHA256 != hex.EncodeToString(sum[:]) || d.Size != int64(buf.Len()) {
		t.Fatalf("digest %+v does not match the bytes written", d)
	}
	return buf.Bytes(), d
}

func TestArchiveDeterministic(t *testing.T) {
	mtime := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC) // documented in FORMAT.md
	m := baseFS()
	m["manifests/a.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: A\n"), ModTime: time.Now()}
	m["bin/run.sh"] = &fstest.MapFile{Data: []byte("#!/bin/sh\n"), Mode: 0o700}
	m["link"] = &fstest.MapFile{Data: []byte("values.yaml"), Mode: fs.ModeSymlink}
	m[".DS_Store"] = &fstest.MapFile{Data: []byte("junk")}
	m[".packignore"] = &fstest.MapFile{Data: []byte("secret.txt\n")}
	m["secret.txt"] = &fstest.MapFile{Data: []byte("do not ship")}
	a1, d1 := archiveOf(t, m)
	a2, d2 := archiveOf(t, m)
	if !bytes.Equal(a1, a2) || d1 != d2 {
		t.Fatal("two archives of the same pack differ")
	}

	// The same content on disk, with other mtimes and permissions, gives the same bytes.
	dir := t.TempDir()
	for name, f := range m {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o700)
		if f.Mode&fs.ModeSymlink != 0 {
			os.Symlink(string(f.Data), p)
			continue
		}
		perm := os.FileMode(0o600)
		if f.Mode&0o100 != 0 {
			perm = 0o711
		}
		os.WriteFile(p, f.Data, perm)
		os.Chtimes(p, time.Now(), time.Unix(12345, 0))
	}
	a3, _ := archiveOf(t, os.DirFS(dir))
	if !bytes.Equal(a1, a3) {
		t.Fatal("archive from disk differs from archive from memory")
	}

	zr, err := gzip.NewReader(bytes.NewReader(a1))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() || zr.OS != 255 {
		t.Errorf("gzip header not fixed: %+v", zr.Header)
	}
	var names []string
	tartest.Each(t, a1, func(h *tar.Header, _ []byte) {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(mtime) || len(h.PAXRecords) > 0 {
			t.Errorf("%s: header not normalised: %+v", h.Name, h)
		}
		if want := map[string]int64{"demo/bin/run.sh": 0o755, "demo/pack.json": 0o644, "demo/bin/": 0o755}[h.Name]; want != 0 && h.Mode != want {
			t.Errorf("%s mode %o, want %o", h.Name, h.Mode, want)
		}
	})
	want := "demo/ demo/.packignore demo/bin/ demo/bin/run.sh demo/link demo/manifests/ demo/manifests/a.yaml demo/pack.json demo/values.yaml"
	if strings.Join(names, " ") != want {
		t.Errorf("entries:\n%s\nwant\n%s", strings.Join(names, " "), want)
	}
}

// A golden digest catches accidental format drift (a Go upgrade changing
// compress/flate output would show up here too).
func TestArchiveGolden(t *testing.T) {
	_, d := archiveOf(t, baseFS())
	// Changed once when every mtime became the 1980 constant (it was
	// the commit time).
	const goldenDigest = "66f5b3aa624378b9a02bdeea8a81109ad8555594fbaa8c0a49f8af8a1749a4a4"
	if d.SHA256 != goldenDigest {
		t.Errorf("archive digest %s, golden %s: the archive format changed; if intended, update goldenDigest", d.SHA256, goldenDigest)
	}
	// The deprecated ModTime must not reach the bytes.
	p, _ := Load(baseFS(), ".", Options{})
	d2, err := WriteArchive(io.Discard, p, ArchiveOptions{ModTime: time.Now()})
	if err != nil || d2 != d {
		t.Errorf("ArchiveOptions.ModTime changed the archive: %+v, %v", d2, err)
	}
}

func TestExtractRoundTrip(t *testing.T) {
	m := baseFS()
	m["bin/run.sh"] = &fstest.MapFile{Data: []byte("#!/bin/sh\n"), Mode: 0o755}
	m["docs/link"] = &fstest.MapFile{Data: []byte("../values.yaml"), Mode: fs.ModeSymlink}
	a, _ := archiveOf(t, m)
	dest := filepath.Join(t.TempDir(), "demo-1.0.0")
	res, err := Extract(bytes.NewReader(a), dest, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != "demo" || res.Files != 3 {
		t.Errorf("result %+v", res)
	}
	got, _ := os.ReadFile(filepath.Join(dest, "pack.json"))
	if string(got) != basePackJSON {
		t.Error("pack.json differs")
	}
	if info, _ := os.Stat(filepath.Join(dest, "bin/run.sh")); info.Mode().Perm() != 0o755 {
		t.Errorf("exec mode lost: %v", info.Mode())
	}
	if l, _ := os.Readlink(filepath.Join(dest, "docs/link")); l != "../values.yaml" {
		t.Errorf("symlink: %q", l)
	}
	if _, err := Extract(bytes.NewReader(a), dest, ExtractOptions{}); !errors.Is(err, ErrDestExists) {
		t.Errorf("existing dest: %v", err)
	}
	if _, err := Extract(bytes.NewReader(a), dest, ExtractOptions{Overwrite: true}); err != nil {
		t.Errorf("overwrite: %v", err)
	}
}

type entry struct {
	name, link string
	typ        byte
	body       string
}

// rawTGZ writes entries as PAX headers of mode 0644, whatever their
// type: a regular file by default, its body the only content written.
func rawTGZ(t testing.TB, entries []entry) []byte {
	var es []tartest.Entry
	for _, e := range entries {
		hd := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Format: tar.FormatPAX}
		te := tartest.Entry{Header: hd}
		if hd.Typeflag == 0 {
			hd.Typeflag = tar.TypeReg
		}
		if hd.Typeflag == tar.TypeReg {
			hd.Size, te.Body = int64(len(e.body)), []byte(e.body)
		}
		es = append(es, te)
	}
	return tartest.TarGz(t, es...)
}

// bombTGZ is one file of n zero bytes: a small archive that expands to n.
func bombTGZ(t testing.TB, n int64) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "p/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "p/zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: n})
	io.Copy(tw, io.LimitReader(zeroReader{}, n))
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

func TestExtractHostile(t *testing.T) {
	root := entry{name: "p/", typ: tar.TypeDir}
	many := []entry{root}
	for i := 0; i < 20; i++ {
		many = append(many, entry{name: "p/f" + strings.Repeat("x", i), body: "x"})
	}
	for _, tc := range []struct {
		name string
		data []byte
		opts ExtractOptions
		want error
	}{
		{"traversal", rawTGZ(t, []entry{root, {name: "../x", body: "x"}}), ExtractOptions{}, ErrUnsafePath},
		{"traversal inside root", rawTGZ(t, []entry{root, {name: "p/../../x", body: "x"}}), ExtractOptions{}, ErrUnsafePath},
		{"absolute", rawTGZ(t, []entry{{name: "/etc/x", body: "x"}}), ExtractOptions{}, ErrUnsafePath},
		{"backslash", rawTGZ(t, []entry{root, {name: `p\..\x`, body: "x"}}), ExtractOptions{}, ErrUnsafePath},
		{"drive letter", rawTGZ(t, []entry{{name: "C:/x", body: "x"}}), ExtractOptions{}, ErrUnsafePath},
		{"symlink to /etc/passwd", rawTGZ(t, []entry{root, {name: "p/pw", link: "/etc/passwd", typ: tar.TypeSymlink}}), ExtractOptions{}, ErrUnsafePath},
		{"symlink climbing out", rawTGZ(t, []entry{root, {name: "p/a/up", link: "../../x", typ: tar.TypeSymlink}}), ExtractOptions{}, ErrUnsafePath},
		{"write through symlink", rawTGZ(t, []entry{root, {name: "p/a", link: ".", typ: tar.TypeSymlink}, {name: "p/a/x", body: "x"}}), ExtractOptions{}, ErrUnsafePath},
		{"hardlink", rawTGZ(t, []entry{root, {name: "p/h", link: "/etc/passwd", typ: tar.TypeLink}}), ExtractOptions{}, ErrUnsupportedEntry},
		{"char device", rawTGZ(t, []entry{root, {name: "p/null", typ: tar.TypeChar}}), ExtractOptions{}, ErrUnsupportedEntry},
		{"fifo", rawTGZ(t, []entry{root, {name: "p/fifo", typ: tar.TypeFifo}}), ExtractOptions{}, ErrUnsupportedEntry},
		{"two roots", rawTGZ(t, []entry{root, {name: "q/x", body: "x"}}), ExtractOptions{}, ErrUnsafePath},
		{"wrong root", rawTGZ(t, []entry{root}), ExtractOptions{Root: "other"}, ErrUnsafePath},
		{"duplicate", rawTGZ(t, []entry{root, {name: "p/x", body: "a"}, {name: "p/x", body: "b"}}), ExtractOptions{}, ErrUnsafePath},
		{"oversize file", rawTGZ(t, []entry{root, {name: "p/x", body: strings.Repeat("a", 100)}}), ExtractOptions{MaxFileSize: 10}, ErrTooLarge},
		{"too many entries", rawTGZ(t, many), ExtractOptions{MaxEntries: 10}, ErrTooLarge},
		{"gzip bomb", bombTGZ(t, 64<<20), ExtractOptions{MaxTotalSize: 1 << 20, MaxFileSize: 128 << 20}, ErrTooLarge},
		{"corrupt gzip", []byte("\x1f\x8b\x08\x00garbage"), ExtractOptions{}, ErrCorrupt},
		{"truncated", rawTGZ(t, []entry{root, {name: "p/x", body: strings.Repeat("a", 5000)}})[:60], ExtractOptions{}, ErrCorrupt},
		{"empty", rawTGZ(t, nil), ExtractOptions{}, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "out")
			_, err := Extract(bytes.NewReader(tc.data), dest, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			left, _ := os.ReadDir(parent)
			if len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(rawTGZ(f, []entry{{name: "p/", typ: tar.TypeDir}, {name: "p/pack.json", body: "{}"}, {name: "p/l", link: "pack.json", typ: tar.TypeSymlink}}))
	f.Add(rawTGZ(f, []entry{{name: "p/../x", body: "x"}}))
	f.Add(bombTGZ(f, 1<<16))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "out")
		_, err := Extract(bytes.NewReader(data), dest, ExtractOptions{MaxTotalSize: 1 << 20, MaxFileSize: 1 << 20, MaxEntries: 100})
		entries, _ := os.ReadDir(parent)
		if err != nil && len(entries) != 0 {
			t.Fatalf("failed extraction left %v", entries)
		}
		if err == nil && (len(entries) != 1 || entries[0].Name() != "out") {
			t.Fatalf("unexpected entries %v", entries)
		}
	})
}
