package chartrender

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/internal/storedgz"
	"github.com/packgen/packgen/internal/testutil/tartest"
)

// stored is the gzip archive tgz inflated and written back as stored
// blocks (storedgz), as the build sends the tar validation inflated.
func stored(t *testing.T, tgz []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	w := storedgz.NewWriter(1<<20, 0)
	if _, err := io.Copy(w, zr); err != nil || w.Full() {
		t.Fatal(err, w.Full())
	}
	gz := w.Close()
	if !storedgz.IsStored(gz) {
		t.Fatal("not stored")
	}
	return gz
}

// tgz packs files as the archive of chart c.
func tgz(t *testing.T, files []chartproto.File) []byte {
	var es []tartest.Entry
	for _, f := range files {
		es = append(es, tartest.File("c/"+f.Name, f.Data))
	}
	return tartest.TarGz(t, es...)
}

func TestRender(t *testing.T) {
	chart := func(tpl string) []chartproto.File {
		return []chartproto.File{
			{Name: "Chart.yaml", Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
			{Name: "values.yaml", Data: []byte("image:\n  repository: nginx\n  tag: \"1.0\"\nlist: [a]\n")},
			{Name: "templates/x.yaml", Data: []byte(tpl)},
			{Name: "templates/NOTES.txt", Data: []byte("notes")},
		}
	}
	values := []byte("c:\n  image:\n    tag: \"2.0\"\nother:\n  x: 1\n")
	for _, tc := range []struct {
		name     string
		tpl      string
		out      string // x.yaml rendered
		template string // of the error
		line     int
		msg      string
	}{
		{"values and release", "image: {{ .Values.image.repository }}:{{ .Values.image.tag }}\nns: {{ .Release.Namespace }}\n", "image: nginx:2.0\nns: ns1\n", "", 0, ""},
		{"fail", "a: 1\n{{ fail \"no\" }}\n", "", "c/templates/x.yaml", 2, "execution error at (c/templates/x.yaml:2:3): no"},
		{"parse error", "a: {{ nosuch }}\n", "", "c/templates/x.yaml", 1, "parse error"},
	} {
		// An archive past maxKeptTar is inflated twice, as it was before
		// loadArchive kept the tar stream, and one sent inflated already
		// (stored: as the build sends the tar validation inflated) is
		// read as it is: the same answer every way. So is an archive
		// whose gzip trailer claims 12 MiB (liar: junk after the member,
		// nobody reads it), for which no 12 MiB is allocated.
		for _, mode := range []struct {
			dir    bool
			kept   int
			stored bool
			liar   bool
		}{{true, maxKeptTar, false, false}, {false, maxKeptTar, false, false}, {false, 100, false, false}, {false, maxKeptTar, true, false}, {false, maxKeptTar, false, true}} {
			dir := mode.dir
			defer func(old int) { maxKeptTar = old }(maxKeptTar)
			maxKeptTar = mode.kept
			req := &chartproto.Request{Values: values, Namespace: "ns1", Dir: dir}
			if dir {
				req.Files = chart(tc.tpl)
			} else {
				req.Archive = tgz(t, chart(tc.tpl))
			}
			if mode.stored {
				req.Archive = stored(t, req.Archive)
			}
			if mode.liar {
				// Believed up to SizeHint's 64:1 (1 MiB), not 12 MiB.
				junk := make([]byte, 16<<10)
				binary.LittleEndian.PutUint32(junk[len(junk)-4:], 12<<20)
				req.Archive = append(req.Archive, junk...)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res := Render(req)
			runtime.ReadMemStats(&after)
			if mode.liar && after.TotalAlloc-before.TotalAlloc > 4<<20 {
				t.Errorf("%s: a trailer claiming 12 MiB: %d bytes allocated to render", tc.name, after.TotalAlloc-before.TotalAlloc)
			}
			if res.Chart != "c" {
				t.Errorf("%s (dir %v): chart %q", tc.name, dir, res.Chart)
			}
			if tc.msg != "" {
				if res.Err == nil || res.Err.Template != tc.template || res.Err.Line != tc.line || !strings.Contains(res.Err.Msg, tc.msg) || res.Manifests != nil {
					t.Errorf("%s (dir %v): %+v", tc.name, dir, res.Err)
				}
				continue
			}
			if res.Err != nil || len(res.Manifests) != 1 || res.Manifests[0].Name != "c/templates/x.yaml" || string(res.Manifests[0].Data) != tc.out || string(res.Manifests[0].Source) != tc.tpl {
				t.Fatalf("%s (dir %v): %+v", tc.name, dir, res)
			}
			// String leaves in key order, maps only, the pack's value over
			// the chart's default.
			want := []chartproto.Leaf{{Path: ".image.repository", Value: "nginx"}, {Path: ".image.tag", Value: "2.0"}}
			if !reflect.DeepEqual(res.Strings, want) {
				t.Errorf("%s (dir %v): strings %+v", tc.name, dir, res.Strings)
			}
		}
	}
	if res := Render(&chartproto.Request{Archive: []byte("not gzip")}); res.Err == nil || res.Chart != "" {
		t.Errorf("not an archive: %+v", res)
	}
	if res := Render(&chartproto.Request{Dir: true}); res.Err == nil || !strings.Contains(res.Err.Msg, "Chart.yaml") {
		t.Errorf("an empty directory: %+v", res)
	}
}
