package source

import (
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/retire"
)

// StateOnlyChange reports whether two trees of a pack directory differ
// only in pack.json's annotations.system_state (retire.StateOnly): what
// the immutability errors of the build and the PR check then say is to
// use the retirement file, not to bump the version. Any failure to read
// says no: the error keeps its general advice.
func (r *Repo) StateOnlyChange(oldTree, newTree string) bool {
	h, err := r.acquire()
	if err != nil {
		return false
	}
	defer r.release(h)
	return stateOnlyChange(h.git, plumbing.NewHash(oldTree), plumbing.NewHash(newTree))
}

func stateOnlyChange(g *git.Repository, oldTree, newTree plumbing.Hash) bool {
	files, err := changedFiles(g, oldTree, newTree)
	if err != nil || len(files) != 1 || files[0] != pack.ManifestFile {
		return false
	}
	var data [2][]byte
	for i, th := range []plumbing.Hash{oldTree, newTree} {
		t, err := object.GetTree(g.Storer, th)
		if err != nil {
			return false
		}
		e, err := t.FindEntry(pack.ManifestFile)
		if err != nil || !e.Mode.IsFile() {
			return false
		}
		if data[i], _, err = readBlob(g.Storer, e.Hash, pack.ManifestFile, maxManifest); err != nil || data[i] == nil {
			return false
		}
	}
	return retire.StateOnly(data[0], data[1])
}
