package source

import (
	"fmt"
	"path"

	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/retire"
)

// Edit is an older commit holding a release with other content
// (Release.Edited): the commit, the directory there and its tree.
type Edit struct {
	Commit, Dir, Tree string
}

// EditedProblem is the warning for a release whose version the history
// shows with two contents (rel.Edited), nil when it does not: the newer
// content is taken, which is right unless a registry published the older
// one. The build gives it when no previous build of the registry vouches
// for the release (a previous build with other content is an error, its
// ImmutableError). It is a warning, not an error: real pack repositories fix values or a
// README without a bump before the first release is published, and a
// build of their whole history must not fail for it.
func (r *Repo) EditedProblem(rel Release, packsDir string) *meta.Problem {
	e := rel.Edited
	if e == nil {
		return nil
	}
	what := "bump the version in pack.json (and put the published content back in " + e.Dir + ")"
	if r.StateOnlyChange(e.Tree, rel.TreeHash) {
		what = "only annotations.system_state changed: " + retire.Hint(packsDir, rel.Name, rel.Version)
	}
	id := rel.Name + "@" + rel.Version
	return &meta.Problem{File: path.Join(rel.ContentDir, pack.ManifestFile), Severity: meta.SevWarning,
		Msg: fmt.Sprintf("%s was edited without a version bump: commit %s holds it with other content (%s, tree %s) than commit %s (%s, tree %s), whose content is taken. If a registry published %s from %s or before, its clients hold other bytes under the same version: %s; if that commit was never published, nothing to do (a build with --previous pointing at the live registry checks this for you)",
			id, short(e.Commit), e.Dir, short(e.Tree), short(rel.ContentCommit), rel.ContentDir, short(rel.TreeHash), id, short(e.Commit), what)}
}
