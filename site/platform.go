package site

import (
	"errors"
	"fmt"
	"html/template"
	"strings"

	"github.com/packgen/packgen/pack/valueschema"
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
	maxSchemaRows = valueschema.MaxRows
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

// parseSchema reads schema.yaml (package schema) for the catalogue's
// table.
func parseSchema(b []byte) ([]valueschema.Row, error) {
	rows, err := valueschema.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPlatformFile, err)
	}
	if len(rows) > maxSchemaRows {
		return nil, fmt.Errorf("%w: schema.yaml: %d parameters, more than the catalogue shows (%d)", errPlatformFile, len(rows), maxSchemaRows)
	}
	return rows, nil
}
