package synth

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand"
	"strings"

	"github.com/packgen/packgen/internal/testutil/tartest"
)

// Words feed the generated prose and schema names, so chart text
// compresses like real chart text (about 4–6× with gzip), not like
// random bytes or a repeated line.
var Words = strings.Fields(`
access account address affinity agent alert annotation api application
array authentication autoscaling backend backup bucket cache certificate
channel check cluster collector component condition config connection
container controller count credential cron daemon dashboard data database
default delay deployment destination disk dns domain driver duration
enabled endpoint environment event exporter external field file filter
gateway group header health host hook image index ingress instance
interval issuer job key label leader level limit listener log manager
memory mesh metric mode monitor mount name namespace network node object
operator option path peer period persistence plugin policy pool port
priority probe protocol provider proxy queue quota rate receiver record
registry release replica request resource retention role route rule
scheduler schema scrape secret selector server service session shard
sidecar size source spec storage stream subject target template threshold
timeout tls token topology trace traffic update upstream user value
version volume webhook window worker zone`)

// Chart makes a valid Helm chart archive of about size bytes, shaped like
// a real packaged chart (what `helm package` writes for a typical
// operator chart): a full Chart.yaml (description, keywords, maintainers,
// sources, annotations), a values.yaml of a few KB, the templates `helm
// create` starts from, a README and a CRD whose generated OpenAPI schema
// fills the archive to size. Text, not random bytes: Helm's loader and
// packgen's validator both decompress and read it, as with real charts.
func Chart(name, version string, size int, rng *rand.Rand) ([]byte, error) {
	fixed := chartFiles(name, version, rng)
	// The CRD's schema fills the archive up to size: its text compresses
	// about 5.3× (measured), so one pass lands within a few percent.
	// Past maxText packed bytes the rest is an incompressible file, as in
	// big real charts (bundled dashboards, binaries), which keeps
	// generating multi-MB charts fast.
	text := min(max(size-fixedPacked, 0), maxText)
	var payload []byte
	if rest := size - fixedPacked - text; rest > 0 {
		payload = make([]byte, rest)
		rng.Read(payload)
	}
	return packChart(name, fixed, crd(name, text*53/10, rng.Int63()), payload)
}

// fixedPacked is about what every file but the CRD adds to the archive.
const (
	fixedPacked = 3800
	maxText     = 256 << 10
)

func packChart(name string, files [][2]string, crd string, payload []byte) ([]byte, error) {
	files = append(files, [2]string{"crds/" + name + ".yaml", crd})
	if len(payload) > 0 {
		files = append(files, [2]string{"files/bundle.bin", string(payload)})
	}
	entries := make([]tartest.Entry, len(files))
	for i, f := range files {
		entries[i] = tartest.File(name+"/"+f[0], f[1])
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err := tartest.Write(zw, entries...); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func pick(rng *rand.Rand) string { return Words[rng.Intn(len(Words))] }

// Sentence is n words of chart prose, capitalised, with a full stop.
func Sentence(rng *rand.Rand, n int) string {
	var b strings.Builder
	writeSentence(&b, rng, n)
	return b.String()
}

// writeSentence writes n words, capitalised, with a full stop.
func writeSentence(b *strings.Builder, rng *rand.Rand, n int) {
	for i := 0; i < n; i++ {
		w := pick(rng)
		switch i {
		case 0:
			b.WriteString(upper(w))
		default:
			b.WriteByte(' ')
			b.WriteString(w)
		}
	}
	b.WriteByte('.')
}

func upper(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// chartFiles returns every file but the CRD, in archive order.
func chartFiles(name, version string, rng *rand.Rand) [][2]string {
	// Chart.yaml as `helm create` writes it, which is what most charts
	// carry: Helm copies it into every index.yaml entry.
	meta := fmt.Sprintf("apiVersion: v2\nname: %s\ndescription: %s\ntype: application\nversion: %s\nappVersion: %q\n",
		name, Sentence(rng, 6), version, "v"+version)

	var values strings.Builder
	values.WriteString(HelmValues(name, Values{
		Replicas: 1, Repository: "registry.example.com/" + name + "/" + name, Tag: version, Port: 8080,
		CPULimit: 500, MemLimit: 512, CPURequest: 100, MemRequest: 128,
	}))
	values.WriteString("components:\n")
	for values.Len() < 4000 {
		c := pick(rng) + "-" + pick(rng)
		fmt.Fprintf(&values, "  # %s\n  %s:\n    enabled: %t\n    replicas: %d\n    port: %d\n    logLevel: %s\n    extraArgs: []\n", Sentence(rng, 7), c, rng.Intn(2) == 0, 1+rng.Intn(3), 8000+rng.Intn(1000), []string{"info", "debug", "warn"}[rng.Intn(3)])
	}

	helpers, deployment, service, sa := HelmTemplates(name)
	var readme strings.Builder
	fmt.Fprintf(&readme, "# %s\n\n%s\n\n## Installing\n\n    helm install my-%s example/%s --version %s\n\n## Parameters\n\n| Name | Description | Value |\n|---|---|---|\n", name, Sentence(rng, 20), name, name, version)
	for k := 0; k < 15; k++ {
		fmt.Fprintf(&readme, "| `%s.%s` | %s | `%d` |\n", pick(rng), pick(rng), Sentence(rng, 9), rng.Intn(100))
	}
	return [][2]string{
		{"Chart.yaml", meta},
		{"values.yaml", values.String()},
		{".helmignore", ".DS_Store\n.git/\n.gitignore\n*.swp\n*.bak\n*.tmp\n.idea/\n.vscode/\n"},
		{"README.md", readme.String()},
		{"templates/NOTES.txt", "1. Get the application URL by running these commands:\n  kubectl --namespace {{ .Release.Namespace }} port-forward svc/{{ include \"" + name + ".fullname\" . }} 8080:{{ .Values.service.port }}\n"},
		{"templates/_helpers.tpl", helpers},
		{"templates/deployment.yaml", deployment},
		{"templates/service.yaml", service},
		{"templates/serviceaccount.yaml", sa},
	}
}

// HelmTemplates are the templates `helm create` starts a chart named
// name from: _helpers.tpl, deployment.yaml, service.yaml and
// serviceaccount.yaml, for every generator of realistic charts.
func HelmTemplates(name string) (helpers, deployment, service, serviceAccount string) {
	helpers = fmt.Sprintf(`{{/*
Expand the name of the chart.
*/}}
{{- define "%[1]s.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "%[1]s.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%%s-%%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "%[1]s.labels" -}}
helm.sh/chart: {{ printf "%%s-%%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "%[1]s.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "%[1]s.selectorLabels" -}}
app.kubernetes.io/name: {{ include "%[1]s.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "%[1]s.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "%[1]s.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
`, name)
	deployment = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "%[1]s.fullname" . }}
  labels:
    {{- include "%[1]s.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "%[1]s.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      labels:
        {{- include "%[1]s.labels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ include "%[1]s.serviceAccountName" . }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .Chart.Name }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ .Values.service.port }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
`, name)
	service = fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: {{ include "%[1]s.fullname" . }}
  labels:
    {{- include "%[1]s.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
      name: http
  selector:
    {{- include "%[1]s.selectorLabels" . | nindent 4 }}
`, name)
	serviceAccount = fmt.Sprintf(`{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "%[1]s.serviceAccountName" . }}
  labels:
    {{- include "%[1]s.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
{{- end }}
`, name)
	return helpers, deployment, service, serviceAccount
}

// Values are what differs between the values.yaml files HelmValues
// writes.
type Values struct {
	Replicas               int
	Repository, Tag        string // the image; Tag without its "v"
	Port                   int
	CPULimit, MemLimit     int // millicores, MiB
	CPURequest, MemRequest int // millicores, MiB
}

// HelmValues is the values.yaml `helm create` starts a chart named name
// from, comments and blank lines as it writes them, for every generator
// of realistic charts (the templates of HelmTemplates read it).
func HelmValues(name string, v Values) string {
	return fmt.Sprintf(`# Default values for %[1]s.
# This is a YAML-formatted file.
# Declare variables to be passed into your templates.

replicaCount: %[2]d

image:
  repository: %[3]s
  pullPolicy: IfNotPresent
  # Overrides the image tag whose default is the chart appVersion.
  tag: "v%[4]s"

imagePullSecrets: []
nameOverride: ""
fullnameOverride: ""

serviceAccount:
  # Specifies whether a service account should be created
  create: true
  # Annotations to add to the service account
  annotations: {}
  # The name of the service account to use.
  # If not set and create is true, a name is generated using the fullname template
  name: ""

podAnnotations: {}

podSecurityContext:
  runAsNonRoot: true
  seccompProfile:
    type: RuntimeDefault

securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop:
      - ALL
  readOnlyRootFilesystem: true

service:
  type: ClusterIP
  port: %[5]d

ingress:
  enabled: false
  className: ""
  annotations: {}
    # kubernetes.io/ingress.class: nginx
  hosts:
    - host: %[1]s.local
      paths:
        - path: /
          pathType: ImplementationSpecific
  tls: []

resources:
  limits:
    cpu: %[6]dm
    memory: %[7]dMi
  requests:
    cpu: %[8]dm
    memory: %[9]dMi

autoscaling:
  enabled: false
  minReplicas: 1
  maxReplicas: 10
  targetCPUUtilizationPercentage: 80

nodeSelector: {}

tolerations: []

affinity: {}
`, name, v.Replicas, v.Repository, v.Tag, v.Port, v.CPULimit, v.MemLimit, v.CPURequest, v.MemRequest)
}

// CRDHeader is a CustomResourceDefinition of kind (group example.com,
// one version) up to its OpenAPI schema's properties, which follow
// indented by 12 spaces: the head of every generated CRD.
func CRDHeader(kind string) string {
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[1]ss.example.com
spec:
  group: example.com
  names:
    kind: %[1]s
    plural: %[1]ss
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
`, kind)
}

// crd returns a CustomResourceDefinition of about n bytes whose schema
// properties, types and descriptions come from seed.
func crd(name string, n int, seed int64) string {
	rng := rand.New(rand.NewSource(seed))
	var b strings.Builder
	b.WriteString(CRDHeader(strings.ReplaceAll(name, "-", "")))
	types := [...]string{"string", "integer", "boolean", "object", "array"}
	for b.Len() < n {
		b.WriteString("            ")
		b.WriteString(pick(rng))
		b.WriteString(upper(pick(rng)))
		b.WriteString(":\n              description: ")
		writeSentence(&b, rng, 6+rng.Intn(10))
		b.WriteString("\n              type: ")
		b.WriteString(types[rng.Intn(len(types))])
		b.WriteByte('\n')
		if rng.Intn(3) == 0 {
			b.WriteString("              default: ")
			b.WriteString(pick(rng))
			b.WriteByte('\n')
		}
	}
	return b.String()
}
