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
		// Helm's deep merge keeps mem: the override reaches res through
		// the merge key, so it merges into a copy of b's res.
		name: "override through a merge key",
		base: "b: &b {res: {cpu: 1, mem: 2}}\napi:\n  <<: *b\n  name: api\n",
		over: "api: {res: {cpu: 3}}\n",
		want: map[string]any{"b": map[string]any{"res": map[string]any{"cpu": 1, "mem": 2}},
			"api": map[string]any{"res": map[string]any{"cpu": 3, "mem": 2}, "name": "api"}},
		kept: []string{"&b", "<<: *b"},
	}, {
		name: "override through a list of merge keys, the first wins",
		base: "a: &a {res: {cpu: 1, mem: 2}}\nb: &b {res: {cpu: 9, disk: 5}, port: 80}\napi:\n  <<: [*a, *b]\n",
		over: "api: {res: {cpu: 3}}\n",
		want: map[string]any{"a": map[string]any{"res": map[string]any{"cpu": 1, "mem": 2}},
			"b":   map[string]any{"res": map[string]any{"cpu": 9, "disk": 5}, "port": 80},
			"api": map[string]any{"res": map[string]any{"cpu": 3, "mem": 2}, "port": 80}},
	}, {
		name: "override through nested merge keys",
		base: "a: &a {res: {cpu: 1, mem: 2}}\nb: &b {<<: *a, port: 80}\napi: {<<: *b}\n",
		over: "api: {res: {mem: 4}}\n",
		want: map[string]any{"a": map[string]any{"res": map[string]any{"cpu": 1, "mem": 2}},
			"b":   map[string]any{"res": map[string]any{"cpu": 1, "mem": 2}, "port": 80},
			"api": map[string]any{"res": map[string]any{"cpu": 1, "mem": 4}, "port": 80}},
	}, {
		name: "an explicit key wins over a merged one",
		base: "b: &b {res: {cpu: 1, mem: 2}}\napi:\n  <<: *b\n  res: {cpu: 5}\n",
		over: "api: {res: {disk: 9}}\n",
		want: map[string]any{"b": map[string]any{"res": map[string]any{"cpu": 1, "mem": 2}},
			"api": map[string]any{"res": map[string]any{"cpu": 5, "disk": 9}}},
	}, {
		name: "a scalar override of a merged key",
		base: "b: &b {res: {cpu: 1}}\napi: {<<: *b}\n",
		over: "api: {res: none}\n",
		want: map[string]any{"b": map[string]any{"res": map[string]any{"cpu": 1}}, "api": map[string]any{"res": "none"}},
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
	bomb := b.String()
	_, err := MergeValues([]byte(bomb), overrides(t, "l9: none\n"))
	if !errors.Is(err, ErrAliases) {
		t.Fatalf("got %v, want ErrAliases", err)
	}
	if msg := err.Error(); strings.Count(msg, "values.yaml") > 0 || !strings.Contains(msg, "passes 262144 nodes") {
		t.Errorf("message %q: want the node bound, and no file name (the caller names the file)", msg)
	}

	// An override that replaces an alias, or everything that names the
	// anchor, needs no copy: no error, and the result means what it says.
	for _, over := range []string{"top: none\n", "top: none\nl9: none\n", "top: {a: 1}\n"} {
		out, err := MergeValues([]byte(bomb), overrides(t, over))
		if err != nil {
			t.Errorf("%q: %v", over, err)
			continue
		}
		var got struct{ Top any }
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Errorf("%q: the merged values do not parse: %v", over, err)
		} else if want := overridesTop(t, over); !reflect.DeepEqual(got.Top, want) {
			t.Errorf("%q: top = %v, want %v", over, got.Top, want)
		}
	}
}

// overridesTop is the value an override gives top.
func overridesTop(t *testing.T, over string) any {
	var v struct{ Top any }
	if err := yaml.Unmarshal([]byte(over), &v); err != nil {
		t.Fatal(err)
	}
	return v.Top
}

// TestMergeValuesSelfAlias: yaml.v3 parses an anchor holding an alias of
// itself into a node that contains itself. Copying it is refused at once,
// naming the anchor and its line, not after a quarter million nodes.
func TestMergeValuesSelfAlias(t *testing.T) {
	for _, tc := range []struct{ base, over, want string }{
		{"x: 1\na: &a [1, *a]\nb: *a\n", "a: [2]\n", "anchor a contains itself, line 2"},
		{"x: 1\nb: &b\n  c: *b\nd: *b\n", "d: {e: 1}\n", "anchor b contains itself, line 2"},
		// Replacing the anchor whole leaves nothing to copy.
		{"x: 1\na: &a [1, *a]\n", "a: [2]\n", ""},
	} {
		out, err := MergeValues([]byte(tc.base), overrides(t, tc.over))
		if tc.want == "" {
			var v map[string]any
			if err == nil {
				err = yaml.Unmarshal(out, &v)
			}
			if err != nil || !reflect.DeepEqual(v["a"], []any{2}) {
				t.Errorf("%q with %q: got %v, %v; want a = [2]", tc.base, tc.over, v, err)
			}
			continue
		}
		if !errors.Is(err, ErrAliases) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q with %q: got %v, want ErrAliases saying %q", tc.base, tc.over, err, tc.want)
		}
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

// TestMergeValuesNull: an override of null deletes the key, as Helm
// deletes a default its user values set to null (it was kept as a
// literal null); a key the pack lacks is not added for it, and one a
// merge key brings in is written as null so that it does not come back.
func TestMergeValuesNull(t *testing.T) {
	for _, tc := range []struct {
		name, base, over, want string
	}{
		{"a scalar", "a: 1\nb: 2\n", "a: null\n", "b: 2\n"},
		{"a mapping, with its comment", "# the a\na:\n  x: 1\nb: 2\n", "a: ~\n", "b: 2\n"},
		{"nested", "a:\n  x: 1\n  y: 2\n", "a:\n  x: null\n", "a:\n  y: 2\n"},
		{"absent: not added", "a: 1\n", "z: null\n", "a: 1\n"},
		{"an anchored value: its alias keeps it", "a: &x {p: 1}\nb: *x\n", "a: null\n", "b: {p: 1}\n"},
		{"through a merge key: null, not merged back", "base: &b {p: 1}\napi:\n  <<: *b\n", "api: {p: null}\n", "base: &b {p: 1}\napi:\n  !!merge <<: *b\n  p: null\n"},
		{"a null mapping value stays a replacement", "a: 1\n", "a: {}\n", "a: {}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := MergeValues([]byte(tc.base), overrides(t, tc.over))
			if err != nil || string(out) != tc.want {
				t.Errorf("%v\ngot:\n%s\nwant:\n%s", err, out, tc.want)
			}
		})
	}
}
