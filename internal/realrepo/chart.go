package realrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/internal/synth"
)

type chartFile struct{ name, body string }

// chartFiles is a chart as `helm create` and a CRD-carrying operator
// chart make it, in the order `helm package` writes it.
func chartFiles(s *packSpec, vi int, cv, crd string) []chartFile {
	appV := strings.TrimPrefix(s.versions[vi], "v")
	helpers, deployment, service, sa := synth.HelmTemplates(s.chart)
	files := []chartFile{
		{"Chart.yaml", fmt.Sprintf(`apiVersion: v2
name: %[1]s
description: A Helm chart for %[2]s on Kubernetes
type: application
version: %[3]s
appVersion: "%[4]s"
kubeVersion: ">=1.22.0-0"
keywords:
  - %[5]s
  - kubernetes
home: https://%[1]s.example.io
sources:
  - https://github.com/example/%[1]s
maintainers:
  - name: %[1]s-maintainers
    email: maintainers@%[1]s.example.io
annotations:
  artifacthub.io/license: Apache-2.0
  artifacthub.io/prerelease: "false"
`, s.chart, s.display, cv, appV, strings.ReplaceAll(s.addonType, " ", "-")+s.layer)},
		{"values.yaml", chartValues(s, vi)},
		{"templates/NOTES.txt", fmt.Sprintf("1. Get the application URL by running these commands:\n{{- if .Values.ingress.enabled }}\n  http{{ if $.Values.ingress.tls }}s{{ end }}://{{ (index .Values.ingress.hosts 0).host }}\n{{- else }}\n  kubectl --namespace {{ .Release.Namespace }} port-forward svc/{{ include \"%s.fullname\" . }} 8080:{{ .Values.service.port }}\n{{- end }}\n", s.chart)},
		{"templates/_helpers.tpl", helpers},
		{"templates/deployment.yaml", deployment},
		{"templates/service.yaml", service},
		{"templates/serviceaccount.yaml", sa},
	}
	if crd != "" && !s.crdInManifests {
		files = append(files, chartFile{"crds/" + s.chart + "-crds.yaml", crd})
	}
	files = append(files,
		chartFile{".helmignore", "# Patterns to ignore when building packages.\n.DS_Store\n.git/\n*.swp\n*.bak\n*.tmp\n.idea/\n.vscode/\n"},
		chartFile{"README.md", fmt.Sprintf("# %s\n\n%s is packaged for Kubernetes. Version %s.\n", s.chart, s.display, cv)})
	return files
}

var chartTime = time.Date(2023, 6, 1, 12, 0, 0, 0, time.UTC)

// packChart makes the chart archive: entries "<chart>/..." as `helm
// package` writes them, or "./<chart>/..." with directory entries as
// `tar czf chart.tgz ./chart` does.
func packChart(chart string, files []chartFile, dotRooted bool) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	tw := tar.NewWriter(zw)
	prefix := chart + "/"
	seen := map[string]bool{}
	if dotRooted {
		prefix = "./" + chart + "/"
		for _, d := range []string{"./", prefix} {
			tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: chartTime, Uid: 1001, Gid: 121, Uname: "runner", Gname: "docker"})
		}
	}
	for _, f := range files {
		if d := path.Dir(f.name); dotRooted && d != "." && !seen[d] {
			seen[d] = true
			tw.WriteHeader(&tar.Header{Name: prefix + d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: chartTime, Uid: 1001, Gid: 121, Uname: "runner", Gname: "docker"})
		}
		h := &tar.Header{Name: prefix + f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body)), ModTime: chartTime}
		if dotRooted {
			h.Uid, h.Gid, h.Uname, h.Gname = 1001, 121, "runner", "docker"
		}
		tw.WriteHeader(h)
		tw.Write([]byte(f.body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// crdText is the pack's CRD at version vi: a generated OpenAPI schema of
// about crdSize bytes, the same for every version but for a few
// inserted and rewritten fields per version, so that git deltas it.
func (m *model) crdText(s *packSpec, vi int) string {
	if c, ok := m.crdDone[s]; ok && c.vi == vi {
		return c.data
	}
	t := m.makeCRD(s, vi)
	m.crdDone[s] = cached[string]{vi, t}
	return t
}

func (m *model) makeCRD(s *packSpec, vi int) string {
	blocks := m.crd[s]
	if blocks == nil {
		rng := m.rngFor(s, 10)
		n := 0
		for size := 0; size < s.crdSize; n++ {
			b := crdBlock(rng, n)
			size += len(b)
			blocks = append(blocks, b)
		}
		m.crd[s] = blocks
	}
	cur := append([]string(nil), blocks...)
	for k := 1; k <= vi; k++ {
		rng := m.rngFor(s, 11, k)
		for e := 0; e < 3; e++ {
			at := rng.Intn(len(cur))
			cur = append(cur[:at], append([]string{crdBlock(rng, 100000*k+e)}, cur[at:]...)...)
			cur[rng.Intn(len(cur))] = crdBlock(rng, 200000*k+e)
		}
	}
	kind := strings.ToUpper(s.ns[:1]) + strings.ReplaceAll(s.ns[1:], "-", "") + "Config"
	plural := strings.ToLower(kind) + "s"
	group := strings.ReplaceAll(s.ns, "-", "") + ".example.io"
	var b strings.Builder
	b.Grow(s.crdSize + 64<<10)
	fmt.Fprintf(&b, `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    controller-gen.kubebuilder.io/version: v0.%d.0
  labels:
    app.kubernetes.io/version: "%s"
  name: %s.%s
spec:
  group: %s
  names:
    kind: %s
    listKind: %sList
    plural: %s
    singular: %s
  scope: Namespaced
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        description: %s is the Schema for the %s API.
        properties:
          apiVersion:
            description: APIVersion defines the versioned schema of this representation of an object.
            type: string
          kind:
            description: Kind is a string value representing the REST resource this object represents.
            type: string
          metadata:
            type: object
          spec:
            description: spec defines the desired state of %s.
            properties:
`, 12+vi, strings.TrimPrefix(s.versions[vi], "v"), plural, group, group, kind, kind, plural, strings.ToLower(kind), kind, plural, kind)
	for _, c := range cur {
		b.WriteString(c)
	}
	b.WriteString("            type: object\n          status:\n            type: object\n            x-kubernetes-preserve-unknown-fields: true\n        type: object\n    served: true\n    storage: true\n    subresources:\n      status: {}\n")
	return b.String()
}

func crdBlock(rng *rand.Rand, n int) string {
	var b strings.Builder
	w1, w2 := words[rng.Intn(len(words))], words[rng.Intn(len(words))]
	fmt.Fprintf(&b, "              %s%s%d:\n                description: |-\n                  %s\n                  %s\n                properties:\n", w1, strings.ToUpper(w2[:1])+w2[1:], n, sentence(rng, 12), sentence(rng, 9))
	for j := 0; j < 1+rng.Intn(5); j++ {
		typ := []string{"string", "integer", "boolean", "string"}[rng.Intn(4)]
		fmt.Fprintf(&b, "                  %s%d:\n                    description: %s\n                    type: %s\n", words[rng.Intn(len(words))], j, sentence(rng, 8), typ)
		if typ == "integer" {
			b.WriteString("                    format: int32\n                    minimum: 0\n")
		}
		if typ == "string" && rng.Intn(4) == 0 {
			b.WriteString("                    enum:\n                    - Enabled\n                    - Disabled\n")
		}
	}
	b.WriteString("                type: object\n")
	return b.String()
}

var logos sync.Map // name/variant -> []byte: encoding is the costly part

// logoPNG is a small real PNG: a disc in the pack's colour.
func logoPNG(name string, variant int) []byte {
	key := fmt.Sprintf("%s/%d", name, variant)
	if b, ok := logos.Load(key); ok {
		return b.([]byte)
	}
	b := makeLogo(name, variant)
	logos.Store(key, b)
	return b
}

func makeLogo(name string, variant int) []byte {
	h := fnv32(name)
	size := 48 + int(h%5)*16
	c := color.NRGBA{R: byte(h), G: byte(h >> 8), B: byte(h>>16) + byte(variant*40), A: 255}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	r := size * 2 / 5
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := x-size/2, y-size/2
			if dx*dx+dy*dy <= r*r {
				img.Set(x, y, c)
			} else if (x/8+y/8)%2 == 0 && variant%2 == 1 {
				img.Set(x, y, color.NRGBA{R: 240, G: 240, B: 240, A: 255})
			}
		}
	}
	var buf bytes.Buffer
	(&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, img)
	return buf.Bytes()
}

// logoJPEG is a JPEG saved as logo.png, as the real repository has.
func logoJPEG(name string) []byte {
	img, err := png.Decode(bytes.NewReader(logoPNG(name, 0)))
	if err != nil {
		panic(err) // our own PNG
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	return buf.Bytes()
}
