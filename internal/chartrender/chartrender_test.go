package chartrender

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"reflect"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/chartproto"
)

func tgz(t *testing.T, files []chartproto.File) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "c/" + f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.Data)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
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
		for _, dir := range []bool{true, false} {
			req := &chartproto.Request{Values: values, Namespace: "ns1", Dir: dir}
			if dir {
				req.Files = chart(tc.tpl)
			} else {
				req.Archive = tgz(t, chart(tc.tpl))
			}
			res := Render(req)
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
