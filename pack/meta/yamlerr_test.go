package meta

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestYAMLError: the line, column and message YAMLError makes of the
// errors yaml.v3 really gives, including those it gives without a line
// (a problem on the first line: its 0-based line is 0).
func TestYAMLError(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		line, col  int
		msg        string
	}{
		{"tab alone", "\t", 1, 1, "invalid YAML: a tab character indents this line: YAML indents with spaces only"},
		{"BOM then a tab", "\uFEFF\tname: x\n", 1, 1, "invalid YAML: a tab character indents this line: YAML indents with spaces only"},
		{"tab on the first line", "\tname: x\nversion: 1\n", 1, 1, "invalid YAML: a tab character indents this line: YAML indents with spaces only"},
		{"tab on a later line", "a: 1\n\tb: 2\n", 2, 1, "invalid YAML: a tab character indents this line: YAML indents with spaces only"},
		{"first-line scanner error, no tab", "@x\n", 1, 0, "invalid YAML: found character that cannot start any token"},
		{"unterminated quote on the first line", "\"abc", 1, 0, "invalid YAML: found unexpected end of stream"},
		{"parser error on the first line", "a: [\n", 2, 0, "invalid YAML: did not find expected node content"},
		{"parser error, 0-based line", "a: 1\nb: [1, 2\nc: 3\n", 2, 0, "invalid YAML: did not find expected ',' or ']'"},
		{"mapping value on line 1", "a: b: c\n", 1, 0, "invalid YAML: mapping values are not allowed in this context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			err := yaml.Unmarshal([]byte(tc.data), &n)
			if err == nil {
				t.Fatalf("%q parses", tc.data)
			}
			line, col, msg := YAMLError([]byte(tc.data), err)
			if line != tc.line || col != tc.col || msg != tc.msg {
				t.Errorf("yaml.v3 said %q: got %d:%d %q, want %d:%d %q", err, line, col, msg, tc.line, tc.col, tc.msg)
			}
		})
	}
}
