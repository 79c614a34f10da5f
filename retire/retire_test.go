package retire

import (
	"errors"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
)

func TestPath(t *testing.T) {
	for in, want := range map[string]string{"": "retired.yaml", ".": "retired.yaml", "packs": "packs/retired.yaml", "./packs/": "packs/retired.yaml", "a/b": "a/b/retired.yaml"} {
		if got := Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // entries as name@version=state:reason, or the problems
	}{
		{"empty", "", ""},
		{"comment only", "# nothing retired\n", ""},
		{"one", "calico:\n  3.27.10:\n    state: deprecated\n    reason: CVE-1\n", "calico@3.27.10=deprecated:CVE-1"},
		{"case and short version", "calico:\n  \"3.27\": {state: Deleted, reason: \" broken upgrade \"}\n", "calico@3.27=deleted:broken upgrade"},
		{"bad state", "calico:\n  1.0.0: {state: gone, reason: x}\n", "retired.yaml:2:18: error: state \"gone\": want deprecated"},
		{"no reason", "calico:\n  1.0.0: {state: deleted}\n", "retired.yaml:2:3: error: calico@1.0.0: no reason"},
		{"unknown field", "calico:\n  1.0.0: {state: deleted, reason: x, by: me}\n", "retired.yaml:2:38: error: unknown field \"by\""},
		{"bad version", "calico:\n  latest: {state: deleted, reason: x}\n", "retired.yaml:2:3: error: calico@latest: \"latest\" is not a version"},
		{"twice", "calico:\n  1.0: {state: deleted, reason: x}\n  1.0.0: {state: deleted, reason: y}\n", "retired.yaml:3:3: error: calico@1.0.0 is retired twice"},
		{"key twice", "calico:\n  1.0.0: {state: deleted, reason: x}\ncalico: {}\n", "retired.yaml:3:1: error: the file: \"calico\" is given twice"},
		{"bad name", "Calico!:\n  1.0.0: {state: deleted, reason: x}\n", "retired.yaml:1:1: error: \"Calico!\" is not a pack name"},
		{"alias", "calico:\n  1.0.0: &r {state: deleted, reason: x}\n  1.0.1: *r\n", "anchors and aliases are not allowed"},
		{"not a mapping", "- calico\n", "retired.yaml:1:1: error: the file: want a mapping of pack names"},
		{"not YAML", "calico: [\n", "retired.yaml: error: not YAML"},
	} {
		l, ps := Parse(FileName, []byte(tc.in))
		var got []string
		for _, e := range l.Entries {
			got = append(got, e.Name+"@"+e.Version+"="+e.Retirement.State+":"+e.Retirement.Reason)
		}
		for _, p := range ps {
			got = append(got, p.String())
		}
		if s := strings.Join(got, "\n"); (tc.want == "" && s != "") || !strings.Contains(s, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, s, tc.want)
		}
	}
}

func TestApply(t *testing.T) {
	shards := []*index.Shard{{Name: "calico", Releases: []index.Release{
		{Version: "1.0.0", Retired: &index.Retirement{State: "deleted", Reason: "from the previous build"}},
		{Version: "1.1.0"},
	}}}
	l, ps := Parse("packs/retired.yaml", []byte("calico:\n  \"1.1\": {state: deprecated, reason: CVE-2}\n  1.2.0: {state: deleted, reason: typo}\n"))
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	ps = l.Apply(shards)
	if len(ps) != 1 || !strings.Contains(ps[0].String(), "packs/retired.yaml:3:3: error: calico@1.2.0 is not a release of this registry") {
		t.Errorf("unknown release: got %v", ps)
	}
	if err := Error(ps); !errors.Is(err, ErrFile) {
		t.Errorf("Error = %v, want ErrFile", err)
	}
	rs := shards[0].Releases
	if rs[0].Retired != nil {
		t.Errorf("1.0.0 is no longer in the file but stays retired: %+v", rs[0].Retired)
	}
	if rs[1].Retired == nil || *rs[1].Retired != (index.Retirement{State: "deprecated", Reason: "CVE-2"}) || !rs[1].Deprecated() {
		t.Errorf("1.1.0: %+v", rs[1].Retired)
	}
	// No file: nothing retired.
	var none *List
	rs[1].Retired = &index.Retirement{State: "deleted", Reason: "x"}
	if ps := none.Apply(shards); len(ps) != 0 || rs[1].Retired != nil {
		t.Errorf("nil list: %v, %+v", ps, rs[1].Retired)
	}
}

func TestStateOnly(t *testing.T) {
	base := `{"name": "a", "version": "1.0.0", "annotations": {"source": "community"}}`
	for _, tc := range []struct {
		name, old, new string
		want           bool
	}{
		{"added", base, `{"name": "a", "version": "1.0.0", "annotations": {"source": "community", "system_state": "deprecated"}}`, true},
		{"annotations added", `{"name": "a", "version": "1.0.0"}`, `{"name":"a","version":"1.0.0","annotations":{"system_state":"deleted"}}`, true},
		{"changed", `{"annotations": {"system_state": "deprecated"}}`, `{"annotations": {"system_state": "deleted"}}`, true},
		{"and another field", base, `{"name": "a", "version": "1.0.1", "annotations": {"source": "community", "system_state": "deprecated"}}`, false},
		{"another annotation", base, `{"name": "a", "version": "1.0.0", "annotations": {"source": "vendor"}}`, false},
		{"same", base, base, false},
		{"not JSON", base, `{`, false},
	} {
		if got := StateOnly([]byte(tc.old), []byte(tc.new)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestDiff: what a change does to the releases' retirements, as the PR
// check and the build's summary say it; Weakens marks those handed back
// to users (attackS F2).
func TestDiff(t *testing.T) {
	del := func(why string) index.Retirement { return index.Retirement{State: index.StateDeleted, Reason: why} }
	dep := func(why string) index.Retirement { return index.Retirement{State: index.StateDeprecated, Reason: why} }
	e := func(v string, r index.Retirement) Entry { return Entry{Name: "calico", Version: v, Retirement: r} }
	for _, tc := range []struct {
		name     string
		old, new []Entry
		want     []string
		weakens  []bool
	}{
		{"none", nil, nil, nil, nil},
		{"same, versions as written", []Entry{e("1.0", del("CVE"))}, []Entry{e("1.0.0", del("CVE"))}, nil, nil},
		{"retired", nil, []Entry{e("1.0.0", del("CVE"))}, []string{"calico@1.0.0 deleted (CVE)"}, []bool{false}},
		{"un-retired", []Entry{e("1.0.0", del("CVE"))}, nil, []string{"calico@1.0.0 un-retired (was deleted: CVE)"}, []bool{true}},
		{"deleted to deprecated", []Entry{e("1.0.0", del("CVE"))}, []Entry{e("1.0.0", dep("fixed"))}, []string{"calico@1.0.0 deleted -> deprecated (fixed; was: CVE)"}, []bool{true}},
		{"deprecated to deleted", []Entry{e("1.0.0", dep("slow"))}, []Entry{e("1.0.0", del("CVE"))}, []string{"calico@1.0.0 deprecated -> deleted (CVE; was: slow)"}, []bool{false}},
		{"reason", []Entry{e("1.0.0", dep("slow"))}, []Entry{e("1.0.0", dep("slower"))}, []string{"calico@1.0.0 deprecated, reason now: slower (was: slow)"}, []bool{false}},
		{"deprecated un-retired", []Entry{e("1.1.0", dep("slow")), e("1.0.0", del("CVE"))}, []Entry{e("1.0.0", del("CVE"))}, []string{"calico@1.1.0 un-retired (was deprecated: slow)"}, []bool{true}},
		{"semantic order", nil, []Entry{e("1.10.0", del("a")), e("1.9.0", del("b"))}, []string{"calico@1.9.0 deleted (b)", "calico@1.10.0 deleted (a)"}, []bool{false, false}},
	} {
		got := Diff(tc.old, tc.new)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i, c := range got {
			if c.String() != tc.want[i] || c.Weakens() != tc.weakens[i] {
				t.Errorf("%s: %q weakens=%v, want %q %v", tc.name, c, c.Weakens(), tc.want[i], tc.weakens[i])
			}
		}
	}
	// NoLive: a pack the file leaves with no live release; not one
	// shipped deleted in its own pack.json.
	d := del("CVE")
	shards := []*index.Shard{
		{Name: "a", Releases: []index.Release{{Version: "1.0.0", Retired: &d}, {Version: "2.0.0", Retired: &d}}},
		{Name: "b", Releases: []index.Release{{Version: "1.0.0", Retired: &d}, {Version: "2.0.0"}}},
		{Name: "c", Releases: []index.Release{{Version: "1.0.0", Annotations: map[string]string{index.SystemStateAnnotation: "deleted"}}}},
	}
	if got := NoLive(shards); len(got) != 1 || got[0] != "a" {
		t.Errorf("NoLive = %v, want [a]", got)
	}
	if got := Of(shards); len(got) != 3 || got[0].Name != "a" || got[2].Name != "b" {
		t.Errorf("Of = %+v", got)
	}
}
