package pack

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// fuzzTree decodes a fuzzer's bytes into pack files beside the base
// pack.json and values.yaml: one entry per line, "KIND NAME\tARG", where
// KIND is f (file, ARG its content), x (executable file), n (file of ARG
// bytes, at most 64 KiB), d (directory) or l (symlink to ARG).
func fuzzTree(spec []byte) fstest.MapFS {
	m := baseFS()
	for _, line := range strings.Split(string(spec), "\n") {
		if len(line) < 2 {
			continue
		}
		kind, rest := line[0], line[1:]
		name, arg, _ := strings.Cut(rest, "\t")
		if !fs.ValidPath(name) || name == "." || m[name] != nil {
			continue
		}
		switch kind {
		case 'f':
			m[name] = &fstest.MapFile{Data: []byte(arg), Mode: 0o644}
		case 'x':
			m[name] = &fstest.MapFile{Data: []byte(arg), Mode: 0o755}
		case 'n':
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 || n > 64<<10 {
				continue
			}
			m[name] = &fstest.MapFile{Data: bytes.Repeat([]byte{'z'}, n), Mode: 0o644}
		case 'd':
			m[name] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
		case 'l':
			m[name] = &fstest.MapFile{Data: []byte(arg), Mode: fs.ModeSymlink}
		}
	}
	return m
}

// FuzzWriteArchive writes archives of trees from the fuzzer (names, modes,
// sizes, links) and extracts them: what validates must archive and extract
// back to the same tree; anything else must be refused with an error, by
// the writer or the extractor, never a panic or a different tree.
func FuzzWriteArchive(f *testing.F) {
	deep, deepTarget, escape, escapeTarget := chainedLinks()
	for _, seed := range []string{
		"fREADME.md\t# hi\nxbin/run.sh\t#!/bin/sh\ndempty\nlv\tvalues.yaml",
		"fcafé.md\tcafé\nfdocs/日本語/ファイル.txt\tja\nfemoji/🚀.txt\tgo",
		"f" + strings.Repeat("long-directory/", 9) + "f\tx\nllink\t" + strings.Repeat("long-directory/", 9) + "f",
		"nbig\t65536\nnzero\t0",
		"l" + deep + "\t" + deepTarget + "\nl" + escape + "\t" + escapeTarget,
		"la\tb\nlb\tvalues.yaml",
		"lup\t..\nlabs\t/etc/passwd",
		"lA\tsub\nfa/x\tx\nfsub/y\ty",
		"fcaf\xe9.md\tlatin-1",
		"fbad\\name\tx\nfctl\x01\tx",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, spec []byte) {
		m := fuzzTree(spec)
		p, ps := Load(m, ".", Options{})
		var buf bytes.Buffer
		_, werr := WriteArchive(&buf, p, ArchiveOptions{})
		if werr != nil {
			if !ps.HasErrors() {
				t.Fatalf("validate accepted the tree, WriteArchive refused it: %v", werr)
			}
			return
		}
		dest := filepath.Join(t.TempDir(), "out")
		_, xerr := Extract(bytes.NewReader(buf.Bytes()), dest, ExtractOptions{Root: "demo"})
		if xerr != nil {
			if !ps.HasErrors() {
				t.Fatalf("validate and WriteArchive accepted the tree, Extract refused it: %v", xerr)
			}
			return
		}
		if msg := sameTree(p, dest); msg != "" {
			t.Fatalf("extracted tree differs from the pack: %s", msg)
		}
	})
}

// sameTree compares an extracted directory with the pack's listing:
// the same paths, kinds, executable bits, contents and link targets.
func sameTree(p *Pack, dest string) string {
	want := map[string]File{}
	for _, f := range p.Files {
		want[f.Path] = f
	}
	seen := 0
	err := filepath.WalkDir(dest, func(full string, d fs.DirEntry, err error) error {
		if err != nil || full == dest {
			return err
		}
		rel, _ := filepath.Rel(dest, full)
		rel = filepath.ToSlash(rel)
		f, ok := want[rel]
		if !ok {
			return &fs.PathError{Op: "extra entry", Path: rel, Err: fs.ErrExist}
		}
		seen++
		info, err := os.Lstat(full)
		if err != nil {
			return err
		}
		switch {
		case f.IsDir():
			if !info.IsDir() {
				return &fs.PathError{Op: "not a directory", Path: rel, Err: fs.ErrInvalid}
			}
		case f.IsSymlink():
			target, err := os.Readlink(full)
			if err != nil || target != f.Link {
				return &fs.PathError{Op: "link target " + strconv.Quote(target), Path: rel, Err: fs.ErrInvalid}
			}
			// Followed by the kernel, a link accepted stays inside.
			if real, err := filepath.EvalSymlinks(full); err == nil {
				if root, _ := filepath.EvalSymlinks(dest); real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
					return &fs.PathError{Op: "escapes to " + real, Path: rel, Err: fs.ErrInvalid}
				}
			}
		default:
			if !info.Mode().IsRegular() || (info.Mode().Perm()&0o100 != 0) != (f.Mode.Perm()&0o100 != 0) {
				return &fs.PathError{Op: "mode " + info.Mode().String(), Path: rel, Err: fs.ErrInvalid}
			}
			got, err := os.ReadFile(full)
			if err != nil {
				return err
			}
			r, err := p.Open(f.Path)
			if err != nil {
				return err
			}
			defer r.Close()
			var orig bytes.Buffer
			if _, err := orig.ReadFrom(r); err != nil {
				return err
			}
			if !bytes.Equal(got, orig.Bytes()) {
				return &fs.PathError{Op: "content", Path: rel, Err: fs.ErrInvalid}
			}
		}
		return nil
	})
	if err != nil {
		return err.Error()
	}
	if seen != len(want) {
		return strconv.Itoa(len(want)-seen) + " entries missing"
	}
	return ""
}

// The fuzz harness itself: valid trees go all the way through the
// comparison, and the comparison sees a difference.
func TestWriteArchiveRoundTripHarness(t *testing.T) {
	for _, spec := range []string{
		"fREADME.md\t# hi\nxbin/run.sh\t#!/bin/sh\ndempty\nlv\tvalues.yaml",
		"fcafé.md\tcafé\nfdocs/日本語/ファイル.txt\tja",
		"nbig\t65536\nnzero\t0",
	} {
		p, ps := Load(fuzzTree([]byte(spec)), ".", Options{})
		if ps.HasErrors() {
			t.Fatalf("%q: %s", spec, ps.Error())
		}
		var buf bytes.Buffer
		if _, err := WriteArchive(&buf, p, ArchiveOptions{}); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(t.TempDir(), "out")
		if _, err := Extract(bytes.NewReader(buf.Bytes()), dest, ExtractOptions{}); err != nil {
			t.Fatal(err)
		}
		if msg := sameTree(p, dest); msg != "" {
			t.Fatalf("%q: %s", spec, msg)
		}
		if err := os.WriteFile(filepath.Join(dest, "pack.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		if msg := sameTree(p, dest); !strings.Contains(msg, "content") {
			t.Fatalf("a changed pack.json went unseen: %q", msg)
		}
	}
}
