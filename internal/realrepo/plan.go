package realrepo

import (
	"bufio"
	"fmt"
	"maps"
	"slices"

	"github.com/Masterminds/semver/v3"
	"math/rand"
	"strings"
)

const (
	layoutSibling = iota // packs/<name>-<version>
	layoutInPlace        // packs/<name>, bumped in place
	layoutNested         // packs/<group>/<name>-<version>
)

const (
	schemeSemver  = iota // 3.26.1
	schemeTwoPart        // 1.16
	schemeV              // v1.2.3
	schemeZeroPad        // 20.09.0
	schemePre            // 0.30.0-5.5.2026
)

// packSpec is everything about one pack that does not change between
// its versions.
type packSpec struct {
	idx                        int
	name, display, layer       string
	addonType                  string
	cloud                      []string
	layout                     int
	group                      string // nested: packs/<group>/
	scheme                     int
	versions                   []string
	chart                      string // chart name, "" when none
	unpacked, dotRooted        bool
	crdSize                    int // bytes of the CRD in version 0, 0 when none
	crdInManifests             bool
	manifests                  int // plain manifests
	templated, macro           bool
	logo, readme, admon        bool
	presets, schema, docs      bool
	resources, deprecated      bool
	junk, crlf, exec, mismatch bool
	dupSource                  bool // Options.PastDuplicate copies this pack
	style                      int  // pack.json style
	images                     int
	deps                       []dep
	ns                         string
}

type dep struct {
	pack, layer, min, max, typ string
}

// catalogue holds pack names by layer and add-on type, shaped like the
// vendor's public repository.
var catalogue = []struct {
	layer, addonType string
	names            []string
}{
	{"os", "", []string{"ubuntu-aws", "ubuntu-azure", "ubuntu-vsphere", "ubuntu-maas", "ubuntu-openstack", "edge-native-byoi", "edge-native-opensuse", "rhel-vsphere", "sles-aws", "centos-aws", "flatcar-aws", "amazon-linux-eks", "bring-your-own-os", "talos-vsphere", "rocky-linux-maas"}},
	{"k8s", "", []string{"kubernetes", "kubernetes-eks", "kubernetes-aks", "kubernetes-gke", "edge-k3s", "edge-rke2", "edge-k8s", "kubernetes-microk8s", "kubernetes-rke2", "kubernetes-coxedge", "kubernetes-konvoy", "kubernetes-openshift"}},
	{"cni", "", []string{"cni-calico", "cni-cilium-oss", "cni-flannel", "cni-antrea", "cni-kubenet", "cni-aws-vpc-eks", "cni-azure", "cni-weave", "cni-kube-ovn", "cni-multus"}},
	{"csi", "", []string{"csi-aws-ebs", "csi-aws-efs", "csi-azure", "csi-gcp-driver", "csi-vsphere-csi", "csi-portworx", "csi-longhorn", "csi-rook-ceph", "csi-topolvm", "csi-trident", "csi-nfs-subdir", "csi-openstack-cinder", "csi-maas-volume", "csi-nutanix", "csi-netapp-ontap"}},
	{"addon", "security", []string{"cert-manager", "vault", "kyverno", "gatekeeper", "falco", "trivy-operator", "cks-kubebench", "kube-hunter", "sysdig-agent", "prisma-defender", "neuvector", "aqua-enforcer", "external-secrets", "sealed-secrets", "teleport-agent", "stackrox", "kubescape", "tetragon", "cosign-policy", "spire"}},
	{"addon", "monitoring", []string{"prometheus-operator", "grafana", "kube-state-metrics", "datadog", "dynatrace", "newrelic-bundle", "appdynamics-collectors", "appdynamics-operators", "victoria-metrics", "thanos", "zabbix-agent", "kubecost", "opencost", "netdata", "sumologic", "komodor-agent", "robusta", "pixie", "kubernetes-dashboard", "metrics-server"}},
	{"addon", "logging", []string{"fluentbit", "fluentd", "elastic-fluentd-kibana", "loki", "splunk-connect", "vector", "logdna-agent", "graylog", "opensearch", "promtail", "logging-operator", "otel-collector"}},
	{"addon", "ingress", []string{"nginx", "traefik", "ambassador", "contour", "haproxy-ingress", "kong", "emissary-ingress", "citrix-ingress", "istio-gateway", "ingress-nginx-plus", "gloo-edge", "skipper"}},
	{"addon", "load balancer", []string{"metallb", "kube-vip", "avi", "citrix-adc", "f5-bigip-ctlr", "purelb", "aws-lb-controller", "loxilb", "porter-lb", "kube-router-lb"}},
	{"addon", "servicemesh", []string{"istio", "linkerd", "consul-k8s", "kuma", "open-service-mesh", "cilium-mesh", "traefik-mesh", "nginx-mesh"}},
	{"addon", "authentication", []string{"dex", "keycloak", "spectro-proxy", "oauth2-proxy", "pinniped", "aws-eks-oidc", "authentik", "gangway", "kube-oidc-proxy", "openunison"}},
	{"addon", "system app", []string{"argo-rollouts", "argocd", "crossplane", "velero", "external-dns", "cluster-autoscaler", "reloader", "kubevirt", "aws-ssm-agent", "descheduler", "kured", "keda", "knative", "ai-nodeprep", "nvidia-gpu-operator", "node-feature-discovery", "cluster-api-operator", "vcluster", "rancher-backup", "kube-green", "akuity-agent", "flux2", "tekton", "openebs"}},
	{"addon", "app services", []string{"apache-airflow", "redis-operator", "postgres-operator", "cloudnative-pg", "mongodb-community", "strimzi-kafka", "rabbitmq-operator", "minio-operator", "harbor", "gitlab-runner", "jenkins", "coder", "spark-operator", "elastic-operator", "archivista", "autosol", "confidential-containers", "cloudcasa", "temporal", "nats", "clickhouse-operator", "mysql-operator"}},
}

var cloudChoices = [][]string{{"all"}, {"all"}, {"all"}, {"aws"}, {"vsphere"}, {"aws", "azure", "gcp"}, {"eks"}, {"edge-native"}, {"maas", "vsphere", "openstack"}, {"aks"}, {"libvirt", "edge-native"}}

// makeSpecs picks o.Packs packs across layers and add-on types and gives
// each its files and versions. A fixed set of packs always carries the
// features tests rely on; the others draw them at random.
func makeSpecs(o Options, rng *rand.Rand) []*packSpec {
	core := map[string]int{
		"os":  max(2, o.Packs*6/100),
		"k8s": max(2, o.Packs*5/100),
		"cni": max(2, o.Packs*5/100),
		"csi": max(2, o.Packs*7/100),
	}
	var specs []*packSpec
	used := map[string]bool{}
	addName := func(layer, addonType, name string) {
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", strings.TrimRight(name, "0123456789-"), n)
		}
		used[name] = true
		specs = append(specs, &packSpec{name: name, layer: layer, addonType: addonType})
	}
	for _, c := range catalogue[:4] {
		for i := 0; i < core[c.layer]; i++ {
			addName(c.layer, "", c.names[i%len(c.names)])
		}
	}
	addons := catalogue[4:]
	for i := 0; len(specs) < o.Packs; i++ {
		c := addons[i%len(addons)]
		k := i / len(addons)
		addName(c.layer, c.addonType, c.names[k%len(c.names)])
	}
	for i, s := range specs {
		s.idx = i
		randomSpec(s, rng)
	}
	force(specs, o)
	// A group directory named like another pack would put packs inside a
	// pack: such packs are grouped under their own name instead.
	for _, s := range specs {
		if used[s.group] {
			s.group = s.name
		}
	}
	if o.PastDuplicate {
		for _, s := range specs {
			if s.layer == "csi" {
				s.layout, s.dupSource = layoutSibling, true
				break
			}
		}
	}
	for _, s := range specs {
		for _, f := range o.Omit {
			omit(s, f)
		}
	}
	for _, s := range specs {
		s.versions = versionsFor(s, rng)
	}
	planDeps(specs, rng)
	return specs
}

func chance(rng *rand.Rand, pct int) bool { return rng.Intn(100) < pct }

// share draws one of len(pcts)+1 outcomes: i with pcts[i] percent, the
// last with the rest. The outcomes are the iota constants (layout,
// scheme) in order.
func share(rng *rand.Rand, pcts ...int) int {
	r := rng.Intn(100)
	for i, p := range pcts {
		if r < p {
			return i
		}
		r -= p
	}
	return len(pcts)
}

func randomSpec(s *packSpec, rng *rand.Rand) {
	s.display = displayName(s.name)
	s.cloud = cloudChoices[rng.Intn(len(cloudChoices))]
	s.ns = strings.TrimPrefix(strings.TrimPrefix(s.name, "cni-"), "csi-")
	s.layout = share(rng, 60, 30) // sibling 60%, in place 30%, nested 10%
	s.group = strings.SplitN(s.name, "-", 2)[0]
	s.scheme = share(rng, 78, 8, 8, 3) // semver, two-part, v, zero-padded, the rest (3%) pre-release
	if s.layer != "os" && s.layer != "k8s" && chance(rng, 60) {
		s.chart = s.ns
		s.unpacked = chance(rng, 40)
		s.dotRooted = chance(rng, 15)
	}
	if s.layer != "os" {
		s.manifests = rng.Intn(3)
	}
	if s.chart == "" && s.manifests == 0 && s.layer != "os" && s.layer != "k8s" {
		s.manifests = 1
	}
	s.templated = s.manifests > 0 && chance(rng, 10)
	s.macro = s.manifests > 0 && chance(rng, 12)
	s.logo = chance(rng, 90)
	s.readme = chance(rng, 85)
	s.admon = s.readme && chance(rng, 55)
	s.presets = chance(rng, 15)
	s.schema = chance(rng, 20)
	s.docs = chance(rng, 4)
	s.resources = s.layer == "addon" && chance(rng, 10)
	s.junk = chance(rng, 6)
	s.crlf = chance(rng, 4)
	s.exec = chance(rng, 5)
	s.deprecated = chance(rng, 5)
	s.style = rng.Intn(3)
	if s.chart != "" || s.manifests > 0 {
		s.images = 1 + rng.Intn(6)
	}
	if s.layer == "addon" && chance(rng, 8) {
		s.crdSize = (200 + rng.Intn(1800)) << 10
		s.crdInManifests = chance(rng, 30)
		if !s.crdInManifests && s.chart == "" {
			s.chart, s.unpacked = s.ns, true
		}
	}
	if s.layer == "k8s" || s.layer == "os" {
		s.layout = layoutSibling
		if s.scheme == schemePre || s.scheme == schemeZeroPad {
			s.scheme = schemeSemver
		}
	}
}

// force gives fixed packs the features every repository must show, so
// that tests can rely on them at any seed.
func force(specs []*packSpec, o Options) {
	var addons []*packSpec
	for _, s := range specs {
		if s.layer == "addon" {
			addons = append(addons, s)
		}
	}
	big := 2 << 20
	if o.Packs < 100 {
		big = 1100 << 10
	}
	set := []func(s *packSpec){
		func(s *packSpec) { // a large CRD bumped in place, v-prefixed
			s.layout, s.scheme, s.chart, s.unpacked, s.crdSize, s.crdInManifests = layoutInPlace, schemeV, s.ns, true, 300<<10, false
		},
		func(s *packSpec) { // a larger CRD in sibling dirs, chart rooted at ./
			s.layout, s.scheme, s.chart, s.unpacked, s.dotRooted, s.crdSize, s.crdInManifests = layoutSibling, schemeSemver, s.ns, true, true, 600<<10, false
		},
		func(s *packSpec) { // the largest CRD as a manifest, nested dirs
			s.layout, s.scheme, s.crdSize, s.crdInManifests, s.manifests = layoutNested, schemeSemver, big, true, 1
		},
		func(s *packSpec) { // a Go-templated manifest
			s.layout, s.manifests, s.templated, s.macro = layoutSibling, 2, true, false
		},
		func(s *packSpec) { // macros in a manifest, presets, schema
			s.layout, s.manifests, s.macro, s.presets, s.schema = layoutInPlace, 1, true, true, true
		},
		func(s *packSpec) { s.layout, s.scheme, s.mismatch = layoutSibling, schemeSemver, true },
		func(s *packSpec) { s.layout, s.scheme = layoutSibling, schemeTwoPart },
		func(s *packSpec) { s.layout, s.scheme = layoutSibling, schemePre },
		func(s *packSpec) { s.layout, s.scheme = layoutInPlace, schemeZeroPad },
		func(s *packSpec) { // non-ASCII names, admonitions, junk, a script
			s.docs, s.readme, s.admon, s.junk, s.exec, s.logo = true, true, true, true, true, true
		},
		func(s *packSpec) { s.resources, s.deprecated, s.layout = true, true, layoutSibling },
		func(s *packSpec) { s.crlf, s.style = true, 0 },
		func(s *packSpec) { s.chart, s.unpacked, s.dotRooted, s.layout = s.ns, true, true, layoutInPlace },
		func(s *packSpec) { s.layout, s.chart = layoutSibling, s.ns }, // moved in history
	}
	for i, f := range set {
		if i < len(addons) {
			f(addons[i])
			if addons[i].chart != "" || addons[i].manifests > 0 {
				addons[i].images = max(addons[i].images, 2)
			}
		}
	}
}

// omit takes a feature away from a pack, after every random draw, so
// that the rest of the repository stays the same.
func omit(s *packSpec, f Feature) {
	switch f {
	case NonASCIIName:
		s.docs = false
	case TemplatedManifest:
		s.templated = false
	case MacroManifest:
		s.macro = false
	case DotRootedChart:
		s.dotRooted = false
	case UnpackedChart:
		s.unpacked = false
	case LargeCRD:
		s.crdSize = 0
	case Resources:
		s.resources = false
	case Junk:
		s.junk = false
	case CRLF:
		s.crlf = false
	case Executable:
		s.exec = false
	case Deprecated:
		s.deprecated = false
	case Logo:
		s.logo = false
	case Presets:
		s.presets = false
	case Schema:
		s.schema = false
	case Admonitions:
		s.admon = false
	}
}

// versionsFor returns the versions a pack will have, oldest first.
func versionsFor(s *packSpec, rng *rand.Rand) []string {
	n := 1 + share(rng, 30, 32, 23, 10) // 1, 2, 3 or 4 versions; 5 for the rest (5%)
	if s.crdSize > 0 || s.dupSource {
		n = max(n, 3)
	}
	if s.layout == layoutInPlace || s.scheme != schemeSemver || s.mismatch || s.name == "kubernetes" {
		n = max(n, 2)
	}
	major, minor, patch := rng.Intn(4), rng.Intn(30), rng.Intn(8)
	if s.layer == "k8s" {
		major, minor = 1, 26+rng.Intn(3)
	}
	if s.scheme == schemeZeroPad {
		major, minor, patch = 20+rng.Intn(4), 1+rng.Intn(8), 0
	}
	day := 1 + rng.Intn(20)
	var out []string
	for i := 0; i < n; i++ {
		if i > 0 {
			switch r := rng.Intn(100); {
			case r < 65 && s.scheme != schemeTwoPart:
				patch += 1 + rng.Intn(3)
			case r < 95 || s.scheme == schemeZeroPad:
				minor, patch = minor+1, 0
			default:
				major, minor, patch = major+1, 0, 0
			}
		}
		if s.mismatch && i == 0 {
			patch = 0
		}
		var v string
		switch s.scheme {
		case schemeTwoPart:
			v = fmt.Sprintf("%d.%d", major, minor)
		case schemeV:
			v = fmt.Sprintf("v%d.%d.%d", major, minor, patch)
		case schemeZeroPad:
			v = fmt.Sprintf("%02d.%02d.%d", major, minor, patch)
		case schemePre:
			v = fmt.Sprintf("%d.%d.%d-%d.%d.2026", major, minor, patch, day+i, 1+i%12)
		default:
			v = fmt.Sprintf("%d.%d.%d", major, minor, patch)
		}
		out = append(out, v)
	}
	return out
}

// planDeps gives some packs dependencies that HEAD satisfies: required
// on kubernetes, optional on another add-on, notSupported on a csi pack.
func planDeps(specs []*packSpec, rng *rand.Rand) {
	var k8s, csi *packSpec
	var addons []*packSpec
	for _, s := range specs {
		switch {
		case s.name == "kubernetes":
			k8s = s
		case s.layer == "csi" && csi == nil:
			csi = s
		case s.layer == "addon":
			addons = append(addons, s)
		}
	}
	for i, s := range addons {
		if !(s.resources || chance(rng, 35)) {
			continue
		}
		if k8s != nil {
			s.deps = append(s.deps, dep{pack: k8s.name, layer: "k8s", min: k8s.versions[0], typ: "required"})
		}
		if i > 0 && chance(rng, 50) {
			o := addons[rng.Intn(i)]
			s.deps = append(s.deps, dep{pack: o.name, layer: "addon", min: o.versions[0], typ: "optional"})
		}
		if csi != nil && chance(rng, 25) {
			s.deps = append(s.deps, dep{pack: csi.name, layer: "csi", min: csi.versions[0], max: csi.versions[len(csi.versions)-1], typ: "notSupported"})
		}
		if chance(rng, 10) { // from another registry: a warning
			s.deps = append(s.deps, dep{pack: "spectro-" + s.group + "-operator", layer: "addon", min: "1.0.0", typ: "optional"})
		}
	}
}

func displayName(name string) string {
	parts := strings.Split(name, "-")
	for i, p := range parts {
		switch p {
		case "cni", "csi", "aws", "gcp", "eks", "aks", "gke", "nfs", "oidc", "ssm", "lb", "gpu", "os", "ai":
			parts[i] = strings.ToUpper(p)
		default:
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

// dirFor is where version vi of a pack lives.
func (s *packSpec) dirFor(vi int) string {
	v := s.versions[vi]
	if s.mismatch {
		if sv := strings.Split(v, "."); len(sv) == 3 && sv[2] == "0" {
			v = sv[0] + "." + sv[1] // packs/crossplane-1.16 holding 1.16.0
		}
	}
	switch s.layout {
	case layoutInPlace:
		return "packs/" + s.name
	case layoutNested:
		return "packs/" + s.group + "/" + s.name + "-" + v
	}
	return "packs/" + s.name + "-" + v
}

// event is one change a commit makes.
type event struct {
	kind string // add, bump, readme, root-readme, edit, delete, move, duplicate, dedupe
	p    *packSpec
}

// plan decides what every commit does: commit 0 imports a first batch of
// packs, then every other pack's addition and version bumps are spread
// over history, interleaved with README edits, value fixes, deletions of
// old version directories and one move; some commits bundle several
// packs.
func (m *model) plan() [][]event {
	rng := m.rng
	C := m.o.Commits
	initial := (len(m.specs) * 2) / 5
	plan := make([][]event, C)
	var queues [][]event
	for i, s := range m.specs {
		var q []event
		if i >= initial {
			q = append(q, event{kind: "add", p: s})
		} else {
			plan[0] = append(plan[0], event{kind: "add", p: s})
		}
		for range s.versions[1:] {
			q = append(q, event{kind: "bump", p: s})
		}
		if len(q) > 0 {
			queues = append(queues, q)
		}
	}
	var seq []event
	for len(queues) > 0 {
		i := rng.Intn(len(queues))
		seq = append(seq, queues[i][0])
		if queues[i] = queues[i][1:]; len(queues[i]) == 0 {
			queues = append(queues[:i], queues[i+1:]...)
		}
	}
	extras := map[string]int{"readme": max(3, C*12/100), "root-readme": max(1, C*3/100), "edit": max(2, C*5/100), "delete": max(2, C*5/100), "move": 1}
	for _, k := range []string{"readme", "root-readme", "edit", "delete", "move"} {
		for n := 0; n < extras[k]; n++ {
			at := 1 + rng.Intn(len(seq))
			if k == "move" || k == "delete" {
				at = len(seq)/3 + rng.Intn(len(seq)-len(seq)/3) + 1
			}
			seq = append(seq[:at-1], append([]event{{kind: k}}, seq[at-1:]...)...)
		}
	}
	// About one commit in twelve only edits a README (a pack's or the
	// repository's); the others share seq, each at least one event, the
	// rest as bundles of several packs.
	readmeOnly := map[int]bool{}
	for len(readmeOnly) < max(2, C/12) {
		readmeOnly[1+rng.Intn(C-1)] = true
	}
	var slots []int
	for i := 1; i < C; i++ {
		if readmeOnly[i] {
			kind := "readme"
			if i%4 == 0 {
				kind = "root-readme"
			}
			plan[i] = append(plan[i], event{kind: kind})
			continue
		}
		slots = append(slots, i)
	}
	for len(seq) < len(slots) {
		at := rng.Intn(len(seq) + 1)
		seq = append(seq[:at], append([]event{{kind: "readme"}}, seq[at:]...)...)
	}
	counts := make([]int, C)
	for _, i := range slots {
		counts[i] = 1
	}
	for extra := len(seq) - len(slots); extra > 0; extra-- {
		counts[slots[rng.Intn(len(slots))]]++
	}
	k := 0
	for _, i := range slots {
		plan[i] = append(plan[i], seq[k:k+counts[i]]...)
		k += counts[i]
	}
	if m.o.PastDuplicate {
		at := C / 2
		plan[at] = append(plan[at], event{kind: "duplicate"})
		plan[at+3] = append(plan[at+3], event{kind: "dedupe"})
	}
	return plan
}

// write generates every commit of plan into the fast-import stream.
func (m *model) write(w *bufio.Writer, plan [][]event) error {
	m.w = w
	m.put("README.md", rootReadme(0), 0o644)
	m.put(".github/workflows/pack-validation.yml", workflowYAML(0), 0o644)
	m.put(".gitignore", []byte(".DS_Store\n*.swp\n.idea/\n"), 0o644)
	rootEdits := 0
	for ci, evs := range plan {
		var kinds, packs, msgs []string
		for _, ev := range evs {
			kind, p, msg := m.apply(ev, ci, &rootEdits)
			if kind == "" {
				continue
			}
			kinds = append(kinds, kind)
			if p != "" {
				packs = append(packs, p)
			}
			msgs = append(msgs, msg)
		}
		if ci == len(plan)-1 && m.o.RealErrors {
			kinds, msgs = append(kinds, "edit"), append(msgs, "Pack fixes")
			packs = append(packs, m.realErrors()...)
		}
		if len(m.ops) == 0 { // nothing applied: a README edit keeps the commit
			rootEdits++
			m.put("README.md", rootReadme(rootEdits), 0o644)
			kinds, msgs = append(kinds, "root-readme"), append(msgs, "Update README.md")
		}
		msg := msgs[0]
		if ci == 0 {
			msg = "Initial import of community packs"
		} else if len(msgs) > 1 {
			msg = fmt.Sprintf("Update %d packs\n\n- %s", len(msgs), strings.Join(msgs, "\n- "))
		}
		merge := ci > 0 && m.rng.Intn(100) < 35
		branchMsg := msg
		if merge {
			m.prs++
			a := authors[m.rng.Intn(len(authors))]
			msg = fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", 100+m.prs*3, strings.ToLower(strings.Fields(a.name)[0]), branchName(packs, m.prs), firstLine(branchMsg))
		}
		c := m.newCommit(msg+"\n", merge)
		c.Kinds, c.Packs = kinds, dedupe(packs)
		m.emit(c, branchMsg+"\n")
		m.ops = m.ops[:0]
		m.record(ci)
		if m.dup != nil && m.dup.FixedIndex == 0 {
			if m.dupDir != "" && m.dirs[m.dupDir] != nil {
				m.dup.ToIndex = ci
			}
		}
	}
	return nil
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func branchName(packs []string, n int) string {
	if len(packs) > 0 {
		return "update-" + packs[0]
	}
	return fmt.Sprintf("docs-%d", n)
}

// apply makes one event's changes; kind "" means it could not apply.
func (m *model) apply(ev event, ci int, rootEdits *int) (kind, pack, msg string) {
	rng := m.rng
	switch ev.kind {
	case "add":
		s := ev.p
		d := m.newDir(s.dirFor(0), s, 0)
		m.sync(d, m.filesFor(d))
		if s.layout == layoutNested {
			m.put("packs/"+s.group+"/latest", []byte(s.versions[0]+"\n"), 0o644)
		}
		return "add", s.name, fmt.Sprintf("Add %s %s", s.name, s.versions[0])
	case "bump":
		s := ev.p
		cur := m.current(s)
		if cur == nil {
			return "", "", ""
		}
		vi := cur.vi + 1
		if vi >= len(s.versions) { // taken early by dedupe
			return "", "", ""
		}
		if s.layout == layoutInPlace {
			cur.vi, cur.edits, cur.readme = vi, 0, 0
			m.sync(cur, m.filesFor(cur))
		} else {
			d := m.newDir(s.dirFor(vi), s, vi)
			m.sync(d, m.filesFor(d))
			if s.layout == layoutNested {
				m.put("packs/"+s.group+"/latest", []byte(s.versions[vi]+"\n"), 0o644)
			}
		}
		return "bump", s.name, fmt.Sprintf("Bump %s to %s", s.name, s.versions[vi])
	case "readme", "edit":
		d := m.pick(func(d *dirState) bool { return ev.kind == "edit" || d.spec.readme })
		if d == nil {
			return "", "", ""
		}
		if ev.kind == "readme" {
			d.readme++
		} else {
			d.edits++
			if rs := m.rels[d.spec.name+"@"+normVersion(d.spec.versions[d.vi])]; rs != nil {
				rs.edited = true
			}
		}
		m.sync(d, m.filesFor(d))
		if ev.kind == "readme" {
			return "readme", d.spec.name, fmt.Sprintf("%s: README fixes", d.spec.name)
		}
		return "edit", d.spec.name, fmt.Sprintf("%s %s: fix default values", d.spec.name, d.spec.versions[d.vi])
	case "root-readme":
		*rootEdits++
		if *rootEdits%3 == 0 && len(m.ops) > 0 {
			m.put(".github/workflows/pack-validation.yml", workflowYAML(*rootEdits), 0o644)
			return "edit", "", "ci: update pack validation workflow"
		}
		m.put("README.md", rootReadme(*rootEdits), 0o644)
		return "root-readme", "", "Update README.md"
	case "delete":
		var cands []*dirState
		for _, d := range m.sortedDirs() {
			if d.spec.layout != layoutInPlace && !d.dup && d.vi < m.current(d.spec).vi && (m.dup == nil || d.dir != m.dup.Dirs[0]) {
				cands = append(cands, d)
			}
		}
		if len(cands) == 0 {
			return "", "", ""
		}
		d := cands[rng.Intn(len(cands))]
		v := d.spec.versions[d.vi]
		m.remove(d.dir)
		return "delete", d.spec.name, fmt.Sprintf("Remove %s %s", d.spec.name, v)
	case "move":
		// The last forced spec: a sibling pack whose directories move
		// under a group directory, as packs/aws-ssm/aws-ssm-1.0.0.
		var s *packSpec
		for _, sp := range m.specs {
			if sp.layout == layoutSibling && sp.layer == "addon" && m.current(sp) != nil && !sp.mismatch {
				s = sp
			}
		}
		if s == nil {
			return "", "", ""
		}
		for _, d := range m.sortedDirs() {
			if d.spec != s {
				continue
			}
			files := m.filesFor(d)
			m.remove(d.dir)
			s.layout = layoutNested
			nd := m.newDir(s.dirFor(d.vi), s, d.vi)
			nd.edits, nd.readme = d.edits, d.readme
			m.sync(nd, files)
			s.layout = layoutSibling
		}
		s.layout = layoutNested
		return "move", s.name, fmt.Sprintf("Move %s under packs/%s", s.name, s.group)
	case "duplicate":
		// A csi pack's current version copied as an add-on (the same
		// name@version in two directories), as happened in the real
		// repository; dedupe removes the copy and moves the pack on, so
		// the version is gone from every newer commit.
		var s *packSpec
		for _, sp := range m.specs {
			if sp.dupSource && m.current(sp) != nil {
				s = sp
			}
		}
		if s == nil {
			return "", "", ""
		}
		cur := m.current(s)
		dir := "packs/" + strings.TrimPrefix(s.name, "csi-") + "-addon-" + s.versions[cur.vi]
		d := m.newDir(dir, s, cur.vi)
		d.dup = true
		d.edits, d.readme = cur.edits, cur.readme
		m.sync(d, m.filesFor(d)) // the same files, but layer addon
		m.dupDir = dir
		m.dup = &Duplicate{ID: s.name + "@" + s.versions[cur.vi], Dirs: [2]string{cur.dir, dir}, FromIndex: ci, ToIndex: ci}
		return "duplicate", s.name, fmt.Sprintf("Add %s as an add-on", s.name)
	case "dedupe":
		if m.dupDir == "" || m.dirs[m.dupDir] == nil {
			return "", "", ""
		}
		m.remove(m.dupDir)
		m.dup.FixedIndex = ci
		orig := m.dirs[m.dup.Dirs[0]]
		if orig != nil {
			s := orig.spec
			if cur := m.current(s); cur == orig {
				vi := orig.vi + 1
				if vi == len(s.versions) {
					s.versions = append(s.versions, nextVersion(s, s.versions[orig.vi]))
				}
				nd := m.newDir(s.dirFor(vi), s, vi)
				m.sync(nd, m.filesFor(nd))
			}
			m.remove(orig.dir)
		}
		return "dedupe", m.dup.ID[:strings.IndexByte(m.dup.ID, '@')], "Remove the duplicate add-on directory, bump " + m.dup.ID
	}
	return "", "", ""
}

// nextVersion is the minor release after v, written in s's scheme.
func nextVersion(s *packSpec, v string) string {
	sv := semver.MustParse(v).IncMinor()
	switch s.scheme {
	case schemeTwoPart:
		return fmt.Sprintf("%d.%d", sv.Major(), sv.Minor())
	case schemeV:
		return "v" + sv.String()
	}
	return sv.String()
}

// current is the directory of a pack's newest version, or nil.
func (m *model) current(s *packSpec) *dirState {
	var best *dirState
	for _, d := range m.dirs { // one directory per version: no ties
		if d.spec == s && !d.dup && (best == nil || d.vi > best.vi) {
			best = d
		}
	}
	return best
}

func (m *model) sortedDirs() []*dirState {
	names := slices.Sorted(maps.Keys(m.dirs))
	out := make([]*dirState, len(names))
	for i, n := range names {
		out[i] = m.dirs[n]
	}
	return out
}

// pick chooses a pack's newest directory at random among those ok accepts.
func (m *model) pick(ok func(*dirState) bool) *dirState {
	var cands []*dirState
	for _, d := range m.sortedDirs() {
		if !d.dup && ok(d) && m.current(d.spec) == d {
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[m.rng.Intn(len(cands))]
}

// realErrors gives five packs of HEAD one real mistake each.
func (m *model) realErrors() []string {
	var names []string
	taken := map[*packSpec]bool{}
	for _, kind := range []string{BadDuplicateKey, BadJPEGLogo, BadMissingChart, BadDependency, BadAddonType} {
		var d *dirState
		for _, c := range m.sortedDirs() {
			s := c.spec
			if c.dup || taken[s] || s.layer != "addon" || m.current(s) != c || s.templated || s.dotRooted || s.docs {
				continue
			}
			if kind == BadMissingChart && s.chart == "" {
				continue
			}
			d = c
			break
		}
		if d == nil {
			continue
		}
		taken[d.spec] = true
		d.bad = kind
		m.sync(d, m.filesFor(d))
		file := map[string]string{BadDuplicateKey: "manifests/" + d.spec.ns + "-extra.yaml", BadJPEGLogo: "logo.png", BadMissingChart: "pack.json", BadDependency: "pack.json", BadAddonType: "pack.json"}[kind]
		m.bad = append(m.bad, RealError{ID: d.spec.name + "@" + d.spec.versions[d.vi], Dir: d.dir, File: d.dir + "/" + file, Kind: kind})
		names = append(names, d.spec.name)
	}
	return names
}
