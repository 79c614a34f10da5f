package validate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
	"github.com/packgen/packgen/source"
)

// `validate --changed-since` judges what the user is about to commit: the
// pack directories with uncommitted changes are read from the work tree,
// not from HEAD (issue 17 item 11). --committed keeps CI's view: HEAD only.

// worktreePack is a pack directory with uncommitted changes.
type worktreePack struct {
	dir     string // relative to the repository root, slash-separated
	abs     string
	deleted bool
}

// dirtyPacks lists the pack directories under packsDir holding uncommitted
// changes (a file edited, added or removed), nearest pack.json upwards.
func dirtyPacks(repo *source.Repo, packsDir string) ([]worktreePack, error) {
	wt, err := repo.Git().Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	root := wt.Filesystem.Root()
	dirty, err := repo.Dirty(packsDir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []worktreePack
	for _, p := range dirty {
		if strings.HasPrefix(path.Base(p), ".packgen-") {
			continue
		}
		for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
			abs := filepath.Join(root, filepath.FromSlash(d))
			_, err := os.Stat(filepath.Join(abs, pack.ManifestFile))
			if err == nil || path.Base(p) == pack.ManifestFile && d == path.Dir(p) {
				if !seen[d] {
					seen[d] = true
					out = append(out, worktreePack{dir: d, abs: abs, deleted: err != nil})
				}
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dir < out[j].dir })
	return out, nil
}

// manifestID reads name and version from pack.json bytes ("" when unreadable).
func manifestID(data []byte) (name, version string) {
	var m struct{ Name, Version string }
	if json.Unmarshal(data, &m) != nil {
		return "", ""
	}
	return m.Name, m.Version
}

// baseFiles returns the files (path → blob hash and mode) of dir in the
// commit at ref, nil when the commit has no such directory.
func baseFiles(g *git.Repository, ref, dir string) (map[string]source.WorkFile, []byte, error) {
	tree, err := treeAt(g, ref)
	if err != nil {
		return nil, nil, err
	}
	sub, err := tree.Tree(dir)
	if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	files, err := filesOf(sub)
	if err != nil {
		return nil, nil, err
	}
	f, err := sub.File(pack.ManifestFile)
	if errors.Is(err, object.ErrFileNotFound) {
		return files, nil, nil // no pack.json there: validation says so
	}
	if err != nil {
		return nil, nil, err
	}
	r, err := f.Reader()
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	manifest, err := io.ReadAll(io.LimitReader(r, 1<<20))
	return files, manifest, err
}

// sameFiles: the same paths with the same content and modes.
func sameFiles(a, b map[string]source.WorkFile) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// differingFiles lists the paths a and b do not hold alike, sorted.
func differingFiles(a, b map[string]source.WorkFile) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// validateWorktree validates the uncommitted pack directories from disk
// and applies the version rules: against base, a directory whose content
// differs from base's while its name@version is base's is an error; in
// the work tree's view (view), a name@version another directory holds is
// one too, as the build of the commit would refuse it.
func validateWorktree(ctx context.Context, repo *source.Repo, base string, hist *published, view *worktreeView, wps []worktreePack, judge func(*pack.Pack, string, meta.Problems) meta.Problems) ([]Pack, meta.Problems, error) {
	var packs []Pack
	var problems meta.Problems
	for _, wp := range wps {
		if wp.deleted {
			continue
		}
		// The pack as `git add` would stage it: what the build of the
		// commit reads (ignored files left out, modes counted, nothing
		// but regular files and links opened).
		now, err := repo.WorkFiles(wp.dir)
		if err != nil {
			return nil, nil, err
		}
		p, ps := pack.Load(newStagedFS(wp.abs, now), ".", pack.Options{Prefix: wp.dir, RefuseKeys: true, Keep: true})
		problems = append(problems, ps...)
		problems = append(problems, judge(p, wp.dir, ps)...)
		vp := Pack{Dir: wp.dir}
		if p.Manifest != nil {
			vp.Name, vp.Version, vp.Layer = p.Manifest.Name, p.Manifest.Version, string(p.Manifest.Layer)
		}
		packs = append(packs, vp)
		manifest, _ := os.ReadFile(filepath.Join(wp.abs, pack.ManifestFile))
		msg, err := inPlaceProblem(repo, base, view.packsDir, wp, manifest, now)
		if err != nil {
			return nil, nil, err
		}
		if nn, nv := manifestID(manifest); msg == "" && nn != "" {
			if twin := view.twin(wp.dir); twin != "" {
				msg = source.TwinProblem(nn, nv, twin)
			}
		}
		if msg != "" {
			problems = append(problems, atVersion(wp.dir, manifest, meta.SevError, msg))
			continue
		}
		nn, nv := manifestID(manifest)
		hp, err := hist.check(ctx, wp.dir, manifest, nn, nv, func(r *source.Release) (bool, error) {
			t, err := repo.Git().TreeObject(plumbing.NewHash(r.TreeHash))
			if err != nil {
				return false, err
			}
			old, err := filesOf(t)
			return err == nil && sameFiles(old, now), err
		})
		if err != nil {
			return nil, nil, err
		}
		if hp != nil {
			problems = append(problems, *hp)
		}
	}
	return packs, problems, nil
}

// inPlaceProblem says whether the work-tree pack wp, whose files are
// now, changed content without a version bump against base ("" when
// not).
func inPlaceProblem(repo *source.Repo, base, packsDir string, wp worktreePack, manifest []byte, now map[string]source.WorkFile) (string, error) {
	old, oldManifest, err := baseFiles(repo.Git(), base, wp.dir)
	if err != nil || old == nil {
		return "", err
	}
	on, ov := manifestID(oldManifest)
	nn, nv := manifestID(manifest)
	if !sameFiles(old, now) && on == nn && ov == nv && nv != "" {
		if d := differingFiles(old, now); len(d) == 1 && d[0] == pack.ManifestFile && retire.StateOnly(oldManifest, manifest) {
			return fmt.Sprintf("the annotations.system_state of %s@%s changed (uncommitted; %s has it published as is): published versions are immutable; %s", nn, nv, shortRef(base), retire.Hint(packsDir, nn, nv)), nil
		}
		return fmt.Sprintf("the content of %s@%s changed but its version did not (uncommitted changes: %s; %s has it published as is): bump the version, e.g. in a new directory", nn, nv, source.FilesSaid(differingFiles(old, now)), shortRef(base)), nil
	}
	return "", nil
}

// worktreeView is the release each pack directory defines as the work
// tree stands: HEAD's for a clean directory, pack.json on disk for one
// with uncommitted changes (none for a deleted one).
type worktreeView struct {
	byDir map[string]string   // directory → meta.ReleaseID
	byID  map[string][]string // meta.ReleaseID → directories, sorted
	// packsDir is the packs directory, for the retirement file's path.
	packsDir string
}

// newWorktreeView reads HEAD's pack directories under packsDir and the
// work-tree packs wps over them.
func newWorktreeView(repo *source.Repo, packsDir string, wps []worktreePack) (*worktreeView, error) {
	head, err := repo.PackIDs("HEAD", packsDir)
	if err != nil {
		return nil, err
	}
	v := &worktreeView{byDir: head, byID: map[string][]string{}, packsDir: packsDir}
	for _, wp := range wps {
		delete(v.byDir, wp.dir)
		if wp.deleted {
			continue
		}
		data, err := os.ReadFile(filepath.Join(wp.abs, pack.ManifestFile))
		if err != nil {
			continue // pack.Load reports it
		}
		if n, ver := manifestID(data); n != "" && ver != "" {
			v.byDir[wp.dir] = meta.ReleaseID(n, ver)
		}
	}
	for d, id := range v.byDir {
		v.byID[id] = append(v.byID[id], d)
	}
	for _, ds := range v.byID {
		sort.Strings(ds)
	}
	return v, nil
}

// twin returns another directory defining dir's release ("" when none).
func (v *worktreeView) twin(dir string) string {
	if v == nil {
		return ""
	}
	id, ok := v.byDir[dir]
	if !ok {
		return ""
	}
	for _, d := range v.byID[id] {
		if d != dir {
			return d
		}
	}
	return ""
}
