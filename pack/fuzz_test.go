package pack

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"
)

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(basePackJSON))
	f.Add([]byte(withField(`  "constraints": {"dependencies": [{"packName": "k", "type": "required", "minVersion": "1", "maxVersion": ""}]},`)))
	f.Add([]byte(`{"name": 1, "annotations": {"a": []}, "x": {"y": [[[[]]]]}}`))
	f.Add([]byte("\xef\xbb\xbf{\"name\":\"a\",\"name\":\"b\"}"))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, ps := ParseManifest("pack.json", data)
		for _, p := range ps {
			if p.Line < 0 || p.Col < 0 || p.Msg == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
		if m != nil && !ps.HasErrors() {
			if _, err := m.MarshalJSON(); err != nil {
				t.Fatalf("valid manifest does not re-encode: %v", err)
			}
		}
	})
}

func FuzzParseYAML(f *testing.F) {
	f.Add([]byte("pack:\n  namespace: a\n"))
	f.Add([]byte("a: &a [1]\nb: [*a, *a]\n"))
	f.Add([]byte("apiVersion: v1\nkind: X\n---\n- a\n"))
	f.Add([]byte("a: [\n"))
	f.Add([]byte("a: 1\na: 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, issues := parseYAML(data)
		for _, d := range docs {
			docRoot(d)
		}
		for _, is := range issues {
			if is.msg == "" || is.line < 0 {
				t.Fatalf("bad issue %+v", is)
			}
		}
	})
}

func FuzzInspectChart(f *testing.F) {
	f.Add(tgz(f, map[string]string{"app/Chart.yaml": "name: app\nversion: 1.0.0\n"}))
	f.Add(tgz(f, map[string]string{"app/../x": "y"}))
	f.Add([]byte("\x1f\x8b\x08\x00"))
	// The review's archives: ./ and bare names mixed; a stray directory.
	f.Add(tgz(f, map[string]string{"./c/Chart.yaml": "name: c\nversion: 1.0.0\n", "x/c/Chart.yaml": "name: evil\nversion: 2.0.0\n"}))
	f.Add(tgz(f, map[string]string{"./c/Chart.yaml": "name: c\nversion: 1.0.0\n", "./d/x": "x"}))
	f.Add(tgz(f, map[string]string{"./Chart.yaml": "name: c\nversion: 1.0.0\n", "./templates/a.yaml": "a: 1"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		inspectChart(bytes.NewReader(data))
	})
}

func FuzzParseIgnore(f *testing.F) {
	f.Add([]byte("# c\n*.bak\n!keep.bak\ndir/\n**/tmp\n"), "a/b.bak", false)
	f.Fuzz(func(t *testing.T, data []byte, p string, dir bool) {
		ig := ParseIgnore(data)
		if p != "" && !strings.Contains(p, "\x00") {
			ig.Ignored(p, dir)
		}
	})
}

// FuzzLoad validates a pack whose files come from the fuzzer.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(basePackJSON), []byte("pack: {}\n"), []byte("apiVersion: v1\nkind: A\n"), []byte{})
	f.Fuzz(func(t *testing.T, pj, values, manifest, logo []byte) {
		m := fstest.MapFS{
			"pack.json":        {Data: pj},
			"values.yaml":      {Data: values},
			"manifests/a.yaml": {Data: manifest},
			"logo.png":         {Data: logo},
		}
		p, ps := Load(m, ".", Options{})
		if p == nil {
			t.Fatal("nil pack")
		}
		for _, pr := range ps {
			if pr.File == "" || pr.Msg == "" {
				t.Fatalf("bad problem %+v", pr)
			}
		}
	})
}
