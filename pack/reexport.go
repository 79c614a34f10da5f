package pack

import "github.com/packgen/packgen/pack/meta"

// pack.json's types, vocabularies, bounds and names, and the positioned
// Problem that validation and profile parsing both report, live in
// pack/meta, a leaf package, so that index and profile parsing use them
// without linking pack (its template engine, go-git, the archive code).
// Every one of them is re-exported here under pack's name.
type (
	Layer             = meta.Layer
	Manifest          = meta.Manifest
	Resource          = meta.Resource
	ResourceComponent = meta.ResourceComponent
	Dependency        = meta.Dependency
	Severity          = meta.Severity
	Problem           = meta.Problem
	Problems          = meta.Problems
)

const (
	LayerOS    = meta.LayerOS
	LayerK8s   = meta.LayerK8s
	LayerCNI   = meta.LayerCNI
	LayerCSI   = meta.LayerCSI
	LayerAddon = meta.LayerAddon
	SevError   = meta.SevError
	SevWarning = meta.SevWarning
)

var Layers = meta.Layers

// ValidName reports whether s is a legal pack name: a DNS-label-like slug.
func ValidName(s string) bool { return meta.ValidName(s) }

// Bounds lists the fields of the given values that exceed their bounds:
// the check shared by validation and index parsing.
func Bounds(version, displayName, addonType, addonSubType, group, eol, kubeVersion string, cloudTypes []string, annotations map[string]string, deps []Dependency, lists map[string][]string) []meta.FieldBound {
	return meta.Bounds(version, displayName, addonType, addonSubType, group, eol, kubeVersion, cloudTypes, annotations, deps, lists)
}

// ResourceBounds lists the constraints.resources fields over their bounds.
func ResourceBounds(rs []Resource) []meta.FieldBound { return meta.ResourceBounds(rs) }
