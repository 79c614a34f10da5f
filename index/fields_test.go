package index

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/pack/meta"
)

func fullRelease() Release {
	return Release{
		Version: "v2.1", Layer: "addon", DisplayName: "Agent", AddonType: "monitoring", AddonSubType: "metrics",
		CloudTypes: []string{"vsphere", "aws"}, Group: "Monitoring", EOL: "2027-01-31", KubeVersion: ">= 1.27.0",
		Charts: []string{"charts/agent-2.1.0.tgz"}, KubeManifests: []string{"manifests/b.yaml", "manifests/a.yaml"},
		AnsibleRoles: []string{"roles/harden"},
		Dependencies: []meta.Dependency{{PackName: "kubernetes", Layer: "k8s", MinVersion: "1.27", Type: "required"}},
		Resources: []meta.Resource{{Type: "cpu", MinLimit: 2000, Components: []meta.ResourceComponent{{ScheduleType: "all", ResourceRequestParamRef: "requests.cpu", ReplicaCountParamRef: "replicas"}}},
			{Type: "diskSize", MinLimit: 10}},
		Annotations: map[string]string{"system_state": "deprecated", "source": "community"},
		Archive:     FileRef{Path: "packs/agent/v2.1/agent-v2.1.tar.gz", SHA256: strings.Repeat("a", 64), Size: 10},
		Commit:      strings.Repeat("c", 40), Tree: strings.Repeat("d", 40), Created: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Dir: "packs/agent-v2.1",
	}
}

// Every documented pack.json field survives the shard: encoded
// canonically (lists in the order written, maps sorted), parsed back
// equal, and the same bytes every time.
func TestShardKeepsEveryField(t *testing.T) {
	s := &Shard{SchemaVersion: 1, Name: "agent", Releases: []Release{fullRelease()}}
	a, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"addonSubType":"metrics"`, `"group":"Monitoring"`, `"eol":"2027-01-31"`, `"kubeVersion":">= 1.27.0"`,
		`"charts":["charts/agent-2.1.0.tgz"]`, `"kubeManifests":["manifests/b.yaml","manifests/a.yaml"]`, `"ansibleRoles":["roles/harden"]`,
		`"resources":[{"components":[{"replicaCountParamRef":"replicas","resourceRequestParamRef":"requests.cpu","scheduleType":"all"}],"minLimit":2000,"type":"cpu"},{"minLimit":10,"type":"diskSize"}]`,
		`"annotations":{"source":"community","system_state":"deprecated"}`} {
		if !strings.Contains(string(a), want) {
			t.Errorf("shard lacks %s:\n%s", want, a)
		}
	}
	got, err := ParseShard(a, "agent")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Releases[0], s.Releases[0]) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got.Releases[0], s.Releases[0])
	}
	b, _ := Encode(got)
	if string(a) != string(b) {
		t.Errorf("not canonical:\n%s\n%s", a, b)
	}
	// A release without the new fields encodes as it did before them.
	old, _ := Encode(Release{Version: "1.0.0", Layer: "cni", Archive: fullRelease().Archive, Commit: "c", Tree: "t"})
	for _, k := range []string{"group", "eol", "charts", "kubeManifests", "resources", "kubeVersion", "ansibleRoles", "addonSubType"} {
		if strings.Contains(string(old), `"`+k+`"`) {
			t.Errorf("empty %s encoded: %s", k, old)
		}
	}
}

// A shard or bucket holding a field over pack.json's bounds is refused:
// a hostile or broken build must not make every client download it.
func TestParseRefusesOversizeFields(t *testing.T) {
	for name, mod := range map[string]func(r *Release){
		"900 KB displayName": func(r *Release) { r.DisplayName = strings.Repeat("x", 900<<10) },
		"long addonType":     func(r *Release) { r.AddonType = strings.Repeat("x", 65) },
		"long annotation":    func(r *Release) { r.Annotations["k"] = strings.Repeat("x", 5000) },
		"long cloudType":     func(r *Release) { r.CloudTypes = append(r.CloudTypes, strings.Repeat("x", 65)) },
		"many cloudTypes":    func(r *Release) { r.CloudTypes = make([]string, 257) },
		"long dependency":    func(r *Release) { r.Dependencies[0].MaxVersion = strings.Repeat("9", 129) },
		"long chart path":    func(r *Release) { r.Charts = []string{strings.Repeat("c/", 600)} },
		"long param ref":     func(r *Release) { r.Resources[0].Components[0].ResourceRequestParamRef = strings.Repeat("r", 257) },
		"long layer":         func(r *Release) { r.Layer = strings.Repeat("l", 65) },
	} {
		t.Run(name, func(t *testing.T) {
			r := fullRelease()
			mod(&r)
			data, err := Encode(&Shard{SchemaVersion: 1, Name: "agent", Releases: []Release{r}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseShard(data, "agent")
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "limit") && !strings.Contains(err.Error(), "more than") {
				t.Fatalf("got %v", err)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error echoes the field: %d bytes", len(err.Error()))
			}
		})
	}
	t.Run("bucket summary", func(t *testing.T) {
		sum := Summary{Name: "agent", Layer: "addon", DisplayName: strings.Repeat("x", 900<<10), Latest: "1.0.0", Versions: 1,
			Shard: FileRef{Path: "packs/agent/shards/" + strings.Repeat("a", 64) + ".json", SHA256: strings.Repeat("a", 64), Size: 1}}
		data, err := Encode(Bucket{SchemaVersion: 1, Packs: []Summary{sum}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseNode(data, 0, 1, 1, 0)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "displayName is 921600 bytes, longer than the 256-byte limit") {
			t.Fatalf("got %v", err)
		}
		sum.DisplayName = "Agent"
		data, _ = Encode(Bucket{SchemaVersion: 1, Packs: []Summary{sum}})
		if _, err := ParseNode(data, 0, 1, 1, 0); err != nil {
			t.Fatalf("in-bounds summary refused: %v", err)
		}
		// latestState: a state the build writes, or none.
		for _, c := range []struct{ state, err string }{
			{StateDeprecated, ""}, {StateDeleted, ""},
			{"Deprecated", `latestState "Deprecated": want "deprecated", "deleted" or none`},
			{"active", `latestState "active": want`},
			{strings.Repeat("x", 900<<10), "latestState of 921600 bytes: want"},
		} {
			sum.LatestState = c.state
			data, _ = Encode(Bucket{SchemaVersion: 1, Packs: []Summary{sum}})
			_, err := ParseNode(data, 0, 1, 1, 0)
			if c.err == "" && err != nil || c.err != "" && (!errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.err) || len(err.Error()) > 1000) {
				t.Errorf("latestState %.20q: got %.1000v, want %q", c.state, err, c.err)
			}
		}
	})
}

func TestLatestSkipsDeleted(t *testing.T) {
	del := map[string]string{SystemStateAnnotation: "deleted"}
	s := &Shard{SchemaVersion: 1, Name: "p", Releases: []Release{{Version: "1.0.0"}, {Version: "1.1.0", Annotations: map[string]string{SystemStateAnnotation: "deprecated"}}, {Version: "20.09.0", Annotations: del}}}
	if got := s.Latest().Version; got != "1.1.0" {
		t.Errorf("latest %s, want 1.1.0 (20.09.0 is deleted, 1.1.0 only deprecated)", got)
	}
	s = &Shard{SchemaVersion: 1, Name: "p", Releases: []Release{{Version: "1.0.0", Annotations: del}, {Version: "2.0.0", Annotations: del}}}
	if got := s.Latest().Version; got != "2.0.0" {
		t.Errorf("all deleted: latest %s, want 2.0.0", got)
	}
}

// TestSummaryLatestState: the bucket summary names the latest's state
// when it is retired (by pack.json or the retirement file), none when
// it is active or its system_state is one nothing retires by; so does
// its RetiredState, with why.
func TestSummaryLatestState(t *testing.T) {
	ann := func(st string) map[string]string { return map[string]string{SystemStateAnnotation: st} }
	for _, c := range []struct {
		name     string
		releases []Release
		latest   string
		state    string
		why      string // the latest's RetiredState
	}{
		{"active", []Release{{Version: "1.0.0"}, {Version: "1.1.0"}}, "1.1.0", "", ""},
		{"deprecated by pack.json", []Release{{Version: "1.0.0"}, {Version: "1.1.0", Annotations: ann("Deprecated")}}, "1.1.0", StateDeprecated, "annotations.system_state"},
		{"deprecated by the file", []Release{{Version: "1.0.0"}, {Version: "1.1.0", Retired: &Retirement{State: StateDeprecated, Reason: "r"}}}, "1.1.0", StateDeprecated, "retired: r"},
		{"newest deleted: the next", []Release{{Version: "1.0.0"}, {Version: "1.1.0", Retired: &Retirement{State: StateDeleted, Reason: "r"}}}, "1.0.0", "", ""},
		{"every one deleted", []Release{{Version: "1.0.0", Annotations: ann("deleted")}, {Version: "1.1.0", Retired: &Retirement{State: StateDeleted, Reason: "r"}}}, "1.1.0", StateDeleted, "retired: r"},
		{"the file wins", []Release{{Version: "1.0.0"}, {Version: "1.1.0", Annotations: ann("deprecated"), Retired: &Retirement{State: StateDeleted, Reason: "r"}}}, "1.0.0", "", ""},
		{"unknown state", []Release{{Version: "1.0.0", Annotations: ann("depricated")}}, "1.0.0", "", ""},
	} {
		s := &Shard{SchemaVersion: 1, Name: "p", Releases: c.releases}
		if got := SummaryOf(s, FileRef{}); got.Latest != c.latest || got.LatestState != c.state {
			t.Errorf("%s: summary latest %s/%q, want %s/%q", c.name, got.Latest, got.LatestState, c.latest, c.state)
		}
		if got := Summarize(Summary{Name: "p", LatestState: "stale"}, s); got.Latest != c.latest || got.LatestState != c.state {
			t.Errorf("%s: air-gapped summary latest %s/%q, want %s/%q", c.name, got.Latest, got.LatestState, c.latest, c.state)
		}
		if st, why := s.Latest().RetiredState(); st != c.state || why != c.why {
			t.Errorf("%s: RetiredState = %q, %q; want %q, %q", c.name, st, why, c.state, c.why)
		}
	}
}
