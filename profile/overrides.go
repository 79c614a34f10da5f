package profile

import (
	"fmt"
	"strings"

	"github.com/packgen/packgen/internal/nearname"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/pack/valueschema"
	"github.com/packgen/packgen/profile/spec"
	"gopkg.in/yaml.v3"
)

// RuleValuesSchema: a layer's values override breaks a rule of its
// pack's schema.yaml (type, allowed values, pattern, range, required,
// read-only).
const RuleValuesSchema = "values-schema"

// checkOverrides checks the values overrides of layer l against its
// pack's archive a, at the overrides' lines in the profile file: a value
// that breaks the rule schema.yaml gives its path is a violation; a key
// neither the pack's values.yaml nor, below charts.NAME, chart NAME's
// own values.yaml has (a typo, most often) is a warning, as schema.yaml
// or values.yaml that cannot be read (then nothing is checked against
// it).
func checkOverrides(p *Profile, l *spec.Layer, a *pack.Archive) (vs []Violation, warns []string) {
	if l == nil || l.Values == nil {
		return nil, nil
	}
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d: %s", p.File, n.Line, n.Column, l.Pack) }
	base, err := archiveYAML(a, pack.ValuesFile)
	var doc yaml.Node
	if err == nil {
		err = yaml.Unmarshal(base, &doc)
	}
	if err != nil {
		warns = append(warns, fmt.Sprintf("%s: the pack's values.yaml cannot be read (%v): its overrides are not checked for unknown keys", at(l.Values), err))
	} else if len(doc.Content) > 0 {
		if spec.ValueOf(l.Values, "charts") != nil { // else no chart is read
			withChartDefaults(doc.Content[0], pack.ChartDefaults(a))
		}
		warns = unknownKeys(at, nil, l.Values, doc.Content[0], warns)
	}
	rows, err := readSchema(a)
	if err != nil {
		return nil, append(warns, fmt.Sprintf("%s: the pack's schema.yaml cannot be read (%v): its overrides are not checked against it", at(l.Values), err))
	}
	for _, row := range rows {
		n := overrideAt(l.Values, row.Path)
		if n == nil {
			continue
		}
		msg := row.Check(n)
		if row.Readonly {
			msg = "is read-only: the platform does not let a profile set it"
		}
		if msg != "" {
			vs = append(vs, Violation{Rule: RuleValuesSchema, Packs: []string{l.Pack}, Message: fmt.Sprintf("%s: values %s %s (the pack's schema.yaml)", at(n), row.Path, msg)})
		}
	}
	return vs, warns
}

// withChartDefaults adds to the pack's values root, below charts.NAME,
// the keys of chart NAME's own values.yaml (defaults) that the pack's
// values lack: Helm merges the pack's charts.NAME over the chart's
// defaults, so a profile overriding one of them (a chart's replicas,
// under a pack's "charts: {mychart: {}}") names a real key.
func withChartDefaults(root *yaml.Node, defaults map[string][]byte) {
	if len(defaults) == 0 || root.Kind != yaml.MappingNode {
		return
	}
	charts := spec.ValueOf(root, "charts")
	if charts == nil {
		charts = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "charts"}, charts)
	}
	if charts.Kind != yaml.MappingNode {
		return
	}
	for name, data := range defaults {
		var d yaml.Node
		if yaml.Unmarshal(data, &d) != nil || len(d.Content) == 0 || d.Content[0].Kind != yaml.MappingNode {
			continue
		}
		v := spec.ValueOf(charts, name)
		if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			charts.Content = append(charts.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, d.Content[0])
			continue
		}
		budget := maxDefaultKeys
		addMissing(v, d.Content[0], &budget)
	}
}

// addMissing adds to the mapping dst, deep, the keys of src it lacks
// (nodes shared, not copied: the tree is only read after). Aliases are
// followed, so *budget bounds the keys visited: a pack's values and its
// chart's are outside input, and aliases nest exponentially.
func addMissing(dst, src *yaml.Node, budget *int) {
	if dst.Kind != yaml.MappingNode || src.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(src.Content) && *budget > 0; i += 2 {
		*budget--
		k := src.Content[i].Value
		if dv := spec.ValueOf(dst, k); dv != nil {
			addMissing(dv, spec.ValueOf(src, k), budget)
		} else {
			dst.Content = append(dst.Content, src.Content[i], src.Content[i+1])
		}
	}
}

// maxDefaultKeys bounds the keys addMissing visits for one layer.
const maxDefaultKeys = 1 << 16

// unknownKeys warns of each key of the overrides src (at path) that
// the pack's values dst lacks, once at the highest such key, and of a
// value that turns one of dst's mappings into a scalar or list, or the
// reverse (kindChange).
func unknownKeys(at func(*yaml.Node) string, path []string, src, dst *yaml.Node, warns []string) []string {
	if dst == nil || dst.Kind != yaml.MappingNode {
		return warns
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		kp := append(path[:len(path):len(path)], k.Value)
		dv := spec.ValueOf(dst, k.Value)
		if dv == nil {
			// Below charts.NAME, the chart's own values.yaml was
			// looked at too (withChartDefaults).
			none := "the pack's values.yaml has no such key"
			if len(kp) > 2 && kp[0] == "charts" {
				none = fmt.Sprintf("neither the pack's values.yaml nor chart %s's has such a key", kp[1])
			}
			msg := fmt.Sprintf("%s: values %s: %s (a typo?)", at(k), strings.Join(kp, "."), none)
			var keys []string
			for j := 0; j+1 < len(dst.Content); j += 2 {
				keys = append(keys, dst.Content[j].Value)
			}
			if near := nearname.Near(k.Value, keys); len(near) > 0 {
				msg = fmt.Sprintf("%s: values %s: %s; did you mean %s?", at(k), strings.Join(kp, "."), none, strings.Join(near, " or "))
			}
			warns = append(warns, msg)
			continue
		}
		if msg := kindChange(v, dv); msg != "" {
			warns = append(warns, fmt.Sprintf("%s: values %s: %s", at(k), strings.Join(kp, "."), msg))
			continue
		}
		if v.Kind == yaml.MappingNode {
			warns = unknownKeys(at, kp, v, dv, warns)
		}
	}
	return warns
}

// overrideAt is the override's node at a schema.yaml path (dot-separated;
// a key may hold dots itself), nil when the overrides do not set it.
func overrideAt(n *yaml.Node, path string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k == path {
			return n.Content[i+1]
		}
		if rest, ok := strings.CutPrefix(path, k+"."); ok {
			if v := overrideAt(n.Content[i+1], rest); v != nil {
				return v
			}
		}
	}
	return nil
}

// readSchema reads the archive's schema.yaml (none: no rows).
func readSchema(a *pack.Archive) ([]valueschema.Row, error) {
	b, err := archiveYAML(a, pack.SchemaFile)
	if err != nil || b == nil {
		return nil, err
	}
	return valueschema.Parse(b)
}

// kindChange says how the override v changes the pack's value dv
// between a mapping and a scalar or list, usually an indentation slip
// (the merge replaces the pack's mapping whole, Helm warns "cannot
// overwrite table with non table"); "" when it does not. Null on either
// side is no change: it deletes, or fills a placeholder.
func kindChange(v, dv *yaml.Node) string {
	null := func(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }
	if null(v) || null(dv) || (v.Kind == yaml.MappingNode) == (dv.Kind == yaml.MappingNode) {
		return ""
	}
	if dv.Kind == yaml.MappingNode {
		var keys []string
		for i := 0; i+1 < len(dv.Content) && len(keys) < 4; i += 2 {
			keys = append(keys, dv.Content[i].Value)
		}
		return fmt.Sprintf("replaces the pack's mapping (%s) with %s, dropping its keys: mis-indented? (write the keys below it to change them)", strings.Join(keys, ", "), meta.YAMLKind(v))
	}
	return fmt.Sprintf("replaces the pack's %s with a mapping: mis-indented?", strings.TrimPrefix(meta.YAMLKind(dv), "the "))
}
