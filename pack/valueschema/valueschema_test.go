package valueschema

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseExpr(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Row
	}{
		{`{{ required | format "${string}" | options "modern_ebpf","ebpf","kmod" }}`, Row{Type: "string", Required: true, Allowed: []string{"modern_ebpf", "ebpf", "kmod"}}},
		{`{{ readonly | hidden | format "${number}" | range "1-10" }}`, Row{Type: "number", Readonly: true, Hidden: true, Rules: []string{"range 1-10"}, Ranges: []string{"1-10"}}},
		{`{{ format "${string}" | regex "^a|b$" | hints "one","two \"q\"" }}`, Row{Type: "string", Rules: []string{"matches ^a|b$"}, Hints: []string{"one", `two "q"`}, Patterns: []string{"^a|b$"}}},
		{`{{ mystery 3 }}`, Row{Rules: []string{"mystery 3"}}},
		{``, Row{}},
		{`{{ format "${str`, Row{Type: "str"}},
	} {
		got := ParseExpr(c.in)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	rows, err := Parse([]byte("b.path:\n  schema: '{{ required }}'\na.path:\n  schema: '{{ format \"${boolean}\" }}'\nc: '{{ readonly }}'\n"))
	if err != nil || len(rows) != 3 || rows[0].Path != "b.path" || !rows[0].Required || rows[1].Type != "boolean" || !rows[2].Readonly {
		t.Errorf("rows %+v, %v", rows, err)
	}
	for _, bad := range []string{"- a", "a: [", "3", strings.Repeat("k: 1\n", MaxRows+1)} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrFile) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if rows, err := Parse(nil); err != nil || rows != nil {
		t.Errorf("empty: %v %v", rows, err)
	}
}

// TestCheck: each rule Check knows, on the value an override gives.
func TestCheck(t *testing.T) {
	for _, c := range []struct {
		expr, value, want string
	}{
		{`{{ required | format "${string}" | options "modern_ebpf","ebpf","kmod" }}`, `"bogus"`, `"bogus" is not one of modern_ebpf, ebpf, kmod`},
		{`{{ required | format "${string}" | options "modern_ebpf","ebpf","kmod" }}`, `kmod`, ``},
		{`{{ required | format "${string}" }}`, `null`, `is required`},
		{`{{ required | format "${string}" }}`, `""`, `is required`},
		{`{{ format "${string}" }}`, `null`, ``},
		{`{{ format "${string}" }}`, `{a: 1}`, `must be a string, found a mapping`},
		{`{{ format "${boolean}" }}`, `"yes"`, `must be a boolean (true or false), found the scalar "yes"`},
		{`{{ format "${boolean}" }}`, `false`, ``},
		{`{{ format "${number}" | range "1-10" }}`, `"3"`, `must be a number`},
		{`{{ format "${number}" | range "1-10" }}`, `11`, `11 is out of the range 1-10`},
		{`{{ format "${number}" | range "1-10" }}`, `2.5`, ``},
		{`{{ regex "^v[0-9]+$" }}`, `v12`, ``},
		{`{{ regex "^v[0-9]+$" }}`, `12`, `"12" does not match ^v[0-9]+$`},
		{`{{ regex "([" }}`, `x`, ``}, // a pattern Go cannot read checks nothing
		{`{{ listoptions "a","b" }}`, `[a, c]`, `"c" is not one of a, b`},
		{`{{ listoptions "a","b" }}`, `[a, b]`, ``},
		{`{{ mystery 3 }}`, `anything`, ``},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(c.value), &doc); err != nil {
			t.Fatal(err)
		}
		got := ParseExpr(c.expr).Check(doc.Content[0])
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s with %s: %q, want %q", c.expr, c.value, got, c.want)
		}
	}
}
