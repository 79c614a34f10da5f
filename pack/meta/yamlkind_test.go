package meta

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestYAMLKind(t *testing.T) {
	long := strings.Repeat("é", 45)
	for _, tc := range []struct{ doc, want string }{
		{"a: 1\n", "a mapping"},
		{"- a\n", "a list"},
		{"~\n", "null"},
		{"3\n", `the scalar "3"`},
		{"\"x\\ty\"\n", `the scalar "x\ty"`},
		{long + "\n", `the scalar "` + strings.Repeat("é", 40) + `"…`},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tc.doc), &doc); err != nil {
			t.Fatalf("%q: %v", tc.doc, err)
		}
		if got := YAMLKind(doc.Content[0]); got != tc.want {
			t.Errorf("YAMLKind(%q) = %s, want %s", tc.doc, got, tc.want)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: &x 1\nb: *x\n"), &doc); err != nil {
		t.Fatal(err)
	}
	if got := YAMLKind(doc.Content[0].Content[3]); got != "an alias" {
		t.Errorf("alias: got %s", got)
	}
}
