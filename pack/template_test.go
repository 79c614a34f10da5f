package pack

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/packgen/packgen/pack/meta"
)

// The vendor's sample pack (hello-universe): a manifest reading its
// section of values.yaml, refused as invalid YAML before templates were
// rendered.
const helloUniverseValues = `# Copyright (c) Spectro Cloud
pack:
  namespace: "hello-universe"

manifests:
  hello-universe:
    registry: ghcr.io
    repository: spectrocloud/hello-universe
    tag: 1.2.0
`

const helloUniverseManifest = `apiVersion: v1
kind: Service
metadata:
  name: hello-universe-service
spec:
  type: LoadBalancer
  selector:
    app: hello-universe
  ports:
  - protocol: TCP
    port: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello-universe-deployment
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: hello-universe
        image: {{ .Values.registry }}/{{ .Values.repository }}:{{ .Values.tag }}
`

// A manifest as real packs write them: sprig functions, toYaml | nindent,
// if/range/with, Palette macros, keys values.yaml does not set.
const sprigValues = `pack:
  namespace: monitoring
manifests:
  agent:
    replicas: 3
    image:
      repository: registry.example.com/agent
    resources:
      limits:
        cpu: 500m
        memory: 256Mi
    tolerations:
      - key: node-role.kubernetes.io/control-plane
        effect: NoSchedule
    extraEnv:
      - name: LOG_LEVEL
        value: debug
      - name: REGION
        value: eu-west-1
    ingress:
      enabled: true
      hosts: [a.example.com, b.example.com]
`

const sprigManifest = `{{- $ns := .Values.namespace | default "monitoring" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: agent
  namespace: {{ $ns | quote }}
  labels:
    cluster: {{ .spectro.system.cluster.name | quote }}
    k8s: {{ .spectro.pack.kubernetes.version | default "1.29.0" | quote }}
    tier: {{ .Values.tier | default "backend" }}
spec:
  replicas: {{ .Values.replicas | default 1 }}
  template:
    spec:
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: agent
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default "latest" }}"
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          env:
            {{- range .Values.extraEnv }}
            - name: {{ .name }}
              value: {{ .value | quote }}
            {{- end }}
            - name: CLUSTER_UID
              value: "{{ .spectro.system.cluster.uid }}"
            - name: UNSET
              value: "{{ .Values.notInValues.deeper.still }}"
{{- if .Values.ingress.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: agent
spec:
  rules:
  {{- range $i, $h := .Values.ingress.hosts }}
    - host: {{ $h }}
  {{- end }}
{{- end }}
{{- if .Values.serviceMonitor.enabled }}
---
this would not parse: [
{{- end }}
`

func templatedFS(manifests map[string]string, values string) fstest.MapFS {
	m := baseFS()
	m["values.yaml"] = &fstest.MapFile{Data: []byte(values)}
	for name, body := range manifests {
		m["manifests/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func TestTemplatedManifestsAccepted(t *testing.T) {
	cases := map[string]fstest.MapFS{
		"vendor sample pack": templatedFS(map[string]string{"hello-universe.yaml": helloUniverseManifest}, helloUniverseValues),
		"sprig functions":    templatedFS(map[string]string{"agent.yaml": sprigManifest}, sprigValues),
		"values keyed with extension": templatedFS(map[string]string{"agent.yml": sprigManifest},
			strings.Replace(sprigValues, "  agent:\n", "  agent.yml:\n", 1)),
		"no values for the manifest": templatedFS(map[string]string{"agent.yaml": sprigManifest}, "pack:\n  namespace: x\n"),
		"listed in kubeManifests outside manifests/": func() fstest.MapFS {
			m := templatedFS(nil, sprigValues)
			m["pack.json"].Data = []byte(withField(`  "kubeManifests": ["deploy/agent.yaml"],`))
			m["deploy/agent.yaml"] = &fstest.MapFile{Data: []byte(sprigManifest)}
			return m
		}(),
		"unquoted macro in values.yaml": templatedFS(map[string]string{"hello-universe.yaml": helloUniverseManifest},
			strings.Replace(helloUniverseValues, "  namespace: \"hello-universe\"\n", "  namespace: \"hello-universe\"\n  cluster: {{ .spectro.system.cluster.name }}\n", 1)),
		"values with anchors and merge keys": templatedFS(map[string]string{"hello-universe.yaml": helloUniverseManifest},
			"defaults: &d\n  registry: ghcr.io\n  repository: spectrocloud/hello-universe\nmanifests:\n  hello-universe:\n    <<: *d\n    tag: 1.2.0\n"),
		"define and include": templatedFS(map[string]string{"cm.yaml": `{{- define "labels" -}}
app: {{ .name }}
{{- end -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: x
  labels:
    {{- include "labels" (dict "name" "x") | nindent 4 }}
data:
  user: {{ .spectro.system.user.name | upper | quote }}
  env: {{ env "HOME" | quote }}
`}, "manifests: {}\n"),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			_, ps := Load(m, ".", Options{})
			if ps.HasErrors() {
				t.Fatalf("rejected: %s", ps.Error())
			}
		})
	}
}

func TestRenderManifestOutput(t *testing.T) {
	values := map[string]any{}
	vals, _ := parseYAML([]byte(sprigValues))
	if err := docRoot(vals[0]).Decode(&values); err != nil {
		t.Fatal(err)
	}
	r, err := renderManifest("manifests/agent.yaml", []byte(sprigManifest), values, newRenderBudget(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
	if got := strings.Join(r.Missing, " "); got != ".Values.image.tag .Values.namespace .Values.notInValues.deeper.still .Values.serviceMonitor.enabled .Values.tier" {
		t.Errorf("missing values: %s", got)
	}
	s := string(r.Out)
	for _, want := range []string{
		`namespace: "monitoring"`,
		`cluster: "spectro.system.cluster.name"`,
		`k8s: "spectro.pack.kubernetes.version"`,
		"tier: backend",
		"replicas: 3",
		`image: "registry.example.com/agent:latest"`,
		"        - effect: NoSchedule\n          key: node-role.kubernetes.io/control-plane",
		"            limits:\n              cpu: 500m",
		"            - name: REGION\n              value: \"eu-west-1\"",
		`value: ""`,
		"    - host: b.example.com",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "<no value>") || strings.Contains(s, "would not parse") {
		t.Errorf("rendered output:\n%s", s)
	}
}

func TestTemplatedManifestErrors(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		values   string
		line     int // -1: any
		msg      string
	}{
		{"parse error has its line", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ .Values.a \n", "", 4, "template error: unclosed action started at line 4"},
		{"unknown function", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ frobnicate .Values.a }}\n", "", 4, `template error: function "frobnicate" not defined`},
		{"exec error has its line", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: x\n  b: {{ fail \"no\" }}\n", "", 5, "template error: "},
		{"yaml error in rendered output points at its template line", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\ndata:\n  bad: [1, 2\n", "manifests:\n  m:\n    name: x\n", 6, "invalid YAML"},
		{"a value that needs quoting: the action's line and the hint", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\ndata:\n  x: {{ .Values.lbl }}\n", "manifests:\n  m:\n    name: x\n    lbl: \"a: b\"\n", 6,
			`(line 6 of the rendered manifest: "x: a: b"); {{ .Values.lbl }} printed a value YAML does not read as a string: write {{ .Values.lbl | quote }} (or {{ .Values.lbl | toYaml }} for a list or map)`},
		{"a comment cut from a value", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ .Values.a }}\n  a: b\n", "manifests:\n  m:\n    a: \"x #y\"\n", 7, `duplicate key "a"`},
		{"values missing for an image line", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n    - name: x\n      image: {{ .Values.registry }}/{{ .Values.repository }}:{{ .Values.tag }}\n", "", 8,
			`(line 8 of the rendered manifest: "image: /:"); it renders with nothing for .Values.registry, .Values.repository, .Values.tag, which values.yaml manifests.m does not set: give defaults there`},
		{"duplicate key stays an error", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name | quote }}\n  name: other\n", "manifests:\n  m:\n    name: x\n", 5, `duplicate key "name"`},
		{"duplicate key made by a loop", "apiVersion: v1\nkind: ConfigMap\ndata:\n{{- range .Values.keys }}\n  k: {{ . }}\n{{- end }}\n", "manifests:\n  m:\n    keys: [a, b]\n", 5, `duplicate key "k" (first defined at line 4 of the rendered manifest): only one value can win (line 5 of the rendered manifest: "k: b")`},
		{"rendered document without kind", "apiVersion: v1\n{{- if .Values.on }}\nkind: ConfigMap\n{{- end }}\nmetadata:\n  name: x\n", "manifests:\n  m:\n    on: false\n", 1, "document 1 has no kind"},
		{"repeat bomb", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ repeat 2000000000 \"xxxxxxxx\" }}\n", "", 4, "repeat"},
		{"until bomb", "apiVersion: v1\nkind: ConfigMap\ndata:\n{{- range until 1000000000 }}\n  a: b\n{{- end }}\n", "", 4, "until"},
		{"indent bomb", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ \"x\" | indent 1000000000 }}\n", "", 4, "indent width"},
		{"include recursion", "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ include \"r\" . }}\n", "", 4, `template error: at <include "r" .>: include "r" nests deeper than 1000`},
		{"empty range over a billion", "apiVersion: v1\nkind: ConfigMap\ndata:\n{{- range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}\n  a: b\n", "", 4, "template error: rendering the pack's templates takes more than 100000 steps"},
		{"assignment-only loop over values", "{{- $x := 0 }}{{ range .Values.l }}{{ range $.Values.l }}{{ range $.Values.l }}{{ $x = . }}{{ end }}{{ end }}{{ end }}apiVersion: v1\nkind: ConfigMap\n", "manifests:\n  m:\n    l: [" + strings.Repeat("1,", 999) + "1]\n", -1, "rendering the pack's templates takes more than 100000 steps"},
		{"exponential templates", `{{ define "a" }}{{ template "b" . }}{{ template "b" . }}{{ end }}{{ define "b" }}{{ template "c" . }}{{ template "c" . }}{{ end }}{{ define "c" }}{{ template "d" . }}{{ template "d" . }}{{ end }}{{ define "d" }}{{ range 100000 }}{{ end }}{{ end }}{{ template "a" . }}{{ template "a" . }}{{ template "a" . }}{{ template "a" . }}{{ template "a" . }}{{ template "a" . }}{{ template "a" . }}{{ template "a" . }}{{ template "a" . }}{{ template "a" . }}apiVersion: v1
kind: ConfigMap
`, "", -1, "rendering the pack's templates takes more than 100000 steps"},
		{"output bomb", "apiVersion: v1\nkind: ConfigMap\ndata:\n{{- range until 100000 }}{{- range until 100000 }}\n  a: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb{{ end }}{{ end }}\n", "", 0, "rendered manifest is larger than 1.0 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			values := tc.values
			if values == "" {
				values = "pack: {}\n"
			}
			m := templatedFS(map[string]string{"m.yaml": tc.manifest}, values)
			start := time.Now()
			_, ps := Load(m, ".", Options{Prefix: "p", Limits: Limits{MaxFileSize: 1 << 20, MaxPackSize: 1 << 30, MaxFiles: 100, MaxYAMLSize: 1 << 20, MaxLogoSize: 1 << 20, MaxLogoPixel: 100, MaxRenderSteps: 100000}})
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v", d)
			}
			errs := ps.Errors()
			if len(errs) != 1 {
				t.Fatalf("want one error, got:\n%s", ps.Error())
			}
			e := errs[0]
			if e.File != "p/manifests/m.yaml" || (tc.line >= 0 && e.Line != tc.line) || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got  %s\nwant p/manifests/m.yaml:%d: ...%s...", e, tc.line, tc.msg)
			}
			// The quoting hint only for a line a value's action wrote.
			if strings.Contains(e.Msg, "| quote") && !strings.Contains(tc.msg, "| quote") {
				t.Errorf("a quoting hint for a line no value wrote: %s", e)
			}
		})
	}
}

// A template must not print the environment of the machine validating
// it (a pull-request check holds CI secrets).
func TestTemplateCannotReadEnvironment(t *testing.T) {
	t.Setenv("PACKGEN_TEST_SECRET", "s3cr3t-value")
	src := "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ env \"PACKGEN_TEST_SECRET\" | quote }}\n  b: {{ expandenv \"$PACKGEN_TEST_SECRET\" | quote }}\n  c: {{ fail (env \"PACKGEN_TEST_SECRET\") }}\n"
	r, err := renderManifest("m.yaml", []byte(src), nil, newRenderBudget(1<<20))
	if !errors.Is(err, ErrTemplate) || strings.Contains(err.Error(), "s3cr3t") || r != nil {
		t.Fatalf("out %v err %v", r, err)
	}
	r, err = renderManifest("m.yaml", []byte(src[:strings.Index(src, "  c:")]), nil, newRenderBudget(1<<20))
	if err != nil || strings.Contains(string(r.Out), "s3cr3t") || !strings.Contains(string(r.Out), `a: ""`) {
		t.Fatalf("out %q err %v", r.Out, err)
	}
	if os.Getenv("PACKGEN_TEST_SECRET") == "" {
		t.Fatal("setenv")
	}
}

// One budget covers a pack: many slow manifests cost what one does.
func TestRenderBudgetIsPerPack(t *testing.T) {
	slow := "apiVersion: v1\nkind: ConfigMap\ndata:\n{{- range 1000000000 }}{{ end }}\n"
	files := map[string]string{}
	for i := 0; i < 50; i++ {
		files[fmt.Sprintf("m%02d.yaml", i)] = slow
	}
	start := time.Now()
	_, ps := Load(templatedFS(files, "pack: {}\n"), ".", Options{})
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
	if n := len(ps.Errors()); n != 50 {
		t.Fatalf("want 50 errors, got %d:\n%s", n, ps.Error())
	}
	for _, e := range ps.Errors() {
		if !strings.Contains(e.Msg, "rendering the pack's templates takes") {
			t.Errorf("%s", e)
		}
	}
}

func FuzzRenderManifest(f *testing.F) {
	f.Add([]byte(sprigManifest), []byte(sprigValues))
	f.Add([]byte(helloUniverseManifest), []byte(helloUniverseValues))
	f.Add([]byte("{{ range until 5 }}{{ include \"x\" . }}{{ end }}{{ define \"x\" }}a{{ end }}"), []byte("manifests: {m: {a: 1}}"))
	f.Fuzz(func(t *testing.T, src, values []byte) {
		var vals map[string]any
		if docs, issues := parseYAML(values); len(issues) == 0 && len(docs) > 0 {
			vals = valuesOf(docRoot(docs[0]))
		}
		b := newRenderBudget(1 << 20)
		b.maxCalls, b.timeout = 20000, time.Second
		b.deadline = time.Now().Add(b.timeout)
		r, err := renderManifest("manifests/m.yaml", src, vals, b)
		if err == nil && len(r.Out) > 1<<20 {
			t.Fatalf("output of %d bytes", len(r.Out))
		}
	})
}

// On-disk packs as real repositories hold them: the vendor's sample pack,
// and a pack with a `v`-prefixed 2-part version, sprig-templated
// manifests (.yaml and .yml), constraints.resources and a chart archive
// made by `tar -C dir .` (entries rooted at "./agent/": accepted, with
// the one warning that Helm's own loader cannot read it).
func TestGoodPackCorpus(t *testing.T) {
	for _, dir := range []string{"hello-universe-1.2.0", "agent-v2.1"} {
		t.Run(dir, func(t *testing.T) {
			p, ps := Load(os.DirFS("testdata/good/"+dir), ".", Options{Prefix: dir})
			if ps.HasErrors() {
				t.Fatalf("rejected:\n%s", ps.Error())
			}
			for _, pr := range ps {
				dotDir := dir == "agent-v2.1" && pr.File == dir+"/charts/agent-2.1.0.tgz" && strings.Contains(pr.Msg, "Helm's own loader cannot read this archive")
				if pr.Severity == meta.SevWarning && !strings.Contains(pr.Msg, "not strict semver") && !dotDir {
					t.Errorf("unexpected warning: %s", pr)
				}
			}
			if p.Manifest == nil || p.Version == nil {
				t.Fatal("no manifest")
			}
		})
	}
}
