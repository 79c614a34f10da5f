package meta

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// YAMLKind names what a YAML node is, for messages that say what was
// expected and what the user wrote instead ("must be a mapping, got a
// list"); pack files and profiles both use it. A scalar is quoted (its first
// 40 characters) because "got the scalar \"3\"" tells the user which value to
// fix.
func YAMLKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		v := []rune(n.Value)
		if len(v) > 40 {
			return fmt.Sprintf("the scalar %q…", string(v[:40]))
		}
		return fmt.Sprintf("the scalar %q", n.Value)
	}
	return "nothing"
}
