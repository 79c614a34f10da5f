package profile

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack/meta"
)

// Rules a resolved profile must satisfy. Violation.Rule is one of these.
const (
	RuleNotFound     = "not-found"                // no configured registry has a matching version
	RuleCoreConflict = "one-pack-per-core-layer"  // two packs on os, k8s, cni or csi
	RuleCoreMissing  = "core-layer-missing"       // a core layer has no pack (unless partial)
	RuleCloudType    = "cloud-type"               // a pack's cloudTypes exclude the profile's cloud
	RuleRequired     = "dependency-required"      // a required dependency is not in the profile
	RuleNotSupported = "dependency-not-supported" // a notSupported pack is in the profile
	RuleVersionRange = "dependency-version-range" // a dependency's min/maxVersion is violated
	RuleDeleted      = "deleted-release"          // a layer pins a deleted release (without AllowDeleted)
)

// Violation is one rule a resolved profile breaks.
type Violation struct {
	Rule    string   `json:"rule"`
	Packs   []string `json:"packs"`
	Message string   `json:"message"`
	// Hint, when set, names a version that would satisfy the rule.
	Hint string `json:"hint,omitempty"`
	// dep is the dependency a version-range violation is about.
	dep *meta.Dependency
}

func (v Violation) String() string {
	s := v.Message + " [rule " + v.Rule + "]"
	if v.Hint != "" {
		s += "; hint: " + v.Hint
	}
	return s
}

// Resolved is one profile layer pinned to a release of a registry.
type Resolved struct {
	Pack     string
	Release  *index.Release
	Registry string // registry name
	URL      string // registry URL
}

// CoreLayers are the layers a full profile has exactly one pack for.
var CoreLayers = []meta.Layer{meta.LayerOS, meta.LayerK8s, meta.LayerCNI, meta.LayerCSI}

// Check applies every rule to a resolved profile and returns all the
// violations (not just the first), in a stable order, plus warnings.
// With partial, missing core layers are allowed, and so is a required
// dependency on a pack of a core layer the profile leaves out (the rest of
// the cluster is expected to come from elsewhere).
func Check(p *Profile, layers []Resolved, partial bool) (violations []Violation, warnings []string) {
	add := func(rule string, packs []string, format string, args ...any) {
		violations = append(violations, Violation{Rule: rule, Packs: packs, Message: fmt.Sprintf(format, args...)})
	}
	byName := map[string]*Resolved{}
	byLayer := map[meta.Layer][]string{}
	for i := range layers {
		r := &layers[i]
		byName[r.Pack] = r
		l := meta.Layer(r.Release.Layer)
		byLayer[l] = append(byLayer[l], r.Pack+"@"+r.Release.Version)
	}
	for _, l := range CoreLayers {
		switch have := byLayer[l]; {
		case len(have) > 1:
			add(RuleCoreConflict, names(have), "%s provide the %s layer; a profile has one pack per core layer (os, k8s, cni, csi): keep one of them", andList(have, "both"), l)
		case len(have) == 0 && !partial:
			add(RuleCoreMissing, nil, "no pack provides the %s layer; a full profile has one os, k8s, cni and csi pack: add one, or resolve with --partial", l)
		}
	}
	for _, r := range layers {
		id := r.Pack + "@" + r.Release.Version
		cts := r.Release.CloudTypes
		switch {
		case len(cts) == 0:
			warnings = append(warnings, fmt.Sprintf("%s declares no cloudTypes; assuming it runs on %s", id, p.CloudType))
		case !contains(cts, "all") && !contains(cts, p.CloudType):
			add(RuleCloudType, []string{r.Pack}, "%s supports cloud types %s, not %s (the cloudType of profile %s): a pack's cloudTypes must include the profile's cloud or \"all\"", id, strings.Join(cts, ", "), p.CloudType, p.Name)
		}
	}
	for _, r := range layers {
		id := r.Pack + "@" + r.Release.Version
		for _, d := range r.Release.Dependencies {
			other := byName[d.PackName]
			switch d.Type {
			case "required":
				if other == nil {
					if partial && d.Layer.IsCore() && len(byLayer[d.Layer]) == 0 {
						warnings = append(warnings, fmt.Sprintf("%s requires %s%s on the %s layer, which this partial profile leaves out", id, d.PackName, rangeText(d, " "), d.Layer))
						continue
					}
					add(RuleRequired, []string{r.Pack, d.PackName}, "%s requires %s%s, which the profile does not include (constraints.dependencies type required): add a %s layer or pick another version of %s", id, d.PackName, rangeText(d, " "), d.PackName, r.Pack)
					continue
				}
				checkRange(&violations, id, r.Pack, d, other)
			case "optional":
				if other != nil {
					checkRange(&violations, id, r.Pack, d, other)
				}
			case "notSupported":
				if other == nil {
					continue
				}
				if _, err := d.Range(); err != nil {
					checkRange(&violations, id, r.Pack, d, other) // reports the invalid range
					continue
				}
				v, err := semver.NewVersion(other.Release.Version)
				if err == nil && d.Allows(v) {
					add(RuleNotSupported, []string{r.Pack, d.PackName}, "%s does not support %s%s, but the profile includes %s@%s (constraints.dependencies type notSupported): remove one of them", id, d.PackName, rangeText(d, " "), d.PackName, other.Release.Version)
				}
			}
		}
	}
	return violations, warnings
}

func checkRange(vs *[]Violation, id, name string, d meta.Dependency, other *Resolved) {
	packs := []string{name, d.PackName}
	if _, err := d.Range(); err != nil {
		*vs = append(*vs, Violation{Rule: RuleVersionRange, Packs: packs, Message: fmt.Sprintf("%s has an invalid version range for %s (minVersion %q, maxVersion %q): %v; the pack's metadata must be fixed", id, d.PackName, d.MinVersion, d.MaxVersion, err)})
		return
	}
	v, err := semver.NewVersion(other.Release.Version)
	if err != nil || !d.Allows(v) {
		*vs = append(*vs, Violation{Rule: RuleVersionRange, Packs: packs, dep: &d,
			Message: fmt.Sprintf("%s needs %s%s, but the profile resolves %s@%s (constraints.dependencies type %s, bounds inclusive): change the version constraint of %s or %s", id, d.PackName, rangeText(d, " "), d.PackName, other.Release.Version, d.Type, d.PackName, name)})
	}
}

// rangeHint says which release of a dependency would satisfy its range:
// the newest one in range that also matches the profile's constraint (the
// constraint picked a newer one), or else the newest in range at all.
func rangeHint(shard *index.Shard, constraint string, d meta.Dependency) string {
	cons, _ := semver.NewConstraint(constraint)
	var inRange, both *semver.Version
	for _, r := range shard.Releases {
		v, err := semver.NewVersion(r.Version)
		if err != nil || v.Prerelease() != "" || !d.Allows(v) {
			continue
		}
		if inRange == nil || v.GreaterThan(inRange) {
			inRange = v
		}
		if cons != nil && cons.Check(v) && (both == nil || v.GreaterThan(both)) {
			both = v
		}
	}
	switch {
	case both != nil:
		return fmt.Sprintf("%s %s is in range and matches %q; pin it (version: %q) or narrow the constraint", d.PackName, both.Original(), constraint, both.Original())
	case inRange != nil:
		return fmt.Sprintf("%s %s is in range but outside the profile's constraint %q; change that constraint", d.PackName, inRange.Original(), constraint)
	}
	return fmt.Sprintf("no release of %s in its registry is in range", d.PackName)
}

// rangeText describes a dependency's range, with a leading sep when non-empty.
func rangeText(d meta.Dependency, sep string) string {
	switch {
	case d.MinVersion != "" && d.MaxVersion != "":
		return sep + d.MinVersion + " to " + d.MaxVersion
	case d.MinVersion != "":
		return sep + ">= " + d.MinVersion
	case d.MaxVersion != "":
		return sep + "<= " + d.MaxVersion
	}
	return ""
}

func names(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i], _, _ = strings.Cut(id, "@")
	}
	return out
}

func andList(s []string, two string) string {
	if len(s) == 2 {
		return two + " " + s[0] + " and " + s[1]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1] + " all"
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
