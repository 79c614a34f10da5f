package pack

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/packgen/packgen/pack/meta"
)

// FindPacks returns every directory under root (in fsys) that holds a
// pack.json, sorted. It does not descend into a pack: a pack.json deeper
// inside one belongs to that pack's content.
func FindPacks(fsys fs.FS, root string) ([]string, error) {
	root = path.Clean(root)
	var dirs []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && (IsJunk(d.Name()) || d.Name() == "node_modules") {
			return fs.SkipDir
		}
		if info, err := fs.Stat(fsys, path.Join(p, ManifestFile)); err == nil && !info.IsDir() {
			dirs = append(dirs, p)
			return fs.SkipDir
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	sort.Strings(dirs)
	return dirs, err
}

// Loaded is a pack together with the name it is shown under.
type Loaded struct {
	Display string // the pack dir as the user knows it
	Pack    *Pack
}

// CheckSet runs the checks that need every pack of a repository at once:
// duplicate name@version, dependencies on packs the set does not hold and
// dependency ranges no release in the set satisfies.
func CheckSet(packs []Loaded) meta.Problems {
	var ps meta.Problems
	byName := map[string][]Loaded{}
	type seenAt struct{ dir, version string }
	seen := map[string]seenAt{}
	for _, l := range packs {
		m := l.Pack.Manifest
		if m == nil || m.Name == "" {
			continue
		}
		if l.Pack.Version != nil {
			// Versions are compared by value (1.0 is 1.0.0) and shown as written.
			id := m.Name + "@" + l.Pack.Version.String()
			if first, dup := seen[id]; dup {
				also := ""
				if first.version != m.Version {
					also = " (as " + first.version + ")"
				}
				ps = append(ps, meta.Problem{File: path.Join(l.Display, ManifestFile), Severity: meta.SevError,
					Msg: fmt.Sprintf("%s@%s is defined twice: here and in %s%s; bump one version or remove a directory", m.Name, m.Version, path.Join(first.dir, ManifestFile), also)})
			} else {
				seen[id] = seenAt{l.Display, m.Version}
			}
		}
		byName[m.Name] = append(byName[m.Name], l)
	}
	for _, l := range packs {
		m := l.Pack.Manifest
		if m == nil {
			continue
		}
		for i, d := range m.Dependencies() {
			if d.PackName == "" || d.Type == "notSupported" {
				continue
			}
			file := path.Join(l.Display, ManifestFile)
			others := byName[d.PackName]
			if len(others) == 0 {
				ps = append(ps, meta.Problem{File: file, Severity: meta.SevWarning,
					Msg: fmt.Sprintf("constraints.dependencies[%d]: %s %q is not in this repository; it must come from another registry", i, strings.TrimSpace(d.Type+" dependency"), d.PackName)})
				continue
			}
			if _, err := d.Range(); err != nil {
				continue // reported per pack
			}
			var versions []string
			ok := false
			for _, o := range others {
				if o.Pack.Version == nil {
					continue
				}
				versions = append(versions, o.Pack.Manifest.Version)
				if d.Allows(o.Pack.Version) {
					ok = true
				}
				if d.Layer != "" && o.Pack.Manifest.Layer != "" && o.Pack.Manifest.Layer != d.Layer {
					ps = append(ps, meta.Problem{File: file, Severity: meta.SevError,
						Msg: fmt.Sprintf("constraints.dependencies[%d]: %q is declared as layer %q but %s says layer %q", i, d.PackName, d.Layer, path.Join(o.Display, ManifestFile), o.Pack.Manifest.Layer)})
				}
			}
			if !ok && len(versions) > 0 {
				sortVersions(versions)
				ps = append(ps, meta.Problem{File: file, Severity: meta.SevError,
					Msg: fmt.Sprintf("constraints.dependencies[%d]: no version of %q satisfies %s (repository has %s)", i, d.PackName, rangeString(d), strings.Join(versions, ", "))})
			}
		}
	}
	ps = dedupe(ps)
	ps.Sort()
	return ps
}

func rangeString(d meta.Dependency) string {
	switch {
	case d.MinVersion != "" && d.MaxVersion != "":
		return fmt.Sprintf(">= %s and <= %s", d.MinVersion, d.MaxVersion)
	case d.MinVersion != "":
		return ">= " + d.MinVersion
	case d.MaxVersion != "":
		return "<= " + d.MaxVersion
	}
	return "any version"
}

func sortVersions(vs []string) {
	sort.Slice(vs, func(i, j int) bool {
		a, _ := semver.NewVersion(vs[i])
		b, _ := semver.NewVersion(vs[j])
		if a == nil || b == nil {
			return vs[i] < vs[j]
		}
		return a.LessThan(b)
	})
}

func dedupe(ps meta.Problems) meta.Problems {
	seen := map[meta.Problem]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// ValidateTree loads every pack under root with opts and runs the
// per-pack and cross-pack checks. opts.Prefix is how root is shown in
// problems.
func ValidateTree(fsys fs.FS, root string, opts Options) ([]Loaded, meta.Problems, error) {
	prefix := opts.Prefix
	dirs, err := FindPacks(fsys, root)
	if err != nil {
		return nil, nil, err
	}
	// Packs are independent: load them in parallel, keep the order.
	loaded := make([]Loaded, len(dirs))
	probs := make([]meta.Problems, len(dirs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, d := range dirs {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, d string) {
			defer wg.Done()
			defer func() { <-sem }()
			display := path.Join(prefix, relTo(path.Clean(root), d))
			o := opts
			o.Prefix = display
			p, ps := Load(fsys, d, o)
			loaded[i], probs[i] = Loaded{Display: display, Pack: p}, ps
		}(i, d)
	}
	wg.Wait()
	var all meta.Problems
	for _, ps := range probs {
		all = append(all, ps...)
	}
	all = append(all, CheckSet(loaded)...)
	all.Sort()
	return loaded, all, nil
}
