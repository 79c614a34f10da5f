// Package meta is pack.json's data model without its parser: the manifest
// and its constraints (dependencies, resources), layers, the known
// vocabularies, the bounds on every field that reaches the registry index,
// pack names, and Problem, the positioned diagnostic that pack validation
// and profile parsing both report.
//
// It is a leaf (the standard library and semver only) so that the readers
// of outside input built on these types, index parsing and profile
// parsing, link neither pack's template engine (sprig), nor go-git's
// .packignore matcher, nor the archive code: their fuzz targets run
// several times faster for it (docs/PERFORMANCE.md, "Fuzzing speed").
// Every package, pack included, names these as meta.X.
package meta

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Layer is where a pack sits in a cluster profile.
type Layer string

const (
	LayerOS    Layer = "os"
	LayerK8s   Layer = "k8s"
	LayerCNI   Layer = "cni"
	LayerCSI   Layer = "csi"
	LayerAddon Layer = "addon"
)

// Layers lists the valid layers in profile order.
var Layers = []Layer{LayerOS, LayerK8s, LayerCNI, LayerCSI, LayerAddon}

// IsCore reports whether a profile holds at most one pack of this layer.
func (l Layer) IsCore() bool { return l != LayerAddon && l.Valid() }

// Valid reports whether l is a known layer.
func (l Layer) Valid() bool {
	for _, v := range Layers {
		if v == l {
			return true
		}
	}
	return false
}

// KnownCloudTypes are the cloud types real registries use. Others are a
// warning, not an error: vendors add clouds faster than tools learn them.
var KnownCloudTypes = []string{"all", "aws", "azure", "gcp", "vsphere", "maas", "openstack", "edge", "edge-native", "eks", "aks", "gke", "libvirt", "custom"}

// SystemStateAnnotation is the annotation Palette retires releases with,
// and SystemStates its values (compared without case and surrounding
// space): "deprecated" (still offered, with a warning) or "deleted" (no
// longer offered; kept for clusters that use it).
const SystemStateAnnotation = "system_state"

// The states that retire a release (SystemStateAnnotation's values, and
// index.Retirement's).
const (
	StateDeprecated = "deprecated"
	StateDeleted    = "deleted"
)

// SystemStates are the values of SystemStateAnnotation that retire a
// release; any other leaves it an ordinary release.
var SystemStates = []string{StateDeprecated, StateDeleted}

// KnownAddonTypes are the add-on categories seen in real registries.
var KnownAddonTypes = []string{"system app", "monitoring", "logging", "ai", "registry", "app services", "security", "load balancer", "ingress", "authentication", "servicemesh", "storage", "helm chart", "ci/cd", "database", "backup", "networking", "policy", "gitops", "serverless", "observability"}

// DependencyTypes are the allowed constraints.dependencies[].type values.
var DependencyTypes = []string{"required", "optional", "notSupported", "upgrade"}

// MaxNameLen bounds pack names like a DNS label.
const MaxNameLen = 63

// Bounds on the pack.json fields that reach the registry index. Every
// client downloads the buckets and shards holding them, so one pack with
// a megabyte of displayName would slow every client of the registry;
// index parsing refuses the same bounds (docs/FORMAT.md lists them).
// Lengths are in bytes of UTF-8.
const (
	MaxDisplayNameLen     = 256
	MaxShortFieldLen      = 64   // addonType, addonSubType, group, eol, each cloudTypes entry
	MaxVersionLen         = 128  // version, kubeVersion, minVersion, maxVersion
	MaxListLen            = 256  // entries of cloudTypes, charts, kubeManifests, ansibleRoles, dependencies
	MaxPathLen            = 1024 // each charts, kubeManifests, ansibleRoles entry
	MaxAnnotations        = 64
	MaxAnnotationKeyLen   = 253 // a Kubernetes annotation key: 253-byte prefix at most
	MaxAnnotationValueLen = 4096
	MaxResources          = 16
	MaxComponents         = 64
	MaxParamRefLen        = 256
)

// FieldBound is one bounded field of pack.json as the index holds it.
type FieldBound struct {
	Field string // pack.json field, e.g. "displayName" or "cloudTypes[2]"
	Len   int    // its length (bytes) or its number of entries
	Max   int
	Count bool // Len counts entries, not bytes
}

func (b FieldBound) String() string {
	if b.Count {
		return fmt.Sprintf("%s holds %d entries, more than %d", b.Field, b.Len, b.Max)
	}
	return fmt.Sprintf("%s is %d bytes, longer than the %d-byte limit", b.Field, b.Len, b.Max)
}

// Bounds lists the fields of the given values that exceed their bounds:
// the check shared by validation and index parsing.
func Bounds(version, displayName, addonType, addonSubType, group, eol, kubeVersion string, cloudTypes []string, annotations map[string]string, deps []Dependency, lists map[string][]string) []FieldBound {
	var out []FieldBound
	str := func(field, v string, max int) {
		if len(v) > max {
			out = append(out, FieldBound{Field: field, Len: len(v), Max: max})
		}
	}
	count := func(field string, n, max int) bool {
		if n > max {
			out = append(out, FieldBound{Field: field, Len: n, Max: max, Count: true})
			return false
		}
		return true
	}
	str("version", version, MaxVersionLen)
	str("displayName", displayName, MaxDisplayNameLen)
	str("addonType", addonType, MaxShortFieldLen)
	str("addonSubType", addonSubType, MaxShortFieldLen)
	str("group", group, MaxShortFieldLen)
	str("eol", eol, MaxShortFieldLen)
	str("kubeVersion", kubeVersion, MaxVersionLen)
	if count("cloudTypes", len(cloudTypes), MaxListLen) {
		for i, c := range cloudTypes {
			str(fmt.Sprintf("cloudTypes[%d]", i), c, MaxShortFieldLen)
		}
	}
	if count("annotations", len(annotations), MaxAnnotations) {
		keys := slices.Sorted(maps.Keys(annotations))
		for _, k := range keys {
			if len(k) > MaxAnnotationKeyLen {
				out = append(out, FieldBound{Field: fmt.Sprintf("annotation key %.40q…", k), Len: len(k), Max: MaxAnnotationKeyLen})
				continue
			}
			str(fmt.Sprintf("annotations[%q]", k), annotations[k], MaxAnnotationValueLen)
		}
	}
	if count("constraints.dependencies", len(deps), MaxListLen) {
		for i, d := range deps {
			str(fmt.Sprintf("constraints.dependencies[%d].packName", i), d.PackName, MaxNameLen)
			str(fmt.Sprintf("constraints.dependencies[%d].layer", i), string(d.Layer), MaxShortFieldLen)
			str(fmt.Sprintf("constraints.dependencies[%d].type", i), d.Type, MaxShortFieldLen)
			str(fmt.Sprintf("constraints.dependencies[%d].minVersion", i), d.MinVersion, MaxVersionLen)
			str(fmt.Sprintf("constraints.dependencies[%d].maxVersion", i), d.MaxVersion, MaxVersionLen)
		}
	}
	keys := slices.Sorted(maps.Keys(lists))
	for _, k := range keys {
		if count(k, len(lists[k]), MaxListLen) {
			for i, p := range lists[k] {
				str(fmt.Sprintf("%s[%d]", k, i), p, MaxPathLen)
			}
		}
	}
	return out
}

// ResourceBounds lists the constraints.resources fields over their bounds.
func ResourceBounds(rs []Resource) []FieldBound {
	var out []FieldBound
	if len(rs) > MaxResources {
		return append(out, FieldBound{Field: "constraints.resources", Len: len(rs), Max: MaxResources, Count: true})
	}
	for i, r := range rs {
		f := fmt.Sprintf("constraints.resources[%d]", i)
		if len(r.Type) > MaxShortFieldLen {
			out = append(out, FieldBound{Field: f + ".type", Len: len(r.Type), Max: MaxShortFieldLen})
		}
		if len(r.Components) > MaxComponents {
			out = append(out, FieldBound{Field: f + ".components", Len: len(r.Components), Max: MaxComponents, Count: true})
			continue
		}
		for j, c := range r.Components {
			cf := fmt.Sprintf("%s.components[%d].", f, j)
			for _, x := range []struct{ name, v string }{{"scheduleType", c.ScheduleType}, {"resourceRequestParamRef", c.ResourceRequestParamRef}, {"replicaCountParamRef", c.ReplicaCountParamRef}} {
				if len(x.v) > MaxParamRefLen {
					out = append(out, FieldBound{Field: cf + x.name, Len: len(x.v), Max: MaxParamRefLen})
				}
			}
		}
	}
	return out
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// ReleaseID is name@version as the build keys a release: the version
// semver-canonical when it parses, so 1.0, v1.0 and 1.0.0 are one
// release (the repository's history, the retirement file and the PR
// check key releases so).
func ReleaseID(name, version string) string {
	if v, err := semver.NewVersion(version); err == nil {
		return name + "@" + v.String()
	}
	return name + "@" + version
}

// ValidName reports whether s is a legal pack name: a DNS-label-like slug.
func ValidName(s string) bool {
	return len(s) <= MaxNameLen && nameRE.MatchString(s)
}

// Manifest is pack.json. Fields packgen does not know are kept in Extra,
// verbatim, so nothing an author wrote is ever dropped.
type Manifest struct {
	Name          string                     `json:"name"`
	Version       string                     `json:"version"`
	Layer         Layer                      `json:"layer"`
	DisplayName   string                     `json:"displayName,omitempty"`
	CloudTypes    []string                   `json:"cloudTypes,omitempty"`
	AddonType     string                     `json:"addonType,omitempty"`
	Charts        []string                   `json:"charts,omitempty"`
	KubeManifests []string                   `json:"kubeManifests,omitempty"`
	AnsibleRoles  []string                   `json:"ansibleRoles,omitempty"`
	Annotations   map[string]string          `json:"annotations,omitempty"`
	EOL           string                     `json:"eol,omitempty"`
	Group         string                     `json:"group,omitempty"`
	AddonSubType  string                     `json:"addonSubType,omitempty"`
	KubeVersion   string                     `json:"kubeVersion,omitempty"`
	Constraints   *Constraints               `json:"constraints,omitempty"`
	Extra         map[string]json.RawMessage `json:"-"`
}

// Constraints is pack.json's constraints object.
type Constraints struct {
	Dependencies []Dependency `json:"dependencies,omitempty"`
	Resources    []Resource   `json:"resources,omitempty"`
}

// Resource is one constraints.resources[] entry: the least CPU
// (millicores), memory (MiB) or disk (GB) a machine pool must offer for
// the pack, as Palette checks before it deploys a cluster. When
// Components is set the platform sums their requests instead of MinLimit.
type Resource struct {
	Type       string              `json:"type"`
	MinLimit   int64               `json:"minLimit,omitempty"`
	Components []ResourceComponent `json:"components,omitempty"`
}

// ResourceComponent names where in values.yaml one component's request
// and replica count are, and which nodes it runs on.
type ResourceComponent struct {
	ScheduleType            string `json:"scheduleType,omitempty"`
	ResourceRequestParamRef string `json:"resourceRequestParamRef,omitempty"`
	ReplicaCountParamRef    string `json:"replicaCountParamRef,omitempty"`
}

// ResourceTypes are the allowed constraints.resources[].type values.
var ResourceTypes = []string{"cpu", "memory", "diskSize"}

// ScheduleTypes are the allowed components[].scheduleType values: the
// vendor's schema says control-plane, its prose says master; both mean
// control-plane nodes.
var ScheduleTypes = []string{"all", "control-plane", "master", "worker"}

// Resources returns constraints.resources, or nil.
func (m *Manifest) Resources() []Resource {
	if m == nil || m.Constraints == nil {
		return nil
	}
	return m.Constraints.Resources
}

// Dependency says how this pack relates to another pack in a profile.
// Empty MinVersion or MaxVersion means unbounded; both bounds are inclusive.
type Dependency struct {
	PackName   string `json:"packName"`
	Layer      Layer  `json:"layer,omitempty"`
	MinVersion string `json:"minVersion,omitempty"`
	MaxVersion string `json:"maxVersion,omitempty"`
	Type       string `json:"type"`
}

// Range returns the dependency's version range as a semver constraint,
// or nil when it is unbounded.
func (d Dependency) Range() (*semver.Constraints, error) {
	var parts []string
	if d.MinVersion != "" {
		parts = append(parts, ">= "+d.MinVersion)
	}
	if d.MaxVersion != "" {
		parts = append(parts, "<= "+d.MaxVersion)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return semver.NewConstraint(strings.Join(parts, ", "))
}

// Allows reports whether version v falls within the dependency's range.
func (d Dependency) Allows(v *semver.Version) bool {
	c, err := d.Range()
	if err != nil {
		return false
	}
	if c == nil {
		return true
	}
	// Bounds are inclusive and a prerelease of a bound still counts.
	ok, _ := c.Validate(v)
	if !ok && v.Prerelease() != "" {
		core, _ := v.SetPrerelease("")
		ok, _ = c.Validate(&core)
	}
	return ok
}

// Dependencies returns constraints.dependencies, or nil.
func (m *Manifest) Dependencies() []Dependency {
	if m == nil || m.Constraints == nil {
		return nil
	}
	return m.Constraints.Dependencies
}

// SemVer parses the manifest's version.
func (m *Manifest) SemVer() (*semver.Version, error) {
	return semver.NewVersion(m.Version)
}

// ID is name@version.
func (m *Manifest) ID() string { return m.Name + "@" + m.Version }

// MarshalJSON writes known fields and Extra together with sorted keys.
func (m Manifest) MarshalJSON() ([]byte, error) {
	type plain Manifest
	b, err := json.Marshal(plain(m))
	if err != nil {
		return nil, err
	}
	if len(m.Extra) == 0 {
		return b, nil
	}
	all := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range m.Extra {
		if _, known := all[k]; !known {
			all[k] = v
		}
	}
	return json.Marshal(all) // map keys are sorted by encoding/json
}
