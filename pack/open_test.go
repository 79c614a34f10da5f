package pack

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestOpenArchiveFS: a release archive read as an fs.FS behaves as one
// (fstest.TestFS), with the pack's directory as its root.
func TestOpenArchiveFS(t *testing.T) {
	data := rawTGZ(t, []entry{
		{name: "p/", typ: tar.TypeDir},
		{name: "p/pack.json", body: `{"name":"p"}`},
		{name: "p/charts/a/Chart.yaml", body: "name: a\n"}, // its directories unlisted
		{name: "p/values.yaml", body: "a: 1\n"},
		{name: "p/link", typ: tar.TypeSymlink, link: "values.yaml"},
		{name: "p/charts/", typ: tar.TypeDir}, // listed after what is below it
	})
	a, err := OpenArchive(bytes.NewReader(data), ArchiveLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Root != "p" {
		t.Errorf("root %q", a.Root)
	}
	if b, err := fs.ReadFile(a, "values.yaml"); err != nil || string(b) != "a: 1\n" {
		t.Errorf("values.yaml: %q %v", b, err)
	}
	if _, err := fs.ReadFile(a, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if fi, err := fs.Stat(a, "link"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link: %v %v", fi, err)
	}
	if err := fstest.TestFS(a, "pack.json", "values.yaml", "charts/a/Chart.yaml", "link"); err != nil {
		t.Error(err)
	}
}

// TestArchiveSetFile: SetFile replaces a regular file's content or adds
// a file in an existing directory, and refuses anything else; the
// archive stays a valid fs.FS.
func TestArchiveSetFile(t *testing.T) {
	data := rawTGZ(t, []entry{
		{name: "p/pack.json", body: `{"name":"p"}`},
		{name: "p/values.yaml", body: "a: 1\n"},
		{name: "p/link", typ: tar.TypeSymlink, link: "values.yaml"},
		{name: "p/charts/", typ: tar.TypeDir},
	})
	a, err := OpenArchive(bytes.NewReader(data), ArchiveLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{
		{"values.yaml", "a: 2\n", true},
		{"charts/new.yaml", "x\n", true},
		{"link", "x", false},
		{"charts", "x", false},
		{"nodir/x", "x", false},
		{"../x", "x", false},
		{".", "x", false},
	} {
		err := a.SetFile(tc.name, []byte(tc.data))
		if (err == nil) != tc.ok {
			t.Errorf("SetFile(%q): %v", tc.name, err)
			continue
		}
		if tc.ok {
			if b, err := fs.ReadFile(a, tc.name); err != nil || string(b) != tc.data {
				t.Errorf("%s after SetFile: %q %v", tc.name, b, err)
			}
		}
	}
	if fi, err := fs.Stat(a, "values.yaml"); err != nil || fi.Size() != 5 {
		t.Errorf("values.yaml's size: %v %v", fi, err)
	}
	if err := fstest.TestFS(a, "pack.json", "values.yaml", "charts/new.yaml", "link"); err != nil {
		t.Error(err)
	}
}

// TestOpenArchiveRefuses: OpenArchive applies the extractor's checks and
// limits (they are ArchiveReader's, shared by both).
func TestOpenArchiveRefuses(t *testing.T) {
	root := entry{name: "p/", typ: tar.TypeDir}
	many := []entry{root}
	for i := 0; i < 20; i++ {
		many = append(many, entry{name: "p/f" + string(rune('a'+i)), body: "x"})
	}
	for _, tc := range []struct {
		name string
		data []byte
		lim  ArchiveLimits
		want error
	}{
		{"not gzip", []byte("plain"), ArchiveLimits{}, ErrCorrupt},
		{"climbs out", rawTGZ(t, []entry{root, {name: "p/../x", body: "x"}}), ArchiveLimits{}, ErrUnsafePath},
		{"two roots", rawTGZ(t, []entry{root, {name: "q/x", body: "x"}}), ArchiveLimits{}, ErrUnsafePath},
		{"hard link", rawTGZ(t, []entry{root, {name: "p/a", body: "x"}, {name: "p/b", typ: tar.TypeLink, link: "p/a"}}), ArchiveLimits{}, ErrUnsupportedEntry},
		{"listed twice", rawTGZ(t, []entry{root, {name: "p/a", body: "x"}, {name: "p/a", body: "y"}}), ArchiveLimits{}, ErrUnsafePath},
		{"below a file", rawTGZ(t, []entry{root, {name: "p/a", body: "x"}, {name: "p/a/b", body: "y"}}), ArchiveLimits{}, ErrUnsafePath},
		{"escaping link", rawTGZ(t, []entry{root, {name: "p/l", typ: tar.TypeSymlink, link: "../../etc/passwd"}}), ArchiveLimits{}, ErrUnsafePath},
		{"file over limit", rawTGZ(t, []entry{root, {name: "p/x", body: "0123456789ab"}}), ArchiveLimits{MaxFileSize: 10}, ErrTooLarge},
		{"too many entries", rawTGZ(t, many), ArchiveLimits{MaxEntries: 10}, ErrTooLarge},
		{"gzip bomb", bombTGZ(t, 8<<20), ArchiveLimits{MaxTotalSize: 1 << 20, MaxFileSize: 64 << 20}, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenArchive(bytes.NewReader(tc.data), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestArchiveReaderCountsSkipped: entries a caller does not read are
// still decompressed to be skipped, so they count against the total: a
// bomb cannot hide in content nobody reads.
func TestArchiveReaderCountsSkipped(t *testing.T) {
	var es []entry
	es = append(es, entry{name: "p/", typ: tar.TypeDir})
	for i := 0; i < 8; i++ {
		es = append(es, entry{name: "p/f" + string(rune('a'+i)), body: strings.Repeat("x", 1000)})
	}
	ar, err := NewArchiveReader(bytes.NewReader(rawTGZ(t, es)), "p", ArchiveLimits{MaxTotalSize: 4500})
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	for {
		e, err := ar.Next()
		if errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil || e == nil {
			t.Fatalf("8000 bytes skipped with a 4500-byte limit: %v", err)
		}
		if e.HeaderMode == 0 && e.Mode.IsRegular() {
			t.Errorf("%s: no header mode", e.Path)
		}
	}
}

// FuzzOpenArchive: any bytes either open within the limits, as a file
// system fstest accepts, or are refused with one of the archive errors.
func FuzzOpenArchive(f *testing.F) {
	f.Add(rawTGZ(f, []entry{{name: "p/", typ: tar.TypeDir}, {name: "p/pack.json", body: "{}"}, {name: "p/d/l", link: "../pack.json", typ: tar.TypeSymlink}}))
	f.Add(rawTGZ(f, []entry{{name: "p/a/b", body: "x"}, {name: "p/a", typ: tar.TypeDir}}))
	f.Add(rawTGZ(f, []entry{{name: "p/../x", body: "x"}}))
	f.Add(bombTGZ(f, 1<<16))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := OpenArchive(bytes.NewReader(data), ArchiveLimits{MaxTotalSize: 1 << 20, MaxFileSize: 1 << 20, MaxEntries: 100})
		if err != nil {
			for _, known := range []error{ErrCorrupt, ErrUnsafePath, ErrTooLarge, ErrUnsupportedEntry} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("unclassified error: %v", err)
		}
		var names []string
		_ = fs.WalkDir(a, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				names = append(names, p)
			}
			return err
		})
		if err := fstest.TestFS(a, names...); err != nil {
			t.Fatal(err)
		}
	})
}
