package pack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/internal/nearname"
	"github.com/packgen/packgen/pack/meta"
)

// boundPointer is the JSON pointer of a bounded field, for its position.
func boundPointer(field string) string {
	r := strings.NewReplacer("[", "/", "]", "", ".", "/")
	if strings.HasPrefix(field, "annotations[") {
		k, _ := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(field, "annotations["), "]"))
		return "/annotations/" + escapePointer(k)
	}
	if strings.HasPrefix(field, "annotation key") {
		return "/annotations"
	}
	return "/" + r.Replace(field)
}

// manifestField describes one known pack.json member for decoding.
type manifestField struct {
	target func(m *meta.Manifest) any
	want   string
}

var manifestFields = map[string]manifestField{
	"name":          {func(m *meta.Manifest) any { return &m.Name }, "a string"},
	"version":       {func(m *meta.Manifest) any { return &m.Version }, "a string"},
	"layer":         {func(m *meta.Manifest) any { return &m.Layer }, "a string"},
	"displayName":   {func(m *meta.Manifest) any { return &m.DisplayName }, "a string"},
	"cloudTypes":    {func(m *meta.Manifest) any { return &m.CloudTypes }, "an array of strings"},
	"addonType":     {func(m *meta.Manifest) any { return &m.AddonType }, "a string"},
	"charts":        {func(m *meta.Manifest) any { return &m.Charts }, "an array of strings"},
	"kubeManifests": {func(m *meta.Manifest) any { return &m.KubeManifests }, "an array of strings"},
	"ansibleRoles":  {func(m *meta.Manifest) any { return &m.AnsibleRoles }, "an array of strings"},
	"annotations":   {func(m *meta.Manifest) any { return &m.Annotations }, "an object of string values"},
	"eol":           {func(m *meta.Manifest) any { return &m.EOL }, "a string"},
	"group":         {func(m *meta.Manifest) any { return &m.Group }, "a string"},
	"addonSubType":  {func(m *meta.Manifest) any { return &m.AddonSubType }, "a string"},
	"kubeVersion":   {func(m *meta.Manifest) any { return &m.KubeVersion }, "a string"},
	"constraints":   {nil, "an object"},
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ParseManifest decodes and checks pack.json. It returns the manifest
// (nil when the file is not a JSON object) and every problem found, each
// positioned at its line and column. file is the name used in problems.
func ParseManifest(file string, data []byte) (*meta.Manifest, meta.Problems) {
	s := &problemSink{file: file}
	if bytes.HasPrefix(data, utf8BOM) {
		s.add(meta.SevWarning, 1, 1, "file starts with a UTF-8 byte order mark; it is ignored, but remove it")
		data = data[len(utf8BOM):]
	}
	if len(bytes.TrimSpace(data)) == 0 {
		s.add(meta.SevError, 1, 1, "pack.json is empty: expected a JSON object with at least name, version and layer")
		return nil, s.ps
	}
	ix, err := indexJSON(data)
	if err != nil {
		l, c, msg := syntaxPos(data, err)
		s.add(meta.SevError, l, c, "invalid JSON: %s", msg)
		return nil, s.ps
	}
	for _, d := range ix.dups {
		l, c := lineCol(data, d.offset)
		s.add(meta.SevError, l, c, "duplicate key %q: JSON parsers disagree on which value wins; keep one", strings.TrimPrefix(d.path, "/"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		s.add(meta.SevError, 1, 1, "pack.json must be a JSON object, got %s", jsonKind(data))
		return nil, s.ps
	}
	m := &meta.Manifest{}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		f, known := manifestFields[k]
		p := "/" + escapePointer(k)
		if !known {
			if m.Extra == nil {
				m.Extra = map[string]json.RawMessage{}
			}
			m.Extra[k] = v
			l, c := ix.keyPos(p)
			s.add(meta.SevWarning, l, c, "unknown field %q: kept as is, but packgen does not check it", k)
			continue
		}
		if k == "constraints" {
			m.Constraints = decodeConstraints(ix, s, v)
			continue
		}
		if err := json.Unmarshal(v, f.target(m)); err != nil {
			l, c := ix.pos(p)
			if k == "annotations" && jsonKind(v) == "an object" {
				reportAnnotationTypes(ix, s, v)
				continue
			}
			s.add(meta.SevError, l, c, "field %q: expected %s, got %s", k, f.want, jsonKind(v))
		}
	}
	checkManifest(ix, s, m, raw)
	return m, s.ps
}

func reportAnnotationTypes(ix *jsonIndex, s *problemSink, v json.RawMessage) {
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(v, &obj)
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if jsonKind(obj[k]) != "a string" {
			l, c := ix.pos("/annotations/" + escapePointer(k))
			s.add(meta.SevError, l, c, "annotation %q: expected a string, got %s (quote it)", k, jsonKind(obj[k]))
		}
	}
}

func decodeConstraints(ix *jsonIndex, s *problemSink, v json.RawMessage) *meta.Constraints {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		l, c := ix.pos("/constraints")
		s.add(meta.SevError, l, c, "field \"constraints\": expected an object, got %s", jsonKind(v))
		return nil
	}
	c := &meta.Constraints{}
	for k := range obj {
		if k == "dependencies" || k == "resources" {
			continue
		}
		l, col := ix.keyPos("/constraints/" + escapePointer(k))
		s.add(meta.SevWarning, l, col, "unknown field \"constraints.%s\": packgen does not check it, and the index does not keep it", k)
	}
	if res, ok := obj["resources"]; ok && jsonKind(res) != "null" {
		c.Resources = decodeList(ix, s, "/constraints/resources", "constraints.resources", true, meta.MaxResources, res, decodeResource)
	}
	if deps, ok := obj["dependencies"]; ok && jsonKind(deps) != "null" {
		c.Dependencies = decodeList(ix, s, "/constraints/dependencies", "constraints.dependencies", true, 0, deps, decodeDependency)
	}
	return c
}

// object is one item of a JSON array of objects: its fields, its JSON
// pointer and its name in messages (constraints.resources[2]).
type object struct {
	base, name string
	fields     map[string]json.RawMessage
}

// decodeList decodes v, the array at JSON pointer base that messages call
// name (field "name" when top, a member of constraints), each item with
// decode, at most max items (0: no bound). A value that is not an array,
// or an array over the bound, is an error and yields nothing; an item
// that is not an object is an error and is left out.
func decodeList[T any](ix *jsonIndex, s *problemSink, base, name string, top bool, max int, v json.RawMessage, decode func(*jsonIndex, *problemSink, object) T) []T {
	var list []json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		what := name
		if top {
			what = fmt.Sprintf("field %q", name)
		}
		l, col := ix.pos(base)
		s.add(meta.SevError, l, col, "%s: expected an array, got %s", what, jsonKind(v))
		return nil
	}
	if max > 0 && len(list) > max {
		l, col := ix.pos(base)
		s.add(meta.SevError, l, col, "%s holds %d entries, more than %d", name, len(list), max)
		return nil
	}
	var out []T
	for i, item := range list {
		o := object{base: fmt.Sprintf("%s/%d", base, i), name: fmt.Sprintf("%s[%d]", name, i)}
		if err := json.Unmarshal(item, &o.fields); err != nil {
			l, col := ix.pos(o.base)
			s.add(meta.SevError, l, col, "%s: expected an object, got %s", o.name, jsonKind(item))
			continue
		}
		out = append(out, decode(ix, s, o))
	}
	return out
}

func decodeDependency(ix *jsonIndex, s *problemSink, o object) meta.Dependency {
	var d meta.Dependency
	stringFields(ix, s, o, map[string]*string{
		"packName": &d.PackName, "layer": (*string)(&d.Layer), "minVersion": &d.MinVersion, "maxVersion": &d.MaxVersion, "type": &d.Type,
	})
	checkDependency(ix, s, o, d)
	return d
}

func decodeResource(ix *jsonIndex, s *problemSink, o object) meta.Resource {
	var r meta.Resource
	for _, k := range slices.Sorted(maps.Keys(o.fields)) {
		fv := o.fields[k]
		l, col := ix.pos(o.base + "/" + escapePointer(k))
		switch k {
		case "type":
			if json.Unmarshal(fv, &r.Type) != nil {
				s.add(meta.SevError, l, col, "%s.type: expected a string, got %s", o.name, jsonKind(fv))
			} else if !contains(meta.ResourceTypes, r.Type) {
				s.add(meta.SevError, l, col, "%s.type %q is not one of %s", o.name, r.Type, strings.Join(meta.ResourceTypes, ", "))
			}
		case "minLimit":
			var f float64
			if json.Unmarshal(fv, &f) != nil {
				s.add(meta.SevError, l, col, "%s.minLimit: expected a number, got %s", o.name, jsonKind(fv))
			} else if f < 0 || f != float64(int64(f)) || f > 1<<40 {
				s.add(meta.SevError, l, col, "%s.minLimit %s must be a whole number ≥ 0 (CPU in millicores, memory in MiB, disk in GB)", o.name, string(fv))
			} else {
				r.MinLimit = int64(f)
			}
		case "components":
			r.Components = decodeList(ix, s, o.base+"/components", o.name+".components", false, meta.MaxComponents, fv, decodeComponent)
		default:
			lk, ck := ix.keyPos(o.base + "/" + escapePointer(k))
			s.add(meta.SevWarning, lk, ck, "%s: unknown field %q ignored", o.name, k)
		}
	}
	if _, ok := o.fields["type"]; !ok {
		l, col := ix.pos(o.base)
		s.add(meta.SevError, l, col, "%s: type is required (one of %s)", o.name, strings.Join(meta.ResourceTypes, ", "))
	}
	return r
}

func decodeComponent(ix *jsonIndex, s *problemSink, o object) meta.ResourceComponent {
	var c meta.ResourceComponent
	targets := map[string]*string{"scheduleType": &c.ScheduleType, "resourceRequestParamRef": &c.ResourceRequestParamRef, "replicaCountParamRef": &c.ReplicaCountParamRef}
	for _, k := range stringFields(ix, s, o, targets) {
		target := targets[k]
		if len(*target) > meta.MaxParamRefLen {
			l, col := ix.pos(o.base + "/" + k)
			s.add(meta.SevError, l, col, "%s.%s is %d bytes, longer than the %d-byte limit", o.name, k, len(*target), meta.MaxParamRefLen)
			*target = ""
		}
	}
	l, col := ix.pos(o.base + "/scheduleType")
	switch _, ok := o.fields["scheduleType"]; {
	case !ok:
		l, col = ix.pos(o.base)
		s.add(meta.SevWarning, l, col, "%s: no scheduleType: the platform checks every node pool (one of %s)", o.name, strings.Join(meta.ScheduleTypes, ", "))
	case c.ScheduleType != "" && !contains(meta.ScheduleTypes, c.ScheduleType):
		s.add(meta.SevError, l, col, "%s.scheduleType %q is not one of %s", o.name, c.ScheduleType, strings.Join(meta.ScheduleTypes, ", "))
	}
	return c
}

// stringFields decodes the fields of object o whose known fields are
// strings (targets: field → destination), in key order: an unknown field
// is a warning, a value that is not a string an error (null leaves the
// destination empty), each naming o and placed at its JSON pointer. It
// returns the fields it decoded.
func stringFields(ix *jsonIndex, s *problemSink, o object, targets map[string]*string) []string {
	var decoded []string
	for _, k := range slices.Sorted(maps.Keys(o.fields)) {
		target, ok := targets[k]
		if !ok {
			l, col := ix.keyPos(o.base + "/" + escapePointer(k))
			s.add(meta.SevWarning, l, col, "%s: unknown field %q ignored", o.name, k)
			continue
		}
		if fv := o.fields[k]; json.Unmarshal(fv, target) != nil {
			l, col := ix.pos(o.base + "/" + k)
			s.add(meta.SevError, l, col, "%s.%s: expected a string, got %s", o.name, k, jsonKind(fv))
			continue
		}
		decoded = append(decoded, k)
	}
	return decoded
}

func checkDependency(ix *jsonIndex, s *problemSink, o object, d meta.Dependency) {
	at := func(k string) (int, int) { return ix.pos(o.base + "/" + k) }
	if d.PackName == "" {
		l, c := at("packName")
		s.add(meta.SevError, l, c, "%s: packName is required", o.name)
	} else if !meta.ValidName(d.PackName) {
		l, c := at("packName")
		s.add(meta.SevError, l, c, "%s.packName %q is not a valid pack name (lowercase letters, digits and '-', at most %d)", o.name, d.PackName, meta.MaxNameLen)
	}
	if d.Layer != "" && !d.Layer.Valid() {
		l, c := at("layer")
		s.add(meta.SevError, l, c, "%s.layer %q is not one of %s", o.name, d.Layer, layerList())
	}
	if _, ok := o.fields["type"]; !ok {
		l, c := ix.pos(o.base)
		s.add(meta.SevError, l, c, "%s: type is required (one of %s)", o.name, strings.Join(meta.DependencyTypes, ", "))
	} else if !contains(meta.DependencyTypes, d.Type) {
		l, c := at("type")
		s.add(meta.SevError, l, c, "%s.type %q is not one of %s", o.name, d.Type, strings.Join(meta.DependencyTypes, ", "))
	}
	var lo, hi *semver.Version
	var err error
	if d.MinVersion != "" {
		if lo, err = semver.NewVersion(d.MinVersion); err != nil {
			l, c := at("minVersion")
			s.add(meta.SevError, l, c, "%s.minVersion %q is not a semantic version: %v", o.name, d.MinVersion, err)
		}
	}
	if d.MaxVersion != "" {
		if hi, err = semver.NewVersion(d.MaxVersion); err != nil {
			l, c := at("maxVersion")
			s.add(meta.SevError, l, c, "%s.maxVersion %q is not a semantic version: %v", o.name, d.MaxVersion, err)
		}
	}
	if lo != nil && hi != nil && lo.GreaterThan(hi) {
		l, c := at("minVersion")
		s.add(meta.SevError, l, c, "%s: minVersion %s is greater than maxVersion %s, so no version of %s can satisfy it", o.name, d.MinVersion, d.MaxVersion, d.PackName)
	}
}

func checkManifest(ix *jsonIndex, s *problemSink, m *meta.Manifest, raw map[string]json.RawMessage) {
	at := func(k string) (int, int) { return ix.pos("/" + k) }
	has := func(k string) bool { _, ok := raw[k]; return ok }

	bounds := meta.Bounds(m.Version, m.DisplayName, m.AddonType, m.AddonSubType, m.Group, m.EOL, m.KubeVersion, m.CloudTypes, m.Annotations, m.Dependencies(),
		map[string][]string{"charts": m.Charts, "kubeManifests": m.KubeManifests, "ansibleRoles": m.AnsibleRoles})
	for _, b := range bounds {
		l, c := ix.pos(boundPointer(b.Field))
		s.add(meta.SevError, l, c, "%s: the registry index every client downloads holds it; shorten it (limits are in docs/FORMAT.md)", b)
	}

	checkRequired(ix, s, m, raw)

	if m.KubeVersion != "" && len(m.KubeVersion) <= meta.MaxVersionLen {
		if _, err := semver.NewConstraint(m.KubeVersion); err != nil {
			l, c := at("kubeVersion")
			s.add(meta.SevWarning, l, c, "kubeVersion %q is not a version constraint (e.g. \">= 1.27.0\"): %v", m.KubeVersion, err)
		}
	}

	if !has("displayName") {
		s.add(meta.SevWarning, 1, 1, "no displayName: catalogues will show the name %q", m.Name)
	}

	checkAddonType(ix, s, m, raw)
	checkLists(ix, s, m, raw)
	checkSystemState(ix, s, m)
}

// checkSystemState warns about annotations.system_state that retires
// nothing: a typo ("depricated") leaves an ordinary release, and a
// published release cannot be changed.
func checkSystemState(ix *jsonIndex, s *problemSink, m *meta.Manifest) {
	state, ok := m.Annotations[meta.SystemStateAnnotation]
	if !ok {
		return
	}
	n := strings.ToLower(strings.TrimSpace(state))
	if slices.Contains(meta.SystemStates, n) {
		return
	}
	hint := ""
	if near := nearname.Near(n, meta.SystemStates); len(near) == 1 {
		hint = fmt.Sprintf(" (did you mean %q?)", near[0])
	}
	known := make([]string, len(meta.SystemStates))
	for i, k := range meta.SystemStates {
		known[i] = strconv.Quote(k)
	}
	l, c := ix.pos("/annotations/" + escapePointer(meta.SystemStateAnnotation))
	s.add(meta.SevWarning, l, c, "annotation %q is %q%s: Palette and packgen know only %s (in any case); any other value retires nothing, and a published release cannot be changed", meta.SystemStateAnnotation, state, hint, strings.Join(known, " and "))
}

// checkRequired checks name, version and layer.
func checkRequired(ix *jsonIndex, s *problemSink, m *meta.Manifest, raw map[string]json.RawMessage) {
	at := func(k string) (int, int) { return ix.pos("/" + k) }
	has := func(k string) bool { _, ok := raw[k]; return ok }

	switch {
	case !has("name"):
		s.add(meta.SevError, 1, 1, "missing required field \"name\"")
	case jsonKind(raw["name"]) != "a string":
	case !meta.ValidName(m.Name):
		l, c := at("name")
		s.add(meta.SevError, l, c, "name %q is not a valid pack name: use lowercase letters, digits and '-', start and end with a letter or digit, at most %d characters", m.Name, meta.MaxNameLen)
	}

	switch {
	case !has("version"):
		s.add(meta.SevError, 1, 1, "missing required field \"version\"")
	case jsonKind(raw["version"]) != "a string":
	default:
		l, c := at("version")
		if _, err := semver.NewVersion(m.Version); err != nil {
			s.add(meta.SevError, l, c, "version %q is not a semantic version (%v): use MAJOR.MINOR.PATCH, e.g. 1.2.3", m.Version, err)
		} else if _, err := semver.StrictNewVersion(m.Version); err != nil {
			s.add(meta.SevWarning, l, c, "version %q is not strict semver; it is read as %s", m.Version, mustVersion(m.Version))
		}
	}

	switch {
	case !has("layer"):
		s.add(meta.SevError, 1, 1, "missing required field \"layer\" (one of %s)", layerList())
	case jsonKind(raw["layer"]) != "a string":
	case !m.Layer.Valid():
		l, c := at("layer")
		s.add(meta.SevError, l, c, "layer %q is not one of %s", m.Layer, layerList())
	}
}

// checkAddonType checks addonType, required for the addon layer.
func checkAddonType(ix *jsonIndex, s *problemSink, m *meta.Manifest, raw map[string]json.RawMessage) {
	at := func(k string) (int, int) { return ix.pos("/" + k) }
	has := func(k string) bool { _, ok := raw[k]; return ok }

	if m.Layer == meta.LayerAddon && jsonKind(raw["addonType"]) != "a string" && !has("addonType") {
		s.add(meta.SevError, 1, 1, "missing field \"addonType\": required when layer is \"addon\" (e.g. %q)", "monitoring")
	} else if m.Layer == meta.LayerAddon && has("addonType") && strings.TrimSpace(m.AddonType) == "" && jsonKind(raw["addonType"]) == "a string" {
		l, c := at("addonType")
		s.add(meta.SevError, l, c, "addonType is empty: required when layer is \"addon\" (e.g. %q)", "monitoring")
	} else if m.AddonType != "" && !contains(meta.KnownAddonTypes, strings.ToLower(m.AddonType)) {
		l, c := at("addonType")
		if near := nearAddonType(m.AddonType); near != "" {
			s.add(meta.SevWarning, l, c, "addonType %q is not a known type: did you mean %q?", m.AddonType, near)
		} else {
			s.add(meta.SevWarning, l, c, "addonType %q is not a known type (%s)", m.AddonType, strings.Join(meta.KnownAddonTypes, ", "))
		}
	}
}

// checkLists checks cloudTypes and the paths of charts, kubeManifests and
// ansibleRoles.
func checkLists(ix *jsonIndex, s *problemSink, m *meta.Manifest, raw map[string]json.RawMessage) {
	has := func(k string) bool { _, ok := raw[k]; return ok }

	if !has("cloudTypes") {
		s.add(meta.SevWarning, 1, 1, "no cloudTypes: consumers cannot tell which clouds this pack supports (use [\"all\"] for any)")
	}
	for i, ct := range m.CloudTypes {
		if !contains(meta.KnownCloudTypes, ct) {
			l, c := ix.pos(fmt.Sprintf("/cloudTypes/%d", i))
			s.add(meta.SevWarning, l, c, "cloudType %q is not a known cloud type (%s)", ct, strings.Join(meta.KnownCloudTypes, ", "))
		}
	}

	for _, list := range []struct {
		key   string
		paths []string
	}{{"charts", m.Charts}, {"kubeManifests", m.KubeManifests}, {"ansibleRoles", m.AnsibleRoles}} {
		for i, p := range list.paths {
			if msg := unsafeRelPath(p); msg != "" {
				l, c := ix.pos(fmt.Sprintf("/%s/%d", list.key, i))
				s.add(meta.SevError, l, c, "%s[%d] %q %s", list.key, i, p, msg)
			}
		}
	}
}

// nearAddonType returns the known addon type s means when it differs
// only in case, separators ('-', '_', spaces) or a plural, or "".
func nearAddonType(s string) string {
	norm := func(x string) string {
		x = strings.ToLower(strings.NewReplacer("-", " ", "_", " ").Replace(x))
		return strings.Join(strings.Fields(x), " ")
	}
	n := norm(s)
	for _, k := range meta.KnownAddonTypes {
		if kn := norm(k); kn == n || kn+"s" == n || strings.ReplaceAll(kn, " ", "") == strings.ReplaceAll(n, " ", "") {
			return k
		}
	}
	// A typo (monitorng): the one type within an edit or two.
	if near := nearname.Near(n, meta.KnownAddonTypes); len(near) == 1 {
		return near[0]
	}
	return ""
}

// unsafeRelPath explains why p cannot name a file inside a pack, or returns "".
func unsafeRelPath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.HasPrefix(p, "/") || (len(p) > 1 && p[1] == ':') || strings.HasPrefix(p, `\`):
		return "is absolute: paths must be relative to the pack directory"
	case strings.Contains(p, `\`):
		return "uses backslashes: use '/' as the separator"
	}
	clean := path.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "points outside the pack directory"
	}
	return ""
}

func mustVersion(s string) string {
	v, err := semver.NewVersion(s)
	if err != nil {
		return s
	}
	return v.String()
}

func layerList() string {
	var s []string
	for _, l := range meta.Layers {
		s = append(s, string(l))
	}
	return strings.Join(s, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
