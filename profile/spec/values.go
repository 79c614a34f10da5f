package spec

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// MergeValues deep-merges overrides (a mapping node, or nil) into the
// YAML document base and encodes the result with two-space indentation.
// Working on yaml.v3 node trees keeps the pack's comments, key order and
// quoting wherever yaml.v3 can represent them.
func MergeValues(base []byte, overrides *yaml.Node) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	top := doc.Content[0]
	if overrides != nil && len(overrides.Content) > 0 {
		if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
			*top = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: top.HeadComment}
		}
		if top.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("the pack's values.yaml is not a mapping, so overrides cannot be merged into it")
		}
		Merge(top, overrides)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Merge deep-merges the mapping src into the mapping dst, in place:
// mappings merge key by key (recursively), anything else in src replaces
// the value in dst (lists are replaced whole, not appended: appending
// makes an override impossible to undo). Keys new to dst are appended in
// src's order. A replaced value keeps the pack's comments unless the
// override carries its own; a comment above an override key replaces the
// one above the pack's key.
func Merge(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		sk, sv := src.Content[i], src.Content[i+1]
		j := findKey(dst, sk.Value)
		if j < 0 {
			dst.Content = append(dst.Content, clone(sk), clone(sv))
			continue
		}
		if sk.HeadComment != "" {
			// The override explains itself: its comment replaces the pack's.
			dst.Content[j].HeadComment = sk.HeadComment
		}
		dv := dst.Content[j+1]
		if dv.Kind == yaml.MappingNode && sv.Kind == yaml.MappingNode {
			Merge(dv, sv)
			continue
		}
		nv := clone(sv)
		if nv.HeadComment == "" && nv.LineComment == "" && nv.FootComment == "" {
			nv.HeadComment, nv.LineComment, nv.FootComment = dv.HeadComment, dv.LineComment, dv.FootComment
		}
		dst.Content[j+1] = nv
	}
}

func findKey(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Tag != "!!merge" && k.Value == key {
			return i
		}
	}
	return -1
}

// clone deep-copies a node, dropping positions from the profile file.
func clone(n *yaml.Node) *yaml.Node {
	c := *n
	c.Line, c.Column = 0, 0
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = clone(x)
	}
	if len(n.Content) == 0 {
		c.Content = nil
	}
	return &c
}
