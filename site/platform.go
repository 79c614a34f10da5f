package site

import (
	"errors"
	"fmt"
	"html/template"
	"strings"

	"gopkg.in/yaml.v3"
)

// presets.yaml and schema.yaml are the vendor platform's UI files for a
// pack's values: presets are named changes the user picks from a group
// (each adds a YAML fragment to values.yaml and removes paths from it),
// and schema.yaml gives values paths rules in a small template language:
//
//	manifests.app.replicas:
//	  schema: '{{ required | format "${number}" | range "1-10" }}'
//
// The catalogue shows them as the platform does: presets by group, the
// schema as a table of parameters. Neither file is ever executed.

// Bounds keep one pack's page small whatever its files claim.
const (
	maxPresets    = 500
	maxSchemaRows = 5000
	maxSchemaArgs = 200
)

var errPlatformFile = errors.New("unreadable platform file")

type presetGroup struct {
	Name    string
	Presets []presetView
}

type presetView struct {
	Name, Display string
	Add           template.HTML // highlighted YAML
	Remove        []string
}

type presetYAML struct {
	Presets []struct {
		Name        string   `yaml:"name"`
		DisplayName string   `yaml:"displayName"`
		Group       string   `yaml:"group"`
		Remove      []string `yaml:"remove"`
		Add         string   `yaml:"add"`
	} `yaml:"presets"`
}

// parsePresets reads presets.yaml into groups, in the order the file
// first names them.
func parsePresets(b []byte) ([]presetGroup, error) {
	var f presetYAML
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: presets.yaml: %v", errPlatformFile, err)
	}
	if len(f.Presets) > maxPresets {
		return nil, fmt.Errorf("%w: presets.yaml: %d presets, more than the catalogue shows (%d)", errPlatformFile, len(f.Presets), maxPresets)
	}
	var out []presetGroup
	at := map[string]int{}
	for _, p := range f.Presets {
		g := strings.TrimSpace(p.Group)
		i, ok := at[g]
		if !ok {
			i = len(out)
			at[g] = i
			out = append(out, presetGroup{Name: g})
		}
		v := presetView{Name: p.Name, Display: strings.TrimSpace(p.DisplayName)}
		if v.Display == "" {
			v.Display = p.Name
		}
		if strings.TrimSpace(p.Add) != "" {
			v.Add = highlightYAML([]byte(p.Add))
		}
		for _, r := range p.Remove {
			if r = strings.TrimSpace(r); r != "" {
				v.Remove = append(v.Remove, r)
			}
		}
		out[i].Presets = append(out[i].Presets, v)
	}
	return out, nil
}

// schemaRow is one parameter of schema.yaml.
type schemaRow struct {
	Path, Type         string
	Required, Readonly bool
	Hidden             bool
	Hints, Allowed     []string
	Rules              []string // range, regex and rules the table has no column for
}

// parseSchema reads schema.yaml: a mapping of values paths to a mapping
// whose "schema" is the rule expression. Rows keep the file's order.
func parseSchema(b []byte) ([]schemaRow, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: schema.yaml: %v", errPlatformFile, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: schema.yaml: line %d: want a mapping of values paths to rules", errPlatformFile, m.Line)
	}
	if len(m.Content)/2 > maxSchemaRows {
		return nil, fmt.Errorf("%w: schema.yaml: %d parameters, more than the catalogue shows (%d)", errPlatformFile, len(m.Content)/2, maxSchemaRows)
	}
	var rows []schemaRow
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		expr := ""
		switch v.Kind {
		case yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				if v.Content[j].Value == "schema" && v.Content[j+1].Kind == yaml.ScalarNode {
					expr = v.Content[j+1].Value
				}
			}
		case yaml.ScalarNode:
			expr = v.Value // a bare expression, as some packs write it
		}
		row := parseSchemaExpr(expr)
		row.Path = k.Value
		rows = append(rows, row)
	}
	return rows, nil
}

// parseSchemaExpr reads `{{ f1 | f2 "arg" | f3 "a","b" }}`.
func parseSchemaExpr(s string) schemaRow {
	var row schemaRow
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "{{"), "}}"))
	for _, part := range splitPipes(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, rest, _ := strings.Cut(part, " ")
		args := quotedArgs(rest)
		switch strings.ToLower(name) {
		case "required":
			row.Required = true
		case "readonly":
			row.Readonly = true
		case "hidden":
			row.Hidden = true
		case "format":
			if len(args) > 0 {
				row.Type = strings.TrimSuffix(strings.TrimPrefix(args[0], "${"), "}")
			}
		case "options", "listoptions":
			row.Allowed = append(row.Allowed, args...)
		case "hints":
			row.Hints = append(row.Hints, args...)
		case "regex":
			row.Rules = append(row.Rules, "matches "+strings.Join(args, " "))
		case "range":
			row.Rules = append(row.Rules, "range "+strings.Join(args, " "))
		default:
			row.Rules = append(row.Rules, strings.TrimSpace(name+" "+strings.Join(args, ", ")))
		}
	}
	return row
}

// splitPipes splits on | outside double-quoted strings.
func splitPipes(s string) []string {
	var out []string
	start, inQ := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQ:
			i++
		case c == '"':
			inQ = !inQ
		case c == '|' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// quotedArgs returns the double-quoted strings of s ("a","b" or "a" "b");
// s itself, trimmed, when it has none.
func quotedArgs(s string) []string {
	var out []string
	for i := 0; i < len(s) && len(out) < maxSchemaArgs; i++ {
		if s[i] != '"' {
			continue
		}
		var b strings.Builder
		j := i + 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			b.WriteByte(s[j])
		}
		out = append(out, b.String())
		i = j
	}
	if len(out) == 0 {
		if t := strings.TrimSpace(s); t != "" {
			out = append(out, t)
		}
	}
	return out
}
