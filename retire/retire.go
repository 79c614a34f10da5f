// Package retire reads the repository's retirement file: the releases
// retired after they shipped (a CVE, a broken upgrade), committed and
// reviewed like the packs, outside the releases' immutable pack.json.
//
//	# PACKS_DIR/retired.yaml
//	calico:
//	  3.27.10:
//	    state: deprecated   # or deleted
//	    reason: CVE-2026-0001 in the node agent; use 3.27.11
//
// The build applies it, read at the commit it builds, to the signed
// index (index.Release.Retired): archives and the transparency log are
// untouched. Removing an entry makes the release what its pack.json says
// again. The rebuild check and validate read the same file through here.
package retire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack/meta"
	"gopkg.in/yaml.v3"
)

// FileName is the retirement file's name, in the packs directory.
const FileName = "retired.yaml"

// MaxFileSize bounds the file: a line or three per retired release.
const MaxFileSize = 1 << 20

// ErrFile marks a retirement file that does not parse, or names a
// release the registry does not have.
var ErrFile = errors.New("invalid retirement file")

// Path is the retirement file of packsDir ("" or "." is the repository's
// root), slash-separated from the repository's root.
func Path(packsDir string) string {
	d := strings.Trim(path.Clean("/"+packsDir), "/")
	if d == "" {
		return FileName
	}
	return d + "/" + FileName
}

// Entry is one retired release, where the file says it.
type Entry struct {
	Name, Version string
	Retirement    index.Retirement
	Line, Col     int
}

// List is a parsed retirement file.
type List struct {
	File    string // its path, for messages
	Entries []Entry
}

// Parse reads the retirement file at file (its path, for messages). An
// empty file retires nothing. Problems are errors at file:line:col.
func Parse(file string, data []byte) (*List, meta.Problems) {
	l := &List{File: file}
	var ps meta.Problems
	bad := func(n *yaml.Node, format string, a ...any) {
		ps = append(ps, meta.Problem{File: file, Line: n.Line, Col: n.Column, Severity: meta.SevError, Msg: fmt.Sprintf(format, a...)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return l, meta.Problems{{File: file, Severity: meta.SevError, Msg: "not YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return l, nil
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return l, nil
	}
	seen := map[string]bool{}
	for _, name := range pairs(top, "the file", "pack names", bad) {
		if !meta.ValidName(name.k.Value) {
			bad(name.k, "%q is not a pack name", name.k.Value)
			continue
		}
		for _, ver := range pairs(name.v, "pack "+name.k.Value, "versions", bad) {
			v := ver.k.Value
			if _, err := semver.NewVersion(v); err != nil {
				bad(ver.k, "%s@%s: %q is not a version", name.k.Value, v, v)
				continue
			}
			id := meta.ReleaseID(name.k.Value, v)
			if seen[id] {
				bad(ver.k, "%s is retired twice: keep one entry", id)
				continue
			}
			seen[id] = true
			e := Entry{Name: name.k.Value, Version: v, Line: ver.k.Line, Col: ver.k.Column}
			// has: the fields given; ok: all given were valid.
			has, ok := map[string]bool{}, true
			for _, f := range pairs(ver.v, name.k.Value+"@"+v, "state and reason", bad) {
				has[f.k.Value] = true
				if f.v.Kind != yaml.ScalarNode {
					bad(f.v, "%s: want text", f.k.Value)
					ok = false
					continue
				}
				switch f.k.Value {
				case "state":
					s := strings.ToLower(strings.TrimSpace(f.v.Value))
					if !index.Retires(s) {
						bad(f.v, "state %q: want %s (still offered, with a warning) or %s (no range resolves to it; fetched only by its exact version)", f.v.Value, index.StateDeprecated, index.StateDeleted)
						ok = false
					}
					e.Retirement.State = s
				case "reason":
					r := strings.TrimSpace(f.v.Value)
					if r == "" || len(r) > index.MaxReasonLen {
						bad(f.v, "reason: want 1 to %d bytes saying why (users read it when they fetch the release)", index.MaxReasonLen)
						ok = false
					}
					e.Retirement.Reason = r
				default:
					bad(f.k, "unknown field %q: want state and reason", f.k.Value)
					ok = false
				}
			}
			if ver.v.Kind != yaml.MappingNode {
				continue
			}
			for _, f := range []string{"state", "reason"} {
				if !has[f] {
					bad(ver.k, "%s@%s: no %s (want state: deprecated|deleted and reason: why)", name.k.Value, v, f)
					ok = false
				}
			}
			if ok {
				l.Entries = append(l.Entries, e)
			}
		}
	}
	ps.Sort()
	return l, ps
}

type pair struct{ k, v *yaml.Node }

// pairs are the entries of mapping n, each key a plain scalar given once;
// anchors, aliases and merge keys are refused, so what a reviewer reads
// is what applies.
func pairs(n *yaml.Node, what, keys string, bad func(*yaml.Node, string, ...any)) []pair {
	if n.Kind != yaml.MappingNode {
		bad(n, "%s: want a mapping of %s", what, keys)
		return nil
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || k.Tag == "!!merge":
			bad(k, "%s: want %s as plain keys", what, keys)
		case k.Anchor != "" || v.Anchor != "" || v.Kind == yaml.AliasNode:
			bad(k, "%s: anchors and aliases are not allowed: write each entry out", what)
		case seen[k.Value]:
			bad(k, "%s: %q is given twice", what, k.Value)
		default:
			seen[k.Value] = true
			out = append(out, pair{k, v})
		}
	}
	return out
}

// Apply sets every release's Retired from the list: the entry's
// retirement, or none (a release the file no longer names is active
// again, or what its pack.json says). An entry naming a release no shard
// holds is an error at its line (Unknown). shards are the registry's
// every pack.
func (l *List) Apply(shards []*index.Shard) meta.Problems {
	at := map[string]*index.Release{}
	for _, s := range shards {
		for i := range s.Releases {
			s.Releases[i].Retired = nil
			at[meta.ReleaseID(s.Name, s.Releases[i].Version)] = &s.Releases[i]
		}
	}
	if l == nil {
		return nil
	}
	for _, e := range l.Entries {
		if r := at[meta.ReleaseID(e.Name, e.Version)]; r != nil {
			t := e.Retirement
			r.Retired = &t
		}
	}
	return l.Unknown(func(id string) bool { return at[id] != nil })
}

// Unknown is an error at each entry naming a release that is not one
// (has says which are, by meta.ReleaseID): the build refuses such a
// file, and plain validate checks it against the releases it can see.
func (l *List) Unknown(has func(id string) bool) meta.Problems {
	if l == nil {
		return nil
	}
	var ps meta.Problems
	for _, e := range l.Entries {
		if !has(meta.ReleaseID(e.Name, e.Version)) {
			ps = append(ps, meta.Problem{File: l.File, Line: e.Line, Col: e.Col, Severity: meta.SevError,
				Msg: fmt.Sprintf("%s@%s is not a release of this registry: name a published version (packgen info %s lists them), or remove the entry", e.Name, e.Version, e.Name)})
		}
	}
	return ps
}

// Error is a retirement file's problems as one error (ErrFile).
func Error(ps meta.Problems) error {
	if !ps.HasErrors() {
		return nil
	}
	return fmt.Errorf("%w:\n%s", ErrFile, ps.Errors().Error())
}

// StateOnly reports whether two pack.json contents differ only in
// annotations.system_state: an attempt to retire a published release by
// editing its immutable pack.json, which the retirement file is for.
func StateOnly(old, new []byte) bool {
	strip := func(data []byte) (map[string]any, bool) {
		var m map[string]any
		if json.Unmarshal(data, &m) != nil || m == nil {
			return nil, false
		}
		if a, ok := m["annotations"].(map[string]any); ok {
			delete(a, index.SystemStateAnnotation)
			if len(a) == 0 {
				delete(m, "annotations")
			}
		}
		return m, true
	}
	o, ok1 := strip(old)
	n, ok2 := strip(new)
	return ok1 && ok2 && !bytes.Equal(old, new) && reflect.DeepEqual(o, n)
}

// Hint is what to do instead of editing a published release's
// system_state: the sentence the build's and the PR check's
// immutability errors end with.
func Hint(packsDir, name, version string) string {
	return fmt.Sprintf("to deprecate or delete a published release, leave its pack.json as published and add it to %s (%s: {%s: {state: deprecated, reason: why}}; see docs/FORMAT.md#retiring-a-release)", Path(packsDir), name, version)
}

// Change is a release whose retirement differs between two words on it:
// base's retirement file and the change's (validate --changed-since), or
// the previous build's index and this one's (the build's summary). Old
// or New is nil where the release is not retired.
type Change struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Old     *index.Retirement `json:"old"`
	New     *index.Retirement `json:"new"`
	// Line and Col are New's entry in the file, when Diff had one.
	Line int `json:"-"`
	Col  int `json:"-"`
}

// Weakens reports whether the change hands the release back to users:
// un-retired, or deleted made deprecated (ranges resolve to it again).
// A reviewer must see that: it is how a CVE'd release comes back.
func (c Change) Weakens() bool {
	return c.Old != nil && (c.New == nil || (c.Old.State == index.StateDeleted && c.New.State != index.StateDeleted))
}

// String says the change in a few words, for a summary or a warning:
// "calico@3.27.3 deleted (REASON)", "calico@3.27.3 un-retired (was
// deleted: REASON)", "calico@3.27.3 deleted -> deprecated (REASON; was:
// REASON)". The reasons are the file's text: escape it for a terminal.
func (c Change) String() string {
	id := c.Name + "@" + c.Version
	switch {
	case c.Old == nil:
		return fmt.Sprintf("%s %s (%s)", id, c.New.State, c.New.Reason)
	case c.New == nil:
		return fmt.Sprintf("%s un-retired (was %s: %s)", id, c.Old.State, c.Old.Reason)
	case c.Old.State != c.New.State:
		return fmt.Sprintf("%s %s -> %s (%s; was: %s)", id, c.Old.State, c.New.State, c.New.Reason, c.Old.Reason)
	}
	return fmt.Sprintf("%s %s, reason now: %s (was: %s)", id, c.New.State, c.New.Reason, c.Old.Reason)
}

// Diff lists the releases whose retirement differs from old to new,
// sorted by name and version (semantic order: 1.9 before 1.10);
// releases are matched as the
// build keys them (meta.ReleaseID: "3.27" is 3.27.0).
func Diff(old, new []Entry) []Change {
	type pair struct {
		name, version string
		old, new      *Entry
	}
	by := map[string]*pair{}
	var ids []string
	at := func(e Entry) *pair {
		id := meta.ReleaseID(e.Name, e.Version)
		if by[id] == nil {
			by[id] = &pair{name: e.Name, version: e.Version}
			ids = append(ids, id)
		}
		return by[id]
	}
	for i := range old {
		at(old[i]).old = &old[i]
	}
	for i := range new {
		p := at(new[i])
		p.new, p.version = &new[i], new[i].Version
	}
	var out []Change
	for _, id := range ids {
		p := by[id]
		c := Change{Name: p.name, Version: p.version}
		if p.old != nil {
			t := p.old.Retirement
			c.Old = &t
		}
		if p.new != nil {
			t := p.new.Retirement
			c.New, c.Line, c.Col = &t, p.new.Line, p.new.Col
		}
		if c.Old == nil || c.New == nil || *c.Old != *c.New {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return versionLess(out[i].Version, out[j].Version)
	})
	return out
}

// versionLess orders versions semantically, as written where one does
// not parse (validation has refused those already).
func versionLess(a, b string) bool {
	va, ea := semver.NewVersion(a)
	vb, eb := semver.NewVersion(b)
	if ea != nil || eb != nil {
		return a < b
	}
	return va.LessThan(vb)
}

// Of lists the retired releases of shards as entries (no line), for Diff
// between two indexes.
func Of(shards []*index.Shard) []Entry {
	var out []Entry
	for _, s := range shards {
		for _, r := range s.Releases {
			if r.Retired != nil {
				out = append(out, Entry{Name: s.Name, Version: r.Version, Retirement: *r.Retired})
			}
		}
	}
	return out
}

// NoLive names the packs of shards whose every release is deleted: the
// catalogue hides them and no range resolves in them. The build warns
// when the retirement file did it (a pack whose releases say deleted in
// their own pack.json was shipped so).
func NoLive(shards []*index.Shard) []string {
	var out []string
	for _, s := range shards {
		byFile := false
		live := len(s.Releases) == 0
		for _, r := range s.Releases {
			live = live || !r.Deleted()
			byFile = byFile || (r.Retired != nil && r.Retired.State == index.StateDeleted)
		}
		if !live && byFile {
			out = append(out, s.Name)
		}
	}
	return out
}
