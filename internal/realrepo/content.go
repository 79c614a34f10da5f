package realrepo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand"
	"sort"
	"strings"

	"github.com/packgen/packgen/internal/synth"
)

// file is one file of a pack version.
type file struct {
	data []byte
	mode int
}

// rngFor seeds what one pack version holds from the options' seed, so
// content never depends on the order it is generated in.
func (m *model) rngFor(s *packSpec, parts ...int) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", m.o.Seed, s.name)
	for _, p := range parts {
		fmt.Fprintf(h, "/%d", p)
	}
	return rand.New(rand.NewSource(int64(h.Sum64())))
}

// filesFor is every file of a pack directory in its current state.
func (m *model) filesFor(d *dirState) map[string]file {
	s, vi := d.spec, d.vi
	v := s.versions[vi]
	out := map[string]file{}
	add := func(p string, data []byte) { out[p] = file{data: data, mode: 0o644} }
	var manifests []string
	for i := 0; i < s.manifests; i++ {
		name := manifestName(s, i)
		manifests = append(manifests, "manifests/"+name+".yaml")
		add("manifests/"+name+".yaml", m.manifest(s, vi, i))
	}
	crd := ""
	if s.crdSize > 0 {
		crd = m.crdText(s, vi)
		if s.crdInManifests {
			p := "manifests/" + s.ns + "-crds.yaml"
			manifests = append(manifests, p)
			add(p, []byte(crd))
		}
	}
	var charts []string
	if s.chart != "" {
		cv := chartVersion(v)
		cf := chartFiles(s, vi, cv, crd)
		c := m.tgz[s]
		if c.data == nil || c.vi != vi { // README and value edits keep the chart: gzip it once
			c = cached[[]byte]{vi, packChart(s.chart, cf, s.dotRooted)}
			m.tgz[s] = c
		}
		tgz := c.data
		p := "charts/" + s.chart + "-" + cv + ".tgz"
		charts = append(charts, p)
		add(p, tgz)
		if s.unpacked {
			for _, f := range cf {
				add("charts/"+s.chart+"/"+f.name, []byte(f.body))
			}
		}
	}
	sort.Strings(manifests)
	layer, addonType := s.layer, s.addonType
	if d.dup {
		layer, addonType = "addon", "system app"
	}
	ps := s
	switch d.bad {
	case BadAddonType:
		addonType = "app-services"
	case BadDependency:
		cp := *s
		cp.deps = append(append([]dep(nil), s.deps...), dep{pack: "kubernetes", layer: "k8s", min: "1.26.0"})
		ps = &cp
	case BadMissingChart:
		delete(out, charts[0])
	case BadDuplicateKey:
		add("manifests/"+s.ns+"-extra.yaml", []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-extra\n  namespace: %s\ndata:\n  mode: fast\n  level: info\n  mode: safe\n", s.ns, s.ns)))
	}
	add("pack.json", packJSON(ps, vi, layer, addonType, charts, manifests))
	add("values.yaml", m.values(s, vi, d.edits, manifests))
	if s.readme {
		add("README.md", m.readme(s, vi, d.readme))
	}
	if s.logo {
		add("logo.png", logoPNG(s.name, vi/3))
	}
	if d.bad == BadJPEGLogo {
		add("logo.png", logoJPEG(s.name))
	}
	if s.presets {
		add("presets.yaml", presetsYAML(s))
	}
	if s.schema {
		add("schema.yaml", schemaYAML(s))
	}
	if s.docs {
		add("docs/café.md", []byte("# Café: notes de déploiement\n\nPour "+s.display+" "+v+" : vérifiez l'espace de noms « "+s.ns+" ».\n"))
		add("docs/設定.md", []byte("# 設定\n\n"+s.display+" の設定例です。\n"))
	}
	if s.junk {
		add(".DS_Store", dsStore(s.name))
		if s.chart != "" {
			add("charts/.DS_Store", dsStore(s.name+"/charts"))
		}
	}
	if s.exec {
		out["scripts/preflight.sh"] = file{data: []byte("#!/bin/sh\nset -eu\n# Checks the cluster before " + s.display + " is installed.\nkubectl version\nkubectl get ns " + s.ns + " >/dev/null 2>&1 || kubectl create ns " + s.ns + "\n"), mode: 0o755}
	}
	return out
}

func manifestName(s *packSpec, i int) string {
	switch {
	case i == 0 && s.templated:
		return s.ns + "-deployment"
	case i == 0 && s.macro:
		return s.ns + "-config"
	case i == 1 && s.templated && s.macro:
		return s.ns + "-config"
	}
	return fmt.Sprintf("%s-%s", s.ns, []string{"namespace", "rbac", "policy"}[i%3])
}

// manifestKind says what kind of manifest a pack file is: "templated",
// "macro" or "".
func (s *packSpec) manifestKind(rel string) string {
	for i := 0; i < s.manifests; i++ {
		if rel != "manifests/"+manifestName(s, i)+".yaml" {
			continue
		}
		switch {
		case i == 0 && s.templated:
			return "templated"
		case (i == 0 && s.macro) || (i == 1 && s.templated && s.macro):
			return "macro"
		}
	}
	return ""
}

func chartVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	for i, p := range parts {
		parts[i] = strings.TrimLeft(p, "0")
		if parts[i] == "" {
			parts[i] = "0"
		}
	}
	return strings.Join(parts[:3], ".")
}

// packJSON writes pack.json in one of the styles seen in the real
// repository: sorted or not, 2 or 4 spaces, blanks after commas, CRLF.
func packJSON(s *packSpec, vi int, layer, addonType string, charts, manifests []string) []byte {
	type kv struct {
		k string
		v any
	}
	ann := map[string]string{"source": "community", "contributor": "spectrocloud"}
	if s.layer == "os" {
		ann = map[string]string{"osName": strings.SplitN(s.name, "-", 2)[0], "os_spectro_version": "0", "imageId": "ami-0" + fmt.Sprintf("%x", fnv32(s.name))[:7] + "f6fc516c53fca1", "sshUsername": "ubuntu", "skipK8sInstall": "false"}
	}
	if s.chart != "" && addonType != "" {
		ann["ingressSupported"] = "false"
	}
	if s.deprecated && vi == 0 && len(s.versions) > 1 {
		ann["system_state"] = "deprecated"
	}
	var fields []kv
	if addonType != "" {
		fields = append(fields, kv{"addonType", addonType})
	}
	fields = append(fields, kv{"annotations", ann})
	if len(charts) > 0 {
		fields = append(fields, kv{"charts", charts})
	}
	fields = append(fields, kv{"cloudTypes", s.cloud}, kv{"displayName", s.display})
	if s.style == 1 {
		fields = append(fields, kv{"ansibleRoles", []string{}}, kv{"eol", ""}, kv{"group", ""})
	} else if s.layer == "os" {
		fields = append(fields, kv{"eol", "2028-04-30"}, kv{"group", "LTS"})
	}
	if len(manifests) > 0 || s.style == 1 {
		if manifests == nil {
			manifests = []string{}
		}
		fields = append(fields, kv{"kubeManifests", manifests})
	}
	fields = append(fields, kv{"layer", layer}, kv{"name", s.name}, kv{"version", s.versions[vi]})
	var cons []kv
	if len(s.deps) > 0 {
		var deps []map[string]string
		for _, d := range s.deps {
			dm := map[string]string{"packName": d.pack, "layer": d.layer, "minVersion": d.min, "maxVersion": d.max, "type": d.typ}
			if d.typ == "" {
				delete(dm, "type")
			}
			deps = append(deps, dm)
		}
		cons = append(cons, kv{"dependencies", deps})
	}
	if s.resources {
		cons = append(cons, kv{"resources", []any{
			map[string]any{"type": "cpu", "minLimit": 2000, "components": []any{map[string]any{"resourceRequestParamRef": "charts." + s.ns + ".resources.requests.cpu", "replicaCountParamRef": "charts." + s.ns + ".replicaCount", "scheduleType": "worker"}}},
			map[string]any{"type": "memory", "minLimit": 2048, "components": []any{map[string]any{"resourceRequestParamRef": "charts." + s.ns + ".resources.requests.memory", "replicaCountParamRef": "charts." + s.ns + ".replicaCount", "scheduleType": "all"}}},
			map[string]any{"type": "diskSize", "minLimit": 20},
		}})
	}
	if s.style == 1 {
		sort.Slice(fields, func(i, j int) bool { return fields[i].k < fields[j].k })
	}
	indent := "  "
	if s.style == 2 {
		indent = "    "
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	write := func(prefix string, list []kv) {
		for i, f := range list {
			v, _ := json.MarshalIndent(f.v, prefix, indent)
			sep := ","
			if i == len(list)-1 {
				sep = ""
			} else if s.style == 1 {
				sep = ", " // trailing blanks, as hand-edited files have
			}
			colon := ": "
			if f.k == "layer" && s.style == 0 {
				colon = ":" // "layer":"addon", as in many real files
			}
			fmt.Fprintf(&b, "%s%q%s%s%s\n", prefix, f.k, colon, v, sep)
		}
	}
	if len(cons) > 0 {
		write(indent, fields[:len(fields):len(fields)])
		b.Truncate(b.Len() - 1)
		b.WriteString(",\n")
		fmt.Fprintf(&b, "%s\"constraints\": {\n", indent)
		write(indent+indent, cons)
		fmt.Fprintf(&b, "%s}\n", indent)
	} else {
		write(indent, fields)
	}
	b.WriteString("}\n")
	if s.style == 2 {
		b.WriteString("  \n")
	}
	out := b.Bytes()
	if s.crlf {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	return out
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

var registries = []string{"quay.io/jetstack", "docker.io/bitnami", "gcr.io/spectro-images-public/packs", "registry.k8s.io", "ghcr.io/fluxcd", "public.ecr.aws/eks", "us-docker.pkg.dev/palette-images/packs"}

// values writes values.yaml: the pack section (namespace, install
// priority, content.images), chart values under charts.<chart> and
// template values under manifests.<file-basename>.
func (m *model) values(s *packSpec, vi, edits int, manifests []string) []byte {
	v := s.versions[vi]
	rng := m.rngFor(s, 1)
	var b strings.Builder
	b.WriteString("pack:\n")
	if s.layer == "os" {
		b.WriteString("  # OS packs configure the image, not the cluster\n  content: {}\n")
		fmt.Fprintf(&b, "kubeadmconfig:\n  preKubeadmCommands:\n    - echo \"Executing pre kube admin config commands\"\n    - update-ca-certificates\n    - \"systemctl restart containerd; sleep 3\"\n  postKubeadmCommands:\n    - echo \"Executing post kube admin configuration commands\"\n  files:\n    - targetPath: /usr/local/share/ca-certificates/mycom.crt\n      targetOwner: \"root:root\"\n      targetPermissions: \"0644\"\n      content: |\n        -----BEGIN CERTIFICATE-----\n")
		for i := 0; i < 12; i++ {
			fmt.Fprintf(&b, "        %s\n", base64ish(rng, 64))
		}
		b.WriteString("        -----END CERTIFICATE-----\n")
		if edits > 0 {
			fmt.Fprintf(&b, "  # revision %d: ntp servers\n  ntp:\n    - time.example.com\n", edits)
		}
		return []byte(b.String())
	}
	b.WriteString("  #The namespace (on the target cluster) to install this chart\n  #When not found, a new namespace will be created\n")
	fmt.Fprintf(&b, "  namespace: %q\n", s.ns)
	if s.idx%2 == 0 {
		fmt.Fprintf(&b, "  spectrocloud.com/install-priority: \"%d\"\n", 10*(1+s.idx%9))
	}
	if edits > 0 {
		fmt.Fprintf(&b, "  releaseNameOverride:\n    %s: %s-r%d\n", s.ns, s.ns, edits)
	}
	if s.images > 0 {
		b.WriteString("  content:\n    images:\n")
		reg := registries[s.idx%len(registries)]
		for i := 0; i < s.images; i++ {
			fmt.Fprintf(&b, "      - image: %s/%s:%s\n", reg, imageName(s, i), strings.TrimPrefix(v, "v"))
		}
		if s.chart != "" {
			fmt.Fprintf(&b, "    charts:\n      - repo: https://charts.example.com/%s\n        name: %s\n        version: %s\n", s.group, s.chart, chartVersion(v))
		}
	}
	if s.layer == "k8s" {
		b.WriteString(k8sValues(v))
	}
	if s.chart != "" {
		fmt.Fprintf(&b, "\ncharts:\n  %s:\n", s.chart)
		b.WriteString(indentText(chartValues(s, vi), "    "))
	}
	var tm []string
	for _, p := range manifests {
		if k := s.manifestKind(p); k == "templated" || k == "macro" {
			tm = append(tm, p)
		}
	}
	if len(tm) > 0 {
		b.WriteString("\nmanifests:\n")
		for _, p := range tm {
			base := strings.TrimSuffix(strings.TrimPrefix(p, "manifests/"), ".yaml")
			fmt.Fprintf(&b, "  %s:\n    name: %s\n    namespace: %q\n    replicas: %d\n    image:\n      repository: %s/%s\n      tag: %q\n    labels:\n      app.kubernetes.io/part-of: %s\n    env:\n      - name: LOG_LEVEL\n        value: info\n      - name: CLUSTER_NAME\n        value: \"{{ .spectro.system.cluster.name }}\"\n",
				base, s.ns, s.ns, 1+vi%3, registries[s.idx%len(registries)], imageName(s, 0), strings.TrimPrefix(v, "v"), s.name)
		}
	}
	return []byte(b.String())
}

func imageName(s *packSpec, i int) string {
	return s.ns + []string{"-controller", "-webhook", "-cainjector", "-agent", "-operator", "-exporter"}[i%6]
}

func k8sValues(v string) string {
	return fmt.Sprintf(`  k8sHardening: True
  #CIDR Range for Pods in cluster
  # Note : This must not overlap with any of the host or service network
  podCIDR: "192.168.0.0/16"
  #CIDR notation IP range from which to assign service cluster IPs
  # Note : This must not overlap with any IP ranges assigned to nodes for pods.
  serviceClusterIpRange: "10.96.0.0/12"
  palette:
    config:
      dashboard:
        access: private

# KubeAdm customization for kubernetes hardening. Below config will be ignored if k8sHardening property above is disabled
kubeadmconfig:
  apiServer:
    certSANs:
      - "cluster-{{ .spectro.system.cluster.uid }}.{{ .spectro.system.reverseproxy.server }}"
    extraArgs:
      # Note : secure-port flag is used during kubeadm init. Do not change this flag on a running cluster
      secure-port: "6443"
      anonymous-auth: "true"
      profiling: "false"
      disable-admission-plugins: "AlwaysAdmit"
      default-not-ready-toleration-seconds: "60"
      default-unreachable-toleration-seconds: "60"
      enable-admission-plugins: "AlwaysPullImages,NamespaceLifecycle,ServiceAccount,NodeRestriction,PodSecurity"
      admission-control-config-file: "/etc/kubernetes/pod-security-standard.yaml"
      audit-log-path: /var/log/apiserver/audit.log
      audit-policy-file: /etc/kubernetes/audit-policy.yaml
      audit-log-maxage: "30"
      audit-log-maxbackup: "10"
      audit-log-maxsize: "100"
      authorization-mode: RBAC,Node
      tls-cipher-suites: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  controllerManager:
    extraArgs:
      profiling: "false"
      terminated-pod-gc-threshold: "25"
      use-service-account-credentials: "true"
      feature-gates: "RotateKubeletServerCertificate=true"
  kubeletExtraArgs:
    read-only-port: "0"
    event-qps: "0"
    feature-gates: "RotateKubeletServerCertificate=true"
    protect-kernel-defaults: "true"
    rotate-server-certificates: "true"
    tls-cipher-suites: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  files:
    - path: hardening/audit-policy.yaml
      targetPath: /etc/kubernetes/audit-policy.yaml
      targetOwner: "root:root"
      targetPermissions: "0600"
  preKubeadmCommands:
    # For enabling 'protect-kernel-defaults' flag to kubelet, kernel parameters changes are required
    - 'echo "====> Applying kernel parameters for Kubelet"'
    - 'sysctl -p /etc/sysctl.d/90-kubelet.conf'
  postKubeadmCommands:
    - 'chmod 600 /var/lib/kubelet/config.yaml'
    - 'echo "kubernetes %s is ready"'
`, v)
}

// chartValues is the chart's own values.yaml: what `helm create` starts
// from plus component sections, with comments, a few KB.
func chartValues(s *packSpec, vi int) string {
	rng := rand.New(rand.NewSource(int64(fnv32(s.name)) + int64(vi)))
	v := chartVersion(s.versions[vi])
	var b strings.Builder
	b.WriteString(synth.HelmValues(s.chart, synth.Values{
		Replicas:   1 + rng.Intn(3),
		Repository: registries[s.idx%len(registries)] + "/" + imageName(s, 0),
		Tag:        v,
		Port:       8000 + rng.Intn(1000),
		CPULimit:   200 + 100*rng.Intn(8), MemLimit: 256 * (1 + rng.Intn(4)),
		CPURequest: 100 + 50*rng.Intn(4), MemRequest: 128 * (1 + rng.Intn(4)),
	}))
	for i := 0; i < 2+rng.Intn(4); i++ {
		w := words[rng.Intn(len(words))]
		fmt.Fprintf(&b, "\n# %s\n%s%d:\n  enabled: %v\n", sentence(rng, 8), w, i, rng.Intn(2) == 0)
		for j := 0; j < 3+rng.Intn(6); j++ {
			fmt.Fprintf(&b, "  # %s\n  %s%d: %s\n", sentence(rng, 6), words[rng.Intn(len(words))], j, scalar(rng))
		}
	}
	return b.String()
}

func scalar(rng *rand.Rand) string {
	switch rng.Intn(5) {
	case 0:
		return fmt.Sprint(rng.Intn(1000))
	case 1:
		return fmt.Sprint(rng.Intn(2) == 0)
	case 2:
		return fmt.Sprintf("%q", words[rng.Intn(len(words))]+"-"+words[rng.Intn(len(words))])
	case 3:
		return fmt.Sprintf("%ds", 5*(1+rng.Intn(12)))
	}
	return "[]"
}

func indentText(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			b.WriteString(l)
			continue
		}
		b.WriteString(prefix + l)
	}
	return b.String()
}

// manifest writes manifest i of a pack: a plain multi-document file, a
// file with Palette macros inside YAML strings, or a Go template (sprig
// functions, .Values of manifests.<basename>, .spectro macros) that is
// not YAML until rendered.
func (m *model) manifest(s *packSpec, vi, i int) []byte {
	v := strings.TrimPrefix(s.versions[vi], "v")
	name := manifestName(s, i)
	switch s.manifestKind("manifests/" + name + ".yaml") {
	case "templated":
		return []byte(fmt.Sprintf(`{{- /* Rendered by Palette with the values under manifests.%[1]s */ -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.name | default "%[2]s" }}
  namespace: {{ .Values.namespace | default "%[2]s" | quote }}
  labels:
    app.kubernetes.io/name: %[2]s
    app.kubernetes.io/version: "%[3]s"
    spectrocloud.com/cluster: {{ .spectro.system.cluster.name | quote }}
{{- range $k, $v := .Values.labels }}
    {{ $k }}: {{ $v | quote }}
{{- end }}
spec:
  replicas: {{ .Values.replicas | default 1 }}
  selector:
    matchLabels:
      app.kubernetes.io/name: %[2]s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: %[2]s
    spec:
      containers:
        - name: %[2]s
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default "%[3]s" }}"
          args:
            - --cluster={{ .spectro.system.cluster.name }}
            - --log-level={{ .Values.logLevel | default "info" | lower }}
{{- if .Values.env }}
          env:
{{- range .Values.env }}
            - name: {{ .name | upper }}
              value: {{ .value | quote }}
{{- end }}
{{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Values.name | default "%[2]s" | trunc 63 }}
  namespace: {{ .Values.namespace | default "%[2]s" | quote }}
spec:
  selector:
    app.kubernetes.io/name: %[2]s
  ports:
    - port: 8080
      targetPort: 8080
`, name, s.ns, v))
	case "macro":
		return []byte(fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-cluster-info
  namespace: "%[1]s"
  annotations:
    spectrocloud.com/cluster-uid: "{{ .spectro.system.cluster.uid }}"
data:
  clusterName: "{{ .spectro.system.cluster.name }}"
  endpoint: "cluster-{{ .spectro.system.cluster.uid }}.{{ .spectro.system.reverseproxy.server }}"
  version: "%[2]s"
---
apiVersion: v1
kind: Secret
metadata:
  name: %[1]s-registry
  namespace: "%[1]s"
type: Opaque
stringData:
  project: "{{ .spectro.system.project.name }}"
`, s.ns, v))
	}
	rng := m.rngFor(s, 2, i)
	var b strings.Builder
	switch i % 3 {
	case 0:
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n---\n", s.ns)
		fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-settings\n  namespace: %s\ndata:\n  version: %q\n  settings.yaml: |\n", s.ns, s.ns, v)
		for j := 0; j < 6+rng.Intn(10); j++ {
			fmt.Fprintf(&b, "    %s%d: %s\n", words[rng.Intn(len(words))], j, scalar(rng))
		}
	case 1:
		fmt.Fprintf(&b, "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %[1]s\n  namespace: %[1]s\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: %[1]s\nrules:\n", s.ns)
		for j := 0; j < 3+rng.Intn(5); j++ {
			fmt.Fprintf(&b, "  - apiGroups: [\"%s\"]\n    resources: [\"%ss\"]\n    verbs: [\"get\", \"list\", \"watch\"]\n", []string{"", "apps", "batch", "networking.k8s.io"}[j%4], words[rng.Intn(len(words))])
		}
		fmt.Fprintf(&b, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: %[1]s\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: %[1]s\nsubjects:\n  - kind: ServiceAccount\n    name: %[1]s\n    namespace: %[1]s\n", s.ns)
	default:
		fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: %[1]s-default-deny\n  namespace: %[1]s\nspec:\n  podSelector: {}\n  policyTypes:\n    - Ingress\n", s.ns)
	}
	return []byte(b.String())
}

// readme writes README.md with the vendor's Docusaurus admonitions.
func (m *model) readme(s *packSpec, vi, edits int) []byte {
	rng := m.rngFor(s, 3)
	v := s.versions[vi]
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\n", s.display, sentence(rng, 30))
	if s.admon {
		fmt.Fprintf(&b, ":::tip\n\nUse the **%s** pack with Palette eXtended Kubernetes (PXK) %s or later for the best results.\n\n:::\n\n", s.display, "1.27")
	}
	b.WriteString("## Prerequisites\n\n- Kubernetes 1.26 or later.\n- Cluster administrator privileges.\n")
	if s.crdSize > 0 {
		b.WriteString("- Custom Resource Definitions (CRDs) enabled during installation.\n")
	}
	b.WriteString("\n## Parameters\n\n| Parameter | Description | Default |\n|-----------|-------------|---------|\n")
	fmt.Fprintf(&b, "| `pack.namespace` | The namespace to install %s into. | `%s` |\n", s.display, s.ns)
	for i := 0; i < 3+rng.Intn(5); i++ {
		fmt.Fprintf(&b, "| `%s.%s` | %s | `%s` |\n", words[rng.Intn(len(words))], words[rng.Intn(len(words))], sentence(rng, 7), scalar(rng))
	}
	if s.admon {
		b.WriteString("\n:::warning\n\nUpgrading from a version older than the previous minor release is not supported. Review the release notes first.\n\n:::\n")
	}
	fmt.Fprintf(&b, "\n## Usage\n\n```yaml\npack:\n  namespace: %q\n```\n\n", s.ns)
	if s.admon {
		b.WriteString("<Tabs>\n<TabItem label=\"Helm\" value=\"helm\">\n\nInstall with the chart defaults.\n\n</TabItem>\n</Tabs>\n\n:::info\n\nVersions are listed in the **Versions Supported** section — « les versions prises en charge ».\n\n:::\n\n")
	}
	fmt.Fprintf(&b, "## Versions Supported\n\n- **%s**\n\n## References\n\n- [%s documentation](https://docs.example.com/%s)\n", v, s.display, s.name)
	for i := 1; i <= edits; i++ {
		fmt.Fprintf(&b, "- [Release notes %d](https://docs.example.com/%s/releases/%d)\n", i, s.name, i)
	}
	return []byte(b.String())
}

func presetsYAML(s *packSpec) []byte {
	return []byte(fmt.Sprintf(`presets:
  - name: "privateRegistry"
    displayName: "Private Registry"
    group: "registry"
    remove: ["charts.%[1]s.image.repository"]
    add: |
      charts:
        %[1]s:
          image:
            repository: registry.local/%[1]s
  - name: "publicRegistry"
    displayName: "Public Registry"
    group: "registry"
    remove: []
    add: |
      charts:
        %[1]s:
          image:
            repository: quay.io/%[1]s
`, s.ns))
}

func schemaYAML(s *packSpec) []byte {
	return []byte(fmt.Sprintf(`pack.namespace:
  schema: '{{ required | format "${string}" }}'
charts.%[1]s.replicaCount:
  schema: '{{ required | format "${number:[1-10]}" }}'
charts.%[1]s.service.type:
  schema: '{{ format "${list:[ClusterIP,NodePort,LoadBalancer]}" }}'
`, s.ns))
}

func rootReadme(n int) []byte {
	var b strings.Builder
	b.WriteString("# pack-central\nRepository for community packs\n\n## packs\nParent folder for all packs\n\nNaming convention: Every pack directory will have the name in the format: \"pack name-version\".\n  '-' must be used as the separator in the pack directory name.\n\n## Structure\n```\n| - pack name\n\t\t | - pack.json\t\t\t==> mandatory : pack config\n\t\t | - values.yaml\t\t==> mandatory : pack params\n\t\t | - logo.png\t\t\t==> mandatory: logo file\n\t\t | - README.md                  ==> mandatory: readme file\n\t\t | - manifests \t\t\t==> optional : manifest files\n\t\t | - charts\t\t\t==> optional : charts\n```\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "\n- Contribution note %d.\n", i)
	}
	return []byte(b.String())
}

func workflowYAML(n int) []byte {
	return []byte(fmt.Sprintf("name: pack-validation\non:\n  pull_request:\n    paths: ['packs/**']\njobs:\n  validate:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n      - run: ./scripts/validate.sh # revision %d\n", n))
}

// dsStore is junk a Mac leaves behind: binary, never archived.
func dsStore(seed string) []byte {
	b := make([]byte, 6148)
	copy(b, "\x00\x00\x00\x01Bud1")
	h := fnv32(seed)
	for i := 16; i < 200; i++ {
		h = h*16777619 ^ uint32(i)
		b[i] = byte(h)
	}
	return b
}

// words and sentence are synth's: the same prose as the synthetic charts.
var words = synth.Words

func sentence(rng *rand.Rand, n int) string { return synth.Sentence(rng, n) }

func base64ish(rng *rand.Rand, n int) string {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = a[rng.Intn(len(a))]
	}
	return string(b)
}
