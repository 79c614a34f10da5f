// Package spec reads the files a cluster profile is made of, as outside
// input: profile.yaml (parsed with positions, every problem reported) and
// the lock file (decoded strictly, every field a fetch will trust
// checked), and merges a layer's values overrides into a pack's
// values.yaml. Package profile resolves, checks, fetches and renders with
// them and re-exports every name here.
//
// It is a leaf (yaml.v3, semver, index and pack/meta, all themselves
// light) so that its fuzz targets link none of what resolution and
// fetching need (the client, transports, sigstore): they run many times
// faster for it (docs/PERFORMANCE.md, "Fuzzing speed").
package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/pack/meta"
	"gopkg.in/yaml.v3"
)

// ErrInvalid marks a profile.yaml or lock file that cannot be read.
var ErrInvalid = errors.New("invalid profile")

// MaxFileSize bounds profile.yaml and lock files: they are small.
const MaxFileSize = 4 << 20

// Profile is a parsed profile.yaml.
type Profile struct {
	Name        string
	CloudType   string
	Description string
	Layers      []Layer
	File        string // the path it was read from, for messages
	SHA256      string // of the file's bytes, pinned in the lock
}

// Layer is one entry of layers.
type Layer struct {
	Pack       string
	Constraint string // Masterminds semver constraint
	Registry   string // configured registry name; "" = search all in order
	// Values are the overrides: a YAML mapping node, or nil.
	Values       *yaml.Node
	Line, Column int // of the entry, for messages
}

// Layer returns the profile layer for a pack, or nil.
func (p *Profile) Layer(name string) *Layer {
	for i := range p.Layers {
		if p.Layers[i].Pack == name {
			return &p.Layers[i]
		}
	}
	return nil
}

// Problem is one thing wrong with an input file, at a position: the
// diagnostic packs have (Line and Col 0 when unknown), always an error.
type Problem = meta.Problem

// problem makes a Problem (an error) at line and col.
func problem(file string, line, col int, msg string) Problem {
	return Problem{File: file, Line: line, Col: col, Severity: meta.SevError, Msg: msg}
}

// ParseError lists every problem found in a file.
type ParseError struct{ Problems []Problem }

// Error lists the problems as file:line:col: message (all are errors,
// so the severity is left out).
func (e *ParseError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.Position() + ": " + p.Msg)
	}
	return b.String()
}

func (e *ParseError) Unwrap() error { return ErrInvalid }

// Load reads and parses a profile file.
func Load(path string) (*Profile, error) {
	data, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// readSmall reads a profile or lock file: a regular file (never a FIFO,
// a hang, or a device) of at most MaxFileSize bytes.
func readSmall(path string) ([]byte, error) {
	data, err := safefile.ReadFile(path, MaxFileSize)
	if errors.Is(err, safefile.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %s is more than the %d bytes a profile or lock file may have", ErrInvalid, path, MaxFileSize)
	}
	return data, err
}

// Compiled on first use, not in the initialiser every packgen process runs.
var (
	cloudType = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`) })
)

// fields of profile.yaml, in the order messages list them.
var (
	profileFields = []string{"name", "cloudType", "description", "layers"}
	layerFields   = []string{"pack", "version", "registry", "values"}
)

type parser struct {
	file     string
	problems []Problem
}

func (ps *parser) add(n *yaml.Node, format string, args ...any) {
	p := problem(ps.file, 0, 0, fmt.Sprintf(format, args...))
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	ps.problems = append(ps.problems, p)
}

// Parse parses profile.yaml. It reports every problem with its line and
// column, and refuses unknown fields, duplicate keys and anchors.
func Parse(file string, data []byte) (*Profile, error) {
	ps := &parser{file: file}
	sum := sha256.Sum256(data)
	p := &Profile{File: file, SHA256: hex.EncodeToString(sum[:])}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, col, msg := meta.YAMLError(data, err)
		return nil, &ParseError{[]Problem{problem(file, line, col, msg)}}
	}
	if len(doc.Content) == 0 {
		return nil, &ParseError{[]Problem{problem(file, 1, 1, "the file is empty; expected a mapping with name, cloudType and layers (see docs/FORMAT.md, Cluster profiles)")}}
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		ps.add(top, "expected a mapping with name, cloudType and layers, found %s", meta.YAMLKind(top))
		return nil, &ParseError{ps.problems}
	}
	seen := ps.fields(top, "profile", profileFields)
	if v := seen["name"]; v == nil {
		ps.add(top, "name is required (a lowercase name such as aws-prod)")
	} else if s, ok := ps.str(v, "name"); ok {
		if !meta.ValidName(s) {
			ps.add(v, "name %q must be lowercase letters, digits and '-'", s)
		}
		p.Name = s
	}
	if v := seen["cloudType"]; v == nil {
		ps.add(top, "cloudType is required (the cloud this profile deploys to, e.g. aws, vsphere)")
	} else if s, ok := ps.str(v, "cloudType"); ok {
		switch {
		case s == "all":
			ps.add(v, `cloudType "all" is for packs; a profile deploys to one cloud (one of %s)`, strings.Join(meta.KnownCloudTypes[1:], ", "))
		case !cloudType().MatchString(s):
			ps.add(v, "cloudType %q must be lowercase letters, digits and '-'", s)
		}
		p.CloudType = s
	}
	if v := seen["description"]; v != nil {
		p.Description, _ = ps.str(v, "description")
	}
	if v := seen["layers"]; v == nil {
		ps.add(top, "layers is required: a list of {pack, version, registry, values}")
	} else if v.Kind != yaml.SequenceNode {
		ps.add(v, "layers must be a list of {pack, version, registry, values}, found %s", meta.YAMLKind(v))
	} else if len(v.Content) == 0 {
		ps.add(v, "layers is empty; a profile needs at least one layer")
	} else {
		first := map[string]*yaml.Node{}
		for i, item := range v.Content {
			l, ok := ps.layer(item, i)
			if !ok {
				continue
			}
			if f := first[l.Pack]; f != nil {
				ps.add(item, "layers[%d]: pack %s is already listed at line %d; a pack may appear once", i, l.Pack, f.Line)
				continue
			}
			first[l.Pack] = item
			p.Layers = append(p.Layers, l)
		}
	}
	if len(ps.problems) > 0 {
		sort.SliceStable(ps.problems, func(i, j int) bool {
			a, b := ps.problems[i], ps.problems[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, &ParseError{ps.problems}
	}
	return p, nil
}

// fields checks a mapping's keys (strings, known, once) and returns the
// value nodes by key.
func (ps *parser) fields(m *yaml.Node, what string, known []string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			ps.add(k, "%s: keys must be plain strings", what)
			continue
		}
		found := false
		for _, f := range known {
			found = found || f == k.Value
		}
		switch {
		case !found:
			ps.add(k, "%s: unknown field %q (expected %s)", what, k.Value, strings.Join(known, ", "))
		case out[k.Value] != nil:
			ps.add(k, "%s: %s is given twice", what, k.Value)
		default:
			out[k.Value] = v
		}
	}
	return out
}

// str returns a scalar's text, refusing mappings, lists and null.
func (ps *parser) str(v *yaml.Node, field string) (string, bool) {
	if v.Kind == yaml.AliasNode || v.Anchor != "" {
		ps.add(v, "%s: YAML anchors and aliases are not allowed in profiles", field)
		return "", false
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		ps.add(v, "%s must be a string, found %s", field, meta.YAMLKind(v))
		return "", false
	}
	if strings.TrimSpace(v.Value) == "" {
		ps.add(v, "%s must not be empty", field)
		return "", false
	}
	return v.Value, true
}

func (ps *parser) layer(item *yaml.Node, i int) (Layer, bool) {
	l := Layer{Line: item.Line, Column: item.Column}
	what := fmt.Sprintf("layers[%d]", i)
	if item.Kind != yaml.MappingNode {
		ps.add(item, "%s must be a mapping {pack, version, registry, values}, found %s", what, meta.YAMLKind(item))
		return l, false
	}
	before := len(ps.problems)
	f := ps.fields(item, what, layerFields)
	if v := f["pack"]; v == nil {
		ps.add(item, "%s: pack is required (the pack's name in the registry)", what)
	} else if s, ok := ps.str(v, what+".pack"); ok {
		if !meta.ValidName(s) {
			ps.add(v, "%s.pack %q is not a pack name (lowercase letters, digits and '-')", what, s)
		}
		l.Pack = s
	}
	if v := f["version"]; v == nil {
		ps.add(item, `%s: version is required: a semver constraint such as "^3.27", "~1.29.4", ">=57 <59" or "*"`, what)
	} else if s, ok := ps.str(v, what+".version"); ok {
		if _, err := semver.NewConstraint(s); err != nil {
			ps.add(v, "%s.version %q is not a semver constraint: %v (examples: ^1.2, ~0.13, >=1.0 <2.0, 1.2.3, *)", what, s, err)
		}
		l.Constraint = s
	}
	if v := f["registry"]; v != nil {
		if s, ok := ps.str(v, what+".registry"); ok {
			if !meta.ValidName(s) {
				ps.add(v, "%s.registry %q is not a registry name (lowercase letters, digits and '-')", what, s)
			}
			l.Registry = s
		}
	}
	if v := f["values"]; v != nil {
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case v.Kind != yaml.MappingNode:
			ps.add(v, "%s.values must be a mapping of overrides for the pack's values.yaml, found %s", what, meta.YAMLKind(v))
		default:
			if n := findAnchor(v); n != nil {
				ps.add(n, "%s.values: YAML anchors, aliases and merge keys are not allowed in overrides (write the values out)", what)
			} else {
				l.Values = v
			}
		}
	}
	return l, len(ps.problems) == before
}

func findAnchor(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || n.Tag == "!!merge" {
		return n
	}
	for _, c := range n.Content {
		if f := findAnchor(c); f != nil {
			return f
		}
	}
	return nil
}
