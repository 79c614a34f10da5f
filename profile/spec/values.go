package spec

import (
	"bytes"
	"errors"
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
		if err := Merge(top, overrides); err != nil {
			return nil, err
		}
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
// src's order. A key src sets to null is deleted from dst, as Helm
// deletes a default its user values set to null (one a merge key brings
// in is written as null, so that it is not merged back in; one dst
// does not have is not added). A replaced value keeps the pack's comments unless the
// override carries its own; a comment above an override key replaces the
// one above the pack's key.
//
// dst may use YAML anchors and aliases (a pack's values.yaml is outside
// input; src, a profile's overrides, may not: Parse refuses them). They
// keep the meaning a YAML reader gives them, with the override applied
// where it was written only, as Helm sees values: an alias of a value
// the override changes gets a copy of the value it named before (else a
// replaced anchor left it dangling, and the file did not parse), and an
// alias the override goes through is first replaced by a copy, so the
// override merges into the named mapping instead of replacing it. A key
// that only a merge key ("<<: *base") brings in gets an explicit copy of
// the merged mapping for the override to merge into, as Helm's deep merge
// of the values it reads does. An override that replaces an alias, or a
// value whose aliases all go with it, copies nothing. ErrAliases when the
// copies would pass maxAliasCopy nodes, or an anchor contains itself.
func Merge(dst, src *yaml.Node) error {
	m := &merger{aliases: map[*yaml.Node][]aliasAt{}, dead: map[*yaml.Node]bool{}, budget: maxAliasCopy, copying: map[*yaml.Node]bool{}}
	m.index(dst, nil)
	return m.merge(dst, src)
}

// ErrAliases: overrides change values that so many aliases name that
// copying them would pass maxAliasCopy nodes ("billion laughs").
var ErrAliases = errors.New("aliases expand too far")

// maxAliasCopy bounds the nodes Merge copies for aliases, so that a
// values.yaml of nested aliases costs a bounded merge.
const maxAliasCopy = 1 << 18

// merger is one Merge: the aliases of dst by the node they name, and
// the nodes it may still copy for them.
type merger struct {
	aliases map[*yaml.Node][]aliasAt
	dead    map[*yaml.Node]bool // aliases no longer in dst: never copied
	budget  int
	copying map[*yaml.Node]bool // anchored nodes expand is inside
}

// aliasAt is an alias and, when it is a mapping's value, its key.
type aliasAt struct{ alias, key *yaml.Node }

// index records every alias below n (aliases are not followed); key is
// n's key when n is a mapping's value.
func (m *merger) index(n, key *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		if n.Alias != nil {
			m.aliases[n.Alias] = append(m.aliases[n.Alias], aliasAt{n, key})
		}
		return
	}
	for i, c := range n.Content {
		var k *yaml.Node
		if n.Kind == yaml.MappingNode && i%2 == 1 {
			k = n.Content[i-1]
		}
		m.index(c, k)
	}
}

func (m *merger) merge(dst, src *yaml.Node) error {
	if err := m.keep(dst, false); err != nil { // keys are added to dst
		return err
	}
	if len(src.Content) > 0 {
		// A flow mapping the override changes ("mychart: {}", as packgen
		// new --chart writes it) is written in block style: in flow
		// style its comments land inside the braces, and the pack's
		// file is block style around it.
		dst.Style &^= yaml.FlowStyle
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		sk, sv := src.Content[i], src.Content[i+1]
		j := findKey(dst, sk.Value)
		if j < 0 && sv.Kind == yaml.MappingNode {
			// The key may come through a merge key ("<<: *base"): a
			// YAML reader sees that mapping there, so the override
			// merges into an explicit copy of it, which wins over the
			// merged one, and the anchor stays as it was.
			if v := mergedValue(dst, sk.Value, map[*yaml.Node]bool{}); v != nil && resolve(v).Kind == yaml.MappingNode {
				c, err := m.expand(v)
				if err != nil {
					return err
				}
				dst.Content = append(dst.Content, clone(sk), c)
				j = len(dst.Content) - 2
			}
		}
		null := sv.Kind == yaml.ScalarNode && sv.Tag == "!!null"
		if j < 0 && null && mergedValue(dst, sk.Value, map[*yaml.Node]bool{}) == nil {
			continue // nothing to delete
		}
		if j < 0 {
			dst.Content = append(dst.Content, clone(sk), clone(sv))
			continue
		}
		if null {
			// Helm deletes a key its user values set to null; the
			// key and its value go, aliases of what it held copied.
			dv := dst.Content[j+1]
			m.drop(dv)
			if err := m.keep(dv, true); err != nil {
				return err
			}
			dst.Content = append(dst.Content[:j], dst.Content[j+2:]...)
			continue
		}
		if sk.HeadComment != "" {
			// The override explains itself: its comment replaces the pack's.
			dst.Content[j].HeadComment = sk.HeadComment
		}
		dv := dst.Content[j+1]
		if dv.Kind == yaml.AliasNode && dv.Alias != nil && sv.Kind == yaml.MappingNode && resolve(dv).Kind == yaml.MappingNode {
			// The override goes through the alias: into a copy of
			// what it names, not into what the anchor's key holds.
			// (An override that replaces the alias copies nothing.)
			c, err := m.copyOf(aliasAt{dv, dst.Content[j]})
			if err != nil {
				return err
			}
			m.dead[dv] = true
			dst.Content[j+1], dv = c, c
		}
		if dv.Kind == yaml.MappingNode && sv.Kind == yaml.MappingNode {
			if err := m.merge(dv, sv); err != nil {
				return err
			}
			continue
		}
		m.drop(dv) // dv is replaced whole: its own aliases go with it
		if err := m.keep(dv, true); err != nil {
			return err
		}
		nv := clone(sv)
		if nv.HeadComment == "" && nv.LineComment == "" && nv.FootComment == "" {
			nv.HeadComment, nv.LineComment, nv.FootComment = dv.HeadComment, dv.LineComment, dv.FootComment
		}
		dst.Content[j+1] = nv
	}
	return nil
}

// keep turns every alias of n (and, deep, of the nodes below it) into a
// copy of the value it names now, before the merge changes n.
func (m *merger) keep(n *yaml.Node, deep bool) error {
	for _, a := range m.aliases[n] {
		if m.dead[a.alias] {
			continue
		}
		c, err := m.copyOf(a)
		if err != nil {
			return err
		}
		*a.alias = *c
	}
	delete(m.aliases, n)
	if deep && n.Kind != yaml.AliasNode {
		for _, c := range n.Content {
			if err := m.keep(c, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyOf returns a copy of the value the alias names, aliases inside it
// copied too and anchors dropped, with the alias's own comments.
func (m *merger) copyOf(a aliasAt) (*yaml.Node, error) {
	c, err := m.expand(a.alias.Alias)
	if err != nil {
		return nil, err
	}
	if n := a.alias; n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" {
		c.HeadComment, c.LineComment, c.FootComment = n.HeadComment, n.LineComment, n.FootComment
	}
	// "key: *a # note" as a block below the key: the note stays on the
	// key's line, where yaml.v3 writes a key's comment (it drops a block
	// mapping's own line comment).
	if block := c.Style&yaml.FlowStyle == 0 && len(c.Content) > 0; block && a.key != nil && c.LineComment != "" && a.key.LineComment == "" {
		a.key.LineComment, c.LineComment = c.LineComment, ""
	}
	return c, nil
}

func (m *merger) expand(n *yaml.Node) (*yaml.Node, error) {
	n = resolve(n)
	if m.copying[n] {
		// yaml.v3 parses "a: &a [1, *a]" into a node that contains
		// itself; its copy would never end.
		return nil, fmt.Errorf("%w: anchor %s contains itself, line %d; a YAML reader refuses it: remove the alias from inside its own anchor", ErrAliases, n.Anchor, n.Line)
	}
	if m.budget--; m.budget < 0 {
		return nil, fmt.Errorf("%w: the overrides change values the file's aliases name, and copying them passes %d nodes; write those values out instead of aliasing them", ErrAliases, maxAliasCopy)
	}
	c := *n
	c.Anchor, c.Line, c.Column = "", 0, 0
	c.Content = nil
	if len(n.Content) > 0 {
		m.copying[n] = true
		defer delete(m.copying, n)
	}
	for _, x := range n.Content {
		e, err := m.expand(x)
		if err != nil {
			return nil, err
		}
		c.Content = append(c.Content, e)
	}
	return &c, nil
}

// drop marks the aliases below n (not followed) dead: n leaves dst, so
// the values they name need no copy for them.
func (m *merger) drop(n *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		m.dead[n] = true
		return
	}
	for _, c := range n.Content {
		m.drop(c)
	}
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// mergedValue finds key in the mappings dst's merge keys bring in ("<<:"
// naming a mapping, an alias of one or a list of those), the first one
// that has it winning, as YAML's merge key says; nil when none has it.
// seen guards against merge keys that come back to a mapping.
func mergedValue(dst *yaml.Node, key string, seen map[*yaml.Node]bool) *yaml.Node {
	for i := 0; i+1 < len(dst.Content); i += 2 {
		if k := dst.Content[i]; k.Kind != yaml.ScalarNode || k.Tag != "!!merge" {
			continue
		}
		from := []*yaml.Node{resolve(dst.Content[i+1])}
		if from[0].Kind == yaml.SequenceNode {
			from = from[0].Content
		}
		for _, x := range from {
			x = resolve(x)
			if x.Kind != yaml.MappingNode || seen[x] {
				continue
			}
			seen[x] = true
			if j := findKey(x, key); j >= 0 {
				return x.Content[j+1]
			}
			if v := mergedValue(x, key, seen); v != nil {
				return v
			}
		}
	}
	return nil
}

// ValueOf is the value a YAML reader sees for key in mapping m: its own
// key's, or else the one a merge key brings in; aliases followed. nil
// when m has no such key or is no mapping.
func ValueOf(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	m = resolve(m)
	if m.Kind != yaml.MappingNode {
		return nil
	}
	if j := findKey(m, key); j >= 0 {
		return resolve(m.Content[j+1])
	}
	if v := mergedValue(m, key, map[*yaml.Node]bool{}); v != nil {
		return resolve(v)
	}
	return nil
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
