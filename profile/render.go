package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/pack"
	"gopkg.in/yaml.v3"
)

// RenderedLayer is one values file written by Render.
type RenderedLayer struct {
	Pack      string `json:"pack"`
	Version   string `json:"version"`
	File      string `json:"file"`
	Overrides bool   `json:"overrides"`
}

// Render writes DIR/values/<pack>.yaml for each locked layer: the pack's
// values.yaml, read from its verified archive, deep-merged with the
// profile layer's overrides (see Merge). Each file is written atomically;
// the output depends only on the archive and the overrides.
func Render(ctx context.Context, p *Profile, lock *Lock, env *Env, dir string) ([]RenderedLayer, error) {
	// Everything is fetched, verified and merged before anything is
	// written, so a verification failure writes nothing.
	clients, err := env.lockedClients(ctx, lock)
	if err != nil {
		return nil, err
	}
	var out []RenderedLayer
	var data [][]byte
	for _, l := range lock.Layers {
		var overrides *yaml.Node
		if pl := p.Layer(l.Pack); pl != nil {
			overrides = pl.Values
		}
		path, _, err := lockedRelease(ctx, clients[l.Registry.Name], l)
		if err != nil {
			return nil, err
		}
		base, err := valuesFromArchive(path, l.Pack)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.ID(), err)
		}
		merged, err := MergeValues(base, overrides)
		if err != nil {
			return nil, fmt.Errorf("%s: values.yaml: %w", l.ID(), err)
		}
		data = append(data, merged)
		out = append(out, RenderedLayer{Pack: l.Pack, Version: l.Version, File: filepath.Join(dir, "values", l.Pack+".yaml"), Overrides: overrides != nil})
	}
	keep := map[string]bool{}
	for i, r := range out {
		if err := writeFileAtomic(r.File, data[i]); err != nil {
			return nil, err
		}
		keep[filepath.Base(r.File)] = true
	}
	if err := removeStale(filepath.Join(dir, "values"), keep); err != nil {
		return nil, err
	}
	return out, nil
}

// removeStale deletes values files of layers the profile no longer has, so
// DIR/values always mirrors the lock. Only names Render could have written
// (<pack name>.yaml, regular files) are touched.
func removeStale(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		base, ok := strings.CutSuffix(name, ".yaml")
		if !ok || keep[name] || !e.Type().IsRegular() || !pack.ValidName(base) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove stale %s: %w", name, err)
		}
	}
	return nil
}

// valuesFromArchive reads a pack archive (within the extractor's limits,
// pack.OpenArchive) and returns <name>/values.yaml (nil when the pack has
// none), refusing one over the YAML size limit.
func valuesFromArchive(path, name string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := pack.OpenArchive(f, pack.ArchiveLimits{})
	if err != nil {
		return nil, err
	}
	if a.Root != name {
		return nil, fmt.Errorf("%w: the archive holds pack %q, not %q", pack.ErrUnsafePath, a.Root, name)
	}
	fi, err := fs.Stat(a, "values.yaml")
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if max := pack.DefaultLimits.MaxYAMLSize; fi.Size() > max {
		return nil, fmt.Errorf("%w: values.yaml is over %d bytes", pack.ErrTooLarge, max)
	}
	return fs.ReadFile(a, "values.yaml")
}

// MergeValues deep-merges overrides (a mapping node, or nil) into the
// YAML document base and encodes the result with two-space indentation.
// Working on yaml.v3 node trees keeps the pack's comments, key order and
// quoting wherever yaml.v3 can represent them.
func MergeValues(base []byte, overrides *yaml.Node) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	top := doc.Content[0]
	if overrides != nil && len(overrides.Content) > 0 {
		if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
			*top = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: top.HeadComment}
		}
		if top.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("the pack's values.yaml is not a mapping, so overrides cannot be merged into it")
		}
		Merge(top, overrides)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Merge deep-merges the mapping src into the mapping dst, in place:
// mappings merge key by key (recursively), anything else in src replaces
// the value in dst (lists are replaced whole, not appended: appending
// makes an override impossible to undo). Keys new to dst are appended in
// src's order. A replaced value keeps the pack's comments unless the
// override carries its own; a comment above an override key replaces the
// one above the pack's key.
func Merge(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		sk, sv := src.Content[i], src.Content[i+1]
		j := findKey(dst, sk.Value)
		if j < 0 {
			dst.Content = append(dst.Content, clone(sk), clone(sv))
			continue
		}
		if sk.HeadComment != "" {
			// The override explains itself: its comment replaces the pack's.
			dst.Content[j].HeadComment = sk.HeadComment
		}
		dv := dst.Content[j+1]
		if dv.Kind == yaml.MappingNode && sv.Kind == yaml.MappingNode {
			Merge(dv, sv)
			continue
		}
		nv := clone(sv)
		if nv.HeadComment == "" && nv.LineComment == "" && nv.FootComment == "" {
			nv.HeadComment, nv.LineComment, nv.FootComment = dv.HeadComment, dv.LineComment, dv.FootComment
		}
		dst.Content[j+1] = nv
	}
}

func findKey(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Tag != "!!merge" && k.Value == key {
			return i
		}
	}
	return -1
}

// clone deep-copies a node, dropping positions from the profile file.
func clone(n *yaml.Node) *yaml.Node {
	c := *n
	c.Line, c.Column = 0, 0
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = clone(x)
	}
	if len(n.Content) == 0 {
		c.Content = nil
	}
	return &c
}
