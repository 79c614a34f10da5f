package site

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"

	"github.com/packgen/packgen/index"
)

// A pack page compares any two of its versions in the browser
// (index.html?from=X&to=Y#compare), from data embedded in the page as
// JSON (a script element of type application/json, which is never run,
// so the CSP stays as it is and no file is added per pack): per version,
// what the index records (charts, manifests, clouds, dependencies,
// resources, Kubernetes range) and, for the versions whose archives the
// page read (the newest and the one before), values.yaml and the images.
// The page's script renders with textContent only.

// versionData is one version in versions.js.
type versionData struct {
	Version    string            `json:"version"`
	Created    string            `json:"created,omitempty"`
	State      string            `json:"state,omitempty"`
	Charts     []string          `json:"charts"`
	Manifests  []string          `json:"manifests"`
	Clouds     []string          `json:"clouds"`
	Deps       map[string]string `json:"deps"`
	Resources  string            `json:"resources"`
	Kube       string            `json:"kube"`
	HasValues  bool              `json:"hasValues"`
	Values     string            `json:"values,omitempty"`
	Images     []string          `json:"images,omitempty"`
	ValuesNote string            `json:"valuesNote,omitempty"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// versionsJSON encodes every version of the pack, oldest first;
// encoding/json escapes <, > and &, so the data cannot close its script
// element.
func versionsJSON(s *index.Shard, read map[string]*latestFiles) (template.JS, error) {
	var vs []versionData
	for i := range s.Releases {
		r := &s.Releases[i]
		v := versionData{
			Version: r.Version, Charts: nonNil(baseNames(r.Charts)), Manifests: nonNil(r.KubeManifests),
			Clouds: nonNil(sortedClouds(r.CloudTypes)), Deps: map[string]string{}, Resources: resourceSummary(r), Kube: r.KubeVersion,
		}
		if !r.Created.IsZero() {
			v.Created = r.Created.UTC().Format("2006-01-02")
		}
		switch {
		case r.Deleted():
			v.State = "deleted"
		case r.Deprecated():
			v.State = "deprecated"
		}
		for _, d := range r.Dependencies {
			v.Deps[d.PackName] = d.Type + " " + depRange(d.MinVersion, d.MaxVersion)
		}
		if f := read[r.Version]; f != nil {
			v.HasValues = true
			if f.valuesTooLarge {
				v.ValuesNote = "values.yaml is larger than 1 MiB"
			} else {
				v.Values = string(bytes.ToValidUTF8(f.values, []byte("\uFFFD")))
			}
			v.Images = keys(f.images)
			sortStrings(v.Images)
		}
		vs = append(vs, v)
	}
	b, err := json.Marshal(map[string]any{"name": s.Name, "versions": vs})
	if err != nil {
		return "", fmt.Errorf("catalogue: %s: versions: %w", s.Name, err)
	}
	return template.JS(b), nil // #nosec: JSON with <, > and & escaped
}

func sortStrings(s []string) { sort.Strings(s) }
