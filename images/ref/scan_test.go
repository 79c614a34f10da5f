package ref

import (
	"fmt"
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // written line object field [maybe]
		err        string
	}{
		{"pod, every container list", `
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: i, image: "busybox:1"}]
  containers:
    - {name: a, image: nginx}
    - {name: b}
  ephemeralContainers: [{name: d, image: debug:2}]
`, []string{"busybox:1 5 Pod/p spec.initContainers[0].image", "nginx 7 Pod/p spec.containers[0].image", "debug:2 9 Pod/p spec.ephemeralContainers[0].image"}, ""},
		{"workloads", `
kind: DaemonSet
metadata: {name: d}
spec: {template: {spec: {containers: [{image: "a:1"}]}}}
---
kind: CronJob
metadata: {name: c}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{image: "b:1"}]}}}}}
---
kind: Job
metadata: {name: j}
spec: {template: {spec: {containers: [{image: "c:1"}]}}}
`, []string{"a:1 4 DaemonSet/d spec.template.spec.containers[0].image", "b:1 8 CronJob/c spec.jobTemplate.spec.template.spec.containers[0].image", "c:1 12 Job/j spec.template.spec.containers[0].image"}, ""},
		{"list items", `
kind: List
items:
  - kind: StatefulSet
    metadata: {name: s}
    spec: {template: {spec: {containers: [{image: "s:1"}]}}}
`, []string{"s:1 6 StatefulSet/s spec.template.spec.containers[0].image"}, ""},
		{"maybes: image values and repository+tag pairs", `
kind: ConfigMap
metadata: {name: m}
data:
  image: "quay.io/x/y:2"
  sidecar:
    registry: ghcr.io
    repository: acme/side
    tag: v1
  chart:
    repository: https://charts.example.com
    tag: "1"
  notimage: {image: {type: string}}
  templated: {image: "{{ x }}"}
  number: {image: 12}
`, []string{"quay.io/x/y:2 5 ConfigMap/m data.image maybe", "ghcr.io/acme/side:v1 8 ConfigMap/m data.sidecar.repository maybe"}, ""},
		{"a container image is not also a maybe", `
kind: Deployment
metadata: {name: d}
spec: {template: {spec: {containers: [{image: "a:1"}]}}}
`, []string{"a:1 4 Deployment/d spec.template.spec.containers[0].image"}, ""},
		{"unknown kind's pod-like spec is a maybe", `
kind: Rollout
metadata: {name: r}
spec: {template: {spec: {containers: [{image: "r:1"}]}}}
`, []string{"r:1 4 Rollout/r spec.template.spec.containers[0].image maybe"}, ""},
		{"empty documents", "---\n---\n", nil, ""},
		{"bad YAML", "kind: Pod\n  x: [\n", nil, "YAML: line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := Scan([]byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				s := fmt.Sprintf("%s %d %s %s", f.Written, f.Line, f.Object, f.Field)
				if f.Maybe {
					s += " maybe"
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// FuzzScan: rendered manifests are outside input; scanning them must
// never panic or hang, whatever they hold.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"kind: Pod\nspec: {containers: [{image: nginx}]}\n",
		"kind: List\nitems: [{kind: List, items: [{kind: Pod}]}]\n",
		"a: &x {image: b}\nc: *x\n",
		"kind: CronJob\nspec: {jobTemplate: {spec: {template: {spec: {initContainers: [{image: 1}]}}}}}\n",
		"x: {repository: r, tag: t, registry: g}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, _ := Scan(b)
		for _, x := range fs {
			if x.Written == "" {
				t.Fatalf("empty reference found in %q", b)
			}
		}
	})
}
