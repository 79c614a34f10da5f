// Package valueschema reads a pack's schema.yaml, the vendor platform's rules
// for values paths in a small template language:
//
//	manifests.app.replicas:
//	  schema: '{{ required | format "${number}" | range "1-10" }}'
//
// The catalogue shows the rules as a table (package site) and a
// profile's overrides are checked against them (package profile): both
// read them here. Nothing in the file is ever executed.
package valueschema

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/packgen/packgen/pack/meta"
	"gopkg.in/yaml.v3"
)

// Bounds keep what a pack's file claims small.
const (
	MaxRows = 5000
	maxArgs = 200
)

// ErrFile marks a schema.yaml that cannot be read as one.
var ErrFile = errors.New("unreadable schema.yaml")

// Row is one parameter of schema.yaml.
type Row struct {
	Path, Type         string
	Required, Readonly bool
	Hidden             bool
	Hints, Allowed     []string
	Rules              []string // range, regex and rules the table has no column for
	// Patterns and Ranges are the arguments of regex and range, which
	// Check applies.
	Patterns, Ranges []string
}

// Parse reads schema.yaml: a mapping of values paths to a mapping whose
// "schema" is the rule expression (or the bare expression). Rows keep
// the file's order.
func Parse(b []byte) ([]Row, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: schema.yaml: %v", ErrFile, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	m := doc.Content[0]
	if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
		return nil, nil
	}
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: schema.yaml: line %d: want a mapping of values paths to rules", ErrFile, m.Line)
	}
	if len(m.Content)/2 > MaxRows {
		return nil, fmt.Errorf("%w: schema.yaml: %d parameters, more than %d", ErrFile, len(m.Content)/2, MaxRows)
	}
	var rows []Row
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
		row := ParseExpr(expr)
		row.Path = k.Value
		rows = append(rows, row)
	}
	return rows, nil
}

// ParseExpr reads `{{ f1 | f2 "arg" | f3 "a","b" }}`.
func ParseExpr(s string) Row {
	var row Row
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
			row.Patterns = append(row.Patterns, args...)
		case "range":
			row.Rules = append(row.Rules, "range "+strings.Join(args, " "))
			row.Ranges = append(row.Ranges, args...)
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
	for i := 0; i < len(s) && len(out) < maxArgs; i++ {
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

// Check says what is wrong with v as the value of the row's path ("" when
// nothing is): a value of another type (number, boolean, string), one
// not among the allowed options (each item of a list), not matching a
// regex, or out of a range; null or empty when required. Read-only is
// the caller's to judge (any value given for the path breaks it). Rules
// Check does not know pass.
func (r Row) Check(v *yaml.Node) string {
	if v == nil || (v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "" && v.Tag == "!!str")) {
		if r.Required {
			return "is required: it must not be null or empty"
		}
		return ""
	}
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode && len(r.Allowed) > 0 {
		items = v.Content // listoptions: each item
	}
	for _, it := range items {
		if msg := r.checkScalar(it); msg != "" {
			return msg
		}
	}
	return ""
}

func (r Row) checkScalar(v *yaml.Node) string {
	switch r.Type {
	case "number":
		if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
			return fmt.Sprintf("must be a number, found %s", meta.YAMLKind(v))
		}
	case "boolean":
		if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
			return fmt.Sprintf("must be a boolean (true or false), found %s", meta.YAMLKind(v))
		}
	case "string":
		if v.Kind != yaml.ScalarNode {
			return fmt.Sprintf("must be a string, found %s", meta.YAMLKind(v))
		}
	}
	if v.Kind != yaml.ScalarNode {
		return ""
	}
	if len(r.Allowed) > 0 {
		ok := false
		for _, a := range r.Allowed {
			ok = ok || a == v.Value
		}
		if !ok {
			return fmt.Sprintf("%q is not one of %s", v.Value, strings.Join(r.Allowed, ", "))
		}
	}
	for _, p := range r.Patterns {
		if re, err := regexp.Compile(p); err == nil && !re.MatchString(v.Value) {
			return fmt.Sprintf("%q does not match %s", v.Value, p)
		}
	}
	for _, rg := range r.Ranges {
		lo, hi, ok := parseRange(rg)
		n, err := strconv.ParseFloat(v.Value, 64)
		if ok && err == nil && (n < lo || n > hi) {
			return fmt.Sprintf("%s is out of the range %s", v.Value, rg)
		}
	}
	return ""
}

// parseRange reads "LOW-HIGH" (non-negative bounds).
func parseRange(s string) (lo, hi float64, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return lo, hi, err1 == nil && err2 == nil
}
