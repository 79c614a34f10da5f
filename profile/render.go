package profile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/internal/atomicfile"
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

func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}
