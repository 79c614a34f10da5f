package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestMergeValuesAliases: a pack's values.yaml may use anchors and
// aliases (charts' values often share resources or an image this way).
// An override of an anchored value left its aliases naming an anchor the
// file no longer defined, so the rendered values did not parse; one
// through an alias replaced the named mapping whole. The merged file now
// parses and means what a YAML reader (Helm) gets from the pack's values
// with the override applied where it was written.
func TestMergeValuesAliases(t *testing.T) {
	for _, tc := range []struct {
		name, base, over string
		want             map[string]any
		kept             []string // written as in the pack: untouched anchors stay
	}{{
		name: "anchored scalar replaced",
		base: "# The image.\nimage: &img nginx:1.25 # pinned\nsidecar:\n  image: *img\n",
		over: "image: nginx:1.27\n",
		want: map[string]any{"image": "nginx:1.27", "sidecar": map[string]any{"image": "nginx:1.25"}},
	}, {
		name: "anchored mapping merged into",
		base: "defaults: &d\n  replicas: 1\n  cpu: 100m\napp: *d\n",
		over: "defaults: {replicas: 2}\n",
		want: map[string]any{"defaults": map[string]any{"replicas": 2, "cpu": "100m"}, "app": map[string]any{"replicas": 1, "cpu": "100m"}},
	}, {
		name: "override through an alias",
		base: "defaults: &d\n  replicas: 1\n  cpu: 100m\napp: *d # shared\n",
		over: "app: {replicas: 3}\n",
		want: map[string]any{"defaults": map[string]any{"replicas": 1, "cpu": "100m"}, "app": map[string]any{"replicas": 3, "cpu": "100m"}},
		kept: []string{"&d", "# shared"},
	}, {
		name: "merge key of a changed anchor",
		base: "base: &b\n  replicas: 1\n  cpu: 100m\napi:\n  <<: *b\n  name: api\n",
		over: "base: {replicas: 5}\n",
		want: map[string]any{"base": map[string]any{"replicas": 5, "cpu": "100m"}, "api": map[string]any{"replicas": 1, "cpu": "100m", "name": "api"}},
	}, {
		name: "nested anchors, alias inside the replaced value",
		base: "res: &r {cpu: 1}\nworker: &w\n  resources: *r\n  port: &p 80\ncron: *w\nport: *p\n",
		over: "worker: {resources: {cpu: 2}, port: 81}\n",
		want: map[string]any{"res": map[string]any{"cpu": 1}, "worker": map[string]any{"resources": map[string]any{"cpu": 2}, "port": 81},
			"cron": map[string]any{"resources": map[string]any{"cpu": 1}, "port": 80}, "port": 80},
	}, {
		name: "untouched aliases kept as written",
		base: "a: &x 1\nb: *x\nc: 2\n",
		over: "c: 3\n",
		want: map[string]any{"a": 1, "b": 1, "c": 3},
		kept: []string{"a: &x 1", "b: *x"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := MergeValues([]byte(tc.base), overrides(t, tc.over))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatalf("the merged values do not parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("merged values mean %v, want %v\n%s", got, tc.want, out)
			}
			for _, s := range tc.kept {
				if !strings.Contains(string(out), s) {
					t.Errorf("%q is gone:\n%s", s, out)
				}
			}
		})
	}
}

// TestMergeValuesAliasBomb: nested aliases of 10^9 nodes under a value an
// override replaces are a clear error, not an OOM.
func TestMergeValuesAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("top: *l9\n")
	_, err := MergeValues([]byte(b.String()), overrides(t, "l9: none\n"))
	if !errors.Is(err, ErrAliases) {
		t.Fatalf("got %v, want ErrAliases", err)
	}
}

// overrides parses a layer's values as Parse does.
func overrides(t *testing.T, values string) *yaml.Node {
	t.Helper()
	p, err := Parse("p.yaml", []byte("name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: '1'\n    values:\n"+indent(values)))
	if err != nil {
		t.Fatal(err)
	}
	return p.Layers[0].Values
}

func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "      " + l
		}
	}
	return strings.Join(lines, "")
}
