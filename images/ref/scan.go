package ref

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds the walk of one rendered object.
const maxDepth = 100

// Found is one image named by a rendered YAML object.
type Found struct {
	Written string // as written
	Line    int    // in the rendered text
	Object  string // Kind/name
	Field   string // spec.template.spec.containers[0].image
	Maybe   bool   // outside a pod template
}

// podSpecPaths are where each workload kind holds its pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
	"PodTemplate":           {"template", "spec"},
}

var containerLists = []string{"initContainers", "containers", "ephemeralContainers"}

// Scan finds the images in a stream of YAML documents: containers of pod
// templates for certain, and elsewhere `image:` strings and
// repository+tag pairs as maybe. A document that does not parse is an
// error (the platform could not apply it either).
func Scan(data []byte) ([]Found, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Found
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(doc.Content) == 1 {
			out = object(doc.Content[0], out, 0)
		}
	}
}

// object collects one Kubernetes object's images (and a List's items').
func object(n *yaml.Node, out []Found, depth int) []Found {
	if n.Kind != yaml.MappingNode || depth > 4 {
		return out
	}
	kind := scalar(Child(n, "kind"))
	id := kind + "/" + scalar(Child(n, "metadata", "name"))
	if kind == "List" {
		if items := Child(n, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				out = object(it, out, depth+1)
			}
		}
		return out
	}
	sure := map[*yaml.Node]bool{}
	if keys, ok := podSpecPaths[kind]; ok {
		spec := Child(n, keys...)
		for _, list := range containerLists {
			cs := Child(spec, list)
			if cs == nil || cs.Kind != yaml.SequenceNode {
				continue
			}
			for i, ctr := range cs.Content {
				img := Child(ctr, "image")
				if img == nil || img.Kind != yaml.ScalarNode || img.Value == "" {
					continue
				}
				sure[img] = true
				field := fmt.Sprintf("%s.%s[%d].image", strings.Join(keys, "."), list, i)
				out = append(out, Found{Written: img.Value, Line: img.Line, Object: id, Field: field})
			}
		}
	}
	return maybes(n, "", id, sure, out, 0)
}

// maybes walks everything else for `image: REF` and repository+tag
// (with registry when given) mappings.
func maybes(n *yaml.Node, at, id string, sure map[*yaml.Node]bool, out []Found, depth int) []Found {
	if depth > maxDepth {
		return out
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = maybes(c, at+"["+strconv.Itoa(i)+"]", id, sure, out, depth+1)
		}
	case yaml.MappingNode:
		repo, tag := Child(n, "repository"), Child(n, "tag")
		if s := scalar(repo); s != "" && scalar(tag) != "" && looksLikeRepo(s) {
			ref := s + ":" + scalar(tag)
			if reg := scalar(Child(n, "registry")); reg != "" {
				ref = reg + "/" + ref
			}
			out = append(out, Found{Written: ref, Line: repo.Line, Object: id, Field: join(at, "repository"), Maybe: true})
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "image" && v.Kind == yaml.ScalarNode && !sure[v] && v.Tag == "!!str" && looksLikeRef(v.Value) {
				out = append(out, Found{Written: v.Value, Line: v.Line, Object: id, Field: join(at, "image"), Maybe: true})
				continue
			}
			out = maybes(v, join(at, k.Value), id, sure, out, depth+1)
		}
	}
	return out
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// looksLikeRef keeps `image:` values that could be references: one
// word, no template leftovers. Whether it parses is Normalize's call.
func looksLikeRef(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\n{}") && len(s) <= MaxLen
}

// looksLikeRepo keeps repository values that name an image rather than
// a git or Helm repository URL.
func looksLikeRepo(s string) bool {
	return looksLikeRef(s) && !strings.Contains(s, "://") && !strings.ContainsAny(s, ":@")
}

// Child follows mapping keys from n; nil when one is missing.
func Child(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}
