package profile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/profile/spec"
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
// the output depends only on the archive and the overrides. A retired
// release is judged as Fetch judges it (lockedRelease): a deprecated one
// warned of, a deleted one refused (ErrDeleted) unless allowDeleted.
func Render(ctx context.Context, p *Profile, lock *Lock, env *Env, dir string, allowDeleted bool) ([]RenderedLayer, error) {
	// Everything is fetched, verified and merged before anything is
	// written, so a verification failure writes nothing.
	clients, err := env.lockedClients(ctx, lock)
	if err != nil {
		return nil, err
	}
	var out []RenderedLayer
	var data [][]byte
	var violations []Violation
	for _, l := range lock.Layers {
		var overrides *yaml.Node
		pl := p.Layer(l.Pack)
		if pl != nil {
			overrides = pl.Values
		}
		path, _, w, err := lockedRelease(ctx, clients[l.Registry.Name], l, allowDeleted)
		if err != nil {
			return nil, err
		}
		if w != "" {
			env.warnf("%s", w)
		}
		a, err := openLocked(path, l.Pack)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.ID(), err)
		}
		vs, warns := checkOverrides(p, pl, a)
		violations = append(violations, vs...)
		for _, w := range warns {
			env.warnf("%s", w)
		}
		base, err := archiveYAML(a, pack.ValuesFile)
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
	if len(violations) > 0 {
		return nil, &ResolveError{Profile: p.Name, Violations: violations}
	}
	root, err := openOutput(dir, out)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	keep := map[string]bool{}
	for i, r := range out {
		name := filepath.Join("values", filepath.Base(r.File))
		if err := atomicfile.WriteFileIn(root, name, data[i], 0o644); err != nil {
			return nil, err
		}
		keep[filepath.Base(r.File)] = true
	}
	if err := removeStale(root, "values", keep); err != nil {
		return nil, err
	}
	return out, nil
}

// renderedFile lists, in DIR/values, the values files the last render
// wrote: only those are ever removed as stale. A user's own notes.yaml
// beside them, or a file of a render before this list existed, is never
// render's to delete.
const renderedFile = ".packgen-rendered"

// ErrOutputLink: a symbolic link in render's output directory where it
// writes (DIR/values or a values file), never followed.
var ErrOutputLink = errors.New("a symbolic link in the output directory")

// openOutput opens dir (made if missing; it may itself be a link: the
// path the user named) as an os.Root, out of which no write resolves,
// and refuses, before anything is written, a link at DIR/values or at a
// file to write: DIR is often a checkout of a GitOps repository, where
// anyone who can commit could add values -> ~/.kube (render would write
// there, and remove its *.yaml as stale).
func openOutput(dir string, files []RenderedLayer) (*os.Root, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	names := []string{"values"}
	for _, r := range files {
		names = append(names, filepath.Join("values", filepath.Base(r.File)))
	}
	known := map[string]bool{}
	for _, n := range names {
		link, err := safefile.LinkOnPath(root, n, true, known)
		if err == nil && link != "" {
			p := filepath.Join(dir, link)
			err = fmt.Errorf("%w: %s is a symbolic link; render writes only into real directories below %s: remove it (rm %s) and render again", ErrOutputLink, p, dir, p)
		}
		if err != nil {
			root.Close()
			return nil, err
		}
	}
	if err := root.Mkdir("values", 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		root.Close()
		return nil, err
	}
	return root, nil
}

// removeStale deletes the values files the last render wrote (its
// renderedFile list) whose layers the profile no longer has, so DIR/values
// mirrors the lock, and records what this render wrote. Only names Render
// could have written (<pack name>.yaml, regular files) are touched.
func removeStale(root *os.Root, dir string, keep map[string]bool) error {
	list := filepath.Join(dir, renderedFile)
	wrote := map[string]bool{}
	if data, err := fs.ReadFile(root.FS(), filepath.ToSlash(list)); err == nil {
		for _, n := range strings.Split(string(data), "\n") {
			wrote[n] = true
		}
	}
	entries, err := fs.ReadDir(root.FS(), dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		base, ok := strings.CutSuffix(name, ".yaml")
		if !ok || keep[name] || !wrote[name] || !e.Type().IsRegular() || !meta.ValidName(base) {
			continue
		}
		if err := root.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove stale %s: %w", name, err)
		}
	}
	names := slices.Sorted(maps.Keys(keep))
	return atomicfile.WriteFileIn(root, list, []byte(strings.Join(names, "\n")+"\n"), 0o644)
}

// OpenLocked opens a locked layer's verified archive (path, from the
// client's cache) with its values.yaml deep-merged with the profile's
// overrides for it, exactly what Render writes, so a reader of the
// archive (the images it deploys) sees the values the cluster gets.
// overridden says whether p had overrides for the layer; without them
// the archive is as published. p nil: none.
func OpenLocked(path string, l LockedPack, p *Profile) (a *pack.Archive, overridden bool, err error) {
	a, err = openLocked(path, l.Pack)
	if err != nil {
		return nil, false, err
	}
	var pl *spec.Layer
	if p != nil {
		pl = p.Layer(l.Pack)
	}
	if pl == nil || pl.Values == nil {
		return a, false, nil
	}
	base, err := archiveYAML(a, pack.ValuesFile)
	if err != nil {
		return nil, false, err
	}
	merged, err := MergeValues(base, pl.Values)
	if err != nil {
		return nil, false, fmt.Errorf("values.yaml with the overrides of %s:%d: %w", p.File, pl.Line, err)
	}
	if err := a.SetFile(pack.ValuesFile, merged); err != nil {
		return nil, false, err
	}
	return a, true, nil
}

// openLocked reads a pack archive (within the extractor's limits,
// pack.OpenArchive), refusing one that holds another pack than name.
func openLocked(path, name string) (*pack.Archive, error) {
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
	return a, nil
}

// archiveYAML returns the archive's YAML file name (values.yaml,
// schema.yaml; nil when the pack has none), refusing one over the YAML
// size limit.
func archiveYAML(a *pack.Archive, name string) ([]byte, error) {
	fi, err := fs.Stat(a, name)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if max := pack.DefaultLimits.MaxYAMLSize; fi.Size() > max {
		return nil, fmt.Errorf("%w: %s is over %d bytes", pack.ErrTooLarge, name, max)
	}
	return fs.ReadFile(a, name)
}
